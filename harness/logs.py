"""Logs kept the way a Greengrass core keeps them: one log per user Lambda, and the core's.

User Lambda logs on a core live in ``/greengrass/ggc/var/log/user/<region>/<account>/
<function>.log`` with lines like ``[2026-01-01T00:00:05.000Z][INFO]-republish.py:42,text``.
Here every ``logging`` record emitted by Lambda code (its own loggers, the SDK's, the IPC
client's) lands in that function's log, stamped with virtual time.
"""

from __future__ import annotations

import logging
import traceback
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from harness.tasks import current_task

if TYPE_CHECKING:
    from harness.clock import VirtualClock
    from harness.functions import Container, FunctionRuntime


@dataclass(frozen=True)
class LogLine:
    time: float  # epoch seconds (virtual)
    level: str
    source: str  # "republish.py:42", or "" for the core's own lines
    message: str

    def __str__(self) -> str:
        stamp = datetime.fromtimestamp(self.time, UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3]
        where = f"{self.source}," if self.source else ""
        return f"[{stamp}Z][{self.level}]-{where}{self.message}"


class LogBook(logging.Handler):
    """Collects Lambda logs per function and the core's own log."""

    def __init__(self, clock: VirtualClock) -> None:
        super().__init__(level=logging.INFO)
        self.clock = clock
        self.core_lines: list[LogLine] = []
        self._records: dict[str, list[Any]] = {}  # LogLines, or a record's parts

    # -- the logging.Handler side ---------------------------------------------------------

    def handle(self, record: logging.LogRecord) -> bool:
        # Tasks run one at a time, so the handler lock logging.Handler.handle takes is not
        # needed; this handler has no filters.
        self.emit(record)
        return True

    def emit(self, record: logging.LogRecord) -> None:
        owner = getattr(current_task(), "owner", None)
        if owner is not None:  # what a line needs, formatted when read
            self.records_of(owner.log_name).append((
                self.clock.time(), record.levelname, record.filename, record.lineno,
                record.msg, record.args, record.exc_info))

    def records_of(self, function: str) -> list[Any]:
        records = self._records.get(function)
        if records is None:
            records = self._records[function] = []
        return records

    # -- lines the core writes ------------------------------------------------------------

    def function(self, function: FunctionRuntime, level: str, message: str) -> None:
        self.write(function.spec.name, level, message)

    def write(self, name: str, level: str, message: str) -> None:
        """A line in ``name``'s log written by the core (or a device's connection)."""
        self.records_of(name).append(LogLine(self.clock.time(), level, "", message))

    def runtime_error(self, container: Container, error: BaseException, what: str) -> None:
        text = "".join(traceback.format_exception(error)).rstrip()
        self.function(container.function, "ERROR", f"{what}:\n{text}")

    def core(self, level: str, message: str) -> None:
        self.core_lines.append(LogLine(self.clock.time(), level, "", message))

    def lines(self, function: str) -> list[LogLine]:
        return [_line(entry) for entry in self._records.get(function, [])]

    def lines_from(self, function: str, start: int) -> list[LogLine]:
        """``function``'s log lines from the ``start``-th on (its last ones, cheaply)."""
        return [_line(entry) for entry in self._records.get(function, [])[max(0, start):]]


def _line(entry: Any) -> LogLine:
    if isinstance(entry, LogLine):
        return entry
    when, level, filename, lineno, msg, args, exc_info = entry
    try:
        message = str(msg) % args if args else str(msg)  # as LogRecord.getMessage does
    except Exception:  # a bad format string in Lambda code: keep what we can
        message = f"{msg!r} {args!r}"
    if exc_info:
        message += "\n" + "".join(traceback.format_exception(*exc_info)).rstrip()
    return LogLine(when, level, f"{filename}:{lineno}", message)
