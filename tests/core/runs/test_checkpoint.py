"""Run folders: atomic writes, round trips, refusals (foreign folders, other graphs or data, corruption,
models too big to build), one writer at a time, and readers that always find what the manifest names."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import threading

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from core.errors import InUseError
from core.graph import ADMG
from core.mechanisms import make_mechanism
from core.runs.checkpoint import (
    MANIFEST,
    CheckpointError,
    atomic_write_bytes,
    downsample_history,
    load_run,
    open_run,
    readable_json,
)

GRAPH = ADMG.from_json(
    {
        "nodes": [{"name": "Z", "type": "binary"}, {"name": "X", "type": "continuous"}, {"name": "Y", "type": "binary"}],
        "directed": [["Z", "X"], ["X", "Y"], ["Z", "Y"]],
        "bidirected": [],
    }
)


def mechanism_for(graph: ADMG, name: str, seed: int = 0):
    torch.manual_seed(seed)
    parents = [graph.node(p) for p in graph.sort(graph.parents(name))]
    return make_mechanism(graph.node(name), parents, preset="quick", device="cpu")


def save(run, mech, step: int = 10, total: int = 10, status: str = "trained", history=None):
    opt = torch.optim.Adam(mech.parameters(), lr=1e-3)
    run.save_node(
        mech.node.name, kind=mech.kind, config=mech.config, weights=mech.state_dict(), optimizer=opt.state_dict(),
        step=step, total_steps=total, loss_history=history if history is not None else [1.0] * step,
        rng={"torch": torch.get_rng_state()}, status=status, metrics={"final_loss": 1.0},
    )


# ---- atomic writes and pure helpers


def test_atomic_write_replaces_and_leaves_no_temporary_files(tmp_path):
    target = tmp_path / "f.bin"
    atomic_write_bytes(target, b"old")
    atomic_write_bytes(target, b"new content")
    assert target.read_bytes() == b"new content"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["f.bin"]
    assert stat.S_IMODE(os.stat(target).st_mode) & 0o044, "files get the umask mode, not mkstemp's 0600"


def test_atomic_write_failure_keeps_the_old_file(tmp_path, monkeypatch):
    target = tmp_path / "f.bin"
    atomic_write_bytes(target, b"old")

    def broken_replace(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", broken_replace)
    with pytest.raises(OSError):
        atomic_write_bytes(target, b"new")
    monkeypatch.undo()
    assert target.read_bytes() == b"old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["f.bin"]


def test_downsample_history_keeps_level_and_bounds_size():
    history = [float(i % 7) for i in range(2003)]
    rows = downsample_history(history, max_points=100)
    assert len(rows) <= 100
    assert rows[-1][0] == 2003  # the last bucket is labelled with the last step
    steps = [r[0] for r in rows]
    assert steps == sorted(steps)
    # equal buckets except the last: the bucket means average back to the overall mean
    k = rows[0][0]
    full = [r[1] for r in rows[:-1]]
    assert sum(full) / len(full) == pytest.approx(sum(history[: k * len(full)]) / (k * len(full)), rel=1e-5)
    assert downsample_history([]) == []
    assert downsample_history([2.0, 4.0], max_points=10) == [[1, 2.0], [2, 4.0]]


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-10**6, 10**6) | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=8),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=5), children, max_size=4),
    max_leaves=20,
)


@settings(max_examples=150, deadline=None)
@given(json_values)
def test_readable_json_round_trips(obj):
    assert json.loads(readable_json(obj)) == obj


# ---- run folders


def test_save_and_load_round_trip_gives_the_same_model(tmp_path):
    run = open_run(tmp_path / "run", GRAPH, fingerprint="abc", rows=5)
    mech = mechanism_for(GRAPH, "Y", seed=3)
    save(run, mech)
    loaded = load_run(tmp_path / "run").load_mechanism("Y")
    pa = {"Z": torch.tensor([0, 1, 1]), "X": torch.tensor([0.5, -1.0, 2.0])}
    assert torch.equal(mech.logits(pa), loaded.logits(pa))
    other = mechanism_for(GRAPH, "Y", seed=4)  # a differently initialised model really differs
    assert not torch.equal(other.logits(pa), loaded.logits(pa))
    again = load_run(tmp_path / "run")
    assert again.trained_nodes() == ["Y"]
    assert set(again.mechanisms()) == {"Y"}
    assert again.manifest["data"] == {"fingerprint": "abc", "rows": 5}
    files = sorted(p.name for p in (tmp_path / "run" / "nodes").iterdir())
    assert files == ["Y.10.optim.pt", "Y.10.safetensors"]


def test_a_new_checkpoint_replaces_the_old_files_and_resume_state_round_trips(tmp_path):
    run = open_run(tmp_path / "run", GRAPH)
    mech = mechanism_for(GRAPH, "X")
    save(run, mech, step=5, total=20, status="training", history=[3.0, 2.0, 1.0, 0.5, 0.25])
    save(run, mech, step=7, total=20, status="training", history=[3.0, 2.0, 1.0, 0.5, 0.25, 0.2, 0.1])
    files = sorted(p.name for p in (tmp_path / "run" / "nodes").iterdir())
    assert files == ["X.7.optim.pt", "X.7.safetensors"]
    ck = load_run(tmp_path / "run").load_node_checkpoint("X")
    assert ck.step == 7
    assert ck.loss_history == pytest.approx([3.0, 2.0, 1.0, 0.5, 0.25, 0.2, 0.1])
    assert ck.rng["torch"].dtype == torch.uint8 and ck.rng["torch"].shape == torch.get_rng_state().shape
    assert set(ck.weights) == set(mech.state_dict())


def test_partially_trained_node_loads_only_on_request(tmp_path):
    run = open_run(tmp_path / "run", GRAPH)
    save(run, mechanism_for(GRAPH, "X"), step=5, total=20, status="training")
    with pytest.raises(CheckpointError, match=r"X .* is training \(5/20 steps\)"):
        load_run(tmp_path / "run").load_mechanism("X")
    assert load_run(tmp_path / "run").load_mechanism("X", allow_partial=True).kind == "continuous"
    with pytest.raises(CheckpointError, match="Z .* is untrained"):
        load_run(tmp_path / "run").load_mechanism("Z")
    assert load_run(tmp_path / "run").mechanisms() == {}


def test_stray_files_of_an_unfinished_save_are_ignored_then_removed(tmp_path):
    """A kill between writing node files and the manifest leaves files the manifest does not name."""
    run = open_run(tmp_path / "run", GRAPH)
    mech = mechanism_for(GRAPH, "X")
    save(run, mech, step=5, total=20, status="training")
    nodes = tmp_path / "run" / "nodes"
    (nodes / "X.10.safetensors").write_bytes(b"half a file")
    assert load_run(tmp_path / "run").load_node_checkpoint("X").step == 5
    save(run, mech, step=15, total=20, status="training")
    assert sorted(p.name for p in nodes.iterdir()) == ["X.15.optim.pt", "X.15.safetensors"]


def test_a_foreign_folder_is_never_written_into(tmp_path):
    folder = tmp_path / "photos"
    folder.mkdir()
    (folder / "holiday.jpg").write_bytes(b"jpeg")
    with pytest.raises(CheckpointError, match="not empty and is not a run folder"):
        open_run(folder, GRAPH)
    assert sorted(p.name for p in folder.iterdir()) == ["holiday.jpg"]
    (tmp_path / "file").write_text("x")
    with pytest.raises(CheckpointError, match="is a file"):
        open_run(tmp_path / "file", GRAPH)
    with pytest.raises(CheckpointError, match="does not exist"):
        load_run(tmp_path / "nowhere")
    with pytest.raises(CheckpointError, match="no manifest.json"):
        load_run(folder)


def test_an_empty_folder_becomes_a_run(tmp_path):
    (tmp_path / "empty").mkdir()
    run = open_run(tmp_path / "empty", GRAPH)
    assert (tmp_path / "empty" / MANIFEST).is_file()
    assert [run.status(v) for v in GRAPH.names] == ["untrained"] * 3


def test_other_graph_or_other_data_is_refused(tmp_path):
    with open_run(tmp_path / "run", GRAPH, fingerprint="a" * 64) as run:
        save(run, mechanism_for(GRAPH, "X"))
    more_parents = ADMG.from_json(
        {**GRAPH.to_json(), "nodes": GRAPH.to_json()["nodes"] + [{"name": "W", "type": "binary"}],
         "directed": GRAPH.to_json()["directed"] + [["W", "X"]]}
    )
    with pytest.raises(CheckpointError, match=r"trained X as continuous with parents \{Z binary\}, but the graph now "
                                              r"has continuous with parents \{W binary, Z binary\}"):
        open_run(tmp_path / "run", more_parents, fingerprint="a" * 64)
    retyped = ADMG.from_json({**GRAPH.to_json(), "nodes": [
        {"name": "Z", "type": "categorical", "levels": 3}, {"name": "X", "type": "continuous"},
        {"name": "Y", "type": "binary"}]})
    with pytest.raises(CheckpointError, match=r"X as continuous with parents \{Z binary\}, but the graph now has continuous with parents \{Z categorical\[3\]\}"):
        load_run(tmp_path / "run", graph=retyped)
    with pytest.raises(CheckpointError, match="trained on different data"):
        open_run(tmp_path / "run", GRAPH, fingerprint="b" * 64)
    dropped = GRAPH.without_nodes(["X"])
    with pytest.raises(CheckpointError, match="trained model of X, which the graph does not have"):
        open_run(tmp_path / "run", dropped)
    # changes that do not touch a trained model are fine: a new node, new edges into untrained Y
    extended = ADMG.from_json({**GRAPH.to_json(), "nodes": GRAPH.to_json()["nodes"] + [{"name": "W", "type": "binary"}],
                               "directed": GRAPH.to_json()["directed"] + [["W", "Y"]]})
    run2 = open_run(tmp_path / "run", extended, fingerprint="a" * 64)
    assert run2.status("W") == "untrained" and run2.status("X") == "trained"
    assert load_run(tmp_path / "run").graph == extended
    # the refusals left the folder as it was: X still loads
    assert load_run(tmp_path / "run").load_mechanism("X").kind == "continuous"


def test_corrupt_files_give_one_clear_line(tmp_path):
    run = open_run(tmp_path / "run", GRAPH)
    save(run, mechanism_for(GRAPH, "X"))
    root = tmp_path / "run"
    weights = root / "nodes" / "X.10.safetensors"
    good = weights.read_bytes()
    weights.write_bytes(good[: len(good) // 2])
    with pytest.raises(CheckpointError, match=r"X\.10\.safetensors is corrupt") as e:
        load_run(root).load_mechanism("X")
    assert "\n" not in str(e.value)
    weights.write_bytes(good)
    manifest = (root / MANIFEST).read_text()
    (root / MANIFEST).write_text(manifest[:100])
    with pytest.raises(CheckpointError, match=r"manifest.json is corrupt \(not JSON"):
        load_run(root)
    (root / MANIFEST).write_text(json.dumps({"format": "something else"}))
    with pytest.raises(CheckpointError, match="not a Causal Workbench run manifest"):
        load_run(root)
    (root / MANIFEST).write_text(json.dumps({**json.loads(manifest), "version": 99}))
    with pytest.raises(CheckpointError, match="format version 99"):
        load_run(root)
    # a manifest whose config no longer fits the graph (hand-edited) is caught before loading weights
    bad = json.loads(manifest)
    bad["nodes"]["X"]["config"]["parents"] = []
    (root / MANIFEST).write_text(json.dumps(bad))
    with pytest.raises(CheckpointError, match="model of X was built for continuous with no parents, but the graph has continuous with parents {Z binary}"):
        load_run(root).load_mechanism("X")


class Evil:
    def __reduce__(self):
        return (os.system, ("touch pwned",))


def test_optimizer_file_is_never_unpickled(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    run = open_run(tmp_path / "run", GRAPH)
    save(run, mechanism_for(GRAPH, "X"), step=3, total=10, status="training")
    optim = tmp_path / "run" / "nodes" / "X.3.optim.pt"
    torch.save({"optimizer": Evil(), "step": 3}, optim)
    with pytest.raises(CheckpointError, match=r"X\.3\.optim\.pt is refused: it holds Python objects") as e:
        load_run(tmp_path / "run").load_node_checkpoint("X")
    assert not (tmp_path / "pwned").exists()
    assert "weights_only" not in str(e.value)  # torch's advice to switch the protection off is not repeated


def test_inconsistent_step_between_manifest_and_optimizer_file_is_reported(tmp_path):
    run = open_run(tmp_path / "run", GRAPH)
    save(run, mechanism_for(GRAPH, "X"), step=3, total=10, status="training")
    optim = tmp_path / "run" / "nodes" / "X.3.optim.pt"
    state = torch.load(optim, weights_only=True)
    state["step"] = 2
    torch.save(state, optim)
    with pytest.raises(CheckpointError, match="manifest says step 3, optimiser file says 2"):
        load_run(tmp_path / "run").load_node_checkpoint("X")


# ---- one writer per run folder; readers always find what the manifest names


def test_a_second_writer_is_refused_until_the_first_closes(tmp_path):
    first = open_run(tmp_path / "run", GRAPH)
    with pytest.raises(InUseError, match=rf"run folder .*run is in use by process {os.getpid()} since"):
        open_run(tmp_path / "run", GRAPH)
    with pytest.raises(InUseError):  # a reader's write waits for no one either
        load_run(tmp_path / "run").reset_node("X")
    first.close()
    with open_run(tmp_path / "run", GRAPH) as again:
        save(again, mechanism_for(GRAPH, "X"))
    assert sorted(p.name for p in (tmp_path / "run").iterdir()) == ["manifest.json", "nodes"], "no lock left"


def test_a_reader_s_write_goes_on_top_of_what_the_writer_saved(tmp_path):
    with open_run(tmp_path / "run", GRAPH) as writer:
        reader = load_run(tmp_path / "run")  # read before the writer saved anything
        save(writer, mechanism_for(GRAPH, "X"))
        save(writer, mechanism_for(GRAPH, "Y"))
    reader.reset_node("Y")
    assert load_run(tmp_path / "run").trained_nodes() == ["X"], "the reader's stale view did not undo X"


def test_readers_always_find_the_files_the_manifest_names(tmp_path):
    """A writer saves checkpoint after checkpoint (each deletes the previous files) while readers load."""
    mech = mechanism_for(GRAPH, "X")
    run = open_run(tmp_path / "run", GRAPH)
    save(run, mech, step=1, total=1000, status="training")
    done = threading.Event()
    failures: list[str] = []
    loads = 0

    def read() -> None:
        nonlocal loads
        while not done.is_set():
            try:
                load_run(tmp_path / "run").load_mechanism("X", allow_partial=True)
                loads += 1
            except CheckpointError as e:
                failures.append(str(e))

    readers = [threading.Thread(target=read) for _ in range(2)]
    for t in readers:
        t.start()
    for step in range(2, 30):
        save(run, mech, step=step, total=1000, status="training")
    done.set()
    for t in readers:
        t.join()
    run.close()
    assert not failures, failures[:3]
    assert loads > 0


def test_temporary_files_of_a_dead_writer_are_removed_and_a_live_one_s_kept(tmp_path):
    with open_run(tmp_path / "run", GRAPH) as run:
        save(run, mechanism_for(GRAPH, "X"), step=5, total=10, status="training")
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    nodes = tmp_path / "run" / "nodes"
    (nodes / f".X.7.safetensors.{int(dead.stdout)}-abc.tmp").write_bytes(b"half")
    (tmp_path / "run" / ".manifest.json.oldstyle.tmp").write_bytes(b"half")  # an older version's name
    with open_run(tmp_path / "run", GRAPH):
        pass
    assert sorted(p.name for p in nodes.iterdir()) == ["X.5.optim.pt", "X.5.safetensors"]
    assert sorted(p.name for p in (tmp_path / "run").iterdir()) == ["manifest.json", "nodes"]


def test_a_failed_open_leaves_no_folder_behind(tmp_path):
    with open_run(tmp_path / "run", GRAPH):
        with pytest.raises(InUseError):
            open_run(tmp_path / "run", GRAPH)
    assert (tmp_path / "run" / MANIFEST).is_file()
    (tmp_path / "afile").write_text("x")
    with pytest.raises(CheckpointError, match="afile is a file"):
        open_run(tmp_path / "afile" / "run", GRAPH)


def test_a_model_config_too_big_to_build_is_refused_before_it_is_built(tmp_path):
    with open_run(tmp_path / "run", GRAPH) as run:
        save(run, mechanism_for(GRAPH, "Y"))
    manifest = json.loads((tmp_path / "run" / MANIFEST).read_text())
    manifest["nodes"]["Y"]["config"].update(hidden=60_000, layers=30)  # each number in range, the model 100 GB
    (tmp_path / "run" / MANIFEST).write_text(json.dumps(manifest))
    with pytest.raises(CheckpointError, match=r"describes a model of [\d,]+ parameters, more than the limit of 500,000,000"):
        load_run(tmp_path / "run").load_mechanism("Y")
    manifest["nodes"]["Y"]["config"].update(hidden=64, layers=2, kind="vae")
    (tmp_path / "run" / MANIFEST).write_text(json.dumps(manifest))
    with pytest.raises(CheckpointError, match="node Y's model config: a VAE mechanism models an image node"):
        load_run(tmp_path / "run").load_mechanism("Y")


def test_a_weights_link_out_of_the_run_is_refused(tmp_path):
    with open_run(tmp_path / "run", GRAPH) as run:
        save(run, mechanism_for(GRAPH, "Y"))
    weights = tmp_path / "run" / "nodes" / "Y.10.safetensors"
    weights.unlink()
    (tmp_path / "elsewhere").write_bytes(b"x")
    weights.symlink_to(tmp_path / "elsewhere")
    with pytest.raises(CheckpointError, match="leads outside the run folder"):
        load_run(tmp_path / "run").load_mechanism("Y")


def test_a_run_refuses_data_prepared_otherwise(tmp_path):
    """The images' resize/crop step is recorded with the run; other steps are refused by name,
    and a fingerprint mismatch says how the run's images were prepared."""
    from core.graph import ADMG, Node
    from core.runs.checkpoint import open_run

    graph = ADMG([Node("A", "binary")])
    crop = {"image": {"size": [64, 64], "fit": "crop", "resample": "bicubic", "jpeg_draft": True}}
    stretch = {"image": {**crop["image"], "size": [32, 32], "fit": "stretch"}}
    run = open_run(tmp_path / "run", graph, "f" * 64, 10, crop)
    assert run.preparation == crop
    run.update_node("A", status="training", steps_done=1)  # something trained: the data is now fixed
    with pytest.raises(CheckpointError, match=r"was trained on image 64x64 centre crop; this data has image 32x32 "
                                              r"stretch: import it with the same resize step"):
        load_run(tmp_path / "run", graph, "f" * 64, stretch)
    with pytest.raises(CheckpointError, match=r"this data has images as found \(no resize\)"):
        load_run(tmp_path / "run", graph, "e" * 64, {})
    with pytest.raises(CheckpointError, match=r"trained on different data \(fingerprint ffffffffffff, this data "
                                              r"eeeeeeeeeeee; its images: image 64x64 centre crop\)"):
        load_run(tmp_path / "run", graph, "e" * 64)  # the caller does not know the preparation
    load_run(tmp_path / "run", graph, "f" * 64, crop)  # the same data and step: fine
