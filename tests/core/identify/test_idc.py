"""IDC's rule-2 step: which conditioning variables move into the intervention."""

from __future__ import annotations

import pytest

from core.identify import idc_reduce
from tests.core.identify.catalogue import graph


def fs(*names: str) -> frozenset[str]:
    return frozenset(names)


@pytest.mark.parametrize(
    ("spec", "y", "x", "z", "moved", "kept"),
    [
        # the whole back-door set: P(y | do(x), z) = P(y | do(x, z))
        ("Z->X->Y; Z->Y", fs("Y"), fs("X"), fs("Z"), fs("X", "Z"), fs()),
        # a descendant of y stays conditioning (Y -> W is not cut by underlining W)
        ("X->Y->W", fs("Y"), fs("X"), fs("W"), fs("X"), fs("W")),
        # confounded with y: Z <-> Y keeps Z and Y connected
        ("X->Y; Z->Y; Z<->Y", fs("Y"), fs("X"), fs("Z"), fs("X"), fs("Z")),
        # the mediator of the front door moves (with X's incoming edges and M -> Y cut, Y is alone)
        ("X->M->Y; X<->Y", fs("Y"), fs("X"), fs("M"), fs("X", "M"), fs()),
    ],
)
def test_rule_2_moves_what_it_may(spec, y, x, z, moved, kept) -> None:
    assert idc_reduce(graph(spec), y, x, z) == (moved, kept)


def test_every_movable_z_moves_and_what_stays_fails_rule_2() -> None:
    g = graph("Z1->X->Y; Z2->X; Z3->Y; Z3<->Y; Y->W")
    x, z = idc_reduce(g, fs("Y"), fs("X"), fs("Z1", "Z2", "Z3", "W"))
    assert (x, z) == (fs("X", "Z1", "Z2"), fs("Z3", "W"))
    for zi in z:
        assert not g.do(x).remove_outgoing([zi]).m_separated(fs("Y"), {zi}, x | (z - {zi}))
