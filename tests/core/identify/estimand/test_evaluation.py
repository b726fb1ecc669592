"""Evaluation: every node kind against loops over the joint, scoping, averaging, plug-in estimates and undefined cells."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from core.errors import WorkbenchError
from core.identify import identify
from core.identify.estimand import EmpiricalJoint, Fraction, P, Product, Sum, p
from core.worlds.discrete import backdoor, frontdoor
from tests.core.identify.estimand.joints import brute, prob, random_joint


def test_p_term_is_the_conditional_at_every_cell() -> None:
    joint = random_joint(seed=1)
    got = p(["A", "C"], ["B"]).table(joint, ["A", "B", "C", "D"])
    expected = brute(joint, lambda a: prob(joint, {"A": a["A"], "B": a["B"], "C": a["C"]}) / prob(joint, {"B": a["B"]}))
    assert np.allclose(got, expected, atol=1e-14)


def test_sum_product_fraction_match_loops() -> None:
    joint = random_joint(seed=2)
    e = Fraction(Sum(("B",), Product((P(("A",), ("B",)), P(("B",), ("C",))))), P(("D",), ("C",)))

    def f(a):
        num = sum(
            prob(joint, {"A": a["A"], "B": b}) / prob(joint, {"B": b}) * prob(joint, {"B": b, "C": a["C"]}) / prob(joint, {"C": a["C"]})
            for b in range(3)
        )
        return num / (prob(joint, {"D": a["D"], "C": a["C"]}) / prob(joint, {"C": a["C"]}))

    assert np.allclose(e.table(joint, joint.names), brute(joint, f), atol=1e-12)
    cell = {"A": 1, "B": 2, "C": 0, "D": 1}
    assert abs(e.evaluate(joint, cell) - f(cell)) < 1e-12


def test_bound_variables_are_scoped() -> None:
    # sum_{A} P(A) * P(A | B): the inner A is bound, the outer A is free.
    joint = random_joint(seed=4)
    e = Product((Sum(("A",), P(("A",))), P(("A",), ("B",))))
    assert np.allclose(e.table(joint, ["A", "B"]), joint.conditional(["A"], ["B"]))
    assert e.evaluate(joint, {"A": 1, "B": 2}) == pytest.approx(joint.conditional(["A"], ["B"])[1, 2])


def test_unasked_free_variables_are_averaged_and_missing_ones_broadcast() -> None:
    joint = random_joint(seed=5)
    e = p(["A"], ["B"])
    # B is free but not asked for: weights P(B) give the marginal of A
    assert np.allclose(e.table(joint, ["A"]), joint.marginal(["A"]))
    assert np.allclose(e.table(joint, ["A", "B", "D"])[:, :, 0], e.table(joint, ["A", "B", "D"])[:, :, 1])


def test_evaluate_checks_levels_and_names() -> None:
    joint = random_joint()
    with pytest.raises(WorkbenchError, match="not a level of B"):
        p(["A"], ["B"]).evaluate(joint, {"A": 0, "B": 3})
    with pytest.raises(WorkbenchError, match="unknown variable 'Q'"):
        p(["Q"]).table(joint, ["Q"])


def test_plug_in_on_sampled_data_is_close_to_exact() -> None:
    world = frontdoor(seed=2)
    units = world.sample(200_000, seed=0)
    df = pd.DataFrame(units.values)
    e = identify(world.graph, "X", "Y")
    data = EmpiricalJoint.from_dataframe(df)
    truth = world.do_table(["X"], ["Y"])
    est = e.table(data, ["Y", "X"])
    assert np.abs(est - truth).max() < 0.01
    assert abs(e.estimate(df, {"Y": 1, "X": 0}) - truth[1, 0]) < 0.01
    # exact evaluation on the empirical joint == counting by hand for one P term
    hand = ((df.Y == 1) & (df.M == 0)).sum() / (df.M == 0).sum()
    assert p(["Y"], ["M"]).evaluate(data, {"Y": 1, "M": 0}) == pytest.approx(hand, abs=1e-12)


def test_empty_conditioning_event_is_named() -> None:
    world = backdoor(seed=0)
    df = pd.DataFrame(world.sample(5000, seed=1).values)
    df = df[~((df.Z == 1) & (df.X == 1))]  # nobody with Z=1 treated
    e = identify(world.graph, "X", "Y")
    with pytest.raises(WorkbenchError) as info:
        e.estimate(df, {"Y": 1, "X": 1})
    message = str(info.value)
    assert "P(Y | Z, X)" in message and "Z=1, X=1" in message and "\n" not in message
    # the X=0 arm is fine
    assert 0 < e.estimate(df, {"Y": 1, "X": 0}) < 1
