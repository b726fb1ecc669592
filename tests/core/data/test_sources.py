"""What the imported layouts share: column type inference, the resize/crop step (JPEG draft decoding
included), streaming (memory grows with the output), stopping, and atomic writes."""

from __future__ import annotations

import threading
import tracemalloc

import numpy as np
import pandas as pd
import pytest
from PIL import Image, ImageOps

from core.data import DataError, load_dataset
from core.data.imagefolder import read_imagefolder
from core.data.sources import (
    ImportStopped,
    Preparation,
    import_source,
    import_to,
    infer_column,
    node_name,
    ranges_of,
)


@pytest.mark.parametrize("values, kind, levels, codes, categories", [
    ([0, 1, 1], "binary", 2, [0, 1, 1], None),
    ([-1, 1, 1], "binary", 2, [0, 1, 1], None),
    ([True, False, True], "binary", 2, [1, 0, 1], None),
    (["true", "False", "true"], "binary", 2, [1, 0, 1], None),
    (["cat", "dog", "cat"], "binary", 2, [0, 1, 0], ["cat", "dog"]),
    (["b", "a", "c"], "categorical", 3, [1, 0, 2], ["a", "b", "c"]),
    ([0, 9, 3], "categorical", 10, [0, 9, 3], None),
    ([100, 300, 200], "categorical", 3, [0, 2, 1], ["100", "200", "300"]),
    (list(range(100, 140)), "continuous", None, None, None),
    ([0.5, 1.5, 2.0], "continuous", None, None, None),
    (["1.5", "2", "3"], "continuous", None, None, None),
])
def test_column_types_are_inferred(values, kind, levels, codes, categories):
    t = infer_column("c", pd.Series(values))
    assert t.node.type == kind and t.node.levels == levels and t.categories == categories
    if codes is not None:
        assert t.values.tolist() == codes


def test_type_overrides_and_their_refusals():
    assert infer_column("c", pd.Series([0, 1, 2]), "continuous").values.dtype == np.float64
    assert infer_column("c", pd.Series([0, 1, 0]), "categorical").node.levels == 2
    with pytest.raises(DataError, match=r"^f.csv row 1, column 'c': 1.5 is not a whole number, so not a binary code$"):
        infer_column("c", pd.Series([0, 1.5]), "binary", "f.csv")
    with pytest.raises(DataError, match=r"column 'c': 3 levels cannot be binary"):
        infer_column("c", pd.Series([0, 1, 2]), "binary")
    with pytest.raises(DataError, match=r"^row 1, column 'c': 'x' is not a number$"):
        infer_column("c", pd.Series(["1", "x"]), "continuous")
    with pytest.raises(DataError, match=r"^row 2, column 'c': missing value$"):
        infer_column("c", pd.Series([1.0, 2.0, None]))
    with pytest.raises(DataError, match=r"60 distinct text values are too many for a category"):
        infer_column("c", pd.Series([f"v{i}" for i in range(60)]))


def test_names_and_ranges():
    assert node_name("5_o_Clock_Shadow") == "_5_o_Clock_Shadow" and node_name("hair colour") == "hair_colour"
    assert ranges_of([False, True, True, False, True]) == [[1, 3], [4, 5]] and ranges_of([False]) == []
    assert Preparation.parse("64").size == (64, 64) and Preparation.parse("64x48", "stretch").text() == "64x48 stretch"
    with pytest.raises(DataError, match="image size must be N or HxW"):
        Preparation.parse("big")
    with pytest.raises(DataError, match="unknown fit 'pad'"):
        Preparation((8, 8), "pad")


def _photos(root, n: int, h: int = 218, w: int = 178, fmt: str = "JPEG") -> None:
    """``n`` photos of h x w: a blue frame round a red centre square (so a centre crop is visible)."""
    root.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    names = []
    for i in range(n):
        pixels = np.zeros((h, w, 3), np.uint8)
        pixels[..., 2] = 200
        c = min(h, w) // 2
        pixels[h // 2 - c // 2: h // 2 + c // 2, w // 2 - c // 2: w // 2 + c // 2] = (220, 30, 30)
        pixels = np.clip(pixels.astype(int) + rng.integers(-5, 6, pixels.shape), 0, 255).astype(np.uint8)
        name = f"{i}.jpg" if fmt == "JPEG" else f"{i}.png"
        Image.fromarray(pixels).save(root / name, fmt, quality=95)
        names.append(name)
    pd.DataFrame({"file_name": names, "k": np.arange(n) % 2}).to_csv(root / "metadata.csv", index=False)


def test_centre_crop_with_jpeg_draft_matches_a_full_decode(tmp_path):
    _photos(tmp_path / "p", 3)
    ds = import_source(read_imagefolder(tmp_path / "p"), Preparation((32, 32)))
    with Image.open(tmp_path / "p" / "0.jpg") as im:
        reference = np.asarray(ImageOps.fit(im.convert("RGB"), (32, 32), method=Image.Resampling.BICUBIC))
    got = ds.images["image"][0].transpose(1, 2, 0)
    assert np.abs(got.astype(int) - reference.astype(int)).mean() < 4  # draft (1/4 scale) vs full decode
    # the crop is square and centred: the middle is the red square, the left and right edges blue
    assert got[16, 16, 0] > 150 and got[16, 16, 2] < 80
    assert ds.images["image"].shape == (3, 3, 32, 32)


def test_memory_grows_with_the_output_not_the_input(tmp_path):
    n = 40
    _photos(tmp_path / "p", n)
    source = read_imagefolder(tmp_path / "p")
    import_source(source, Preparation((16, 16)))  # warm up: imports, header scan
    tracemalloc.start()
    try:
        ds = import_source(source, Preparation((16, 16)))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    full = n * 218 * 178 * 3  # every photo decoded at full size: 4.7 MB
    out = ds.images["image"].nbytes  # 31 kB
    assert peak < out + full / 10, (peak, out, full)


def test_stop_and_errors_leave_nothing_written(tmp_path):
    _photos(tmp_path / "p", 20, h=40, w=30, fmt="PNG")
    source = read_imagefolder(tmp_path / "p")
    stop = threading.Event()

    def progress(phase: str, done: int, total: int) -> None:
        if phase == "reading" and done > 1:
            stop.set()

    with pytest.raises(ImportStopped, match="import stopped; nothing was written"):
        import_to(source, tmp_path / "out", Preparation((8, 8)), progress=progress, stop=stop)
    (tmp_path / "p" / "7.png").write_bytes(b"\x89PNG broken")
    with pytest.raises(DataError, match=r"row 7, column 'file_name' \(7.png\)"):
        import_to(read_imagefolder(tmp_path / "p"), tmp_path / "out.npz", Preparation((8, 8)))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["p"]  # no folder, no .npz, no temporary files
    (tmp_path / "p" / "7.png").unlink()
    (tmp_path / "p" / "metadata.csv").write_text("file_name,k\n" + "".join(f"{i}.png,{i % 2}\n" for i in range(7)))
    ds = import_to(read_imagefolder(tmp_path / "p"), tmp_path / "out", Preparation((8, 8)))
    assert load_dataset(tmp_path / "out").fingerprint == ds.fingerprint
