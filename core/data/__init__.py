"""Data sets: a table of scalar columns plus image columns, aligned with a graph's typed nodes.

    units.py          Units (sampled values and their noise), do-values
    columns.py        DataError; a column's inferred type; checking values against a node's type
    images.py         image files; uint8 <-> [-1, 1] conversions
    stored.py         the meta record our dataset files hold
    folder.py, npz.py the dataset folder and the .npz: reader / writer pairs
    dataset.py        Dataset
    csv.py            a user's CSV with image paths (reader)
    image_folders.py  one sub-folder of images per class (reader)
    sources.py        imported layouts: type inference, resize/crop, streaming import
    imagefolder.py    the Hugging Face imagefolder layout (reader / writer)
    celeba.py         CelebA's attribute lists and image folder (reader / writer)
    morpho_idx.py     Morpho-MNIST's gzipped IDX files and morpho CSV (reader / writer)
    load.py           load_dataset: any of the above from a path; detect_layout, open_source
    upload.py         load_upload: an uploaded file, zips unpacked safely

The names below are imported on first use, so ``core.data.units`` (which the worlds and the neural
SCM import) does not pull in pandas.
"""

from __future__ import annotations

import importlib

# Public name -> the module that defines it.
_EXPORTS = {
    "DataError": "core.data.columns",
    "Preparation": "core.data.sources",
    "detect_layout": "core.data.load",
    "import_source": "core.data.sources",
    "import_to": "core.data.sources",
    "open_source": "core.data.load",
    "Dataset": "core.data.dataset",
    "DoValue": "core.data.units",
    "Units": "core.data.units",
    "images_to_uint8": "core.data.images",
    "images_to_unit_range": "core.data.images",
    "is_dataset_folder": "core.data.folder",
    "load_dataset": "core.data.load",
    "load_folder": "core.data.load",
    "load_npz": "core.data.load",
    "load_upload": "core.data.upload",
    "read_image": "core.data.images",
}

__all__ = list(_EXPORTS)


def __getattr__(name: str) -> object:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'core.data' has no attribute {name!r}")
    value = getattr(importlib.import_module(_EXPORTS[name]), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_EXPORTS))
