"""What bme680 2.0.0 computes from raw ADC codes: the forward maps the chip has to invert.

These reproduce the library's integer arithmetic (Python ints, floor division, its 2**31
divide threshold in the pressure path, its unsigned ``range_sw_err``) so that an ADC code
chosen here gives exactly the reading the library will report. ``tests/bme680`` checks them
bit for bit against the library's own ``_calc_*`` methods.

Each map is built once per calibration (and, for pressure and humidity, per temperature) as a
closure over its constants: the inversion evaluates it several times per reading.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

from fakes.bme680.calibration import CalibrationSet

# Gas range tables of the BME680 ("low" variant) integer compensation, one entry per range.
GAS_RANGE_CONSTANT_1 = (
    2147483647, 2147483647, 2147483647, 2147483647, 2147483647, 2126008810, 2147483647,
    2130303777, 2147483647, 2147483647, 2143188679, 2136746228, 2147483647, 2126008810,
    2147483647, 2147483647,
)  # fmt: skip
GAS_RANGE_CONSTANT_2 = (
    4096000000, 2048000000, 1024000000, 512000000, 255744255, 127110228, 64000000, 32258064,
    16016016, 8000000, 4000000, 2000000, 1000000, 500000, 250000, 125000,
)  # fmt: skip
GAS_RANGES = 16
GAS_ADC_MAX = 1023


def t_fine_map(cal: CalibrationSet) -> Callable[[int], int]:
    """adc_T -> the fine temperature the library derives from that 20-bit code."""
    twice_t1, t2, t3_16 = 2 * cal.t1, cal.t2, cal.t3 * 16

    def fine(adc_t: int) -> int:
        d = (adc_t >> 3) - twice_t1
        half = d >> 1
        return ((d * t2) >> 11) + ((((half * half) >> 12) * t3_16) >> 14)

    return fine


def t_fine(adc_t: int, cal: CalibrationSet) -> int:
    return t_fine_map(cal)(adc_t)


def centi_celsius(fine: int) -> int:
    """Temperature in 0.01 degC from a fine temperature (also the humidity path's input)."""
    return (fine * 5 + 128) >> 8


class PressureTerms(NamedTuple):
    """The temperature-dependent part of the pressure path."""

    offset: int  # subtracted from (2**20 - adc), already >> 12
    divisor: int


def pressure_terms(fine: int, cal: CalibrationSet) -> PressureTerms:
    a = (fine >> 1) - 64000
    q = (a >> 2) * (a >> 2)
    off = (((q >> 11) * cal.p6) >> 2) + ((a * cal.p5) << 1)
    off = (off >> 2) + (cal.p4 << 16)
    scale = ((((q >> 13) * (cal.p3 << 5)) >> 3) + ((cal.p2 * a) >> 1)) >> 18
    return PressureTerms(off >> 12, ((32768 + scale) * cal.p1) >> 15)


def pressure_raw_map(terms: PressureTerms) -> Callable[[int], int]:
    """adc_P -> the intermediate pressure in Pa, before the p7..p10 correction."""
    base, divisor = 1048576 - terms.offset, terms.divisor

    def raw(adc_p: int) -> int:
        x = (base - adc_p) * 3125
        if x >= 2147483648:  # the library's threshold (Bosch's C code switches at 2**30)
            return (x // divisor) * 2
        return (x * 2) // divisor

    return raw


def pressure_correction_map(cal: CalibrationSet) -> Callable[[int], int]:
    """Intermediate pressure -> the correction the library adds to it."""
    p8, p9, p10, p7_128 = cal.p8, cal.p9, cal.p10, cal.p7 << 7

    def correction(raw: int) -> int:
        r3, r8 = raw >> 3, raw >> 8
        square = (p9 * ((r3 * r3) >> 13)) >> 12
        linear = ((raw >> 2) * p8) >> 13
        cubic = (r8 * r8 * r8 * p10) >> 17  # jumps when raw crosses a multiple of 256 Pa
        return (square + linear + cubic + p7_128) >> 4

    return correction


def pressure_map(fine: int, cal: CalibrationSet) -> Callable[[int], int]:
    """adc_P -> pressure in Pa, at fine temperature ``fine``."""
    raw_of, correction = pressure_raw_map(pressure_terms(fine, cal)), pressure_correction_map(cal)

    def pascal(adc_p: int) -> int:
        raw = raw_of(adc_p)
        return raw + correction(raw)

    return pascal


class HumidityTerms(NamedTuple):
    """The temperature-dependent part of the humidity path."""

    base: int  # subtracted from the code
    gain: int
    curvature: int


def humidity_terms(centi: int, cal: CalibrationSet) -> HumidityTerms:
    base = cal.h1 * 16 + ((centi * cal.h3 // 100) >> 1)
    inner = centi * cal.h4 // 100 + ((centi * (centi * cal.h5 // 100)) >> 6) // 100 + 16384
    gain = (cal.h2 * inner) >> 10
    curvature = ((cal.h6 << 7) + centi * cal.h7 // 100) >> 4
    return HumidityTerms(base, gain, curvature)


def humidity_map(centi: int, cal: CalibrationSet) -> Callable[[int], int]:
    """adc_H -> relative humidity in 0.001 %RH (clamped to 0..100 % like the library)."""
    base, gain, curvature = humidity_terms(centi, cal)

    def milli(adc_h: int) -> int:
        v = (adc_h - base) * gain
        s = v >> 14
        value = (((v + ((curvature * ((s * s) >> 10)) >> 1)) >> 10) * 1000) >> 12
        return 0 if value < 0 else 100000 if value > 100000 else value

    return milli


def gas_ohms_bme680(adc: int, gas_range: int, library_sw_err: int) -> float:
    """Gas resistance (ohm) of the "low" variant; ``library_sw_err`` is the unsigned nibble."""
    k = ((1340 + 5 * library_sw_err) * GAS_RANGE_CONSTANT_1[gas_range]) >> 16
    d = (adc << 15) - 16777216 + k
    value = (((GAS_RANGE_CONSTANT_2[gas_range] * k) >> 9) + (d >> 1)) / d
    return value + (1 << 32) if value < 0 else value


def gas_ohms_bme688(adc: int, gas_range: int) -> float:
    """Gas resistance (ohm) of the "high" variant (same float operations as the library)."""
    value = (10000 * (262144 >> gas_range)) / (4096 + 3 * (adc - 512))
    return value * 100
