"""Verdicts: one table, the only place a verdict's name, label and meaning are spelled.

Every other module (comparison, execution, summary, expectations, report, diff, the record
schema's enum, checked by a test) reads these tuples.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Outcome:
    name: str
    label: str  # the short form the report's matrix shows
    failing: bool  # makes its cell (and the run) fail
    expectable: bool  # an expectations entry may turn it into `known`
    passing: bool  # counts as a pass (compared by its figures only)
    meaning: str


# In cell order: a cell shows the first of these that any of its examples has.
OUTCOMES = (
    Outcome("crashed", "crash", True, True, False, "the worker process died while running the example"),
    Outcome("error", "error", True, True, False, "the framework raised"),
    Outcome("timeout", "timeout", True, True, False, "the example ran past the per-example time limit"),
    Outcome("bad-output", "bad out", True, True, False, "wrong keys, shape, dtype or type"),
    Outcome("nonfinite", "nonfin", True, True, False, "NaN/inf on one side only"),
    Outcome("fail", "fail", True, True, False, "over the tolerance budget"),
    Outcome("known", "known", False, False, False, "a failure an expectations entry names"),
    Outcome("convention", "conv", False, False, True, "at a kink: the framework's subgradient is recorded"),
    Outcome("pass", "pass", False, False, True, "within the budget"),
    Outcome("unsupported", "unsup", False, False, False, "the adapter cannot run this combination (with why)"),
)
BY_NAME = {o.name: o for o in OUTCOMES}
STATUSES = tuple(o.name for o in OUTCOMES)
CELL_ORDER = STATUSES
FAILING = tuple(o.name for o in OUTCOMES if o.failing)
PASSING = tuple(o.name for o in OUTCOMES if o.passing)
# a crash is expected only where an entry names it: it costs a worker, so no entry swallows one by default
EXPECTABLE = tuple(o.name for o in OUTCOMES if o.expectable)
EXPECTED_BY_DEFAULT = tuple(s for s in EXPECTABLE if s != "crashed")
# a cell with no record at all (its framework unavailable, or the run cut off)
NOT_RUN = "not-run"
LABELS = {**{o.name: o.label for o in OUTCOMES}, NOT_RUN: "not run"}


class VerdictFailure(AssertionError):
    """A test of the suite failed because its record's verdict fails (the record says why).
    Any other failure of a suite test is the suite's own fault: a suite error."""


def only_verdict_failures(exc: BaseException) -> bool:
    """Whether ``exc`` is a verdict failure, or a group of nothing but (Hypothesis reports a
    failure it could not reproduce, such as uninitialised memory, as a group)."""
    if isinstance(exc, VerdictFailure):
        return True
    if isinstance(exc, BaseExceptionGroup):
        return all(only_verdict_failures(e) for e in exc.exceptions)
    return False
