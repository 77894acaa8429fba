"""The same arguments are accepted, rejected or mangled the same way.

Each row runs one call on the real library (over the register-level chip) and on the
drop-in, then compares the outcome (return value, or exception type, message and errno), the
settings the sensor shows afterwards, and the next reading - so quirks such as unmasked values
spilling into neighbouring bit fields must match too.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tests.bme680_dropin.sides import Side, assert_same_reading, outcome, settings

NAN, INF = float("nan"), float("inf")

Call = Callable[[Any], Any]
CASES: list[tuple[str, Call]] = [
    # heater profile selection: 0..9, checked before any I/O
    ("profile 10", lambda s: s.select_gas_heater_profile(10)),
    ("profile -1", lambda s: s.select_gas_heater_profile(-1)),
    ("profile str", lambda s: s.select_gas_heater_profile("1")),
    ("profile None", lambda s: s.select_gas_heater_profile(None)),
    ("profile 1.5", lambda s: s.select_gas_heater_profile(1.5)),
    ("profile nan", lambda s: s.select_gas_heater_profile(NAN)),
    ("profile 9", lambda s: s.select_gas_heater_profile(9)),
    # heater temperature: profile upper bound and value lower bound
    ("heater temp profile 10", lambda s: s.set_gas_heater_temperature(300, nb_profile=10)),
    ("heater temp -5", lambda s: s.set_gas_heater_temperature(-5)),
    ("heater temp str", lambda s: s.set_gas_heater_temperature("300")),
    ("heater temp None", lambda s: s.set_gas_heater_temperature(None)),
    ("heater temp profile str", lambda s: s.set_gas_heater_temperature(300, nb_profile="0")),
    ("heater temp profile 1.5", lambda s: s.set_gas_heater_temperature(300, nb_profile=1.5)),
    ("heater temp profile -1", lambda s: s.set_gas_heater_temperature(300, nb_profile=-1)),
    ("heater temp nan", lambda s: s.set_gas_heater_temperature(NAN)),
    ("heater temp inf", lambda s: s.set_gas_heater_temperature(INF)),
    ("heater temp 150 clamps", lambda s: s.set_gas_heater_temperature(150)),
    ("heater temp 1000 clamps", lambda s: s.set_gas_heater_temperature(1000)),
    # heater duration
    ("heater ms profile 10", lambda s: s.set_gas_heater_duration(150, nb_profile=10)),
    ("heater ms -1", lambda s: s.set_gas_heater_duration(-1)),
    ("heater ms str", lambda s: s.set_gas_heater_duration("150")),
    ("heater ms nan", lambda s: s.set_gas_heater_duration(NAN)),
    ("heater ms 5000", lambda s: s.set_gas_heater_duration(5000)),
    ("heater ms 150.7", lambda s: s.set_gas_heater_duration(150.7)),
    ("heater ms 10", lambda s: s.set_gas_heater_duration(10)),
    # a negative profile writes below the set-point table: 0x64 - 1 is res_heat_9 ...
    ("heater ms profile -1", lambda s: s.set_gas_heater_duration(150, nb_profile=-1)),
    # ... and 0x64 - 132 wraps to 0xE0: 864 ms encodes as 0xB6, the soft-reset command
    ("heater ms soft reset", lambda s: s.set_gas_heater_duration(864, nb_profile=-132)),
    ("heater profile profile 10", lambda s: s.set_gas_heater_profile(300, 150, nb_profile=10)),
    ("heater profile ms -5", lambda s: s.set_gas_heater_profile(300, -5)),
    ("heater profile ok", lambda s: s.set_gas_heater_profile(320, 150, nb_profile=2)),
    # power mode: SLEEP_MODE or FORCED_MODE
    ("power 2", lambda s: s.set_power_mode(2)),
    ("power str", lambda s: s.set_power_mode("1")),
    ("power None", lambda s: s.set_power_mode(None)),
    ("power -1", lambda s: s.set_power_mode(-1)),
    ("power 1.0", lambda s: s.set_power_mode(1.0)),
    ("power True", lambda s: s.set_power_mode(True)),
    ("power sleep non-blocking", lambda s: s.set_power_mode(0, blocking=False)),
    ("power forced", lambda s: s.set_power_mode(1)),
    # oversampling and filter: no checks, the value is shifted in unmasked
    ("os_h str", lambda s: s.set_humidity_oversample("2")),
    ("os_h 2.0", lambda s: s.set_humidity_oversample(2.0)),
    ("os_h None", lambda s: s.set_humidity_oversample(None)),
    ("os_h -1", lambda s: s.set_humidity_oversample(-1)),
    ("os_h 8", lambda s: s.set_humidity_oversample(8)),
    ("os_h 300", lambda s: s.set_humidity_oversample(300)),
    ("os_h none", lambda s: s.set_humidity_oversample(0)),
    ("os_p 8 spills", lambda s: s.set_pressure_oversample(8)),
    ("os_p -1", lambda s: s.set_pressure_oversample(-1)),
    ("os_p none", lambda s: s.set_pressure_oversample(0)),
    ("os_t 8", lambda s: s.set_temperature_oversample(8)),
    ("os_t -1", lambda s: s.set_temperature_oversample(-1)),
    ("os_t 16x", lambda s: s.set_temperature_oversample(5)),
    ("filter 8 spills", lambda s: s.set_filter(8)),
    ("filter -1", lambda s: s.set_filter(-1)),
    ("filter str", lambda s: s.set_filter("3")),
    # gas
    ("gas 3", lambda s: s.set_gas_status(3)),
    ("gas auto", lambda s: s.set_gas_status(-1)),
    ("gas -2", lambda s: s.set_gas_status(-2)),
    ("gas 4", lambda s: s.set_gas_status(4)),
    ("gas str", lambda s: s.set_gas_status("1")),
    ("gas off", lambda s: s.set_gas_status(0)),
    ("gas high", lambda s: s.set_gas_status(2)),
    ("heater DISABLE_HEATER", lambda s: s.set_gas_heater_status(8)),
    ("heater off bit", lambda s: s.set_gas_heater_status(1)),
    ("heater str", lambda s: s.set_gas_heater_status("1")),
    # temperature offset: arithmetic only
    ("offset str", lambda s: s.set_temp_offset("1")),
    ("offset None", lambda s: s.set_temp_offset(None)),
    ("offset nan", lambda s: s.set_temp_offset(NAN)),
    ("offset inf", lambda s: s.set_temp_offset(INF)),
    ("offset -inf", lambda s: s.set_temp_offset(-INF)),
    ("offset 1.99", lambda s: s.set_temp_offset(1.99)),
    ("offset -2.5", lambda s: s.set_temp_offset(-2.5)),
    ("offset True", lambda s: s.set_temp_offset(True)),
    # plain calls
    ("soft_reset", lambda s: s.soft_reset()),
    ("get_power_mode", lambda s: s.get_power_mode()),
    ("get_sensor_data", lambda s: s.get_sensor_data()),
]


@pytest.mark.parametrize("call", [c for _, c in CASES], ids=[name for name, _ in CASES])
def test_a_call_does_the_same(sides: tuple[Side, Side], call: Call) -> None:
    real_side, dropin_side = sides
    real, mine = real_side.make(), dropin_side.make()
    theirs, ours = outcome(lambda: call(real)), outcome(lambda: call(mine))
    assert ours == theirs, f"library {theirs}, drop-in {ours}"
    shown = settings(real)
    assert settings(mine) == shown
    assert outcome(mine.get_sensor_data) == outcome(real.get_sensor_data)
    skipped_temperature = shown["temperature_oversample"] == 0
    assert_same_reading(real, mine, shifted=skipped_temperature or None)
    assert real_side.sleeps == dropin_side.sleeps


ADDRESSES: list[tuple[str, Any]] = [
    ("secondary", 0x77),
    ("above 7 bits", 0x80),
    ("negative", -1),
    ("str", "0x76"),
    ("float", 118.0),
    ("None", None),
    ("beyond a C int", 2**40),
    ("below a C int", -(2**40)),
    ("True", True),
    ("primary", 0x76),
]


@pytest.mark.parametrize("address", [a for _, a in ADDRESSES], ids=[n for n, _ in ADDRESSES])
def test_construction_at_an_address_does_the_same(sides: tuple[Side, Side], address: Any) -> None:
    real_side, dropin_side = sides
    theirs = outcome(lambda: real_side.make(address))
    ours = outcome(lambda: dropin_side.make(address))
    assert ours == theirs, f"library {theirs}, drop-in {ours}"


def test_changing_i2c_addr_afterwards_makes_calls_fail_alike(sides: tuple[Side, Side]) -> None:
    real_side, dropin_side = sides
    real, mine = real_side.make(), dropin_side.make()
    real.i2c_addr = mine.i2c_addr = 0x77
    for name in ("get_sensor_data", "get_filter", "soft_reset"):
        theirs, ours = outcome(getattr(real, name)), outcome(getattr(mine, name))
        assert ours == theirs and ours.errno == 121, name
