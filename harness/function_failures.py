"""Function failures: what went wrong in a Lambda, one typed record each, kept by the core.

A Lambda that cannot be imported, raises out of its handler (or an IPC callback), runs past
its timeout, or asks for something the core refuses (on a V2 core: greengrasssdk's local
shadow calls, a legacy publish no subscription routes) fails *on the core*: the core logs it
and carries on. Such a failure should fail the test or scenario that caused it, so the
simulated core keeps each one as a :class:`FunctionFailure` with the function's last log
lines, readable as ``simulation.function_failures``.

A Lambda that handles a bad input itself (logs it and returns) has not failed: only what
escapes the function, or what the core refuses, is recorded here.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal, get_args

if TYPE_CHECKING:
    from harness.clock import VirtualClock
    from harness.logs import LogBook

FailureKind = Literal["import_error", "handler_error", "timeout", "refused"]
#: every kind, in the order a report lists them
FAILURE_KINDS: tuple[FailureKind, ...] = get_args(FailureKind)

#: how many of the function's last log lines a failure keeps
LOG_TAIL = 12

_WHAT = {
    "import_error": "failed to import",
    "handler_error": "raised an unhandled exception",
    "timeout": "timed out",
    "refused": "was refused by the core",
}


@dataclass(frozen=True, slots=True)
class FunctionFailure:
    """One failure of one function on the simulated core."""

    function: str  # the function's name in the group
    kind: FailureKind
    time: float  # seconds since the simulation started
    message: str  # the exception (``ValueError: ...``), the timeout or the core's refusal
    log_tail: tuple[str, ...] = ()  # the function's last log lines at that moment, in order

    def summary(self) -> str:
        """One line: ``republish timed out at 12 s: Task timed out after 25.00 seconds``."""
        return f"{self.function} {_WHAT[self.kind]} ({self.kind}) at {self.time:g} s: " \
               f"{self.message}"

    def describe(self) -> str:
        """The summary and the function's last log lines, indented."""
        if not self.log_tail:
            return self.summary() + "\n  (the function logged nothing)"
        lines = "\n".join(line for entry in self.log_tail for line in entry.splitlines())
        return f"{self.summary()}\n  last log lines of {self.function}:\n" + "\n".join(
            f"    {line}" for line in lines.splitlines())

    def __str__(self) -> str:
        return self.summary()


def matches(failure: FunctionFailure, functions: Iterable[str] = (),
            kinds: Iterable[str] = ()) -> bool:
    """Whether ``failure`` is one of ``functions`` (any when empty) and of ``kinds`` (any
    when empty)."""
    functions, kinds = tuple(functions), tuple(kinds)
    return (not functions or failure.function in functions) and (not kinds or
                                                                 failure.kind in kinds)


def check_kinds(kinds: Iterable[str]) -> tuple[FailureKind, ...]:
    """``kinds`` as failure kinds; a ``ValueError`` naming the known ones for any other."""
    import difflib

    checked = []
    for kind in kinds:
        if kind not in FAILURE_KINDS:
            close = difflib.get_close_matches(kind, FAILURE_KINDS, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise ValueError(f"unknown function failure kind {kind!r}{hint}; the kinds are "
                             + ", ".join(FAILURE_KINDS))
        checked.append(kind)
    return tuple(checked)  # type: ignore[return-value]


def report(failures: Sequence[FunctionFailure], what: str = "function failure") -> str:
    """Every failure described, under a heading that counts them."""
    heading = f"{len(failures)} {what}{'s' if len(failures) != 1 else ''}:"
    return "\n".join([heading, *(failure.describe() for failure in failures)])


class FailureRecorder:
    """The core's list of failures: each recorded with the function's log as it is then."""

    def __init__(self, logs: LogBook, clock: VirtualClock) -> None:
        self._logs = logs
        self._clock = clock
        self.failures: list[FunctionFailure] = []

    def record(self, function: str, kind: FailureKind, message: str) -> FunctionFailure:
        records = self._logs.records_of(function)
        tail = tuple(str(line) for line in self._logs.lines_from(function,
                                                                 len(records) - LOG_TAIL))
        failure = FunctionFailure(function, kind, round(self._clock.elapsed, 6), message, tail)
        self.failures.append(failure)
        return failure


def exception_text(error: BaseException) -> str:
    """``TypeError: message`` (the type alone when the message is empty)."""
    text = str(error)
    return f"{type(error).__name__}: {text}" if text else type(error).__name__
