"""The world registry and ``python -m core world``: schema checks, lazy imports, and the CLI run
as a real subprocess (exit 0 with a dataset folder; exit 2 with one line for bad input)."""

from __future__ import annotations

import inspect
import os
import subprocess
import sys

import numpy as np
import pytest

from core.data import Dataset, load_dataset
from core.errors import WorkbenchError
from core.worlds import registry as R
from tests.helpers import REPO, register_tiny

ROOT = REPO


def cli(*args: str, tiny: bool = False) -> subprocess.CompletedProcess:
    """Run ``python -m core world ARGS``; with ``tiny`` the test world is registered first."""
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    if tiny:
        code = (
            "import sys; from tests.helpers import register_tiny; register_tiny(); from core.cli import main; "
            "raise SystemExit(main(sys.argv[1:]))"
        )
        cmd = [sys.executable, "-c", code, "world", *args]
    else:
        cmd = [sys.executable, "-m", "core", "world", *args]
    return subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)


def one_line_error(proc: subprocess.CompletedProcess, fragment: str) -> None:
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), proc.stderr
    assert fragment in lines[0], lines[0]


# ---------------------------------------------------------------------------------------------
# Registry


def test_registry_lists_the_built_in_worlds():
    assert {"napkin_digits", "morpho_digits", "faces", "backdoor", "frontdoor", "napkin"} <= set(R.WORLDS)
    for spec in R.WORLDS.values():
        assert spec.help and ":" in spec.target
        for p in spec.params:
            assert p.help and p.coerce(p.default, spec.name) == p.default
            assert set(p.to_json()) >= {"name", "type", "default", "range", "help"}


@pytest.mark.parametrize("name", sorted(R.WORLDS))
def test_schema_matches_the_factory(name):
    spec = R.WORLDS[name]
    try:
        factory = spec.factory()
    except WorkbenchError:
        pytest.skip(f"{spec.target} is not written yet")
    sig = inspect.signature(factory)
    for p in spec.params:
        assert p.name in sig.parameters, f"{name}: the factory takes no {p.name!r}"
        assert sig.parameters[p.name].default == p.default, f"{name}: default of {p.name} differs"


def test_listing_worlds_imports_no_world_module():
    code = (
        "import sys; from core.worlds import registry; from core.cli.world import _world_list; _world_list(); "
        "print(sorted(m for m in sys.modules if m.startswith('core.worlds.') or m == 'torch'))"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "['core.worlds.base', 'core.worlds.registry']"


def test_get_world_checks_parameters():
    with pytest.raises(WorkbenchError, match=r"unknown world 'nope' \(worlds: napkin_digits"):
        R.get_world("nope")
    with pytest.raises(WorkbenchError, match=r"the backdoor world has no parameter 'size' \(parameters: seed\)"):
        R.get_world("backdoor", size=16)
    with pytest.raises(WorkbenchError, match="parameter seed must be int, got 'x'"):
        R.get_world("backdoor", seed="x")
    with pytest.raises(WorkbenchError, match=r"parameter seed=-1 is outside 0..2147483647"):
        R.get_world("backdoor", seed=-1)
    with pytest.raises(WorkbenchError, match="parameter size=20 is not one of 16, 28, 32"):
        R.get_world("napkin_digits", size="20")
    p = R.Param("flag", bool, False, "a flag")
    assert p.coerce("yes", "w") is True and p.coerce("0", "w") is False
    assert R.Param("k", int, 1, "k").coerce("3", "w") == 3
    with pytest.raises(WorkbenchError, match="must be int, got 2.5"):
        R.Param("k", int, 1, "k").coerce(2.5, "w")


def test_get_world_builds_real_discrete_worlds():
    w = R.get_world("frontdoor", seed="2")
    assert set(w.graph.names) == {"X", "M", "Y"} and w.graph.bidirected


def test_check_n():
    assert R.check_n("10") == 10
    for bad in (0, -3, "abc", 2.5, R.MAX_UNITS + 1):
        with pytest.raises(WorkbenchError, match="n must be"):
            R.check_n(bad)


def test_sample_dataset_records_the_world():
    register_tiny()
    ds, world = R.sample_dataset("tiny", 30, seed=4, params={"confounding": "0.5"})
    assert isinstance(ds, Dataset) and ds.n == 30 and world.confounding == 0.5
    assert ds.world == {"name": "tiny", "params": {"size": 8, "confounding": 0.5}, "seed": 4}
    assert ds.graph == world.graph
    again, _ = R.sample_dataset("tiny", 30, seed=4, params={"confounding": 0.5})
    assert again.fingerprint == ds.fingerprint


# ---------------------------------------------------------------------------------------------
# The command line


def test_cli_writes_a_discrete_world(tmp_path):
    from core.worlds.discrete import napkin

    proc = cli("napkin", "--n", "300", "--out", str(tmp_path / "nap"), "--seed", "5", "--param", "seed=2")
    assert proc.returncode == 0, proc.stderr
    ds = load_dataset(tmp_path / "nap")
    world = napkin(seed=2)
    assert ds.n == 300 and ds.graph == world.graph
    assert ds.world == {"name": "napkin", "params": {"seed": 2}, "seed": 5}
    # The same world and seed, sampled in this process: the very same units.
    expected = world.sample(300, seed=5)
    for v in world.graph.names:
        np.testing.assert_array_equal(ds.column(v), expected[v])


def test_cli_tiny_image_world_folder_and_npz(tmp_path):
    proc = cli("tiny", "--n", "20", "--out", str(tmp_path / "t"), "--size", "6", "--param", "confounding=0", tiny=True)
    assert proc.returncode == 0, proc.stderr
    assert "wrote 20 units of tiny" in proc.stdout
    ds = load_dataset(tmp_path / "t")
    assert ds.images["X"].shape == (20, 3, 6, 6) and (tmp_path / "t" / "images" / "X" / "19.png").is_file()
    proc = cli("tiny", "--n", "20", "--out", str(tmp_path / "t.npz"), "--size", "6", "--param", "confounding=0", tiny=True)
    assert proc.returncode == 0, proc.stderr
    assert load_dataset(tmp_path / "t.npz").fingerprint == ds.fingerprint
    # Re-running over our own dataset folder replaces it (in-process: the same dispatcher).
    from core.cli import main

    register_tiny()
    assert main(["world", "tiny", "--n", "5", "--out", str(tmp_path / "t")]) == 0
    assert load_dataset(tmp_path / "t").n == 5


def test_cli_bad_input_exits_2_with_one_line(tmp_path):
    one_line_error(cli("nowhere", "--n", "5", "--out", str(tmp_path / "a")), "unknown world 'nowhere'")
    one_line_error(cli("backdoor", "--n", "0", "--out", str(tmp_path / "a")), "n must be between 1")
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "notes.txt").write_text("keep me")
    one_line_error(cli("backdoor", "--n", "5", "--out", str(mine)), "not a dataset")
    assert os.listdir(mine) == ["notes.txt"]
    assert not (tmp_path / "a").exists()


@pytest.mark.parametrize(
    "args, fragment",
    [
        (["--n", "lots"], "n must be a whole number"),
        (["--n", "5", "--size", "16"], "no parameter 'size'"),
        (["--n", "5", "--param", "seed"], "KEY=VALUE"),
        (["--n", "5", "--param", "seed=-2"], "outside 0..2147483647"),
        (["--n", "5", "--seed", "x"], "--seed must be an integer"),
    ],
)
def test_cli_more_bad_input_in_process(tmp_path, capsys, args, fragment):
    """The same dispatcher as the subprocess runs, called in-process (faster)."""
    from core.cli import main

    assert main(["world", "backdoor", "--out", str(tmp_path / "a"), *args]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and fragment in err[0], err
    assert not (tmp_path / "a").exists()


def test_cli_help_lists_the_worlds():
    proc = subprocess.run(
        [sys.executable, "-m", "core", "world", "--help"], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 0
    for name in ("napkin_digits", "morpho_digits", "faces", "backdoor", "frontdoor", "napkin"):
        assert f"  {name} " in proc.stdout
    assert "confounding=1.0 (0..1)" in proc.stdout and "--param KEY=VALUE" in proc.stdout
