"""Benchmarks: scripts that measure our samplers against ground truth, a naive baseline and the published result.

Run each from the repository root as a module: ``.venv/bin/python -m benchmarks.<name>``."""
