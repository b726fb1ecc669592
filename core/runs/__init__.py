"""Runs: training jobs and what they leave on disk.

* :mod:`core.runs.train`: one conditional model per node, with progress, stop and resume;
* :mod:`core.runs.checkpoint`: run folders (safetensors weights plus an atomic JSON manifest);
* :mod:`core.runs.workspace`: workspace folders (graph, data, run and results of one project);
* :mod:`core.runs.builtin`: shipped workspaces (a trained run plus the recipe of its data).

The package itself exports nothing: import the module you need.
"""
