"""Predictor files: a folder with ``predictor.json`` (a small architecture spec) and
``predictor.safetensors`` (the weights); read without unpickling anything.

``predictor.json``::

    {"kind": "mlp", "inputs": [NAME, ...], "hidden": [WIDTH, ...], "activation": "silu" | "relu" | ...,
     "standardised": true | false}
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
    for p in (spec_path, weights):
        if not p.is_file():
            raise WorkbenchError(f"predictor file {p} is missing")
    try:
        spec = json.loads(spec_path.read_text())
    except json.JSONDecodeError as e:
        raise WorkbenchError(f"{spec_path} is not JSON ({e.msg} at line {e.lineno})") from None
    if not isinstance(spec, dict) or spec.get("kind") != "mlp":
        raise WorkbenchError(f"{spec_path}: unknown predictor kind {spec.get('kind') if isinstance(spec, dict) else spec!r}")
    inputs = spec.get("inputs")
    hidden = spec.get("hidden", [])
    if not isinstance(inputs, list) or not inputs or not all(isinstance(h, int) and h > 0 for h in hidden):
        raise WorkbenchError(f"{spec_path}: needs 'inputs' (a list of names) and 'hidden' (positive layer widths)")
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
