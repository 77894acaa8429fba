"""The reading message the device publishes on ``bme680/readings``.

The contract is the republish Lambda's (``lambdas/republish.py``)::

    {"sequence": int, "boot_id": str, "timestamp": float,
     "temperature": float, "pressure": float, "humidity": float,
     "message": "Success" | "Fail"}

in degrees C, hPa and %RH. A failed read sends ``null`` for the three values with ``"Fail"``.
A successful reading whose gas heater was stable also carries ``gas_resistance`` (ohms); the
Lambda reads only the fields above and ignores extra ones.

``sequence`` counts the readings of one run of the program from 1; ``boot_id`` names that
run (drawn afresh at every start, so a restart, which counts from 1 again, is told apart);
``timestamp`` is when the reading was taken, in epoch seconds with milliseconds. Republish
uses them to keep the Shadow from going back in time: within a run the higher sequence is
the newer reading, between runs the later timestamp. ``boot_id`` and ``timestamp`` go
together; messages without both (devices older than this contract) are still accepted.
"""

from __future__ import annotations

import json
import math
import re
import uuid
from dataclasses import dataclass
from typing import Any

TOPIC = "bme680/readings"
SUCCESS = "Success"
FAIL = "Fail"
#: What a boot id may look like (republish checks the same).
BOOT_ID_PATTERN = re.compile(r"[A-Za-z0-9_-]{1,64}")


def new_boot_id() -> str:
    """A fresh name for this run of the program: 32 random hex digits."""
    return uuid.uuid4().hex


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


def check_identity(boot_id: str | None, timestamp: float | None) -> dict[str, Any]:
    """The run and time fields of a message (none for an old-style message); raises
    ``TypeError``/``ValueError`` when they break the contract."""
    if boot_id is None and timestamp is None:
        return {}
    if boot_id is None or timestamp is None:
        raise ValueError("boot_id and timestamp go together: give both or neither")
    if not isinstance(boot_id, str) or not BOOT_ID_PATTERN.fullmatch(boot_id):
        raise ValueError(f"boot_id must be 1 to 64 letters, digits, '-' or '_', got {boot_id!r}")
    moment = _finite("timestamp", timestamp)
    if moment < 0:
        raise ValueError(f"timestamp must be epoch seconds >= 0, got {timestamp!r}")
    return {"boot_id": boot_id, "timestamp": round(moment, 3)}


def success_message(
    sequence: int,
    measurement: Measurement,
    *,
    boot_id: str | None = None,
    timestamp: float | None = None,
) -> dict[str, Any]:
    """The message for a good reading. Raises ``TypeError``/``ValueError`` for bad values."""
    _check_sequence(sequence)
    message: dict[str, Any] = {
        "sequence": sequence,
        **check_identity(boot_id, timestamp),
        "temperature": _finite("temperature", measurement.temperature),
        "pressure": _finite("pressure", measurement.pressure),
        "humidity": _finite("humidity", measurement.humidity),
        "message": SUCCESS,
    }
    if measurement.gas_resistance is not None and measurement.heat_stable:
        message["gas_resistance"] = _finite("gas_resistance", measurement.gas_resistance)
    return message


def fail_message(
    sequence: int, *, boot_id: str | None = None, timestamp: float | None = None
) -> dict[str, Any]:
    """The message for a failed read: null values and ``"Fail"``."""
    _check_sequence(sequence)
    return {
        "sequence": sequence,
        **check_identity(boot_id, timestamp),
        "temperature": None,
        "pressure": None,
        "humidity": None,
        "message": FAIL,
    }


def reading_message(
    sequence: int,
    measurement: Measurement | None,
    *,
    boot_id: str | None = None,
    timestamp: float | None = None,
) -> dict[str, Any]:
    """The success message for a measurement, the fail message for ``None``."""
    if measurement is None:
        return fail_message(sequence, boot_id=boot_id, timestamp=timestamp)
    return success_message(sequence, measurement, boot_id=boot_id, timestamp=timestamp)


def encode(message: dict[str, Any]) -> bytes:
    """The message as compact UTF-8 JSON (no NaN or Infinity: they are not JSON)."""
    return json.dumps(message, allow_nan=False, separators=(",", ":")).encode("utf-8")
