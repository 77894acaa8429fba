"""Choosing the ADC codes for which the library reports a wanted reading.

Temperature, pressure and humidity: the library's maps are monotonic in the ADC code. A
floating-point inverse of each map gives a first guess, a search over the codes the chip can
output (a lattice of ``step`` codes, see :func:`adc_step`) from there finds where the map
crosses the target, and the nearer of the two codes around the crossing wins. Gas: each
of the 16 ranges has a closed form for the code; the best code over all ranges wins.

Reachable accuracy (the library's own resolution is 0.01 degC, 1 Pa, 0.001 %RH):

* temperature: every 0.01 degC value is hit, so the error is the rounding to 0.01 (<= 0.005).
* humidity: one code is 0.004..0.008 %RH, so the error is at most half of that.
* gas: neighbouring codes differ by 0.05..0.12 %, so the relative error is at most ~0.06 %.
* pressure: one code is ~0.17 Pa, so the reading is the target rounded to 1 Pa, **except in
  the gaps**, where two adjacent ADC codes read values more than 1 Pa apart and no code gives
  the Pa in between; there the chip answers with the nearer edge. Two kinds exist, both in
  the library's arithmetic (Bosch's integer code has the same kinds):

  - the cubic p10 term uses the intermediate pressure ``raw >> 8``, so each time ``raw``
    crosses a multiple of 256 Pa the output jumps by about ``3 * (raw / 256) ** 2 * p10 /
    2 ** 21`` Pa: 0.6 Pa near 300 hPa, 7-8 Pa near 1100 hPa with p10 = 30, and up to 10 Pa
    where the next kind adds to it (-40 degC, 1050-1100 hPa). Error at most half the jump,
    so at most 5 Pa = 0.05 hPa;
  - 2 Pa steps (error at most 1 Pa): where ``(2**20 - adc - offset) * 3125 >= 2**31`` the
    library divides before doubling, so ``raw`` only takes even values (cold and high
    pressure), and now and then the floor in the correction term carries.

  Measured over 5 000 random targets per set and variant: 98.5-98.7 % of readings within
  0.5 Pa, 98.9-99.2 % within 1 Pa, worst 0.043 hPa. ``tests/bme680/test_accuracy.py`` checks
  that every miss beyond 0.5 Pa is one of these gaps and that the chosen code is the best.

All of this is for 20-bit T/P output: the library's default (IIR filter 3), or 16x
oversampling. With the filter off and lower oversampling the chip outputs fewer bits
(``step`` > 1, 16 codes ~ 2.7 Pa at 1x), so a pressure error can reach half a gap plus half a
step (~0.06 hPa); temperature and humidity keep their bounds.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable

from fakes.bme680 import compensation as comp
from fakes.bme680.calibration import CalibrationSet
from fakes.bme680.registers import Variant

ADC20_CODES = 1 << 20
ADC16_CODES = 1 << 16


def adc_step(oversampling: int, filter_code: int) -> int:
    """Spacing of the 20-bit T/P codes the chip outputs (datasheet 3.3.1/3.3.2).

    With the IIR filter on, results have 20 bits; without it 16 + (osrs - 1) bits, so the low
    bits are zero (1x: multiples of 16 ... 16x: every code).
    """
    if filter_code or oversampling >= 5:
        return 1
    return 1 << (5 - max(oversampling, 1))


def _nearest(
    value_at: Callable[[int], float], target: float, count: int, increasing: bool, guess: float
) -> int:
    """Index in ``0..count-1`` whose value (monotonic in the index) is nearest ``target``.

    ``guess`` comes from a floating-point inverse of the map and is usually within a code or
    two; a galloping search from it brackets the crossing (any guess works, a bad one costs
    a few more evaluations) and bisection closes the bracket.
    """
    sign = 1.0 if increasing else -1.0
    goal = sign * target

    def reached(k: int) -> bool:
        return sign * value_at(k) >= goal

    last = count - 1
    start = 0 if guess != guess else min(max(int(guess), 0), last)  # NaN -> 0
    step = 1
    if reached(start):  # the crossing is at or below start
        hi, lo = start, start - 1
        while lo >= 0 and reached(lo):
            hi, lo = lo, lo - step
            step *= 2
        lo = max(lo, -1)  # -1 stands for "before the first code"
    else:
        lo, hi = start, start + 1
        while hi <= last and not reached(hi):
            lo, hi = hi, hi + step
            step *= 2
        hi = min(hi, last + 1)  # last + 1 stands for "past the last code"
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if reached(mid):
            hi = mid
        else:
            lo = mid
    best, best_err = -1, math.inf
    for k in (lo, hi):
        if 0 <= k <= last:
            err = abs(value_at(k) - target)
            if err < best_err:
                best, best_err = k, err
    return best


def temperature_code(target_c: float, cal: CalibrationSet, step: int = 1) -> int:
    """The 20-bit temperature code (a multiple of ``step``) the library reads as ``target_c``."""
    fine_of = comp.t_fine_map(cal)

    def centi(k: int) -> int:
        return comp.centi_celsius(fine_of(k * step))

    # the first code reading ceil(target) needs t_fine >= (256 ceil(target) - 128) / 5, and
    # t_fine ~ a d + b d^2 with d = adc / 8 - 2 t1: solved in a cancellation-free form
    a, b = cal.t2 / 2048, cal.t3 / 2**24
    fine = (256 * math.ceil(target_c * 100) - 128) / 5
    root = math.sqrt(max(a * a + 4 * b * fine, 0.0))
    d = 2 * fine / (a + root) if a + root else 0.0
    guess = (math.ceil(d) + 2 * cal.t1) * 8 / step  # adc >> 3 only moves in whole steps
    return _nearest(centi, target_c * 100.0, ADC20_CODES // step, True, guess) * step


def pressure_code(target_hpa: float, fine: int, cal: CalibrationSet, step: int = 1) -> int:
    """The 20-bit pressure code for ``target_hpa`` at fine temperature ``fine``."""
    terms = comp.pressure_terms(fine, cal)
    raw_of, correction = comp.pressure_raw_map(terms), comp.pressure_correction_map(cal)

    def pascal(k: int) -> int:  # comp.pressure_map, on the lattice
        raw = raw_of(k * step)
        return raw + correction(raw)

    target = target_hpa * 100.0
    # the first code reading at most floor(target) is where raw + correction(raw) drops
    # below floor(target) + 1; solved for raw by fixed-point iteration
    raw = edge = math.floor(target) + 1
    for _ in range(2):
        raw = edge - correction(raw)
    guess = (1048576 - terms.offset - raw * terms.divisor / 6250) / step
    return _nearest(pascal, target, ADC20_CODES // step, False, guess) * step


def humidity_code(target_rh: float, centi: int, cal: CalibrationSet) -> int:
    """The 16-bit humidity code for ``target_rh`` at temperature ``centi`` (0.01 degC)."""
    base, gain, curvature = comp.humidity_terms(centi, cal)
    milli = comp.humidity_map(centi, cal)
    target = target_rh * 1000.0
    # v + curvature * v^2 / 2^39 = target * 4096 / 1000 * 1024, with v = (adc - base) * gain
    m = math.ceil(target) * 4096 / 1000 * 1024
    c = curvature / 2**39
    v = 2 * m / (1 + math.sqrt(max(1 + 4 * c * m, 0.0)))
    guess = base + v / gain if gain else ADC16_CODES / 2
    return _nearest(milli, target, ADC16_CODES, True, guess)


def gas_ohms(variant: Variant, adc: int, gas_range: int, library_sw_err: int) -> float:
    if variant is Variant.BME688:
        return comp.gas_ohms_bme688(adc, gas_range)
    return comp.gas_ohms_bme680(adc, gas_range, library_sw_err)


@functools.cache
def _gas_guess_lines(variant: Variant, library_sw_err: int) -> tuple[tuple[float, float], ...]:
    """Per range (a, b) with adc ~ a / (ohms - bias) + b: the closed forms of the two maps."""
    if variant is Variant.BME688:  # R = 1e6 * (2**18 >> r) / (4096 + 3 (adc - 512))
        return tuple((1e6 * (262144 >> r) / 3, 512 - 4096 / 3) for r in range(comp.GAS_RANGES))
    lines = []
    for r in range(comp.GAS_RANGES):  # R = (numerator + d / 2) / d, d = adc * 2**15 - 2**24 + k
        k = ((1340 + 5 * library_sw_err) * comp.GAS_RANGE_CONSTANT_1[r]) >> 16
        numerator = (comp.GAS_RANGE_CONSTANT_2[r] * k) >> 9
        lines.append((numerator / 32768, (16777216 - k) / 32768))
    return tuple(lines)


def gas_code(target_ohms: float, variant: Variant, library_sw_err: int = 0) -> tuple[int, int]:
    """(adc, range) whose resistance is nearest ``target_ohms`` in relative terms.

    Ties go to the code with the finer step (the higher adc of the overlapping ranges).
    """
    bias = 0.0 if variant is Variant.BME688 else 0.5
    if target_ohms <= bias:
        raise ValueError(f"gas resistance {target_ohms} ohm is not reachable")
    inverse_ohms = 1.0 / (target_ohms - bias)
    best: tuple[float, int, int] | None = None
    for gas_range, (a, b) in enumerate(_gas_guess_lines(variant, library_sw_err)):
        guess = a * inverse_ohms + b
        if not -2 <= guess <= comp.GAS_ADC_MAX + 2:
            continue
        centre = round(guess)
        for adc in (centre - 1, centre, centre + 1):
            if 0 <= adc <= comp.GAS_ADC_MAX:
                err = abs(gas_ohms(variant, adc, gas_range, library_sw_err) / target_ohms - 1)
                key = (err, -adc, gas_range)
                if best is None or key < best:
                    best = key
    if best is None:
        raise ValueError(f"gas resistance {target_ohms} ohm is not reachable")
    return -best[1], best[2]


def gas_span(variant: Variant, library_sw_err: int = 0) -> tuple[float, float]:
    """Lowest and highest resistance (ohm) the library can report for this variant."""
    values = [
        gas_ohms(variant, adc, r, library_sw_err)
        for r in range(comp.GAS_RANGES)
        for adc in (0, comp.GAS_ADC_MAX)
    ]
    return min(values), max(values)
