"""The dataset folder: exact round trips, fingerprints checked on load, atomic writes that never
leave debris or overwrite what is not a dataset, one writer at a time, and a fuzz of folder contents."""

from __future__ import annotations

import json
import os
import re
import shutil
import stat
import subprocess
import sys
import threading
import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from core.data import DataError, folder, load_dataset
from core.errors import InUseError, WorkbenchError
from core.graph import ADMG
from tests.helpers import REPO, tiny_dataset


def test_folder_round_trip_is_exact(tmp_path):
    ds = tiny_dataset(40)
    out = ds.save(tmp_path / "ds")
    assert sorted(os.listdir(out)) == ["data.csv", "images", "meta.json"]
    assert (out / "images" / "X" / "39.png").is_file()
    csv = pd.read_csv(out / "data.csv")
    assert list(csv.columns) == ["C", "X", "Y", "B"] and csv["X"][5] == "images/X/5.png"
    meta = json.loads((out / "meta.json").read_text())
    assert meta["n"] == 40 and meta["fingerprint"] == ds.fingerprint and meta["world"]["name"] == "tiny"
    assert ADMG.from_json(meta["graph"]) == ds.graph
    back = load_dataset(out)
    assert back.fingerprint == ds.fingerprint
    np.testing.assert_array_equal(back.images["X"], ds.images["X"])
    np.testing.assert_array_equal(back.table["Y"].to_numpy(), ds.table["Y"].to_numpy())  # exact floats
    assert back.graph == ds.graph and back.world == ds.world
    # No temporary folders left beside the target.
    assert os.listdir(tmp_path) == ["ds"]


def test_tampered_folder_is_detected(tmp_path):
    out = tiny_dataset(10).save(tmp_path / "ds")
    csv = pd.read_csv(out / "data.csv")
    csv.loc[3, "C"] = (csv.loc[3, "C"] + 1) % 3
    csv.to_csv(out / "data.csv", index=False)
    with pytest.raises(DataError, match="fingerprint mismatch"):
        load_dataset(out)


def test_refuses_to_overwrite_a_foreign_folder(tmp_path):
    foreign = tmp_path / "mine"
    foreign.mkdir()
    (foreign / "thesis.tex").write_text("precious")
    with pytest.raises(DataError, match="not a dataset"):
        tiny_dataset(3).save(foreign)
    assert (foreign / "thesis.tex").read_text() == "precious"


def test_overwrites_a_dataset_and_an_empty_folder(tmp_path):
    (tmp_path / "empty").mkdir()
    tiny_dataset(3).save(tmp_path / "empty")
    out = tiny_dataset(5, seed=1).save(tmp_path / "ds")
    ds2 = tiny_dataset(7, seed=2)
    ds2.save(out)
    assert load_dataset(out).fingerprint == ds2.fingerprint
    assert sorted(os.listdir(tmp_path)) == ["ds", "empty"]

def test_failed_write_leaves_old_data_and_no_debris(tmp_path, monkeypatch):
    old = tiny_dataset(5, seed=1)
    out = old.save(tmp_path / "ds")

    def boom(stored, root):
        (root / "data.csv").write_text("half")
        raise OSError("disk full")

    monkeypatch.setattr(folder, "write_files", boom)
    with pytest.raises(OSError):
        tiny_dataset(7, seed=2).save(out)
    assert os.listdir(tmp_path) == ["ds"]
    assert load_dataset(out).fingerprint == old.fingerprint

def test_is_dataset_folder(tmp_path):
    out = tiny_dataset(3).save(tmp_path / "ds")
    assert folder.is_dataset_folder(out)
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "meta.json").write_text("{not json")
    assert not folder.is_dataset_folder(tmp_path / "other") and not folder.is_dataset_folder(tmp_path / "none")


@pytest.mark.slow
def test_png_folder_of_10k_rows_loads_quickly(tmp_path):
    import time

    ds = tiny_dataset(10_000, size=16)
    t0 = time.perf_counter()
    out = ds.save(tmp_path / "big")
    t1 = time.perf_counter()
    back = load_dataset(out)
    t2 = time.perf_counter()
    print(f"10k rows of 3x16x16: save {t1 - t0:.2f} s, load {t2 - t1:.2f} s")
    assert back.fingerprint == ds.fingerprint
    assert t2 - t1 < 30


# ---- one writer at a time, no orphans, one mode policy


def test_a_second_writer_is_refused_while_the_first_writes(tmp_path):
    out = tiny_dataset(3).save(tmp_path / "ds")
    before = load_dataset(out).fingerprint
    with folder.dataset_lock(out):  # another writer (this thread stands in for it) holds the folder
        errors = []
        t = threading.Thread(target=lambda: _save_catching(tiny_dataset(4, seed=1), out, errors))
        t.start()
        t.join()
    assert len(errors) == 1 and re.search(rf"dataset folder '.*ds' is in use by process {os.getpid()} since", errors[0])
    assert load_dataset(out).fingerprint == before
    assert sorted(os.listdir(tmp_path)) == ["ds"], "no lock file or temporary folder is left behind"


def _save_catching(ds, out, errors: list[str]) -> None:
    try:
        ds.save(out)
    except InUseError as e:
        errors.append(str(e))


def test_a_killed_writer_s_temporary_folder_is_removed_by_the_next_writer(tmp_path):
    code = ("import os, sys, tempfile; from pathlib import Path; from core.locks import temp_prefix; "
            "p = Path(tempfile.mkdtemp(prefix=temp_prefix('ds'), suffix='.tmp', dir=sys.argv[1])); "
            "(p / 'data.csv').write_text('half a data set'); os._exit(0)")
    subprocess.run([sys.executable, "-c", code, str(tmp_path)], cwd=REPO, check=True)  # a writer that died mid-write
    (orphan,) = [p for p in tmp_path.iterdir() if p.name.startswith(".ds.")]
    tiny_dataset(3).save(tmp_path / "ds")
    assert not orphan.exists() and sorted(os.listdir(tmp_path)) == ["ds"]


def test_dataset_folders_get_the_mode_run_folders_get(tmp_path):
    from core.runs.checkpoint import open_run

    out = tiny_dataset(3).save(tmp_path / "ds")
    with open_run(tmp_path / "run", tiny_dataset(3).graph):
        pass
    umask_mode = 0o777 & ~_umask()
    assert stat.S_IMODE(os.stat(out).st_mode) == stat.S_IMODE(os.stat(tmp_path / "run").st_mode) == umask_mode
    assert stat.S_IMODE(os.stat(out / "images").st_mode) == umask_mode


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def test_writing_under_a_file_is_one_line(tmp_path):
    (tmp_path / "afile").write_text("x")
    with pytest.raises(DataError, match=r"cannot write dataset folder '.*afile/sub': '.*afile' is a file"):
        tiny_dataset(3).save(tmp_path / "afile" / "sub")


def test_meta_json_is_bounded(tmp_path):
    out = tiny_dataset(3).save(tmp_path / "ds")
    (out / "meta.json").write_text("[" * 100_000 + "]" * 100_000)
    with pytest.raises(DataError, match="more than 64 deep"):
        load_dataset(out)
    with open(out / "meta.json", "wb") as fh:
        fh.truncate(17 * 2**20)
    with pytest.raises(DataError, match="more than the limit of 16,777,216"):
        load_dataset(out)


# ---- fuzz: whatever a dataset folder holds, it loads or is refused in one line, and is left as it was

cells = st.one_of(st.integers(-3, 300), st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=8),
                  st.sampled_from(["images/X/0.png", "images/X/9.png", "../x.png", "", "nan"]))
meta_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(10**13), 10**13) | st.text(max_size=8),
    lambda c: st.lists(c, max_size=3) | st.dictionaries(st.sampled_from(["name", "type", "levels", "shape", "x"]), c,
                                                        max_size=3), max_leaves=8)
META_KEYS = ["format", "version", "n", "columns", "graph", "world", "categories", "fingerprint"]


@settings(max_examples=60, deadline=None)
@example(meta_changes={}, cell_changes=[(0, 1, "\x00")], image_bytes=None)  # a null byte in an image path
@example(meta_changes={}, cell_changes=[(0, 0, "1e300")], image_bytes=None)  # a level no integer can hold
@given(meta_changes=st.dictionaries(st.sampled_from(META_KEYS), meta_values, max_size=2),
       cell_changes=st.lists(st.tuples(st.integers(0, 3), st.integers(0, 3), cells), max_size=3),
       image_bytes=st.none() | st.binary(max_size=64))
def test_fuzz_dataset_folders_load_or_give_one_line(meta_changes, cell_changes, image_bytes, fuzz_master):
    root = fuzz_master.parent / "example"  # a fresh copy for each example
    shutil.rmtree(root, ignore_errors=True)
    shutil.copytree(fuzz_master, root)
    meta = json.loads((root / "meta.json").read_text())
    meta.update(meta_changes)
    (root / "meta.json").write_text(json.dumps(meta))
    table = pd.read_csv(root / "data.csv", dtype=object)
    for row, col, value in cell_changes:
        table.iat[row, col] = value
    table.to_csv(root / "data.csv", index=False)
    if image_bytes is not None:
        (root / "images" / "X" / "1.png").write_bytes(image_bytes)
    before = {p: p.read_bytes() for p in root.rglob("*") if p.is_file()}
    try:
        with warnings.catch_warnings():  # a warning would be a second line on the command line's stderr
            warnings.simplefilter("error", RuntimeWarning)
            warnings.simplefilter("error", UserWarning)
            load_dataset(root, tiny_dataset(4).graph)
    except WorkbenchError as e:
        assert "\n" not in str(e) and len(str(e)) < 400, str(e)
    assert {p: p.read_bytes() for p in root.rglob("*") if p.is_file()} == before


@pytest.fixture(scope="module")
def fuzz_master(tmp_path_factory):
    """A 4-row dataset folder that each fuzz example copies."""
    return tiny_dataset(4).save(tmp_path_factory.mktemp("fuzz") / "master")
