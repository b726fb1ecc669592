"""Neural structural causal models: trained node mechanisms composed into the three rungs."""

from core.scm.neural import NeuralSCM

__all__ = ["NeuralSCM"]
