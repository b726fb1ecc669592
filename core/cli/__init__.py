"""``python -m core <command>``: every page action is also a command, so GPU boxes can work headless.

Each command lives in its own module ``core.cli.<name>`` with ``add_arguments(parser)`` and
``run(args) -> int``; modules are imported only when their command runs, so ``identify`` never
imports torch.  Bad input (a ``WorkbenchError``) prints one line on stderr and exits 2.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from types import ModuleType

from core.errors import WorkbenchError

COMMANDS = {
    "identify": "is a causal query identifiable? print its estimand or the hedge",
    "world": "sample a built-in ground-truth world into a dataset folder",
    "data": "inspect a data set's layout and column types; import imagefolder, CelebA or Morpho-MNIST files",
    "train": "train one conditional generative model per node",
    "sample": "sample observational, interventional or counterfactual units",
    "effects": "average, direct and indirect effects with intervals",
    "check": "the soundness of a run's image counterfactuals (composition, reversibility, effectiveness, realism)",
}


def _load(name: str) -> ModuleType | None:
    """The command's module, or None when it does not exist."""
    try:
        return importlib.import_module(f"core.cli.{name}")
    except ModuleNotFoundError as e:
        if e.name == f"core.cli.{name}":
            return None
        raise


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m core", description="Causal Workbench command line")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, help_text in COMMANDS.items():
        module = _load(name)
        if module is None:
            continue  # not built yet
        p = sub.add_parser(name, help=help_text, description=(module.__doc__ or help_text).strip())
        module.add_arguments(p)
        p.set_defaults(_run=module.run)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "_run", None):
        parser.print_help()
        return 2
    try:
        return int(args._run(args) or 0)
    except WorkbenchError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except FileNotFoundError as e:
        print(f"error: file not found: {e.filename}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


def split_names(text: str | None) -> list[str]:
    """``"X, X2"`` -> ``["X", "X2"]``; empty pieces are dropped."""
    if not text:
        return []
    return [t.strip() for t in text.split(",") if t.strip()]


def key_values(items: list[str], flag: str, form: str, *, value_required: bool = False) -> dict[str, str]:
    """``["a=1", "b=x"]`` -> ``{"a": "1", "b": "x"}`` (keys and values stripped).  An item without
    ``=`` or without a key (or, with ``value_required``, without a value) is one line:
    ``{flag} takes {form}, got {item!r}``."""
    out: dict[str, str] = {}
    for item in items:
        key, eq, value = item.partition("=")
        if not eq or not key.strip() or (value_required and not value.strip()):
            raise WorkbenchError(f"{flag} takes {form}, got {item!r}")
        out[key.strip()] = value.strip()
    return out


def integer(text: str, flag: str) -> int:
    """``text`` as an integer, or one line: ``{flag} must be an integer, got {text!r}``."""
    try:
        return int(text)
    except ValueError:
        raise WorkbenchError(f"{flag} must be an integer, got {text!r}") from None
