"""``python -m core <command>``: every page action is also a command, so GPU boxes can work headless.

Each command lives in its own module ``core.cli.<name>`` with ``add_arguments(parser)`` and
``run(args) -> int``; modules are imported only when their command runs, so ``identify`` never
imports torch.  Bad input prints one line on stderr and exits 2: a ``WorkbenchError``, a file that
cannot be read or written (``OSError``), and a flag argparse cannot parse (:class:`OneLineParser`).
A command's output never replaces one of its inputs (:func:`check_output`).
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Mapping
from pathlib import Path
from types import ModuleType
from typing import NoReturn

from core.errors import WorkbenchError

COMMANDS = {
    "identify": "is a causal query identifiable? print its estimand or the hedge",
    "adjust": "minimal adjustment sets for an effect; is a given set valid?",
    "implications": "the independences a graph implies, tested on data if given",
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


class OneLineParser(argparse.ArgumentParser):
    """argparse, with a bad flag reported in one line (not a usage block) and exit code 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"error: {self.prog}: {' '.join(message.split())} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(prog="python -m core", description="Causal Workbench command line")
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
        print(f"error: {' '.join(str(e).split())}", file=sys.stderr)
        return 2
    except FileNotFoundError as e:
        print(f"error: file not found: {e.filename}", file=sys.stderr)
        return 2
    except OSError as e:  # a path that cannot be read or written: a folder given for a file, no permission
        where = f": {e.filename}" if e.filename else ""
        print(f"error: {' '.join((e.strerror or str(e)).split())}{where}", file=sys.stderr)
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


def bounded_integer(text: str, flag: str, low: int, high: int) -> int:
    """``text`` as an integer in ``low..high``, or one line naming ``flag`` and the range."""
    value = integer(text, flag)
    if not low <= value <= high:
        raise WorkbenchError(f"{flag} must be between {low:,} and {high:,}, got {text}")
    return value


def check_output(out: str, inputs: Mapping[str, str | None]) -> None:
    """Refuse an output path that is, holds or lies inside one of this command's inputs
    (``{"--data": path, ...}``): writing it would destroy the input."""
    target = Path(os.path.abspath(out)).resolve()
    for flag, path in inputs.items():
        if not path:
            continue
        source = Path(os.path.abspath(path)).resolve()
        if target == source or source.is_relative_to(target) or target.is_relative_to(source):
            raise WorkbenchError(f"--out {out} would overwrite {flag} {path}, an input of this command: "
                                 "write the output elsewhere")
