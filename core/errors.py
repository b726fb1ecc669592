"""Errors that mean "the input is wrong", each with a one-line message naming the problem.

The CLI turns these into exit code 2 and the pages into a red message; anything else is a bug.
"""


class WorkbenchError(ValueError):
    """Bad input: the message is one line that names the problem."""


class InUseError(WorkbenchError):
    """A folder that another writer holds: ``run folder runs/x is in use by process 1234 since 10:02:11``."""
