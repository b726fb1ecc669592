#!/usr/bin/env bash
# One GPU check of the image presets (training speed, peak GPU memory, soundness table), built to
# finish within 15 minutes on one GPU.  Extra arguments go to benchmarks/gpu_check.py.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-.venv/bin/python}
mkdir -p benchmarks/results
"$PY" -m benchmarks.gpu_check "$@" 2>&1 | tee benchmarks/results/gpu_check.txt
