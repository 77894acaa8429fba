"""The gas heater: whether a conversion's heater phase counts as stable (heat_stab).

Datasheet 3.3 and 5.3.5: heat_stab is 0 when the heating time was too short or the target too
hot; about 20-30 ms are needed to reach the target. The target temperature is recovered from
res_heat_x with the datasheet's floating-point heater formula (linear in the target).
"""

from __future__ import annotations

from fakes.bme680.calibration import CalibrationSet

#: Heating time below which the heater is not considered stable (datasheet: 20-30 ms needed).
DEFAULT_SETTLE_MS = 20.0
#: Hottest target the heater is specified for; codes decoding above it (plus a margin for
#: the library's rounding) leave heat_stab at 0.
MAX_TARGET_C = 400.0
_TARGET_MARGIN_C = 5.0


def heater_target_c(res_heat: int, ambient_c: float, cal: CalibrationSet) -> float:
    """Target temperature (degC) that the res_heat_x code ``res_heat`` asks for."""
    a = cal.gh1 / 16.0 + 49.0
    b = cal.gh2 / 32768.0 * 0.0005 + 0.00235
    c = cal.gh3 / 1024.0
    scaled = (res_heat / 3.4 + 25.0) * (1.0 + cal.res_heat_val * 0.002)
    scaled *= (4.0 + cal.res_heat_range) / 4.0
    return ((scaled - c * ambient_c) / a - 1.0) / b


def heat_stable(
    res_heat: int,
    wait_ms: float,
    ambient_c: float,
    cal: CalibrationSet,
    settle_ms: float = DEFAULT_SETTLE_MS,
) -> bool:
    """Whether a heater phase of ``wait_ms`` at code ``res_heat`` reaches a stable target."""
    if wait_ms < settle_ms:
        return False
    return heater_target_c(res_heat, ambient_c, cal) <= MAX_TARGET_C + _TARGET_MARGIN_C
