"""ID-GEN: sample any identifiable P(y | do(x), z) with conditional generative models.

One module per job: ``plan`` (what a query needs: data sets, model specs, the sampling network),
``compiler`` (the ID recursion's plan algebra and :func:`compile_query`), ``models`` (tables, draws
from the data, node mechanisms), ``sampler`` (:class:`IDGen`: train a plan, then sample it),
``baselines`` (the wrong answers a sampler must beat).
"""

from core.identify import idc_reduce
from core.idgen.baselines import ignore_confounders_plan, naive_conditional_plan
from core.idgen.compiler import PlanCompiler, compile_plan, compile_query
from core.idgen.models import (
    Columns,
    ConditionalModel,
    EmpiricalModel,
    MechanismModel,
    ModelFactory,
    PretrainedLookup,
    TabularModel,
    exact_model,
    mechanism_factory,
    tabular_factory,
)
from core.idgen.plan import DataRef, ModelSpec, Network, Plan, PlanStatus
from core.idgen.sampler import IDGen, fit_plan

__all__ = [
    "Columns",
    "ConditionalModel",
    "DataRef",
    "EmpiricalModel",
    "IDGen",
    "MechanismModel",
    "ModelFactory",
    "ModelSpec",
    "Network",
    "Plan",
    "PlanCompiler",
    "PlanStatus",
    "PretrainedLookup",
    "TabularModel",
    "compile_plan",
    "compile_query",
    "exact_model",
    "fit_plan",
    "idc_reduce",
    "ignore_confounders_plan",
    "mechanism_factory",
    "naive_conditional_plan",
    "tabular_factory",
]
