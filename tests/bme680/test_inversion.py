"""The inversion picks the best code: compared with brute force and plain bisection."""

from __future__ import annotations

import itertools
import math
import random
from collections.abc import Callable

import pytest

from fakes.bme680 import CALIBRATION_SETS, Variant
from fakes.bme680 import compensation as comp
from fakes.bme680 import compensation_inverse as inverse

CAL = CALIBRATION_SETS["bosch-forum"]


def best_error_by_bisection(
    value_at: Callable[[int], float], target: float, count: int, increasing: bool
) -> float:
    """Smallest |value - target| over all codes, for a monotonic map (reference search)."""
    sign = 1 if increasing else -1
    lo, hi = -1, count  # value(lo) < target <= value(hi), in the increasing sense
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if sign * value_at(mid) >= sign * target:
            hi = mid
        else:
            lo = mid
    return min(abs(value_at(k) - target) for k in (lo, hi) if 0 <= k < count)


@pytest.mark.parametrize("step", [1, 2, 16])
def test_temperature_and_pressure_codes_are_optimal(step: int) -> None:
    rng = random.Random(step)
    fine_of = comp.t_fine_map(CAL)
    for _ in range(300):
        t, p = rng.uniform(-40, 85), rng.uniform(300, 1100)
        adc_t = inverse.temperature_code(t, CAL, step)
        assert adc_t % step == 0
        centi = comp.centi_celsius(fine_of(adc_t))
        reference = best_error_by_bisection(
            lambda k: comp.centi_celsius(fine_of(k * step)), t * 100, (1 << 20) // step, True
        )
        assert abs(centi - t * 100) == reference
        fine = fine_of(adc_t)
        pascal = comp.pressure_map(fine, CAL)
        adc_p = inverse.pressure_code(p, fine, CAL, step)
        assert adc_p % step == 0

        def on_lattice(k: int, pascal: Callable[[int], int] = pascal) -> int:
            return pascal(k * step)

        reference = best_error_by_bisection(on_lattice, p * 100, (1 << 20) // step, False)
        assert abs(pascal(adc_p) - p * 100) == reference


def test_humidity_codes_are_optimal() -> None:
    rng = random.Random(7)
    for _ in range(300):
        h, centi = rng.uniform(0, 100), rng.randrange(-4000, 8501)
        milli = comp.humidity_map(centi, CAL)
        code = inverse.humidity_code(h, centi, CAL)
        best = best_error_by_bisection(milli, h * 1000, 1 << 16, True)
        assert abs(milli(code) - h * 1000) == best


@pytest.mark.parametrize("guess", [0, (1 << 20) - 1, -5e9, 5e9, math.nan, 123_456])
def test_any_guess_finds_the_same_code(guess: float) -> None:
    fine = comp.t_fine(500_000, CAL)
    pascal = comp.pressure_map(fine, CAL)
    target = 101_325.4
    good = inverse.pressure_code(1013.254, fine, CAL)
    found = inverse._nearest(pascal, target, 1 << 20, False, guess)
    assert pascal(found) == pascal(good)


@pytest.mark.parametrize("variant", list(Variant))
def test_gas_codes_are_optimal_against_brute_force(variant: Variant) -> None:
    sw_err = CAL.library_range_sw_err
    table = [inverse.gas_ohms(variant, adc, r, sw_err) for r in range(16) for adc in range(1024)]
    low, high = inverse.gas_span(variant, sw_err)
    rng = random.Random(variant)
    for _ in range(60):
        target = math.exp(rng.uniform(math.log(low), math.log(high)))
        adc, gas_range = inverse.gas_code(target, variant, sw_err)
        best = min(abs(ohms / target - 1) for ohms in table)
        assert abs(inverse.gas_ohms(variant, adc, gas_range, sw_err) / target - 1) == best


def test_gas_ranges_overlap_so_the_span_is_continuous() -> None:
    for variant in Variant:
        for name, cal in CALIBRATION_SETS.items():
            sw_err = cal.library_range_sw_err
            lowest = [inverse.gas_ohms(variant, 1023, r, sw_err) for r in range(16)]
            highest = [inverse.gas_ohms(variant, 0, r, sw_err) for r in range(16)]
            spans = sorted(zip(lowest, highest, strict=True))
            for (_, top), (bottom, _) in itertools.pairwise(spans):
                assert bottom <= top, (variant, name)


def test_adc_step() -> None:
    assert [inverse.adc_step(osrs, 0) for osrs in range(1, 6)] == [16, 8, 4, 2, 1]
    assert [inverse.adc_step(osrs, 2) for osrs in range(1, 6)] == [1] * 5
