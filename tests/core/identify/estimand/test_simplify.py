"""The smart constructors: each simplification rule, checked numerically too."""

from __future__ import annotations

import numpy as np

from core.identify.estimand import ONE, Fraction, P, Product, Sum, fraction_of, p, product_of, sum_of
from tests.core.identify.estimand.joints import brute, prob, random_joint


def test_p_of_nothing_is_one_and_given_overlap_is_dropped() -> None:
    assert p([], ["A"]) == ONE
    assert p(["A"], ["A", "B"]) == P(("A",), ("B",))


def test_sum_over_all_vars_of_a_conditional_is_one() -> None:
    assert sum_of(["A", "B"], p(["A", "B"], ["C"])) == ONE


def test_marginalising_a_joint_inside_a_sum() -> None:
    assert sum_of(["B"], p(["A", "B", "C"])) == p(["A", "C"])
    e = sum_of(["B"], product_of([p(["A", "B"], ["C"]), p(["C"])]))
    assert e == p(["A", "C"])  # chain rule then marginal


def test_constants_leave_the_sum_and_unused_sum_variables_count_levels() -> None:
    e = sum_of(["B"], product_of([p(["A"]), p(["B"], ["C"]), p(["D"], ["B"])]))
    assert isinstance(e, Product) and p(["A"]) in e.of
    joint = random_joint()
    # sum_{B} f with f free of B is |B| f: kept exact, not dropped
    kept = sum_of(["B"], p(["A"]))
    assert isinstance(kept, Sum)
    assert np.allclose(kept.table(joint, ["A"]), 3 * joint.marginal(["A"]))


def test_products_flatten_and_chain_rule_merges() -> None:
    e = product_of([p(["A"], ["B", "C"]), product_of([p(["B"], ["C"]), ONE]), p(["C"])])
    assert e == p(["B", "A", "C"])
    assert product_of([]) == ONE and product_of([p(["A"])]) == p(["A"])


def test_fractions_cancel_and_conditionalise() -> None:
    assert fraction_of(p(["A", "B"], ["C"]), p(["B"], ["C"])) == p(["A"], ["B", "C"])
    f = product_of([p(["A"]), p(["D"], ["A"])])
    assert fraction_of(product_of([f, p(["C"])]), product_of([f, p(["B"])])) == Fraction(p(["C"]), p(["B"]))
    assert fraction_of(p(["A"]), ONE) == p(["A"])
    nested = fraction_of(fraction_of(p(["A"]), p(["B"])), fraction_of(p(["C"]), p(["D"])))
    joint = random_joint()
    expected = brute(
        joint, lambda a: prob(joint, {"A": a["A"]}) * prob(joint, {"D": a["D"]}) / (prob(joint, {"B": a["B"]}) * prob(joint, {"C": a["C"]}))
    )
    assert np.allclose(nested.table(joint, joint.names), expected)


def test_simplified_and_raw_trees_agree_numerically() -> None:
    joint = random_joint(seed=3)
    raw = Sum(("B",), Product((P(("A",), ("B", "C")), P(("B",), ("C",)), P(("C",)))))
    simple = sum_of(["B"], product_of([p(["A"], ["B", "C"]), p(["B"], ["C"]), p(["C"])]))
    assert simple != raw
    assert np.allclose(raw.table(joint, ["A", "C"]), simple.table(joint, ["A", "C"]), atol=1e-14)
