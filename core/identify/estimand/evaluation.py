"""Exact, vectorised evaluation of an estimand on a discrete distribution.

:func:`table` computes the whole table over chosen free variables from any
:class:`~core.identify.estimand.distributions.Distribution` (an exact ``JointTable``, or an
``EmpiricalJoint`` built from a discrete data frame, i.e. the plug-in estimate).  Free variables of
the tree that the caller does not ask for (for example W2 in the napkin formula, on which ID
guarantees the value does not depend) are averaged out with weights P(those variables), skipping
slices where a conditioning event has probability zero.

A factor is (names, array with one axis per name).  ``fixed`` holds free variables already set to
one level (their axes are sliced away as early as possible).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from core.errors import WorkbenchError
from core.identify.estimand.distributions import Distribution
from core.identify.estimand.tree import Estimand, Fraction, One, P, Product, Sum


def table(e: Estimand, joint: Distribution, free_vars: Sequence[str]) -> np.ndarray:
    """The value for every assignment of ``free_vars``: an array with one axis per name, in order.

    Free variables of the tree missing from ``free_vars`` are averaged out (weights P(them),
    over slices where the value is defined); names in ``free_vars`` the tree does not mention
    are broadcast.  Raises a WorkbenchError naming the conditioning event when a requested value
    is undefined because that event has probability zero (no data).
    """
    free_vars = list(free_vars)
    if len(set(free_vars)) != len(free_vars):
        raise WorkbenchError(f"free variables listed twice: {', '.join(free_vars)}")
    for v in free_vars:
        joint.card(v)  # names an unknown variable
    events: list[str] = []
    vars_, arr = _evaluate(e, joint, {}, events)
    extra = [v for v in vars_ if v not in free_vars]
    if extra:
        arr = _average_out(vars_, arr, extra, joint)
        vars_ = tuple(v for v in vars_ if v not in extra)
    arr = _align(vars_, arr, free_vars, joint)
    if np.isnan(arr).any():
        raise WorkbenchError(_undefined_message(e, events))
    return arr


def evaluate(e: Estimand, joint: Distribution, assignment: Mapping[str, int]) -> float:
    """The value at one assignment (a mapping name -> level index) of the free variables."""
    names = list(assignment)
    for v in names:
        level = assignment[v]
        if not isinstance(level, (int, np.integer)) or not 0 <= int(level) < joint.card(v):
            raise WorkbenchError(f"{v}={level!r} is not a level of {v} (0..{joint.card(v) - 1})")
    missing = sorted(e.free - set(names), key=str)
    # Restricting the table to the assignment first keeps this cheap and avoids demanding data
    # for cells nobody asked about.
    events: list[str] = []
    fixed = {v: int(assignment[v]) for v in names}
    vars_, arr = _evaluate(e, joint, fixed, events)
    if missing:
        arr = _average_out(vars_, arr, missing, joint)
        vars_ = tuple(v for v in vars_ if v not in missing)
    value = float(np.asarray(arr).reshape(-1)[0]) if np.asarray(arr).size == 1 else float("nan")
    if np.isnan(value):
        raise WorkbenchError(_undefined_message(e, events))
    return value


Factor = tuple[tuple[str, ...], np.ndarray]
Memo = dict[tuple[int, frozenset[tuple[str, int]]], Factor]  # (node id, its fixed free variables) -> value


def _evaluate(e: Estimand, joint: Distribution, fixed: Mapping[str, int], events: list[str]) -> Factor:
    memo: Memo = {}
    return _eval(e, joint, dict(fixed), events, memo)


def _eval(e: Estimand, joint: Distribution, fixed: dict[str, int], events: list[str], memo: Memo) -> Factor:
    relevant = frozenset((k, v) for k, v in fixed.items() if k in e.free)
    key = (id(e), relevant)
    hit = memo.get(key)
    if hit is not None:
        return hit
    out = _eval_node(e, joint, {k: v for k, v in relevant}, events, memo)
    memo[key] = out
    return out


def _slice(names: tuple[str, ...], arr: np.ndarray, fixed: Mapping[str, int]) -> Factor:
    if not any(v in fixed for v in names):
        return names, arr
    index = tuple(fixed[v] if v in fixed else slice(None) for v in names)
    return tuple(v for v in names if v not in fixed), arr[index]


def _eval_node(e: Estimand, joint: Distribution, fixed: dict[str, int], events: list[str], memo: Memo) -> Factor:
    if isinstance(e, One):
        return (), np.asarray(1.0)
    if isinstance(e, P):
        names = e.vars + e.given
        num = joint.marginal(names)
        den = joint.marginal(e.given)
        num_names, num = _slice(names, num, fixed)
        den_names, den = _slice(e.given, den, fixed)
        if (den == 0).any():
            _record_zero(events, e.given, den_names, den, fixed, f"P({', '.join(e.vars)} | {', '.join(e.given)})")
        den_b = _broadcast_to(den_names, den, num_names)
        with np.errstate(invalid="ignore", divide="ignore"):
            arr = np.where(den_b > 0, num / np.where(den_b > 0, den_b, 1.0), np.nan)
        return num_names, arr
    if isinstance(e, Sum):
        inner_fixed = {k: v for k, v in fixed.items() if k not in e.over}
        names, arr = _eval(e.of, joint, inner_fixed, events, memo)
        axes = tuple(i for i, v in enumerate(names) if v in e.over)
        # sum over a variable the body does not mention multiplies by its number of levels
        factor = 1
        for v in e.over:
            if v not in names:
                factor *= joint.card(v)
        arr = arr.sum(axis=axes) if axes else arr
        return tuple(v for v in names if v not in e.over), arr * factor if factor != 1 else arr
    if isinstance(e, Product):
        parts = [_eval(f, joint, fixed, events, memo) for f in e.of]
        return _multiply(parts)
    if isinstance(e, Fraction):
        num_names, num = _eval(e.num, joint, fixed, events, memo)
        den_names, den = _eval(e.den, joint, fixed, events, memo)
        names = tuple(dict.fromkeys(num_names + den_names))
        num_b = _broadcast_to(num_names, num, names)
        den_b = _broadcast_to(den_names, den, names)
        if (den == 0).any():
            _record_zero(events, den_names, den_names, den, fixed, None, e.den)
        with np.errstate(invalid="ignore", divide="ignore"):
            arr = np.where(den_b != 0, num_b / np.where(den_b != 0, den_b, 1.0), np.nan)
        return names, arr
    raise TypeError(f"not an estimand: {e!r}")


def _broadcast_to(names: tuple[str, ...], arr: np.ndarray, target: tuple[str, ...]) -> np.ndarray:
    """View ``arr`` (axes ``names``, a subset of ``target``) with singleton axes for the rest of target."""
    order = [names.index(v) for v in target if v in names]
    arr = np.transpose(arr, order) if names else np.asarray(arr)
    shape = []
    it = iter(arr.shape)
    for v in target:
        shape.append(next(it) if v in names else 1)
    return arr.reshape(shape)


def _multiply(parts: list[Factor]) -> Factor:
    names = tuple(dict.fromkeys(v for n, _ in parts for v in n))
    out = np.ones((1,) * len(names))
    for n, a in parts:
        out = out * _broadcast_to(n, a, names)
    return names, out


def _align(names: tuple[str, ...], arr: np.ndarray, target: Sequence[str], joint: Distribution) -> np.ndarray:
    target = tuple(target)
    arr = _broadcast_to(names, arr, target)
    return np.broadcast_to(arr, tuple(joint.card(v) for v in target)).copy()


def _average_out(names: tuple[str, ...], arr: np.ndarray, extra: Sequence[str], joint: Distribution) -> np.ndarray:
    """Average over ``extra`` axes with weights P(extra), ignoring slices where the value is NaN.

    Used only for variables the value does not depend on (ID guarantees it), so any weights give the
    same number; P(extra) makes the plug-in estimate use all the data."""
    extra = [v for v in extra if v in names]
    if not extra:
        return arr
    weights = _broadcast_to(tuple(extra), joint.marginal(tuple(extra)), names)
    weights = np.broadcast_to(weights, arr.shape)
    ok = ~np.isnan(arr)
    axes = tuple(names.index(v) for v in extra)
    w = np.where(ok, weights, 0.0)
    total = w.sum(axis=axes)
    weighted = (np.where(ok, arr, 0.0) * w).sum(axis=axes)
    return np.where(total > 0, weighted / np.where(total > 0, total, 1.0), np.nan)


def _record_zero(
    events: list[str],
    cond_names: Sequence[str],
    names: tuple[str, ...],
    den: np.ndarray,
    fixed: Mapping[str, int],
    term: str | None,
    den_expr: Estimand | None = None,
) -> None:
    where = np.argwhere(np.asarray(den) == 0)
    cell = dict(zip(names, (int(i) for i in where[0]), strict=True)) if len(where) else {}
    cell.update({k: v for k, v in fixed.items() if k in cond_names})
    event = ", ".join(f"{v}={cell[v]}" for v in cond_names if v in cell) or "(the whole table)"
    if term is not None:
        events.append(f"{term} needs data with {event}, and that event has probability zero (no rows)")
    else:
        assert den_expr is not None
        events.append(f"the denominator {den_expr.to_text()} is zero at {event} (no data for that event)")


def _undefined_message(e: Estimand, events: list[str]) -> str:
    if events:
        return f"cannot evaluate the estimand: {events[0]}"
    return "cannot evaluate the estimand: a conditioning event has probability zero"
