"""The model check of a trained run: can its models be trusted without a ground-truth world?

For every trained node: held-out likelihood against a parent-blind baseline
(:mod:`core.check.likelihood`); for every image node of a graph without hidden confounders, also
the soundness suite (:mod:`core.check.soundness`) with anti-causal read-outs trained on the data's
training rows (:func:`core.check.readouts.train_anticausal_reader`), each read-out's held-out
accuracy and the score of guessing kept beside the numbers that use it; then a verdict per node
(:mod:`core.check.verdict`).

Evaluation rows are the rows the data set holds out (``Dataset.split``; training never saw them)
when it holds out at least ``MIN_HELDOUT`` rows, else a sample of all rows (marked in-sample).

Results live in the run folder (``RUN/model_check.json``, written atomically) with a key -- the
data fingerprint and each checked node's kind, steps and weights file -- so they are shown again
without recomputing until a node is retrained.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from core.check.likelihood import CheckStopped, NodeLikelihood, node_likelihood
from core.check.readouts import train_anticausal_reader
from core.check.soundness import Row, soundness
from core.check.verdict import Verdict, judge, likelihood_findings, soundness_findings
from core.data import Dataset
from core.errors import WorkbenchError
from core.graph.node import JSONValue
from core.runs.checkpoint import CheckpointError, Run, atomic_write_json, now_iso
from core.runs.train import resolve_device

FORMAT = "causal-workbench-model-check"
FORMAT_VERSION = 1
CHECK_FILE = "model_check.json"
MIN_HELDOUT = 50

# progress(text, done, total): a stage finished out of all stages
CheckProgress = Callable[[str, int, int], None]


@dataclass(frozen=True)
class CheckOptions:
    """How much work the check does.  ``steps``/``image_steps``: the short budget of the baseline
    (at most the model's own steps); ``eval_rows``: rows scored; ``fit_rows``: rows the baselines
    and read-outs train on; ``units``: units of the soundness suite; ``reader_steps``: read-out
    training; ``realism``: run the two-sample test; ``device``: where the models run."""

    steps: int = 600
    image_steps: int = 300
    eval_rows: int = 1000
    fit_rows: int = 4096
    units: int = 128
    reader_steps: int = 800
    realism: bool = True
    realism_steps: int = 300
    seed: int = 0
    device: str = "auto"  # CUDA > MPS > CPU, as training picks

    def __post_init__(self) -> None:
        for name in ("steps", "image_steps", "eval_rows", "fit_rows", "units", "reader_steps", "realism_steps"):
            value = getattr(self, name)
            if not isinstance(value, int) or value < 1:
                raise WorkbenchError(f"{name} must be a positive integer, got {value!r}")
        if self.eval_rows < 2 or self.units < 2:
            raise WorkbenchError("eval_rows and units must be at least 2")


@dataclass
class NodeCheck:
    """One node's results: scores, soundness rows, the read-out's scores, the verdict, notes."""

    node: str
    likelihood: NodeLikelihood
    verdict: Verdict
    soundness: list[Row] = field(default_factory=list)
    reader: dict[str, JSONValue] = field(default_factory=dict)  # {"source", "accuracy", "chance"}
    notes: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, JSONValue]:
        return {"node": self.node, "likelihood": self.likelihood.to_json(), "verdict": self.verdict.to_json(),
                "soundness": [r.to_json() for r in self.soundness], "reader": self.reader, "notes": self.notes}

    @classmethod
    def from_json(cls, obj: Mapping[str, JSONValue]) -> NodeCheck:
        return cls(str(obj["node"]), NodeLikelihood.from_json(obj["likelihood"]), Verdict.from_json(obj["verdict"]),
                   [Row(**r) for r in obj.get("soundness") or ()], dict(obj.get("reader") or {}),
                   list(obj.get("notes") or ()))


@dataclass
class ModelCheck:
    """The model check of a run: per node results in graph order, the key they were computed for,
    when, with which options, and on which rows (``heldout``: rows the run never trained on)."""

    nodes: dict[str, NodeCheck]
    key: dict[str, JSONValue]
    options: dict[str, JSONValue]
    heldout: bool
    rows: int
    created: str = ""

    def to_json(self) -> dict[str, JSONValue]:
        return {"format": FORMAT, "version": FORMAT_VERSION, "created": self.created, "key": self.key,
                "options": self.options, "heldout": self.heldout, "rows": self.rows,
                "nodes": {v: c.to_json() for v, c in self.nodes.items()}}

    @classmethod
    def from_json(cls, obj: Mapping[str, JSONValue]) -> ModelCheck:
        if obj.get("format") != FORMAT or obj.get("version") != FORMAT_VERSION:
            raise CheckpointError("not a model check file of this version")
        return cls({v: NodeCheck.from_json(c) for v, c in dict(obj["nodes"]).items()}, dict(obj["key"]),
                   dict(obj.get("options") or {}), bool(obj.get("heldout")), int(obj.get("rows") or 0),
                   str(obj.get("created") or ""))

    def verdicts(self) -> list[Verdict]:
        return [c.verdict for c in self.nodes.values()]


def check_key(run: Run, nodes: Sequence[str]) -> dict[str, JSONValue]:
    """What the results depend on: the data and each checked node's trained model."""
    entries = run.manifest["nodes"]
    return {"fingerprint": run.fingerprint,
            "nodes": {v: {"kind": entries[v].get("kind"), "steps": entries[v].get("steps_done"),
                          "weights": entries[v].get("weights")} for v in nodes}}


def evaluation_rows(dataset: Dataset, options: CheckOptions) -> tuple[np.ndarray, np.ndarray, bool]:
    """(rows to fit baselines and read-outs on, rows to score, whether those are held out)."""
    rng = np.random.default_rng(options.seed)
    held = dataset.heldout_rows()
    if len(held) >= MIN_HELDOUT:
        fit, scored, heldout = dataset.training_rows(), held, True
    else:
        fit, scored, heldout = np.arange(dataset.n), np.arange(dataset.n), False
    if len(scored) > options.eval_rows:
        scored = np.sort(rng.choice(scored, options.eval_rows, replace=False))
    if len(fit) > options.fit_rows:
        fit = np.sort(rng.choice(fit, options.fit_rows, replace=False))
    return fit, scored, heldout


def guessing_scores(dataset: Dataset, parents: Sequence[str], rows: np.ndarray) -> dict[str, float]:
    """Per parent, the score of a read-out that always guesses: the commonest value's share
    (discrete) or the mean absolute distance to the median (continuous)."""
    out = {}
    for p in parents:
        values = dataset.column(p)[rows]
        if dataset.node(p).is_discrete:
            out[p] = float(np.bincount(values).max() / len(values)) if len(values) else 0.0
        else:
            out[p] = float(np.mean(np.abs(values - np.median(values)))) if len(values) else 0.0
    return out


def run_model_check(
    run: Run,
    dataset: Dataset,
    nodes: Sequence[str] | None = None,
    *,
    options: CheckOptions | None = None,
    progress: CheckProgress | None = None,
    stop: threading.Event | None = None,
) -> ModelCheck:
    """The model check of ``run`` on ``dataset`` (the data it was trained on; refused otherwise)
    for ``nodes`` (default: every trained node); see the module docstring."""
    options = options or CheckOptions()
    graph = run.graph
    if run.fingerprint and dataset.fingerprint != run.fingerprint:
        run.check_preparation(dataset.preparation)
        raise CheckpointError(f"this data is not the data run {run.path} was trained on (fingerprint "
                              f"{dataset.fingerprint[:12]}, the run's {run.fingerprint[:12]})")
    dataset.check(graph)
    trained = run.trained_nodes()
    nodes = graph.sort(graph.check_nodes(list(nodes), "check")) if nodes else trained
    untrained = [v for v in nodes if v not in trained]
    if untrained:
        raise WorkbenchError(f"node {untrained[0]} has no trained model in run {run.path}: train it first")
    if not nodes:
        raise WorkbenchError(f"run {run.path} has no trained model to check")
    fit_rows, scored, heldout = evaluation_rows(dataset, options)
    device = resolve_device(options.device)
    mechanisms = {v: run.load_mechanism(v, device) for v in trained}
    scm = None
    can_counterfactual = graph.is_markovian and set(trained) == set(graph.names)
    if can_counterfactual:
        from core.scm import NeuralSCM

        scm = NeuralSCM(graph, mechanisms)
    images = [v for v in nodes if graph.node(v).type == "image"]
    total = len(nodes) + sum(2 for v in images if scm is not None and graph.parents(v))
    done = 0

    def step(text: str) -> None:
        nonlocal done
        if stop is not None and stop.is_set():
            raise CheckStopped("the model check was stopped")
        if progress is not None:
            progress(text, done, total)

    results: dict[str, NodeCheck] = {}
    for v in nodes:
        node = graph.node(v)
        image = node.type == "image"
        parents = graph.sort(graph.parents(v))
        steps = min(options.image_steps if image else options.steps, int(run.entry(v).get("steps_done") or 1))
        lik = node_likelihood(mechanisms[v], dataset, graph, v, train_rows=fit_rows, eval_rows=scored,
                              heldout=heldout, steps=max(1, steps), aware=not image, seed=options.seed, stop=stop,
                              progress=step)
        done += 1
        findings = likelihood_findings(lik, bool(parents), image)
        check = NodeCheck(v, lik, judge(v, findings))
        scalar_parents = [p for p in parents if graph.node(p).type != "image"]
        if image and scalar_parents and scm is not None:
            step(f"{v}: training read-outs of {', '.join(scalar_parents)} on the images")
            reader = train_anticausal_reader(dataset.column(v)[fit_rows],
                                             {p: dataset.column(p)[fit_rows] for p in scalar_parents},
                                             [graph.node(p) for p in scalar_parents], steps=options.reader_steps,
                                             seed=options.seed)
            done += 1
            chance = guessing_scores(dataset, scalar_parents, fit_rows)
            check.reader = {"source": reader.source, "accuracy": dict(reader.accuracy), "chance": chance}
            step(f"{v}: counterfactual soundness on {min(options.units, len(scored))} units")
            data = {u: dataset.column(u)[scored] for u in graph.names}
            check.soundness = soundness(scm, v, data, reader, n=min(options.units, len(scored)), seed=options.seed,
                                        realism=options.realism, realism_steps=options.realism_steps)
            done += 1
            findings += soundness_findings(check.soundness, chance,
                                           {p: graph.node(p).is_discrete for p in scalar_parents})
            check.verdict = judge(v, findings)
        elif image and scalar_parents:
            check.notes.append("counterfactual soundness needs every node trained and a graph without hidden "
                               "confounders (bidirected edges)")
        results[v] = check
        step(f"{v}: {check.verdict.grade}")
    return ModelCheck(results, check_key(run, nodes), asdict(options), heldout, int(len(scored)), now_iso())


def save_model_check(run: Run, check: ModelCheck) -> Path:
    """Write the check into the run folder (atomically); returns the file."""
    path = run.path / CHECK_FILE
    atomic_write_json(path, check.to_json())
    return path


def load_model_check(run: Run) -> tuple[ModelCheck | None, bool]:
    """The saved check of ``run`` (None if there is none or it cannot be read) and whether it is
    current: computed for the run's present data and trained models."""
    import json

    path = run.path / CHECK_FILE
    try:
        check = ModelCheck.from_json(json.loads(path.read_text(encoding="utf-8")))
    except (OSError, ValueError, KeyError, TypeError, CheckpointError):
        return None, False
    nodes = [v for v in check.nodes if v in run.manifest["nodes"]]
    current = len(nodes) == len(check.nodes) and check_key(run, nodes) == check.key
    return check, current


def format_report(check: ModelCheck) -> str:
    """The check as text: one line of scores and the verdict per node, then image nodes' soundness."""
    from core.check.soundness import format_table

    rows_word = "held-out" if check.heldout else "in-sample (the data holds no rows out)"
    lines = [f"Model check on {check.rows} {rows_word} rows"]
    head = ("node", "kind", "measure", "model", "blind", "gain", "reference", "verdict")
    body = []
    for c in check.nodes.values():
        lk = c.likelihood
        ref = "" if lk.reference is None else f"{lk.reference:.4g} ± {lk.reference_se:.2g}"
        body.append((c.node, lk.kind, lk.measure, f"{lk.model:.4g}", f"{lk.blind:.4g}",
                     f"{lk.gain:.4g} ± {lk.gain_se:.2g}", ref, c.verdict.grade))
    widths = [max(len(h), *(len(b[i]) for b in body)) for i, h in enumerate(head)]
    lines.append("  ".join(h.ljust(w) for h, w in zip(head, widths, strict=True)))
    lines += ["  ".join(x.ljust(w) for x, w in zip(b, widths, strict=True)) for b in body]
    for c in check.nodes.values():
        lines.append(f"{c.node}: {c.verdict.grade} -- {c.verdict.reason}"
                     + (f". Try: {c.verdict.advice}" if c.verdict.advice and c.verdict.grade != "good" else ""))
        for note in c.notes:
            lines.append(f"  note: {note}")
        if c.soundness:
            reader = c.reader
            acc = ", ".join(f"{k} {v:.3g}" for k, v in dict(reader.get("accuracy") or {}).items())
            lines.append(f"  read-outs: {reader.get('source')} (held-out scores: {acc})")
            lines += ["  " + line for line in format_table(c.soundness).splitlines()]
    return "\n".join(lines)
