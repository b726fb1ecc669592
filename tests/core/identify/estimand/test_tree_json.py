"""The TREE JSON contract: round trips, shapes, and errors that name the bad node."""

from __future__ import annotations

import json

import pytest

from core.errors import WorkbenchError
from core.identify import identify
from core.identify.estimand import ONE, Fraction, One, P, Product, Sum, from_json
from core.worlds.discrete import backdoor, frontdoor, napkin


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
