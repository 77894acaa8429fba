"""The unmodified library starts up on the simulated chip, both ways it can find a bus."""

from __future__ import annotations

import bme680
import pytest

from fakes.bme680 import LibrarySleep, SimulatedBME680, Variant, patched_smbus

ENV = {"temperature": 21.37, "pressure": 1002.31, "humidity": 48.25, "gas_resistance": 80_000.0}


def assert_reads_env(sensor: bme680.BME680) -> None:
    d = sensor.data
    assert d.temperature == pytest.approx(ENV["temperature"], abs=0.005)
    assert d.pressure == pytest.approx(ENV["pressure"], abs=0.01)
    assert d.humidity == pytest.approx(ENV["humidity"], abs=0.005)
    assert d.gas_resistance == pytest.approx(ENV["gas_resistance"], rel=1e-3)


@pytest.mark.parametrize("variant", list(Variant))
def test_construct_with_i2c_device(variant: Variant, library_sleep: LibrarySleep) -> None:
    chip = SimulatedBME680(variant=variant, record=True)
    chip.set_environment(**ENV)
    sensor = bme680.BME680(i2c_device=chip)
    traffic = [(t.kind, t.register) for t in chip.log or []]
    assert len(traffic) == 26
    assert traffic[:3] == [("read", 0xD0), ("read", 0xF0), ("write", 0xE0)]
    assert ("read_block", 0x89) in traffic and ("read_block", 0xE1) in traffic
    assert traffic[-2:] == [("read", 0x1D), ("read_block", 0x1D)]
    assert sensor.chip_id == 0x61 and sensor._variant == variant
    assert sensor.get_gas_status() == (2 if variant is Variant.BME688 else 1)
    # the init-time reading: heater profile 0 still at reset values, so not heat-stable
    assert sensor.data.status == 0xA0 and sensor.data.heat_stable is False
    assert_reads_env(sensor)
    assert library_sleep.calls == [0.01]  # the soft reset's wait; data was ready at once


def test_construct_through_smbus2_bus_1() -> None:
    chip = SimulatedBME680(variant=Variant.BME688, calibration="adafruit-57-bme688")
    chip.set_environment(**ENV)
    with patched_smbus(chip):
        sensor = bme680.BME680()  # no i2c_device: the library opens smbus2.SMBus(1) itself
    assert sensor._i2c is chip
    assert_reads_env(sensor)


def test_secondary_address() -> None:
    chip = SimulatedBME680(address=0x77)
    sensor = bme680.BME680(bme680.I2C_ADDR_SECONDARY, i2c_device=chip)
    assert sensor.get_sensor_data() is True


def test_heated_reading_is_fully_valid(chip: SimulatedBME680) -> None:
    chip.set_environment(**ENV)
    sensor = bme680.BME680(i2c_device=chip)
    sensor.set_gas_heater_profile(320, 150)
    sensor.select_gas_heater_profile(0)
    assert sensor.get_sensor_data() is True
    assert sensor.data.status == 0xB0 and sensor.data.heat_stable is True
    assert sensor.data.gas_index == 0 and sensor.data.meas_index == 2
    assert_reads_env(sensor)


def test_library_temperature_offset_shifts_readings_like_the_real_chip(
    chip: SimulatedBME680,
) -> None:
    chip.set_environment(**ENV)
    sensor = bme680.BME680(i2c_device=chip)
    sensor.set_temp_offset(-2.0)
    sensor.get_sensor_data()
    assert sensor.data.temperature == pytest.approx(ENV["temperature"] - 2.0, abs=0.01)
    # the offset enters t_fine, so humidity moves too (pimoroni issue #20)
    assert abs(sensor.data.humidity - ENV["humidity"]) > 0.05
