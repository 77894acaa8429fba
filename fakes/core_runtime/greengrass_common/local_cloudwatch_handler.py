"""``LocalCloudwatchLogHandler``: the logging handler that feeds a core's local log service.

On a core, each record is formatted, renamed to the log4j level names local CloudWatch uses
(``[WARNING]`` becomes ``[WARN]``, ``[CRITICAL]`` becomes ``[FATAL]``) and posted at once to the
daemon as a ``PutLogEvents`` batch for the group ``/<component_type>/<component_name>``, stream
``fromPythonAppender``. Here the batch is kept in memory instead: :meth:`delivered` returns the
events the daemon would have received, each ``{'timestamp': <ms>, 'message': <text>}``.
"""

from __future__ import annotations

import logging
import posixpath
import sys
import threading
import time
from collections import deque
from typing import Any

LOG_STREAM_NAME = "fromPythonAppender"

#: Events kept for inspection; the oldest are dropped beyond this (the real buffer's size).
MAX_KEPT_EVENTS = 10_000

_LOG4J_NAMES = {"[WARNING]": "[WARN]", "[CRITICAL]": "[FATAL]"}


class LocalCloudwatchLogHandler(logging.Handler):
    """Formats records for local CloudWatch and keeps what would have been sent."""

    def __init__(self, component_type: str, component_name: str, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.log_group_name = posixpath.join("/", component_type, component_name)
        self.log_stream_name = LOG_STREAM_NAME
        self._events: deque[dict[str, Any]] = deque(maxlen=MAX_KEPT_EVENTS)
        self._events_lock = threading.Lock()

    def write(self, data: object) -> None:
        """File-like entry point, so ``print`` output can be redirected here (as DEBUG)."""
        text = str(data)
        if text == "\n":  # print() writes the text and the newline separately
            return
        caller = sys._getframe(1)
        record = logging.makeLogRecord(
            {
                "created": time.time(),
                "msg": text,
                "filename": posixpath.basename(caller.f_code.co_filename),
                "lineno": caller.f_lineno,
                "levelname": "DEBUG",
                "levelno": logging.DEBUG,
            }
        )
        self.emit(record)

    def emit(self, record: logging.LogRecord) -> None:
        message = self.format(record)
        for python_name, log4j_name in _LOG4J_NAMES.items():
            if message.startswith(python_name):
                message = log4j_name + message[len(python_name) :]
                break
        event = {"timestamp": round(record.created * 1000), "message": message}
        with self._events_lock:
            self._events.append(event)

    def delivered(self) -> list[dict[str, Any]]:
        """The events sent so far, oldest first."""
        with self._events_lock:
            return list(self._events)

    def clear(self) -> None:
        """Forget the events sent so far."""
        with self._events_lock:
            self._events.clear()
