"""Faults of the same name do to the drop-in what they do to the real library on the
register-level chip: the same exceptions, return values, readings and recovery."""

from __future__ import annotations

import errno
from collections.abc import Callable
from typing import Any

import pytest

from tests.bme680_dropin.sides import (
    EXACT_ALL,
    Outcome,
    Side,
    assert_same_reading,
    flags,
    outcome,
)
from tests.bme680_dropin.sides import settings as shown_settings

Step = Callable[[Any], Any]


def run(sides: tuple[Side, Side], steps: list[Step]) -> list[tuple[Outcome, Outcome]]:
    """Each step on a real sensor and a drop-in one; (drop-in, real) outcome per step."""
    real_side, dropin_side = sides
    real, mine = real_side.make(), dropin_side.make()
    return [(outcome(lambda s=step: s(mine)), outcome(lambda s=step: s(real))) for step in steps]


def assert_remote_io_error(result: Outcome) -> None:
    assert (result.error, result.errno, result.message) == (
        OSError, errno.EREMOTEIO, "[Errno 121] Remote I/O error",
    )  # fmt: skip


# ------------------------------------------------------------------ construction
@pytest.mark.parametrize(
    ("fault", "args", "message"),
    [
        ("NoDevice", (), "Unable to identify BME680 at 0x76 (IOError)"),
        ("BusError", (errno.EIO,), "Unable to identify BME680 at 0x76 (IOError)"),
        ("WrongChipId", (0x60,), "BME680 Not Found. Invalid CHIP ID: 0x60"),
        ("WrongChipId", (0x58,), "BME680 Not Found. Invalid CHIP ID: 0x58"),
        ("BrownOut", (True,), "Unable to identify BME680 at 0x76 (IOError)"),
    ],
)
def test_construction_fails_with_the_librarys_runtime_error(
    sides: tuple[Side, Side], fault: str, args: tuple[Any, ...], message: str
) -> None:
    for side in sides:
        side.inject(fault, *args)
    real_side, dropin_side = sides
    theirs, ours = outcome(real_side.make), outcome(dropin_side.make)
    assert ours == theirs
    assert (ours.error, ours.message) == (RuntimeError, message)


def test_the_examples_fallback_to_the_secondary_address_works(sides: tuple[Side, Side]) -> None:
    """examples/read-all.py: try 0x76, on RuntimeError or IOError use 0x77."""
    _, dropin_side = sides
    dropin_side.module.environment = dropin_side.module.simulation.SensorEnvironment(address=0x77)
    with pytest.raises(RuntimeError, match=r"^Unable to identify BME680 at 0x76 \(IOError\)$"):
        dropin_side.module.BME680(dropin_side.module.I2C_ADDR_PRIMARY)
    sensor = dropin_side.module.BME680(dropin_side.module.I2C_ADDR_SECONDARY)
    assert sensor.get_sensor_data() is True


def test_fail_next_counts_constructions_like_transactions(sides: tuple[Side, Side]) -> None:
    for side in sides:
        side.world.fail_next(2)
    real_side, dropin_side = sides
    for _ in range(3):
        assert outcome(dropin_side.make) == outcome(real_side.make)
    assert outcome(dropin_side.make).value == "<sensor>"


# ------------------------------------------------------------------ bus errors later on
def test_no_device_after_construction_fails_every_call(sides: tuple[Side, Side]) -> None:
    real_side, dropin_side = sides
    real, mine = real_side.make(), dropin_side.make()
    for side in sides:
        side.inject("NoDevice")
    for name in ("get_sensor_data", "get_filter", "soft_reset", "get_power_mode"):
        theirs, ours = outcome(getattr(real, name)), outcome(getattr(mine, name))
        assert ours == theirs, name
        assert_remote_io_error(ours)
    # checks before any I/O still come first
    assert outcome(lambda: mine.select_gas_heater_profile(10)) == outcome(
        lambda: real.select_gas_heater_profile(10)
    )
    for side in sides:
        side.world.clear_faults()
    assert (mine.get_sensor_data(), real.get_sensor_data()) == (True, True)
    assert_same_reading(real, mine)


def test_fail_next_fails_that_many_calls_and_keeps_the_data(sides: tuple[Side, Side]) -> None:
    real_side, dropin_side = sides
    real, mine = real_side.make(), dropin_side.make()
    for side in sides:
        side.world.fail_next(3)
        side.set_environment(temperature=30.0)
    steps: list[Step] = [
        lambda s: s.select_gas_heater_profile(12),  # ValueError: no I/O, not counted
        lambda s: s.get_sensor_data(),
        lambda s: s.set_gas_heater_profile(320, 150),  # fails at its first write
        lambda s: s.get_humidity_oversample(),
        lambda s: s.get_sensor_data(),
        lambda s: s.get_gas_heater_profile(),
    ]
    results = [(outcome(lambda s=st: s(mine)), outcome(lambda s=st: s(real))) for st in steps]
    for ours, theirs in results:
        assert ours == theirs
    assert [r.error for r, _ in results] == [ValueError, OSError, OSError, OSError, None, None]
    assert mine.data.temperature == 30.0
    # like the library: the value is stored before the write fails; the duration never ran
    assert (mine.gas_settings.heatr_temp, mine.gas_settings.heatr_dur) == (320, None)
    assert shown_settings(mine) == shown_settings(real)


def test_a_bus_error_carries_its_errno(sides: tuple[Side, Side]) -> None:
    real_side, dropin_side = sides
    real, mine = real_side.make(), dropin_side.make()
    for side in sides:
        side.world.fail_next(1, errno.EIO)
    theirs, ours = outcome(real.get_sensor_data), outcome(mine.get_sensor_data)
    assert ours == theirs
    assert (ours.error, ours.errno, ours.message) == (OSError, 5, "[Errno 5] Input/output error")


def test_a_window_after_some_calls(sides: tuple[Side, Side]) -> None:
    """``after_calls``/``calls`` on the drop-in is what a window of whole calls is on the chip."""
    real_side, dropin_side = sides
    real, mine = real_side.make(), dropin_side.make()
    # on the chip a get_filter call is 1 transaction; two calls, then the fault for two calls
    real_side.world.inject(real_side.faults.NoDevice(), after_transactions=2, transactions=2)
    dropin_side.world.inject(dropin_side.faults.NoDevice(), after_calls=2, calls=2)
    for _ in range(5):
        assert outcome(mine.get_filter) == outcome(real.get_filter)


# ------------------------------------------------------------------ stuck data
def test_stuck_data_returns_false_keeps_data_and_recovers(sides: tuple[Side, Side]) -> None:
    real_side, dropin_side = sides
    real, mine = real_side.make(), dropin_side.make()
    before = (flags(mine), mine.data.temperature)
    for side in sides:
        side.inject("StuckData")
        side.set_environment(temperature=40.0)
        side.sleeps.clear()
    for _ in range(2):
        assert (mine.get_sensor_data(), real.get_sensor_data()) == (False, False)
    assert (flags(mine), mine.data.temperature) == before
    assert dropin_side.sleeps == real_side.sleeps == [0.01] * 20  # 10 polls per call
    assert mine.power_mode == real.power_mode == 0x8D  # the mode bits never cleared
    for sensor in (real, mine):  # settings are ignored while the chip converts
        sensor.set_humidity_oversample(5)
    assert shown_settings(mine) == shown_settings(real)
    assert mine.get_humidity_oversample() == 2
    for side in sides:
        side.world.clear_faults()
    # the mode write made during the hang runs as soon as the chip is free again
    assert (mine.get_sensor_data(), real.get_sensor_data()) == (True, True)
    assert_same_reading(real, mine)
    assert mine.data.temperature == 40.0


def test_stuck_from_the_start_leaves_no_reading(sides: tuple[Side, Side]) -> None:
    for side in sides:
        side.inject("StuckData")
    real_side, dropin_side = sides
    real, mine = real_side.make(), dropin_side.make()
    assert vars(mine.data) == vars(real.data)
    assert mine.ambient_temperature is real.ambient_temperature is None
    # the library's heater conversion needs a reading first: the same TypeError
    theirs = outcome(lambda: real.set_gas_heater_temperature(320))
    ours = outcome(lambda: mine.set_gas_heater_temperature(320))
    assert ours == theirs and ours.error is TypeError


# ------------------------------------------------------------------ heater, brown-out, heat
def test_heater_unstable(sides: tuple[Side, Side]) -> None:
    real_side, dropin_side = sides
    real, mine = real_side.make(), dropin_side.make()
    for sensor in (real, mine):
        sensor.set_gas_heater_profile(320, 150)
    for side in sides:
        side.inject("HeaterUnstable")
    assert (mine.get_sensor_data(), real.get_sensor_data()) == (True, True)
    assert_same_reading(real, mine)
    assert (mine.data.heat_stable, mine.data.status) == (False, 0xA0)
    for side in sides:
        side.world.clear_faults()
    assert (mine.get_sensor_data(), real.get_sensor_data()) == (True, True)
    assert (mine.data.heat_stable, mine.data.status) == (True, 0xB0)


@pytest.mark.parametrize("offset", [0, 3.5])
def test_brown_out_gives_the_field_signature(sides: tuple[Side, Side], offset: float) -> None:
    real_side, dropin_side = sides
    real, mine = real_side.make(), dropin_side.make()
    for sensor in (real, mine):
        sensor.set_gas_heater_profile(320, 150)
        sensor.set_temp_offset(offset)
    for side in sides:
        side.inject("BrownOut")
    for _ in range(2):  # the library never re-initialises: it stays that way
        assert (mine.get_sensor_data(), real.get_sensor_data()) == (True, True)
        assert_same_reading(real, mine, exact=EXACT_ALL)
        assert (mine.data.status, mine.data.heat_stable, mine.data.humidity) == (0x80, False, 100)
    assert shown_settings(mine) == shown_settings(real)
    assert mine.get_temperature_oversample() == 0 and mine.power_mode == 0


def test_unreachable_brown_out_then_the_signature(sides: tuple[Side, Side]) -> None:
    real_side, dropin_side = sides
    real, mine = real_side.make(), dropin_side.make()
    for side in sides:
        side.inject("BrownOut", unreachable=True)
    for _ in range(2):
        theirs, ours = outcome(real.get_sensor_data), outcome(mine.get_sensor_data)
        assert ours == theirs
        assert_remote_io_error(ours)
    for side in sides:
        side.world.clear_faults()
    assert (mine.get_sensor_data(), real.get_sensor_data()) == (True, True)
    assert_same_reading(real, mine, exact=EXACT_ALL)


def test_re_initialising_after_a_brown_out_recovers(sides: tuple[Side, Side]) -> None:
    real_side, dropin_side = sides
    for side in sides:
        side.make()
        side.inject("BrownOut")
    real, mine = real_side.make(), dropin_side.make()  # a new object sets the chip up again
    assert_same_reading(real, mine)
    assert mine.data.temperature == 25.0


@pytest.mark.parametrize("follows", [True, False])
def test_self_heating(sides: tuple[Side, Side], follows: bool) -> None:
    real_side, dropin_side = sides
    real, mine = real_side.make(), dropin_side.make()
    for side in sides:
        side.set_environment(temperature=21.0, humidity=50.0)
        side.inject("SelfHeating", 3.5, humidity_follows=follows)
    assert (mine.get_sensor_data(), real.get_sensor_data()) == (True, True)
    assert_same_reading(real, mine)
    assert mine.data.temperature == 24.5
    assert (mine.data.humidity < 45.0) is follows


def test_every_fault_of_the_chip_has_a_drop_in_namesake(sides: tuple[Side, Side]) -> None:
    real_side, dropin_side = sides
    for name in real_side.faults.__all__:
        cls = getattr(real_side.faults, name)
        if isinstance(cls, type) and issubclass(cls, real_side.faults.Fault):
            assert hasattr(dropin_side.faults, name), name
