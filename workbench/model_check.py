"""Logic behind the Train page's "Model check" panel: the check runs in a background thread with
progress, its results are saved in the run folder and shown again without recomputing.

One :class:`CheckJob` per workspace at a time, kept in a :class:`CheckRegistry` (the page keeps
one per server in ``st.cache_resource``, like the training jobs), so a browser refresh finds a
running check again.  Nothing here imports Streamlit.
"""

from __future__ import annotations

import threading
import time
import traceback
from dataclasses import dataclass

import pandas as pd
import torch

from core.check.model_check import (
    CheckOptions,
    ModelCheck,
    load_model_check,
    run_model_check,
    save_model_check,
)
from core.data import Dataset
from core.errors import WorkbenchError
from core.runs.checkpoint import load_run
from core.runs.workspace import Workspace


@dataclass
class CheckProgressState:
    """The last report of a running check: what it does now, stages done and in all."""

    text: str = "starting"
    done: int = 0
    total: int = 1

    @property
    def fraction(self) -> float:
        return min(1.0, self.done / self.total) if self.total else 0.0


class CheckJob:
    """One background model check: its thread, stop event, progress, result or error."""

    def __init__(self, key: str) -> None:
        self.key = key
        self.stop_event = threading.Event()
        self.lock = threading.Lock()
        self.progress = CheckProgressState()
        self.result: ModelCheck | None = None
        self.error: str | None = None
        self.thread: threading.Thread | None = None
        self.started = time.time()

    def report(self, text: str, done: int, total: int) -> None:
        with self.lock:
            self.progress = CheckProgressState(text, done, total)

    def snapshot(self) -> CheckProgressState:
        with self.lock:
            return CheckProgressState(self.progress.text, self.progress.done, self.progress.total)

    @property
    def alive(self) -> bool:
        return self.thread is not None and self.thread.is_alive()

    def request_stop(self) -> None:
        self.stop_event.set()

    def wait(self, timeout: float | None = None) -> bool:
        if self.thread is not None:
            self.thread.join(timeout)
        return not self.alive


class CheckRegistry:
    """Model-check jobs by workspace key: at most one live job per workspace."""

    def __init__(self) -> None:
        self._jobs: dict[str, CheckJob] = {}
        self._lock = threading.Lock()

    def get(self, key: str) -> CheckJob | None:
        with self._lock:
            return self._jobs.get(key)

    def start(self, ws: Workspace, dataset: Dataset, options: CheckOptions | None = None,
              threads: int | None = 1) -> CheckJob:
        """Check every trained model of ``ws``'s run on ``dataset`` in a daemon thread and save the
        result in the run folder.  Refused while the workspace's check is still running."""
        if not ws.has_run():
            raise WorkbenchError("no trained model to check yet: train the nodes first")
        run = load_run(ws.run_path)  # an unreadable run is refused here, before the thread
        if not run.trained_nodes():
            raise WorkbenchError("no trained model to check yet: train the nodes first")
        with self._lock:
            old = self._jobs.get(ws.key)
            if old is not None and old.alive:
                raise WorkbenchError("a model check is already running in this workspace")
            job = CheckJob(ws.key)

            def target() -> None:
                try:
                    if threads:
                        torch.set_num_threads(int(threads))  # the machine is shared with the page
                    check = run_model_check(run, dataset, options=options, progress=job.report, stop=job.stop_event)
                    save_model_check(run, check)
                    job.result = check
                except WorkbenchError as e:
                    job.error = str(e)
                except Exception as e:  # noqa: BLE001 - a crash in the thread must reach the page as one line
                    last = traceback.extract_tb(e.__traceback__)[-1] if e.__traceback__ else None
                    where = f" ({last.filename.rsplit('/', 1)[-1]}:{last.lineno})" if last else ""
                    job.error = f"model check failed: {type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}{where}"

            job.thread = threading.Thread(target=target, name=f"check-{ws.key[-40:]}", daemon=True)
            self._jobs[ws.key] = job
        job.thread.start()
        return job


def new_registry() -> CheckRegistry:
    """A fresh registry; the page wraps this in ``st.cache_resource`` so one lives per server."""
    return CheckRegistry()


def job_state(job: CheckJob | None) -> str:
    """``idle``, ``running``, ``stopping``, ``stopped``, ``failed`` or ``finished``."""
    if job is None:
        return "idle"
    if job.alive:
        return "stopping" if job.stop_event.is_set() else "running"
    if job.error:
        return "stopped" if job.stop_event.is_set() else "failed"
    return "finished"


def saved_check(ws: Workspace) -> tuple[ModelCheck | None, bool]:
    """The check saved in the workspace's run (None when there is none) and whether it is current
    (same data, same trained models)."""
    if not ws.has_run():
        return None, False
    try:
        return load_model_check(load_run(ws.run_path))
    except WorkbenchError:
        return None, False


def verdict_table(check: ModelCheck) -> pd.DataFrame:
    """One row per node: grade, reason, what to try, and the scores behind them."""
    rows = []
    for c in check.nodes.values():
        lk = c.likelihood
        rows.append({
            "node": c.node,
            "verdict": c.verdict.grade,
            "reason": c.verdict.reason,
            "try": c.verdict.advice if c.verdict.grade != "good" else "",
            "measure": f"{lk.measure} ({'per image' if lk.per_dimension > 1 else 'per row'})",
            "model": lk.model,
            "parent-blind": lk.blind,
            "gain": lk.gain,
            "± se": lk.gain_se,
            "reference gain": lk.reference,
        })
    return pd.DataFrame(rows)


GRADE_COLOURS = {"good": "green", "doubtful": "orange", "poor": "red"}


def verdict_lines(check: ModelCheck) -> list[str]:
    """One Markdown line per node: the grade in its colour, the reason, and what to try."""
    out = []
    for c in check.nodes.values():
        v = c.verdict
        line = f"**{c.node}** · :{GRADE_COLOURS[v.grade]}[**{v.grade}**] — {v.reason}"
        if v.advice and v.grade != "good":
            line += f". *Try:* {v.advice}"
        elif v.advice:
            line += f" ({v.advice})"
        out.append(line)
    return out


def soundness_table(check: ModelCheck, node: str) -> pd.DataFrame:
    """An image node's soundness rows, each number beside the read-out's own held-out score and the
    score of guessing (where a read-out was used)."""
    c = check.nodes[node]
    chance = dict(c.reader.get("chance") or {})
    rows = []
    for r in c.soundness:
        parent = r.condition.split(" ")[-1] if r.reader_score is not None else None
        rows.append({"metric": r.metric, "condition": r.condition, "value": r.value, "unit": r.unit, "n": r.n,
                     "read-out score (real images)": r.reader_score,
                     "guessing": chance.get(parent) if parent else None})
    return pd.DataFrame(rows)


def summary_line(check: ModelCheck, current: bool) -> str:
    """``3 good, 1 poor on 600 held-out rows (checked 2024-...)``, with a warning when stale."""
    counts = {g: sum(v.grade == g for v in check.verdicts()) for g in ("good", "doubtful", "poor")}
    text = ", ".join(f"{k} {g}" for g, k in counts.items() if k)
    rows = f"{check.rows} held-out rows" if check.heldout else f"{check.rows} training rows (the data holds none out)"
    line = f"{text} on {rows}; checked {check.created.replace('T', ' ')[:16]} UTC"
    if not current:
        line += ". The models or the data changed since: run the check again"
    return line
