"""Look at a data set before using it, and import the layouts researchers already have.

    python -m core data inspect PATH [--json]
    python -m core data import PATH --out OUT [--size 64|HxW] [--fit crop|stretch] [--type COL=TYPE ...]
                                   [--heldout 0.1] [--seed K]

``inspect`` prints the layout PATH holds (a dataset folder or .npz, a CSV with image paths, class
folders, the Hugging Face imagefolder layout, CelebA's or Morpho-MNIST's), its rows, the held-out
rows, and each column's inferred type (binary, categorical with its levels, continuous, image with
its shape, or mixed sizes that need a resize step).  Imported layouts are read without decoding an
image (headers only).

``import`` writes an imported layout as a dataset folder (or one .npz when OUT ends in .npz),
decoding one image at a time: ``--size`` resizes every image (``crop``: the shorter side to fit
and the centre cut out; ``stretch``: the whole image), and the step is recorded in the data set so
that a model trained on it refuses data prepared differently.  ``--type`` overrides an inferred type
(binary, categorical, continuous, or skip to leave a column out).  Ctrl-C stops it and leaves
nothing behind.
"""

from __future__ import annotations

import argparse
import json
import sys
import time

from core.cli import key_values
from core.errors import WorkbenchError


def add_arguments(p: argparse.ArgumentParser) -> None:
    sub = p.add_subparsers(dest="action", metavar="ACTION")
    inspect = sub.add_parser("inspect", help="the layout, rows and column types of a data set")
    inspect.add_argument("path", help="a folder or file")
    inspect.add_argument("--type", action="append", default=[], metavar="COL=TYPE",
                         help="override an inferred type (binary, categorical, continuous, skip)")
    inspect.add_argument("--json", action="store_true", help="one JSON object")
    imp = sub.add_parser("import", help="write an imagefolder, CelebA or Morpho-MNIST layout as a dataset")
    imp.add_argument("path", help="the layout's folder (or one of its files)")
    imp.add_argument("--out", required=True, help="dataset folder to write (or a .npz file)")
    imp.add_argument("--size", default=None, help="resize every image to N (square) or HxW")
    imp.add_argument("--fit", default="crop", choices=("crop", "stretch"),
                     help="crop: keep the aspect, cut the centre (default); stretch: resize the whole image")
    imp.add_argument("--type", action="append", default=[], metavar="COL=TYPE",
                     help="override an inferred type (binary, categorical, continuous, skip); repeatable")
    imp.add_argument("--heldout", type=float, default=0.1,
                     help="share of rows held out where the layout defines no split (default 0.1)")
    imp.add_argument("--seed", type=int, default=0, help="seed of that held-out share (default 0)")
    imp.add_argument("--quiet", action="store_true", help="no progress bar")


def run(args: argparse.Namespace) -> int:
    if args.action == "inspect":
        return inspect(args)
    if args.action == "import":
        return import_layout(args)
    raise WorkbenchError("python -m core data takes an action: inspect or import")


def inspect(args: argparse.Namespace) -> int:
    from core.data.load import LAYOUTS, detect_layout, load_dataset, open_source

    layout = detect_layout(args.path)
    overrides = key_values(args.type, "--type", "COL=TYPE", value_required=True)
    if layout in LAYOUTS:
        report = open_source(args.path).describe(overrides)
    else:
        if overrides:
            raise WorkbenchError(f"--type applies to imported layouts; {args.path} is a {layout} data set")
        ds = load_dataset(args.path)
        report = {
            "layout": layout, "path": str(args.path), "rows": ds.n, "heldout": int(len(ds.heldout_rows())),
            "split": (ds.split or {}).get("source") if ds.split else None,
            "columns": [{"name": v, "source": v, "type": ds.nodes[v].type, "detail": _detail(ds, v), "note": ""}
                        for v in ds.columns],
            "notes": [f"images prepared: {c} {text}" for c, text in _preparations(ds).items()],
        }
    if args.json:
        print(json.dumps(report))
        return 0
    print(f"layout   {report['layout']}")
    print(f"rows     {report['rows']:,}" + (f" ({report['heldout']:,} held out: {report['split']})" if report["heldout"] else ""))
    width = max([len(c["name"]) for c in report["columns"]] + [6])
    kinds = max([len(c["type"]) for c in report["columns"]] + [4])
    print(f"{'column'.ljust(width)}  {'type'.ljust(kinds)}  detail")
    for c in report["columns"]:
        extra = f"   [{c['note']}]" if c["note"] else ""
        source = f" (from {c['source']!r})" if c["source"] != c["name"] else ""
        print(f"{c['name'].ljust(width)}  {c['type'].ljust(kinds)}  {c['detail']}{source}{extra}")
    for note in report["notes"]:
        print(f"note: {note}")
    return 0


def _detail(ds: object, v: str) -> str:
    node = ds.nodes[v]  # type: ignore[attr-defined]
    if node.type == "image":
        return node.shape_text()
    if node.is_discrete:
        names = ds.categories.get(v) or [str(k) for k in range(node.levels)]  # type: ignore[attr-defined]
        return f"{node.levels} levels: " + ", ".join(names[:8]) + (", ..." if len(names) > 8 else "")
    values = ds.column(v)  # type: ignore[attr-defined]
    return f"{values.min():.4g} .. {values.max():.4g}, mean {values.mean():.4g}"


def _preparations(ds: object) -> dict[str, str]:
    from core.data.sources import preparation_text

    return {c: preparation_text(r) for c, r in ds.preparation.items()}  # type: ignore[attr-defined]


def import_layout(args: argparse.Namespace) -> int:
    from core.data.load import open_source
    from core.data.sources import Preparation, import_to

    overrides = key_values(args.type, "--type", "COL=TYPE", value_required=True)
    prep = Preparation.parse(args.size, args.fit) if args.size else None
    source = open_source(args.path, heldout=args.heldout, seed=args.seed)
    bar = None if args.quiet else _ProgressBar()
    t0 = time.perf_counter()
    try:
        ds = import_to(source, args.out, prep, overrides, progress=bar)
    finally:
        if bar is not None:
            bar.close()
    seconds = time.perf_counter() - t0
    held = len(ds.heldout_rows())
    print(f"{ds.n:,} rows ({held:,} held out) from the {source.layout} layout -> {args.out} "
          f"in {seconds:.1f} s; fingerprint {ds.fingerprint[:12]}")
    for v in ds.columns:
        print(f"  {v}: {ds.nodes[v].type_text()}"
              + (f" ({_preparations(ds)[v]})" if v in ds.preparation else ""))
    return 0


class _ProgressBar:
    """tqdm bars on stderr (a terminal only), one per phase (checking headers, reading images, writing)."""

    WORDS = {"checking": "checking image headers", "reading": "reading images", "writing": "writing"}

    def __init__(self) -> None:
        self.phase: str | None = None
        self.bar = None

    def __call__(self, phase: str, done: int, total: int) -> None:
        from tqdm import tqdm

        if phase != self.phase:
            self.close()
            self.phase = phase
            # disable=None: no bar when stderr is not a terminal, so logs and errors stay one line each
            self.bar = tqdm(total=total, desc=self.WORDS.get(phase, phase), unit=" img" if phase != "writing" else "",
                            file=sys.stderr, leave=False, dynamic_ncols=True, disable=None)
        self.bar.update(done - self.bar.n)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None
