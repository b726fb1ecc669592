"""JointTable and EmpiricalJoint refuse what is not a discrete distribution."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from core.errors import WorkbenchError
from core.identify.estimand import EmpiricalJoint, JointTable, p


def test_joint_table_validation() -> None:
    with pytest.raises(WorkbenchError, match="not a probability distribution"):
        JointTable(["A"], [2], np.array([0.5, 0.6]))
    with pytest.raises(WorkbenchError, match="shape"):
        JointTable(["A"], [3], np.array([0.5, 0.5]))


def test_dataframe_validation() -> None:
    with pytest.raises(WorkbenchError, match="not discrete"):
        EmpiricalJoint.from_dataframe(pd.DataFrame({"A": [0.5, 1.0]}))
    with pytest.raises(WorkbenchError, match="negative level"):
        EmpiricalJoint.from_dataframe(pd.DataFrame({"A": [0, -1]}))
    with pytest.raises(WorkbenchError, match="only 2 levels"):
        EmpiricalJoint.from_dataframe(pd.DataFrame({"A": [0, 2]}), cards={"A": 2})
    with pytest.raises(WorkbenchError, match="no column 'B'"):
        p(["B"]).estimate(pd.DataFrame({"A": [0, 1]}), {"B": 0})
