"""NeuralSCM: trained node mechanisms composed into a structural causal model (Markovian graphs).

Every node ``V`` has a mechanism ``V = f_V(pa(V), U_V)`` (``core.mechanisms``), with the ``U_V``
mutually independent — which is what a graph without bidirected edges promises.  Then:

- observational samples: draw every ``U_V`` and evaluate the mechanisms in topological order;
- interventional samples ``P(V | do(X = x))``: the same, with the mechanism of each ``X`` replaced by
  its forced value (a constant, an image, one value per unit, or a function of the values computed so
  far — ancestors of ``X`` are always computed before ``X``);
- counterfactuals (abduction, action, prediction): for each observed unit draw ``U_V ~ p(U_V | pa, v)``
  from its factual values, force the intervened values, and re-run the mechanisms downstream with the
  abducted noise.  Only units whose parents actually changed are recomputed — the rest keep their
  factual values exactly (so ``do(X = own X)`` returns the factual units, even for approximate
  abduction such as DDIM inversion).

Names follow DoWhy's gcm (draw_samples, interventional_samples, counterfactual_samples).  Values in
and out are ``dict[str, np.ndarray]`` in the conventions of ``core.data.units.Units``: images uint8
(n, C, H, W), binary/categorical int64 (n,), continuous float64 (n,); so a world and a trained model
answer the same calls.  Graphs with hidden confounders are refused: their interventional
distributions need the ID-GEN sampler (``core.idgen``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import torch
from torch import Tensor

from core.data.units import DoValue, Units, broadcast_do_value
from core.errors import WorkbenchError
from core.graph import ADMG
from core.mechanisms import Mechanism, make_mechanism, to_numpy, to_tensor

# callback(node, step, loss) -> False stops that node's training
SCMFitCallback = Callable[[str, int, float], Any]


class NeuralSCM:
    def __init__(self, graph: ADMG, mechanisms: Mapping[str, Mechanism], batch_size: int = 1024) -> None:
        if graph.bidirected:
            a, b = graph.bidirected[0]
            raise WorkbenchError(
                f"the graph has a hidden confounder ({a} <-> {b}): NeuralSCM samples Markovian graphs only; "
                "use the ID-GEN interventional sampler (core.idgen) for graphs with bidirected edges"
            )
        missing = [v for v in graph.names if v not in mechanisms]
        extra = [v for v in mechanisms if v not in graph]
        if missing or extra:
            raise WorkbenchError(
                "mechanisms must match the graph's nodes"
                + (f"; missing {', '.join(missing)}" if missing else "")
                + (f"; unknown {', '.join(extra)}" if extra else "")
            )
        for v in graph.names:
            mech = mechanisms[v]
            want = set(graph.parents(v))
            got = {p.name for p in mech.parent_nodes}
            if mech.node.name != v or got != want:
                raise WorkbenchError(
                    f"the mechanism for {v} models {mech.node.name} given {sorted(got)}, "
                    f"but the graph gives {v} the parents {sorted(want)}"
                )
            if mech.node.type != graph.node(v).type:
                raise WorkbenchError(f"the mechanism for {v} is for a {mech.node.type} node; the graph says {graph.node(v).type}")
        self.graph = graph
        self.mechanisms = dict(mechanisms)
        self.order = graph.topological_order()
        self.batch_size = int(batch_size)

    @classmethod
    def from_graph(
        cls,
        graph: ADMG,
        kinds: Mapping[str, str] | None = None,
        preset: str | None = None,
        device: Any = None,
        overrides: Mapping[str, Mapping[str, Any]] | None = None,
    ) -> NeuralSCM:
        """Fresh (untrained) mechanisms for every node: default kinds by node type unless ``kinds`` says."""
        kinds, overrides = kinds or {}, overrides or {}
        graph.check_nodes(list(kinds) + list(overrides), "mechanism settings")
        mechs = {
            v: make_mechanism(
                graph.node(v),
                [graph.node(p) for p in graph.sort(graph.parents(v))],
                kind=kinds.get(v),
                preset=preset,
                device=device,
                **dict(overrides.get(v, {})),
            )
            for v in graph.names
        }
        return cls(graph, mechs)

    # ---- training

    def fit(
        self,
        values: Mapping[str, np.ndarray],
        steps: int | None = None,
        batch_size: int | None = None,
        lr: float | None = None,
        callback: SCMFitCallback | None = None,
        nodes: Sequence[str] | None = None,
        seed: int = 0,
    ) -> dict[str, list[float]]:
        """Train each node's mechanism on its parents' columns, independently; returns loss histories.

        (A Markovian SCM's likelihood factorises over nodes, so the joint fit is these separate fits.)
        """
        nodes = list(self.graph.sort(self.graph.check_nodes(nodes, "fit"))) if nodes is not None else list(self.order)
        n = self._check_columns(values, {u for v in nodes for u in (v, *self.graph.parents(v))})
        if n < 2:
            raise WorkbenchError(f"training needs at least 2 rows of data, got {n}")
        history: dict[str, list[float]] = {}
        for v in nodes:
            mech = self.mechanisms[v]
            pa = {p: to_tensor(self.graph.node(p), values[p]) for p in self.graph.parents(v)}
            y = to_tensor(self.graph.node(v), values[v])
            cb = (lambda step, loss, v=v: callback(v, step, loss)) if callback is not None else None
            history[v] = mech.fit(pa, y, steps=steps, batch_size=batch_size, lr=lr, callback=cb, seed=seed)
        return history

    # ---- rung 1 and 2

    def draw_samples(self, n: int, seed: int = 0) -> dict[str, np.ndarray]:
        """n units from the model's observational distribution."""
        return self.interventional_samples({}, n, seed)

    def interventional_samples(self, do: Mapping[str, DoValue], n: int, seed: int = 0) -> dict[str, np.ndarray]:
        """n units from P(V | do(...)) by ancestral sampling with the intervened mechanisms replaced."""
        self._check_do(do)
        if int(n) < 1:
            raise WorkbenchError(f"number of samples must be at least 1, got {n}")
        gen = torch.Generator().manual_seed(int(seed))
        chunks = [self._ancestral(do, m, gen) for m in _chunk_sizes(int(n), self.batch_size)]
        return _concat(chunks, self.order)

    @torch.no_grad()
    def _ancestral(self, do: Mapping[str, DoValue], n: int, gen: torch.Generator) -> dict[str, np.ndarray]:
        out: dict[str, np.ndarray] = {}
        tensors: dict[str, Tensor] = {}
        for v in self.order:
            node = self.graph.node(v)
            if v in do:
                out[v] = _as_units_dtype(node.type, broadcast_do_value(do[v], n, out, node.type))
            else:
                pa = {p: tensors[p] for p in self.graph.parents(v)}
                out[v] = to_numpy(node, self.mechanisms[v].sample(pa, gen, n=n))
            # children see exactly what the caller sees (uint8-rounded images, int64 classes)
            tensors[v] = to_tensor(node, out[v])
        return out

    # ---- rung 3

    def abduct(self, observed_units: Units | Mapping[str, np.ndarray], seed: int = 0) -> dict[str, np.ndarray]:
        """The exogenous noise of every node, drawn from its posterior given the observed units."""
        values = _values_of(observed_units)
        n = self._check_columns(values, set(self.order))
        gen = torch.Generator().manual_seed(int(seed))
        noise: dict[str, np.ndarray] = {}
        with torch.no_grad():
            for v in self.order:
                pa = {p: to_tensor(self.graph.node(p), values[p]) for p in self.graph.parents(v)}
                y = to_tensor(self.graph.node(v), values[v])
                noise[v] = self.mechanisms[v].abduct(pa, y, gen).cpu().numpy() if n else np.zeros((0,))
        return noise

    def counterfactual_samples(
        self, observed_units: Units | Mapping[str, np.ndarray], do: Mapping[str, DoValue], seed: int = 0
    ) -> dict[str, np.ndarray]:
        """What each observed unit would have been under ``do``: abduction, action, prediction.

        Do-values that are functions see the unit's factual values.  A unit's node is recomputed (with
        its abducted noise) only where one of its parents changed for that unit.
        """
        self._check_do(do)
        factual = _values_of(observed_units)
        n = self._check_columns(factual, set(self.order))
        factual = {v: _as_units_dtype(self.graph.node(v).type, factual[v]) for v in self.order}
        gen = torch.Generator().manual_seed(int(seed))
        forced = {k: broadcast_do_value(v, n, factual, self.graph.node(k).type) for k, v in do.items()}
        out: dict[str, np.ndarray] = {}
        changed: dict[str, np.ndarray] = {}
        for v in self.order:
            node = self.graph.node(v)
            if v in forced:
                new = _as_units_dtype(node.type, forced[v])
                to_tensor(node, new)  # validates shape and range
                out[v] = new
                changed[v] = _rows_differ(new, factual[v])
                continue
            mask = np.zeros(n, dtype=bool)
            for p in self.graph.parents(v):
                mask |= changed[p]
            out[v] = np.array(factual[v], copy=True)
            if mask.any():
                out[v][mask] = self._recompute(v, factual, out, np.flatnonzero(mask), gen)
            changed[v] = mask & _rows_differ(out[v], factual[v])
        return out

    @torch.no_grad()
    def _recompute(
        self, v: str, factual: Mapping[str, np.ndarray], new: Mapping[str, np.ndarray], rows: np.ndarray, gen: torch.Generator
    ) -> np.ndarray:
        """Abduct ``U_v`` under the factual parents, predict under the new ones (selected rows, chunked)."""
        node, mech = self.graph.node(v), self.mechanisms[v]
        parents = self.graph.parents(v)
        parts = []
        for start in range(0, len(rows), self.batch_size):
            idx = rows[start : start + self.batch_size]
            pa_f = {p: to_tensor(self.graph.node(p), factual[p][idx]) for p in parents}
            pa_new = {p: to_tensor(self.graph.node(p), new[p][idx]) for p in parents}
            parts.append(to_numpy(node, mech.counterfactual(pa_f, to_tensor(node, factual[v][idx]), pa_new, gen)))
        return np.concatenate(parts)

    # ---- checks

    def _check_do(self, do: Mapping[str, DoValue]) -> None:
        if not isinstance(do, Mapping):
            raise WorkbenchError(f"interventions must be a mapping {{node: value}}, got {type(do).__name__}")
        self.graph.check_nodes(do, "intervention")

    def _check_columns(self, values: Mapping[str, np.ndarray], needed: set[str]) -> int:
        missing = [v for v in self.order if v in needed and v not in values]
        if missing:
            raise WorkbenchError(f"the data lack columns for {', '.join(missing)}")
        lengths = {v: len(values[v]) for v in self.order if v in needed}
        if len(set(lengths.values())) > 1:
            raise WorkbenchError(f"columns have different numbers of rows: {lengths}")
        return next(iter(lengths.values()), 0)


def _values_of(units: Units | Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    return dict(units.values) if isinstance(units, Units) else {k: np.asarray(v) for k, v in units.items()}


def _as_units_dtype(node_type: str, arr: np.ndarray) -> np.ndarray:
    arr = np.asarray(arr)
    if node_type == "image":
        return arr.astype(np.uint8)
    if node_type == "continuous":
        return arr.astype(np.float64)
    if arr.dtype.kind == "f" and not np.all(np.equal(np.mod(arr, 1), 0)):
        raise WorkbenchError(f"a {node_type} do-value must be a whole number, got {arr[:3]}")
    return arr.astype(np.int64)


def _rows_differ(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    a, b = np.asarray(a), np.asarray(b)
    if a.ndim == 1:
        return a != b
    return (a != b).reshape(len(a), -1).any(axis=1)


def _chunk_sizes(n: int, batch: int) -> list[int]:
    return [min(batch, n - s) for s in range(0, n, batch)]


def _concat(chunks: list[dict[str, np.ndarray]], order: Sequence[str]) -> dict[str, np.ndarray]:
    return {v: np.concatenate([c[v] for c in chunks]) for v in order}
