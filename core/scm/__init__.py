"""Neural structural causal models: trained node mechanisms composed into the three rungs, and
rejection sampling of ``P(V | do(x), Z = z)``.

Exports are loaded on first use: ``core.scm.neural`` needs torch, ``core.scm.conditional``'s
rejection helpers only numpy, and the pages import the latter without paying for the former.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from core.scm.conditional import TooFewMatches, keep_given, scm_conditional
    from core.scm.neural import NeuralSCM

_EXPORTS = {
    "NeuralSCM": "core.scm.neural",
    "TooFewMatches": "core.scm.conditional",
    "keep_given": "core.scm.conditional",
    "scm_conditional": "core.scm.conditional",
}


def __getattr__(name: str) -> object:
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["NeuralSCM", "TooFewMatches", "keep_given", "scm_conditional"]
