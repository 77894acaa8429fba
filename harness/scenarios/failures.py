"""Which Lambda failures fail a scenario run: every one the scenario does not expect.

A scenario expects the failures its ``allow_failures`` entries name (by function, kind or
both), and the timeouts of a function it stalls itself with a ``lambda_timeout`` fault: a
hang the scenario injects is supposed to time out. Any other failure (an import error, an
unhandled exception, a timeout, a call the core refused) fails the run, with the function's
last log lines in its report.

A rig whose session cannot say (``function_failures()``: a simulated core, on the ``sim``
and ``broker`` rigs) reports none; the ``pi`` rig's real core is judged by the scenario's
expectations only.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from harness.function_failures import FunctionFailure, matches
from harness.scenarios.schema import Scenario


def allowances(scenario: Scenario) -> list[tuple[tuple[str, ...], tuple[str, ...]]]:
    """The scenario's allowed failures as (functions, kinds); empty means any."""
    found = [((a.function,) if a.function else (), a.kinds) for a in scenario.allow_failures]
    stalled = {f.lambda_timeout.function for f in scenario.faults if f.lambda_timeout}
    found.extend(((name,), ("timeout",)) for name in sorted(stalled))
    return found


def unexpected(scenario: Scenario, failures: Sequence[FunctionFailure]
               ) -> tuple[FunctionFailure, ...]:
    """The ``failures`` the scenario does not expect."""
    allowed = allowances(scenario)
    return tuple(failure for failure in failures
                 if not any(matches(failure, names, kinds) for names, kinds in allowed))


def session_failures(session: Any) -> tuple[FunctionFailure, ...]:
    """Every function failure the session's core recorded (none when it cannot say)."""
    reader = getattr(session, "function_failures", None)
    return tuple(reader()) if reader is not None else ()
