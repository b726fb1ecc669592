"""The built-in worlds by name, with a parameter schema the Data page and the CLI both read.

``WORLDS[name]`` is a :class:`WorldSpec`: where the factory lives (imported only when the world is
built, so listing worlds never imports torch or renders anything), a one-line description, and
the parameters (name, type, default, range or choices, help).  :func:`get_world` checks
parameters against the schema, coercing CLI strings, and builds the world; :func:`sample_dataset`
samples n units into a :class:`core.data.Dataset` that remembers the world and its parameters.

The schema's defaults mirror the factories' own defaults (a test checks it); only parameters the
caller gives are passed on, so the factory stays the single source of truth.
"""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from core.errors import WorkbenchError

MAX_UNITS = 1_000_000


@dataclass(frozen=True)
class Param:
    """One world parameter.  ``range`` is inclusive (lo, hi); ``choices`` lists allowed values."""

    name: str
    type: type
    default: Any
    help: str
    range: tuple[float, float] | None = None
    choices: tuple[Any, ...] | None = None
    label: str | None = None

    def coerce(self, value: Any, world: str) -> Any:
        """``value`` (possibly a CLI string) as this parameter's type, checked against range/choices."""
        try:
            if self.type is bool:
                v = _to_bool(value)
            elif self.type is int:
                if isinstance(value, float) and not value.is_integer():
                    raise ValueError
                v = int(float(value)) if isinstance(value, str) and "." in value else int(value)
            elif self.type is float:
                v = float(value)
            else:
                v = str(value)
        except (TypeError, ValueError):
            raise WorkbenchError(
                f"{world} world: parameter {self.name} must be {self.type.__name__}, got {value!r}"
            ) from None
        if self.type is float and v != v:
            raise WorkbenchError(f"{world} world: parameter {self.name} is NaN")
        if self.range is not None and not (self.range[0] <= v <= self.range[1]):
            raise WorkbenchError(f"{world} world: parameter {self.name}={v} is outside {self.range_text()}")
        if self.choices is not None and v not in self.choices:
            allowed = ", ".join(map(str, self.choices))
            raise WorkbenchError(f"{world} world: parameter {self.name}={v} is not one of {allowed}")
        return v

    def range_text(self) -> str:
        """``"0..1"`` for a range, ``"16, 28, 32"`` for choices, ``""`` otherwise."""
        if self.choices is not None:
            return ", ".join(map(str, self.choices))
        if self.range is not None:
            return "..".join(_num(x) for x in self.range)
        return ""

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "type": self.type.__name__,
            "default": self.default,
            "help": self.help,
            "range": list(self.range) if self.range else None,
            "choices": list(self.choices) if self.choices else None,
            "label": self.label or self.name,
        }


def _num(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else f"{x:g}"


def _to_bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("1", "true", "yes", "on"):
        return True
    if text in ("0", "false", "no", "off"):
        return False
    raise ValueError(value)


@dataclass(frozen=True)
class WorldSpec:
    """A world: ``target`` is ``"module:attribute"`` of a factory (function or class)."""

    name: str
    target: str
    help: str
    params: tuple[Param, ...] = ()
    kind: str = "image"  # "image" (renders images) or "discrete" (exact tables)

    def param(self, name: str) -> Param:
        for p in self.params:
            if p.name == name:
                return p
        known = ", ".join(p.name for p in self.params) or "none"
        raise WorkbenchError(f"the {self.name} world has no parameter {name!r} (parameters: {known})")

    @property
    def defaults(self) -> dict[str, Any]:
        return {p.name: p.default for p in self.params}

    def factory(self):
        """Import the factory (lazily: the module loads only now)."""
        module, _, attr = self.target.partition(":")
        try:
            mod = importlib.import_module(module)
        except ModuleNotFoundError as e:
            if e.name == module:
                raise WorkbenchError(f"the {self.name} world is not available ({module} is missing)") from None
            raise
        try:
            return getattr(mod, attr)
        except AttributeError:
            raise WorkbenchError(f"the {self.name} world is not available ({module} has no {attr})") from None

    def check_params(self, params: Mapping[str, Any]) -> dict[str, Any]:
        """Validated, type-coerced copies of ``params`` (unknown names and bad values are errors)."""
        return {k: self.param(k).coerce(v, self.name) for k, v in params.items()}


_SIZE_HELP = "image side in pixels (16-32 train on a CPU in minutes; 64 in about ten with the latent flow)"
_DIGIT_SIZE_HELP = "image side in pixels (the glyphs are drawn at 16, 28 and 32)"
_SEED = Param("seed", int, 0, "seed of the world's random mechanisms (not of the sampled units)",
              range=(0, 2**31 - 1), label="mechanism seed")

WORLDS: dict[str, WorldSpec] = {}


def register_world(spec: WorldSpec) -> WorldSpec:
    """Add (or replace) a world in the registry; returns the spec."""
    WORLDS[spec.name] = spec
    return spec


for _spec in (
    WorldSpec(
        "napkin_digits",
        "core.worlds.napkin_digits:NapkinDigits",
        "Napkin graph with digit images: W1 -> W2 -> X -> Y, W1 <-> X, W1 <-> Y (ID-GEN's Colored MNIST)",
        (
            Param("size", int, 16, _DIGIT_SIZE_HELP, choices=(16, 28, 32)),
            Param("p_digit", float, 0.1, "label noise: probability that W2's digit differs from W1's",
                  range=(0.0, 1.0), label="digit noise"),
            Param("p_bit", float, 0.1, "label noise: probability that W2's colour bit is flipped",
                  range=(0.0, 1.0), label="colour-bit noise"),
        ),
    ),
    WorldSpec(
        "morpho_digits",
        "core.worlds.morpho_digits:MorphoDigits",
        "Morpho-MNIST SCM (Deep SCM): thickness -> intensity; thickness, intensity, digit -> image",
        (Param("size", int, 28, _DIGIT_SIZE_HELP, choices=(16, 28, 32)),),
    ),
    WorldSpec(
        "faces",
        "core.worlds.faces:Faces",
        "Cartoon faces (CelebA-like): Male -> Beard, Lipstick; attributes -> Face; Male <-> Young hidden",
        (
            Param("size", int, 28, _SIZE_HELP, choices=(16, 28, 32, 64)),
            Param("confounding", float, 1.0, "strength s of the hidden Male <-> Young confounder (0 = none)",
                  range=(0.0, 1.0), label="confounding strength"),
            Param("p_glasses", float, 0.2, "probability of eyeglasses (independent of everything)",
                  range=(0.0, 1.0), label="P(eyeglasses)"),
        ),
    ),
    WorldSpec(
        "backdoor",
        "core.worlds.discrete:backdoor",
        "Discrete back-door world: Z -> X -> Y, Z -> Y (adjust for Z)",
        (_SEED,),
        kind="discrete",
    ),
    WorldSpec(
        "frontdoor",
        "core.worlds.discrete:frontdoor",
        "Discrete front-door world: X -> M -> Y, X <-> Y",
        (_SEED,),
        kind="discrete",
    ),
    WorldSpec(
        "napkin",
        "core.worlds.discrete:napkin",
        "Discrete napkin world: W1 -> W2 -> X -> Y, W1 <-> X, W1 <-> Y",
        (_SEED,),
        kind="discrete",
    ),
    WorldSpec(
        "bow",
        "core.worlds.discrete:bow",
        "Discrete bow: X -> Y, X <-> Y (P(y | do(x)) is not identifiable)",
        (_SEED,),
        kind="discrete",
    ),
):
    register_world(_spec)


def world_spec(name: str) -> WorldSpec:
    try:
        return WORLDS[name]
    except KeyError:
        raise WorkbenchError(f"unknown world {name!r} (worlds: {', '.join(WORLDS)})") from None


def get_world(name: str, **params: Any):
    """Build world ``name``; ``params`` are checked against its schema (strings are coerced)."""
    spec = world_spec(name)
    checked = spec.check_params(params)
    return spec.factory()(**checked)


def world_record(name: str, params: Mapping[str, Any], seed: int) -> dict[str, Any]:
    """What a dataset remembers of its world: name, every parameter (given or the factory's
    default) and the sampling seed."""
    spec = world_spec(name)
    full = dict(spec.defaults)
    try:
        sig = inspect.signature(spec.factory())
        for k, p in sig.parameters.items():
            if p.default is not inspect.Parameter.empty and k in full:
                full[k] = p.default
    except (TypeError, ValueError):
        pass  # builtins without a signature: the schema defaults stand
    full.update(spec.check_params(params))
    return {"name": name, "params": full, "seed": int(seed)}


def world_from_record(record: Mapping[str, Any] | None):
    """Rebuild the world a dataset was sampled from (``Dataset.world``), or None when the data has
    no world record."""
    if not record or "name" not in record:
        return None
    return get_world(str(record["name"]), **dict(record.get("params") or {}))


def check_n(n: Any) -> int:
    """A number of units: a whole number in 1..MAX_UNITS."""
    try:
        value = int(n)
        if value != float(n):
            raise ValueError
    except (TypeError, ValueError):
        raise WorkbenchError(f"n must be a whole number of units, got {n!r}") from None
    if not 1 <= value <= MAX_UNITS:
        raise WorkbenchError(f"n must be between 1 and {MAX_UNITS:,}, got {value}")
    return value


def sample_dataset(name: str, n: Any, seed: int = 0, params: Mapping[str, Any] | None = None):
    """Sample ``n`` observational units of world ``name`` (built with ``params``) into a Dataset
    that records the world; returns (dataset, world).  ``seed`` seeds the units, not the world."""
    from core.data import Dataset

    n = check_n(n)
    params = dict(params or {})
    world = get_world(name, **params)
    units = world.sample(n, seed=int(seed))
    record = world_record(name, params, seed)
    return Dataset.from_units(units, world.graph, record), world
