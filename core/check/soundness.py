"""Axiomatic soundness of image counterfactuals (Monteiro et al., ICLR 2023), as the counterfactual
benchmark of Melistas et al. (2024) measures it.

For an image node V with mechanism ``x = f(pa, u)`` and abduction ``u = f^{-1}(pa, x)``, on units
drawn from the data, distances on the 0-255 pixel scale (mean absolute difference per pixel):

* composition:    the null intervention applied m times, ``x_m = f(pa, f^{-1}(pa, x_{m-1}))``;
                  ``|x_m - x|`` for m = 1 and 10 (0 for a perfect abduction);
* reversibility:  change one parent to ``pa*`` and back, ``x' = f(pa*, f^{-1}(pa, x))``,
                  ``x'' = f(pa, f^{-1}(pa*, x'))``, m cycles; ``|x''_m - x|``;
* effectiveness:  intervene on one parent P at a time (``do(P = p*)``, p* drawn from the data and
                  different from the unit's value) through the whole SCM, read P (and the parents P
                  causes) back from the counterfactual image: accuracy or mean absolute error against
                  the counterfactual's values;
* minimality:     the parents P does NOT cause must stay put: how far their read-out moves between
                  the factual and the counterfactual image (share unchanged, or mean absolute move);
* realism:        a classifier two-sample test (``core.check.realism``).

Read-outs come from a :class:`~core.check.readouts.Reader` whose own held-out score is reported next
to every number that uses it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass

import numpy as np

from core.check.readouts import Reader, score
from core.errors import WorkbenchError
from core.graph import ADMG

Columns = Mapping[str, np.ndarray]


@dataclass(frozen=True)
class Row:
    """One number of the soundness table."""

    node: str
    metric: str  # composition, reversibility, effectiveness, minimality, realism
    condition: str  # "m=1", "do(thickness) -> thickness", ...
    value: float
    unit: str  # "0-255 L1", "accuracy", "MAE", "share unchanged", "C2ST accuracy"
    n: int
    reader_score: float | None = None  # the read-out's own held-out score, where one was used

    def to_json(self) -> dict[str, object]:
        return asdict(self)


# --------------------------------------------------------------------------------------------------
# Mechanism-level round trips


def _mechanism_io(scm: object, node: str, rows: Columns):
    """(mechanism, parents as tensors, images as a [-1, 1] tensor) for these units."""
    from core.mechanisms import to_tensor

    graph: ADMG = scm.graph  # type: ignore[attr-defined]
    mech = scm.mechanisms[node]  # type: ignore[attr-defined]
    dev = mech.device
    parents = {p.name: to_tensor(p, np.asarray(rows[p.name]), dev) for p in mech.parent_nodes}
    x = to_tensor(graph.node(node), np.asarray(rows[node]), dev)
    return mech, parents, x


def _to_uint8(node: object, x: object) -> np.ndarray:
    from core.mechanisms import to_numpy

    return to_numpy(node, x)  # type: ignore[arg-type]


def _l1(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.mean(np.abs(a.astype(np.float64) - b.astype(np.float64))))


def composition(scm: object, node: str, rows: Columns, ms: Sequence[int] = (1, 10)) -> dict[int, float]:
    """Mean |x_m - x| (0-255) after m null interventions on ``node``'s mechanism."""
    import torch

    mech, parents, x = _mechanism_io(scm, node, rows)
    v = scm.graph.node(node)  # type: ignore[attr-defined]
    x0 = _to_uint8(v, x)
    out, cur = {}, x
    with torch.no_grad():
        for m in range(1, max(ms) + 1):
            cur = mech.predict(parents, mech.abduct(parents, cur)).clamp(-1, 1)
            cur = torch.round((cur + 1) * 127.5) / 127.5 - 1  # each round trip is an image on disk
            if m in ms:
                out[m] = _l1(_to_uint8(v, cur), x0)
    return out


def reversibility(scm: object, node: str, rows: Columns, changed: Columns,
                  ms: Sequence[int] = (1, 10)) -> dict[int, float]:
    """Mean |x''_m - x| (0-255): m cycles of do(pa*) then back to pa on ``node``'s mechanism;
    ``changed`` holds the parents' values pa* (one parent changed per unit)."""
    import torch

    from core.mechanisms import to_tensor

    mech, parents, x = _mechanism_io(scm, node, rows)
    v = scm.graph.node(node)  # type: ignore[attr-defined]
    star = {p.name: to_tensor(p, np.asarray(changed[p.name]), mech.device) for p in mech.parent_nodes}
    x0 = _to_uint8(v, x)
    out, cur = {}, x
    with torch.no_grad():
        for m in range(1, max(ms) + 1):
            there = mech.counterfactual(parents, cur, star).clamp(-1, 1)
            cur = mech.counterfactual(star, there, parents).clamp(-1, 1)
            cur = torch.round((cur + 1) * 127.5) / 127.5 - 1
            if m in ms:
                out[m] = _l1(_to_uint8(v, cur), x0)
    return out


# --------------------------------------------------------------------------------------------------
# Interventions through the whole SCM


def other_values(column: np.ndarray, rng: np.random.Generator, discrete: bool) -> np.ndarray:
    """For each unit a value drawn from ``column`` (the data) that differs from the unit's own."""
    column = np.asarray(column)
    n = len(column)
    out = column[rng.integers(0, n, size=n)]
    for _ in range(50):
        same = out == column if discrete else np.isclose(out, column)
        if not same.any():
            break
        out[same] = column[rng.integers(0, n, size=int(same.sum()))]
    return out


def soundness(scm: object, node: str, data: Columns, reader: Reader, *, n: int = 256, seed: int = 0,
              ms: Sequence[int] = (1, 10), realism: bool = True, realism_steps: int = 400,
              hidden: Sequence[tuple[str, str]] = ()) -> list[Row]:
    """The soundness table of image node ``node`` of a Markovian neural SCM on ``n`` units of
    ``data``; read-outs by ``reader`` (attributes named after the image's parents).

    ``hidden``: the bidirected edges of the run's graph, when ``scm`` models only its directed part.
    The mechanism-level checks do not depend on them; the counterfactual image under do(p) does only
    through the nodes between p and the image that it re-evaluates, so a parent with a confounded node
    on such a path is skipped.
    """
    graph: ADMG = scm.graph  # type: ignore[attr-defined]
    if graph.node(node).type != "image":
        raise WorkbenchError(f"{node} is not an image node: the soundness suite checks image counterfactuals")
    total = len(next(iter(data.values())))
    rng = np.random.default_rng(seed)
    pick = rng.choice(total, size=min(n, total), replace=False)
    units = {k: np.asarray(v)[pick] for k, v in data.items() if k in graph}
    k = len(pick)
    rows: list[Row] = []
    for m, d in composition(scm, node, units, ms).items():
        rows.append(Row(node, "composition", f"m={m}", d, "0-255 L1", k))
    parents = graph.sort(graph.parents(node))
    # reversibility: each unit gets one parent changed, cycling through the parents
    changed = {p: np.array(units[p], copy=True) for p in parents}
    for i, p in enumerate(parents):
        who = np.arange(k) % len(parents) == i
        other = other_values(units[p], rng, graph.node(p).is_discrete)
        changed[p][who] = other[who]
    if parents:
        for m, d in reversibility(scm, node, units, changed, ms).items():
            rows.append(Row(node, "reversibility", f"m={m}", d, "0-255 L1", k))
    factual_read = reader.read(np.asarray(units[node]))
    confounded = {v for edge in hidden for v in edge}
    for p in parents:
        if p not in reader.attributes and not any(q in reader.attributes for q in parents):
            continue
        if ((graph.descendants([p]) & graph.ancestors([node])) - {p, node}) & confounded:
            continue  # the counterfactual image would depend on how the confounder is abducted
        value = other_values(units[p], rng, graph.node(p).is_discrete)
        cf = scm.counterfactual_samples(units, {p: value}, seed=seed)  # type: ignore[attr-defined]
        cf_read = reader.read(np.asarray(cf[node]))
        caused = graph.descendants([p])
        for q in parents:
            att = reader.attributes.get(q)
            if att is None:
                continue
            if q == p or q in caused:
                rows.append(Row(node, "effectiveness", f"do({p}) -> {q}", score(att, cf_read[q], cf[q]),
                                "accuracy" if att.discrete else "MAE", k, reader.accuracy.get(q)))
            elif att.discrete:
                rows.append(Row(node, "minimality", f"do({p}) keeps {q}",
                                float(np.mean(cf_read[q] == factual_read[q])), "share unchanged", k,
                                reader.accuracy.get(q)))
            else:
                rows.append(Row(node, "minimality", f"do({p}) keeps {q}",
                                float(np.mean(np.abs(cf_read[q] - factual_read[q]))), "mean move", k,
                                reader.accuracy.get(q)))
    if realism:
        from core.check.realism import two_sample_accuracy

        generated = scm.mechanisms[node]  # type: ignore[attr-defined]
        fake = _generated_images(generated, graph, units, seed)
        acc = two_sample_accuracy(np.asarray(units[node]), fake, steps=realism_steps, seed=seed)
        rows.append(Row(node, "realism", "C2ST real vs generated", acc, "C2ST accuracy", k))
    return rows


def _generated_images(mech: object, graph: ADMG, units: Columns, seed: int) -> np.ndarray:
    """Images the mechanism draws for the units' own parents (observational samples of the node)."""
    import torch

    from core.mechanisms import to_numpy, to_tensor

    parents = {p.name: to_tensor(p, np.asarray(units[p.name]), mech.device) for p in mech.parent_nodes}  # type: ignore[attr-defined]
    gen = torch.Generator().manual_seed(seed + 1)
    n = len(next(iter(units.values())))
    with torch.no_grad():
        x = mech.sample(parents, generator=gen, n=n).clamp(-1, 1)  # type: ignore[attr-defined]
    return to_numpy(mech.node, x)  # type: ignore[attr-defined]


# --------------------------------------------------------------------------------------------------
# Printing


def format_table(rows: Sequence[Row]) -> str:
    """The rows as an aligned text table."""
    head = ("node", "metric", "condition", "value", "unit", "n", "read-out score")
    body = [(r.node, r.metric, r.condition, f"{r.value:.4g}", r.unit, str(r.n),
             "" if r.reader_score is None else f"{r.reader_score:.3g}") for r in rows]
    widths = [max(len(h), *(len(b[i]) for b in body)) if body else len(h) for i, h in enumerate(head)]
    line = "  ".join(h.ljust(w) for h, w in zip(head, widths, strict=True))
    out = [line, "-" * len(line)]
    out += ["  ".join(c.ljust(w) for c, w in zip(b, widths, strict=True)) for b in body]
    return "\n".join(out)
