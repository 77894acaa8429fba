"""The scenario runner: a failing expectation is reported with when it first failed and
what was seen; runs are deterministic. (Each file under scenarios/ is itself a test item,
collected by the harness's pytest plugin and run on the --rig.)"""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.scenarios import load_scenario, run_scenario

ROOT = Path(__file__).resolve().parents[2]
SCENARIO_FILES = sorted((ROOT / "scenarios").glob("*.yaml"))


def test_the_shipped_scenarios_are_there() -> None:
    stems = {path.stem for path in SCENARIO_FILES}
    assert {"steady_weather", "rain_front", "sensor_dropout", "i2c_fault_burst", "brown_out",
            "malformed_readings", "burst_above_queue", "shadow_deleted", "core_restart",
            "broker_disconnect", "lambda_timeout", "cloud_desired_state",
            "trace_replay", "injected_readings"} <= stems
    for path in SCENARIO_FILES:
        assert load_scenario(path).expectations  # every file loads


FAILING = """\
name: deliberately failing
duration: 40
environment:
  profile: {steady: {temperature: 15.0, pressure: 1010.0, humidity: 50.0}}
device: {period: 5}
expectations:
  - within: 20
    shadow: {path: state.reported.temperature, approx: 99.0, tolerance: 0.5}
  - never: {shadow_path: state.reported.sequence, equals: 2}
  - always:
      shadow: {path: state.reported.sequence, equals: 1}
  - stats: {function: republish, field: completed, max: 2}
  - within: 20
    shadow: {path: state.reported.temperature, approx: 15.0, tolerance: 0.05}
"""


def test_failing_expectations_report_when_they_first_failed(tmp_path: Path) -> None:
    path = tmp_path / "failing.yaml"
    path.write_text(FAILING)
    result = run_scenario(path)
    assert not result.passed
    within, never, always, stats, met = result.outcomes
    # within: not met by its deadline; failed at the deadline with the last value seen
    assert (within.met, within.failed_at) == (False, 20.0)
    assert within.value == pytest.approx(15.0, abs=0.05)
    # never/always: the first step where sequence 2 was reported (read at 5 s, then 7 s of
    # CPU sampling in republish)
    assert (never.met, never.failed_at, never.value) == (False, 12.0, 2)
    assert (always.met, always.failed_at, always.value) == (False, 12.0, 2)
    # an end-of-run check fails at the end, with the value it saw
    assert (stats.met, stats.failed_at) == (False, 40.0)
    assert stats.value > 2
    assert met.met and met.failed_at is None
    assert result.failures == (within, never, always, stats)
    report = result.report()
    assert "4 expectation(s) failed" in report
    assert "[0] FAILED at 20 s" in report
    assert "[1] FAILED at 12 s (saw 2)" in report


def test_a_run_is_deterministic() -> None:
    path = ROOT / "scenarios" / "i2c_fault_burst.yaml"
    assert run_scenario(path) == run_scenario(path)
