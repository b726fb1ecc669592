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


def test_zips_of_the_imported_layouts_are_recognised(tmp_path):
    """A zipped imagefolder (metadata.jsonl, images in the same folder) or CelebA folder, wrapped in
    one top-level folder as archives usually are, reads like the folder itself."""
    from core.data.celeba import write_celeba
    from core.data.imagefolder import write_imagefolder
    from tests.core.data.test_celeba import small_faces

    faces = small_faces(6, h=5, w=4)
    write_imagefolder(faces, tmp_path / "photos", metadata="jsonl")
    up = load_upload("photos.zip", zip_bytes(folder_as_zip_entries(tmp_path / "photos", "photos")))
    np.testing.assert_array_equal(up.images["image"], faces.images["image"])
    assert up.split is not None  # the layout's held-out rows come along
    flat = {f"flat/{i}.png": (tmp_path / "photos" / "image" / f"{i}.png").read_bytes() for i in range(6)}
    flat["flat/metadata.jsonl"] = "".join(f'{{"file_name": "{i}.png", "k": {i % 2}}}\n' for i in range(6)).encode()
    up = load_upload("flat.zip", zip_bytes(flat))  # images beside metadata.jsonl: no sub-folder to tell
    np.testing.assert_array_equal(up.images["image"], faces.images["image"])
    write_celeba(faces, tmp_path / "celeba", image_format="png")
    up = load_upload("celeba.zip", zip_bytes(folder_as_zip_entries(tmp_path / "celeba", "celeba")))
    np.testing.assert_array_equal(up.column("Smiling"), faces.column("Smiling"))
