"""The effects API under the module path ``core.effects.estimates``, which the Effects and Explore
pages import from; :mod:`core.effects` exports the same names, each documented in the module that
defines it."""

from core.effects import *  # noqa: F403
from core.effects import __all__  # noqa: F401
