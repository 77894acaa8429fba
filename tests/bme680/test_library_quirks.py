"""Quirks of the unmodified library that only the chip can answer: unchecked arguments land
in the registers and the chip must react as the silicon would (moved here from the retired
drop-in's contract tests, which compared these outcomes call by call)."""

from __future__ import annotations

import errno

import bme680
import pytest

from fakes.bme680 import SimulatedBME680, StuckData, Variant


@pytest.mark.parametrize("variant", list(Variant))
def test_a_negative_profile_can_write_the_soft_reset_command(variant: Variant) -> None:
    """0x64 - 132 wraps to 0xE0 and 864 ms encodes as 0xB6: the chip resets to all zeros."""
    sensor = bme680.BME680(i2c_device=SimulatedBME680(variant=variant))
    sensor.set_humidity_oversample(bme680.OS_8X)
    sensor.set_gas_heater_duration(864, nb_profile=-132)
    assert sensor.get_humidity_oversample() == 0
    assert sensor.get_sensor_data() is True  # the skipped signature, as after a brown-out
    assert (sensor.data.humidity, sensor.data.status) == (100.0, 0x80)


def test_unmasked_oversampling_spills_into_the_neighbouring_field() -> None:
    sensor = bme680.BME680(i2c_device=SimulatedBME680())
    before = sensor.get_temperature_oversample()
    sensor.set_pressure_oversample(8)  # 8 << 2 reaches osrs_t's lowest bit
    assert sensor.get_temperature_oversample() != before
    assert sensor.get_sensor_data() is True


def test_disable_heater_sets_bit_6_and_the_heater_stays_on() -> None:
    sensor = bme680.BME680(i2c_device=SimulatedBME680())
    sensor.set_gas_heater_profile(320, 150)
    sensor.set_gas_heater_status(bme680.DISABLE_HEATER)
    assert sensor.get_sensor_data() is True
    assert sensor.data.heat_stable is True
    sensor.set_gas_heater_status(1)  # heat_off is bit 3
    assert sensor.get_sensor_data() is True
    assert sensor.data.heat_stable is False


def test_changing_i2c_addr_afterwards_is_remote_io_error() -> None:
    sensor = bme680.BME680(i2c_device=SimulatedBME680())
    sensor.i2c_addr = 0x77
    for call in (sensor.get_sensor_data, sensor.get_filter, sensor.soft_reset):
        with pytest.raises(OSError) as info:
            call()
        assert info.value.errno == errno.EREMOTEIO


def test_meas_index_counts_and_wraps() -> None:
    sensor = bme680.BME680(i2c_device=SimulatedBME680())
    seen = []
    for _ in range(257):
        sensor.get_sensor_data()
        seen.append(sensor.data.meas_index)
    assert seen[252:] == [254, 255, 0, 1, 2]


def test_two_sensor_objects_share_one_chip() -> None:
    chip = SimulatedBME680()
    first = bme680.BME680(i2c_device=chip)
    second = bme680.BME680(i2c_device=chip)  # re-initialises the chip
    first.set_humidity_oversample(5)
    first.select_gas_heater_profile(4)
    assert (second.get_humidity_oversample(), second.get_gas_heater_profile()) == (5, 4)
    second.get_sensor_data()
    first.get_sensor_data()
    assert (first.data.meas_index, second.data.meas_index) == (3, 2)


def test_stuck_from_the_start_leaves_no_reading_and_the_heater_call_fails() -> None:
    chip = SimulatedBME680()
    chip.inject(StuckData())
    sensor = bme680.BME680(i2c_device=chip)
    assert sensor.ambient_temperature is None
    with pytest.raises(TypeError):  # the heater conversion needs an ambient reading first
        sensor.set_gas_heater_temperature(320)


def test_the_library_version_the_chip_is_built_for() -> None:
    assert bme680.__version__ == "2.0.0"
