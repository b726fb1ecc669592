"""Typed nodes: the variables of a graph, and the one place their types are spelled out as text.

A node is ``binary`` (2 levels), ``categorical`` (``levels`` >= 2), ``continuous``, or an ``image`` of
``shape`` (channels, height, width) with 1 or 3 channels.  Sizes are bounded (:data:`NODE_LIMITS`), so
no graph file can ask a model for more memory than a machine has: a name of at most 100 characters,
at most 10,000 levels, images of at most 4096 x 4096 pixels.  Its type reads as:

    type_code()      binary  categorical:3           image:3x16x16     (files, fingerprints; from_type_code reads it)
    type_text()      binary  categorical (3 levels)  image 3x16x16     (people)
    type_label()     bina    cat:3                   img 3x16x16       (a drawn node's second line)
    type_notation()  binary  categorical[3]          image[3, 16, 16]  (a run's messages about its models)
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TypeAlias

from core.errors import WorkbenchError

NODE_TYPES = ("binary", "categorical", "continuous", "image")
# The JSON keys that make a node's type; any other key is a free-form extra (pos, role, notes ...).
TYPE_FIELDS = ("name", "type", "levels", "shape")

JSONValue: TypeAlias = str | int | float | bool | None | list["JSONValue"] | dict[str, "JSONValue"]
# JSON made hashable: lists become tuples, objects become FrozenObjects (see freeze_json).
FrozenJSON: TypeAlias = str | int | float | bool | None | tuple["FrozenJSON", ...]
Shape: TypeAlias = tuple[int, int, int]

MAX_NAME_LENGTH = 100
MAX_LEVELS = 10_000  # a categorical node's classifier has one output per level
MAX_IMAGE_SIDE = 4096
MAX_IMAGE_PIXELS = MAX_IMAGE_SIDE * MAX_IMAGE_SIDE  # height x width of an image node or an image file
NODE_LIMITS = {"name length": MAX_NAME_LENGTH, "levels": MAX_LEVELS, "image pixels": MAX_IMAGE_PIXELS}

_NAME_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


class GraphError(WorkbenchError):
    """A graph, or a request on a graph, is malformed.  The message is one line naming the problem."""


@dataclass(frozen=True)
class Node:
    """A typed variable.

    ``levels`` is the number of categories (2 for binary, >= 2 for categorical); ``shape`` is
    ``(channels, height, width)`` for images.  ``extra`` holds free-form keys such as ``pos`` or
    ``role`` that travel with the node through every format that can carry them.
    """

    name: str
    type: str = "binary"
    levels: int | None = None
    shape: Shape | None = None
    extra: tuple[tuple[str, FrozenJSON], ...] = field(default=())

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not _NAME_RE.fullmatch(self.name):
            raise GraphError(
                f"bad node name {_clip(self.name)}: use letters, digits and underscores, starting with a letter or _"
            )
        if len(self.name) > MAX_NAME_LENGTH:
            raise GraphError(f"node name {_clip(self.name)} is {len(self.name)} characters long, "
                             f"more than the limit of {MAX_NAME_LENGTH}")
        if self.type not in NODE_TYPES:
            raise GraphError(f"node {self.name}: bad type {_clip(self.type)} (one of {', '.join(NODE_TYPES)})")
        if self.type == "binary":
            if self.levels not in (None, 2):
                raise GraphError(f"node {self.name}: a binary node has 2 levels, not {_clip(self.levels)}")
            object.__setattr__(self, "levels", 2)
        elif self.type == "categorical":
            if not isinstance(self.levels, int) or isinstance(self.levels, bool) or self.levels < 2:
                raise GraphError(f"node {self.name}: a categorical node needs levels >= 2, got {_clip(self.levels)}")
            if self.levels > MAX_LEVELS:
                raise GraphError(
                    f"node {self.name}: {self.levels:,} levels is more than the limit of {MAX_LEVELS:,}"
                )
        elif self.levels is not None:
            raise GraphError(f"node {self.name}: a {self.type} node has no levels")
        if self.type == "image":
            if not _is_image_shape(self.shape):
                raise GraphError(
                    f"node {self.name}: an image node needs shape [channels (1 or 3), height, width], "
                    f"got {_clip(self.shape)}"
                )
            object.__setattr__(self, "shape", tuple(int(s) for s in self.shape))
            height, width = self.shape[1:]
            if height * width > MAX_IMAGE_PIXELS:
                raise GraphError(
                    f"node {self.name}: images of {height}x{width} pixels are more than the limit of "
                    f"{MAX_IMAGE_PIXELS:,} pixels ({MAX_IMAGE_SIDE}x{MAX_IMAGE_SIDE})"
                )
        elif self.shape is not None:
            raise GraphError(f"node {self.name}: only image nodes have a shape")

    @property
    def is_discrete(self) -> bool:
        return self.type in ("binary", "categorical")

    def get(self, key: str, default: FrozenJSON = None) -> FrozenJSON:
        """The free-form extra ``key`` (frozen: lists as tuples), or ``default``."""
        return dict(self.extra).get(key, default)

    def with_extra(self, **items: FrozenJSON) -> Node:
        merged = dict(self.extra)
        merged.update(items)
        return Node(self.name, self.type, self.levels, self.shape, tuple(sorted(merged.items())))

    # ---- the type as text

    def type_code(self) -> str:
        """``binary``, ``categorical:3``, ``image:3x16x16``: one token, read back by :meth:`from_type_code`."""
        if self.type == "categorical":
            return f"categorical:{self.levels}"
        if self.type == "image":
            return f"image:{self.shape_text()}"
        return self.type

    @classmethod
    def from_type_code(cls, name: str, code: str, *, extra: tuple[tuple[str, FrozenJSON], ...] = ()) -> Node:
        """The node ``name`` of type ``code`` (as :meth:`type_code` writes it)."""
        kind, _, arg = code.partition(":")
        try:
            levels = int(arg) if kind == "categorical" else None
            shape = tuple(int(s) for s in arg.split("x")) if kind == "image" else None
        except ValueError:
            raise GraphError(f"node {name}: bad type attribute {code!r}") from None
        return cls(name, kind, levels, shape, extra)

    def type_text(self) -> str:
        """``binary``, ``categorical (3 levels)``, ``image 3x16x16``: the type for people."""
        if self.type == "categorical":
            return f"categorical ({self.levels} levels)"
        if self.type == "image":
            return f"image {self.shape_text()}"
        return self.type

    def type_label(self) -> str:
        """``bina``, ``cont``, ``cat:3``, ``img 3x16x16``: the type on a drawn node, under its name."""
        if self.type == "categorical":
            return f"cat:{self.levels}"
        if self.type == "image":
            return f"img {self.shape_text()}"
        return self.type[:4]

    def type_notation(self) -> str:
        """``binary``, ``categorical[3]``, ``image[3, 16, 16]``: the type with its parameters in brackets
        (how a run's messages describe what a model was trained for)."""
        if self.type == "categorical":
            return f"categorical[{self.levels}]"
        if self.type == "image":
            return f"image{list(self.shape)}"
        return self.type

    def shape_text(self) -> str:
        """An image node's shape as ``CxHxW`` (``3x16x16``); empty for other nodes."""
        return "x".join(str(s) for s in self.shape) if self.shape is not None else ""

    # ---- JSON

    def to_json(self) -> dict[str, JSONValue]:
        out: dict[str, JSONValue] = {"name": self.name, "type": self.type}
        if self.type == "categorical":
            out["levels"] = self.levels
        if self.shape is not None:
            out["shape"] = list(self.shape)
        for k, v in self.extra:
            out[k] = thaw_json(v)
        return out

    @staticmethod
    def type_fields(node_json: Mapping[str, JSONValue]) -> dict[str, JSONValue]:
        """A node's JSON without its free-form extras: only the keys of :data:`TYPE_FIELDS`."""
        return {k: node_json[k] for k in TYPE_FIELDS if k in node_json}

    @staticmethod
    def from_json(obj: object) -> Node:
        if not isinstance(obj, Mapping):
            raise GraphError(f"a node must be an object with a name, got {_clip(obj)}")
        if "name" not in obj:
            raise GraphError(f"node without a name: {_clip(dict(obj))}")
        extra = tuple(sorted((k, freeze_json(v)) for k, v in obj.items() if k not in TYPE_FIELDS))
        shape = obj.get("shape")
        if shape is not None:
            if not isinstance(shape, (list, tuple)):
                raise GraphError(f"node {_clip(obj['name'])}: shape must be a list, got {_clip(shape)}")
            shape = tuple(shape)
        return Node(name=obj["name"], type=obj.get("type", "binary"), levels=obj.get("levels"), shape=shape, extra=extra)


def _clip(value: object, limit: int = 60) -> str:
    """``repr(value)`` cut to ``limit`` characters, so a huge value in a file keeps its error one short line."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _is_image_shape(shape: Shape | None) -> bool:
    """(channels 1 or 3, height, width), all positive integers."""
    return (
        shape is not None
        and len(shape) == 3
        and all(isinstance(s, int) and not isinstance(s, bool) and s > 0 for s in shape)
        and shape[0] in (1, 3)
    )


class FrozenObject(tuple):
    """A JSON object made hashable (sorted (key, value) pairs); :func:`thaw_json` turns it back into a dict."""

    __slots__ = ()


def freeze_json(value: JSONValue) -> FrozenJSON:
    """``value`` made hashable, so nodes stay immutable and comparable: lists -> tuples, objects ->
    :class:`FrozenObject`."""
    if isinstance(value, list):
        return tuple(freeze_json(v) for v in value)
    if isinstance(value, dict):
        return FrozenObject(sorted((k, freeze_json(v)) for k, v in value.items()))
    return value


def thaw_json(value: FrozenJSON) -> JSONValue:
    """The JSON value :func:`freeze_json` came from: FrozenObjects back to dicts, tuples back to lists."""
    if isinstance(value, FrozenObject):
        return {k: thaw_json(v) for k, v in value}
    if isinstance(value, tuple):
        return [thaw_json(v) for v in value]
    return value
