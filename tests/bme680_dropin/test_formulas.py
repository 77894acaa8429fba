"""The few formulas the drop-in shares with the library give the library's numbers, bit for
bit, and its heater model is the register-level chip's."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from types import ModuleType
from typing import Any

import bme680
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fakes.bme680 import SimulatedBME680, calibration_set, patched_library_sleep
from fakes.bme680.heater import heat_stable as chip_heat_stable
from fakes.bme680_dropin import installed

with installed() as _module:
    FORMULAS: ModuleType = _module._formulas
    CALIBRATION: ModuleType = _module._calibration

FINE_TEMPERATURES = st.integers(-240_000, 470_000)  # about -47 .. +92 degC
EXAMPLES = settings(max_examples=400, deadline=None)


@pytest.fixture(scope="module")
def library() -> Iterator[bme680.BME680]:
    """The real library, holding the register-level chip's default calibration."""
    with patched_library_sleep():
        yield bme680.BME680(i2c_device=SimulatedBME680())


def same(call: Callable[[], Any], other: Callable[[], Any]) -> None:
    """Both return equal values (NaN equals NaN) or raise the same exception type."""
    results = []
    for function in (call, other):
        try:
            results.append(function())
        except ArithmeticError as error:
            results.append(type(error))
    ours, theirs = results
    if isinstance(ours, float) and math.isnan(ours):
        assert isinstance(theirs, float) and math.isnan(theirs)
    else:
        assert (type(ours), ours) == (type(theirs), theirs)


@EXAMPLES
@given(adc=st.integers(0, (1 << 20) - 1))
def test_temperature(library: bme680.BME680, adc: int) -> None:
    library.offset_temp_in_t_fine = 0
    centi = library._calc_temperature(adc)
    fine = FORMULAS.fine_temperature(adc)
    assert (fine, FORMULAS.centi_celsius(fine)) == (library.calibration_data.t_fine, centi)


def test_the_skipped_temperature(library: bme680.BME680) -> None:
    library.offset_temp_in_t_fine = 0
    library._calc_temperature(0x80000)
    assert library.calibration_data.t_fine == FORMULAS.SKIPPED_FINE


@EXAMPLES
@given(adc=st.integers(0, (1 << 20) - 1), t_fine=FINE_TEMPERATURES)
def test_pressure(library: bme680.BME680, adc: int, t_fine: int) -> None:
    library.calibration_data.t_fine = t_fine
    same(lambda: FORMULAS.pressure_pa(adc, t_fine), lambda: library._calc_pressure(adc))


@EXAMPLES
@given(adc=st.integers(0, (1 << 16) - 1), t_fine=FINE_TEMPERATURES)
def test_humidity(library: bme680.BME680, adc: int, t_fine: int) -> None:
    library.calibration_data.t_fine = t_fine
    same(lambda: FORMULAS.humidity_milli(adc, t_fine), lambda: library._calc_humidity(adc))


@EXAMPLES
@given(centi=st.integers(-5000, 10000))
def test_the_representative_t_fine_reads_as_its_temperature(centi: int) -> None:
    assert FORMULAS.centi_celsius(FORMULAS.representative_fine(centi)) == centi


@settings(max_examples=60, deadline=None)
@given(pascal=st.integers(30000, 110000), centi=st.integers(-4000, 8500))
def test_the_pressure_code_is_the_nearest(pascal: int, centi: int) -> None:
    t_fine = FORMULAS.representative_fine(centi)
    code = FORMULAS.pressure_code(pascal, t_fine)
    error = abs(FORMULAS.pressure_pa(code, t_fine) - pascal)
    for neighbour in (code - 1, code + 1):
        assert error <= abs(FORMULAS.pressure_pa(neighbour, t_fine) - pascal)
    assert error <= 10  # at most half of the widest gap of the formula


@settings(max_examples=60, deadline=None)
@given(milli=st.integers(0, 100000), centi=st.integers(-4000, 8500))
def test_the_humidity_code_is_the_nearest(milli: int, centi: int) -> None:
    t_fine = FORMULAS.representative_fine(centi)
    code = FORMULAS.humidity_code(milli, t_fine)
    error = abs(FORMULAS.humidity_milli(code, t_fine) - milli)
    for neighbour in (code - 1, code + 1):
        if 0 <= neighbour < 1 << 16:
            assert error <= abs(FORMULAS.humidity_milli(neighbour, t_fine) - milli)


@EXAMPLES
@given(
    target=st.one_of(st.integers(-100, 1000), st.floats(allow_nan=True, allow_infinity=True)),
    ambient=st.integers(-4000, 8500),
)
def test_heater_code(library: bme680.BME680, target: float, ambient: int) -> None:
    library.ambient_temperature = ambient
    same(
        lambda: CALIBRATION.heater_code(target, ambient, library.calibration_data),
        lambda: library._calc_heater_resistance(target),
    )


@EXAMPLES
@given(duration=st.one_of(st.integers(0, 5000), st.floats(0, 5000), st.just(math.inf)))
def test_heater_duration_code(library: bme680.BME680, duration: float) -> None:
    same(
        lambda: CALIBRATION.heater_duration_code(duration),
        lambda: library._calc_heater_duration(duration),
    )


@pytest.mark.parametrize("ambient", [-40.0, 25.0, 85.0])
def test_heat_stable_is_the_register_level_chips(ambient: float) -> None:
    cal = calibration_set("pimoroni-test")
    for code in range(256):
        for wait in range(0, 256, 3):
            wait_ms = CALIBRATION.gas_wait_ms(wait)
            expected = chip_heat_stable(code, wait_ms, ambient, cal)
            assert CALIBRATION.heater_stable(code, wait, ambient) is expected, (code, wait)


@pytest.mark.parametrize("variant", [0, 1])
def test_gas_span_is_the_register_level_chips(variant: int) -> None:
    assert CALIBRATION.GAS_SPAN_OHM[variant] == SimulatedBME680(variant=variant).gas_span
