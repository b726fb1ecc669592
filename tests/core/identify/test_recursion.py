"""The ID recursion's lines, each on a graph that triggers it, with both algebras: the estimand builder
(core.identify.estimand_builder) and ID-GEN's plan compiler (core.idgen.compiler)."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from core.graph import ADMG
from core.identify import NotIdentifiable, Query
from core.identify.estimand import Estimand, fraction_of, p, product_of, sum_of
from core.identify.estimand_builder import CurrentDistribution, EstimandBuilder
from core.identify.recursion import (
    VERDICT,
    Call,
    GraphTables,
    Hedge,
    IDAlgebra,
    Names,
    line_1,
    line_2,
    line_3,
    line_4,
    line_5,
    line_6,
    line_7,
    run_id,
    solve,
    start,
)
from core.idgen.compiler import PlanCompiler, Stage
from core.idgen.plan import DataRef, Network
from tests.core.identify.catalogue import graph

FRONTDOOR = graph("X->M->Y; X<->Y")
NAPKIN = graph("W1->W2->X->Y; W1<->X; W1<->Y")
OBSERVED = DataRef("observed")


def names(*vs: str) -> Names:
    return frozenset(vs)


def estimand_call(g: ADMG, y: Names, x: Names) -> tuple[EstimandBuilder, Call[CurrentDistribution]]:
    tables = GraphTables.of(g)
    return EstimandBuilder(tables), start(tables, y, x, CurrentDistribution())


def plan_call(g: ADMG, y: Names, x: Names) -> tuple[PlanCompiler, Call[Stage]]:
    return PlanCompiler(g), start(GraphTables.of(g), y, x, Stage(OBSERVED, g, frozenset()))


def models(net: Network) -> dict[str, str]:
    """Each produced variable's model as ``target|inputs@data``."""
    return {v: spec.key for v, spec in net.models.items()}


class Recorder:
    """The real algebra ``inner``, noting which of its lines ran (lines 3 and 5 are graph-only)."""

    LINES = {"marginal": 1, "drop_non_ancestors": 2, "factorise": 4, "district": 6, "restrict_to_district": 7}

    def __init__(self, inner: IDAlgebra) -> None:
        self.inner = inner
        self.lines: list[int] = []

    def __getattr__(self, name: str):
        method = getattr(self.inner, name)

        def recorded(*args):
            self.lines.append(self.LINES[name])
            return method(*args)

        return recorded


# ---- line 1: no intervention left


def test_line_1_estimand_is_the_marginal_of_q() -> None:
    algebra, call = estimand_call(graph("Z->X->Y"), names("Y"), names())
    assert line_1(algebra, call) == p(["Y"])


def test_line_1_plan_models_every_vertex_the_outcome_needs() -> None:
    algebra, call = plan_call(graph("Z->X->Y; W"), names("Y"), names())
    net = line_1(algebra, call)
    # every vertex given its predecessors in topological order, then only what Y needs (W is summed out)
    assert models(net) == {"Z": "Z|@observed", "X": "X|Z@observed", "Y": "Y|Z,X@observed"}
    assert net.inputs == frozenset()


# ---- line 2: non-ancestors of y leave


def test_line_2_drops_non_ancestors_for_both_algebras() -> None:
    g = graph("X->Y; Y->W; Z")
    for algebra, call in (estimand_call(g, names("Y"), names("X")), plan_call(g, names("Y"), names("X"))):
        nxt = line_2(algebra, call, names("X", "Y"))
        assert (nxt.outcome, nxt.treatment, nxt.vertices) == (names("Y"), names("X"), names("X", "Y"))
    estimand_next = line_2(*estimand_call(g, names("Y"), names("X")), names("X", "Y"))
    assert estimand_next.state == CurrentDistribution()  # P(V) marginalised is P(An(y)): nothing to record
    plan_next = line_2(*plan_call(g, names("Y"), names("X")), names("X", "Y"))
    assert plan_next.state.graph.names == ("X", "Y") and plan_next.state.data == OBSERVED


def test_line_2_sums_summed_members_out_of_a_chain() -> None:
    # After a line 7, Q is a chain; dropping a member no other factor mentions removes its factor.
    g = graph("A->B; C")
    chain = ((v, p([v])) for v in "ABC")
    q = CurrentDistribution(tuple(chain), frozenset())
    call = Call(names("B"), names("A"), q, names("A", "B", "C"))
    nxt = line_2(EstimandBuilder(GraphTables.of(g)), call, names("A", "B"))
    assert nxt.state == CurrentDistribution((("A", p(["A"])), ("B", p(["B"]))), frozenset())


# ---- line 3: W joins the intervention


def test_line_3_adds_w_and_keeps_q() -> None:
    g = graph("Z->X->Y")
    for _algebra, call in (estimand_call(g, names("Y"), names("X")), plan_call(g, names("Y"), names("X"))):
        tables = GraphTables.of(g)
        w = (call.vertices - call.treatment) - tables.ancestors_with_incoming_cut(call.vertices, call.outcome,
                                                                                   call.treatment)
        assert w == names("Z")
        nxt = line_3(call, w)
        assert nxt.treatment == names("X", "Z") and nxt.state is call.state and nxt.vertices == call.vertices


# ---- line 4: several districts of G \ x


def test_line_4_estimand_is_the_front_door_formula() -> None:
    algebra, call = estimand_call(FRONTDOOR, names("Y"), names("X"))
    tables = GraphTables.of(FRONTDOOR)
    districts = tables.districts(call.vertices - call.treatment)
    assert districts == [names("M"), names("Y")]
    e = line_4(algebra, tables, call, districts)
    assert e.to_text() == "sum_{M} P(M | X) sum_{X'} P(X') P(Y | X', M)"


def test_line_4_plan_merges_one_network_per_district() -> None:
    algebra, call = plan_call(FRONTDOOR, names("Y"), names("X"))
    tables = GraphTables.of(FRONTDOOR)
    net = line_4(algebra, tables, call, tables.districts(call.vertices - call.treatment))
    assert list(net.models) == ["M", "Y"] and net.inputs == names("X")
    assert net.models["M"].key == "M|X@observed"
    # Y comes from P_{x, m}(y): a line-7 data set sampled from p(X) p(Y | X, M) with M as context
    y_spec = net.models["Y"]
    assert (y_spec.target, y_spec.inputs) == ("Y", ("M",))
    synthetic = y_spec.data
    assert synthetic.parent == OBSERVED and synthetic.context == ("M",)
    assert [g.key for g in synthetic.generators] == ["X|@observed", "Y|X,M@observed"]


# ---- line 5: the hedge


@pytest.mark.parametrize("make", [estimand_call, plan_call], ids=["estimand", "plan"])
def test_line_5_the_bow_is_a_hedge(make) -> None:
    bow = graph("X->Y; X<->Y")
    algebra, call = make(bow, names("Y"), names("X"))
    with pytest.raises(Hedge) as info:
        run_id(algebra, GraphTables.of(bow), call)
    assert (info.value.f, info.value.f_prime) == (names("X", "Y"), names("Y"))
    with pytest.raises(Hedge):
        line_5(call, names("Y"))
    with pytest.raises(NotIdentifiable, match=r"^P\(Y \| do\(X\)\) is not identifiable: X and Y share"):
        solve(algebra, GraphTables.of(bow), Query.of(bow, "X", "Y"), call)


# ---- line 6: S is a district of G


def test_line_6_estimand_is_the_product_of_conditionals() -> None:
    g = graph("Z->X->Y; Z->Y")
    algebra, call = estimand_call(g, names("Y"), names("X", "Z"))
    assert line_6(algebra, call, names("Y")) == p(["Y"], ["Z", "X"])


def test_line_6_plan_models_the_district_given_its_predecessors() -> None:
    g = graph("Z->X->Y; Z->Y")
    algebra, call = plan_call(g, names("Y"), names("X", "Z"))
    net = line_6(algebra, call, names("Y"))
    assert models(net) == {"Y": "Y|Z,X@observed"} and net.inputs == names("Z", "X")


# ---- line 7: S inside a larger district S'


def napkin_at_line_7(make):
    """The napkin after line 3 (W1, W2 join x): G \\ x = {Y} lies inside the district {W1, X, Y}."""
    algebra, call = make(NAPKIN, names("Y"), names("X", "W1", "W2"))
    tables = GraphTables.of(NAPKIN)
    assert tables.districts(call.vertices - call.treatment) == [names("Y")]
    assert tables.districts(call.vertices) == [names("W1", "X", "Y"), names("W2")]
    return algebra, call


def test_line_7_estimand_restricts_q_to_the_larger_district() -> None:
    algebra, call = napkin_at_line_7(estimand_call)
    nxt = line_7(algebra, call, names("W1", "X", "Y"))
    assert (nxt.outcome, nxt.treatment, nxt.vertices) == (names("Y"), names("X", "W1"), names("W1", "X", "Y"))
    assert nxt.state == CurrentDistribution(
        (("W1", p(["W1"])), ("X", p(["X"], ["W1", "W2"])), ("Y", p(["Y"], ["W1", "W2", "X"]))), frozenset()
    )


def test_line_7_plan_samples_a_data_set_with_the_rest_of_x_as_context() -> None:
    algebra, call = napkin_at_line_7(plan_call)
    nxt = line_7(algebra, call, names("W1", "X", "Y"))
    assert (nxt.outcome, nxt.treatment, nxt.vertices) == (names("Y"), names("X", "W1"), names("W1", "X", "Y"))
    stage = nxt.state
    assert stage.graph.names == ("W1", "X", "Y") and stage.context == names("W2")
    assert stage.data.parent == OBSERVED and stage.data.context == ("W2",)
    assert [g.key for g in stage.data.generators] == ["W1|@observed", "X|W1,W2@observed", "Y|W1,W2,X@observed"]
    assert stage.data.label == "synthetic P(W1, X, Y | do(W2))"


# ---- the walk


@pytest.mark.parametrize(
    ("spec", "y", "x", "lines"),
    [
        ("Z->X->Y", ["Y"], [], [1]),
        ("X->Y; Y->W", ["Y"], ["X"], [2, 6]),
        ("X->M->Y; X<->Y", ["Y"], ["X"], [2, 6, 7, 2, 1, 4]),
        ("W1->W2->X->Y; W1<->X; W1<->Y", ["Y"], ["X"], [7, 2, 6]),
    ],
)
def test_run_id_walks_the_same_lines_with_both_algebras(spec: str, y: Sequence[str], x: Sequence[str],
                                                        lines: list[int]) -> None:
    g = graph(spec)
    tables = GraphTables.of(g)
    walked = []
    for make in (estimand_call, plan_call):
        algebra, call = make(g, frozenset(y), frozenset(x))
        recorder = Recorder(algebra)
        result = run_id(recorder, tables, call)
        assert result == run_id(algebra, tables, call)  # recording changes nothing
        walked.append(recorder.lines)
    assert walked == [lines, lines]
    assert run_id(VERDICT, tables, start(tables, frozenset(y), frozenset(x), None)) is None


def test_the_estimand_of_the_walk_is_the_napkin_formula() -> None:
    algebra, call = estimand_call(NAPKIN, names("Y"), names("X"))
    e: Estimand = run_id(algebra, GraphTables.of(NAPKIN), call)
    expected = fraction_of(
        sum_of(["W1"], product_of([p(["X", "Y"], ["W1", "W2"]), p(["W1"])])),
        sum_of(["W1"], product_of([p(["X"], ["W1", "W2"]), p(["W1"])])),
    )
    assert e == expected
