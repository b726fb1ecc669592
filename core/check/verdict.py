"""A verdict per node -- good, doubtful or poor -- with the reason in words and what to try.

Inputs: the node's likelihood scores (:mod:`core.check.likelihood`) and, for an image node, its
soundness rows (:mod:`core.check.soundness`) with the read-out's held-out score and the score of
guessing (the commonest value; the median for a continuous parent).  A difference counts when it
exceeds ``Z`` standard errors and a practical floor (``FLOOR`` nats per value: per row for a
scalar, per pixel value for an image).  Rules, worst first:

    poor      the model fits unseen rows worse than the parent-blind baseline;
              or the parents inform the node (the short reference gains from them) but the model
              gains less than ``IGNORES`` of that from them;
              or an image's counterfactuals do not show an intervened parent the read-out can
              read (effectiveness below 35% of the way from guessing to the read-out's own score);
    doubtful  the model gains less than ``PARTLY`` of what the short reference gains from the parents;
              a counterfactual shows a parent only partly (below 70% of the way);
              abduction does not reproduce the image (composition beyond ``COMPOSITION_L1``);
              generated images are easy to tell from real ones (C2ST beyond ``REALISM``);
              a root node fits worse than a fresh short fit (poor beyond ``ROOT_POOR``);
    good      otherwise, with what was measured.

Each number that depends on a read-out is reported with the read-out's own accuracy.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass

from core.check.likelihood import NodeLikelihood
from core.check.soundness import Row

GRADES = ("good", "doubtful", "poor")
Z = 2.0
FLOOR = 0.002  # nats per value
IGNORES = 0.25  # a model gaining less than this share of the reference's gain ignores its parents
PARTLY = 0.6  # ... less than this share uses them only partly
ROOT_POOR = 0.05  # nats per value: a root node this much worse than a fresh short fit is poor
POOR_SHARE = 0.35  # effectiveness, as a share of the way from guessing to the read-out's score
DOUBTFUL_SHARE = 0.7
COMPOSITION_L1 = 8.0  # mean |x_1 - x| on the 0-255 scale after one null intervention
REALISM = 0.95  # C2ST accuracy
VISIBLE = 0.25  # a read-out reads a parent when it gets this share of the way from guessing to perfect

MORE_TRAINING = "train it longer (more steps) or with the full preset"


@dataclass(frozen=True)
class Verdict:
    """A node's grade (good, doubtful, poor), the reason in words and what to try."""

    node: str
    grade: str
    reason: str
    advice: str = ""

    def to_json(self) -> dict[str, str]:
        return asdict(self)

    @classmethod
    def from_json(cls, obj: Mapping[str, str]) -> Verdict:
        return cls(obj["node"], obj["grade"], obj["reason"], obj.get("advice", ""))


@dataclass(frozen=True)
class Finding:
    grade: str
    reason: str
    advice: str = ""


def _fmt(x: float) -> str:
    return f"{x:.3g}"


def likelihood_findings(lik: NodeLikelihood, has_parents: bool, image: bool) -> list[Finding]:
    """What the scores say (see the module docstring)."""
    unit = "per image" if image else "per row"
    what = "unseen rows" if lik.heldout else "training rows (the data holds none out)"
    floor = FLOOR * lik.per_dimension
    se = lik.gain_se if lik.gain_se == lik.gain_se else 0.0  # NaN (one unit) counts as 0
    out: list[Finding] = []
    worse = -lik.gain
    if worse > max(Z * se, floor):
        if has_parents:
            reason = (f"fits {what} worse than a {lik.steps}-step model that ignores the parents "
                      f"({lik.measure} {_fmt(lik.model)} vs {_fmt(lik.blind)} {unit})")
        else:
            reason = (f"fits {what} worse than a fresh {lik.steps}-step fit "
                      f"({lik.measure} {_fmt(lik.model)} vs {_fmt(lik.blind)} {unit})")
        grade = "poor" if has_parents or worse > ROOT_POOR * lik.per_dimension else "doubtful"
        out.append(Finding(grade, reason, f"{MORE_TRAINING}; a model trained far longer than it needs can also "
                                          "overfit a small data set: then fewer steps or more rows"))
        return out
    uses = lik.gain > max(Z * se, floor)
    if not has_parents:
        out.append(Finding("good", f"fits {what} at least as well as a fresh {lik.steps}-step fit "
                                   f"({lik.measure} {_fmt(lik.model)} {unit})"))
        return out
    ref = lik.reference
    ref_se = lik.reference_se if lik.reference_se is not None and lik.reference_se == lik.reference_se else 0.0
    offers = ref is not None and ref > max(Z * ref_se, floor)
    gained = f"{_fmt(lik.gain)} ± {_fmt(se)} {unit} better than a parent-blind baseline on {what}"
    if offers and (not uses or lik.gain < IGNORES * ref):
        out.append(Finding("poor", f"ignores its parents: {gained}, while a {lik.steps}-step reference gains "
                                   f"{_fmt(ref)} {unit} from them",
                           "forget this model and retrain it, longer or with the full preset; check that each row's values "
                           "belong together"))
    elif offers and lik.gain < PARTLY * ref:
        out.append(Finding("doubtful", f"uses its parents only partly: {gained}, a {lik.steps}-step reference "
                                       f"gains {_fmt(ref)}", MORE_TRAINING))
    elif uses or offers:
        out.append(Finding("good", f"uses its parents: {gained}"
                                   + (f" (a {lik.steps}-step reference: {_fmt(ref)})" if ref is not None else "")))
    elif ref is not None:
        out.append(Finding("good", f"the parents carry no detectable information here and the model agrees "
                                   f"({gained})",
                           "the edges into this node may be unnecessary; more data would tell"))
    else:
        out.append(Finding("good", f"fits {what}: {gained}"))
    return out


def soundness_findings(rows: Sequence[Row], chance: Mapping[str, float],
                       discrete: Mapping[str, bool]) -> list[Finding]:
    """What an image node's soundness rows say (see the module docstring); ``chance`` is each
    parent's guessing score (accuracy, or MAE of the median), ``discrete`` its kind."""
    out: list[Finding] = []
    for r in rows:
        if r.metric == "effectiveness" and r.reader_score is not None:
            parent = r.condition.split(" -> ")[-1]
            if not r.condition.startswith(f"do({parent})"):
                continue  # a parent the intervention causes: judged through its own do()
            base, reader = chance.get(parent), r.reader_score
            if base is None:
                continue
            if discrete.get(parent, True):
                span, got = reader - base, r.value - base
                visible = span > VISIBLE * (1.0 - base)
                shown = f"{r.value:.0%} (read-out accuracy {reader:.0%} on real images, guessing {base:.0%})"
            else:
                span, got = base - reader, base - r.value
                visible = span > VISIBLE * base
                shown = f"MAE {_fmt(r.value)} (read-out MAE {_fmt(reader)} on real images, guessing {_fmt(base)})"
            if not visible:
                continue
            share = got / span
            if share < POOR_SHARE:
                out.append(Finding("poor", f"counterfactual images do not show do({parent}): the read-out finds it "
                                           f"in {shown}",
                                   f"{MORE_TRAINING}, or another mechanism (the vae and latent_flow kinds abduct "
                                   "exactly)"))
            elif share < DOUBTFUL_SHARE:
                out.append(Finding("doubtful", f"counterfactual images show do({parent}) only partly: {shown}",
                                   MORE_TRAINING))
        elif r.metric == "composition" and r.condition == "m=1" and r.value > COMPOSITION_L1:
            out.append(Finding("doubtful", f"abduction does not reproduce the image: one null intervention moves "
                                           f"each pixel by {r.value:.1f}/255 on average",
                               "the vae and latent_flow kinds abduct exactly; diffusion's inversion is approximate"))
        elif r.metric == "realism" and r.value > REALISM:
            out.append(Finding("doubtful", f"generated images are easy to tell from real ones (a classifier is right "
                                           f"{r.value:.0%} of the time; 50% is indistinguishable)",
                               MORE_TRAINING))
    return out


def judge(node: str, findings: Sequence[Finding]) -> Verdict:
    """The worst grade among ``findings``; its reasons joined, its first advice."""
    if not findings:
        return Verdict(node, "doubtful", "nothing could be measured for this node", "")
    worst = max(findings, key=lambda f: GRADES.index(f.grade)).grade
    chosen = [f for f in findings if f.grade == worst]
    advice = next((f.advice for f in chosen if f.advice), "")
    return Verdict(node, worst, "; ".join(f.reason for f in chosen), advice)
