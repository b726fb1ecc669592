"""Estimand JSON (the TREE contract of docs/architecture.md): write a tree, read one back with its errors named.

Each node is an object with an ``op``: ``{"op": "P", "vars": [...], "given": [...]}``,
``{"op": "sum", "over": [...], "of": TREE}``, ``{"op": "prod", "of": [TREE, ...]}``,
``{"op": "frac", "num": TREE, "den": TREE}``, ``{"op": "one"}``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping

from core.errors import WorkbenchError
from core.graph.node import JSONValue
from core.identify.estimand.tree import ONE, Estimand, Fraction, One, P, Product, Sum


def to_json(e: Estimand) -> dict[str, JSONValue]:
    """The TREE of ``e``."""
    if isinstance(e, P):
        return {"op": "P", "vars": list(e.vars), "given": list(e.given)}
    if isinstance(e, Sum):
        return {"op": "sum", "over": list(e.over), "of": to_json(e.of)}
    if isinstance(e, Product):
        return {"op": "prod", "of": [to_json(f) for f in e.of]}
    if isinstance(e, Fraction):
        return {"op": "frac", "num": to_json(e.num), "den": to_json(e.den)}
    if isinstance(e, One):
        return {"op": "one"}
    raise TypeError(f"not an estimand: {e!r}")


def from_json(obj: str | Mapping[str, JSONValue]) -> Estimand:
    """Read a TREE (a dict, or its JSON text) back; a WorkbenchError names the first bad node."""
    if isinstance(obj, str):
        try:
            obj = json.loads(obj)
        except json.JSONDecodeError as e:
            raise WorkbenchError(f"estimand JSON is not valid JSON: {e.msg} at line {e.lineno}") from None
    return _from_json(obj, "estimand")


def _names_list(obj: Mapping[str, object], key: str, where: str, required: bool = True) -> tuple[str, ...]:
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


def _from_json(obj: object, where: str) -> Estimand:
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

