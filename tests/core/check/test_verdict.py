"""Verdict rules: each rule fires on the numbers it names and only then; the worst grade wins."""

from __future__ import annotations

from core.check.likelihood import NodeLikelihood
from core.check.soundness import Row
from core.check.verdict import judge, likelihood_findings, soundness_findings


def lik(gain: float, reference: float | None, se: float = 0.01, model: float = 0.5, per_dimension: int = 1,
        heldout: bool = True) -> NodeLikelihood:
    return NodeLikelihood("Y", "categorical", "NLL", 500, 500, heldout, model, model + gain, gain, se,
                          None if reference is None else model + gain - reference, reference,
                          None if reference is None else se, 300, per_dimension)


def grade(lk: NodeLikelihood, parents: bool = True, image: bool = False) -> str:
    return judge("Y", likelihood_findings(lk, parents, image)).grade


def test_likelihood_rules():
    assert grade(lik(0.24, 0.24)) == "good"
    assert grade(lik(0.10, 0.24)) == "doubtful"  # under 60% of what a short reference gains
    assert grade(lik(0.01, 0.24)) == "poor"  # under 25%: ignores the parents
    assert grade(lik(-0.05, 0.24)) == "poor"  # worse than a model that cannot see the parents
    v = judge("Y", likelihood_findings(lik(0.01, 0.24), True, False))
    assert v.reason.startswith("ignores its parents: 0.01 ± 0.01 per row better than a parent-blind baseline on "
                            "unseen rows")
    assert "retrain" in v.advice
    # the parents carry nothing, and the model agrees: good, with a word about the edges
    v = judge("Y", likelihood_findings(lik(0.001, 0.002), True, False))
    assert v.grade == "good" and "no detectable information" in v.reason and "edges" in v.advice
    # root nodes: compared with a fresh short fit
    assert grade(lik(0.0, None), parents=False) == "good"
    assert grade(lik(-0.03, None), parents=False) == "doubtful"
    assert grade(lik(-0.5, None), parents=False) == "poor"
    # an untrained image model: far worse than a short parent-blind fit, per image
    assert grade(lik(-3000.0, None, se=50.0, per_dimension=768), image=True) == "poor"
    assert "training rows (the data holds none out)" in judge("Y", likelihood_findings(
        lik(0.24, 0.24, heldout=False), True, False)).reason


def test_soundness_rules():
    chance, discrete = {"C": 0.34, "t": 1.0}, {"C": True, "t": False}

    def eff(value: float, reader: float, parent: str = "C") -> Row:
        return Row("X", "effectiveness", f"do({parent}) -> {parent}", value, "accuracy", 64, reader)

    assert soundness_findings([eff(0.98, 1.0)], chance, discrete) == []
    assert [f.grade for f in soundness_findings([eff(0.40, 1.0)], chance, discrete)] == ["poor"]
    assert [f.grade for f in soundness_findings([eff(0.70, 1.0)], chance, discrete)] == ["doubtful"]
    assert soundness_findings([eff(0.35, 0.40)], chance, discrete) == []  # the read-out cannot read C
    # continuous parent: MAE (lower is better), guessing MAE 1.0, read-out 0.2
    assert [f.grade for f in soundness_findings([eff(0.9, 0.2, "t")], chance, discrete)] == ["poor"]
    assert soundness_findings([eff(0.25, 0.2, "t")], chance, discrete) == []
    found = soundness_findings([eff(0.40, 1.0)], chance, discrete)[0]
    assert found.reason == ("counterfactual images do not show do(C): the read-out finds it in 40% (read-out "
                            "accuracy 100% on real images, guessing 34%)")
    composition = Row("X", "composition", "m=1", 20.0, "0-255 L1", 64)
    realism = Row("X", "realism", "C2ST real vs generated", 0.99, "C2ST accuracy", 64)
    assert [f.grade for f in soundness_findings([composition, realism], chance, discrete)] == ["doubtful", "doubtful"]
    # a parent the intervention causes is judged through its own do()
    assert soundness_findings([Row("X", "effectiveness", "do(C) -> t", 3.0, "MAE", 64, 0.2)], chance, discrete) == []


def test_the_worst_grade_wins_and_nothing_measured_is_doubtful():
    findings = likelihood_findings(lik(0.24, 0.24), True, True)
    findings += soundness_findings([Row("X", "effectiveness", "do(C) -> C", 0.3, "accuracy", 64, 1.0)],
                                   {"C": 0.34}, {"C": True})
    v = judge("X", findings)
    assert v.grade == "poor" and v.reason.startswith("counterfactual images do not show do(C)")
    assert judge("X", []).grade == "doubtful"
