"""Effects from any sampler, with bootstrap intervals: average, conditional, direct and indirect
effects, and attribute shifts.

Samplers (:mod:`core.effects.samplers`) adapt ground-truth worlds, trained SCMs and ID-GEN to one
interface; each estimate is a mean of outcome values (:mod:`core.effects.readouts`) over draws
(:mod:`core.effects.draws`) with a percentile bootstrap interval (:mod:`core.effects.bootstrap`):
average and conditional effects (:mod:`core.effects.average_effects`), mediation
(:mod:`core.effects.mediation`) and the attribute-shift table (:mod:`core.effects.attribute_shifts`).
Attributions of a predictor live in :mod:`core.effects.attributions` (it needs torch; importing
``core.effects`` does not).
"""

from core.effects.attribute_shifts import attribute_shift_table
from core.effects.average_effects import EffectReport, average_effect, conditional_effects, default_contrast
from core.effects.bootstrap import Estimate, bootstrap_means, exact, percentile_interval
from core.effects.checks import check_effect_names, check_identifiable, check_mediators
from core.effects.draws import interventional_draws, observational_outcomes
from core.effects.mediation import MediationReport, controlled_direct_effects, mediation_effects
from core.effects.readouts import Readout, outcome_values, probe_readout
from core.effects.samplers import (
    Columns,
    CounterfactualSampler,
    IDGenSampler,
    Sampler,
    SCMSampler,
    WorldSampler,
    as_sampler,
)

__all__ = [
    "Columns",
    "CounterfactualSampler",
    "EffectReport",
    "Estimate",
    "IDGenSampler",
    "MediationReport",
    "Readout",
    "SCMSampler",
    "Sampler",
    "WorldSampler",
    "as_sampler",
    "attribute_shift_table",
    "average_effect",
    "bootstrap_means",
    "check_effect_names",
    "check_identifiable",
    "check_mediators",
    "conditional_effects",
    "controlled_direct_effects",
    "default_contrast",
    "exact",
    "interventional_draws",
    "mediation_effects",
    "observational_outcomes",
    "outcome_values",
    "percentile_interval",
    "probe_readout",
]
