"""Uploads: an .npz, a CSV, or a zip of a dataset folder, of a CSV with its images, or of class
folders; a broken or hostile archive is refused with one line."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from core.data import DataError, load_upload
from tests.core.data.files import folder_as_zip_entries, zip_bytes
from tests.helpers import tiny_dataset


def test_uploads(tmp_path):
    ds = tiny_dataset(12)
    out = ds.save(tmp_path / "ds")
    files = folder_as_zip_entries(out, "ds")
    assert load_upload("ds.zip", zip_bytes(files)).fingerprint == ds.fingerprint
    # A CSV with its images (no meta.json), zipped at the archive root.
    csv = pd.read_csv(out / "data.csv").to_csv(index=False).encode()
    plain = {"table.csv": csv, **{k[3:]: v for k, v in files.items() if "/images/" in k}}
    up = load_upload("plain.zip", zip_bytes(plain), ds.graph)
    np.testing.assert_array_equal(up.images["X"], ds.images["X"])
    assert load_upload("d.npz", ds.to_npz_bytes()).fingerprint == ds.fingerprint
    with pytest.raises(DataError, match="not a readable zip"):
        load_upload("bad.zip", b"garbage")
    with pytest.raises(DataError, match="points outside the archive"):
        load_upload("evil.zip", zip_bytes({"../../escape.txt": b"x"}))
    with pytest.raises(DataError, match="cannot read 'x.txt'"):
        load_upload("x.txt", b"hello")
    with pytest.raises(DataError, match="not a Causal Workbench dataset|not a readable .npz"):
        load_upload("d.npz", b"PK garbage")


def test_zip_bombs_are_refused(tmp_path, monkeypatch):
    from core.data import upload

    monkeypatch.setattr(upload, "MAX_UNZIPPED_BYTES", 1000)
    with pytest.raises(DataError, match="unpacks to more than"):
        load_upload("big.zip", zip_bytes({"a.bin": bytes(600), "b.bin": bytes(600)}))
