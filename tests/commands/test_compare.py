"""``python -m harness compare RUN_A RUN_B``: identical runs agree; a changed sample, a
different CPU temperature or a faster-growing Shadow version is listed with its times and
exits 1; runs of different scenarios are refused unless forced; compare.png shows the runs
and shades what differs."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from matplotlib.colors import to_rgb
from PIL import Image

from harness.commands.replay import replay
from harness.report.compare import (
    DEFAULT_TOLERANCES,
    NotComparable,
    compare_runs,
    load_run,
    parse_tolerances,
)
from harness.report.results import RunResult, Sample, record_run

from .helpers import STEADY_WEATHER, harness

WHITE = np.array([255, 255, 255])


def _shade() -> np.ndarray:
    """The colour of a shaded stretch on white: tab:red at alpha 0.25."""
    red = np.array(to_rgb("tab:red"))
    return np.round((1 - 0.25 * (1 - red)) * 255)


def _pixels(path: Path, colour: Sequence[float] | np.ndarray, within: float = 12) -> int:
    """How many pixels of the PNG are within ``within`` (per channel) of ``colour``."""
    image = np.asarray(Image.open(path).convert("RGB"), dtype=float)
    return int((np.abs(image - np.asarray(colour)) <= within).all(axis=2).sum())


def _rgb(name: str) -> np.ndarray:
    return np.round(np.array(to_rgb(name)) * 255)


@pytest.fixture(scope="module")
def steady(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """Two sim runs of steady_weather (same scenario, same seed), as results files."""
    folder = tmp_path_factory.mktemp("steady")
    a = record_run(STEADY_WEATHER).write(folder / "a" / "results.json")
    b = record_run(STEADY_WEATHER).write(folder / "b" / "results.json")
    return a, b


def _edited(source: Path, target: Path, edit: Any) -> Path:
    data = json.loads(source.read_text())
    edit(data)
    target.write_text(json.dumps(data))
    return target


def _sample_at(data: dict[str, Any], t: float) -> dict[str, Any]:
    return next(sample for sample in data["samples"] if sample["t"] == t)


def test_two_runs_of_the_same_scenario_and_seed_agree(
        steady: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    a, b = steady
    assert harness("compare", a, b, "--out", tmp_path) == 0
    out = capsys.readouterr().out
    assert "result: no differences outside tolerance" in out
    assert "DIFFERENT" not in out
    for name in ("temperature (C)", "pressure (hPa)", "humidity (%RH)", "rain_probability",
                 "rain_prediction (0/1)", "version rate (/min)"):
        assert name in out
    data = json.loads((tmp_path / "compare.json").read_text())
    assert data["passed"] is True and data["times"] == 121
    assert all(q["outside"] == 0 and q["max_difference"] == 0 for q in data["quantities"])
    assert data["version_rate"]["a"] == data["version_rate"]["b"] > 0
    png = tmp_path / "compare.png"
    image = np.asarray(Image.open(png).convert("RGB"))
    assert image.shape[0] > 600 and image.shape[1] > 800
    assert (np.abs(image.astype(int) - WHITE) > 30).any(axis=2).mean() > 0.02  # drawn on
    # B's dashed line lies on A's: A shows between the dashes
    assert _pixels(png, _rgb("tab:blue")) > 50 and _pixels(png, _rgb("tab:orange")) > 200
    assert _pixels(png, _shade()) == 0  # nothing shaded


def test_a_changed_sample_is_listed_with_its_times(
        steady: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    a, _ = steady

    def warmer(data: dict[str, Any]) -> None:
        for t, change in ((50.0, 2.0), (51.0, 1.5), (52.0, 0.2)):
            _sample_at(data, t)["reported"]["temperature"] += change
        _sample_at(data, 80.0)["reported"]["humidity"] = None  # missing in B

    b = _edited(a, tmp_path / "b.json", warmer)
    assert harness("compare", a, b, "--out", tmp_path / "out") == 1
    out = capsys.readouterr().out
    before = _sample_at(json.loads(a.read_text()), 50.0)["reported"]["temperature"]
    assert (f"  temperature: 50-51 s (2 times): max |B-A| 2 at 50 s (A {before:g}, "
            f"B {before + 2:g})") in out
    assert "  humidity: 80 s (1 time): missing in B (the other run had 55" in out
    assert "result: 2 quantities outside tolerance" in out
    data = json.loads((tmp_path / "out" / "compare.json").read_text())
    temperature, pressure, humidity = data["quantities"][:3]
    assert data["passed"] is False
    assert temperature["stretches"] == [{"start": 50.0, "end": 51.0, "times": 2,
                                         "max_difference": pytest.approx(2.0), "at": 50.0,
                                         "a": before, "b": pytest.approx(before + 2)}]
    assert pressure["outside"] == 0 and humidity["outside"] == 1
    png = tmp_path / "out" / "compare.png"
    assert _pixels(png, _shade()) > 100  # the stretches are shaded

    # a wider tolerance lets the warmer samples through; the missing humidity stays
    assert harness("compare", a, b, "--tolerance", "temperature=2.5") == 1
    out = capsys.readouterr().out
    assert "temperature:" not in out.split("outside tolerance:")[1]
    assert harness("compare", a, _edited(a, tmp_path / "c.json", lambda data: [
        _sample_at(data, 50.0)["reported"].__setitem__("temperature", 16.0)]),
        "--tolerance", "temperature=2.5,pressure=1") == 0


def test_a_different_cpu_temperature_shifts_the_whole_replay(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    trace = tmp_path / "day.jsonl"
    assert harness("record", "--simulated", "--count", "24", "--out", trace) == 0
    for cpu in (45, 46):  # (the command's --report is tested with replay's tests)
        result = replay(trace, tmp_path / f"at{cpu}.yaml", cpu_temperature=cpu)
        assert result.passed
        result.write(tmp_path / f"at{cpu}" / "results.json")
    capsys.readouterr()
    assert harness("compare", tmp_path / "at45", tmp_path / "at46",
                   "--out", tmp_path / "cmp") == 1
    out = capsys.readouterr().out
    data = json.loads((tmp_path / "cmp" / "compare.json").read_text())
    by_name = {q["quantity"]: q for q in data["quantities"]}
    (stretch,) = by_name["temperature"]["stretches"]  # 2 * T - 46 is 1 C below 2 * T - 45
    assert stretch["max_difference"] == pytest.approx(1.0, abs=0.02)
    assert stretch["end"] == data["end"] and stretch["times"] == by_name["temperature"]["both"]
    assert by_name["pressure"]["outside"] == by_name["humidity"]["outside"] == 0
    assert f"  temperature: {stretch['start']:g}-{stretch['end']:g} s (" in out
    png = tmp_path / "cmp" / "compare.png"
    assert _pixels(png, _shade()) > 10_000  # most of the temperature panel is shaded

    # a run of another scenario is refused, and compared when forced
    steady = record_run(STEADY_WEATHER).write(tmp_path / "steady.json")
    assert harness("compare", steady, tmp_path / "at45") == 2
    error = capsys.readouterr().err
    assert ("cannot compare: A is a run of scenario 'steady weather' and B of "
            "'replay of day.jsonl'") in error
    assert "(pass --force to compare them anyway)" in error
    assert harness("compare", steady, tmp_path / "at45", "--force") == 1
    assert ("note: different scenarios, compared anyway: 'steady weather' and "
            "'replay of day.jsonl'") in capsys.readouterr().out


def test_the_version_rate_is_judged_when_given_a_tolerance(
        steady: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    a, _ = steady

    def busier(data: dict[str, Any]) -> None:
        for sample in data["samples"]:
            if sample["version"] is not None:
                sample["version"] *= 2

    b = _edited(a, tmp_path / "busier.json", busier)
    assert harness("compare", a, b) == 0  # shown, not judged
    assert "(not judged)" in capsys.readouterr().out
    assert harness("compare", a, b, "--tolerance", "version_rate=1") == 1
    out = capsys.readouterr().out
    assert "  version rate: A " in out and "(tolerance 1)" in out


def _run(samples: Sequence[tuple[float, dict[str, Any], int | None]],
         scenario: str = "made up") -> RunResult:
    return RunResult(scenario=scenario, file=None, rig="sim", seed=0,
                     duration=samples[-1][0], passed=True, outcomes=[],
                     samples=[Sample(t=t, air=None, reported=reported, version=version)
                              for t, reported, version in samples])


def test_samples_at_different_times_are_aligned() -> None:
    # A every 10 s from 0, B every 10 s from 4: both see the same straight temperature line
    # (interpolated); the prediction (nearest sample) flips at 14 s in B, at 20 s in A
    a = _run([(0, {"temperature": 10.0, "rain_prediction": 0}, 1),
              (10, {"temperature": 20.0, "rain_prediction": 0}, 2),
              (20, {"temperature": 30.0, "rain_prediction": 1}, 3)])
    b = _run([(4, {"temperature": 14.0, "rain_prediction": 0}, 1),
              (14, {"temperature": 24.0, "rain_prediction": 1}, 2),
              (24, {"temperature": 34.0, "rain_prediction": 1}, 3)])
    comparison = compare_runs(a, b)
    assert comparison.times == (4, 10, 14, 20)  # either run's times, on the overlap
    temperature = comparison.quantity("temperature")
    assert temperature.passed and temperature.max_difference == pytest.approx(0.0)
    assert temperature.compared == 4
    prediction = comparison.quantity("rain_prediction")
    # B's nearest sample to 10 s is the one at 14 s; A's nearest to 14 s the one at 10 s
    assert [(s.start, s.end, s.times, s.a, s.b)
            for s in prediction.stretches] == [(10, 14, 2, 0, 1)]
    assert comparison.quantity("pressure").compared == 0  # neither reported it
    assert comparison.version_rate.a == pytest.approx(6.0)  # 1 version in 10 s
    assert not comparison.passed
    assert comparison.differences == [("rain_prediction", prediction.stretches[0])]


def test_runs_without_common_time_or_samples_are_not_compared() -> None:
    early = _run([(0, {}, None), (10, {}, None)])
    late = _run([(20, {}, None), (30, {}, None)])
    with pytest.raises(NotComparable, match="no time in common: A covers 0-10 s, B 20-30 s"):
        compare_runs(early, late)
    empty = RunResult("made up", None, "sim", 0, 1.0, True, [])
    with pytest.raises(NotComparable, match="has no samples"):
        compare_runs(early, empty)


def test_tolerances_are_parsed_and_checked() -> None:
    assert parse_tolerances("temperature=0.25, rain_prediction=1") == {
        **DEFAULT_TOLERANCES, "temperature": 0.25, "rain_prediction": 1.0}
    assert parse_tolerances("version_rate=2", base={}) == {"version_rate": 2.0}
    for bad, message in (("temp=1", "'temp' is not a compared quantity"),
                         ("temperature", "use NAME=VALUE"),
                         ("temperature=warm", "is not a number"),
                         ("humidity=-1", "a tolerance is a number >= 0")):
        with pytest.raises(ValueError, match=message):
            parse_tolerances(bad)


def test_bad_arguments_and_files(steady: tuple[Path, Path], tmp_path: Path,
                                 capsys: pytest.CaptureFixture[str]) -> None:
    a, _ = steady
    with pytest.raises(SystemExit) as stop:
        harness("compare", a, a, "--tolerance", "temp=1")
    assert stop.value.code == 2
    assert "'temp' is not a compared quantity" in capsys.readouterr().err

    assert harness("compare", a, tmp_path / "missing") == 2
    assert f"cannot compare: no results at {tmp_path / 'missing'}" in capsys.readouterr().err
    garbage = tmp_path / "garbage.json"
    garbage.write_text("{")
    assert harness("compare", a, garbage) == 2
    assert "not a results file (not JSON" in capsys.readouterr().err
    other = tmp_path / "other.json"
    other.write_text('{"format": "something else"}')
    assert harness("compare", a, other) == 2
    assert "not a harness results file" in capsys.readouterr().err

    # a report folder with one run is that run; with two, say which to pick
    report = tmp_path / "report"
    load_run(a).write(report / "steady-sim" / "results.json")
    assert load_run(report).scenario == "steady weather"
    load_run(a).write(report / "steady-broker" / "results.json")
    with pytest.raises(NotComparable, match="holds 2 runs: name one of"):
        load_run(report)
