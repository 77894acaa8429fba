"""Instant and datasheet timing on the manual clock."""

from __future__ import annotations

import bme680
import pytest

from fakes.bme680 import (
    ManualClock,
    NewDataPolicy,
    SimulatedBME680,
    TimingMode,
    forced_duration_s,
    gas_wait_ms,
    patched_library_sleep,
    tph_duration_us,
)
from fakes.bme680 import registers as reg

ADDR = 0x76


def test_datasheet_durations() -> None:
    assert tph_duration_us(4, 3, 2) == 32775  # library defaults: T 8x, P 4x, H 2x
    assert tph_duration_us(0, 0, 0) == 5293  # switching + gas measurement + wake-up
    assert tph_duration_us(5, 5, 5) == 48 * 1963 + 9 * 477 + 1000
    assert gas_wait_ms(0x65) == 148 and gas_wait_ms(0xFF) == 4032 and gas_wait_ms(0x59) == 100
    assert forced_duration_s(4, 3, 2, 148) == pytest.approx(0.180775)


def test_manual_clock() -> None:
    clock = ManualClock(5.0)
    clock.advance(0.25)
    clock.sleep(0.25)
    assert clock.now() == clock() == 5.5
    with pytest.raises(ValueError):
        clock.advance(-1)


def timed_chip(policy: NewDataPolicy = NewDataPolicy.KEEP_PREVIOUS) -> SimulatedBME680:
    return SimulatedBME680(timing=TimingMode.DATASHEET, new_data_policy=policy)


def test_instant_mode_takes_no_chip_time() -> None:
    chip = SimulatedBME680()
    chip.write_byte_data(ADDR, reg.CTRL_MEAS, 0x8D)
    assert chip.read_byte_data(ADDR, reg.MEAS_STATUS) & reg.NEW_DATA
    assert chip.now() == 0.0 and not chip.busy


def test_timed_conversion_on_the_register_level() -> None:
    chip = timed_chip()
    clock = chip.clock
    assert clock is not None
    chip.write_byte_data(ADDR, reg.CTRL_HUM, 0x02)
    chip.write_byte_data(ADDR, reg.CTRL_MEAS, 0x8D)
    assert chip.measurement_duration_s() == pytest.approx(0.032775)
    assert chip.read_byte_data(ADDR, reg.MEAS_STATUS) == reg.MEASURING  # running, no new data
    assert chip.read_byte_data(ADDR, reg.CTRL_MEAS) == 0x8D  # still in forced mode
    clock.advance(0.0327)
    assert chip.read_byte_data(ADDR, reg.MEAS_STATUS) == reg.MEASURING
    assert chip.read_i2c_block_data(ADDR, 0x22, 3) == [0x80, 0, 0]  # reset values still
    clock.advance(0.0001)
    assert chip.read_byte_data(ADDR, reg.MEAS_STATUS) == reg.NEW_DATA
    assert chip.read_byte_data(ADDR, reg.CTRL_MEAS) == 0x8C  # back to sleep
    assert chip.read_i2c_block_data(ADDR, 0x22, 3) != [0x80, 0, 0]


def test_gas_phase_and_control_writes_while_converting() -> None:
    chip = timed_chip()
    clock = chip.clock
    assert clock is not None
    chip.write_byte_data(ADDR, reg.GAS_WAIT_0, 0x59)  # 100 ms heater
    chip.write_byte_data(ADDR, reg.CTRL_GAS_1, 0x10)
    chip.write_byte_data(ADDR, reg.CTRL_MEAS, 0x25)  # T 1x, P 1x, H skipped
    status = chip.read_byte_data(ADDR, reg.MEAS_STATUS)
    assert status == reg.MEASURING
    clock.advance(0.010)  # past 1 ms wake-up + 2 cycles + switching: heater phase
    assert chip.read_byte_data(ADDR, reg.MEAS_STATUS) == reg.MEASURING | reg.GAS_MEASURING
    chip.write_byte_data(ADDR, reg.CTRL_HUM, 0x05)  # ignored while converting
    chip.write_byte_data(ADDR, reg.CTRL_MEAS, 0x25)  # deferred until the end
    assert chip.read_byte_data(ADDR, reg.CTRL_HUM) == 0
    end = forced_duration_s(1, 1, 0, 100)
    clock.advance(end - 0.010)  # first ends, the deferred one starts at once
    assert chip.read_byte_data(ADDR, reg.MEAS_STATUS) & (reg.NEW_DATA | reg.MEASURING) == (
        reg.NEW_DATA | reg.MEASURING
    )
    assert chip.measurements == 1
    clock.advance(end + 0.001)
    assert not chip.busy and chip.measurements == 2


def test_library_init_waits_for_the_conversion() -> None:
    chip = timed_chip()
    chip.set_environment(temperature=19.5)
    with patched_library_sleep(chip.clock) as sleep:
        sensor = bme680.BME680(i2c_device=chip)
    # 10 ms reset wait, then 32.8 ms of conversion seen through four 10 ms polls
    assert sleep.calls == [0.01] * 5
    assert sensor.data.temperature == 19.5


def heated(chip: SimulatedBME680) -> bme680.BME680:
    with patched_library_sleep(chip.clock):
        sensor = bme680.BME680(i2c_device=chip)
        sensor.set_gas_heater_profile(320, 150)  # 148 ms: a cycle of ~181 ms
    return sensor


def test_keep_previous_policy_gives_previous_cycle_values() -> None:
    chip = timed_chip(NewDataPolicy.KEEP_PREVIOUS)
    clock = chip.clock
    assert clock is not None
    chip.set_environment(temperature=20.0)
    sensor = heated(chip)
    with patched_library_sleep(clock) as sleep:
        chip.set_environment(temperature=21.0)
        assert sensor.get_sensor_data() is True
        assert sensor.data.temperature == 20.0  # the previous result, still flagged new
        assert sleep.calls == []
        clock.advance(1.0)  # the app's period: the 21.0 conversion finished meanwhile
        chip.set_environment(temperature=22.0)
        assert sensor.get_sensor_data() is True
        assert sensor.data.temperature == 21.0  # one call behind
        assert sensor.data.heat_stable is True


def test_clear_on_trigger_policy_returns_false_with_a_long_heater() -> None:
    chip = timed_chip(NewDataPolicy.CLEAR_ON_TRIGGER)
    clock = chip.clock
    assert clock is not None
    chip.set_environment(temperature=20.0)
    sensor = heated(chip)
    with patched_library_sleep(clock) as sleep:
        chip.set_environment(temperature=21.0)
        for _ in range(3):
            assert sensor.get_sensor_data() is False  # 100 ms of polling < 181 ms
            assert sensor.data.temperature == 20.0  # stale
            clock.advance(1.0)
        assert sleep.calls == [0.01] * 30
    chip.set_environment(temperature=22.0)
    with patched_library_sleep(clock):
        sensor.set_gas_heater_duration(30)  # a 63 ms cycle fits the poll window
        assert sensor.get_sensor_data() is True
        assert sensor.data.temperature == 22.0
