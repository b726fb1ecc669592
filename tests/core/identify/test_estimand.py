"""The estimand tree: simplification identities, printers, JSON, exact and plug-in evaluation."""

from __future__ import annotations

import itertools
import json

import numpy as np
import pandas as pd
import pytest

from core.errors import WorkbenchError
from core.identify import identify
from core.identify.estimand import (
    ONE,
    EmpiricalJoint,
    Fraction,
    JointTable,
    One,
    P,
    Product,
    Sum,
    fraction_of,
    from_json,
    latex_name,
    p,
    product_of,
    sum_of,
)
from core.worlds.discrete import backdoor, frontdoor, napkin


def random_joint(names=("A", "B", "C", "D"), cards=(2, 3, 2, 2), seed=0) -> JointTable:
    rng = np.random.default_rng(seed)
    probs = rng.dirichlet(np.ones(int(np.prod(cards)))).reshape(cards)
    return JointTable(names, cards, probs)


def brute(joint: JointTable, f) -> np.ndarray:
    """Evaluate a python function of an assignment dict over all cells of the joint, by loops."""
    out = np.zeros(joint.cards)
    for cell in itertools.product(*(range(c) for c in joint.cards)):
        out[cell] = f(dict(zip(joint.names, cell, strict=True)))
    return out


def prob(joint: JointTable, event: dict) -> float:
    total = 0.0
    for cell in itertools.product(*(range(c) for c in joint.cards)):
        a = dict(zip(joint.names, cell, strict=True))
        if all(a[k] == v for k, v in event.items()):
            total += joint.probs[cell]
    return total


# ---- simplification (each rule checked numerically too)


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


# ---- evaluation


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


def test_joint_table_validation() -> None:
    with pytest.raises(WorkbenchError, match="not a probability distribution"):
        JointTable(["A"], [2], np.array([0.5, 0.6]))
    with pytest.raises(WorkbenchError, match="shape"):
        JointTable(["A"], [3], np.array([0.5, 0.5]))


# ---- plug-in on data


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


def test_dataframe_validation() -> None:
    with pytest.raises(WorkbenchError, match="not discrete"):
        EmpiricalJoint.from_dataframe(pd.DataFrame({"A": [0.5, 1.0]}))
    with pytest.raises(WorkbenchError, match="negative level"):
        EmpiricalJoint.from_dataframe(pd.DataFrame({"A": [0, -1]}))
    with pytest.raises(WorkbenchError, match="only 2 levels"):
        EmpiricalJoint.from_dataframe(pd.DataFrame({"A": [0, 2]}), cards={"A": 2})
    with pytest.raises(WorkbenchError, match="no column 'B'"):
        p(["B"]).estimate(pd.DataFrame({"A": [0, 1]}), {"B": 0})


# ---- printing and JSON


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


@pytest.mark.parametrize("world", [backdoor, frontdoor, napkin])
def test_json_round_trip(world) -> None:
    e = identify(world().graph, "X", "Y")
    tree = json.loads(json.dumps(e.to_json()))
    back = from_json(tree)
    assert back == e and back.to_json() == tree and back.to_text() == e.to_text()
    assert from_json(e.dumps()) == e


def test_json_contract_shapes() -> None:
    e = Fraction(Sum(("B",), Product((P(("A",), ("B",)), ONE))), P(("C",)))
    assert e.to_json() == {
        "op": "frac",
        "num": {
            "op": "sum",
            "over": ["B"],
            "of": {"op": "prod", "of": [{"op": "P", "vars": ["A"], "given": ["B"]}, {"op": "one"}]},
        },
        "den": {"op": "P", "vars": ["C"], "given": []},
    }
    assert from_json({"op": "one"}) == One()


@pytest.mark.parametrize(
    ("tree", "message"),
    [
        ({"op": "Q"}, "unknown op 'Q'"),
        ({"op": "P", "vars": []}, "at least one variable"),
        ({"op": "P", "vars": ["A"], "given": ["A"]}, "both as vars and given"),
        ({"op": "sum", "over": ["A"]}, "sum without 'of'"),
        ({"op": "prod", "of": [{"op": "P", "vars": "A"}]}, "estimand.of[0]: 'vars' must be a list"),
        ({"op": "frac", "num": {"op": "one"}}, "frac needs"),
        ([1, 2], "expected an object"),
    ],
)
def test_from_json_errors_name_the_node(tree, message) -> None:
    with pytest.raises(WorkbenchError, match=message.replace("[", r"\[").replace("]", r"\]").replace("'", "'")):
        from_json(tree)


def test_trees_are_immutable_and_hashable() -> None:
    e = p(["A"], ["B"])
    with pytest.raises(AttributeError):
        e.vars = ("C",)  # type: ignore[misc]
    assert len({p(["A", "B"]), p(["B", "A"]), Product((p(["A"]), p(["B"]))), Product((p(["B"]), p(["A"])))}) == 2
