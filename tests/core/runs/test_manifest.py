"""Run manifests are trusted with nothing: every field is checked against the schema and the documented
limits, every path stays in the run's nodes/ folder, and any mutation of a valid manifest either still
loads or is refused in one line (a hypothesis fuzz)."""

from __future__ import annotations

import copy
import json
import warnings
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.errors import WorkbenchError
from core.graph import ADMG
from core.runs.checkpoint import load_run
from core.runs.manifest import (
    LIMITS,
    MANIFEST,
    MAX_CONFIG_INTEGER,
    CheckpointError,
    check_manifest,
    check_model_config,
    check_writable_run_folder,
    new_manifest,
    read_run_manifest,
)

GRAPH = ADMG.from_json({"nodes": ["Z", {"name": "X", "type": "continuous"}], "directed": [["Z", "X"]]})
CONFIG = {"kind": "continuous", "preset": "quick", "node": {"name": "X", "type": "continuous", "pos": [-3, 2]},
          "parents": [{"name": "Z", "type": "binary"}], "transforms": 3, "hidden": [64, 64], "bins": 8,
          "train": {"steps": 200_000_000 // 4, "batch_size": 256, "lr": 0.003, "seed": -12_345_678_901}}


def valid() -> dict:
    m = new_manifest(GRAPH, "f" * 64, 10)
    m["nodes"]["X"].update(kind="continuous", config=copy.deepcopy(CONFIG), status="trained", steps_done=5,
                           total_steps=5, loss_history=[[5, 0.5]], metrics={"final_loss": 0.5, "device": "cpu"},
                           weights="nodes/X.5.safetensors", optimizer="nodes/X.5.optim.pt")
    return m


def test_a_written_manifest_is_valid():
    assert check_manifest(valid(), Path("m.json"))["nodes"]["X"]["steps_done"] == 5


@pytest.mark.parametrize(
    "change, message",
    [
        (lambda m: m["nodes"]["X"].update(steps_done="lots"), r"nodes\.X\.steps_done: 'lots' is not of type 'integer'"),
        (lambda m: m["nodes"]["X"].update(steps_done=True), r"nodes\.X\.steps_done: True is not of type"),
        (lambda m: m["nodes"]["X"].update(total_steps=10**9), r"total_steps: 1000000000 is greater than the maximum"),
        (lambda m: m["nodes"]["X"].update(weights=12), r"nodes\.X\.weights: 12 is not of type"),
        (lambda m: m["nodes"]["X"].update(weights="/dev/zero"), r"weights path '/dev/zero' is not a file of the run's"),
        (lambda m: m["nodes"]["X"].update(weights="../../../../etc/passwd"), r"weights path '\.\./\.\./"),
        (lambda m: m["nodes"]["X"].update(weights="nodes/X.5.optim.pt"), r"weights path .* \(nodes/<node>\.<step>\.safetensors\)"),
        (lambda m: m["nodes"]["X"].update(optimizer="nodes/sub/X.5.optim.pt"), r"optimizer path"),
        (lambda m: m["nodes"]["X"].update(status="done"), r"nodes\.X\.status: 'done' is not one of"),
        (lambda m: m["nodes"]["X"].update(loss_history=[[1]] * 3), r"loss_history\.\d: \[1\] is too short"),
        (lambda m: m["nodes"]["X"]["metrics"].update({f"m{i}": i for i in range(100)}), r"nodes\.X\.metrics: more than the limit of 64 entries"),
        (lambda m: m["nodes"].update({"bad name": m["nodes"]["X"]}), r"nodes: 'bad name' does not match"),
        (lambda m: m["data"].update(rows=-1), r"data\.rows: -1 is less than the minimum of 0"),
        (lambda m: m.update(graph=[]), r"graph: \[\] is not of type 'object'"),
        (lambda m: m.update(version=2), r"format version 2; this workbench reads versions up to 1"),
        (lambda m: m.update(format="other"), r"is not a Causal Workbench run manifest"),
        (lambda m: m["nodes"]["X"]["config"].update(hidden=200_000), r"node X's model config: hidden is 200000, outside 0\.\.65,536"),
        (lambda m: m["nodes"]["X"]["config"].update(hidden=[-5]), r"hidden\.0 is -5, outside"),
        (lambda m: m["nodes"]["X"]["config"].update(bins=float("inf")), r"bins is inf, not a finite number"),
        (lambda m: m["nodes"]["X"]["config"]["train"].update(steps=10**9), r"train\.steps is 1000000000, outside 0\.\.100,000,000"),
        (lambda m: m["nodes"]["X"]["config"].update(big=list(range(5000))), r"more than 4,096 values"),
        (lambda m: m["nodes"]["X"]["metrics"].update(deep=json.loads("[" * 70 + "]" * 70)), r"more than 64 deep"),
    ],
)
def test_every_field_is_checked_in_one_line(change, message):
    m = valid()
    change(m)
    with pytest.raises(CheckpointError, match=message) as e:
        check_manifest(m, Path("m.json"))
    assert "\n" not in str(e.value) and len(str(e.value)) < 400


def test_config_limits_spare_seeds_and_the_node_records():
    check_model_config(CONFIG, "config")  # a negative seed and a negative position are fine
    check_model_config({"hidden": MAX_CONFIG_INTEGER}, "config")
    with pytest.raises(CheckpointError, match="outside"):
        check_model_config({"hidden": MAX_CONFIG_INTEGER + 1}, "config")
    assert set(LIMITS) >= {"steps", "config integer", "model parameters", "node file bytes", "manifest bytes"}


def test_reading_refuses_files_folders_and_oversized_manifests(tmp_path):
    (tmp_path / "file").write_text("x")
    with pytest.raises(CheckpointError, match="is a file, not a run folder"):
        read_run_manifest(tmp_path / "file")
    with pytest.raises(CheckpointError, match="does not exist"):
        read_run_manifest(tmp_path / "nowhere")
    run = tmp_path / "run"
    run.mkdir()
    with open(run / MANIFEST, "wb") as fh:
        fh.truncate(40 * 2**20)
    with pytest.raises(CheckpointError, match="more than the limit of 33,554,432"):
        read_run_manifest(run)
    (run / MANIFEST).unlink()
    (run / MANIFEST).mkdir()
    with pytest.raises(CheckpointError, match="not a regular file"):
        read_run_manifest(run)


def test_a_folder_under_a_file_or_with_foreign_files_is_not_writable(tmp_path):
    (tmp_path / "afile").write_text("x")
    with pytest.raises(CheckpointError, match="afile is a file"):
        check_writable_run_folder(tmp_path / "afile" / "run")
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / ".lock").write_text("")  # what a refused writer may leave: still empty
    assert check_writable_run_folder(tmp_path / "run") == tmp_path / "run"


# ---- fuzz: any mutation of a valid manifest loads or is one line


json_scalars = (st.none() | st.booleans() | st.integers(-(10**13), 10**13) | st.floats(allow_nan=True)
                | st.text(max_size=30) | st.sampled_from(["/dev/zero", "../x", "nodes/X.5.safetensors", "trained"]))
json_values = st.recursive(json_scalars, lambda c: st.lists(c, max_size=4) | st.dictionaries(st.text(max_size=6), c,
                                                                                               max_size=4), max_leaves=12)


def paths_of(obj: object, prefix: tuple = ()) -> list[tuple]:
    out = [prefix]
    if isinstance(obj, dict):
        for k, v in obj.items():
            out += paths_of(v, (*prefix, k))
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            out += paths_of(v, (*prefix, i))
    return out


MANIFEST_PATHS = [p for p in paths_of(valid()) if p]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(mutations=st.lists(st.tuples(st.sampled_from(MANIFEST_PATHS), json_values), min_size=1, max_size=3))
def test_fuzz_mutated_manifests_load_or_give_one_line(mutations, tmp_path_factory):
    m = valid()
    for path, value in mutations:
        target = m
        try:
            for key in path[:-1]:
                target = target[key]
            target[path[-1]] = value
        except (KeyError, IndexError, TypeError):
            continue
    run = tmp_path_factory.mktemp("run")
    (run / MANIFEST).write_text(json.dumps(m))
    try:
        with warnings.catch_warnings():  # a warning would be a second line on the command line's stderr
            warnings.simplefilter("error", RuntimeWarning)
            warnings.simplefilter("error", UserWarning)
            read_run_manifest(run)
            load_run(run).load_mechanism("X", allow_partial=True)  # builds the model, then misses the weights
    except WorkbenchError as e:
        assert "\n" not in str(e) and len(str(e)) < 600
