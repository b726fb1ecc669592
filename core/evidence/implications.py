"""The graph's claims checked on data: each implied independence tested, the family corrected.

Every pairwise statement u _||_ v | Z of :func:`core.graph.implications.implied_independencies`
(a ``basis`` statement v _||_ {u1, u2, ...} | Z is split into its pairs, which it implies) is tested
with :func:`core.evidence.citests.ci_test` on the columns of a data set, then the p-values of the
tested statements are adjusted together (Holm by default).  A statement whose adjusted p-value is
below ``alpha`` is one the data contradict.

Image columns: an image as u or v is tested through its first principal component (sound: if the
image is independent of v given Z, so is any function of it; a rejection is evidence against the
graph, an acceptance is weaker than for the image itself).  An image in Z is skipped with the
reason: conditioning on a summary is not conditioning on the image.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from core.data.columns import DataError
from core.data.dataset import Dataset
from core.errors import WorkbenchError
from core.evidence.citests import CIResult, Column, adjust_p_values, ci_test
from core.graph.admg import ADMG
from core.graph.implications import Independence, Kind, implied_independencies


@dataclass(frozen=True)
class CheckedClaim:
    """One implied independence u _||_ v | Z and what the data say (``result`` None when skipped)."""

    left: str
    right: str
    given: tuple[str, ...]
    result: CIResult | None = None
    adjusted_p: float | None = None
    rejected: bool = False
    skipped: str = ""  # why it was not tested
    summarised: tuple[str, ...] = ()  # image columns tested through their first principal component

    def __str__(self) -> str:
        return f"{self.left} _||_ {self.right}" + (f" | {', '.join(self.given)}" if self.given else "")


@dataclass(frozen=True)
class ClaimsOnData:
    """Every pairwise claim, tested or skipped, with the settings used."""

    claims: tuple[CheckedClaim, ...]
    alpha: float
    correction: str

    @property
    def contradicted(self) -> list[CheckedClaim]:
        return [c for c in self.claims if c.rejected]

    @property
    def tested(self) -> list[CheckedClaim]:
        return [c for c in self.claims if c.result is not None]


def pairwise(independencies: Sequence[Independence]) -> list[tuple[str, str, tuple[str, ...]]]:
    """The pairwise statements (u, v, Z) the list implies, each once."""
    out: dict[tuple[str, str, tuple[str, ...]], None] = {}
    for s in independencies:
        for a, b in s.pairs():
            out[(a, b, s.given)] = None
    return list(out)


def check_claims(
    graph: ADMG,
    data: Dataset,
    *,
    kind: Kind = "missing_edge",
    alpha: float = 0.05,
    correction: str = "holm",
    discrete_method: str = "g",
) -> ClaimsOnData:
    """Test each independence the graph implies on ``data`` (module docstring)."""
    if not 0 < alpha < 1:
        raise WorkbenchError(f"alpha must be between 0 and 1, got {alpha}")
    if data.n == 0:
        raise DataError("the data set has no rows")
    missing = [v for v in graph.names if v not in data]
    if missing:
        raise DataError(f"the data set has no column for graph node {missing[0]!r} (it has {', '.join(data.columns)})")
    adjust_p_values([], correction)  # an unknown correction fails before any test runs
    columns: dict[str, Column] = {}
    claims: list[CheckedClaim] = []
    for u, v, z in pairwise(implied_independencies(graph, kind)):
        images_given = [w for w in z if graph.node(w).type == "image"]
        if images_given:
            claims.append(CheckedClaim(u, v, z, skipped=f"conditions on the image {images_given[0]}: "
                                                         "a summary of an image does not stand in for it"))
            continue
        for w in (u, v, *z):
            if w not in columns:
                columns[w] = _column(data, graph, w)
        try:
            result = ci_test(columns[u], columns[v], [columns[w] for w in z], discrete_method=discrete_method)
        except WorkbenchError as e:
            claims.append(CheckedClaim(u, v, z, skipped=str(e)))
            continue
        images = tuple(w for w in (u, v) if graph.node(w).type == "image")
        claims.append(CheckedClaim(u, v, z, result, summarised=images))
    tested = [i for i, c in enumerate(claims) if c.result is not None]
    adjusted = adjust_p_values([claims[i].result.p_value for i in tested], correction)
    for i, p in zip(tested, adjusted, strict=True):
        c = claims[i]
        claims[i] = CheckedClaim(c.left, c.right, c.given, c.result, float(p), bool(p < alpha), c.skipped, c.summarised)
    return ClaimsOnData(tuple(claims), alpha, correction)


def _column(data: Dataset, graph: ADMG, name: str) -> Column:
    """A node's values for testing: discrete codes, real numbers, or an image's first principal component."""
    node = graph.node(name)
    values = data.column(name)
    if node.type == "image":
        return Column(first_principal_component(values))
    if node.is_discrete:
        return Column(values.astype(np.int64), int(node.levels))
    return Column(values.astype(np.float64))


def first_principal_component(images: np.ndarray) -> np.ndarray:
    """Each image's score on the first principal component of the flattened pixels."""
    flat = images.reshape(len(images), -1).astype(np.float64)
    centred = flat - flat.mean(axis=0)
    if not np.any(centred):
        return np.zeros(len(images))
    from sklearn.decomposition import PCA

    return PCA(n_components=1, svd_solver="randomized", random_state=0).fit_transform(centred)[:, 0]
