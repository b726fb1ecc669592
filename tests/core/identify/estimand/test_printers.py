"""Text and LaTeX of estimands."""

from __future__ import annotations

from core.identify import identify
from core.identify.estimand import ONE, Fraction, P, Sum, latex_name
from core.worlds.discrete import frontdoor, napkin


def test_text_and_latex() -> None:
    e = identify(napkin().graph, "X", "Y")
    assert e.to_text() == "[sum_{W1} P(W1) P(X, Y | W1, W2)] / [sum_{W1} P(W1) P(X | W1, W2)]"
    latex = e.to_latex()
    assert latex.startswith(r"\frac{\sum_{W_{1}} P\left(W_{1}\right)")
    assert latex.count("{") == latex.count("}")
    fd = identify(frontdoor().graph, "X", "Y")
    assert fd.to_text() == "sum_{M} P(M | X) sum_{X'} P(X') P(Y | X', M)"
    assert "X'" in fd.to_latex()
    assert ONE.to_text() == "1" and ONE.to_latex() == "1"


def test_a_sum_over_a_fraction_is_bracketed() -> None:
    e = Sum(("W",), Fraction(P(("A", "W")), P(("W",), ("B",))))
    assert e.to_text() == "sum_{W} (P(A, W) / P(W | B))"
    assert e.to_latex() == r"\sum_{W} \frac{P\left(A, W\right)}{P\left(W \mid B\right)}"


def test_latex_names() -> None:
    assert latex_name("W1") == "W_{1}"
    assert latex_name("X") == "X"
    assert latex_name("age_group") == r"\mathrm{age\_group}"
    assert latex_name("Xs12") == r"\mathrm{Xs}_{12}"
