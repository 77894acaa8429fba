"""Scenario files are validated; every problem names the file and the line."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from fakes.bme680 import BrownOut, BusError, SelfHeating
from harness.scenarios import ScenarioError, load_scenario
from harness.scenarios.runner import make_fault
from harness.scenarios.schema import VERSION_GROWS, Check

GOOD = """\
name: good
duration: 60
environment:
  profile: {steady: {temperature: 15.0, pressure: 1010.0, humidity: 50.0}}
device: {thing: bme680-sensor, period: 5}
faults:
  - {at: 10, sensor: brown_out, transactions: 1}
  - {at: 20, sensor: {bus_error: {errno: 5}}, duration: 3}
  - {at: 30, sensor: {self_heating: {offset_c: 2.5}}}
stimuli:
  - {at: 5, publish: {source: cloud, topic: x/y, payload: {a: 1}}}
expectations:
  - within: 30
    shadow: {path: state.reported.temperature, approx: 15, tolerance: 0.1}
  - always: version grows
  - always:
      messages: {topic: x/y, count: {max: 1}}
  - never: {shadow_path: state.reported.temperature, is_null: true}
  - log: {function: republish, contains: Reported, count: {min: 1}}
"""


def _load(tmp_path: Path, text: str) -> object:
    path = tmp_path / "scenario.yaml"
    path.write_text(text)
    return load_scenario(path)


def _problems(tmp_path: Path, text: str) -> str:
    with pytest.raises(ScenarioError) as caught:
        _load(tmp_path, text)
    return str(caught.value)


def test_a_good_file_loads(tmp_path: Path) -> None:
    scenario = _load(tmp_path, GOOD)
    assert scenario.device is not None and scenario.device.period == 5.0
    faults = [make_fault(fault.sensor) for fault in scenario.faults]
    assert faults == [BrownOut(), BusError(errno=5), SelfHeating(offset_c=2.5)]
    assert scenario.faults[1].duration == 3.0
    assert scenario.expectations[1].always == VERSION_GROWS
    assert isinstance(scenario.expectations[2].always, Check)
    assert scenario.expectations[0].check is not None


def test_an_unknown_key_names_its_line(tmp_path: Path) -> None:
    text = GOOD.replace("device: {thing: bme680-sensor, period: 5}",
                        "device: {thing: bme680-sensor, period: 5, colour: red}")
    message = _problems(tmp_path, text)
    assert f"{tmp_path / 'scenario.yaml'}:5: device.colour: unknown field" in message
    assert "allowed here: thing, period" in message


def test_a_wrong_type_names_its_line(tmp_path: Path) -> None:
    message = _problems(tmp_path, GOOD.replace("duration: 60", "duration: a minute"))
    assert "scenario.yaml:2: duration: must be a valid number" in message


def test_an_unknown_fault_names_its_line(tmp_path: Path) -> None:
    message = _problems(tmp_path, GOOD.replace("sensor: brown_out", "sensor: brownout"))
    assert "scenario.yaml:7: faults.0.sensor.brownout: unknown field" in message
    assert "brown_out" in message  # the allowed names are listed
    message = _problems(tmp_path, GOOD.replace("{bus_error: {errno: 5}}", "{bus_eror: {}}"))
    assert "scenario.yaml:8: faults.1.sensor.bus_eror: unknown field" in message


def test_a_fault_parameter_is_checked(tmp_path: Path) -> None:
    message = _problems(tmp_path, GOOD.replace("{errno: 5}", "{errno: 5, when: now}"))
    assert "scenario.yaml:8: faults.1.sensor.bus_error.when: unknown field" in message


def test_an_expectation_without_a_check_names_its_line(tmp_path: Path) -> None:
    text = GOOD.replace("  - always: version grows\n", "  - within: 12\n")
    message = _problems(tmp_path, text)
    assert "scenario.yaml:15: expectations.1: an expectation needs exactly one check" in message


def test_a_shadow_check_needs_a_test(tmp_path: Path) -> None:
    text = GOOD.replace("approx: 15, tolerance: 0.1", "tolerance: 0.1")
    message = _problems(tmp_path, text)
    assert "scenario.yaml:14: expectations.0.shadow: a shadow check needs a test: one or " \
        "more of equals, approx" in message


def test_the_environment_needs_exactly_one_source(tmp_path: Path) -> None:
    text = GOOD.replace("  profile:", "  trace: day.jsonl\n  profile:")
    message = _problems(tmp_path, text)
    assert "scenario.yaml:3: environment: the environment needs exactly one of points, " \
           "profile, trace (found profile, trace)" in message


def test_every_problem_is_listed_in_line_order(tmp_path: Path) -> None:
    text = GOOD.replace("period: 5}", "period: 0}").replace("duration: 60", "duration: -1")
    text = text.replace("name: good\n", "name: good\nname: again\n")
    with pytest.raises(ScenarioError) as caught:
        _load(tmp_path, text)
    assert [(p.line, p.path) for p in caught.value.problems] == [
        (2, "name"), (3, "duration"), (6, "device.period")]
    assert "duplicate key (first on line 1)" in str(caught.value)


def test_invalid_yaml_names_its_line(tmp_path: Path) -> None:
    message = _problems(tmp_path, GOOD.replace("seed", "").replace("duration: 60",
                                                                   "duration: [60"))
    assert "scenario.yaml:" in message and "invalid YAML" in message


def test_always_reports_only_the_alternative_the_file_meant(tmp_path: Path) -> None:
    message = _problems(tmp_path, GOOD.replace("always: version grows", "always: version shrinks"))
    assert "scenario.yaml:15: expectations.1.always: must be 'version grows' " \
           "(got 'version shrinks')" in message
    assert "mapping" not in message
    message = _problems(tmp_path, GOOD.replace("messages: {topic: x/y", "mesages: {topic: x/y"))
    assert "scenario.yaml:17: expectations.2.always.mesages: unknown field (did you mean " \
           "'messages'?) (allowed here: shadow, messages, log, stats, in_sync)" in message
    assert "version grows" not in message


# ------------------------------------------------------------------ the documented limits

SHORT = """\
name: limits
duration: 60
environment:
  profile: {steady: {temperature: 15.0, pressure: 1010.0, humidity: 50.0}}
device: {thing: bme680-sensor, period: 5}
stimuli:
  - {at: 5, publish: {source: bme680-sensor, topic: bme680/readings, payload: {a: 1}}}
expectations:
  - always: version grows
"""


@pytest.mark.parametrize(("change", "where", "message"), [
    (("duration: 60", "duration: 604801"), "2: duration", "less than or equal to 604800"),
    (("duration: 60", "duration: .inf"), "2: duration", "must be a finite number"),
    (("period: 5", "period: .nan"), "5: device.period", "must be a finite number"),
    (("period: 5", "period: 0.01"), "5: device.period", "greater than or equal to 0.1"),
    (("duration: 60", "duration: 604800\nstep: 1"), "3: step",
     "604800 s in steps of 1 s is 604,800 stops; at most 100,000"),
    ((("duration: 60", "duration: 604800\nstep: 60"), ("period: 5", "period: 1")),
     "6: device.period", "604,800 readings; at most 200,000"),
    (("{a: 1}}", "{a: 1}, repeat: 100001}"), "7: stimuli.0.publish.repeat",
     "less than or equal to 100000"),
    (("{at: 5,", "{at: 61,"), "7: stimuli.0.at",
     "61 s is after the end of the run (duration 60 s): it would never happen"),
    (("{a: 1}", "{a: .inf}"), "7: stimuli.0.publish.payload.a", "is not a JSON number"),
    (("{a: 1}", "{a: 2024-05-01}"), "7: stimuli.0.publish.payload.a", "as a date"),
    (("{a: 1}", "'" + "x" * 140_000 + "'"), "7: stimuli.0.publish.payload",
     "is 140,000 bytes encoded; an MQTT message carries at most 131,072"),
    (("topic: bme680/readings", "topic: bme680/#"), "7: stimuli.0.publish.topic",
     "'+' and '#' are wildcards"),
    (("temperature: 15.0", "temperature: 200.0"), "4: environment.profile.steady.temperature",
     "puts the sensor, next to the CPU at 45 degrees C, at 122.5 degrees C (halfway): "
     "outside the BME680's -40..85 degrees C"),
    (("pressure: 1010.0", "pressure: 1.0e+300"), "4: environment.profile.steady.pressure",
     "outside the BME680's 300..1100 hPa"),
    (("{steady: {temperature: 15.0, pressure: 1010.0, humidity: 50.0}}",
      "{rain_front: {start: 10, hours: 1.0e-300, humidity_from: 40, humidity_to: 90, "
      "pressure_from: 1020, pressure_to: 1000}}"), "4: environment.profile.rain_front.hours",
     "greater than or equal to 0.000277"),
    (("name: limits", "name: limits"), None, None),  # unchanged: loads
])
def test_limits_are_refused_at_load_with_field_and_line(
        tmp_path: Path, change: Any, where: str | None, message: str | None) -> None:
    text = SHORT
    for old, new in change if isinstance(change[0], tuple) else (change,):
        assert old in text
        text = text.replace(old, new)
    if where is None:
        _load(tmp_path, text)
        return
    problems = _problems(tmp_path, text)
    assert f"scenario.yaml:{where}: " in problems, problems
    assert message in problems, problems


def test_the_longest_shipped_kind_of_run_fits(tmp_path: Path) -> None:
    """A week at the limits loads: one reading every 5 s and a check a minute."""
    text = SHORT.replace("duration: 60", "duration: 604800\nstep: 60")
    scenario = _load(tmp_path, text)
    assert scenario.duration == 604800.0  # type: ignore[attr-defined]


def test_a_name_the_groups_lacks_is_a_file_line_error_before_the_run(tmp_path: Path) -> None:
    from harness.scenarios.runner import run_scenario

    text = SHORT + "  - stats: {function: republsh, field: errors, equals: 0}\n"
    path = tmp_path / "scenario.yaml"
    path.write_text(text)
    with pytest.raises(ScenarioError) as caught:
        run_scenario(path)
    assert str(caught.value).startswith(
        f"{path}:10: expectations.1.stats.function: no function 'republsh' in group "
        "'weather-station' (did you mean 'republish'?) (functions: republish, hello_world, "
        "inference)")


def test_a_trace_is_checked_when_the_scenario_is_loaded(tmp_path: Path) -> None:
    text = SHORT.replace("  profile: {steady: {temperature: 15.0, pressure: 1010.0, "
                         "humidity: 50.0}}", "  trace: traces/day.jsonl")
    message = _problems(tmp_path, text)
    assert f"scenario.yaml:4: environment.trace: no trace file at " \
           f"{tmp_path / 'traces' / 'day.jsonl'}" in message
    (tmp_path / "traces").mkdir()
    (tmp_path / "traces" / "day.jsonl").write_bytes(b"\xff\xfe not a trace\n")
    message = _problems(tmp_path, text)
    assert "scenario.yaml:4: environment.trace: the trace cannot be " in message
