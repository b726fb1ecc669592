"""Graphs the identification tests share: a tiny spec language and a catalogue of classic queries."""

from __future__ import annotations

import itertools

from core.graph import ADMG, Node


def graph(spec: str, levels: int = 2) -> ADMG:
    """'X->Y; X<->Y; Z' -> ADMG (chains like A->B->C allowed); ``levels`` > 2 gives categorical nodes."""
    names: list[str] = []
    directed, bidirected = [], []
    for part in spec.split(";"):
        part = part.strip()
        if not part:
            continue
        if "<->" in part:
            a, b = (s.strip() for s in part.split("<->"))
            bidirected.append((a, b))
            names += [a, b]
        elif "->" in part:
            chain = [s.strip() for s in part.split("->")]
            directed += list(itertools.pairwise(chain))
            names += chain
        else:
            names.append(part)
    names = list(dict.fromkeys(names))
    nodes = [Node(v) if levels == 2 else Node(v, "categorical", levels) for v in names]
    return ADMG(nodes, directed, bidirected)


# name -> (graph spec, treatment, outcome, given, identifiable?)
# Reconstructed from the literature (Pearl 2009 Figs 3.8/3.9; Shpitser & Pearl 2006; Tian & Pearl
# 2002): the structures are the classic ones, the names say which; verdicts are also checked against
# an independent brute-force hedge search in test_id_property.py.
CATALOGUE = {
    "backdoor": ("Z->X->Y; Z->Y", ["X"], ["Y"], [], True),
    "frontdoor": ("X->M->Y; X<->Y", ["X"], ["Y"], [], True),
    "napkin": ("W1->W2->X->Y; W1<->X; W1<->Y", ["X"], ["Y"], [], True),
    "bow_arc": ("X->Y; X<->Y", ["X"], ["Y"], [], False),
    # Pearl 2009 Fig 3.9 style non-identifiable graphs
    "confounded_mediator_arm": ("X->Z->Y; X<->Z", ["X"], ["Y"], [], False),
    "confounded_covariate_both": ("Z->X->Y; Z->Y; X<->Z; Z<->Y", ["X"], ["Y"], [], False),
    "broken_frontdoor": ("X->Z->Y; X<->Y; Z<->Y", ["X"], ["Y"], [], False),
    "shpitser_pearl_fig1b_w_confounded": ("X->W->Y; X<->W; W<->Y", ["X"], ["Y"], [], False),
    # Pearl 2009 Fig 3.8 style identifiable graphs
    "unconfounded_treatment": ("X->Z->Y; Z<->Y", ["X"], ["Y"], [], True),
    "backdoor_confounded_covariate": ("Z->X->Y; Z->Y; Z<->Y", ["X"], ["Y"], [], True),
    "two_step_backdoor": ("Z1->Z2->X->Y; Z2->Y; Z1<->X; Z1<->Y", ["X"], ["Y"], [], False),
    "instrument_and_frontdoor": ("I->X->M->Y; X<->Y", ["X"], ["Y"], [], True),
    "pearl_3_8f_frontdoor_with_covariate": ("Z->X->M->Y; Z->Y; X<->Z", ["X"], ["Y"], [], True),
    "pearl_3_8g": ("Z1->X->Y; Z1->Z2->Y; Z3->Y; X<->Z2; Z1<->Z3; X<->Z3", ["X"], ["Y"], [], True),
    # Tian & Pearl 2002: c-component factorisation examples
    "tian_chain_of_districts": ("X->Z1->Z2->Y; X<->Z2; Z1<->Y", ["X"], ["Y"], [], True),
    "tian_q_decomposition": ("W->X->Z->Y; W<->Z; X<->Y", ["X"], ["Y"], [], True),
    # multiple outcomes / treatments
    "frontdoor_joint_outcome": ("X->M->Y; X<->Y", ["X"], ["M", "Y"], [], True),
    "napkin_joint_outcome": ("W1->W2->X->Y; W1<->X; W1<->Y", ["X"], ["Y", "W2"], [], False),
    "sequential_treatments": ("X1->Z->X2->Y; X1->Y; Z->Y; Z<->Y", ["X1", "X2"], ["Y"], [], True),
    "confounded_treatments": ("X1->Y; X2->Y; X1<->X2; X2<->Y", ["X1", "X2"], ["Y"], [], False),
    "shpitser_pearl_2006_two_outcomes": (
        "W1->X->Y1; W2->Y2; W1<->Y1; W1<->W2; W2<->X; W1<->Y2",
        ["X"],
        ["Y1", "Y2"],
        [],
        True,
    ),
    "two_outcomes_identifiable": ("W1->X->Y1; W2->Y2; X->Y2; W1<->Y1; W1<->W2", ["X"], ["Y1", "Y2"], [], True),
    # IDC
    "idc_backdoor": ("Z->X->Y; Z->Y", ["X"], ["Y"], ["Z"], True),
    "idc_frontdoor_given_mediator": ("X->M->Y; X<->Y", ["X"], ["Y"], ["M"], True),
    "idc_napkin_given_w2": ("W1->W2->X->Y; W1<->X; W1<->Y", ["X"], ["Y"], ["W2"], False),
    "idc_bow_with_covariate": ("X->Y; Z->Y; X<->Y", ["X"], ["Y"], ["Z"], False),
    "idc_m_bias": ("A->X->Y; A->Z; B->Z; B->Y", ["X"], ["Y"], ["Z"], True),
    "idc_isolated_after_cut": ("Z->X->Y", ["X"], ["Y"], ["Z"], True),
    "idc_confounded_given": ("X->Y; Z->Y; X<->Z; Z<->Y", ["X"], ["Y"], ["Z"], False),
    "idc_post_treatment": ("X->Z->Y; X<->Y", ["X"], ["Y"], ["Z"], True),
    "idc_multi": ("Z1->X1->Z2->X2->Y; Z1->Y; Z2<->Y", ["X1", "X2"], ["Y"], ["Z1"], True),
    "idc_two_outcomes_frontdoor": ("X->M->Y; X->W; X<->Y", ["X"], ["Y", "W"], ["M"], True),
}
