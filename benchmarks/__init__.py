"""Benchmarks: scripts that print ours vs ground truth vs a naive baseline vs the anchor.

Run each from the repository root as a module: ``.venv/bin/python -m benchmarks.<name>``."""
