"""Ground-truth worlds: SCMs with known mechanisms, images rendered procedurally."""

from core.worlds.base import Units, World

__all__ = ["Units", "World"]
