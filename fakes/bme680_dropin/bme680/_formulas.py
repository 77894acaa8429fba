"""The library's compensation formulas, for the readings the library computes differently.

A drop-in reading is normally the environment itself. The library's integer formulas matter
only where the library's t_fine is not the one the chip measured with:

* skipped measurements: with oversampling "none" (and after a brown-out or soft reset every
  oversampling is "none") the chip outputs the fixed codes 0x80000 (temperature, pressure)
  and 0x8000 (humidity), which the library turns into the well-known "about 34 degC,
  700 hPa, 100 %RH" readings;
* a temperature offset (``set_temp_offset``) or a skipped temperature: the chip's pressure
  and humidity codes were made for the die temperature, and the library evaluates them at
  another t_fine - 1 degC of offset moves the pressure by about 1.6 hPa. The drop-in finds the
  code the chip would output (:func:`pressure_code`, :func:`humidity_code`) and evaluates the
  library's formula at the library's t_fine.

The arithmetic follows the integer compensation of bme680 2.0.0 (floor shifts and divisions,
the pressure step that divides first above 2**31, humidity clamped to 0..100 %RH) with the
default calibration; ``tests/bme680_dropin/test_formulas.py`` checks it bit for bit against
the library.
"""

from __future__ import annotations

from collections.abc import Callable

from ._calibration import DEFAULT, Calibration

SKIPPED_TP_ADC = 0x80000
SKIPPED_H_ADC = 0x8000


def fine_temperature(adc_t: int, cal: Calibration = DEFAULT) -> int:
    """The library's t_fine for a temperature code (without any temperature offset)."""
    delta = (adc_t >> 3) - (cal.par_t1 << 1)
    linear = (delta * cal.par_t2) >> 11
    half = delta >> 1
    curvature = (((half * half) >> 12) * (cal.par_t3 << 4)) >> 14
    return linear + curvature


def centi_celsius(t_fine: int) -> int:
    """Temperature in 0.01 degC for a t_fine."""
    return (t_fine * 5 + 128) >> 8


def representative_fine(centi: int) -> int:
    """A t_fine in the middle of those that read as ``centi`` (0.01 degC)."""
    lowest = -((128 - 256 * centi) // 5)  # ceil((256 * centi - 128) / 5)
    highest = (256 * centi + 127) // 5
    return (lowest + highest) // 2


def pressure_pa(adc_p: int, t_fine: int, cal: Calibration = DEFAULT) -> int:
    """Pressure in Pa for a pressure code at ``t_fine``."""
    x = (t_fine >> 1) - 64000
    x_sq = (x >> 2) * (x >> 2)
    offset = ((x_sq >> 11) * cal.par_p6) >> 2
    offset += (x * cal.par_p5) << 1
    offset = (offset >> 2) + (cal.par_p4 << 16)
    scale = ((((x_sq >> 13) * (cal.par_p3 << 5)) >> 3) + ((cal.par_p2 * x) >> 1)) >> 18
    scale = ((32768 + scale) * cal.par_p1) >> 15
    raw = ((1048576 - adc_p) - (offset >> 12)) * 3125
    raw = (raw // scale) << 1 if raw >= 1 << 31 else (raw << 1) // scale
    eighth, quarter, coarse = raw >> 3, raw >> 2, raw >> 8
    square_term = (cal.par_p9 * ((eighth * eighth) >> 13)) >> 12
    linear_term = (quarter * cal.par_p8) >> 13
    cubic_term = (coarse * coarse * coarse * cal.par_p10) >> 17
    return raw + ((square_term + linear_term + cubic_term + (cal.par_p7 << 7)) >> 4)


def humidity_milli(adc_h: int, t_fine: int, cal: Calibration = DEFAULT) -> int:
    """Humidity in 0.001 %RH for a humidity code at ``t_fine``, clamped to 0..100 %RH."""
    ts = centi_celsius(t_fine)
    base = (adc_h - cal.par_h1 * 16) - (((ts * cal.par_h3) // 100) >> 1)
    sensitivity = ((ts * cal.par_h4) // 100) + (((ts * ((ts * cal.par_h5) // 100)) >> 6) // 100)
    gain = (cal.par_h2 * (sensitivity + 16384)) >> 10
    product = base * gain
    curve = ((cal.par_h6 << 7) + ((ts * cal.par_h7) // 100)) >> 4
    square = ((product >> 14) * (product >> 14)) >> 10
    total = product + ((curve * square) >> 1)
    milli = ((total >> 10) * 1000) >> 12
    return min(max(milli, 0), 100000)


#: t_fine of a skipped temperature measurement.
SKIPPED_FINE = fine_temperature(SKIPPED_TP_ADC)


def _nearest_code(value_of: Callable[[int], int], target: int, codes: int, rising: bool) -> int:
    """The code in ``0..codes - 1`` whose value is nearest ``target`` (a monotonic map)."""
    sign = 1 if rising else -1
    low, high = 0, codes - 1
    while low < high:  # the first code whose value reaches the target
        middle = (low + high) // 2
        if sign * value_of(middle) >= sign * target:
            high = middle
        else:
            low = middle + 1
    if low and abs(value_of(low - 1) - target) < abs(value_of(low) - target):
        return low - 1
    return low


def pressure_code(pascal: int, t_fine: int, cal: Calibration = DEFAULT) -> int:
    """The 20-bit code that reads nearest ``pascal`` at ``t_fine`` (pressure falls with it)."""
    return _nearest_code(lambda code: pressure_pa(code, t_fine, cal), pascal, 1 << 20, False)


def humidity_code(milli: int, t_fine: int, cal: Calibration = DEFAULT) -> int:
    """The 16-bit code that reads nearest ``milli`` (0.001 %RH) at ``t_fine``."""
    return _nearest_code(lambda code: humidity_milli(code, t_fine, cal), milli, 1 << 16, True)


def reading(t_chip: int, t_library: int, pascal: int | None, milli: int | None) -> tuple[int, int]:
    """Pressure (Pa) and humidity (0.001 %RH) the library reports at ``t_library`` when the
    chip measured ``pascal`` and ``milli`` (None: skipped) at ``t_chip``."""
    if pascal is None:
        pascal = pressure_pa(SKIPPED_TP_ADC, t_library)
    elif t_library != t_chip:
        pascal = pressure_pa(pressure_code(pascal, t_chip), t_library)
    if milli is None:
        milli = humidity_milli(SKIPPED_H_ADC, t_library)
    elif centi_celsius(t_library) != centi_celsius(t_chip):  # humidity sees only 0.01 degC
        milli = humidity_milli(humidity_code(milli, t_chip), t_library)
    return pascal, milli
