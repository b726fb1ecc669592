"""Data sets: a table of scalar columns plus image columns, aligned with a graph's typed nodes."""

from core.data.dataset import (
    DataError,
    Dataset,
    association_matrix,
    confounded_pairs,
    feature_table,
    gallery_items,
    is_dataset_folder,
    load_dataset,
    load_upload,
    read_image,
)

__all__ = [
    "DataError",
    "Dataset",
    "association_matrix",
    "confounded_pairs",
    "feature_table",
    "gallery_items",
    "is_dataset_folder",
    "load_dataset",
    "load_upload",
    "read_image",
]
