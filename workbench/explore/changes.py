"""What changed: each rung's read-out of the outcome from a large sample, with 95% intervals, and
how far conditioning, intervening and the world's truth move it from the data's own distribution.

A gallery shows a handful of thumbnails; its numbers come from ``READOUT_DRAWS`` draws of the same
query (every matching row for the observational column, up to that many).  For an outcome ``Y``
and a read-out ``f`` (a probe attribute of an image, a level's share, or a mean)::

    base  = E[f(Y)]                      over the data
    see   = E[f(Y) | X = x, Z = z]       the matching data rows
    do    = E[f(Y) | do(X = x), Z = z]   the trained models (ID-GEN on a confounded graph)
    truth = the same under the world's own mechanisms (a built-in world only)
    spurious part = see - do             (truth's do when known): what conditioning shows that
                                         setting X does not cause

A share's interval is Wilson's 95% score interval; a mean's is mean ± 1.96 s / sqrt(n).  Drawing is
cheap; reading images with a world's probe may not be (the Morpho-MNIST probe skeletonises every
digit): when reading the data's column shows that every column at ``READOUT_DRAWS`` would take
more than ``READOUT_BUDGET_S``, the columns use fewer draws, never under ``MIN_READOUT_DRAWS``.  A change
counts as more than noise when it is at least ``NOTABLE`` and the two intervals do not overlap.
"""

from __future__ import annotations

import hashlib
from collections.abc import Hashable, Mapping
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, TypeAlias

import numpy as np

from core.graph import Node
from workbench.explore.galleries import (
    Gallery,
    counterfactual_units,
    matching_rows,
    model_counterfactual,
    model_interventional,
)
from workbench.explore.idgen_fit import run_signature
from workbench.explore.models import Sources
from workbench.explore.question import ExploreQuery
from workbench.explore.truth import truth_counterfactual, truth_interventional

if TYPE_CHECKING:
    from core.worlds.probes import Probe

READOUT_DRAWS = 1000  # draws behind every number the Explore page shows (intervals of about +-3 points)
MIN_READOUT_DRAWS = 500  # a slow probe's floor (the data may have fewer matching rows)
READOUT_BUDGET_S = 20.0  # a probe slower than this for every column at READOUT_DRAWS reads fewer draws
NOTABLE = 0.05  # a change smaller than this (5 points of a share) is not worth a sentence
Z95 = 1.959964

COLUMNS = {"see": "Observational", "do": "Interventional (model)", "cf": "Counterfactual (model)",
           "truth": "Truth (world)", "truth_cf": "Truth (world), counterfactual"}


@dataclass(frozen=True)
class Estimate:
    """A share or a mean from ``n`` draws, with its 95% interval ``[lo, hi]``."""

    value: float
    lo: float
    hi: float
    n: int
    share: bool = True

    def text(self) -> str:
        """``"60% [57, 63]"`` for a share, ``"0.412 [0.40, 0.42]"`` for a mean."""
        if self.share:
            return f"{100 * self.value:.0f}% [{100 * self.lo:.0f}, {100 * self.hi:.0f}]"
        return f"{self.value:.3g} [{self.lo:.3g}, {self.hi:.3g}]"

    def apart(self, other: Estimate) -> bool:
        """The two differ by at least ``NOTABLE`` (of a share; of a mean, relative to its size) and
        their intervals do not overlap."""
        scale = 1.0 if self.share else max(abs(self.value), abs(other.value), 1e-9)
        return abs(self.value - other.value) >= NOTABLE * scale and (self.lo > other.hi or other.lo > self.hi)


def share_estimate(k: int, n: int) -> Estimate:
    """``k`` of ``n`` with Wilson's 95% score interval (scipy's)."""
    from scipy.stats import binomtest

    if n <= 0:
        return Estimate(float("nan"), float("nan"), float("nan"), 0)
    ci = binomtest(int(k), int(n)).proportion_ci(confidence_level=0.95, method="wilson")
    return Estimate(k / n, float(ci.low), float(ci.high), n)


def mean_estimate(values: np.ndarray) -> Estimate:
    """The mean of ``values`` with mean ± 1.96 s / sqrt(n)."""
    x = np.asarray(values, dtype=np.float64)
    n = len(x)
    if n == 0:
        return Estimate(float("nan"), float("nan"), float("nan"), 0, share=False)
    half = Z95 * (x.std(ddof=1) if n > 1 else 0.0) / np.sqrt(n)
    return Estimate(float(x.mean()), float(x.mean() - half), float(x.mean() + half), n, share=False)


Readout: TypeAlias = dict[str, Estimate]
"""A column's read-out by name: ``"Young"`` (the share of a binary attribute or node being 1),
``"Hair = 2"`` (a level's share), ``"mean thickness"``."""


def _levels(name: str, codes: np.ndarray, labels: tuple[str, ...]) -> Readout:
    codes = np.asarray(codes).astype(np.int64)
    n = len(codes)
    if len(labels) == 2:  # binary: the share of the second level ("yes", 1)
        return {name: share_estimate(int((codes == 1).sum()), n)}
    return {f"{name} = {label}": share_estimate(int((codes == i).sum()), n) for i, label in enumerate(labels)}


def readout(node: Node, values: np.ndarray, probe: Probe | None = None) -> Readout:
    """What a column shows, from its outcome values: for an image with a probe, each attribute
    the probe reads; for a discrete outcome, each level's share (a binary one: the share of 1); for
    a continuous one, its mean.  An image without a probe has no read-out ({})."""
    if node.type == "image":
        if probe is None or not len(values):
            return {}
        read = probe.read(np.asarray(values, dtype=np.uint8))
        out: Readout = {}
        for name, attr in probe.attributes.items():
            if attr.kind == "categorical":
                labels = tuple(attr.labels or (str(i) for i in range(int(np.max(read[name], initial=0)) + 1)))
                out |= _levels(name, read[name], labels)
            else:
                out[f"mean {name}"] = mean_estimate(read[name])
        return out
    if node.is_discrete:
        return _levels(node.name, values, tuple(str(i) for i in range(node.levels)))
    return {f"mean {node.name}": mean_estimate(values)}


@dataclass(frozen=True)
class Readouts:
    """Every column's read-out from a large sample: ``base`` (the data), and by column key (see
    ``COLUMNS``) what could be drawn; ``missing`` says why a column has none."""

    base: Readout
    columns: dict[str, Readout]
    missing: dict[str, str] = field(default_factory=dict)


def _subsample(rows: np.ndarray, draws: int, seed: int) -> np.ndarray:
    if len(rows) <= draws:
        return rows
    return np.sort(np.random.default_rng(seed).choice(rows, size=draws, replace=False))


def large_sample_readouts(sources: Sources, query: ExploreQuery, unit: int, *, probe: Probe | None,
                          draws: int = READOUT_DRAWS, sample_steps: int | None = None,
                          fit_idgen: bool = False) -> Readouts:
    """Each column of the query read out from ``draws`` draws (every matching data row, up to
    ``draws``, for the observational one).  ID-GEN is fitted only with ``fit_idgen`` (the page's
    decision: it fits what costs nothing, and asks before training).  Slow on big images: the page
    runs it in the background."""
    import time

    ds, node = sources.dataset, query.graph.node(query.outcome)
    y = np.asarray(ds.column(query.outcome))
    t0 = time.perf_counter()
    some = _subsample(np.arange(ds.n), draws, query.seed)
    base = readout(node, y[some], probe)
    per_draw = (time.perf_counter() - t0) / max(1, len(some))
    if per_draw * draws * len(COLUMNS) > READOUT_BUDGET_S:  # a slow probe: fewer draws per column
        draws = max(MIN_READOUT_DRAWS, int(READOUT_BUDGET_S / (per_draw * len(COLUMNS))))
    big = replace(query, n=draws)
    columns: dict[str, Readout] = {}
    missing: dict[str, str] = {}
    rows = matching_rows(ds, query.graph, query.conditions, n=1)
    if len(rows):
        columns["see"] = readout(node, y[_subsample(rows, draws, query.seed)], probe)
    else:
        missing["see"] = f"{query.condition_text()} never occurs in the data"
    units = counterfactual_units(draws, unit, ds.n, seed=query.seed) if ds.n > 1 else np.array([unit])
    drawn: dict[str, Gallery] = {
        "do": model_interventional(sources, big, fit_idgen=fit_idgen, sample_steps=sample_steps),
        "cf": model_counterfactual(sources, big, units, sample_steps=sample_steps),
    }
    if sources.world is not None:
        drawn["truth"] = truth_interventional(sources.world, big)
        drawn["truth_cf"] = truth_counterfactual(sources, big, units)
    for key, gallery in drawn.items():
        if gallery.ok:
            columns[key] = readout(node, gallery.values, probe)
        else:
            missing[key] = gallery.message
    return Readouts(base, columns, missing)


# --------------------------------------------------------------------------------------------------
# What changed, and what to look at


@dataclass(frozen=True)
class Change:
    """One read-out across the rungs: the data's, and under conditioning, the models' intervention
    and the truth's (None where a column has none)."""

    name: str
    base: Estimate
    see: Estimate | None
    do: Estimate | None
    truth: Estimate | None

    @property
    def reference(self) -> Estimate | None:
        """What setting X does: the truth where known, else the models."""
        return self.truth if self.truth is not None else self.do

    @property
    def spurious(self) -> float | None:
        """``see - do``: the part of conditioning's change that the intervention does not cause."""
        ref = self.reference
        return None if self.see is None or ref is None else self.see.value - ref.value

    @property
    def spurious_notable(self) -> bool:
        ref = self.reference
        return self.see is not None and ref is not None and self.see.apart(ref)

    @property
    def model_off(self) -> bool:
        """The models' intervention disagrees with the truth beyond noise."""
        return self.do is not None and self.truth is not None and self.do.apart(self.truth)


def changes(readouts: Readouts) -> list[Change]:
    """One :class:`Change` per read-out of the data, in the data's order."""
    cols = readouts.columns
    return [Change(name, base, cols.get("see", {}).get(name), cols.get("do", {}).get(name),
                   cols.get("truth", {}).get(name)) for name, base in readouts.base.items()]


def _points(est: Estimate, base: Estimate) -> str:
    if est.share:
        return f"{100 * est.value:.0f}% ({100 * (est.value - base.value):+.0f} points)"
    return f"{est.value:.3g} ({est.value - base.value:+.3g})"


def _value(est: Estimate) -> str:
    return f"{100 * est.value:.0f}%" if est.share else f"{est.value:.3g}"


def plain_sentence(found: list[Change], query: ExploreQuery) -> str:
    """One paragraph (Markdown) that says what to look at: the read-out with the largest spurious
    part (conditioning moves it, setting X does not), else the largest causal change, else that
    nothing moves; and where the models' intervention is off the truth, that too."""
    see, do = query.condition_text(), query.intervention
    if not found:
        return ""
    parts = []
    spurious = [c for c in found if c.spurious_notable]
    if spurious:
        c = max(spurious, key=lambda c: abs(c.spurious or 0.0))
        who = "in the world's truth" if c.truth is not None else "by the models"
        size = f"{100 * abs(c.spurious):.0f}-point" if c.see.share else f"{abs(c.spurious):.3g}"
        parts.append(f"Look at **{c.name}**: where the data shows {see} it is {_points(c.see, c.base)}, but "
                     f"{who} {do} gives {_points(c.reference, c.base)}. That {size} difference is spurious: "
                     f"conditioning on {query.treatment} also selects what its hidden or common causes bring "
                     "along, which setting it does not. Compare the Observational and Interventional columns.")
    else:
        moved = [c for c in found if c.reference is not None and c.reference.apart(c.base)]
        if moved:
            c = max(moved, key=lambda c: abs(c.reference.value - c.base.value))
            parts.append(f"{do} moves **{c.name}** to {_points(c.reference, c.base)}, and conditioning on "
                         f"{see} agrees: for these read-outs seeing and doing tell the same story.")
        else:
            parts.append(f"Neither {see} nor {do} moves the read-outs beyond noise.")
    off = [c for c in found if c.model_off]
    if off:
        c = max(off, key=lambda c: abs(c.do.value - c.truth.value))
        parts.append(f"The models are off for **{c.name}**: {_value(c.do)} under {do} where the truth is "
                     f"{_value(c.truth)} (the model check on the Train page measures such errors).")
    return " ".join(parts)


# --------------------------------------------------------------------------------------------------
# Keys of what the page caches


def value_key(value: object) -> Hashable:
    """A hashable stand-in for a do- or given value (an image by the digest of its bytes)."""
    if isinstance(value, np.ndarray):
        return ("array", value.shape, hashlib.sha1(np.ascontiguousarray(value).tobytes()).hexdigest())
    return repr(value)


def result_key(sources: Sources, query: ExploreQuery, *extra: Hashable) -> tuple[Hashable, ...]:
    """What a gallery or read-out depends on: the data, the trained models, the ID-GEN settings,
    the query with its values, and ``extra`` (the unit, the preview steps)."""
    given: Mapping[str, object] = query.given
    return (sources.dataset.fingerprint, query.graph.dumps(), run_signature(sources.run, query.graph),
            repr(sorted(sources.settings.items())), query.treatment, value_key(query.value), query.outcome,
            tuple((k, value_key(v)) for k, v in sorted(given.items())), query.n, query.seed, *extra)



# --------------------------------------------------------------------------------------------------
# How the page shows them


def readout_line(found: Readout, what: str = "draws") -> str:
    """A gallery's read-out in one line: ``"1,000 draws: Male 100% [99, 100] · Young 60% [57, 63] · ..."``
    (``what`` names the sample: draws, or the data's matching rows)."""
    n = max((e.n for e in found.values()), default=0)
    return f"{n:,} {what}: " + " · ".join(f"{k} {e.text()}" for k, e in found.items())


def _cell(est: Estimate | None, base: Estimate) -> str:
    if est is None:
        return '<td style="color:#94a3b8">–</td>'
    delta = est.value - base.value
    moved = f"{100 * delta:+.0f}" if est.share else f"{delta:+.3g}"
    return (f'<td><b>{_value(est)}</b> <span style="color:#64748b;font-size:11px">'
            f'[{est.text().split("[", 1)[1]} · {moved}</span></td>')


def changes_table_html(found: list[Change], query: ExploreQuery, *, truth: bool) -> str:
    """The "what changed" strip as an HTML table: per read-out, the data's value, and under
    conditioning, under the models' intervention and in truth (with its 95% interval and its change
    from the data's value), then the spurious part, in red where it is more than noise."""
    head = ["read-out", "in the data", f"seeing: {query.condition_text()}", f"doing: {query.intervention} (model)"]
    if truth:
        head.append(f"doing: {query.intervention} (truth)")
    head.append("spurious (seeing − doing)")
    rows = []
    for c in found:
        cells = [f"<td><b>{c.name}</b></td>", f"<td>{_value(c.base)}</td>", _cell(c.see, c.base), _cell(c.do, c.base)]
        if truth:
            cells.append(_cell(c.truth, c.base))
        sp = c.spurious
        if sp is None:
            cells.append('<td style="color:#94a3b8">–</td>')
        else:
            size = f"{100 * sp:+.0f} points" if c.base.share else f"{sp:+.3g}"
            style = "color:#d62728;font-weight:600" if c.spurious_notable else "color:#64748b"
            cells.append(f'<td style="{style}">{size}{" ← spurious" if c.spurious_notable else ""}</td>')
        rows.append("<tr>" + "".join(cells) + "</tr>")
    th = "".join(f"<th>{h}</th>" for h in head)
    return ("<style>.cw-changes{border-collapse:collapse;font-size:13px;width:100%}"
            ".cw-changes th{text-align:left;font-weight:600;border-bottom:1px solid #cbd5e1}"
            ".cw-changes td,.cw-changes th{padding:3px 12px 3px 0;vertical-align:top}</style>"
            f'<table class="cw-changes"><thead><tr>{th}</tr></thead><tbody>{"".join(rows)}</tbody></table>')
