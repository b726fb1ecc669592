"""Checks of trained models: the soundness of image counterfactuals and the read-outs they use, and
the model check (held-out likelihood against parent-blind baselines, a verdict per node: ``model_check``)."""

from core.check.readouts import Attribute, Reader, probe_reader, train_anticausal_reader
from core.check.realism import two_sample_accuracy
from core.check.soundness import Row, composition, format_table, reversibility, soundness

__all__ = [
    "Attribute",
    "Reader",
    "Row",
    "composition",
    "format_table",
    "probe_reader",
    "reversibility",
    "soundness",
    "train_anticausal_reader",
    "two_sample_accuracy",
]
