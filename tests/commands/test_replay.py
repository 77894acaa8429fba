"""``python -m harness replay TRACE``: the shipped trace passes on sim; a bad trace is named
with its file, line and problem; the scenario and report land where they are asked to."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from harness.commands.record import GENERATED
from harness.report.compare import load_run
from harness.scenarios.loading import load_scenario

from .helpers import EVENING_FRONT, harness

GOOD = {"time": 1_780_000_000.0, "sequence": 1, "temperature": 29.5, "pressure": 1011.0,
        "humidity": 62.0, "gas_resistance": None, "status": "Success"}


def _trace(path: Path, *records: dict[str, object] | str) -> Path:
    path.write_text("".join((r if isinstance(r, str) else json.dumps(r)) + "\n"
                            for r in records))
    return path


def test_the_shipped_trace_replays_and_passes(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    scenario_path = tmp_path / "evening.yaml"
    assert harness("replay", EVENING_FRONT, "--scenario", scenario_path) == 0
    out = capsys.readouterr().out
    assert "'replay of evening_front.jsonl' on sim: passed (4/4 expectations met)" in out
    assert "met: the last reading (air 11 C after compensation) is reported" in out
    assert f"scenario: {scenario_path}" in out
    scenario = load_scenario(scenario_path)
    assert scenario.duration == 900 + 5 + 10 and scenario.step == 5
    assert scenario.environment.trace == str(EVENING_FRONT)  # type: ignore[union-attr]
    assert scenario_path.read_text().startswith(f"{GENERATED} replay from evening_front.jsonl")


def _minutes(path: Path, minutes: int = 2) -> Path:
    """A short trace: a reading every 5 s, the air warming 0.05 C a reading."""
    return _trace(path, *({**GOOD, "time": GOOD["time"] + 5 * n, "sequence": n + 1,
                           "temperature": 29.5 + 0.05 * n} for n in range(12 * minutes + 1)))


def test_a_report_folder_holds_the_scenario_and_the_results(tmp_path: Path) -> None:
    report = tmp_path / "report"
    assert harness("replay", _minutes(tmp_path / "warming.jsonl"), "--report", report) == 0
    assert load_scenario(report / "warming.yaml").name == "replay of warming.jsonl"
    result = load_run(report)  # the one run's results.json under the report folder
    assert result.passed and result.rig == "sim"
    assert result.samples[-1].reported["temperature"] == pytest.approx(2 * 30.7 - 45, abs=0.05)
    assert list(report.glob("*/report.html"))


def test_a_failing_expectation_fails_the_replay(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    # The generated expectations hold for any healthy run; add one that cannot hold to see
    # how a failure is reported.
    from harness.scenarios import from_trace

    generated = from_trace.scenario_text

    def with_a_wrong_one(*args: Any, **kwargs: Any) -> str:
        return generated(*args, **kwargs) + (
            "  - description: an impossible pressure\n"
            "    shadow: {path: state.reported.pressure, approx: 500, tolerance: 1}\n")

    monkeypatch.setattr(from_trace, "scenario_text", with_a_wrong_one)
    assert harness("replay", _minutes(tmp_path / "warming.jsonl")) == 1
    out = capsys.readouterr().out
    assert "'replay of warming.jsonl' on sim: FAILED (4/5 expectations met)" in out
    assert "[4] FAILED at 135 s (saw 1011.0" in out
    assert out.rstrip().endswith("an impossible pressure")


def test_the_period_can_be_given(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    short = _trace(tmp_path / "short.jsonl", GOOD, {**GOOD, "time": 1_780_000_005.0,
                                                     "sequence": 2, "temperature": 30.0})
    scenario_path = tmp_path / "short.yaml"
    assert harness("replay", short, "--period", "30", "--scenario", scenario_path) == 0
    assert "passed (4/4 expectations met)" in capsys.readouterr().out
    scenario = load_scenario(scenario_path)
    assert scenario.device.period == 30 and scenario.duration == 5 + 30 + 10  # type: ignore[union-attr]
    assert scenario.environment.trace == "short.jsonl"  # type: ignore[union-attr]


@pytest.mark.parametrize(("lines", "problem"), [
    ([GOOD, "{not json"], ":2: not JSON"),
    ([GOOD, {**GOOD, "temperature": "warm"}], ":2: 'temperature' must be a number, got 'warm'"),
    ([GOOD, {k: v for k, v in GOOD.items() if k != "status"}], ":2: missing field(s) status"),
    ([GOOD, "", {**GOOD, "time": 1_770_000_000.0}],
     ":3: time 1770000000.0 is before the previous record's (1780000000.0)"),
    ([{**GOOD, "temperature": None, "pressure": None, "humidity": None, "status": "Fail"}],
     ": no successful reading to replay (1 failed reads)"),
    ([], ": the trace is empty"),
    ([GOOD, {**GOOD, "pressure": 1200.0}],
     ":2: pressure 1200.0 hPa is outside the BME680's range 300..1100 hPa"),
])
def test_a_bad_trace_is_named_with_its_line_and_problem(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], lines: list[dict[str, object] | str],
        problem: str) -> None:
    path = _trace(tmp_path / "bad.jsonl", *lines)
    assert harness("replay", path) == 2
    error = capsys.readouterr().err
    assert f"error: {path}{problem}" in error


def test_a_missing_or_unknown_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert harness("replay", tmp_path / "nowhere.jsonl") == 2
    assert f"{tmp_path / 'nowhere.jsonl'}: no such trace file" in capsys.readouterr().err
    odd = tmp_path / "trace.txt"
    odd.write_text("hello\n")
    assert harness("replay", odd) == 2
    assert "unknown trace format '.txt'" in capsys.readouterr().err


def test_a_scenario_written_by_hand_is_not_overwritten(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    mine = tmp_path / "mine.yaml"
    mine.write_text("name: mine\n")
    assert harness("replay", EVENING_FRONT, "--scenario", mine) == 2
    assert "was not generated from a trace" in capsys.readouterr().err
    assert mine.read_text() == "name: mine\n"


def test_a_long_fast_trace_gets_a_scenario_within_the_limits(tmp_path: Path) -> None:
    """A day read every half second is 172,800 readings (within the limit) but, checked at
    every reading, 172,800 stops (beyond it): the written scenario checks less often."""
    from harness.limits import MAX_STOPS
    from harness.scenarios.from_trace import write_scenario
    from harness.scenarios.loading import load_scenario

    trace = tmp_path / "day.jsonl"
    line = ('{{"time": {t}, "sequence": {n}, "temperature": 29.5, "pressure": 1011.0, '
            '"humidity": 62.0, "gas_resistance": 50000.0, "status": "Success"}}\n')
    trace.write_text("".join(line.format(t=1780000000.0 + n * 0.5, n=n + 1)
                             for n in range(172_800)))
    scenario = load_scenario(write_scenario(trace, tmp_path / "day.yaml"))
    assert scenario.device is not None and scenario.device.period == 0.5
    assert scenario.duration / scenario.step <= MAX_STOPS
