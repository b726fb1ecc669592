"""Estimand nodes are immutable and hashable, products compared as multisets."""

from __future__ import annotations

import pytest

from core.identify.estimand import Product, p


def test_trees_are_immutable_and_hashable() -> None:
    e = p(["A"], ["B"])
    with pytest.raises(AttributeError):
        e.vars = ("C",)  # type: ignore[misc]
    assert len({p(["A", "B"]), p(["B", "A"]), Product((p(["A"]), p(["B"]))), Product((p(["B"]), p(["A"])))}) == 2
