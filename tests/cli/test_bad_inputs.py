"""Bad input through the real command line (``python -m core ...`` in a subprocess, from the repository).

Every case of the table exits 2 with exactly one line on stderr that names the problem, and changes
nothing: every file and folder under the case's folder is hashed before and after, and no new one may
appear.  The two ``valid_*`` cases are inputs that must work (exit 0) and must not touch what was
there before.  Cases that import torch or train take a few seconds each and are marked slow.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import resource
import shutil
import struct
import subprocess
import sys
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.helpers import REPO

ENV = {**os.environ, "OMP_NUM_THREADS": "1", "CUDA_VISIBLE_DEVICES": ""}  # no GPU, whatever the machine
BACKDOOR = {"nodes": [{"name": "Z", "type": "binary"}, {"name": "X", "type": "binary"}, {"name": "Y", "type": "binary"}],
            "directed": [["Z", "X"], ["Z", "Y"], ["X", "Y"]], "bidirected": []}
IMAGE_GRAPH = {"nodes": [{"name": "I", "type": "image", "shape": [1, 8, 8]}, {"name": "Y", "type": "binary"}],
               "directed": [["I", "Y"]], "bidirected": []}
CONTINUOUS_GRAPH = {"nodes": [{"name": "C", "type": "continuous"}, {"name": "Y", "type": "binary"}],
                    "directed": [["C", "Y"]], "bidirected": [["C", "Y"]]}


# --------------------------------------------------------------------------------------------------
# Files the cases read


def png_header(width: int, height: int) -> bytes:
    """A PNG that declares ``width`` x ``height`` grey pixels (its pixel data is empty): a reader that
    trusts the header and decodes would need width * height bytes."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"")) + chunk(b"IEND", b"")


def sparse_file(path: Path, size: int) -> Path:
    """A file of ``size`` zero bytes that takes no disk space."""
    with open(path, "wb") as fh:
        fh.truncate(size)
    return path


def image_data_folder(folder: Path, big: tuple[int, int] | None) -> Path:
    """A dataset folder for IMAGE_GRAPH (meta.json, data.csv, 8x8 PNGs), row 1's image ``big`` if given."""
    import numpy as np
    from PIL import Image

    (folder / "images" / "I").mkdir(parents=True)
    for i in range(3):
        Image.fromarray(np.full((8, 8), 40 * i, dtype=np.uint8), "L").save(folder / "images" / "I" / f"{i}.png")
    if big is not None:
        (folder / "images" / "I" / "1.png").write_bytes(png_header(*big))
    (folder / "data.csv").write_text("I,Y\n" + "".join(f"images/I/{i}.png,{i % 2}\n" for i in range(3)))
    meta = {"format": "causal-workbench-dataset", "version": 1, "n": 3, "columns": IMAGE_GRAPH["nodes"],
            "graph": IMAGE_GRAPH, "world": None, "categories": {}, "fingerprint": None}
    (folder / "meta.json").write_text(json.dumps(meta))
    return folder


@pytest.fixture(scope="module")
def base(tmp_path_factory) -> Path:
    """What every case starts from: graphs, a data set D, a run R trained on it, and odd files."""
    import torch

    from core.data import Dataset
    from core.graph import ADMG
    from core.runs.train import TrainOptions, train
    from core.worlds.registry import sample_dataset

    root = tmp_path_factory.mktemp("bad_inputs")
    (root / "g.json").write_text(json.dumps(BACKDOOR))
    (root / "gi.json").write_text(json.dumps(IMAGE_GRAPH))
    (root / "gc.json").write_text(json.dumps(CONTINUOUS_GRAPH))
    (root / "afile").write_text("not a folder\n")
    ds, _ = sample_dataset("backdoor", 200, seed=0)
    ds.save(root / "D")
    Dataset.from_values({"C": [0.5, -1.0, 2.0, 0.0], "Y": [0, 1, 1, 0]}, ADMG.from_json(CONTINUOUS_GRAPH)).save(root / "DC")
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        train(ds.graph, ds, root / "R", options=TrainOptions(preset="quick", steps=3, device="cpu"), accelerator=None)
    finally:
        torch.set_num_threads(threads)
    return root


# --------------------------------------------------------------------------------------------------
# Setups: each changes the case's own copy of the base folder


def edit_manifest(change: Callable[[dict], None], run: str = "R") -> Callable[[Path], None]:
    def setup(root: Path) -> None:
        path = root / run / "manifest.json"
        manifest = json.loads(path.read_text())
        change(manifest)
        path.write_text(json.dumps(manifest))

    return setup


def node_y(**fields: object) -> Callable[[dict], None]:
    return lambda m: m["nodes"]["Y"].update(fields)


def config_y(**fields: object) -> Callable[[dict], None]:
    return lambda m: m["nodes"]["Y"]["config"].update(fields)


def write(name: str, content: bytes | str) -> Callable[[Path], None]:
    def setup(root: Path) -> None:
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content if isinstance(content, bytes) else content.encode())

    return setup


def graph_file(name: str, obj: object) -> Callable[[Path], None]:
    return write(name, json.dumps(obj))


def deep_json(depth: int, inner: str = "0") -> str:
    return "[" * depth + inner + "]" * depth


def unsafe_optimizer(root: Path) -> None:
    """Node Y stopped half-way, its optimiser file a pickle that asks for a class (never unpickled)."""
    manifest = json.loads((root / "R" / "manifest.json").read_text())
    entry = manifest["nodes"]["Y"]
    entry.update(status="training", total_steps=entry["steps_done"] + 5)
    (root / "R" / "manifest.json").write_text(json.dumps(manifest))
    import pickle

    (root / "R" / entry["optimizer"]).write_bytes(pickle.dumps({"optimizer": OSError("x"), "step": entry["steps_done"]}))


def weights_link_outside(root: Path) -> None:
    manifest = json.loads((root / "R" / "manifest.json").read_text())
    weights = root / "R" / manifest["nodes"]["Y"]["weights"]
    weights.unlink()
    weights.symlink_to(root / "afile")


def csv_images_not_needed(root: Path) -> None:
    """data.csv with an image column (paths) and scalar columns, no meta.json; the image node is not trained."""
    import numpy as np
    from PIL import Image

    folder = root / "DI"
    (folder / "img").mkdir(parents=True)
    rows = ["Z,X,Y,Photo"]
    rng = np.random.default_rng(0)
    for i in range(40):
        Image.fromarray(np.full((4, 4), i, dtype=np.uint8), "L").save(folder / "img" / f"{i}.png")
        z = int(rng.integers(2))
        rows.append(f"{z},{z},{int(rng.integers(2))},img/{i}.png")
    (folder / "data.csv").write_text("\n".join(rows) + "\n")


def random_bytes(name: str) -> Callable[[Path], None]:
    return write(name, random.Random(0).randbytes(4096))


# --------------------------------------------------------------------------------------------------
# The table


@dataclass(frozen=True)
class Case:
    id: str
    args: tuple[str, ...]  # "{root}" is the case's folder
    expect: str  # what the one stderr line must say
    setup: Callable[[Path], None] | None = None
    hold: str | None = None  # a lock file (under {root}) another process holds while the case runs
    code: int = 2
    slow: bool = False  # imports torch or trains


RUN_Y = ("sample", "--run", "{root}/R", "--n", "5", "--out", "{root}/out")
LEVELS = {"nodes": [{"name": "A", "type": "categorical", "levels": 10**12}, "B"], "directed": [["A", "B"]]}

CASES = [
    # ---- graph files (identify)
    Case("identify_graph_is_a_folder", ("identify", "--graph", "{root}/D", "--do", "X", "--outcome", "Y"),
         "is a folder"),
    Case("identify_graph_random_bytes", ("identify", "--graph", "{root}/rb.json", "--do", "X", "--outcome", "Y"),
         "not UTF-8 text", random_bytes("rb.json")),
    Case("identify_graph_200k_deep", ("identify", "--graph", "{root}/deep.json", "--do", "X", "--outcome", "Y"),
         "more than 64 deep", write("deep.json", '{"nodes": ' + deep_json(200_000) + "}")),
    Case("identify_graph_100_deep_extra", ("identify", "--graph", "{root}/deep.json", "--do", "A", "--outcome", "B"),
         "more than 64 deep",
         write("deep.json", '{"nodes": [{"name": "A", "note": ' + deep_json(100) + '}, "B"], "directed": [["A", "B"]]}')),
    Case("identify_levels_10e12", ("identify", "--graph", "{root}/lv.json", "--do", "A", "--outcome", "B"),
         "more than the limit of 10,000", graph_file("lv.json", LEVELS)),
    Case("identify_image_too_large", ("identify", "--graph", "{root}/im.json", "--do", "A", "--outcome", "B"),
         "pixels", graph_file("im.json", {"nodes": [{"name": "A", "type": "image", "shape": [3, 100000, 100000]}, "B"],
                                          "directed": [["A", "B"]]})),
    Case("identify_name_100k_characters", ("identify", "--graph", "{root}/nm.json", "--do", "B", "--outcome", "B2"),
         "more than the limit of 100", graph_file("nm.json", {"nodes": ["A" * 100_000, "B", "B2"]})),
    Case("identify_graph_too_large", ("identify", "--graph", "{root}/big.json", "--do", "X", "--outcome", "Y"),
         "more than the limit", lambda root: sparse_file(root / "big.json", 64 * 2**20 + 1)),
    Case("identify_graph_device", ("identify", "--graph", "/dev/zero", "--do", "X", "--outcome", "Y"),
         "not a regular file"),
    Case("identify_graph_missing", ("identify", "--graph", "{root}/nope.json", "--do", "X", "--outcome", "Y"),
         "not found"),
    Case("identify_format_yaml", ("identify", "--graph", "{root}/g.json", "--do", "X", "--outcome", "Y",
                                  "--format", "yaml"), "invalid choice"),
    Case("identify_no_outcome_flag", ("identify", "--graph", "{root}/g.json", "--do", "X"), "--outcome"),
    Case("identify_cycle", ("identify", "--graph", "{root}/cy.json", "--do", "A", "--outcome", "B"), "cycle",
         graph_file("cy.json", {"nodes": ["A", "B"], "directed": [["A", "B"], ["B", "A"]]})),
    Case("identify_unknown_node", ("identify", "--graph", "{root}/g.json", "--do", "Q", "--outcome", "Y"),
         "unknown node 'Q'"),
    Case("identify_nodes_not_a_list", ("identify", "--graph", "{root}/nl.json", "--do", "X", "--outcome", "Y"),
         "must be a list", graph_file("nl.json", {"nodes": 5})),
    Case("identify_bad_edge", ("identify", "--graph", "{root}/be.json", "--do", "A", "--outcome", "B"),
         "pair of node names", graph_file("be.json", {"nodes": ["A", "B"], "directed": [["A", "B", "C"]]})),
    Case("identify_empty_outcome", ("identify", "--graph", "{root}/g.json", "--do", "X", "--outcome", ","),
         "outcome is empty"),
    Case("valid_identify_braces_in_file_name", ("identify", "--graph", "{root}/my{graph}.json", "--do", "X",
                                                "--outcome", "Y"), "", graph_file("my{graph}.json", BACKDOOR), code=0),
    # ---- world
    Case("world_out_under_a_file", ("world", "backdoor", "--n", "20", "--out", "{root}/afile/sub"), "is a file"),
    Case("world_npz_under_a_file", ("world", "backdoor", "--n", "20", "--out", "{root}/afile/d.npz"), "is a file"),
    Case("world_n_not_a_number", ("world", "backdoor", "--n", "abc", "--out", "{root}/w"), "whole number"),
    Case("world_n_too_large", ("world", "backdoor", "--n", "1000000000000", "--out", "{root}/w"), "between 1 and"),
    Case("world_out_foreign_folder", ("world", "backdoor", "--n", "20", "--out", "{root}/mine"), "not a dataset",
         write("mine/thesis.tex", "precious")),
    Case("world_out_held_by_another_writer", ("world", "backdoor", "--n", "20", "--out", "{root}/D"),
         "is in use by process", hold="{root}/.D.lock"),
    # ---- sample
    Case("sample_out_is_its_own_data", ("sample", "--run", "{root}/R", "--data", "{root}/D", "--counterfactual-of",
                                        "0-3", "--do", "X=0", "--out", "{root}/D"), "would overwrite --data"),
    Case("sample_out_is_its_own_run", (*RUN_Y[:-1], "{root}/R"), "would overwrite --run"),
    Case("sample_n_10e12", ("sample", "--run", "{root}/R", "--n", "1000000000000", "--out", "{root}/o"),
         "--n must be between 1 and 1,000,000"),
    Case("sample_n_not_a_number", ("sample", "--run", "{root}/R", "--n", "abc", "--out", "{root}/o"),
         "must be an integer"),
    Case("sample_seed_not_a_number", ("sample", "--run", "{root}/R", "--seed", "x", "--out", "{root}/o"),
         "invalid int value"),
    Case("sample_do_nan", ("sample", "--graph", "{root}/gc.json", "--data", "{root}/DC", "--do", "C=nan",
                           "--outcome", "Y", "--out", "{root}/o"), "--do C=nan: the value must be a finite number"),
    Case("sample_do_level_out_of_range", (*RUN_Y, "--do", "X=7"), "levels are 0..1"),
    Case("sample_do_unknown_node", (*RUN_Y, "--do", "Q=1"), "unknown node 'Q'"),
    Case("sample_run_is_a_file", ("sample", "--run", "{root}/afile", "--out", "{root}/o"), "is a file"),
    Case("sample_out_is_a_file", ("sample", "--graph", "{root}/gc.json", "--data", "{root}/DC", "--outcome", "Y",
                                  "--out", "{root}/afile"), "a file of that name exists"),
    Case("sample_rows_10e12", ("sample", "--run", "{root}/R", "--data", "{root}/D", "--counterfactual-of",
                               "0-1000000000000", "--do", "X=0", "--out", "{root}/o"), "rows must be in 0..199"),
    Case("sample_unknown_outcome", (*RUN_Y, "--outcome", "Q"), "unknown node 'Q' in --outcome"),
    # ---- run manifests (read by sample, effects and train)
    Case("manifest_steps_done_text", RUN_Y, "nodes.Y.steps_done: 'lots' is not of type 'integer'",
         edit_manifest(node_y(steps_done="lots"))),
    Case("manifest_weights_number", RUN_Y, "nodes.Y.weights: 12 is not of type", edit_manifest(node_y(weights=12))),
    Case("manifest_weights_dev_zero", RUN_Y, "weights path '/dev/zero' is not a file of the run's nodes/",
         edit_manifest(node_y(weights="/dev/zero"))),
    Case("manifest_weights_leave_the_run", RUN_Y, "weights path '../../../../etc/passwd' is not a file",
         edit_manifest(node_y(weights="../../../../etc/passwd"))),
    Case("manifest_optimizer_leaves_the_run", RUN_Y, "optimizer path",
         edit_manifest(node_y(optimizer="nodes/../../x.optim.pt"))),
    Case("manifest_hidden_200000", RUN_Y, "hidden is 200000, outside 0..65,536",
         edit_manifest(config_y(hidden=200_000, layers=40))),
    Case("manifest_hidden_negative", RUN_Y, "hidden is -5, outside", edit_manifest(config_y(hidden=-5))),
    Case("manifest_config_nan", RUN_Y, "not a finite number", edit_manifest(config_y(dropout=float("nan")))),
    Case("manifest_negative_steps", RUN_Y, "-3 is less than the minimum of 0", edit_manifest(node_y(total_steps=-3))),
    Case("manifest_unknown_status", RUN_Y, "nodes.Y.status", edit_manifest(node_y(status="done"))),
    Case("manifest_not_json", RUN_Y, "is corrupt (not JSON", write("R/manifest.json", '{"format": ')),
    Case("manifest_200k_deep", RUN_Y, "more than 64 deep", write("R/manifest.json", deep_json(200_000))),
    Case("manifest_80_deep", RUN_Y, "more than 64 deep",
         edit_manifest(lambda m: m["nodes"]["Y"]["metrics"].update(x=json.loads(deep_json(80))))),
    Case("manifest_too_large", RUN_Y, "more than the limit of 33,554,432",
         lambda root: sparse_file(root / "R" / "manifest.json", 33 * 2**20)),
    Case("manifest_future_version", RUN_Y, "format version 7", edit_manifest(lambda m: m.update(version=7))),
    Case("manifest_bad_graph", RUN_Y, "holds a bad graph: node W: 1,000,000,000,000 levels is more than the limit",
         edit_manifest(lambda m: m["graph"]["nodes"].append({"name": "W", "type": "categorical", "levels": 10**12}))),
    Case("manifest_model_of_40_billion_parameters", RUN_Y, "more than the limit of 500,000,000",
         edit_manifest(config_y(hidden=60_000, layers=12)), slow=True),
    Case("manifest_weights_link_outside", RUN_Y, "leads outside the run folder", weights_link_outside, slow=True),
    Case("effects_manifest_hidden_negative", ("effects", "--run", "{root}/R", "--treatment", "X", "--outcome", "Y"),
         "hidden is -5", edit_manifest(config_y(hidden=-5))),
    # ---- data folders and images (read by sample --graph --data before anything is trained)
    Case("data_meta_200k_deep", ("sample", "--graph", "{root}/g.json", "--data", "{root}/D", "--outcome", "Y",
                                 "--out", "{root}/o"), "more than 64 deep", write("D/meta.json", deep_json(200_000))),
    Case("data_meta_columns_missing", ("sample", "--graph", "{root}/g.json", "--data", "{root}/D", "--outcome", "Y",
                                       "--out", "{root}/o"), "meta.json is corrupt",
         write("D/meta.json", json.dumps({"format": "causal-workbench-dataset", "version": 1, "n": 3}))),
    Case("data_meta_bad_column", ("sample", "--graph", "{root}/g.json", "--data", "{root}/D", "--outcome", "Y",
                                  "--out", "{root}/o"), "bad column",
         write("D/meta.json", json.dumps({"format": "causal-workbench-dataset", "version": 1, "n": 3,
                                          "columns": [{"name": "Z", "type": "categorical", "levels": 10**12}]}))),
    Case("data_meta_too_large", ("sample", "--graph", "{root}/g.json", "--data", "{root}/D", "--outcome", "Y",
                                 "--out", "{root}/o"), "more than the limit",
         lambda root: sparse_file(root / "D" / "meta.json", 16 * 2**20 + 1)),
    Case("data_image_30000x30000", ("sample", "--graph", "{root}/gi.json", "--data", "{root}/DI", "--outcome", "Y",
                                    "--out", "{root}/o"), "more than the limit of 16,777,216 pixels",
         lambda root: image_data_folder(root / "DI", (30000, 30000))),
    Case("data_image_12000x12000", ("sample", "--graph", "{root}/gi.json", "--data", "{root}/DI", "--outcome", "Y",
                                    "--out", "{root}/o"), "is 12000x12000 pixels, more than the limit",
         lambda root: image_data_folder(root / "DI", (12000, 12000))),
    Case("data_image_path_leaves_folder", ("sample", "--graph", "{root}/gi.json", "--data", "{root}/DI",
                                           "--outcome", "Y", "--out", "{root}/o"), "leaves the data folder",
         lambda root: (image_data_folder(root / "DI", None),
                       (root / "DI" / "data.csv").write_text("I,Y\n../../afile,0\nimages/I/1.png,1\nimages/I/2.png,0\n"))),
    # ---- train
    Case("train_out_under_a_file", ("train", "--graph", "{root}/g.json", "--data", "{root}/D", "--out",
                                    "{root}/afile/run"), "is a file"),
    Case("train_out_is_its_own_data", ("train", "--graph", "{root}/g.json", "--data", "{root}/D", "--out", "{root}/D"),
         "would overwrite --data"),
    Case("train_levels_10e12", ("train", "--graph", "{root}/lv.json", "--data", "{root}/D", "--out", "{root}/r2"),
         "more than the limit of 10,000", graph_file("lv.json", LEVELS)),
    Case("train_graph_random_bytes", ("train", "--graph", "{root}/rb.json", "--data", "{root}/D", "--out", "{root}/r2"),
         "not UTF-8 text", random_bytes("rb.json")),
    Case("train_device_cuda_without_gpu", ("train", "--graph", "{root}/g.json", "--data", "{root}/D", "--out",
                                           "{root}/r2", "--device", "cuda"), "no CUDA GPU", slow=True),
    Case("train_steps_10e12", ("train", "--graph", "{root}/g.json", "--data", "{root}/D", "--out", "{root}/r2",
                               "--steps", "1000000000000"), "--steps must be at most 100,000,000", slow=True),
    Case("train_run_held_by_another_writer", ("train", "--graph", "{root}/g.json", "--data", "{root}/D", "--out",
                                              "{root}/R", "--steps", "5", "--quiet"), "is in use by process",
         hold="{root}/R/.lock"),
    Case("train_unsafe_optimizer_file", ("train", "--graph", "{root}/g.json", "--data", "{root}/D", "--out",
                                         "{root}/R", "--nodes", "Y", "--steps", "8", "--quiet"),
         "holds Python objects other than tensors",
         unsafe_optimizer, slow=True),
    Case("valid_train_csv_with_an_image_column_not_needed", ("train", "--graph", "{root}/g.json", "--data", "{root}/DI",
                                                             "--out", "{root}/r3", "--steps", "2", "--nodes", "X",
                                                             "--quiet"), "", csv_images_not_needed, code=0, slow=True),
    # ---- effects and check
    Case("effects_n_10e12", ("effects", "--world", "backdoor", "--treatment", "X", "--outcome", "Y", "--n",
                             "1000000000000"), "--n must be between 1 and 1,000,000"),
    Case("effects_boot_negative", ("effects", "--world", "backdoor", "--treatment", "X", "--outcome", "Y", "--boot",
                                   "-1"), "--boot must be between 10 and 100,000"),
    Case("effects_boot_zero", ("effects", "--world", "backdoor", "--treatment", "X", "--outcome", "Y", "--boot", "0"),
         "--boot must be between 10 and 100,000"),
    Case("effects_n_times_boot", ("effects", "--world", "backdoor", "--treatment", "X", "--outcome", "Y", "--n",
                                  "1000000", "--boot", "100000"), "resampled values"),
    Case("effects_values_nan", ("effects", "--world", "morpho_digits", "--treatment", "thickness", "--outcome",
                                "intensity", "--values", "nan,2"), "'nan' is not a finite number", slow=True),
    Case("effects_n_not_a_number", ("effects", "--world", "backdoor", "--treatment", "X", "--outcome", "Y", "--n",
                                    "abc"), "must be an integer"),
    Case("check_units_10e12", ("check", "--run", "{root}/R", "--data", "{root}/D", "--units", "1000000000000"),
         "--units must be between 2 and"),
    Case("no_such_command", ("frobnicate",), "invalid choice"),
]


def snapshot(root: Path) -> dict[str, str]:
    """Every entry under ``root``: relative path -> kind and content hash (links by their target)."""
    out = {}
    for path in sorted(root.rglob("*")):
        rel = str(path.relative_to(root))
        if path.is_symlink():
            out[rel] = f"link:{os.readlink(path)}"
        elif path.is_dir():
            out[rel] = "dir"
        else:
            h = hashlib.sha256()
            with open(path, "rb") as fh:
                for block in iter(lambda: fh.read(1 << 20), b""):
                    h.update(block)
            out[rel] = f"file:{os.stat(path).st_mode:o}:{h.hexdigest()}"
    return out


HOLD_CODE = ("import sys, time; from pathlib import Path; from core.locks import FolderLock; "
             "lock = FolderLock(Path(sys.argv[1]), 'folder').acquire(); print('held', flush=True); time.sleep(300)")


@contextmanager
def held(lock_file: Path) -> Iterator[None]:
    """Another process holds ``lock_file`` meanwhile."""
    proc = subprocess.Popen([sys.executable, "-c", HOLD_CODE, str(lock_file)], cwd=REPO, env=ENV,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = proc.stdout.readline()
        assert line.strip() == "held", f"the holder could not take the lock: {proc.stderr.read()}"
        yield
    finally:
        proc.kill()
        proc.wait()


CASE_SECONDS = 300  # a case still running by then "runs without limit"
CASE_MEMORY = 8 * 2**30  # address space of a case: a runaway allocation fails at once instead of swapping


def _limit_memory() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (CASE_MEMORY, CASE_MEMORY))


def run_case(case: Case, root: Path) -> subprocess.CompletedProcess:
    args = [a.replace("{root}", str(root)) for a in case.args]
    try:
        return subprocess.run([sys.executable, "-m", "core", *args], cwd=REPO, env=ENV, capture_output=True,
                              text=True, timeout=CASE_SECONDS, preexec_fn=_limit_memory)
    except subprocess.TimeoutExpired:
        pytest.fail(f"still running after {CASE_SECONDS} s: it runs without limit")


@pytest.mark.parametrize(
    "case", [pytest.param(c, id=c.id, marks=[pytest.mark.slow] if c.slow else []) for c in CASES]
)
def test_bad_input_is_one_line_and_changes_nothing(case: Case, base: Path, tmp_path: Path) -> None:
    root = tmp_path / "case"
    shutil.copytree(base, root, symlinks=True)
    if case.setup is not None:
        case.setup(root)
    with held(Path(case.hold.replace("{root}", str(root)))) if case.hold else _nothing():
        before = snapshot(root)
        proc = run_case(case, root)
        after = snapshot(root)
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    if case.code == 0:
        assert proc.returncode == 0, proc.stderr[-2000:]
        assert {k: after.get(k) for k in before} == before, "a valid command changed what was there before"
        return
    assert proc.returncode == 2, f"exit {proc.returncode}; stderr: {proc.stderr[-2000:]}"
    assert len(lines) == 1, f"{len(lines)} stderr lines:\n{proc.stderr[-2000:]}"
    assert case.expect in lines[0], lines[0]
    assert lines[0].startswith("error: ") and len(lines[0]) < 400, lines[0]
    changed = sorted(k for k in before.keys() | after.keys() if before.get(k) != after.get(k))
    assert not changed, f"the refused command changed {changed[:5]}"


@contextmanager
def _nothing() -> Iterator[None]:
    yield


def test_the_table_covers_the_issue_s_kinds_of_case() -> None:
    assert len(CASES) >= 40
    assert len({c.id for c in CASES}) == len(CASES)
