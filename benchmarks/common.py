"""Shared helpers for the benchmark scripts: distributions, total variation, timing, plain-text tables.

Total variation between two distributions p, q over k categories:

    TVD(p, q) = 1/2 sum_i |p_i - q_i|           in [0, 1]

Estimated from finite samples it is biased upwards: two independent samples of size n from the SAME
distribution already differ by about 1/2 sum_i sqrt(2 p_i (1 - p_i) / n) sqrt(2 / pi) (for n = 1000 and
six equally likely colours, ~0.03).  Benchmarks print that floor next to the numbers it qualifies.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import numpy as np

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def distribution(codes: np.ndarray, k: int) -> np.ndarray:
    """Empirical distribution (k,) of integer codes in 0..k-1."""
    codes = np.asarray(codes, dtype=np.int64)
    if codes.size == 0:
        return np.full(k, np.nan)
    return np.bincount(codes, minlength=k)[:k] / len(codes)


def tvd(p: np.ndarray, q: np.ndarray) -> float:
    """Total variation distance 1/2 sum |p - q| between two distributions on the same categories."""
    return 0.5 * float(np.abs(np.asarray(p, dtype=np.float64) - np.asarray(q, dtype=np.float64)).sum())


def sample_tvd(a: np.ndarray, b: np.ndarray, k: int) -> float:
    """TVD between the empirical distributions of two samples of codes in 0..k-1."""
    return tvd(distribution(a, k), distribution(b, k))


def expected_tvd_floor(p: np.ndarray, n: int, m: int | None = None) -> float:
    """Approximate E[TVD] between the empirical distribution of n draws from p and either p itself
    (``m is None``) or an independent empirical distribution of m draws: each cell's difference is
    ~normal with variance p(1-p)(1/n + 1/m), and E|N(0, s^2)| = s sqrt(2/pi)."""
    p = np.asarray(p, dtype=np.float64)
    var = p * (1 - p) * (1.0 / n + (1.0 / m if m else 0.0))
    return 0.5 * float(np.sqrt(2 * var / np.pi).sum())


def rate_change(a: np.ndarray, b: np.ndarray) -> float:
    """Percentage points: 100 (mean(b) - mean(a)) for binary samples a, b."""
    return 100.0 * (float(np.mean(b)) - float(np.mean(a)))


class Stopwatch:
    """Accumulates wall time per label: ``with watch("train Y"): ...``; ``watch.seconds[label]``."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}
        self.counts: dict[str, int] = {}

    def __call__(self, label: str, count: int = 0) -> _Lap:
        return _Lap(self, label, count)


class _Lap:
    def __init__(self, watch: Stopwatch, label: str, count: int) -> None:
        self.watch, self.label, self.count = watch, label, count

    def __enter__(self) -> _Lap:
        self.start = time.perf_counter()
        return self

    def __exit__(self, *exc: Any) -> None:
        w = self.watch
        w.seconds[self.label] = w.seconds.get(self.label, 0.0) + time.perf_counter() - self.start
        w.counts[self.label] = w.counts.get(self.label, 0) + self.count


def format_table(headers: Sequence[str], rows: Iterable[Sequence[Any]], floatfmt: str = "{:.3f}") -> str:
    """A plain-text table with aligned columns (numbers right-aligned, floats via ``floatfmt``)."""

    def cell(v: Any) -> str:
        if isinstance(v, float | np.floating):
            return "-" if np.isnan(v) else floatfmt.format(v)
        return str(v)

    body = [[cell(v) for v in r] for r in rows]
    widths = [max(len(h), *(len(r[i]) for r in body)) if body else len(h) for i, h in enumerate(headers)]

    def line(cells: Sequence[str], numeric: Sequence[bool]) -> str:
        return "  ".join(c.rjust(w) if num else c.ljust(w) for c, w, num in zip(cells, widths, numeric, strict=True))

    numeric = [all(_is_number(r[i]) for r in body) and bool(body) for i in range(len(headers))]
    out = [line(list(headers), numeric), "  ".join("-" * w for w in widths)]
    out += [line(r, numeric) for r in body]
    return "\n".join(out)


def _is_number(s: str) -> bool:
    try:
        float(s.rstrip("%x"))
        return True
    except ValueError:
        return s == "-"


def log_to(stream=None) -> Callable[[str], None]:
    """A print that flushes at once (benchmarks run under nohup with output to a file)."""

    def log(msg: str = "") -> None:
        print(msg, file=stream or sys.stdout, flush=True)

    return log


def read_with_retry(probe, images, log: Callable[[str], None] = print, wait_s: float = 60.0, tries: int = 30):
    """``probe.read(images)``, retried while the probe's weights are missing or its module is being
    rewritten (probes are retrained by a separate script): hours of training must not be lost to a
    read that would succeed a minute later."""
    from core.errors import WorkbenchError

    for attempt in range(tries):
        try:
            return probe.read(images)
        except (WorkbenchError, ImportError) as e:
            if attempt == tries - 1:
                raise
            log(f"  probe not readable yet ({e}); retrying in {wait_s:.0f} s")
            time.sleep(wait_s)


def training_progress(log: Callable[[str], None], threads: int = 1, idle_threads: int | None = None,
                      every: int = 500) -> Callable[[int, float], None]:
    """A mechanism ``fit`` callback: logs the loss every ``every`` steps and, with ``idle_threads``,
    uses that many torch threads while the 1-minute load average is below 2.5 (the CPU is shared:
    take the whole machine only when the other jobs are gone), checked every 100 steps."""

    def progress(step: int, loss: float) -> None:
        if step % every == 0:
            log(f"    step {step}: loss {loss:.4f}")
        if idle_threads and step % 100 == 0:
            import torch

            torch.set_num_threads(idle_threads if os.getloadavg()[0] < 2.5 else threads)

    return progress


def set_threads(n: int = 1) -> None:
    """Keep torch to ``n`` threads: the CPU is shared."""
    import torch

    torch.set_num_threads(n)
