"""The Explore page's query (``workbench.explore.question``): validation, formulas, defaults."""

from __future__ import annotations

import numpy as np
import pytest

from core.errors import WorkbenchError
from core.graph import ADMG, Node
from workbench.explore.question import (
    DoQuery,
    ExploreQuery,
    counterfactual_formula,
    default_query,
    given_choices,
)

GRAPH = ADMG([Node("Z", "binary"), Node("X", "continuous"), Node("Y", "binary"), Node("I", "image", shape=(1, 4, 4))],
             directed=[("Z", "X"), ("X", "Y"), ("Y", "I")])


def test_default_query():
    g = ADMG([Node("A", "binary"), Node("B", "continuous"), Node("I", "image", shape=(1, 8, 8))],
             directed=[("A", "B"), ("B", "I")])
    assert default_query(g) == ("A", "I")
    g2 = ADMG([Node("Z", "binary"), Node("X", "binary"), Node("Y", "binary")], directed=[("Z", "X"), ("X", "Y")])
    assert default_query(g2) == ("X", "Y")


def test_formulas_read_the_values_of_the_query():
    q = ExploreQuery(GRAPH, "X", 0.123456, "Y", {"Z": 1})
    assert q.observational_formula() == "P(Y | X = 0.123, Z = 1)"
    assert q.interventional_formula() == "P(Y | do(X = 0.123), Z = 1)"
    assert q.conditions == {"X": 0.123456, "Z": 1} and q.do_query == DoQuery(GRAPH, "X", "Y", ("Z",))
    image = ExploreQuery(GRAPH, "I", np.zeros((1, 4, 4), np.uint8), "Y")
    assert image.interventional_formula() == "P(Y | do(I = an image))" and image.intervention == "do(I = an image)"


def test_a_query_is_checked_once_when_made():
    with pytest.raises(WorkbenchError, match="unknown node 'Q' in treatment"):
        ExploreQuery(GRAPH, "Q", 1, "Y")
    with pytest.raises(WorkbenchError, match="Y cannot be in both the treatment and the outcome"):
        DoQuery(GRAPH, "Y", "Y")
    with pytest.raises(WorkbenchError, match="X cannot be in both the treatment and the conditioning set"):
        ExploreQuery(GRAPH, "X", 0.5, "Y", {"X": 0.5})
    assert given_choices(GRAPH, "X", "Y") == ["Z"]  # images are not conditioned on


def test_counterfactual_formula_is_inline_math_with_escaped_text():
    assert counterfactual_formula("Face", "Male", "1") == r"$\mathrm{Face}_{\mathrm{Male} = \text{1}}(\text{unit})$"
    odd = counterfactual_formula("my_y", "x_1", "image #3 {50%}")
    assert odd == r"$\mathrm{my\_y}_{\mathrm{x\_1} = \text{image \#3 50\%}}(\text{unit})$"
    assert odd.count("$") == 2
