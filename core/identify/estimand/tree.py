"""The estimand tree: five immutable node kinds over the observational distribution.

* ``P(vars, given)``   the conditional P(vars | given) of the OBSERVATIONAL distribution;
* ``Sum(over, of)``    sum_{over} of, where ``over`` is bound inside ``of`` (scoped like a lambda: a
                       name bound here may also be free elsewhere, meaning a different variable);
* ``Product(of)``      the product of the factors;
* ``Fraction(num, den)``;
* ``One()``            the constant 1.

Nodes are frozen dataclasses, hashable and shared freely (equality ignores the order of a product's
factors and of a sum's variables).  Build them with the smart constructors of
``core.identify.estimand.simplify``; the methods of :class:`Estimand` print (``printers``), write
JSON (``tree_json``) and evaluate (``evaluation``).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from core.graph.node import JSONValue

if TYPE_CHECKING:
    import pandas as pd

    from core.identify.estimand.distributions import Distribution


class Estimand:
    """Base of the five node kinds.  ``free`` is the set of free variable names (cached)."""

    free: frozenset[str]

    # The methods delegate to the modules that do each job; those modules read the node kinds
    # defined here, hence the imports inside the methods.

    def to_text(self) -> str:
        """Plain text, e.g. ``sum_{W1} P(X, Y | W1, W2) P(W1) / sum_{W1} P(X | W1, W2) P(W1)``."""
        from core.identify.estimand.printers import to_text

        return to_text(self)

    def to_latex(self) -> str:
        """LaTeX for ``st.latex`` / KaTeX."""
        from core.identify.estimand.printers import to_latex

        return to_latex(self)

    def to_json(self) -> dict[str, JSONValue]:
        """The estimand JSON (TREE) contract of docs/architecture.md."""
        from core.identify.estimand.tree_json import to_json

        return to_json(self)

    def dumps(self) -> str:
        """:meth:`to_json` as JSON text."""
        import json

        return json.dumps(self.to_json())

    def __str__(self) -> str:
        return self.to_text()

    def table(self, joint: Distribution, free_vars: Sequence[str]) -> np.ndarray:
        """The value for every assignment of ``free_vars`` (``core.identify.estimand.evaluation.table``)."""
        from core.identify.estimand.evaluation import table

        return table(self, joint, free_vars)

    def evaluate(self, joint: Distribution, assignment: Mapping[str, int]) -> float:
        """The value at one assignment of the free variables (``evaluation.evaluate``)."""
        from core.identify.estimand.evaluation import evaluate

        return evaluate(self, joint, assignment)

    def estimate(self, data: pd.DataFrame, assignment: Mapping[str, int],
                 cards: Mapping[str, int] | None = None) -> float:
        """Plug-in estimate at one assignment from a discrete data frame (empirical conditionals)."""
        from core.identify.estimand.distributions import EmpiricalJoint

        return self.evaluate(EmpiricalJoint.from_dataframe(data, cards), assignment)


def _cache(obj: object, **values: object) -> None:
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


@dataclass(frozen=True, eq=False)
class One(Estimand):
    """The constant 1."""

    free: frozenset[str] = field(init=False, repr=False, default=frozenset())

    def __eq__(self, other: object) -> bool:
        return isinstance(other, One)

    def __hash__(self) -> int:
        return hash("One")


ONE = One()
