"""What the sensor is exposed to, and the limits a request for it must respect."""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass

#: Datasheet operating range of the BME680/BME688 (Table 1/Table 2).
TEMPERATURE_RANGE_C = (-40.0, 85.0)
PRESSURE_RANGE_HPA = (300.0, 1100.0)
HUMIDITY_RANGE_RH = (0.0, 100.0)


@dataclass(frozen=True, slots=True)
class Environment:
    """Air at the sensor: degC, hPa, %RH and the gas sensor's resistance in ohm."""

    temperature: float = 25.0
    pressure: float = 1013.25
    humidity: float = 40.0
    gas_resistance: float = 50_000.0


def check_range(quantity: str, value: float, low: float, high: float, unit: str) -> float:
    """``value`` as a float, or ValueError naming the allowed range."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{quantity} must be a number, not {type(value).__name__}")
    number = float(value)
    if math.isnan(number) or not low <= number <= high:
        raise ValueError(f"{quantity} {value!r} {unit} is outside {low:g}..{high:g} {unit}")
    return number


def saturation_vapour_hpa(celsius: float) -> float:
    """Magnus approximation of the water saturation vapour pressure over water."""
    return 6.112 * math.exp(17.62 * celsius / (243.12 + celsius))


def humidity_at(rh: float, air_c: float, sensor_c: float) -> float:
    """Relative humidity a sensor at ``sensor_c`` reports in air at ``air_c`` with ``rh``.

    The water content does not change, so RH scales with the saturation pressure ratio.
    """
    value = rh * saturation_vapour_hpa(air_c) / saturation_vapour_hpa(sensor_c)
    return min(max(value, 0.0), 100.0)
