"""Graphs in and out of the Graph page: the shipped examples, typed or uploaded model code, downloads."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from pathlib import Path

from core.assets import ASSETS
from core.graph import ADMG, GraphError, parse_graph_text
from core.graph.dagitty import write_dagitty
from core.graph.formats import with_question, write_node_link

EXAMPLES_DIR = ASSETS / "graphs"  # the shipped example graphs: node-link JSON with a description
_EMPTY_DAGITTY = re.compile(r"\s*(dag\s*)?\{\s*\}\s*")  # ``dag { }``: a graph with no nodes yet


def example_names(folder: Path = EXAMPLES_DIR) -> list[str]:
    """Names of the example graphs (file stems of ``assets/graphs/*.json``), sorted."""
    return sorted(p.stem for p in Path(folder).glob("*.json"))


def load_example(name: str, folder: Path = EXAMPLES_DIR) -> ADMG:
    """The example graph ``name``; an unknown name is a ``GraphError`` listing the known ones."""
    path = Path(folder) / f"{name}.json"
    if not path.is_file():
        raise GraphError(f"no example graph named {name!r} (have {', '.join(example_names(folder))})")
    return ADMG.from_json(path.read_text(encoding="utf-8"))


def example_description(name: str, folder: Path = EXAMPLES_DIR) -> str:
    """The free-text ``description`` stored beside an example graph ('' when absent)."""
    path = Path(folder) / f"{name}.json"
    try:
        return str(json.loads(path.read_text(encoding="utf-8")).get("description", ""))
    except (OSError, ValueError, AttributeError):
        return ""


def loaded_example(graph: ADMG, name: str | None, folder: Path = EXAMPLES_DIR) -> str | None:
    """``name`` when ``graph`` is exactly that example graph, unedited; else None."""
    if name not in example_names(folder):
        return None
    return name if load_example(name, folder) == graph else None


def graph_from_text(text: str) -> ADMG:
    """Typed model code: node-link JSON or dagitty (the first non-blank character decides)."""
    if not isinstance(text, str) or not text.strip():
        raise GraphError("the model code is empty")
    if _EMPTY_DAGITTY.fullmatch(text):
        return ADMG([])  # a new graph, to be drawn node by node (the dagitty reader wants a node)
    return parse_graph_text(text)


def graph_from_upload(filename: str, data: bytes) -> ADMG:
    """An uploaded ``.json`` (node-link) or dagitty file (any other extension)."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise GraphError(f"{filename}: not a UTF-8 text file") from None
    if not text.strip():
        raise GraphError(f"{filename}: the file is empty")
    try:
        if filename.lower().endswith(".json"):
            return ADMG.from_json(text)
        return parse_graph_text(text)
    except GraphError as e:
        raise GraphError(f"{filename}: {e}") from None


def graph_name_from_filename(filename: str) -> str:
    """The name an uploaded graph goes by: the file's stem (``fd.json`` -> ``fd``)."""
    return Path(filename).stem or "uploaded"


def download_payload(graph: ADMG, fmt: str, name: str = "graph",
                     question: Mapping[str, Sequence[str]] | None = None) -> tuple[str, str, str]:
    """(text, file name, MIME type) for saving ``graph`` as ``json`` or ``dagitty``; ``question``
    (``treatment``, ``outcome``, ``given`` -> node names), when given, replaces the nodes' roles."""
    stem = re.sub(r"[^A-Za-z0-9_.-]+", "_", name).strip("_") or "graph"
    parts = graph if question is None else with_question(
        graph, question.get("treatment", ()), question.get("outcome", ()), question.get("given", ()))
    if fmt == "json":
        return json.dumps(write_node_link(parts), indent=2) + "\n", f"{stem}.json", "application/json"
    if fmt == "dagitty":
        return write_dagitty(parts), f"{stem}.dagitty", "text/plain"
    raise GraphError(f"unknown graph format {fmt!r} (json or dagitty)")
