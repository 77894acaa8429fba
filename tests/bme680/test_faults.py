"""Each named fault produces what the unmodified library produces on the real failure."""

from __future__ import annotations

import errno

import bme680
import pytest

from fakes.bme680 import (
    CALIBRATION_SETS,
    BrownOut,
    BusError,
    HeaterUnstable,
    NoDevice,
    SelfHeating,
    SimulatedBME680,
    StuckData,
    WrongChipId,
    patched_library_sleep,
    patched_smbus,
)
from fakes.bme680.environment import humidity_at

ENV = {"temperature": 22.5, "pressure": 1008.4, "humidity": 51.2, "gas_resistance": 120_000.0}


def heated_sensor(chip: SimulatedBME680) -> bme680.BME680:
    chip.set_environment(**ENV)
    sensor = bme680.BME680(i2c_device=chip)
    sensor.set_gas_heater_profile(320, 150)
    sensor.select_gas_heater_profile(0)
    assert sensor.get_sensor_data() is True and sensor.data.status == 0xB0
    return sensor


def reading(sensor: bme680.BME680) -> tuple[float, float, float, float, bool, int]:
    d = sensor.data
    return d.temperature, d.pressure, d.humidity, d.gas_resistance, d.heat_stable, d.status


def assert_remote_io_error(info: pytest.ExceptionInfo[OSError]) -> None:
    assert info.type is OSError
    assert info.value.errno == errno.EREMOTEIO
    assert str(info.value) == "[Errno 121] Remote I/O error"


# ---------------------------------------------------------------- no device / wrong chip
def test_no_device_at_construction_is_the_librarys_runtime_error(chip: SimulatedBME680) -> None:
    chip.inject(NoDevice())
    with pytest.raises(RuntimeError) as info:
        bme680.BME680(i2c_device=chip)
    assert str(info.value) == "Unable to identify BME680 at 0x76 (IOError)"
    assert isinstance(info.value.__context__, OSError)
    assert info.value.__context__.errno == errno.EREMOTEIO


def test_chip_at_the_other_address_gives_the_same_error() -> None:
    chip = SimulatedBME680(address=0x77)
    message = r"^Unable to identify BME680 at 0x76 \(IOError\)$"
    with patched_smbus(chip), pytest.raises(RuntimeError, match=message):
        bme680.BME680()
    with patched_smbus(chip):  # the canonical example's fallback then finds it
        assert bme680.BME680(bme680.I2C_ADDR_SECONDARY).chip_id == 0x61


def test_wrong_chip_id(chip: SimulatedBME680) -> None:
    chip.inject(WrongChipId(0x60))
    with pytest.raises(RuntimeError) as info:
        bme680.BME680(i2c_device=chip)
    assert str(info.value) == "BME680 Not Found. Invalid CHIP ID: 0x60"
    with pytest.raises(ValueError, match=r"0\.\.255"):
        WrongChipId(0x100)


def test_no_device_later_is_a_raw_os_error(chip: SimulatedBME680) -> None:
    sensor = heated_sensor(chip)
    before = reading(sensor)
    injection = chip.inject(NoDevice())
    with pytest.raises(OSError) as info:
        sensor.get_sensor_data()
    assert_remote_io_error(info)
    with pytest.raises(OSError):
        sensor.set_humidity_oversample(bme680.OS_4X)
    assert injection.hits == 2
    injection.cancel()
    assert reading(sensor) == before  # the failed call left .data alone
    assert sensor.get_sensor_data() is True


# ---------------------------------------------------------------- failing transactions
def test_fail_next_n_transactions(chip: SimulatedBME680) -> None:
    sensor = heated_sensor(chip)
    injection = chip.fail_next(2)
    for _ in range(2):
        with pytest.raises(OSError) as info:
            sensor.get_sensor_data()
        assert_remote_io_error(info)
    assert sensor.get_sensor_data() is True
    assert injection.hits == 2 and injection not in chip.injections


def test_failure_after_the_chip_id_read_escapes_construction_unwrapped(
    chip: SimulatedBME680,
) -> None:
    chip.inject(BusError(), after_transactions=1, transactions=1)  # the variant read fails
    with pytest.raises(OSError) as info:
        bme680.BME680(i2c_device=chip)
    assert_remote_io_error(info)


def test_other_errno(chip: SimulatedBME680) -> None:
    sensor = heated_sensor(chip)
    chip.fail_next(1, errno=errno.EIO)
    with pytest.raises(OSError) as info:
        sensor.get_sensor_data()
    assert (info.value.errno, info.value.strerror) == (errno.EIO, "Input/output error")


# ---------------------------------------------------------------- brown-out
def test_brown_out_gives_the_field_signature(chip: SimulatedBME680) -> None:
    sensor = heated_sensor(chip)
    chip.inject(BrownOut())
    assert sensor.get_sensor_data() is True
    t, p, h, _gas, stable, status = reading(sensor)
    # exactly what the library computes from the skipped codes 0x80000 / 0x80000 / 0x8000
    expected_t = sensor._calc_temperature(0x80000) / 100
    expected_p = sensor._calc_pressure(0x80000) / 100
    assert (t, p, h) == (expected_t, expected_p, 100.0)
    assert 33.0 < t < 35.0 and 650 < p < 780
    assert stable is False and status == 0x80  # gas did not run: no gas_valid, no heat_stab
    # the library did not notice: oversampling, filter and gas settings are all gone
    assert [chip.read_byte_data(0x76, r) for r in (0x71, 0x72, 0x75)] == [0, 0, 0]
    assert sensor.get_sensor_data() is True and reading(sensor)[:3] == (t, p, h)  # frozen


@pytest.mark.parametrize("name", sorted(CALIBRATION_SETS))
def test_brown_out_signature_on_every_calibration(name: str) -> None:
    chip = SimulatedBME680(calibration=name)
    sensor = heated_sensor(chip)
    chip.inject(BrownOut())
    sensor.get_sensor_data()
    t, p, h, *_ = reading(sensor)
    assert 32.0 < t < 35.0 and 650 < p < 800 and h == 100.0  # reports: 32.6-34 C, 670-780 hPa


def test_unreachable_brown_out_then_frozen_readings(chip: SimulatedBME680) -> None:
    sensor = heated_sensor(chip)
    chip.inject(BrownOut(unreachable=True), transactions=1)
    with pytest.raises(OSError) as info:
        sensor.get_sensor_data()
    assert_remote_io_error(info)
    assert sensor.get_sensor_data() is True
    assert sensor.data.humidity == 100.0 and sensor.data.heat_stable is False


# ---------------------------------------------------------------- stuck data
def test_stuck_data_returns_false_and_keeps_stale_values() -> None:
    chip = SimulatedBME680(record=True)
    sensor = heated_sensor(chip)
    before = reading(sensor)
    chip.set_environment(temperature=30.0)
    chip.inject(StuckData(), duration=1.0)
    assert chip.clock is not None
    with patched_library_sleep(chip.clock) as sleep:
        start = len(chip.log or [])
        assert sensor.get_sensor_data() is False
        assert reading(sensor) == before  # stale, no exception
        assert sleep.calls == [0.01] * 10  # the library polled its whole window
        kinds = [t.kind for t in (chip.log or [])[start:]]
        assert kinds == ["read", "write", "read"] + ["read"] * 10
        assert sensor.get_sensor_data() is False  # still inside the 1 s window
        chip.clock.advance(1.0)
        assert sensor.get_sensor_data() is True
    assert sensor.data.temperature == 30.0


# ---------------------------------------------------------------- heater / self-heating
def test_heater_not_stable(chip: SimulatedBME680) -> None:
    sensor = heated_sensor(chip)
    injection = chip.inject(HeaterUnstable())
    assert sensor.get_sensor_data() is True
    assert sensor.data.heat_stable is False and sensor.data.status == 0xA0
    assert sensor.data.gas_resistance == pytest.approx(ENV["gas_resistance"], rel=1e-3)
    injection.cancel()
    sensor.get_sensor_data()
    assert sensor.data.heat_stable is True


def test_self_heating_reads_high_and_dry(chip: SimulatedBME680) -> None:
    sensor = heated_sensor(chip)
    chip.inject(SelfHeating(4.0))
    sensor.get_sensor_data()
    assert sensor.data.temperature == pytest.approx(ENV["temperature"] + 4.0, abs=0.005)
    drier = humidity_at(ENV["humidity"], ENV["temperature"], ENV["temperature"] + 4.0)
    assert drier < ENV["humidity"] - 10
    assert sensor.data.humidity == pytest.approx(drier, abs=0.006)
    assert sensor.data.pressure == pytest.approx(ENV["pressure"], abs=0.01)


def test_self_heating_without_humidity_change(chip: SimulatedBME680) -> None:
    sensor = heated_sensor(chip)
    chip.inject(SelfHeating(2.5, humidity_follows=False))
    sensor.get_sensor_data()
    assert sensor.data.temperature == pytest.approx(ENV["temperature"] + 2.5, abs=0.005)
    assert sensor.data.humidity == pytest.approx(ENV["humidity"], abs=0.006)


# ---------------------------------------------------------------- schedules
def test_time_window_on_the_chip_clock() -> None:
    chip = SimulatedBME680()
    assert chip.clock is not None
    injection = chip.inject(BusError(), at=10.0, duration=5.0)
    assert chip.read_byte_data(0x76, 0xD0) == 0x61
    chip.clock.advance(10.0)
    with pytest.raises(OSError):
        chip.read_byte_data(0x76, 0xD0)
    chip.clock.advance(4.5)
    with pytest.raises(OSError):
        chip.read_byte_data(0x76, 0xD0)
    chip.clock.advance(0.5)  # 15.0: the window [10, 15) is over
    assert chip.read_byte_data(0x76, 0xD0) == 0x61
    assert injection.hits == 2 and chip.injections == []


def test_transaction_window(chip: SimulatedBME680) -> None:
    chip.inject(BusError(), after_transactions=2, transactions=2)
    outcomes = []
    for _ in range(6):
        try:
            chip.read_byte_data(0x76, 0xD0)
            outcomes.append("ok")
        except OSError:
            outcomes.append("fail")
    assert outcomes == ["ok", "ok", "fail", "fail", "ok", "ok"]


def test_callable_clock_and_cancel() -> None:
    now = [0.0]
    chip = SimulatedBME680(clock=lambda: now[0])
    assert chip.clock is None and chip.now() == 0.0
    injection = chip.inject(NoDevice(), at=1.0)
    chip.read_byte_data(0x76, 0xD0)
    now[0] = 2.0
    with pytest.raises(OSError):
        chip.read_byte_data(0x76, 0xD0)
    injection.cancel()
    assert chip.read_byte_data(0x76, 0xD0) == 0x61


@pytest.mark.parametrize(
    "kwargs", [{"duration": -1.0}, {"transactions": 0}, {"after_transactions": -1}]
)
def test_bad_schedules_are_refused(chip: SimulatedBME680, kwargs: dict[str, float]) -> None:
    with pytest.raises(ValueError):
        chip.inject(NoDevice(), **kwargs)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        chip.inject("NoDevice")  # type: ignore[arg-type]
