"""What the data say about the graph's answers: formulas, independence tests, plug-in estimates.

    formulas.py      the adjustment, front-door and c-factor (Verma constraint) estimands
    citests.py       conditional independence tests (G-test, Fisher's z, nested regressions) and
                     Holm / Benjamini-Hochberg corrections
    implications.py  check_claims: every independence the graph implies, tested on a data set
    plugin.py        plug_in_estimate: an estimand on discrete data with a bootstrap interval

It sits above core.graph, core.identify and core.data and below the commands and pages.
"""
