"""Ground-truth worlds: SCMs with known mechanisms, images rendered procedurally."""

from core.data.units import Units
from core.worlds.base import World

__all__ = ["Units", "World"]
