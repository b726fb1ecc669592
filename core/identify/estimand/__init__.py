"""Estimands: immutable expression trees over the observational distribution, and their evaluation.

One job per module:

* ``tree``: the five node kinds (``P``, ``Sum``, ``Product``, ``Fraction``, ``One``);
* ``simplify``: the smart constructors :func:`p`, :func:`sum_of`, :func:`product_of`,
  :func:`fraction_of`, which simplify with exact identities only;
* ``printers``: text and LaTeX (:meth:`Estimand.to_text`, :meth:`Estimand.to_latex`, :func:`latex_name`);
* ``tree_json``: the TREE contract of docs/architecture.md (:meth:`Estimand.to_json`, :func:`from_json`);
* ``distributions``: exact (:class:`JointTable`) and empirical (:class:`EmpiricalJoint`) discrete joints;
* ``evaluation``: exact, vectorised values of a tree on a distribution (:meth:`Estimand.table`,
  :meth:`Estimand.evaluate`, :meth:`Estimand.estimate`, the plug-in estimate).
"""

from core.identify.estimand.distributions import Distribution, EmpiricalJoint, JointTable
from core.identify.estimand.printers import latex_name
from core.identify.estimand.simplify import fraction_of, p, product_of, sum_of
from core.identify.estimand.tree import ONE, Estimand, Fraction, One, P, Product, Sum
from core.identify.estimand.tree_json import from_json

__all__ = [
    "ONE",
    "Distribution",
    "EmpiricalJoint",
    "Estimand",
    "Fraction",
    "JointTable",
    "One",
    "P",
    "Product",
    "Sum",
    "from_json",
    "fraction_of",
    "latex_name",
    "p",
    "product_of",
    "sum_of",
]
