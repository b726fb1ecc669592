"""Example graphs the page-logic tests share, loaded as the Graph page loads them."""

from __future__ import annotations

from core.graph import ADMG
from workbench.graph_files import load_example


def napkin() -> ADMG:
    """The napkin graph: W1 -> W2 -> X -> Y with W1 <-> X and W1 <-> Y (X the exposure, Y the outcome)."""
    return load_example("napkin")
