"""Republish BME680 readings to the thing's Shadow, with the temperature compensated for CPU heat.

An on-demand Greengrass Lambda subscribed to ``bme680/readings`` from the sensor device.

Input event (json input encoding: a dict; binary encoding: UTF-8 JSON as ``bytes`` or ``str``)::

    {"sequence": int, "boot_id": str, "timestamp": float,
     "temperature": float, "pressure": float, "humidity": float,
     "message": "Success" | "Fail"}

in degrees C, hPa and %RH. The sensor sends ``null`` values when it failed. ``sequence``
counts the readings of one run of the device program from 1, ``boot_id`` names the run and
``timestamp`` is when the reading was taken (epoch seconds); see ``device/readings.py``.

A valid reading has an int ``sequence`` from 0 to 2**53 - 1 (not a bool), finite numbers (not
bools) inside the BME680 operating range (-40..85 degrees C, 300..1100 hPa, 0..100 %RH),
``message`` ``"Success"``, and either both ``boot_id`` (1 to 64 letters, digits, ``-`` or
``_``) and ``timestamp`` (a finite number >= 0) or neither (a device older than this
contract). For it the handler takes ``CPU_SAMPLES`` CPU temperature readings
``CPU_SAMPLE_INTERVAL`` seconds apart from ``CPU_TEMP_PATH`` (millidegrees C), and updates the
classic Shadow of ``THING_NAME`` with::

    {"state": {"reported": {"temperature": 2 * temperature - cpu_average,
                            "pressure": ..., "humidity": ..., "message": "Success",
                            "sequence": ..., "boot_id": ..., "timestamp": ...,
                            "compensation": "cpu", "cpu_temperature": cpu_average,
                            "error": null}}}

If the CPU temperature cannot be read, ``temperature`` is the sensor's own value,
``compensation`` is ``"none"`` and ``cpu_temperature`` is ``null`` (a warning is logged).
The ``null`` values delete stale keys left by earlier updates (``boot_id`` and ``timestamp``
are ``null`` for a reading without them).

Anything else is logged as an error and reported without touching the last good values::

    {"state": {"reported": {"message": "Fail", "sequence": <if valid>,
                            "boot_id": <if valid>, "timestamp": <if valid>,
                            "error": "<what was wrong>"}}}

``error`` names every problem, each value shown shortened, and is cut to
``MAX_ERROR_BYTES`` (1 KB as JSON), so the Fail report always fits the Shadow's 8 KB
whatever the event held (huge strings, deep nesting, giant numbers, many fields). The
sequence is reported only when the event's place in the order is known (below); a report
without it leaves ``sequence``, ``boot_id`` and ``timestamp`` as they were.

**The Shadow never goes back in time within a run of the device program.** Instances run
side by side and a good reading spends seconds sampling the CPU while a failed one is written
at once, so reports finish out of order. A report is therefore written only if its reading
is newer than the one the Shadow reports:

- same ``boot_id``: newer means a higher ``sequence`` (a repeat of the same one is not);
- another ``boot_id`` (the device program restarted and counts from 1 again): newer means a
  later ``timestamp``. This relies on the device's clock being set before it publishes (on a
  Pi without a real-time clock: start the program after ``time-sync.target``);
- nothing to compare with (no Shadow, or it reports no ``boot_id``): newer.

This holds for Fail reports as for Success ones: the Shadow describes the newest reading the
Lambda has seen, so a late Fail never buries a newer Success and a late Success never buries
a newer Fail (its values are not written either: ``temperature`` and the others stay those
of the newest good reading before it). An older reading is logged as a warning and counted
(``counts.older_dropped``), and nothing is written.

The read and the write are one optimistic transaction: the update carries the ``version``
the GET returned, so an instance that wrote meanwhile makes it fail with 409 ``Version
conflict``; the reading is then judged again against the new state and written with the
new version, up to ``MAX_ATTEMPTS`` times (each conflict is counted in
``counts.conflicts``); after that the last ``ShadowError`` fails the invocation. Only
creating a missing Shadow is unconditional. On Greengrass V2 the same transaction maps onto
the IPC: ``GetThingShadow``, then ``UpdateThingShadow`` with ``version`` in the payload,
whose ``ConflictError`` plays the 409 (``_get_document`` and ``_update`` are the two places
to change).

Readings without ``boot_id`` and ``timestamp`` (older devices) cannot be placed in the order:
a restart cannot be told from a late reading. They are written as they come, unconditionally,
as before; so is a Fail report whose event has no valid ``sequence``, ``boot_id`` or
``timestamp`` (it does not touch ``sequence``).

The update never holds ``null`` readings and is never empty (an empty or null ``reported``
object would wipe the readings). Without ``THING_NAME`` nothing is sent; the error is logged.
A ``ShadowError`` from the SDK is logged and re-raised, so the invocation fails.

Environment, read on every invocation: ``THING_NAME`` (required), ``CPU_SAMPLES`` (int >= 1,
default 8), ``CPU_SAMPLE_INTERVAL`` (seconds >= 0, default 1), ``CPU_TEMP_PATH`` (default
``/sys/class/thermal/thermal_zone0/temp``). Invalid sampling settings fall back to their
defaults with a warning. Runs on Python 3.9+ (the Raspberry Pi core's runtime).
"""

from __future__ import annotations

import json
import logging
import math
import os
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, NamedTuple

try:
    import shadow_client  # on a core: beside this module, at the package's root
except ModuleNotFoundError:  # imported as lambdas.<module> (tests, benches)
    from lambdas import shadow_client
from greengrasssdk.IoTDataPlane import ShadowError

logger = logging.getLogger(__name__)

DEFAULT_CPU_TEMP_PATH = "/sys/class/thermal/thermal_zone0/temp"
DEFAULT_CPU_SAMPLES = 8
DEFAULT_CPU_SAMPLE_INTERVAL = 1.0

#: The BME680's operating range, per quantity: (low, high, unit), inclusive.
OPERATING_RANGE = {
    "temperature": (-40.0, 85.0, "degrees C"),
    "pressure": (300.0, 1100.0, "hPa"),
    "humidity": (0.0, 100.0, "%RH"),
}
MESSAGES = ("Success", "Fail")
#: The largest sequence: integers above 2**53 - 1 are not exact in every JSON reader.
MAX_SEQUENCE = 2**53 - 1
BOOT_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")
#: The Fail report's ``error``, as JSON, is at most this many bytes.
MAX_ERROR_BYTES = 1024
#: How long a value from the event may get in an error text (characters).
SHOWN_CHARACTERS = 40
#: Reads and conditional writes tried before a version conflict fails the invocation.
MAX_ATTEMPTS = 5

_CONFLICT = re.compile(r"\berror code 409\b")
_NOT_FOUND = re.compile(r"\berror code 404\b")

# One client per container, created when the Lambda is loaded, as Greengrass Lambdas do:
# ShadowManager over the IPC on a V2 core, GGShadowService through greengrasssdk on V1.
iot_data = shadow_client.client()


@dataclass
class Counts:
    """What this container has done about out-of-order readings (a container's life)."""

    older_dropped: int = 0  # readings not written: the Shadow held a newer (or the same) one
    conflicts: int = 0  # conditional writes refused with 409 (then judged again)


counts = Counts()


class Place(NamedTuple):
    """Where a reading stands in time: its run of the device program and its number in it."""

    boot_id: str
    sequence: int
    timestamp: float


class Reading(NamedTuple):
    """A valid sensor reading (``boot_id`` and ``timestamp`` are ``None`` from an older
    device)."""

    sequence: int
    temperature: float
    pressure: float
    humidity: float
    message: str
    boot_id: str | None = None
    timestamp: float | None = None

    @property
    def place(self) -> Place | None:
        if self.boot_id is None or self.timestamp is None:
            return None
        return Place(self.boot_id, self.sequence, self.timestamp)


class InvalidReading(ValueError):
    """The event is not a valid reading. ``sequence`` is its sequence if that one is valid;
    ``place`` is set when its run and time are valid too; ``legacy`` when it has neither
    ``boot_id`` nor ``timestamp``."""

    def __init__(self, problems: list[str], sequence: int | None = None,
                 place: Place | None = None, legacy: bool = False) -> None:
        super().__init__(_bounded("; ".join(problems)))
        self.problems = list(problems)
        self.sequence = sequence
        self.place = place
        self.legacy = legacy


class VersionConflict(Exception):
    """The Shadow changed between the read and the conditional write (409)."""

    def __init__(self, error: ShadowError) -> None:
        super().__init__(str(error))
        self.error = error


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _show(value: Any) -> str:
    """A value from the event as short ASCII text for an error message: hostile input
    (megabytes of text, deep nesting, thousand-digit numbers) never makes it long or fails."""
    if isinstance(value, str):
        text = ascii(value[: SHOWN_CHARACTERS + 1])
    elif _is_int(value) and value.bit_length() > 128:
        return f"an integer of {value.bit_length()} bits"
    else:
        try:
            text = ascii(value)
        except (RecursionError, ValueError):
            return f"a {type(value).__name__} nested too deeply to show"
    if len(text) > SHOWN_CHARACTERS:
        text = text[:SHOWN_CHARACTERS] + "..."
    return text


def _bounded(text: str) -> str:
    """``text`` cut so that it takes at most ``MAX_ERROR_BYTES`` as a JSON string."""
    if len(json.dumps(text)) <= MAX_ERROR_BYTES:
        return text
    suffix = f" ... (cut, {len(text)} characters)"
    keep = MAX_ERROR_BYTES - len(json.dumps(suffix))
    while keep > 0 and len(json.dumps(text[:keep] + suffix)) > MAX_ERROR_BYTES:
        keep -= max(1, (len(json.dumps(text[:keep] + suffix)) - MAX_ERROR_BYTES) // 6)
    return text[: max(keep, 0)] + suffix


def _decode(event: Any) -> Any:
    """The event as a JSON value: binary-encoded events arrive as bytes (or text)."""
    if isinstance(event, (bytes, bytearray)):
        try:
            event = bytes(event).decode("utf-8")
        except UnicodeDecodeError as error:
            raise InvalidReading([f"event is not UTF-8 text: {error}"]) from None
    if isinstance(event, str):
        try:
            return json.loads(event)
        except ValueError as error:
            raise InvalidReading([f"event is not valid JSON: {error}"]) from None
        except RecursionError:
            raise InvalidReading(["event is not valid JSON: nested too deeply"]) from None
    return event


def _number(event: dict[str, Any], name: str) -> tuple[float | None, str | None]:
    """``(value, None)`` for a valid reading of ``name``, else ``(None, problem)``."""
    if name not in event:
        return None, f"'{name}' is missing"
    raw = event[name]
    if raw is None:
        return None, f"'{name}' is null"
    if isinstance(raw, bool) or not isinstance(raw, (int, float)):
        return None, f"'{name}' must be a number, got {type(raw).__name__} {_show(raw)}"
    try:
        value = float(raw)
    except OverflowError:
        value = math.inf
    if not math.isfinite(value):
        return None, f"'{name}' must be finite, got {_show(raw)}"
    low, high, unit = OPERATING_RANGE[name]
    if not low <= value <= high:
        return None, (f"'{name}' {_show(raw)} is outside the BME680 range {low:g}..{high:g} "
                      f"{unit}")
    return value, None


def _run(event: dict[str, Any], problems: list[str]) -> tuple[str | None, float | None]:
    """The event's ``boot_id`` and ``timestamp`` (both ``None`` when it has neither);
    problems are added to ``problems``."""
    has_boot, has_time = "boot_id" in event, "timestamp" in event
    if not (has_boot or has_time):
        return None, None
    boot_id, moment = event.get("boot_id"), event.get("timestamp")
    valid_boot = isinstance(boot_id, str) and BOOT_ID.fullmatch(boot_id) is not None
    valid_time = (_is_int(moment) or isinstance(moment, float)) and not isinstance(
        moment, bool) and _finite_at_least_zero(moment)
    if not has_boot:
        problems.append("'boot_id' is missing ('boot_id' and 'timestamp' go together)")
    elif not valid_boot:
        problems.append("'boot_id' must be 1 to 64 letters, digits, '-' or '_', got "
                        f"{_show(boot_id)}")
    if not has_time:
        problems.append("'timestamp' is missing ('boot_id' and 'timestamp' go together)")
    elif not valid_time:
        problems.append("'timestamp' must be epoch seconds (a finite number >= 0), got "
                        f"{_show(moment)}")
    if has_boot and has_time and valid_boot and valid_time:
        return boot_id, float(moment)
    return None, None


def _finite_at_least_zero(value: Any) -> bool:
    try:
        number = float(value)
    except OverflowError:
        return False
    return math.isfinite(number) and number >= 0


def parse_reading(event: Any) -> Reading:
    """Validate an event; raise :class:`InvalidReading` naming every problem found."""
    event = _decode(event)
    if not isinstance(event, dict):
        raise InvalidReading([f"event must be a JSON object, got {type(event).__name__}"])
    problems: list[str] = []
    sequence = event.get("sequence")
    if "sequence" not in event:
        problems.append("'sequence' is missing")
    elif not _is_int(sequence):
        problems.append(f"'sequence' must be an integer, got {_show(sequence)}")
        sequence = None
    elif not 0 <= sequence <= MAX_SEQUENCE:
        problems.append(f"'sequence' must be an integer from 0 to {MAX_SEQUENCE}, got "
                        f"{_show(sequence)}")
        sequence = None
    legacy = "boot_id" not in event and "timestamp" not in event
    boot_id, moment = _run(event, problems)
    values = {}
    for name in OPERATING_RANGE:
        value, problem = _number(event, name)
        if problem is None:
            values[name] = value
        else:
            problems.append(problem)
    message = event.get("message")
    if "message" not in event:
        problems.append("'message' is missing")
    elif message not in MESSAGES:
        problems.append(f"'message' must be 'Success' or 'Fail', got {_show(message)}")
    elif message == "Fail":
        problems.append("the device reported a sensor failure (message 'Fail')")
    if problems:
        place = None
        if sequence is not None and boot_id is not None and moment is not None:
            place = Place(boot_id, sequence, moment)
        raise InvalidReading(problems, sequence, place, legacy)
    return Reading(sequence, values["temperature"], values["pressure"], values["humidity"],
                   message, boot_id, moment)


def read_cpu_temperature(path: str = DEFAULT_CPU_TEMP_PATH) -> float:
    """The CPU temperature in degrees C from a sysfs thermal zone file (millidegrees C).

    Raises ``OSError`` when the file cannot be read, ``ValueError`` when it holds no integer.
    """
    with open(path, encoding="ascii", errors="replace") as file:
        text = file.read().strip()
    try:
        return int(text) / 1000.0
    except ValueError:
        raise ValueError(f"{path} holds {text!r}, not millidegrees C") from None


def cpu_average(
    path: str = DEFAULT_CPU_TEMP_PATH,
    samples: int = DEFAULT_CPU_SAMPLES,
    interval: float = DEFAULT_CPU_SAMPLE_INTERVAL,
) -> float:
    """The mean of ``samples`` CPU temperatures read ``interval`` seconds apart.

    Any failed read ends the sampling with its ``OSError`` or ``ValueError``.
    """
    if samples < 1:
        raise ValueError(f"need at least one CPU sample, got {samples}")
    total = 0.0
    for index in range(samples):
        if index:
            time.sleep(interval)
        total += read_cpu_temperature(path)
    return total / samples


def compensate(temperature: float, cpu_temperature: float) -> float:
    """The sensor temperature corrected for the heat of the nearby CPU."""
    return 2 * temperature - cpu_temperature


def _env_number(
    name: str, default: float, convert: Callable[[str], float], minimum: float
) -> float:
    """A numeric setting from the environment; the default (with a warning) if invalid."""
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = convert(raw)
    except ValueError:
        value = None
    if value is None or not math.isfinite(value) or value < minimum:
        logger.warning("%s=%r is not a number >= %g; using %r", name, raw, minimum, default)
        return default
    return value


def _reported(reading: Reading, cpu_temperature: float | None) -> dict[str, Any]:
    reported: dict[str, Any] = {
        "temperature": reading.temperature,
        "pressure": reading.pressure,
        "humidity": reading.humidity,
        "message": reading.message,
        "sequence": reading.sequence,
        "boot_id": reading.boot_id,  # null (from an older device) deletes a stale one
        "timestamp": reading.timestamp,
        "error": None,  # null deletes the error left by an earlier failed reading
    }
    if cpu_temperature is None:
        reported.update(compensation="none", cpu_temperature=None)
    else:
        reported["temperature"] = compensate(reading.temperature, cpu_temperature)
        reported.update(compensation="cpu", cpu_temperature=cpu_temperature)
    return reported


def _failure(error: InvalidReading) -> dict[str, Any]:
    reported: dict[str, Any] = {"message": "Fail"}
    if error.place is not None:
        reported.update(sequence=error.place.sequence, boot_id=error.place.boot_id,
                        timestamp=error.place.timestamp)
    elif error.sequence is not None and error.legacy:
        reported.update(sequence=error.sequence, boot_id=None, timestamp=None)
    reported["error"] = str(error)
    return reported


# -- the Shadow, read and written (the two calls that become IPC on Greengrass V2) ----------


def _get_document(thing_name: str) -> dict[str, Any] | None:
    """The Shadow document as a GET returns it, ``None`` when there is no Shadow."""
    try:
        answer = iot_data.get_thing_shadow(thingName=thing_name)
    except ShadowError as error:
        if _NOT_FOUND.search(str(error)):
            return None
        logger.error("Shadow of %s could not be read: %s", thing_name, error)
        raise
    document = json.loads(answer["payload"])
    return document if isinstance(document, dict) else None


def _update(thing_name: str, document: dict[str, Any]) -> None:
    """Send an update; a 409 (the ``version`` in it is not the Shadow's) is
    :class:`VersionConflict`, any other refusal is logged and re-raised."""
    try:
        iot_data.update_thing_shadow(
            thingName=thing_name, payload=json.dumps(document, allow_nan=False).encode("utf-8")
        )
    except ShadowError as error:
        if "version" in document and _CONFLICT.search(str(error)):
            raise VersionConflict(error) from None
        logger.error("Shadow update of %s was refused: %s", thing_name, error)
        raise


def _newer(place: Place, reported: Any) -> tuple[bool, str]:
    """Whether a reading at ``place`` is newer than what ``reported`` describes, and what
    it was compared with."""
    if not isinstance(reported, dict):
        return True, "no reported state"
    boot_id, sequence, moment = (reported.get(key) for key in ("boot_id", "sequence",
                                                                "timestamp"))
    if not isinstance(boot_id, str) or not _is_int(sequence):
        return True, "no reading of a known run"
    shown = f"reading {sequence} of boot {boot_id[:8]}"
    if boot_id == place.boot_id:
        return place.sequence > sequence, shown
    if isinstance(moment, bool) or not isinstance(moment, (int, float)):
        return True, shown + " (no timestamp)"
    return place.timestamp >= moment, f"{shown} taken at {moment}"


def _write_in_order(thing_name: str, place: Place, reported: dict[str, Any]
                    ) -> dict[str, Any] | None:
    """Write ``reported`` if its reading is newer than the Shadow's, conditionally on the
    version read; returns what was sent, or ``None`` when the Shadow held a newer reading."""
    conflict: VersionConflict | None = None
    for attempt in range(1, MAX_ATTEMPTS + 1):
        current = _get_document(thing_name)
        state = current.get("state") if current is not None else None
        newer, compared = _newer(place, state.get("reported") if isinstance(state, dict)
                                 else None)
        if not newer:
            counts.older_dropped += 1
            logger.warning(
                "Shadow of %s already reports %s: reading %d of boot %s (%s) is not newer; "
                "not written (%d such readings dropped by this container)", thing_name,
                compared, place.sequence, place.boot_id[:8], reported.get("message"),
                counts.older_dropped)
            return None
        document: dict[str, Any] = {"state": {"reported": reported}}
        version = current.get("version") if current is not None else None
        if _is_int(version):
            document["version"] = version
        try:
            _update(thing_name, document)
        except VersionConflict as error:
            conflict = error
            counts.conflicts += 1
            logger.warning("Shadow of %s changed while reporting reading %d (version "
                           "conflict at version %s, attempt %d of %d); reading it again",
                           thing_name, place.sequence, version, attempt, MAX_ATTEMPTS)
            continue
        return document
    assert conflict is not None
    logger.error("Shadow of %s kept changing: reading %d of boot %s not written after %d "
                 "attempts: %s", thing_name, place.sequence, place.boot_id[:8], MAX_ATTEMPTS,
                 conflict)
    raise conflict.error


def function_handler(event: Any, context: Any) -> dict[str, Any] | None:
    """Report one reading to the Shadow; return the update document sent (``None`` if none:
    no ``THING_NAME``, or the Shadow already held a newer reading)."""
    thing_name = os.environ.get("THING_NAME", "").strip()
    if not thing_name:
        logger.error("THING_NAME is not set: cannot update a Shadow; reading dropped: %s",
                     _show(event))
        return None

    try:
        reading = parse_reading(event)
    except InvalidReading as error:
        logger.error("Invalid reading for %s, reporting Fail: %s", thing_name, error)
        reported = _failure(error)
        place = error.place
    else:
        path = os.environ.get("CPU_TEMP_PATH", "").strip() or DEFAULT_CPU_TEMP_PATH
        samples = int(_env_number("CPU_SAMPLES", DEFAULT_CPU_SAMPLES, int, 1))
        interval = _env_number("CPU_SAMPLE_INTERVAL", DEFAULT_CPU_SAMPLE_INTERVAL, float, 0)
        try:
            cpu_temperature: float | None = cpu_average(path, samples, interval)
        except (OSError, ValueError) as error:
            logger.warning(
                "CPU temperature unavailable (%s); reporting uncompensated temperature %s",
                error,
                reading.temperature,
            )
            cpu_temperature = None
        reported = _reported(reading, cpu_temperature)
        place = reading.place

    if place is None:  # nothing to place it in the order with: written as it comes
        unordered = {"state": {"reported": reported}}
        _update(thing_name, unordered)
        sent: dict[str, Any] | None = unordered
    else:
        sent = _write_in_order(thing_name, place, reported)
        if sent is None:
            return None
    logger.info("Reported to the Shadow of %s: %s", thing_name, reported)
    return sent
