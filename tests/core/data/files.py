"""Files the data tests write: images, CSVs and zip archives."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
from PIL import Image


def write_png(path: Path, pixels: np.ndarray, fmt: str = "PNG") -> None:
    """``pixels`` (H, W) or (H, W, 3) uint8 as an image file at ``path`` (folders made as needed)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(pixels).save(path, fmt)


def write_csv(folder: Path, name: str, columns: dict) -> Path:
    """``columns`` as the CSV file ``folder/name``."""
    pd.DataFrame(columns).to_csv(folder / name, index=False)
    return folder / name


def zip_bytes(files: dict[str, bytes]) -> bytes:
    """A zip archive holding ``files`` (archive path -> content)."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for name, content in files.items():
            z.writestr(name, content)
    return buf.getvalue()


def folder_as_zip_entries(folder: Path, prefix: str) -> dict[str, bytes]:
    """Every file under ``folder`` as zip entries under ``prefix/``."""
    return {f"{prefix}/{p.relative_to(folder).as_posix()}": p.read_bytes() for p in folder.rglob("*") if p.is_file()}
