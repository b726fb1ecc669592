"""Estimands: immutable expression trees over the observational distribution, and their evaluation.

An estimand is built from five node kinds (frozen dataclasses, hashable, shared freely):

* ``P(vars, given)``   the conditional P(vars | given) of the OBSERVATIONAL distribution;
* ``Sum(over, of)``    sum_{over} of, where ``over`` is bound inside ``of`` (scoped like a lambda: a
                       name bound here may also be free elsewhere, meaning a different variable);
* ``Product(of)``      the product of the factors;
* ``Fraction(num, den)``;
* ``One()``            the constant 1.

The tree prints as text (:meth:`Estimand.to_text`), LaTeX (:meth:`Estimand.to_latex`, valid for
``st.latex`` / KaTeX) and JSON (:meth:`Estimand.to_json`, the TREE contract of DESIGN.md), and reads
back with :func:`from_json`.

Build trees with the smart constructors :func:`p`, :func:`sum_of`, :func:`product_of` and
:func:`fraction_of`: they simplify with exact identities only (assuming, as identification does,
that every conditioning event has positive probability):

* sum_{w} f g(w) = f sum_{w} g(w)                                  (constants leave the sum)
* sum_{w} P(A | C) = P(A \\ w | C) when w in A and w appears in no other factor
* P(A | B, C) P(B | C) = P(A, B | C)                                (chain rule)
* f g / (f h) = g / h;  P(A, B | C) / P(B | C) = P(A | B, C);  P(vars = {} | C) = 1
* products and sums flatten; a product of fractions becomes one fraction (so chains telescope).

A sum over a variable that appears nowhere in its body is NOT dropped: sum_{w} f = |W| f.

Evaluation is exact and vectorised: :meth:`Estimand.table` computes the whole table over chosen free
variables from any :class:`Distribution` (an exact :class:`JointTable` or an :class:`EmpiricalJoint`
built from a discrete data frame, i.e. the plug-in estimate).  Free variables of the tree that the
caller does not ask for (for example W2 in the napkin formula, on which ID guarantees the value does
not depend) are averaged out with weights P(those variables), skipping slices where a conditioning
event has probability zero.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

from core.errors import WorkbenchError

# --------------------------------------------------------------------------------------------------
# The tree


class Estimand:
    """Base of the five node kinds.  ``free`` is the set of free variable names (cached)."""

    free: frozenset[str]

    # ---- printing

    def to_text(self) -> str:
        """Plain text, e.g. ``sum_{W1} P(X, Y | W1, W2) P(W1) / sum_{W1} P(X | W1, W2) P(W1)``."""
        return _text(self, _Names(self.free))

    def to_latex(self) -> str:
        """LaTeX for ``st.latex`` / KaTeX."""
        return _latex(self, _Names(self.free))

    def to_json(self) -> dict[str, Any]:
        """The TREE contract of DESIGN.md."""
        raise NotImplementedError

    def dumps(self) -> str:
        return json.dumps(self.to_json())

    def __str__(self) -> str:
        return self.to_text()

    # ---- evaluation

    def table(self, joint: Distribution, free_vars: Sequence[str]) -> np.ndarray:
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
        vars_, arr = _evaluate(self, joint, {}, events)
        extra = [v for v in vars_ if v not in free_vars]
        if extra:
            arr = _average_out(vars_, arr, extra, joint)
            vars_ = tuple(v for v in vars_ if v not in extra)
        arr = _align(vars_, arr, free_vars, joint)
        if np.isnan(arr).any():
            raise WorkbenchError(_undefined_message(self, events))
        return arr

    def evaluate(self, joint: Distribution, assignment: Mapping[str, int]) -> float:
        """The value at one assignment (a mapping name -> level index) of the free variables."""
        names = list(assignment)
        for v in names:
            level = assignment[v]
            if not isinstance(level, (int, np.integer)) or not 0 <= int(level) < joint.card(v):
                raise WorkbenchError(f"{v}={level!r} is not a level of {v} (0..{joint.card(v) - 1})")
        missing = sorted(self.free - set(names), key=str)
        # Restricting the table to the assignment first keeps this cheap and avoids demanding data
        # for cells nobody asked about.
        events: list[str] = []
        fixed = {v: int(assignment[v]) for v in names}
        vars_, arr = _evaluate(self, joint, fixed, events)
        if missing:
            arr = _average_out(vars_, arr, missing, joint)
            vars_ = tuple(v for v in vars_ if v not in missing)
        value = float(np.asarray(arr).reshape(-1)[0]) if np.asarray(arr).size == 1 else float("nan")
        if np.isnan(value):
            raise WorkbenchError(_undefined_message(self, events))
        return value

    def estimate(self, data: Any, assignment: Mapping[str, int], cards: Mapping[str, int] | None = None) -> float:
        """Plug-in estimate at one assignment from a discrete data frame (empirical conditionals)."""
        return self.evaluate(EmpiricalJoint.from_dataframe(data, cards), assignment)


def _cache(obj: Any, **values: Any) -> None:
    for k, v in values.items():
        object.__setattr__(obj, k, v)


@dataclass(frozen=True, eq=False)
class P(Estimand):
    """P(vars | given) of the observational distribution."""

    vars: tuple[str, ...]
    given: tuple[str, ...] = ()
    free: frozenset[str] = field(init=False, repr=False)
    var_set: frozenset[str] = field(init=False, repr=False)
    given_set: frozenset[str] = field(init=False, repr=False)
    _h: int = field(init=False, repr=False)

    def __post_init__(self) -> None:
        _cache(self, vars=tuple(self.vars), given=tuple(self.given))
        vs, gs = frozenset(self.vars), frozenset(self.given)
        if not self.vars:
            raise ValueError("P() needs at least one variable; use One() (p() does this for you)")
        if len(vs) != len(self.vars) or len(gs) != len(self.given) or vs & gs:
            raise ValueError(f"P({self.vars} | {self.given}): repeated variable")
        _cache(self, free=vs | gs, var_set=vs, given_set=gs, _h=hash(("P", vs, gs)))

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, P)
            and self._h == other._h
            and self.var_set == other.var_set
            and self.given_set == other.given_set
        )

    def __hash__(self) -> int:
        return self._h

    def to_json(self) -> dict[str, Any]:
        return {"op": "P", "vars": list(self.vars), "given": list(self.given)}


@dataclass(frozen=True, eq=False)
class Sum(Estimand):
    """sum over ``over`` of ``of`` (``over`` is bound inside ``of``)."""

    over: tuple[str, ...]
    of: Estimand
    free: frozenset[str] = field(init=False, repr=False)
    _h: int = field(init=False, repr=False)

    def __post_init__(self) -> None:
        _cache(self, over=tuple(self.over))
        if len(set(self.over)) != len(self.over):
            raise ValueError(f"sum over a repeated variable: {self.over}")
        _cache(self, free=self.of.free - set(self.over), _h=hash(("S", frozenset(self.over), self.of)))

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, Sum)
            and self._h == other._h
            and set(self.over) == set(other.over)
            and self.of == other.of
        )

    def __hash__(self) -> int:
        return self._h

    def to_json(self) -> dict[str, Any]:
        return {"op": "sum", "over": list(self.over), "of": self.of.to_json()}


@dataclass(frozen=True, eq=False)
class Product(Estimand):
    """The product of ``of`` (equality ignores the order of factors)."""

    of: tuple[Estimand, ...]
    free: frozenset[str] = field(init=False, repr=False)
    _h: int = field(init=False, repr=False)

    def __post_init__(self) -> None:
        _cache(self, of=tuple(self.of))
        free: frozenset[str] = frozenset().union(*(f.free for f in self.of)) if self.of else frozenset()
        _cache(self, free=free, _h=hash(("X", frozenset(Counter(self.of).items()))))

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, Product)
            and self._h == other._h
            and len(self.of) == len(other.of)
            and Counter(self.of) == Counter(other.of)
        )

    def __hash__(self) -> int:
        return self._h

    def to_json(self) -> dict[str, Any]:
        return {"op": "prod", "of": [f.to_json() for f in self.of]}


@dataclass(frozen=True, eq=False)
class Fraction(Estimand):
    """num / den."""

    num: Estimand
    den: Estimand
    free: frozenset[str] = field(init=False, repr=False)
    _h: int = field(init=False, repr=False)

    def __post_init__(self) -> None:
        _cache(self, free=self.num.free | self.den.free, _h=hash(("F", self.num, self.den)))

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Fraction) and self._h == other._h and self.num == other.num and self.den == other.den

    def __hash__(self) -> int:
        return self._h

    def to_json(self) -> dict[str, Any]:
        return {"op": "frac", "num": self.num.to_json(), "den": self.den.to_json()}


@dataclass(frozen=True, eq=False)
class One(Estimand):
    """The constant 1."""

    free: frozenset[str] = field(init=False, repr=False, default=frozenset())

    def __eq__(self, other: object) -> bool:
        return isinstance(other, One)

    def __hash__(self) -> int:
        return hash("One")

    def to_json(self) -> dict[str, Any]:
        return {"op": "one"}


ONE = One()


# --------------------------------------------------------------------------------------------------
# Smart constructors (exact simplification)


def p(vars: Iterable[str], given: Iterable[str] = ()) -> Estimand:
    """P(vars | given); variables listed in both are dropped from ``given``; no vars -> One."""
    vs = tuple(dict.fromkeys(vars))
    if not vs:
        return ONE
    gs = tuple(g for g in dict.fromkeys(given) if g not in vs)
    return P(vs, gs)


def product_of(factors: Iterable[Estimand]) -> Estimand:
    """Flattened product with chain-rule merging; a product containing fractions becomes one fraction."""
    flat: list[Estimand] = []
    for f in factors:
        if isinstance(f, Product):
            flat.extend(f.of)
        elif not isinstance(f, One):
            flat.append(f)
    if any(isinstance(f, Fraction) for f in flat):
        nums = [f.num if isinstance(f, Fraction) else f for f in flat]
        dens = [f.den for f in flat if isinstance(f, Fraction)]
        return fraction_of(product_of(nums), product_of(dens))
    flat = _merge_chain_rule(flat)
    if not flat:
        return ONE
    if len(flat) == 1:
        return flat[0]
    return Product(tuple(flat))


def _merge_chain_rule(factors: list[Estimand]) -> list[Estimand]:
    """P(A | B, C) P(B | C) -> P(B, A | C), repeatedly.  Exact.

    A worklist over two indexes (factors by scope = vars u given, and by given) keeps this linear in
    the number of merges rather than rescanning the product after each one."""
    out: list[Estimand | None] = list(factors)
    by_scope: dict[frozenset[str], set[int]] = {}
    by_given: dict[frozenset[str], set[int]] = {}
    for i, f in enumerate(out):
        if isinstance(f, P):
            by_scope.setdefault(f.free, set()).add(i)
            by_given.setdefault(f.given_set, set()).add(i)
    work = [i for i in range(len(out) - 1, -1, -1) if isinstance(out[i], P) and out[i].given]
    while work:
        i = work.pop()
        f = out[i]
        if not isinstance(f, P) or not f.given:
            continue
        candidates = by_scope.get(f.given_set)
        partner = min((j for j in candidates if j != i), default=None) if candidates else None
        if partner is None:
            continue
        g = out[partner]
        assert isinstance(g, P)
        # g = P(B | C) with B u C = given(f); f = P(A | B, C)  ->  P(B, A | C), at the earlier place
        merged = P(g.vars + f.vars, g.given)
        keep, drop = min(i, partner), max(i, partner)
        for k, old in ((i, f), (partner, g)):
            by_scope[old.free].discard(k)
            by_given[old.given_set].discard(k)
        out[drop] = None
        out[keep] = merged
        by_scope.setdefault(merged.free, set()).add(keep)
        by_given.setdefault(merged.given_set, set()).add(keep)
        work.append(keep)
        work.extend(by_given.get(merged.free, ()))
    return [f for f in out if f is not None]


def sum_of(over: Iterable[str], body: Estimand) -> Estimand:
    """sum_{over} body, simplified: constants leave the sum, marginals of P terms are taken,
    independent groups of summed variables become separate sums."""
    over_t = tuple(dict.fromkeys(over))
    if not over_t:
        return body
    unused = tuple(v for v in over_t if v not in body.free)
    over_set = set(over_t) - set(unused)
    if unused:
        # sum_{w} f = |W| f: keep it exact (the recursion never builds one of these).
        inner = sum_of([v for v in over_t if v in over_set], body)
        return Sum(unused, inner)
    if isinstance(body, Sum) and not (set(body.over) & over_set):
        return sum_of(tuple(over_t) + body.over, body.of)
    if isinstance(body, Fraction) and not (body.den.free & over_set):
        return fraction_of(sum_of(over_t, body.num), body.den)
    factors = list(body.of) if isinstance(body, Product) else [body]
    outside = [f for f in factors if not (f.free & over_set)]
    inside = [f for f in factors if f.free & over_set]
    over_left = [v for v in over_t if v in over_set]
    # Marginalise: a summed variable that is a head of exactly one P factor and appears nowhere else.
    changed = True
    while changed:
        changed = False
        for v in list(over_left):
            users = [i for i, f in enumerate(inside) if v in f.free]
            if len(users) == 1:
                f = inside[users[0]]
                if isinstance(f, P) and v in f.vars:
                    inside[users[0]] = p([u for u in f.vars if u != v], f.given)
                    over_left.remove(v)
                    changed = True
        inside = [f for f in inside if not isinstance(f, One)]
    if not over_left:
        return product_of(outside + inside)
    groups = _connected_groups(over_left, inside)
    sums = []
    for group_vars, group_factors in groups:
        g_body = product_of(group_factors) if len(group_factors) != 1 else group_factors[0]
        sums.append(Sum(tuple(group_vars), g_body))
    rest = [f for f in inside if not any(f.free & set(gv) for gv, _ in groups)]
    return _product_no_merge(outside + rest + sums)


def _product_no_merge(factors: list[Estimand]) -> Estimand:
    flat = [f for f in factors if not isinstance(f, One)]
    if any(isinstance(f, Fraction) for f in flat):
        return product_of(flat)
    if not flat:
        return ONE
    if len(flat) == 1:
        return flat[0]
    return Product(tuple(_merge_chain_rule(flat)))


def _connected_groups(over: list[str], factors: list[Estimand]) -> list[tuple[list[str], list[Estimand]]]:
    """Split summed variables into groups that share no factor (each group is its own sum)."""
    groups: list[tuple[list[str], list[Estimand]]] = []
    left = list(over)
    used: set[int] = set()
    while left:
        seed = left[0]
        vars_ = {seed}
        idx: set[int] = set()
        grew = True
        while grew:
            grew = False
            for i, f in enumerate(factors):
                if i not in idx and f.free & vars_:
                    idx.add(i)
                    new = (f.free & set(left)) - vars_
                    if new:
                        vars_ |= new
                    grew = True
        groups.append(([v for v in left if v in vars_], [factors[i] for i in sorted(idx)]))
        used |= idx
        left = [v for v in left if v not in vars_]
    return groups


def fraction_of(num: Estimand, den: Estimand) -> Estimand:
    """num / den with common factors cancelled and P(A, B | C) / P(B | C) -> P(A | B, C)."""
    if isinstance(num, Fraction):
        return fraction_of(num.num, product_of([num.den, den]))
    if isinstance(den, Fraction):
        return fraction_of(product_of([num, den.den]), den.num)
    if isinstance(den, One):
        return num
    nums = list(num.of) if isinstance(num, Product) else ([] if isinstance(num, One) else [num])
    dens = list(den.of) if isinstance(den, Product) else [den]
    # Cancel common factors (as multisets).
    for d in list(dens):
        if d in nums:
            nums.remove(d)
            dens.remove(d)
    # Conditionalise: P(A | C) ... / P(B | C) with B a subset of A -> P(A \ B | B, C) ...
    changed = True
    while changed:
        changed = False
        for d in dens:
            if not isinstance(d, P):
                continue
            for i, n in enumerate(nums):
                if isinstance(n, P) and n.given_set == d.given_set and d.var_set <= n.var_set:
                    nums[i] = p([v for v in n.vars if v not in d.vars], d.vars + d.given)
                    dens.remove(d)
                    changed = True
                    break
            if changed:
                break
    num_e = product_of(nums)
    if not dens:
        return num_e
    den_e = product_of(dens)
    if isinstance(den_e, One):
        return num_e
    return Fraction(num_e, den_e)


# --------------------------------------------------------------------------------------------------
# JSON


def from_json(obj: Any) -> Estimand:
    """Read a TREE (a dict, or its JSON text) back; a WorkbenchError names the first bad node."""
    if isinstance(obj, str):
        try:
            obj = json.loads(obj)
        except json.JSONDecodeError as e:
            raise WorkbenchError(f"estimand JSON is not valid JSON: {e.msg} at line {e.lineno}") from None
    return _from_json(obj, "estimand")


def _names_list(obj: Mapping[str, Any], key: str, where: str, required: bool = True) -> tuple[str, ...]:
    if key not in obj:
        if required:
            raise WorkbenchError(f"{where}: missing {key!r}")
        return ()
    value = obj[key]
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise WorkbenchError(f"{where}: {key!r} must be a list of variable names, got {value!r}")
    if len(set(value)) != len(value):
        raise WorkbenchError(f"{where}: {key!r} lists a variable twice: {value!r}")
    return tuple(value)


def _from_json(obj: Any, where: str) -> Estimand:
    if not isinstance(obj, Mapping) or "op" not in obj:
        raise WorkbenchError(f"{where}: expected an object with an 'op', got {str(obj)[:60]!r}")
    op = obj["op"]
    if op == "P":
        vs = _names_list(obj, "vars", where)
        gs = _names_list(obj, "given", where, required=False)
        if not vs:
            raise WorkbenchError(f"{where}: P needs at least one variable (use {{'op': 'one'}})")
        if set(vs) & set(gs):
            raise WorkbenchError(f"{where}: P lists {sorted(set(vs) & set(gs))} both as vars and given")
        return P(vs, gs)
    if op == "sum":
        over = _names_list(obj, "over", where)
        if "of" not in obj:
            raise WorkbenchError(f"{where}: sum without 'of'")
        return Sum(over, _from_json(obj["of"], where + ".of"))
    if op == "prod":
        of = obj.get("of")
        if not isinstance(of, list):
            raise WorkbenchError(f"{where}: prod needs a list 'of'")
        return Product(tuple(_from_json(f, f"{where}.of[{i}]") for i, f in enumerate(of)))
    if op == "frac":
        if "num" not in obj or "den" not in obj:
            raise WorkbenchError(f"{where}: frac needs 'num' and 'den'")
        return Fraction(_from_json(obj["num"], where + ".num"), _from_json(obj["den"], where + ".den"))
    if op == "one":
        return ONE
    raise WorkbenchError(f"{where}: unknown op {op!r} (one of P, sum, prod, frac, one)")


# --------------------------------------------------------------------------------------------------
# Printing.  A bound variable that shadows a name already in use is printed primed (X'), so the
# front-door formula reads sum_{M} P(M | X) sum_{X'} P(X') P(Y | X', M).


class _Names:
    def __init__(self, in_use: Iterable[str], rename: Mapping[str, str] | None = None) -> None:
        self.in_use = set(in_use)
        self.rename = dict(rename or {})

    def bind(self, over: Sequence[str]) -> tuple[_Names, list[str]]:
        in_use = set(self.in_use)
        rename = dict(self.rename)
        shown = []
        for v in over:
            name = v
            while name in in_use:
                name += "'"
            in_use.add(name)
            rename[v] = name
            shown.append(name)
        return _Names(in_use, rename), shown

    def __call__(self, v: str) -> str:
        return self.rename.get(v, v)


def _text(e: Estimand, names: _Names) -> str:
    if isinstance(e, One):
        return "1"
    if isinstance(e, P):
        vs = ", ".join(names(v) for v in e.vars)
        if e.given:
            return f"P({vs} | {', '.join(names(v) for v in e.given)})"
        return f"P({vs})"
    if isinstance(e, Sum):
        inner, shown = names.bind(e.over)
        body = _text(e.of, inner)
        if isinstance(e.of, Fraction):  # the sum covers the whole fraction
            body = f"({body})"
        return f"sum_{{{', '.join(shown)}}} {body}"
    if isinstance(e, Product):
        parts = []
        for i, f in enumerate(e.of):
            s = _text(f, names)
            last = i == len(e.of) - 1
            if isinstance(f, Fraction) or (isinstance(f, Sum) and not last):
                s = f"[{s}]"
            parts.append(s)
        return " ".join(parts)
    if isinstance(e, Fraction):
        num, den = _text(e.num, names), _text(e.den, names)
        if not isinstance(e.num, (P, One)):
            num = f"[{num}]"
        if not isinstance(e.den, (P, One)):
            den = f"[{den}]"
        return f"{num} / {den}"
    raise TypeError(f"not an estimand: {e!r}")


_SIMPLE_INDEXED = re.compile(r"([A-Za-z]+)([0-9]+)('*)")
_SIMPLE = re.compile(r"([A-Za-z])('*)")


def latex_name(name: str) -> str:
    """W1 -> W_{1}; X -> X; other names upright with escaped underscores; primes kept."""
    m = _SIMPLE_INDEXED.fullmatch(name)
    if m:
        letters, digits, primes = m.groups()
        base = letters if len(letters) == 1 else rf"\mathrm{{{letters}}}"
        return f"{base}_{{{digits}}}{primes}"
    m = _SIMPLE.fullmatch(name)
    if m:
        return name
    stem = name.rstrip("'")
    primes = name[len(stem) :]
    return r"\mathrm{" + stem.replace("_", r"\_") + "}" + primes


def _latex(e: Estimand, names: _Names) -> str:
    if isinstance(e, One):
        return "1"
    if isinstance(e, P):
        vs = ", ".join(latex_name(names(v)) for v in e.vars)
        if e.given:
            return rf"P\left({vs} \mid {', '.join(latex_name(names(v)) for v in e.given)}\right)"
        return rf"P\left({vs}\right)"
    if isinstance(e, Sum):
        inner, shown = names.bind(e.over)
        return rf"\sum_{{{', '.join(latex_name(v) for v in shown)}}} {_latex(e.of, inner)}"
    if isinstance(e, Product):
        parts = []
        for i, f in enumerate(e.of):
            s = _latex(f, names)
            if isinstance(f, Sum) and i != len(e.of) - 1:
                s = rf"\left[{s}\right]"
            parts.append(s)
        return r" \, ".join(parts)
    if isinstance(e, Fraction):
        return rf"\frac{{{_latex(e.num, names)}}}{{{_latex(e.den, names)}}}"
    raise TypeError(f"not an estimand: {e!r}")


# --------------------------------------------------------------------------------------------------
# Distributions to evaluate on


class Distribution(Protocol):
    """What evaluation needs: cardinalities and marginal tables."""

    def card(self, name: str) -> int: ...

    def marginal(self, names: Sequence[str]) -> np.ndarray: ...


class JointTable:
    """An exact discrete joint: ``probs[i1, ..., ik] = P(names[0] = i1, ..., names[k-1] = ik)``.

    Marginals are computed on demand (vectorised sums over axes) and cached.
    """

    def __init__(self, names: Sequence[str], cards: Sequence[int], probs: np.ndarray) -> None:
        names = tuple(names)
        probs = np.asarray(probs, dtype=np.float64)
        if len(set(names)) != len(names):
            raise WorkbenchError(f"joint table lists a variable twice: {', '.join(names)}")
        if tuple(probs.shape) != tuple(int(c) for c in cards):
            raise WorkbenchError(f"joint table shape {probs.shape} does not match cardinalities {tuple(cards)}")
        if (probs < 0).any() or not np.isclose(probs.sum(), 1.0, atol=1e-9):
            raise WorkbenchError(f"joint table is not a probability distribution (sum {probs.sum():.6g})")
        self.names = names
        self.cards = tuple(int(c) for c in cards)
        self.probs = probs
        self._index = {v: i for i, v in enumerate(names)}
        self._cache: dict[tuple[str, ...], np.ndarray] = {}

    def card(self, name: str) -> int:
        try:
            return self.cards[self._index[name]]
        except KeyError:
            raise WorkbenchError(f"unknown variable {name!r} (the distribution has {', '.join(self.names)})") from None

    def marginal(self, names: Sequence[str]) -> np.ndarray:
        """P(names) as an array with axes in the order of ``names``."""
        key = tuple(names)
        hit = self._cache.get(key)
        if hit is not None:
            return hit
        for v in key:
            self.card(v)
        keep = sorted(self._index[v] for v in key)
        drop = tuple(i for i in range(len(self.names)) if i not in keep)
        arr = self.probs.sum(axis=drop) if drop else self.probs
        kept_names = [self.names[i] for i in keep]
        arr = np.transpose(arr, [kept_names.index(v) for v in key]) if key else np.asarray(arr)
        self._cache[key] = arr
        return arr

    def conditional(self, vars: Sequence[str], given: Sequence[str] = ()) -> np.ndarray:
        """P(vars | given) with axes (vars..., given...); NaN where P(given) = 0."""
        joint = self.marginal(tuple(vars) + tuple(given))
        den = self.marginal(tuple(given)).reshape((1,) * len(vars) + tuple(self.card(g) for g in given))
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(den > 0, joint / np.where(den > 0, den, 1.0), np.nan)


class EmpiricalJoint:
    """The empirical distribution of a discrete data frame (columns hold level indices 0..k-1).

    Marginals are counted on demand (``np.bincount`` over mixed-radix codes), so wide tables never
    materialise the full joint.  This is what makes ``Estimand.evaluate`` a plug-in estimator.
    """

    def __init__(self, columns: Mapping[str, np.ndarray], cards: Mapping[str, int]) -> None:
        self.columns = {k: np.asarray(v, dtype=np.int64) for k, v in columns.items()}
        self.cards = dict(cards)
        lengths = {len(v) for v in self.columns.values()}
        if len(lengths) > 1:
            raise WorkbenchError("data columns have different lengths")
        self.n = lengths.pop() if lengths else 0
        if self.n == 0:
            raise WorkbenchError("the data table has no rows")
        self._cache: dict[tuple[str, ...], np.ndarray] = {}

    @classmethod
    def from_dataframe(cls, data: Any, cards: Mapping[str, int] | None = None) -> EmpiricalJoint:
        """Columns must hold integer levels 0..k-1; ``cards`` gives k (default: max + 1)."""
        cards = dict(cards or {})
        columns: dict[str, np.ndarray] = {}
        for name in data.columns:
            raw = np.asarray(data[name])
            if raw.dtype.kind not in "iub":
                if raw.dtype.kind == "f" and np.all(np.isfinite(raw)) and np.all(raw == np.round(raw)):
                    raw = raw.astype(np.int64)
                else:
                    raise WorkbenchError(f"column {name!r} is not discrete (integer levels 0..k-1 expected)")
            col = raw.astype(np.int64)
            if len(col) and col.min() < 0:
                raise WorkbenchError(f"column {name!r} has a negative level {int(col.min())}")
            k = cards.get(name, int(col.max()) + 1 if len(col) else 1)
            if len(col) and col.max() >= k:
                raise WorkbenchError(f"column {name!r} has level {int(col.max())} but only {k} levels")
            columns[str(name)] = col
            cards[str(name)] = int(k)
        return cls(columns, {k: v for k, v in cards.items() if k in columns})

    def card(self, name: str) -> int:
        try:
            return self.cards[name]
        except KeyError:
            raise WorkbenchError(f"the data has no column {name!r} (columns: {', '.join(self.columns)})") from None

    def marginal(self, names: Sequence[str]) -> np.ndarray:
        key = tuple(names)
        hit = self._cache.get(key)
        if hit is not None:
            return hit
        shape = tuple(self.card(v) for v in key)
        if not key:
            return np.asarray(1.0)
        code = np.zeros(self.n, dtype=np.int64)
        for v in key:
            code = code * self.card(v) + self.columns[v]
        counts = np.bincount(code, minlength=int(np.prod(shape)))
        arr = (counts / self.n).reshape(shape)
        self._cache[key] = arr
        return arr


# --------------------------------------------------------------------------------------------------
# Vectorised evaluation.  A factor is (names, array with one axis per name).  ``fixed`` holds
# free variables already set to one level (their axes are sliced away as early as possible).

Factor = tuple[tuple[str, ...], np.ndarray]


def _evaluate(e: Estimand, joint: Distribution, fixed: Mapping[str, int], events: list[str]) -> Factor:
    memo: dict[tuple[int, frozenset[tuple[str, int]]], Factor] = {}
    return _eval(e, joint, dict(fixed), events, memo)


def _eval(e: Estimand, joint: Distribution, fixed: dict[str, int], events: list[str], memo: dict) -> Factor:
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


def _eval_node(e: Estimand, joint: Distribution, fixed: dict[str, int], events: list[str], memo: dict) -> Factor:
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
