"""The fake's copy of the library's compensation is bit-exact against the library itself."""

from __future__ import annotations

import random

import bme680
import pytest

from fakes.bme680 import CALIBRATION_SETS, SimulatedBME680, Variant
from fakes.bme680 import compensation as comp


def library_sensor(calibration: str, variant: Variant = Variant.BME680) -> bme680.BME680:
    return bme680.BME680(i2c_device=SimulatedBME680(calibration=calibration, variant=variant))


@pytest.mark.parametrize("name", sorted(CALIBRATION_SETS))
def test_tph_maps_match_library_on_random_codes(name: str) -> None:
    cal = CALIBRATION_SETS[name]
    sensor = library_sensor(name)
    rng = random.Random(name)
    for _ in range(3000):
        adc_t, adc_p, adc_h = rng.randrange(1 << 20), rng.randrange(1 << 20), rng.randrange(1 << 16)
        centi = sensor._calc_temperature(adc_t)
        fine = sensor.calibration_data.t_fine
        assert fine == comp.t_fine(adc_t, cal)
        assert centi == comp.centi_celsius(fine)
        assert sensor._calc_pressure(adc_p) == comp.pressure_map(fine, cal)(adc_p)
        assert sensor._calc_humidity(adc_h) == comp.humidity_map(centi, cal)(adc_h)


@pytest.mark.parametrize("name", ["pimoroni-test", "bosch-forum", "adafruit-57-bme688"])
def test_gas_maps_match_library_on_every_code(name: str) -> None:
    cal = CALIBRATION_SETS[name]
    sensor = library_sensor(name)
    assert sensor.calibration_data.range_sw_err == cal.library_range_sw_err
    for gas_range in range(16):
        for adc in range(1024):
            assert sensor._calc_gas_resistance_low(adc, gas_range) == comp.gas_ohms_bme680(
                adc, gas_range, cal.library_range_sw_err
            )
            assert sensor._calc_gas_resistance_high(adc, gas_range) == comp.gas_ohms_bme688(
                adc, gas_range
            )


def test_gas_tables_are_the_library_tables() -> None:
    assert list(comp.GAS_RANGE_CONSTANT_1) == bme680.constants.lookupTable1
    assert list(comp.GAS_RANGE_CONSTANT_2) == bme680.constants.lookupTable2


def test_library_golden_vectors() -> None:
    """The library's own test vectors (pimoroni tests/test_compensation.py), via the fake's maps."""
    cal = CALIBRATION_SETS["pimoroni-test"]
    fine = comp.t_fine(501240, cal)
    assert (comp.centi_celsius(fine), fine) == (2669, 136667)
    assert comp.pressure_map(fine, cal)(353485) == 98712
    assert comp.humidity_map(2669, cal)(19019) == 42402
    assert int(comp.gas_ohms_bme680(0, 0, 0)) == 12946860
    assert comp.gas_ohms_bme688(0, 0) == 102400000.0
