"""Every ``st.session_state`` key the app uses, in one place.

Pages and page logic read and write the session through these names, never through bare strings, so
a key is renamed in one line and a typo is an AttributeError instead of a silently empty widget.
The classes group keys by the page that owns them; ``Shared`` are the keys every page reads.
"""

from __future__ import annotations


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


# ---- Graph page and sidebar (views/graph.py, app.py, workbench/flow.py, workbench/session.py)


class GraphPage:
    """Widgets and state of the Graph page."""


class Sidebar:
    """Widgets of the sidebar every page shares."""


# ---- Data page (views/data.py, workbench/data_page.py)


class DataPage:
    """Widgets and state of the Data page."""

    ERROR = "data_error"  # one line: why the last sample or upload was refused
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


# ---- Explore and Effects pages (views/explore.py, views/effects.py, workbench/explore/, workbench/effects_page.py)


class ExplorePage:
    """Widgets and state of the Explore page."""


class EffectsPage:
    """Widgets and state of the Effects page."""
