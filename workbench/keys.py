"""Every ``st.session_state`` key the app uses, in one place.

Pages and page logic read and write the session through these names, never through bare strings, so
a key is renamed in one line and a typo is an AttributeError instead of a silently empty widget.
The classes group keys by the page that owns them; ``Shared`` are the keys every page reads.
"""

from __future__ import annotations

from dataclasses import dataclass


class Shared:
    """The session's graph, data and workspace (read by every page and the sidebar)."""

    GRAPH = "graph"  # the current ADMG
    GRAPH_NAME = "graph_name"
    GRAPH_TEXT = "graph_text"  # the model code (dagitty) shown on the Graph page
    GRAPH_ERROR = "graph_error"
    TREATMENT = "q_treatment"  # the question asked on the Graph page
    OUTCOME = "q_outcome"
    GIVEN = "q_given"
    DATASET = "dataset"  # the current core.data.Dataset
    DATA_WORLD = "data_world"  # the ground-truth world the data came from, if any
    DATA_SOURCE = "data_source"
    DATA_SUMMARY = "data_summary"
    WORKSPACE = "workspace"
    WORKSPACE_PROBLEMS = "workspace_problems"


@dataclass(frozen=True)
class KeyFamily:
    """The keys of one widget drawn once per item (per node, per file format): ``family(item)``."""

    prefix: str

    def __call__(self, item: object) -> str:
        return f"{self.prefix}{item}"


# ---- Graph page and sidebar (views/graph.py, app.py, workbench/flow.py, workbench/session.py)


class GraphPage:
    """Widgets and state of the Graph page.

    The forms that list the graph's nodes or edges are keyed by ``graph_state.form_tag(graph)``
    (``edge_from(tag)``, ``type_of(f"{tag}_{node}")``, ...): a new graph gets fresh widgets."""

    QUERY_SEEDED = "graph_query_seeded"  # the session's first visit asked the graph's own question
    # loading
    EXAMPLE_PICK = "example_pick"  # None once the graph is edited, so picking the example reloads it
    UPLOAD = "upload"
    NEW_GRAPH = "new_graph"  # start an empty graph
    # the "Add a node" form
    NEW_NAME = "new_name"
    NEW_TYPE = "new_type"
    NEW_LEVELS = "new_levels"
    NEW_SHAPE = "new_shape"
    ADD_NODE = "add_node"
    # the "Change a node" form (its fields are keyed by the graph and the node's name, below)
    EDIT_NODE_NEXT = "edit_node_next"  # the node the form shows next (a click in the editor, a rename)
    RENAME = "rename"
    RETYPE = "retype"
    DELETE = "delete"
    # the edge forms
    EDGE_KIND = "edge_kind"
    ADD_EDGE = "add_edge"
    REMOVE_EDGE = "remove_edge"
    # the "New node" dialog beside the drag-to-connect editor
    NODE_DIALOG = "node_dialog"  # the button that opens it
    DIALOG_NAME = "node_dialog_name"
    DIALOG_TYPE = "node_dialog_type"
    DIALOG_LEVELS = "node_dialog_levels"
    DIALOG_SHAPE = "node_dialog_shape"
    DIALOG_ADD = "node_dialog_add"
    DIALOG_ERROR = "node_dialog_error"
    # saving
    NAME = "graph_name_input"  # the graph's name (the download's file name)
    # the drag-to-connect editor (workbench/flow.py)
    FLOW_EDGE_KIND = "flow_edge_kind"  # the kind of edge a drawn connection becomes
    FLOW_GRAPH = "flow_graph"  # the graph the editor instance was given
    FLOW_FRAME = "flow_frame"  # its flow.Frame, fixed for the life of the instance
    FLOW_REV = "flow_rev"  # bumped to mount a fresh instance (see flow_editor)
    FLOW_SEEN = "flow_seen"  # (editor key, timestamp) of the last drawing read back
    FLOW_SELECTED = "flow_selected"  # what the last click picked (flow.selection)
    FLOW_EDGE_PANEL = "flow_edge_panel"
    FLOW_FLIP_EDGE = "flow_flip_edge"
    FLOW_REVERSE_EDGE = "flow_reverse_edge"
    FLOW_DELETE_EDGE = "flow_delete_edge"
    EDIT_TAB = "edit_tab"  # the open tab of the Edit forms (kept when an edit reruns the page)
    FORMULA = "formula"  # the container of the identified formula (styled as .st-key-formula)

    # keyed by the graph's form tag
    edit_node = KeyFamily("edit_node_")
    edge_from = KeyFamily("edge_a_")
    edge_to = KeyFamily("edge_b_")
    edge_pick = KeyFamily("edge_pick_")
    # by form tag and node (the "Change a node" form): ``type_of(f"{tag}_{node}")``
    new_name_of = KeyFamily("rename_")
    type_of = KeyFamily("type_")
    levels_of = KeyFamily("levels_")
    shape_of = KeyFamily("shape_")
    # per file format, per editor instance
    download = KeyFamily("download_")
    flow_editor = KeyFamily("graph_flow_")  # by FLOW_REV: a new revision mounts a new editor instance


class Sidebar:
    """Widgets of the sidebar every page shares, and the workspace bookkeeping behind them."""

    WORKSPACE_PICK = "ws_pick"
    NEW_WORKSPACE_NAME = "ws_new_name"
    CREATE_WORKSPACE = "ws_create"
    # a change that would leave trained models unusable waits for the user (workbench.session.Replacement)
    REPLACEMENT = "_ws_replacement"
    REPLACE_HERE = "ws_replace_here"
    REPLACE_NEW = "ws_replace_new"
    REPLACE_CANCEL = "ws_replace_cancel"
    REPLACE_NAME = "ws_replace_name"  # the new workspace's name
    # earlier graph and data versions (workbench.session.restore_version)
    restore = KeyFamily("ws_restore_")  # by version file
    # what workbench/session.py last wrote to the workspace, so it writes only what changed
    SAVED_GRAPH = "_ws_saved_graph"
    SAVED_DATASET = "_ws_saved_dataset"


# ---- Data page (views/data.py, workbench/data_page.py)


class DataPage:
    """Widgets and state of the Data page."""

    ERROR = "data_error"  # one line: why the last sample or upload was refused
    SOURCE_TAB = "data_source_tab"  # sample a world or upload (keyed: an upload's rerun keeps the tab)
    VIEW_TAB = "data_view_tab"  # gallery, variables, confounding, table (only the open one is drawn)
    WORLD_PICK = "data_world_pick"
    N = "data_n"
    SEED = "data_seed"
    SAMPLE = "data_sample"
    UPLOAD = "data_upload"
    USE_GRAPH = "data_use_graph"
    DOWNLOAD = "data_download"
    HEATMAP = "data_heatmap"
    PAIRS = "data_pairs"
    TABLE = "data_table"
    # importing a folder in a researcher's layout
    IMPORT_PATH = "data_import_path"
    IMPORT_INSPECT = "data_import_inspect"
    IMPORT_REVIEW = "data_import_review"  # the inspected folder (workbench.data_page.ImportReview)
    IMPORT_TYPES = "data_import_types"  # the review table's editor
    IMPORT_RESIZE = "data_import_resize"
    IMPORT_SIZE = "data_import_size"
    IMPORT_FIT = "data_import_fit"
    IMPORT_START = "data_import_start"
    IMPORT_STOP = "data_import_stop"
    IMPORT_JOB = "data_import_job"  # the running import (workbench.data_page.ImportJob)
    IMPORT_DONE = "data_import_done"  # the last finished import's summary line
    USE_SKELETON = "data_use_skeleton"

    @staticmethod
    def param(world: str, param: str) -> str:
        """The widget of one parameter of one world."""
        return f"data_param_{world}_{param}"

    @staticmethod
    def chart(column: str) -> str:
        """The chart of one scalar column."""
        return f"data_chart_{column}"


# ---- Train page (views/train.py, workbench/train_page.py)


class TrainPage:
    """Widgets and state of the Train page."""

    ERROR = "train_error"  # the last refused action, one line
    WAS_BUSY = "train_was_busy"  # the progress panel saw the job running (its end reruns the page)
    PAGE_RUN = "train_page_run"  # when the page last ran whole (its refresh reruns it each second while busy)
    STEPS = "train_steps"
    DEVICE = "train_device"
    TRAIN_PICKED = "train_selected"
    TRAIN_ALL = "train_all"
    STOP = "train_stop"
    DISCARD_RUN = "train_discard"
    FORGET_PICK = "train_forget_pick"
    FORGET = "train_forget"
    LOSS_CHART = "train_loss_chart"
    SHOW_LOSS = "train_show_loss"  # the loss curves of an idle page, on request

    # drawn once per node (a row of the table)
    kind = KeyFamily("train_kind_")
    preset = KeyFamily("train_preset_")
    pick = KeyFamily("train_pick_")
    train_one = KeyFamily("train_one_")


class ModelCheckPanel:
    """Widgets and state of the Train page's "Model check" panel (views/model_check.py)."""

    RUN = "mc_run"
    STOP = "mc_stop"
    ERROR = "mc_error"
    WAS_BUSY = "mc_was_busy"  # the panel saw the check running (its end reruns the page)
    TABLE = "mc_table"

    soundness = KeyFamily("mc_soundness_")  # one table per image node


# ---- Explore and Effects pages (views/explore.py, views/effects.py, workbench/explore/, workbench/effects_page.py)


class ExplorePage:
    """Widgets and state of the Explore page (the query, the galleries, the ID-GEN fit)."""

    TREATMENT = "ex_treatment"
    OUTCOME = "ex_outcome"
    N = "ex_n"  # samples per gallery
    SEED = "ex_seed"
    GIVEN = "ex_given"  # the conditioning nodes
    DDIM_STEPS = "ex_ddim_steps"  # diffusion preview steps
    unit_of = KeyFamily("ex_unit_")  # the counterfactual's factual unit, by "treatment=value" (each value its default)
    SECONDS = "ex_seconds"  # how long the last gallery refresh took
    IDGEN_STEPS = "ex_idgen_steps"
    FIT_IDGEN = "ex_fit_idgen"
    IDGEN_ERROR = "ex_idgen_error"  # why the last ID-GEN fit could not start
    IDGEN_STOP = "ex_idgen_stop"

    # one per node: ``ExplorePage.VALUE.format(node)``
    VALUE = "ex_val_{}"  # do(node = x)
    GIVEN_VALUE = "ex_given_val_{}"  # node = z in the conditioning set
    IMAGE_SOURCE = "ex_img_source_{}"  # data or generated images for do(node = an image)
    IMAGE_ROW = "ex_image_{}"  # the data row whose image is the do-value
    GENERATED_PICK = "ex_gen_pick_{}"  # which generated image is the do-value
    GENERATED_SEED = "ex_gen_seed_{}"  # the seed of the generated candidates ("New images" adds one)
    NEW_IMAGES = "ex_gen_new_{}"
    PICK = "ex_pick_{}_{}"  # (node, candidate): the "Use" button under a candidate, r<row> or g<index>


class EffectsPage:
    """Widgets and state of the Effects page: the treatment's curves (``ef_``) and the
    attributions of a predictor (``at_``)."""

    OUTCOME = "ef_outcome"
    TREATMENT = "ef_treatment"
    N_IMAGE = "ef_n_image"  # samples per value for an image outcome (read by a probe)
    N_SCALAR = "ef_n_scalar"
    BOOTSTRAP = "ef_boot"
    SEED = "ef_seed"
    COMPUTE = "ef_compute"
    RESULT = "ef_result"  # the last computed curves, sizes and shifts, with their query
    CURVES_CHART = "ef_curves"
    SHIFTS_CHART = "ef_shifts"
    DOWNLOAD = "ef_download"

    PREDICTOR_SOURCE = "at_source"  # train or upload
    TARGET = "at_target"
    INPUTS = "at_inputs"
    TRAINING_MODE = "at_mode"
    TRAINING_STEPS = "at_steps"
    TRAIN = "at_train"
    PREDICTOR = "at_predictor"  # (key, predictor, error) of the last trained or uploaded predictor
    SPEC_UPLOAD = "at_spec"
    WEIGHTS_UPLOAD = "at_weights"
    INPUT_SCM = "at_scm"
    GRID_POINTS = "at_points"
    UNITS = "at_units"
    IMAGE_FORMAT = "at_format"
    COMPUTE_ATTRIBUTIONS = "at_compute"
    ATTRIBUTIONS = "at_result"  # the last computed attribution curves, with their query
    ATTRIBUTION_CHART = "at_curves"
    SPLIT_CHART = "at_split"
    ATTRIBUTIONS_DOWNLOAD = "at_download"

    # one per treatment or file: ``EffectsPage.CONTRAST_A.format(treatment)``
    CONTRAST_A = "ef_a_{}"
    CONTRAST_B = "ef_b_{}"
    PREDICTOR_DOWNLOAD = "at_dl_{}"
