"""The reading message the device publishes on ``bme680/readings``.

The contract is the republish Lambda's (``lambdas/republish.py``)::

    {"sequence": int, "temperature": float, "pressure": float, "humidity": float,
     "message": "Success" | "Fail"}

in degrees C, hPa and %RH. A failed read sends ``null`` for the three values with ``"Fail"``.
A successful reading whose gas heater was stable also carries ``gas_resistance`` (ohms); the
Lambda reads only the fields above and ignores extra ones.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Any

TOPIC = "bme680/readings"
SUCCESS = "Success"
FAIL = "Fail"


@dataclass(frozen=True)
class Measurement:
    """One reading from the sensor.

    ``gas_resistance`` is ``None`` unless the gas heater reached its target (heat stable).
    """

    temperature: float  # degrees C
    pressure: float  # hPa
    humidity: float  # %RH
    gas_resistance: float | None = None  # ohms
    heat_stable: bool = False


def _check_sequence(sequence: int) -> None:
    if isinstance(sequence, bool) or not isinstance(sequence, int):
        raise TypeError(f"sequence must be an int, got {sequence!r}")


def _finite(name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"{name} must be a number, got {value!r}")
    number = float(value)
    if not math.isfinite(number):
        raise ValueError(f"{name} must be finite, got {value!r}")
    return number


def success_message(sequence: int, measurement: Measurement) -> dict[str, Any]:
    """The message for a good reading. Raises ``TypeError``/``ValueError`` for bad values."""
    _check_sequence(sequence)
    message: dict[str, Any] = {
        "sequence": sequence,
        "temperature": _finite("temperature", measurement.temperature),
        "pressure": _finite("pressure", measurement.pressure),
        "humidity": _finite("humidity", measurement.humidity),
        "message": SUCCESS,
    }
    if measurement.gas_resistance is not None and measurement.heat_stable:
        message["gas_resistance"] = _finite("gas_resistance", measurement.gas_resistance)
    return message


def fail_message(sequence: int) -> dict[str, Any]:
    """The message for a failed read: null values and ``"Fail"``."""
    _check_sequence(sequence)
    return {
        "sequence": sequence,
        "temperature": None,
        "pressure": None,
        "humidity": None,
        "message": FAIL,
    }


def reading_message(sequence: int, measurement: Measurement | None) -> dict[str, Any]:
    """The success message for a measurement, the fail message for ``None``."""
    if measurement is None:
        return fail_message(sequence)
    return success_message(sequence, measurement)


def encode(message: dict[str, Any]) -> bytes:
    """The message as compact UTF-8 JSON (no NaN or Infinity: they are not JSON)."""
    return json.dumps(message, allow_nan=False, separators=(",", ":")).encode("utf-8")
