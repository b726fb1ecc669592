"""Where the shipped assets live: example graphs, probes, the built-in workspaces."""

from pathlib import Path

ASSETS = Path(__file__).resolve().parent.parent / "assets"
