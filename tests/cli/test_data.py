"""``python -m core data inspect|import`` and ``python -m core check --models``: layouts and types
printed, imports with a recorded resize step, one line and exit 2 for bad input."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from core.cli import main
from core.data import load_dataset
from core.data.celeba import write_celeba
from tests.core.data.test_celeba import small_faces
from tests.helpers import REPO


@pytest.fixture
def celeba(tmp_path):
    return write_celeba(small_faces(40, h=9, w=7), tmp_path / "celeba", image_format="png")


def test_inspect_prints_layout_rows_and_types(celeba, capsys):
    assert main(["data", "inspect", str(celeba)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "layout   celeba" and out[1] == "rows     40 (4 held out: a seeded random 10% of the rows)"
    assert out[3].split()[:2] == ["Smiling", "binary"] and out[5].split()[:3] == ["image", "image", "3x9x7"]
    assert main(["data", "inspect", str(celeba), "--json", "--type", "Young=skip"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["layout"] == "celeba" and report["rows"] == 40
    assert [(c["name"], c["type"]) for c in report["columns"]] == [("Smiling", "binary"), ("Young", "skip"),
                                                                   ("image", "image")]


def test_import_records_the_resize_step_and_inspect_reads_it_back(celeba, tmp_path, capsys):
    out = tmp_path / "prepared"
    assert main(["data", "import", str(celeba), "--out", str(out), "--size", "5", "--quiet"]) == 0
    assert "40 rows (4 held out) from the celeba layout" in capsys.readouterr().out
    ds = load_dataset(out)
    assert ds.images["image"].shape == (40, 3, 5, 5) and ds.preparation["image"]["fit"] == "crop"
    assert main(["data", "inspect", str(out)]) == 0
    text = capsys.readouterr().out
    assert "layout   dataset" in text and "note: images prepared: image 5x5 centre crop" in text


def test_bad_input_is_one_line_and_exit_2(celeba, tmp_path, capsys):
    attr = celeba / "list_attr_celeba.txt"
    attr.write_text(attr.read_text().replace(" 1\n", " 2\n", 1))
    assert main(["data", "inspect", str(celeba)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: list_attr_celeba.txt row ")
    assert err[0].endswith("is not -1 or 1")
    assert main(["data", "import", str(tmp_path / "nowhere"), "--out", str(tmp_path / "o")]) == 2
    assert capsys.readouterr().err.strip() == f"error: data not found: {str(tmp_path / 'nowhere')!r}"
    assert main(["data", "import", str(celeba), "--out", str(tmp_path / "o"), "--size", "big"]) == 2
    assert "image size must be N or HxW" in capsys.readouterr().err


def test_the_command_runs_as_a_process_and_mixed_sizes_need_a_resize(tmp_path):
    from tests.core.data.files import write_png

    root = write_celeba(small_faces(4, h=9, w=7), tmp_path / "c", image_format="png")
    write_png(root / "img_align_celeba" / "000002.png", np.zeros((5, 5, 3), np.uint8))
    proc = subprocess.run([sys.executable, "-m", "core", "data", "import", str(root), "--out", str(tmp_path / "o")],
                          cwd=REPO, capture_output=True, text=True, timeout=300,
                          env={**os.environ, "OMP_NUM_THREADS": "1"})
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: list_attr_celeba.txt row 1 (000002.png), column 'image name' "
                                                   "(img_align_celeba/000002.png): image is 5x5 but 3 others are 9x7")
    assert not (tmp_path / "o").exists()


def test_check_models_prints_and_saves_verdicts(tmp_path, capsys):
    from core.runs.train import TrainOptions, train
    from core.worlds.registry import sample_dataset

    ds, _ = sample_dataset("backdoor", 300, seed=0)
    ds.save(tmp_path / "data")
    train(ds.graph, ds, tmp_path / "run", options=TrainOptions(preset="quick", steps=20, device="cpu"), accelerator=None)
    args = ["check", "--run", str(tmp_path / "run"), "--data", str(tmp_path / "data"), "--models", "--steps", "20",
            "--eval-rows", "50"]
    assert main([*args, "--json"]) == 0
    captured = capsys.readouterr()
    report = json.loads(captured.out)
    assert list(report["nodes"]) == ["Z", "X", "Y"] and report["heldout"] is False
    assert "saved " in captured.err and (tmp_path / "run" / "model_check.json").is_file()
    assert main([*args, "--no-save", "--nodes", "Y"]) == 0
    assert "Model check on 50 in-sample (the data holds no rows out) rows" in capsys.readouterr().out
