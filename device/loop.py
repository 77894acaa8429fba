"""The device's core loop: every ``period`` seconds read the sensor and publish one message.

It knows nothing of MQTT or of real time: the caller passes the sensor factory, the publish
function and the clock, so tests drive it with a fake clock and scripted sensors.

Failure behaviour (nothing that goes wrong in one cycle ends the loop):

* A failed read publishes the ``"Fail"`` message with ``null`` values; the sequence keeps
  counting either way. Every message carries the run's ``boot_id`` and the reading's
  ``timestamp`` (the wall clock when the cycle began), so republish can tell a late reading
  from a new one even across restarts (see :mod:`device.readings`).
* An I2C error, a library ``RuntimeError``, a lost-settings reset or any unexpected error from
  the sensor discards it (closing it if it has ``close()``); the next cycle calls the factory
  again. A factory that fails is a failed read too, and is retried on the next cycle.
* "No new data" (:class:`~device.errors.NoNewData`) is a failed read that keeps the sensor: the
  chip answered, its measurement was just not ready.
* A publish that raises is logged and counted; the loop goes on. So does a recorder that raises.

The schedule does not drift: cycle ``n`` is due at ``start + n * period`` whatever the cycles
take. After an overrun the next cycle starts at once; slots that went by entirely are skipped
(and counted) rather than run back to back, and the cycles after are back on the grid.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from device.errors import NoNewData, SensorError
from device.readings import (
    BOOT_ID_PATTERN,
    SUCCESS,
    TOPIC,
    Measurement,
    check_identity,
    encode,
    fail_message,
    new_boot_id,
    reading_message,
)
from device.recorder import TraceRecord

logger = logging.getLogger(__name__)

DEFAULT_PERIOD = 5.0
# Failures whose message says it all; anything else is logged with its traceback.
EXPECTED_SENSOR_ERRORS = (SensorError, OSError, RuntimeError)


class Clock(Protocol):
    """Monotonic time in seconds, and a way to wait."""

    def now(self) -> float: ...

    def sleep(self, seconds: float) -> None: ...


class RealClock:
    """The clock of a real run: ``time.monotonic`` and ``time.sleep``."""

    def now(self) -> float:
        return time.monotonic()

    def sleep(self, seconds: float) -> None:
        if seconds > 0:
            time.sleep(seconds)


class Sensor(Protocol):
    """What the loop needs of a sensor (an optional ``close()`` is called when discarded)."""

    def read(self) -> Measurement: ...


SensorFactory = Callable[[], Sensor]
Publish = Callable[[str, bytes], None]
Recorder = Callable[[TraceRecord], None]


@dataclass
class Counters:
    """What the loop did; pass one in to see it even when the loop is interrupted."""

    cycles: int = 0  # readings attempted (= messages built)
    published: int = 0  # messages the publish function accepted
    failed_reads: int = 0  # cycles that published "Fail" (open failures included)
    publish_errors: int = 0  # publish calls that raised
    opened: int = 0  # successful sensor_factory() calls
    reopened: int = 0  # ... of which came after a failure (the retries that worked)
    open_failures: int = 0  # sensor_factory() calls that raised
    record_errors: int = 0  # recorder calls that raised
    skipped_slots: int = 0  # schedule slots passed over after an overrun


def _close(sensor: Any, log: logging.Logger) -> None:
    close = getattr(sensor, "close", None)
    if close is None:
        return
    try:
        close()
    except Exception as error:  # a broken sensor may fail to close too; it is dropped anyway
        log.debug("closing the sensor failed: %s", error)


def _describe(error: BaseException) -> str:
    text = str(error)
    return f"{type(error).__name__}: {text}" if text else type(error).__name__


class _SensorHolder:
    """Keeps the open sensor, opens it when needed, drops it after a failure."""

    def __init__(self, factory: SensorFactory, counters: Counters, log: logging.Logger) -> None:
        self._factory = factory
        self._counters = counters
        self._log = log
        self._sensor: Sensor | None = None
        self._after_failure = False

    def _failed(self, sequence: int, what: str, error: Exception) -> None:
        self._counters.failed_reads += 1
        if isinstance(error, EXPECTED_SENSOR_ERRORS):
            self._log.warning("reading %d: %s: %s", sequence, what, _describe(error))
        else:
            self._log.error("reading %d: %s: unexpected error", sequence, what, exc_info=error)

    def read(self, sequence: int) -> Measurement | None:
        """A measurement, or ``None`` when this cycle's read failed (already logged)."""
        if self._sensor is None:
            try:
                sensor = self._factory()
            except Exception as error:
                self._counters.open_failures += 1
                self._after_failure = True
                self._failed(sequence, "cannot open the sensor", error)
                return None
            self._counters.opened += 1
            if self._after_failure:
                self._counters.reopened += 1
                self._log.info("reading %d: sensor opened again", sequence)
            self._after_failure = False
            self._sensor = sensor
        try:
            return self._sensor.read()
        except NoNewData as error:
            self._failed(sequence, "read failed", error)
            return None
        except Exception as error:
            self._failed(sequence, "read failed, the sensor will be opened again", error)
            self.discard()
            self._after_failure = True
            return None

    def discard(self) -> None:
        sensor, self._sensor = self._sensor, None
        if sensor is not None:
            _close(sensor, self._log)


def _check_arguments(period: float, count: int | None, boot_id: str | None) -> None:
    if boot_id is not None and not (isinstance(boot_id, str)
                                    and BOOT_ID_PATTERN.fullmatch(boot_id)):
        raise ValueError(f"boot_id must be 1 to 64 letters, digits, '-' or '_', got {boot_id!r}")
    if isinstance(period, bool) or not isinstance(period, (int, float)):
        raise TypeError(f"period must be a number of seconds, got {period!r}")
    if not (math.isfinite(period) and period > 0):
        raise ValueError(f"period must be a positive number of seconds, got {period!r}")
    if count is not None and (isinstance(count, bool) or not isinstance(count, int) or count < 0):
        raise ValueError(f"count must be None or an integer >= 0, got {count!r}")


def _next_slot(slot: int, start: float, period: float, now: float) -> int:
    """The slot after ``slot``, or a later one when whole slots have already gone by."""
    following = slot + 1
    behind = (now - (start + following * period)) / period
    return following + max(0, math.floor(behind))


def run(
    sensor_factory: SensorFactory,
    publish: Publish,
    clock: Clock,
    period: float = DEFAULT_PERIOD,
    count: int | None = None,
    recorder: Recorder | None = None,
    log: logging.Logger = logger,
    *,
    topic: str = TOPIC,
    wall_time: Callable[[], float] = time.time,
    counters: Counters | None = None,
    boot_id: str | None = None,
) -> Counters:
    """Read and publish every ``period`` seconds, ``count`` times (``None``: until interrupted).

    Each message carries ``boot_id`` (a fresh :func:`~device.readings.new_boot_id` unless
    given) and the reading's ``wall_time()`` (epoch seconds) as its timestamp; ``recorder``
    gets a :class:`~device.recorder.TraceRecord` per cycle with the same time. Returns the
    counters (``counters`` if one was passed). The first reading is taken at once; the
    sensor is closed when the loop ends.
    """
    _check_arguments(period, count, boot_id)
    boot_id = new_boot_id() if boot_id is None else boot_id
    log.info("boot id %s", boot_id)
    counters = counters if counters is not None else Counters()
    holder = _SensorHolder(sensor_factory, counters, log)
    start = clock.now()
    slot = 0
    sequence = 0  # of this run: 1, 2, 3...
    try:
        while count is None or sequence < count:
            wait = start + slot * period - clock.now()
            if wait > 0:
                clock.sleep(wait)
            sequence += 1
            taken_at = wall_time()
            measurement = holder.read(sequence)
            counters.cycles += 1
            message = _message(sequence, measurement, counters, log, boot_id, taken_at)
            if message["message"] != SUCCESS:
                measurement = None
            _publish(publish, topic, message, counters, log)
            if recorder is not None:
                _record(recorder, TraceRecord.of(taken_at, sequence, measurement), counters, log)
            following = _next_slot(slot, start, period, clock.now())
            if following > slot + 1:
                skipped = following - slot - 1
                counters.skipped_slots += skipped
                log.warning(
                    "reading %d overran: %d slot(s) of %gs skipped", sequence, skipped, period
                )
            slot = following
    finally:
        holder.discard()
    return counters


def _message(
    sequence: int,
    measurement: Measurement | None,
    counters: Counters,
    log: logging.Logger,
    boot_id: str,
    taken_at: float,
) -> dict[str, Any]:
    stamp: dict[str, Any] = {"boot_id": boot_id, "timestamp": taken_at}
    try:
        check_identity(boot_id, taken_at)
    except (TypeError, ValueError) as error:  # a wall clock giving garbage
        log.warning("reading %d: sent without boot id and timestamp: %s", sequence, error)
        stamp = {}
    try:
        return reading_message(sequence, measurement, **stamp)
    except (TypeError, ValueError) as error:  # a sensor returning NaN or garbage
        counters.failed_reads += 1
        log.warning("reading %d: unusable measurement %r: %s", sequence, measurement, error)
        return fail_message(sequence, **stamp)


def _publish(
    publish: Publish, topic: str, message: dict[str, Any], counters: Counters, log: logging.Logger
) -> None:
    try:
        publish(topic, encode(message))
    except Exception as error:
        counters.publish_errors += 1
        log.warning("reading %d: publish failed: %s", message["sequence"], _describe(error))
    else:
        counters.published += 1


def _record(
    recorder: Recorder, record: TraceRecord, counters: Counters, log: logging.Logger
) -> None:
    try:
        recorder(record)
    except Exception as error:
        counters.record_errors += 1
        log.warning("reading %d: recording failed: %s", record.sequence, _describe(error))
