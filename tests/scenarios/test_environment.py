"""The environment a scenario gives the sensor: the air, seen from next to the CPU."""

from __future__ import annotations

from pathlib import Path

import pytest

from device.recorder import TraceRecord, write_trace
from harness.devices import EnvironmentSource
from harness.scenarios.environment import environment_source, sensor_temperature
from harness.scenarios.schema import Environment

CPU = 45.0


def _source(tmp_path: Path, **fields: object) -> EnvironmentSource:
    return environment_source(Environment.model_validate(fields), cpu_temperature=CPU,
                              folder=tmp_path)


def test_the_sensor_reads_halfway_between_air_and_cpu() -> None:
    assert sensor_temperature(15.0, 45.0) == 30.0
    # republish's compensation (2 * t - cpu) gives the air back
    assert 2 * sensor_temperature(7.5, CPU) - CPU == pytest.approx(7.5)


def test_points_are_interpolated_linearly_and_held_at_the_ends(tmp_path: Path) -> None:
    env = _source(tmp_path, points=[
        {"at": 10, "temperature": 10.0, "pressure": 1000.0, "humidity": 40.0},
        {"at": 20, "temperature": 20.0, "pressure": 1010.0, "humidity": 60.0,
         "gas_resistance": 5e4}])
    assert env(0) == {"temperature": sensor_temperature(10.0, CPU), "pressure": 1000.0,
                      "humidity": 40.0}
    middle = env(15)
    assert middle == {"temperature": sensor_temperature(15.0, CPU), "pressure": 1005.0,
                      "humidity": 50.0}  # gas only where both points give it
    assert env(99)["gas_resistance"] == 5e4
    assert env(99)["temperature"] == sensor_temperature(20.0, CPU)


def test_a_rain_front_ramps_between_its_ends(tmp_path: Path) -> None:
    env = _source(tmp_path, profile={"rain_front": {
        "start": 100, "hours": 1, "humidity_from": 40, "humidity_to": 100,
        "pressure_from": 1020, "pressure_to": 1000, "temperature_from": 20}})
    assert env(0)["humidity"] == 40 and env(100)["pressure"] == 1020
    halfway = env(100 + 1800)
    assert halfway["humidity"] == pytest.approx(70) and halfway["pressure"] == pytest.approx(1010)
    assert halfway["temperature"] == sensor_temperature(20, CPU)  # temperature_to defaults
    assert env(10_000)["humidity"] == 100


def test_a_trace_is_replayed_as_the_sensor_measured_it(tmp_path: Path) -> None:
    records = [TraceRecord(1000.0 + 5 * i, i, 30.0 + i, 1000.0, 50.0, None, "Success")
               for i in range(3)]
    write_trace(tmp_path / "day.jsonl", records)
    env = _source(tmp_path, trace="day.jsonl")
    assert env(0)["temperature"] == 30.0  # no CPU convention: the trace is sensor-side
    assert env(7)["temperature"] == 31.0
    assert env(60)["temperature"] == 32.0
