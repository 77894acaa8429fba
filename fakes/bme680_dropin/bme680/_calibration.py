"""The one chip the drop-in stands for: its calibration and its gas heater.

The drop-in behaves like the register-level ``fakes.bme680.SimulatedBME680`` with its default
calibration set (the real chip of pimoroni/bme680-python issue #11, whose numbers the
library's own tests use). ``BME680.calibration_data`` is filled with these parameters, and
they feed the only arithmetic the drop-in shares with the library: the heater code that
``set_gas_heater_temperature`` stores, the heater target it decodes back to, and the readings
of skipped measurements (:mod:`.skipped`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class Calibration:
    """Calibration parameters as ``bme680`` 2.0.0 parses them (``range_sw_err`` unsigned)."""

    par_t1: int
    par_t2: int
    par_t3: int
    par_p1: int
    par_p2: int
    par_p3: int
    par_p4: int
    par_p5: int
    par_p6: int
    par_p7: int
    par_p8: int
    par_p9: int
    par_p10: int
    par_h1: int
    par_h2: int
    par_h3: int
    par_h4: int
    par_h5: int
    par_h6: int
    par_h7: int
    par_gh1: int
    par_gh2: int
    par_gh3: int
    res_heat_range: int
    res_heat_val: int
    range_sw_err: int


DEFAULT = Calibration(
    par_t1=26041, par_t2=26469, par_t3=3,
    par_p1=36673, par_p2=-10515, par_p3=88, par_p4=7310, par_p5=-129, par_p6=30,
    par_p7=46, par_p8=-3177, par_p9=-2379, par_p10=30,
    par_h1=676, par_h2=1029, par_h3=0, par_h4=45, par_h5=20, par_h6=120, par_h7=-100,
    par_gh1=-30, par_gh2=-24754, par_gh3=18,
    res_heat_range=1, res_heat_val=48, range_sw_err=0,
)  # fmt: skip

#: Lowest and highest gas resistance (ohm) the library can report with this calibration, per
#: variant (0 = BME680, 1 = BME688). The highest is also what empty gas registers (ADC 0,
#: range 0; after a reset) read as. Values as the library computes them.
GAS_SPAN_OHM: dict[int, tuple[float, float]] = {
    0: (177.24145618674, 12946860.58570794),
    1: (1421.2115828744004, 102400000.0),
}

#: Shortest heater time counted as reaching the target (datasheet: 20-30 ms are needed).
HEATER_SETTLE_MS = 20.0
#: Hottest heater target (degC) counted as stable; 400 degC plus a margin for rounding.
HEATER_MAX_TARGET_C = 405.0
_WAIT_FACTOR_MS = (1, 4, 16, 64)


def heater_code(target_c: Any, ambient_centi: Any, cal: Calibration = DEFAULT) -> Any:
    """The res_heat value the library computes for ``target_c`` (clamped to 200..400 degC).

    ``ambient_centi`` is the library's ``ambient_temperature`` (0.01 degC; the library feeds
    it where the datasheet wants degC). The operations run in the library's order, so the
    float result - and the byte the library truncates it to - is identical; a missing
    ambient (no reading yet) fails with the library's TypeError.
    """
    target = min(max(target_c, 200), 400)
    ambient_term = ((ambient_centi * cal.par_gh3) / 1000) * 256
    heater_slope = ((((cal.par_gh2 + 154009) * target * 5) / 100) + 3276800) / 10
    scaled = ambient_term + ((cal.par_gh1 + 784) * heater_slope) / 2
    per_range = scaled / (cal.res_heat_range + 4)
    per_value = (131 * cal.res_heat_val) + 65536
    resistance_x100 = ((per_range / per_value) - 250) * 34
    return (resistance_x100 + 50) / 100


def heater_target_c(code: int, ambient_c: float, cal: Calibration = DEFAULT) -> float:
    """The heater temperature (degC) a res_heat byte asks for (datasheet float formula)."""
    gain = cal.par_gh1 / 16.0 + 49.0
    slope = cal.par_gh2 / 32768.0 * 0.0005 + 0.00235
    ambient_gain = cal.par_gh3 / 1024.0
    resistance = (code / 3.4 + 25.0) * (1.0 + cal.res_heat_val * 0.002)
    resistance *= (4.0 + cal.res_heat_range) / 4.0
    return ((resistance - ambient_gain * ambient_c) / gain - 1.0) / slope


def gas_wait_ms(code: int) -> int:
    """Heater duration (ms) held in a gas_wait byte: 6-bit value times 1, 4, 16 or 64."""
    return (code & 0x3F) * _WAIT_FACTOR_MS[code >> 6]


def heater_duration_code(duration_ms: Any) -> Any:
    """The gas_wait byte the library computes for ``duration_ms``.

    Durations of 4032 ms (0xFC0) and more, and NaN, give 0xFF. Otherwise the value is divided
    by 4 (float division, as the library does) until it fits in 6 bits, and the number of
    divisions goes into bits 7:6.
    """
    if not duration_ms < 0xFC0:
        return 0xFF
    factor = 0
    while duration_ms > 0x3F:
        duration_ms /= 4
        factor += 1
    return int(duration_ms + factor * 64)


def heater_stable(code: int, wait_code: int, ambient_c: float, cal: Calibration = DEFAULT) -> bool:
    """Whether a heater phase with these res_heat and gas_wait bytes reaches its target."""
    if gas_wait_ms(wait_code) < HEATER_SETTLE_MS:
        return False
    return heater_target_c(code, ambient_c, cal) <= HEATER_MAX_TARGET_C
