"""Estimands printed as plain text and as LaTeX (for ``st.latex`` / KaTeX).

A bound variable that shadows a name already in use is printed primed (X'), so the front-door
formula reads sum_{M} P(M | X) sum_{X'} P(X') P(Y | X', M).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence

from core.identify.estimand.tree import Estimand, Fraction, One, P, Product, Sum


def to_text(e: Estimand) -> str:
    """Plain text, e.g. ``[sum_{W1} P(W1) P(X, Y | W1, W2)] / [sum_{W1} P(W1) P(X | W1, W2)]``."""
    return _text(e, _Names(e.free))


def to_latex(e: Estimand) -> str:
    """LaTeX for ``st.latex`` / KaTeX."""
    return _latex(e, _Names(e.free))


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

