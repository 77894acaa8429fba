"""What a user sees from the drop-in: the environment's values, and the same behaviour as the
real library on the register-level chip, scenario by scenario."""

from __future__ import annotations

from collections.abc import Callable
from types import ModuleType
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fakes.bme680 import LibrarySleep, SimulatedBME680
from fakes.bme680_dropin import installed
from tests.bme680_dropin.sides import (
    EXACT_ALL,
    EXACT_TPH,
    Side,
    assert_same_reading,
    dropin_side,
    flags,
    outcome,
    real_side,
)
from tests.bme680_dropin.sides import settings as shown_settings

with installed() as _module:
    DROPIN: ModuleType = _module

PER_EXAMPLE = settings(
    max_examples=150,
    deadline=None,
    # the fixtures used are the sleep recorder and nothing else; sides are built per example
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
GAS_SPAN = {0: (177.25, 12_946_860.0), 1: (1421.22, 102_400_000.0)}


def air(variant: int) -> st.SearchStrategy[dict[str, float]]:
    return st.fixed_dictionaries(
        {
            "temperature": st.floats(-40, 85),
            "pressure": st.floats(300, 1100),
            "humidity": st.floats(0, 100),
            "gas_resistance": st.floats(*GAS_SPAN[variant]),
        }
    )


def on_grid(variant: int) -> st.SearchStrategy[dict[str, float]]:
    """Values the library can print: 0.01 degC, 0.01 hPa, 0.001 %RH (gas: any)."""
    return st.fixed_dictionaries(
        {
            "temperature": st.integers(-4000, 8500).map(lambda c: c / 100),
            "pressure": st.integers(30000, 110000).map(lambda p: p / 100),
            "humidity": st.integers(0, 100000).map(lambda m: m / 1000),
            "gas_resistance": st.floats(*GAS_SPAN[variant]),
        }
    )


# ------------------------------------------------------------------ values
@PER_EXAMPLE
@given(variant=st.sampled_from([0, 1]), data=st.data(), through_sensor=st.booleans())
def test_set_environment_values_come_back_exactly(
    variant: int, data: st.DataObject, through_sensor: bool
) -> None:
    side = dropin_side(DROPIN, variant)
    sensor = side.make()
    values = data.draw(on_grid(variant))
    (sensor if through_sensor else DROPIN.environment).set_environment(**values)
    assert sensor.get_sensor_data() is True
    got = {name: getattr(sensor.data, name) for name in values}
    assert got == values
    assert all(type(v) is float for v in got.values())


def test_off_grid_values_are_rounded_to_the_librarys_resolution(dropin: ModuleType) -> None:
    sensor = dropin_side(dropin).make()
    sensor.set_environment(temperature=21.567, pressure=1002.346, humidity=48.12345)
    sensor.set_environment(gas_resistance=12_345)  # an int comes back as a float
    sensor.get_sensor_data()
    data = sensor.data
    assert (data.temperature, data.pressure, data.humidity) == (21.57, 1002.35, 48.123)
    assert data.gas_resistance == 12345.0 and type(data.gas_resistance) is float


@PER_EXAMPLE
@given(variant=st.sampled_from([0, 1]), data=st.data())
def test_readings_match_the_register_level_chip(
    library_sleep: LibrarySleep, variant: int, data: st.DataObject
) -> None:
    real_side_, dropin_side_ = real_side([], variant), dropin_side(DROPIN, variant)
    real, mine = real_side_.make(), dropin_side_.make()
    values = data.draw(air(variant))
    real_side_.set_environment(**values)
    dropin_side_.set_environment(**values)
    real.set_gas_heater_profile(320, 150)
    mine.set_gas_heater_profile(320, 150)
    assert (mine.get_sensor_data(), real.get_sensor_data()) == (True, True)
    assert_same_reading(real, mine)


BAD_ENVIRONMENTS: list[tuple[str, dict[str, Any]]] = [
    ("too cold", {"temperature": -40.01}),
    ("too hot", {"temperature": 85.5}),
    ("nan", {"temperature": float("nan")}),
    ("str", {"temperature": "20"}),
    ("bool", {"humidity": True}),
    ("pressure low", {"pressure": 299.9}),
    ("pressure high", {"pressure": 1100.01}),
    ("humidity negative", {"humidity": -0.1}),
    ("humidity above 100", {"humidity": 100.5}),
    ("gas too low", {"gas_resistance": 100.0}),
    ("gas too high", {"gas_resistance": 2e8}),
    ("gas between the variants' spans", {"gas_resistance": 5e7}),
    ("edges", {"temperature": -40, "pressure": 1100, "humidity": 0}),
]


@pytest.mark.parametrize(
    "values", [v for _, v in BAD_ENVIRONMENTS], ids=[n for n, _ in BAD_ENVIRONMENTS]
)
def test_environment_limits_are_the_register_level_chips(
    sides: tuple[Side, Side], values: dict[str, Any]
) -> None:
    real_side_, dropin_side_ = sides
    theirs = outcome(lambda: real_side_.set_environment(**values))
    ours = outcome(lambda: dropin_side_.set_environment(**values))
    assert (ours.error, ours.message) == (theirs.error, theirs.message)
    assert values_of(ours.value) == values_of(theirs.value)


def values_of(environment: Any) -> tuple[float, ...] | None:
    if environment is None:
        return None
    names = ("temperature", "pressure", "humidity", "gas_resistance")
    return tuple(getattr(environment, name) for name in names)


# ------------------------------------------------------------------ behaviour, side by side
def test_first_reading_at_construction(sides: tuple[Side, Side]) -> None:
    real_side_, dropin_side_ = sides
    real, mine = real_side_.make(), dropin_side_.make()
    assert flags(mine) == flags(real) == {
        "status": 0xA0, "heat_stable": False, "gas_index": 0, "meas_index": 1,
    }  # fmt: skip
    assert_same_reading(real, mine)
    assert mine.ambient_temperature == real.ambient_temperature == 2500
    assert real_side_.sleeps == dropin_side_.sleeps == [0.01]  # the soft reset's wait


Scenario = Callable[[Any, Any], Any]  # (sensor, module) -> anything
HEATER_SCENARIOS: list[tuple[str, Scenario, bool | None]] = [
    ("nothing configured", lambda s, m: None, False),
    ("profile 0 heated", lambda s, m: s.set_gas_heater_profile(320, 150), True),
    ("19 ms is too short", lambda s, m: s.set_gas_heater_profile(320, 19), False),
    ("20 ms is enough", lambda s, m: s.set_gas_heater_profile(320, 20), True),
    ("only a duration", lambda s, m: s.set_gas_heater_duration(150), True),
    ("only a temperature", lambda s, m: s.set_gas_heater_temperature(320), False),
    ("heater off", lambda s, m: (s.set_gas_heater_profile(320, 150), s.set_gas_heater_status(1)),
     False),
    ("DISABLE_HEATER sets bit 6, heater stays on",
     lambda s, m: (s.set_gas_heater_profile(320, 150), s.set_gas_heater_status(m.DISABLE_HEATER)),
     True),
    ("gas disabled", lambda s, m: (s.set_gas_heater_profile(320, 150), s.set_gas_status(0)), False),
    ("profile 3 not configured",
     lambda s, m: (s.set_gas_heater_profile(320, 150), s.select_gas_heater_profile(3)), False),
    ("profile 3 configured",
     lambda s, m: (s.set_gas_heater_profile(300, 100, nb_profile=3),
                   s.select_gas_heater_profile(3)), True),
    ("ENABLE_GAS_MEAS picks the variant's bit",
     lambda s, m: (s.set_gas_heater_profile(320, 150), s.set_gas_status(m.ENABLE_GAS_MEAS)), True),
    ("ENABLE_GAS_MEAS_HIGH", lambda s, m: (s.set_gas_heater_profile(320, 150),
                                           s.set_gas_status(m.ENABLE_GAS_MEAS_HIGH)), None),
    ("ENABLE_GAS_MEAS_LOW", lambda s, m: (s.set_gas_heater_profile(320, 150),
                                          s.set_gas_status(m.ENABLE_GAS_MEAS_LOW)), None),
    # 4000 ms encodes as 0xFF; profile -1 puts it into res_heat_9: a target far above 400 degC
    ("profile 9 target too hot",
     lambda s, m: (s.set_gas_heater_duration(4000, nb_profile=-1),
                   s.set_gas_heater_duration(150, nb_profile=9), s.select_gas_heater_profile(9)),
     False),
    ("profile 9 sane",
     lambda s, m: (s.set_gas_heater_profile(250, 150, nb_profile=9),
                   s.select_gas_heater_profile(9)), True),
]  # fmt: skip


@pytest.mark.parametrize(
    ("scenario", "stable"),
    [(s, e) for _, s, e in HEATER_SCENARIOS],
    ids=[n for n, _, _ in HEATER_SCENARIOS],
)
def test_heat_stable_follows_the_heater_settings(
    sides: tuple[Side, Side], scenario: Scenario, stable: bool | None
) -> None:
    real_side_, dropin_side_ = sides
    real, mine = real_side_.make(), dropin_side_.make()
    scenario(real, real_side_.module)
    scenario(mine, dropin_side_.module)
    for side in sides:  # a new gas value: a measurement without gas keeps the old one
        side.set_environment(gas_resistance=80_000.0)
    assert (mine.get_sensor_data(), real.get_sensor_data()) == (True, True)
    assert_same_reading(real, mine)
    assert shown_settings(mine) == shown_settings(real)
    if stable is not None:
        assert mine.data.heat_stable is stable


SKIPS: list[tuple[str, tuple[int, int, int]]] = [
    ("humidity", (0, 4, 3)),
    ("pressure", (2, 4, 0)),
    ("temperature", (2, 0, 3)),
    ("temperature and pressure", (2, 0, 0)),
    ("all", (0, 0, 0)),
]


@pytest.mark.parametrize("oversampling", [o for _, o in SKIPS], ids=[n for n, _ in SKIPS])
@pytest.mark.parametrize("offset", [0, 2.5], ids=["no offset", "offset 2.5"])
def test_skipped_measurements_read_as_in_the_library(
    sides: tuple[Side, Side], oversampling: tuple[int, int, int], offset: float
) -> None:
    real_side_, dropin_side_ = sides
    real, mine = real_side_.make(), dropin_side_.make()
    for side in sides:
        side.set_environment(temperature=18.3, pressure=990.0, humidity=61.0)
    for sensor in (real, mine):
        h, t, p = oversampling
        sensor.set_humidity_oversample(h)
        sensor.set_temperature_oversample(t)
        sensor.set_pressure_oversample(p)
        sensor.set_temp_offset(offset)
        assert sensor.get_sensor_data() is True
    all_skipped = oversampling == (0, 0, 0)
    exact = EXACT_TPH if all_skipped else ()
    assert_same_reading(real, mine, exact=exact, shifted=oversampling[1] == 0 or None)


def test_the_skipped_signature_is_exact(sides: tuple[Side, Side]) -> None:
    real_side_, dropin_side_ = sides
    real, mine = real_side_.make(), dropin_side_.make()
    for sensor in (real, mine):
        sensor.soft_reset()  # every setting 0, as after a brown-out
        assert sensor.get_sensor_data() is True
    assert_same_reading(real, mine, exact=EXACT_ALL)
    data = mine.data
    assert (data.temperature, data.pressure, data.humidity) == (33.97, 703.55, 100.0)
    assert (data.status, data.heat_stable) == (0x80, False)
    assert shown_settings(mine) == shown_settings(real)


@pytest.mark.parametrize("offset", [-9.5, -1.25, 0.01, 1, 1.99, 4, 10])
def test_a_temperature_offset_moves_the_readings_as_in_the_library(
    sides: tuple[Side, Side], offset: float
) -> None:
    real_side_, dropin_side_ = sides
    real, mine = real_side_.make(), dropin_side_.make()
    for side in sides:
        side.set_environment(temperature=23.0, pressure=1005.0, humidity=55.0)
    for sensor in (real, mine):
        sensor.set_temp_offset(offset)
        assert sensor.get_sensor_data() is True
    assert mine.offset_temp_in_t_fine == real.offset_temp_in_t_fine
    assert_same_reading(real, mine, shifted=True)
    if abs(offset) >= 1:  # the offset reaches pressure and humidity, as on the chip
        assert abs(mine.data.pressure - 1005.0) > 1.0
        assert mine.data.humidity != 55.0


def test_meas_index_counts_and_wraps_like_the_chips(sides: tuple[Side, Side]) -> None:
    real_side_, dropin_side_ = sides
    real, mine = real_side_.make(), dropin_side_.make()
    seen = []
    for _ in range(257):
        real.get_sensor_data()
        mine.get_sensor_data()
        seen.append((mine.data.meas_index, real.data.meas_index))
    assert all(a == b for a, b in seen)
    assert [m for m, _ in seen[252:]] == [254, 255, 0, 1, 2]


def test_two_sensor_objects_share_one_chip(sides: tuple[Side, Side]) -> None:
    for side in sides:
        first, second = side.make(), side.make()  # the second re-initialises the chip
        first.set_humidity_oversample(5)
        first.select_gas_heater_profile(4)
        assert (second.get_humidity_oversample(), second.get_gas_heater_profile()) == (5, 4)
        second.get_sensor_data()
        first.get_sensor_data()
        assert (first.data.meas_index, second.data.meas_index) == (3, 2)


def test_forced_mode_by_hand_measures_like_the_chip(sides: tuple[Side, Side]) -> None:
    real_side_, dropin_side_ = sides
    real, mine = real_side_.make(), dropin_side_.make()
    for sensor in (real, mine):
        sensor.set_power_mode(1)
        sensor.set_power_mode(0)
        sensor.get_sensor_data()
    assert flags(mine) == flags(real)
    assert mine.power_mode == real.power_mode == 0x8C


def test_sleeps_are_the_librarys(sides: tuple[Side, Side]) -> None:
    real_side_, dropin_side_ = sides
    real, mine = real_side_.make(), dropin_side_.make()
    for sensor in (real, mine):
        sensor.get_sensor_data()
        sensor.soft_reset()
        sensor.set_power_mode(1)
    assert dropin_side_.sleeps == real_side_.sleeps == [0.01, 0.01]


def test_the_drop_in_needs_no_bus(dropin: ModuleType) -> None:
    chip = SimulatedBME680()
    dropin_side(dropin)
    sensor = dropin.BME680(i2c_device=chip)  # kept, never used
    assert sensor._i2c is chip and chip.transactions == 0
    assert dropin.BME680().get_sensor_data() is True  # no /dev/i2c-1 opened
