"""ID-GEN for the pages (``workbench.explore.idgen_fit``): which plan models cost no training."""

from __future__ import annotations

from core.graph import ADMG
from core.idgen import EmpiricalModel, MechanismModel, ModelSpec, TabularModel
from core.worlds.napkin_digits import NapkinDigits
from workbench.explore.idgen_fit import (
    IDGEN_STEPS,
    idgen_factory,
    idgen_settings,
    instant_label,
    instant_spec,
)


def test_instant_specs_are_tables_and_input_less_draws_from_the_data():
    """What the Explore page counts as "exact (instant)" is what idgen_factory fits at no cost."""
    graph = NapkinDigits(size=16).graph
    factory = idgen_factory({})
    ref = object()
    for target, inputs, instant, kind in [("W1", (), True, EmpiricalModel), ("W2", ("W1",), False, MechanismModel),
                                          ("X", ("W1", "W2"), False, MechanismModel)]:
        assert instant_spec(ModelSpec(target, inputs, ref), graph) is instant, target
        assert isinstance(factory(graph.node(target), [graph.node(u) for u in inputs]), kind), target
    assert instant_label(ModelSpec("W1", (), ref), graph) == "draws from the data"
    discrete = ADMG.from_dagitty("dag { A -> B }")
    assert instant_spec(ModelSpec("B", ("A",), ref), discrete)
    assert instant_label(ModelSpec("B", ("A",), ref), discrete) == "exact table"
    assert instant_label(ModelSpec("A", (), ref), discrete) == "exact table"
    assert isinstance(idgen_factory({})(discrete.node("B"), [discrete.node("A")]), TabularModel)


def test_settings_keep_only_what_idgen_depends_on():
    saved = {"nodes": {"X": {"kind": "vae", "preset": "full"}}, "idgen_steps": 3, "batch_size": 64}
    assert idgen_settings(saved) == {"nodes": {"X": {"kind": "vae"}}, "idgen_steps": 3}
    assert idgen_settings({}) == {"nodes": {}, "idgen_steps": IDGEN_STEPS}
