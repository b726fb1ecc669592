"""Predictor files: a folder with ``predictor.json`` (a small architecture spec) and
``predictor.safetensors`` (the weights); read without unpickling anything.

``predictor.json``::

    {"kind": "mlp", "inputs": [NAME, ...], "hidden": [WIDTH, ...], "activation": "silu" | "relu" | ...,
     "standardised": true | false}

A spec is checked against :data:`PREDICTOR_LIMITS` before any module is built (at most 16 hidden
layers of at most 4096 units, 10,000,000 parameters, 1000 inputs; files of at most 1 MiB and 64 MiB),
so an uploaded file cannot ask for more memory than a page may use.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from torch import nn

from core.effects.attributions.networks import ACTIVATIONS, MLP, Standardised
from core.errors import WorkbenchError

SPEC_FILE = "predictor.json"
WEIGHTS_FILE = "predictor.safetensors"
MAX_HIDDEN_LAYERS = 16
MAX_WIDTH = 4096
MAX_INPUTS = 1000
MAX_PARAMETERS = 10_000_000
MAX_SPEC_BYTES = 2**20
MAX_WEIGHTS_BYTES = 64 * 2**20
PREDICTOR_LIMITS = {"hidden layers": MAX_HIDDEN_LAYERS, "width": MAX_WIDTH, "inputs": MAX_INPUTS,
                    "parameters": MAX_PARAMETERS, "spec bytes": MAX_SPEC_BYTES, "weights bytes": MAX_WEIGHTS_BYTES}


def predictor_spec(module: MLP | Standardised, inputs: Sequence[str]) -> dict[str, object]:
    """The JSON spec that :func:`load_predictor` rebuilds the module from."""
    net = module.net if isinstance(module, Standardised) else module
    if not isinstance(net, MLP):
        raise WorkbenchError("only MLP predictors have a spec")
    linears = [m for m in net.net if isinstance(m, nn.Linear)]
    act = next((k for k, c in ACTIVATIONS.items() for m in net.net if type(m) is c), "silu")
    return {
        "kind": "mlp",
        "inputs": list(inputs),
        "hidden": [m.out_features for m in linears[:-1]],
        "activation": act,
        "standardised": isinstance(module, Standardised),
    }


def save_predictor(module: MLP | Standardised, inputs: Sequence[str], folder: str | Path) -> None:
    """Write the weights, then the spec, each through a temporary file renamed into place."""
    from safetensors.torch import save_file

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    spec = predictor_spec(module, inputs)
    tmp = folder / f"{WEIGHTS_FILE}.tmp"
    save_file({k: v.contiguous() for k, v in module.state_dict().items()}, str(tmp))
    tmp.replace(folder / WEIGHTS_FILE)
    (folder / f"{SPEC_FILE}.tmp").write_text(json.dumps(spec, indent=1))
    (folder / f"{SPEC_FILE}.tmp").replace(folder / SPEC_FILE)


def load_predictor(folder: str | Path) -> tuple[nn.Module, list[str]]:
    """(module, input names) from ``predictor.json`` + ``predictor.safetensors`` (no unpickling)."""
    from safetensors.torch import load_file

    folder = Path(folder)
    spec_path, weights = folder / SPEC_FILE, folder / WEIGHTS_FILE
    for p, limit in ((spec_path, MAX_SPEC_BYTES), (weights, MAX_WEIGHTS_BYTES)):
        if not p.is_file():
            raise WorkbenchError(f"predictor file {p} is missing")
        if p.stat().st_size > limit:
            raise WorkbenchError(f"predictor file {p} is {p.stat().st_size:,} bytes, more than the limit of {limit:,}")
    try:
        spec = json.loads(spec_path.read_bytes())
    except (json.JSONDecodeError, UnicodeDecodeError, RecursionError) as e:
        detail = f"{e.msg} at line {e.lineno}" if isinstance(e, json.JSONDecodeError) else type(e).__name__
        raise WorkbenchError(f"{spec_path} is not JSON ({detail})") from None
    if not isinstance(spec, dict) or spec.get("kind") != "mlp":
        kind = spec.get("kind") if isinstance(spec, dict) else spec
        raise WorkbenchError(f"{spec_path}: unknown predictor kind {str(kind)[:40]!r}")
    inputs, hidden = spec.get("inputs"), spec.get("hidden", [])
    check_spec_sizes(inputs, hidden, spec_path.name)
    net = MLP(len(inputs), hidden, 1, spec.get("activation", "silu"))
    module: nn.Module = (
        Standardised(net, np.zeros(len(inputs)), np.ones(len(inputs)), 0.0, 1.0) if spec.get("standardised") else net
    )
    try:
        state = load_file(str(weights))
    except Exception as e:  # safetensors raises its own error types for corrupt files
        raise WorkbenchError(f"{weights} is not a readable safetensors file ({str(e).splitlines()[0]})") from None
    try:
        module.load_state_dict(state, strict=True)
    except RuntimeError as e:
        raise WorkbenchError(f"{weights} does not fit the architecture in {spec_path.name} ({str(e).splitlines()[0]})") from None
    return module.eval(), list(inputs)


def check_spec_sizes(inputs: object, hidden: object, where: str) -> None:
    """``inputs`` a list of 1..MAX_INPUTS names and ``hidden`` a list of at most MAX_HIDDEN_LAYERS widths
    in 1..MAX_WIDTH whose network has at most MAX_PARAMETERS parameters, else one line naming the limit."""
    if not isinstance(inputs, list) or not inputs or not all(isinstance(v, str) for v in inputs):
        raise WorkbenchError(f"{where}: 'inputs' must be a list of node names")
    if not isinstance(hidden, list) or not all(isinstance(h, int) and not isinstance(h, bool) and h > 0 for h in hidden):
        raise WorkbenchError(f"{where}: 'hidden' must be a list of positive layer widths")
    if len(inputs) > MAX_INPUTS:
        raise WorkbenchError(f"{where}: {len(inputs):,} inputs, more than the limit of {MAX_INPUTS:,}")
    if len(hidden) > MAX_HIDDEN_LAYERS:
        raise WorkbenchError(f"{where}: {len(hidden)} hidden layers, more than the limit of {MAX_HIDDEN_LAYERS}")
    if any(h > MAX_WIDTH for h in hidden):
        raise WorkbenchError(f"{where}: a hidden layer of {max(hidden):,} units, more than the limit of {MAX_WIDTH:,}")
    widths = [len(inputs), *hidden, 1]
    parameters = sum((a + 1) * b for a, b in zip(widths, widths[1:], strict=False))
    if parameters > MAX_PARAMETERS:
        raise WorkbenchError(
            f"{where}: a network of {parameters:,} parameters, more than the limit of {MAX_PARAMETERS:,}"
        )
