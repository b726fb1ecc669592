"""Identification: is P(y | do(x), z) computable from the observational distribution, and how.

| algorithm | reference | entry point | what the recursion builds |
|---|---|---|---|
| ID | Shpitser & Pearl (2006), *Identification of joint interventional distributions in recursive semi-Markovian causal models* | :func:`identify` (no ``given``) | an :class:`~core.identify.estimand.Estimand` (``estimand_builder``) |
| IDC | Shpitser & Pearl (2006b), *Identification of conditional interventional distributions* | :func:`identify` (``given``) | rule 2 (``idc``), then ID of P_x(y, z) / sum_y P_x(y, z) |
| ID-GEN | Rahman, Jordan & Kocaoglu (2024), *Conditional generative models are sufficient to sample from any causal effect estimand* | ``core.idgen.compile_query`` | a plan of conditional generative models (``core.idgen.compiler``) |

One module per job: ``query`` (the validated :class:`Query`), ``recursion`` (ID's lines 1-7 over an
``IDAlgebra``, the hedge), ``idc`` (rule 2), ``estimand_builder`` (the estimand algebra), ``id``
(the entry points), ``estimand`` (the tree, its printers, JSON and evaluation).
"""

from core.identify.id import (
    identify,
    identify_query,
    is_identifiable,
    query_is_identifiable,
    require_identifiable,
)
from core.identify.idc import idc_reduce
from core.identify.query import NameArg, Query, query_text
from core.identify.recursion import IDAlgebra, NotIdentifiable

__all__ = [
    "IDAlgebra",
    "NameArg",
    "NotIdentifiable",
    "Query",
    "identify",
    "identify_query",
    "idc_reduce",
    "is_identifiable",
    "query_is_identifiable",
    "query_text",
    "require_identifiable",
]
