"""core.graph: validation, reachability, districts, surgery, latent projection, m-separation.

Ground truth for m-separation is a brute-force enumeration of every path of the mixed graph with the
collider rule, written here independently of the moralisation algorithm in core.graph.
"""

from __future__ import annotations

import itertools
import random

import pytest

from core.graph import ADMG, GraphError, Node


def g_(spec: str, nodes: str | None = None) -> ADMG:
    """Build a graph from dagitty-like text, e.g. ``"A -> B; A <-> C"``; all nodes binary."""
    return ADMG.from_dagitty("dag { " + (nodes or "") + " ; " + spec + " }")


NAPKIN = "W1 -> W2 -> X -> Y; W1 <-> X; W1 <-> Y"


# ---- validation


@pytest.mark.parametrize(
    "build, message",
    [
        (lambda: ADMG.from_edges("ABC", [("A", "B"), ("B", "C"), ("C", "A")]), "directed cycle "),
        (lambda: ADMG.from_edges("AB", [("A", "A")]), "self-loop A -> A"),
        (lambda: ADMG.from_edges("AB", [("A", "Q")]), "edge A -> Q names unknown node 'Q'"),
        (lambda: ADMG.from_edges("AB", bidirected=[("Q", "A")]), "edge Q <-> A names unknown node 'Q'"),
        (lambda: ADMG([Node("A"), Node("A", "continuous")]), "duplicate node name 'A'"),
        (lambda: ADMG.from_edges("AB", bidirected=[("A", "B"), ("B", "A")]), "bidirected edge B <-> A is listed twice"),
        (lambda: ADMG.from_edges("AB", bidirected=[("A", "A")]), "bidirected edge A <-> A points at itself"),
        (lambda: Node("A", "text"), "node A: bad type 'text'"),
        (lambda: Node("A", "categorical"), "node A: a categorical node needs levels >= 2, got None"),
        (lambda: Node("A", "categorical", levels=1), "needs levels >= 2, got 1"),
        (lambda: Node("A", "categorical", levels=True), "needs levels >= 2, got True"),
        (lambda: Node("A", "binary", levels=3), "a binary node has 2 levels, not 3"),
        (lambda: Node("A", "continuous", levels=3), "a continuous node has no levels"),
        (lambda: Node("A", "image"), "node A: an image node needs shape"),
        (lambda: Node("A", "image", shape=(2, 8, 8)), "an image node needs shape"),
        (lambda: Node("A", "image", shape=(3, 0, 8)), "an image node needs shape"),
        (lambda: Node("A", "image", shape=(3, 8)), "an image node needs shape"),
        (lambda: Node("A", "binary", shape=(3, 8, 8)), "only image nodes have a shape"),
        (lambda: Node("1A"), "bad node name '1A'"),
        (lambda: Node("A B"), "bad node name 'A B'"),
        (lambda: ADMG(["A"]), "expected a Node"),
    ],
)
def test_validation_errors_are_clear_single_lines(build, message):
    with pytest.raises(GraphError) as info:
        build()
    text = str(info.value)
    assert message in text
    assert "\n" not in text


def test_cycle_message_names_a_real_cycle_even_with_a_tail():
    # R -> A is a tail into the cycle A -> B -> C -> A; the message must show only the cycle.
    with pytest.raises(GraphError, match=r"^directed cycle (A -> B -> C -> A|B -> C -> A -> B|C -> A -> B -> C)$"):
        ADMG.from_edges("RABC", [("R", "A"), ("A", "B"), ("B", "C"), ("C", "A")])


def test_duplicate_directed_edge_is_harmless_and_nodes_keep_types():
    g = ADMG.from_edges("AB", [("A", "B"), ("A", "B")], types={"B": "continuous"})
    assert g.directed == (("A", "B"),)
    assert g.node("A").levels == 2 and g.node("B").type == "continuous" and g.node("B").levels is None
    assert Node("I", "image", shape=[3, 4, 5]).shape == (3, 4, 5)


def test_accessors_and_unknown_nodes():
    g = g_(NAPKIN)
    assert g.names == ("W1", "W2", "X", "Y") and len(g) == 4 and "X" in g and "Q" not in g
    assert list(g) == list(g.names)
    assert g.parents("X") == {"W2"} and g.children("W1") == {"W2"}
    assert g.siblings("W1") == {"X", "Y"} and g.siblings("W2") == frozenset()
    assert g.has_directed("W2", "X") and not g.has_directed("X", "W2")
    assert g.has_bidirected("Y", "W1") and not g.has_bidirected("X", "Y")
    assert not g.is_markovian and g_("A -> B").is_markovian
    with pytest.raises(GraphError, match="unknown node 'Q'"):
        g.node("Q")
    with pytest.raises(GraphError, match=r"unknown node 'Q' in treatment \(graph has W1, W2, X, Y\)"):
        g.check_nodes(["X", "Q"], "treatment")
    assert g.check_nodes(["X", "Y"]) == {"X", "Y"}


# ---- orders, reachability, districts


def test_topological_order_is_valid_and_stable():
    g = ADMG.from_edges(["C", "B", "A", "D"], [("A", "D"), ("C", "D"), ("B", "A")])
    order = g.topological_order()
    assert order == ("C", "B", "A", "D")  # earliest-inserted ready node first
    pos = {v: i for i, v in enumerate(order)}
    assert all(pos[a] < pos[b] for a, b in g.directed)
    assert g.sort({"D", "A", "C"}) == ["C", "A", "D"]


def test_topological_order_on_random_dags():
    rng = random.Random(0)
    for _ in range(50):
        g = random_admg(rng, rng.randint(1, 9))
        pos = {v: i for i, v in enumerate(g.topological_order())}
        assert sorted(pos) == sorted(g.names)
        assert all(pos[a] < pos[b] for a, b in g.directed)


def test_ancestors_and_descendants_are_inclusive():
    g = g_(NAPKIN)
    assert g.ancestors(["X"]) == {"W1", "W2", "X"}
    assert g.ancestors(["W1"]) == {"W1"}
    assert g.descendants(["W2"]) == {"W2", "X", "Y"}
    assert g.descendants(["Y"]) == {"Y"}
    assert g.ancestors(["X", "Y"]) == set(g.names)
    # Bidirected edges are not causal paths.
    assert g.ancestors(["Y"]) == {"W1", "W2", "X", "Y"} and g_("A <-> B").ancestors(["B"]) == {"B"}


def test_districts():
    g = g_(NAPKIN)
    assert g.districts() == [frozenset({"W1", "X", "Y"}), frozenset({"W2"})]
    assert g.district_of("Y") == {"W1", "X", "Y"}
    # Chains of bidirected edges make one district; directed edges do not join districts.
    h = g_("A <-> B; B <-> C; C -> D; D <-> E; F")
    assert h.districts() == [frozenset("ABC"), frozenset("DE"), frozenset("F")]
    # A DAG: every node is its own district.
    assert g_("A -> B -> C").districts() == [frozenset("A"), frozenset("B"), frozenset("C")]


def test_induced_subgraph_keeps_isolated_nodes_and_types():
    g = ADMG([Node("A"), Node("B", "continuous"), Node("C", "categorical", 3), Node("D")],
             [("A", "B"), ("B", "C"), ("A", "D")], [("A", "C"), ("B", "D")])
    s = g.subgraph(["C", "A", "D"])
    assert s.names == ("A", "C", "D")  # original order, not argument order
    assert s.directed == (("A", "D"),) and s.bidirected == (("A", "C"),)
    assert s.node("C").levels == 3
    iso = g.subgraph(["B", "C"]).subgraph(["C"])
    assert iso.names == ("C",) and not iso.directed


def test_do_cuts_incoming_directed_and_bidirected_edges_and_keeps_nodes():
    g = g_(NAPKIN)
    d = g.do(["X"])
    assert d.names == g.names  # every node stays, even when isolated
    assert set(d.directed) == {("W1", "W2"), ("X", "Y")}
    assert d.bidirected == (("W1", "Y"),)
    both = g.do(["X", "W2"])
    assert set(both.directed) == {("X", "Y")}
    assert both.parents("W2") == frozenset() and both.siblings("W2") == frozenset()
    isolated = g_("A -> B; A <-> B").do(["B"])
    assert isolated.names == ("A", "B") and not isolated.directed and not isolated.bidirected
    assert g.do([]) == g


def test_remove_outgoing_cuts_only_directed_edges_out():
    g = g_(NAPKIN)
    r = g.remove_outgoing(["X", "W1"])
    assert set(r.directed) == {("W2", "X")} and set(r.bidirected) == set(g.bidirected)


def test_editing_helpers():
    g = g_("A -> B")
    g2 = g.with_node(Node("C", "continuous"))
    assert g2.names == ("A", "B", "C")
    g3 = g2.with_node(Node("B", "categorical", 4))
    assert g3.names == ("A", "B", "C") and g3.node("B").levels == 4 and g3.has_directed("A", "B")
    g4 = g3.with_edges(directed=[("B", "C")], bidirected=[("A", "C")])
    assert g4.has_directed("B", "C") and g4.has_bidirected("C", "A")
    with pytest.raises(GraphError, match="directed cycle"):
        g4.with_edges(directed=[("C", "A")])
    with pytest.raises(GraphError, match="listed twice"):
        g4.with_edges(bidirected=[("C", "A")])
    assert g4.without_edges(directed=[("B", "C")], bidirected=[("C", "A")]) == g3
    assert g4.without_nodes(["B"]).names == ("A", "C")


def test_equality_hash_and_same_structure():
    a = g_("A -> B; A <-> C")
    b = ADMG.from_edges("ABC", [("A", "B")], [("C", "A")])
    assert a == b and hash(a) == hash(b)
    c = ADMG([Node("A"), Node("B", "continuous"), Node("C")], [("A", "B")], [("A", "C")])
    assert a != c and a.same_structure(c)
    assert a != g_("A -> B; B <-> C")
    reordered = ADMG.from_edges("CBA", [("A", "B")], [("A", "C")])
    assert reordered.same_structure(a) and reordered != a  # node order is part of identity


# ---- latent projection


def test_latent_common_cause_becomes_bidirected():
    g = g_("U -> X; U -> Y; X -> Y")
    p = g.latent_projection(["U"])
    assert p.names == ("X", "Y")
    assert p.directed == (("X", "Y"),) and p.has_bidirected("X", "Y")


def test_chain_of_latents():
    # U1 -> U2 -> X and U2 -> Y: a common latent ancestor through a latent chain.
    p = g_("U1 -> U2 -> X; U2 -> Y").latent_projection(["U1", "U2"])
    assert p.has_bidirected("X", "Y") and not p.directed
    # U1 -> X and U1 -> U2 -> Y: the chain ends at two different observed nodes.
    p2 = g_("U1 -> X; U1 -> U2 -> Y").latent_projection(["U1", "U2"])
    assert p2.has_bidirected("X", "Y")
    # Three children of one latent: a bidirected clique.
    p3 = g_("U -> A; U -> B; U -> C").latent_projection(["U"])
    assert {frozenset(e) for e in p3.bidirected} == {frozenset("AB"), frozenset("AC"), frozenset("BC")}


def test_latent_mediators_give_directed_edges():
    p = g_("A -> M1 -> M2 -> B; A -> C").latent_projection(["M1", "M2"])
    assert set(p.directed) == {("A", "B"), ("A", "C")} and not p.bidirected
    # A latent mediator that is also a common cause: A -> L -> B and L -> C gives A -> B, A -> C, B <-> C.
    q = g_("A -> L; L -> B; L -> C").latent_projection(["L"])
    assert set(q.directed) == {("A", "B"), ("A", "C")} and q.has_bidirected("B", "C")


def test_latent_collider_and_single_child_add_nothing():
    assert not g_("A -> L; B -> L").latent_projection(["L"]).directed
    assert not g_("A -> L; B -> L").latent_projection(["L"]).bidirected
    p = g_("U -> A; A -> B").latent_projection(["U"])
    assert p.directed == (("A", "B"),) and not p.bidirected


def test_existing_bidirected_edges_pass_through_latents():
    # A <-> L with L -> B: A and B share a hidden cause.
    p = g_("A <-> L; L -> B").latent_projection(["L"])
    assert p.has_bidirected("A", "B")
    assert g_("A <-> B; A -> C").latent_projection(["C"]).bidirected == (("A", "B"),)


def test_latent_projection_of_unknown_node_fails():
    with pytest.raises(GraphError, match="unknown node 'Q'"):
        g_("A -> B").latent_projection(["Q"])


def test_latent_projection_preserves_m_separation_and_ancestry():
    """Projection keeps every m-separation among observed nodes (Verma's theorem) and ancestry."""
    rng = random.Random(7)
    for _ in range(40):
        g = random_admg(rng, rng.randint(3, 7), p_bi=0.15)
        hidden = [v for v in g.names if rng.random() < 0.35][: len(g) - 2]
        p = g.latent_projection(hidden)
        obs = list(p.names)
        for v in obs:
            assert p.ancestors([v]) == g.ancestors([v]) - set(hidden)
        for x, y in itertools.combinations(obs, 2):
            rest = [v for v in obs if v not in (x, y)]
            for k in range(len(rest) + 1):
                for z in itertools.combinations(rest, k):
                    assert p.m_separated([x], [y], z) == g.m_separated([x], [y], z), (g, hidden, x, y, z)


# ---- m-separation


@pytest.mark.parametrize(
    "spec, x, y, z, separated",
    [
        ("A -> B -> C", "A", "C", "", False),
        ("A -> B -> C", "A", "C", "B", True),
        ("A <- B -> C", "A", "C", "", False),
        ("A <- B -> C", "A", "C", "B", True),
        ("A -> B <- C", "A", "C", "", True),
        ("A -> B <- C", "A", "C", "B", False),
        ("A -> B <- C; B -> D", "A", "C", "D", False),  # conditioning on a collider's descendant
        ("A <-> B", "A", "B", "", False),
        ("A <-> B; C", "A", "B", "C", False),  # nothing blocks a hidden common cause
        ("A <-> B <-> C", "A", "C", "", True),  # B is a collider
        ("A <-> B <-> C", "A", "C", "B", False),
        ("A -> B <-> C", "A", "C", "", True),
        ("A -> B <-> C", "A", "C", "B", False),
        # M-bias: conditioning on M opens X <- A -> M <- B -> Y.
        ("A -> X; A -> M; B -> M; B -> Y; X -> Y", "X", "Y", "", False),
        ("A -> X; A -> M; B -> M; B -> Y", "X", "Y", "", True),
        ("A -> X; A -> M; B -> M; B -> Y", "X", "Y", "M", False),
        ("A -> X; A -> M; B -> M; B -> Y", "X", "Y", "M A", True),
        # Napkin: W2 is independent of Y given X and W1?  W2 <- W1 <-> Y: W1 blocks it (non-collider).
        (NAPKIN, "W2", "Y", "X W1", False),  # X is a collider on W2 -> X <-> W1 <-> Y
        (NAPKIN, "W2", "Y", "W1", False),
        (NAPKIN, "W1", "X", "W2", False),
    ],
)
def test_m_separation_known_cases(spec, x, y, z, separated):
    g = g_(spec)
    assert g.m_separated([x], [y], z.split()) is separated
    assert brute_m_separated(g, {x}, {y}, set(z.split())) is separated


def test_m_separation_of_overlapping_sets_is_false():
    g = g_("A -> B")
    assert g.m_separated(["A"], ["A", "B"]) is False


def test_m_separation_agrees_with_path_enumeration_on_random_admgs():
    rng = random.Random(1)
    checked = 0
    for _ in range(60):
        g = random_admg(rng, rng.randint(2, 6), p_bi=0.25)
        names = list(g.names)
        for _ in range(8):
            x, y = rng.sample(names, 2)
            z = {v for v in names if v not in (x, y) and rng.random() < 0.4}
            assert g.m_separated([x], [y], z) == brute_m_separated(g, {x}, {y}, z), (g, x, y, z)
            checked += 1
    assert checked == 480


# ---- helpers


def random_admg(rng: random.Random, n: int, p_dir: float = 0.35, p_bi: float = 0.2) -> ADMG:
    """A random ADMG: edges only forward in a random order (so acyclic), bidirected anywhere."""
    names = [f"V{i}" for i in range(n)]
    order = names[:]
    rng.shuffle(order)
    directed = [(a, b) for i, a in enumerate(order) for b in order[i + 1:] if rng.random() < p_dir]
    bidirected = [(a, b) for a, b in itertools.combinations(names, 2) if rng.random() < p_bi]
    return ADMG.from_edges(names, directed, bidirected)


def brute_m_separated(g: ADMG, xs: set[str], ys: set[str], zs: set[str]) -> bool:
    """Enumerate every simple path and apply the definition: a path is open when each collider on
    it is an ancestor of Z (or in Z) and each non-collider is outside Z."""
    an_z = g.ancestors(zs) if zs else frozenset()
    # edges as (neighbour, arrowhead at me?, arrowhead at neighbour?)
    adj: dict[str, list[tuple[str, bool, bool]]] = {v: [] for v in g.names}
    for a, b in g.directed:
        adj[a].append((b, False, True))
        adj[b].append((a, True, False))
    for a, b in g.bidirected:
        adj[a].append((b, True, True))
        adj[b].append((a, True, True))

    def open_from(v: str, head_into_v: bool, visited: set[str]) -> bool:
        for w, head_at_v, head_at_w in adj[v]:
            if w in visited:
                continue
            if v not in xs:  # v is an inner node: check the collider rule at v
                collider = head_into_v and head_at_v
                if collider and v not in an_z:
                    continue
                if not collider and v in zs:
                    continue
            if w in ys:
                return True
            if open_from(w, head_at_w, visited | {w}):
                return True
        return False

    return not any(open_from(x, False, {x}) for x in xs)
