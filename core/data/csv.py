"""A user's CSV: one row per unit, image columns as paths relative to the CSV's folder (read only).

Image columns are the graph's image nodes and, among the columns the graph does not name (all of
them without a graph), those whose every value is a .png / .jpg path; images keep their size (no
resizing), grey ones are 1 channel and colour ones 3.
Other columns are typed by the graph or inferred from their values (they must be numbers).
"""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd

from core.data.columns import DataError, first_bad
from core.data.dataset import Dataset
from core.data.folder import read_table
from core.data.images import IMAGE_SUFFIXES, read_image_column
from core.graph import ADMG


def read_csv(path: str | os.PathLike, graph: ADMG | None = None) -> Dataset:
    """The dataset a CSV describes (see the module docstring), checked against ``graph`` if given."""
    path = Path(path)
    table = read_table(path)
    if graph is not None:
        for node in graph.nodes:
            if node.name not in table.columns:
                have = ", ".join(map(str, table.columns)) or "no columns"
                raise DataError(f"missing column for graph node {node.name!r} ({path.name} has {have})")
        image_cols = [nd.name for nd in graph.nodes if nd.type == "image"]
        image_cols += [c for c in table.columns if c not in graph and _looks_like_image_column(table[c])]
    else:
        image_cols = [c for c in table.columns if _looks_like_image_column(table[c])]
    bad_names = [c for c in table.columns if not isinstance(c, str) or not c.isidentifier()]
    if bad_names:
        raise DataError(f"{path.name}: column name {bad_names[0]!r} is not a valid node name (letters, digits, _)")
    images = {}
    for c in image_cols:
        shape = graph.node(c).shape if graph is not None and c in graph else None
        images[c] = read_image_column(path.parent, table[c].tolist(), c, shape)
    scalars = table.drop(columns=image_cols)
    nodes = {v: graph.node(v) for v in scalars.columns if graph is not None and v in graph}
    for c in scalars.columns:
        if c not in nodes and not pd.api.types.is_numeric_dtype(scalars[c]):
            # name the first value that is not a number (a ragged line shifts text into a number column)
            bad = scalars[c].notna() & pd.to_numeric(scalars[c], errors="coerce").isna()
            i = first_bad(bad.to_numpy())
            raise DataError(f"column {c!r} of {path.name} is not numeric: row {i} (line {i + 2}) holds "
                            f"{scalars[c].iloc[i]!r}; scalar columns must be numbers")
        if c not in nodes and scalars[c].isna().any():
            i = first_bad(scalars[c].isna().to_numpy())
            raise DataError(f"row {i}, column {c!r}: missing value")
    ds = Dataset(scalars, images, nodes)
    return ds.with_graph(graph) if graph is not None else ds


def _looks_like_image_column(values: pd.Series) -> bool:
    present = values.dropna()
    if not len(present) or not (values.dtype == object or pd.api.types.is_string_dtype(values)):
        return False
    return bool(present.astype(str).str.lower().str.endswith(IMAGE_SUFFIXES).all())
