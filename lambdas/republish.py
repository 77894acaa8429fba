"""Republish BME680 readings to the thing's Shadow, with the temperature compensated for CPU heat.

An on-demand Greengrass Lambda subscribed to ``bme680/readings`` from the sensor device.

Input event (json input encoding: a dict; binary encoding: UTF-8 JSON as ``bytes`` or ``str``)::

    {"sequence": int, "temperature": float, "pressure": float, "humidity": float,
     "message": "Success" | "Fail"}

in degrees C, hPa and %RH. The sensor sends ``null`` values when it failed.

A valid reading has an int ``sequence`` (not a bool), finite numbers (not bools) inside the
BME680 operating range (-40..85 degrees C, 300..1100 hPa, 0..100 %RH) and ``message``
``"Success"``. For it the handler takes ``CPU_SAMPLES`` CPU temperature readings
``CPU_SAMPLE_INTERVAL`` seconds apart from ``CPU_TEMP_PATH`` (millidegrees C), and updates the
classic Shadow of ``THING_NAME`` with::

    {"state": {"reported": {"temperature": 2 * temperature - cpu_average,
                            "pressure": ..., "humidity": ..., "message": "Success",
                            "sequence": ..., "compensation": "cpu",
                            "cpu_temperature": cpu_average, "error": null}}}

If the CPU temperature cannot be read, ``temperature`` is the sensor's own value,
``compensation`` is ``"none"`` and ``cpu_temperature`` is ``null`` (a warning is logged).
The ``null`` values delete stale keys left by earlier updates.

Anything else is logged as an error and reported without touching the last good values::

    {"state": {"reported": {"message": "Fail", "sequence": <if a valid int>,
                            "error": "<what was wrong>"}}}

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
import time
from collections.abc import Callable
from typing import Any, NamedTuple

import greengrasssdk
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

# One client per container, created when the Lambda is loaded, as Greengrass Lambdas do.
iot_data = greengrasssdk.client("iot-data")


class Reading(NamedTuple):
    """A valid sensor reading."""

    sequence: int
    temperature: float
    pressure: float
    humidity: float
    message: str


class InvalidReading(ValueError):
    """The event is not a valid reading. ``sequence`` is its sequence if that one is valid."""

    def __init__(self, problems: list[str], sequence: int | None = None) -> None:
        super().__init__("; ".join(problems))
        self.problems = list(problems)
        self.sequence = sequence


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


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
    return event


def _number(event: dict[str, Any], name: str) -> tuple[float | None, str | None]:
    """``(value, None)`` for a valid reading of ``name``, else ``(None, problem)``."""
    if name not in event:
        return None, f"'{name}' is missing"
    raw = event[name]
    if raw is None:
        return None, f"'{name}' is null"
    if isinstance(raw, bool) or not isinstance(raw, (int, float)):
        return None, f"'{name}' must be a number, got {type(raw).__name__} {raw!r}"
    try:
        value = float(raw)
    except OverflowError:
        value = math.inf
    if not math.isfinite(value):
        return None, f"'{name}' must be finite, got {raw!r}"
    low, high, unit = OPERATING_RANGE[name]
    if not low <= value <= high:
        return None, f"'{name}' {raw!r} is outside the BME680 range {low:g}..{high:g} {unit}"
    return value, None


def parse_reading(event: Any) -> Reading:
    """Validate an event; raise :class:`InvalidReading` naming every problem found."""
    event = _decode(event)
    if not isinstance(event, dict):
        raise InvalidReading([f"event must be a JSON object, got {type(event).__name__}"])
    problems = []
    sequence = event.get("sequence")
    if "sequence" not in event:
        problems.append("'sequence' is missing")
    elif not _is_int(sequence):
        problems.append(f"'sequence' must be an integer, got {sequence!r}")
        sequence = None
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
        problems.append(f"'message' must be 'Success' or 'Fail', got {message!r}")
    elif message == "Fail":
        problems.append("the device reported a sensor failure (message 'Fail')")
    if problems:
        raise InvalidReading(problems, sequence)
    return Reading(sequence, values["temperature"], values["pressure"], values["humidity"], message)


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
    if error.sequence is not None:
        reported["sequence"] = error.sequence
    reported["error"] = str(error)
    return reported


def function_handler(event: Any, context: Any) -> dict[str, Any] | None:
    """Report one reading to the Shadow; return the update document sent (``None`` if none)."""
    thing_name = os.environ.get("THING_NAME", "").strip()
    if not thing_name:
        logger.error("THING_NAME is not set: cannot update a Shadow; reading dropped: %r", event)
        return None

    try:
        reading = parse_reading(event)
    except InvalidReading as error:
        logger.error("Invalid reading for %s, reporting Fail: %s", thing_name, error)
        reported = _failure(error)
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

    document = {"state": {"reported": reported}}
    try:
        iot_data.update_thing_shadow(
            thingName=thing_name, payload=json.dumps(document, allow_nan=False).encode("utf-8")
        )
    except ShadowError as error:
        logger.error("Shadow update of %s was refused: %s", thing_name, error)
        raise
    logger.info("Reported to the Shadow of %s: %s", thing_name, reported)
    return document
