"""Targets set on the chip come back through the real library within the stated bounds.

Bounds: 0.01 degC, 0.05 hPa, 0.01 %RH, 0.1 % of the gas resistance. Pressure is also held
to the library's resolution: within 0.5 Pa of the target, except where the target falls in
one of the gaps of the library's cubic correction (``compensation_inverse`` explains them);
there no ADC code does better, which the gap check below verifies independently.
"""

from __future__ import annotations

import math
from collections.abc import Iterator

import bme680
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fakes.bme680 import CALIBRATION_SETS, SimulatedBME680, Variant, patched_library_sleep
from fakes.bme680 import compensation as comp
from fakes.bme680.calibration import CalibrationSet

Rig = tuple[SimulatedBME680, bme680.BME680]
COMBOS = [(name, variant) for name in sorted(CALIBRATION_SETS) for variant in Variant]


@pytest.fixture(scope="module")
def rigs() -> Iterator[dict[tuple[str, Variant], Rig]]:
    made: dict[tuple[str, Variant], Rig] = {}
    with patched_library_sleep():
        for name, variant in COMBOS:
            chip = SimulatedBME680(calibration=name, variant=variant)
            sensor = bme680.BME680(i2c_device=chip)
            sensor.set_gas_heater_profile(320, 150)
            made[name, variant] = chip, sensor
        yield made


def read_back(rig: Rig, **env: float) -> bme680.constants.FieldData:
    chip, sensor = rig
    chip.set_environment(**env)
    assert sensor.get_sensor_data() is True
    return sensor.data


def pressure_neighbours(target_pa: float, fine: int, cal: CalibrationSet) -> tuple[int, int, int]:
    """The last ADC code reading >= target, its reading and the next code's (independent search)."""
    pascal = comp.pressure_map(fine, cal)
    lo, hi = 0, (1 << 20) - 2
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if pascal(mid) >= target_pa:
            lo = mid
        else:
            hi = mid - 1
    return lo, pascal(lo), pascal(lo + 1)


def check_pressure(
    sensor: bme680.BME680, cal: CalibrationSet, target_hpa: float
) -> tuple[str, int, int, int] | None:
    """Assert the pressure rules; for a target no code can hit, say which gap it fell in.

    Returns None when the reading is the target rounded to 1 Pa, else (kind, width, raw above,
    raw below): "cubic" for the p10 jumps at 256 Pa steps of the intermediate value, "step2"
    for the 2 Pa steps of the library's divide-first branch or a carry in its correction.
    """
    reported = round(sensor.data.pressure * 100)
    target = target_hpa * 100
    assert abs(reported - target) <= 5.0 + 1e-6  # 0.05 hPa
    if abs(reported - target) <= 0.5 + 1e-6:
        return None
    fine = sensor.calibration_data.t_fine
    code, above, below = pressure_neighbours(target, fine, cal)
    assert below < target < above  # adjacent codes jump over the target: no code reads it
    assert abs(reported - target) == min(above - target, target - below)  # the nearer edge
    raw = comp.pressure_raw_map(comp.pressure_terms(fine, cal))
    raw_a, raw_b = raw(code), raw(code + 1)
    if raw_a >> 8 != raw_b >> 8:
        return "cubic", above - below, raw_a, raw_b
    assert above - below == 2  # anywhere else the output steps by at most 2 Pa
    return "step2", 2, raw_a, raw_b


@pytest.mark.parametrize(("name", "variant"), COMBOS)
@settings(max_examples=120, deadline=None)
@given(data=st.data())
def test_random_targets_come_back_through_the_library(
    rigs: dict[tuple[str, Variant], Rig], name: str, variant: Variant, data: st.DataObject
) -> None:
    chip, sensor = rigs[name, variant]
    low, high = chip.gas_span
    t = data.draw(st.floats(-40.0, 85.0), label="temperature")
    p = data.draw(st.floats(300.0, 1100.0), label="pressure")
    h = data.draw(st.floats(0.0, 100.0), label="humidity")
    log_gas = data.draw(st.floats(math.log(low), math.log(high)), label="log gas")
    gas = min(max(math.exp(log_gas), low), high)
    d = read_back((chip, sensor), temperature=t, pressure=p, humidity=h, gas_resistance=gas)
    assert abs(d.temperature - t) <= 0.005 + 1e-9
    check_pressure(sensor, chip.calibration, p)
    assert abs(d.humidity - h) <= 0.01
    assert abs(d.gas_resistance / gas - 1) <= 0.001
    assert d.status == 0xB0 and d.heat_stable is True


@pytest.mark.parametrize(
    ("name", "temperature"),
    [("pimoroni-test", 25.0), ("bosch-forum", -40.0), ("bosch-forum", 85.0)],
)
def test_pressure_sweep_misses_only_in_the_gaps(
    rigs: dict[tuple[str, Variant], Rig], name: str, temperature: float
) -> None:
    chip, sensor = rigs[name, Variant.BME680]
    cal = chip.calibration
    kinds: dict[str, int] = {"cubic": 0, "step2": 0}
    for i in range(2000):
        p = 300.0 + i * 0.4001
        read_back((chip, sensor), temperature=temperature, pressure=p)
        gap = check_pressure(sensor, cal, p)
        if gap is None:
            continue
        kind, width, raw_a, raw_b = gap
        kinds[kind] += 1
        if kind == "cubic":  # the cubic term's jump 3 (raw/256)^2 p10 / 2^21 plus the raw step
            jump = 3 * (raw_a / 256) ** 2 * cal.p10 / 2**21 + (raw_a - raw_b)
            assert abs(width - jump) <= 1.5
            assert width <= 10
    assert kinds["cubic"] > 0, "the sweep should meet some of the p10 gaps"


def test_temperature_grid_is_exact(rigs: dict[tuple[str, Variant], Rig]) -> None:
    rig = rigs["wrclark-readme", Variant.BME680]
    for i in range(0, 12501, 7):
        t = round(-40 + i / 100, 2)
        assert read_back(rig, temperature=t).temperature == t


def test_humidity_limits_and_grid(rigs: dict[tuple[str, Variant], Rig]) -> None:
    rig = rigs["pimoroni-test", Variant.BME688]
    for t in (-40.0, 0.0, 65.0, 85.0):
        assert read_back(rig, temperature=t, humidity=0.0).humidity == 0.0
        assert read_back(rig, temperature=t, humidity=100.0).humidity == 100.0
    for i in range(0, 100001, 137):
        h = i / 1000
        assert abs(read_back(rig, temperature=21.0, humidity=h).humidity - h) <= 0.006


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"temperature": 85.01}, r"temperature 85.01 degC is outside -40..85 degC"),
        ({"temperature": -41}, r"outside -40..85 degC"),
        ({"pressure": 299.9}, r"pressure 299.9 hPa is outside 300..1100 hPa"),
        ({"pressure": 1100.5}, r"outside 300..1100 hPa"),
        ({"humidity": -0.1}, r"humidity -0.1 %RH is outside 0..100 %RH"),
        ({"humidity": float("nan")}, r"outside 0..100 %RH"),
        ({"gas_resistance": 100.0}, r"gas_resistance \(BME680\) 100.0 ohm is outside 177.2"),
        ({"gas_resistance": 2e7}, r"outside 177.241..1.29469e\+07 ohm"),
    ],
)
def test_out_of_range_requests_name_the_range(kwargs: dict[str, float], message: str) -> None:
    chip = SimulatedBME680()
    before = chip.environment
    with pytest.raises(ValueError, match=message):
        chip.set_environment(**kwargs)
    assert chip.environment == before


def test_gas_span_depends_on_the_variant() -> None:
    chip = SimulatedBME680(variant=Variant.BME688)
    assert chip.gas_span == (pytest.approx(1421.21, abs=0.01), 102_400_000.0)
    with pytest.raises(ValueError, match=r"gas_resistance \(BME688\) 1000.0 ohm is outside 1421"):
        chip.set_environment(gas_resistance=1000.0)
    chip.set_environment(gas_resistance=102_400_000.0)  # the saturated value is reachable
