"""``python -m harness run``: the summary, the exit status, and the report folder (results,
JUnit XML, per-run HTML and plots, an index)."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from harness import cli
from tests.commands.user_project import write_project

PASSING = """\
name: short injection
duration: 20
stimuli:
  - at: 1
    publish:
      source: bme680-sensor
      topic: bme680/readings
      payload: {sequence: 7, temperature: 30.0, pressure: 1005.0, humidity: 60.0,
                message: Success}
expectations:
  - within: 15
    shadow: {path: state.reported.sequence, equals: 7}
"""

FAILING = PASSING.replace("equals: 7}", "equals: 8}").replace("short injection",
                                                              "wrong sequence")


def _write(folder: Path, name: str, text: str) -> Path:
    path = folder / "scenarios" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def test_a_passing_run_exits_zero_with_a_summary(tmp_path: Path,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    path = _write(tmp_path, "ok.yaml", PASSING)
    assert cli.main(["run", str(path), "--rig", "sim"]) == 0
    out = capsys.readouterr().out
    assert "short injection" in out and "passed" in out and "1/1" in out


def test_a_failing_run_says_when_and_what_and_exits_one(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = _write(tmp_path, "bad.yaml", FAILING)
    assert cli.main(["run", str(path)]) == 1
    out = capsys.readouterr().out
    assert "FAILED" in out
    assert "at 15 s (saw 7)" in out  # the first failing time and the value seen


def test_a_missing_file_is_a_usage_error(tmp_path: Path) -> None:
    assert cli.main(["run", str(tmp_path / "nope.yaml")]) == 2


def test_a_rig_that_cannot_run_a_scenario_skips_it_and_fails_the_run(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = tmp_path / "pi.yaml"
    config.write_text("core: {host: 127.0.0.1, port: 1, ca: ca.pem}\n"
                      "client: {thing: weather-station, cert: c.pem, key: k.pem}\n"
                      f"lock_file: {tmp_path / 'lock'}\n")
    path = _write(tmp_path, "ok.yaml", PASSING)
    code = cli.main(["run", str(path), "--rig", "pi", "--pi-config", str(config)])
    assert code == 2  # the preflight fails: the rig is not available, and it says why
    assert "pi rig preflight failed" in capsys.readouterr().err


def test_the_report_folder_has_results_junit_html_and_plots(tmp_path: Path) -> None:
    good = _write(tmp_path, "ok.yaml", PASSING)
    bad = _write(tmp_path, "bad.yaml", FAILING)
    report = tmp_path / "report"
    assert cli.main(["run", str(good), str(bad), "--report", str(report)]) == 1
    suites = ET.parse(report / "junit.xml").getroot()
    assert (suites.get("tests"), suites.get("failures")) == ("2", "1")
    failure = suites.find(".//failure")
    assert failure is not None and "saw 7" in failure.get("message", "")
    index = (report / "index.html").read_text()
    assert "1 of 2 passed" in index
    for folder in ("ok-sim", "bad-sim"):
        results = json.loads((report / folder / "results.json").read_text())
        assert results["samples"] and results["rig"] == "sim"
        assert (report / folder / "report.html").stat().st_size > 1000
        assert sorted(p.name for p in (report / folder).glob("*.png"))


def test_a_broken_file_is_named_with_its_line_and_nothing_runs(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    good = _write(tmp_path, "ok.yaml", PASSING)
    bad = _write(tmp_path, "bad.yaml", PASSING.replace("duration: 20", "duration: .inf"))
    assert cli.main(["run", str(good), str(bad), "--report", str(tmp_path / "r")]) == 2
    captured = capsys.readouterr()
    assert f"{bad}:2: duration: must be a finite number" in captured.err
    assert "Traceback" not in captured.err and "short injection" not in captured.out
    assert not (tmp_path / "r").exists()


def test_a_name_the_rigs_group_lacks_is_named_before_anything_runs(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = _write(tmp_path, "typo.yaml", PASSING.replace("source: bme680-sensor",
                                                         "source: bme860-sensor"))
    assert cli.main(["run", str(path), "--rig", "sim"]) == 2
    err = capsys.readouterr().err
    assert f"{path}:6: stimuli.0.publish.source: no device 'bme860-sensor' in group " \
           "'weather-station'" in err


def test_a_folder_or_a_missing_file_is_named(tmp_path: Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    folder = tmp_path / "scenarios" / "x.yaml"
    folder.mkdir(parents=True)
    assert cli.main(["run", str(folder), str(tmp_path / "nope.yaml")]) == 2
    err = capsys.readouterr().err
    assert f"{folder}:1: (scenario): is a folder, not a file" in err
    assert f"{tmp_path / 'nope.yaml'}:1: (scenario): no such file" in err


# ------------------------------------------------------------------ any group: --group, group:


def _results(report: Path, scenario: str) -> dict:
    found = [json.loads(path.read_text()) for path in report.glob("*/results.json")]
    return next(result for result in found if result["scenario"] == scenario)


def test_group_option_runs_the_users_lambda_not_the_stations(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    project = write_project(tmp_path)
    report = tmp_path / "report"
    assert cli.main(["run", str(project["wet"]), "--group", str(project["group"]),
                     "--report", str(report)]) == 0
    assert "wet greenhouse" in capsys.readouterr().out
    result = _results(report, "wet greenhouse")
    assert result["messages"].get("greenhouse/alerts") == 1  # the user's Lambda published
    functions = " ".join(result["delivery"])
    assert "humidity_alert" in functions and "republish" not in functions


def test_a_scenarios_own_group_is_relative_to_it_and_needs_no_option(
        tmp_path: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    project = write_project(tmp_path / "project")
    monkeypatch.chdir(tmp_path)  # not the scenario's folder: group: is relative to the file
    assert cli.main(["run", str(project["own"])]) == 0
    assert "wet greenhouse, own group" in capsys.readouterr().out
    # naming the same group on the command line as well is no contradiction
    assert cli.main(["run", str(project["own"]), "--group",
                     str(project["group"].relative_to(tmp_path))]) == 0


def test_without_a_group_the_users_scenario_is_refused_against_the_station(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    project = write_project(tmp_path)
    assert cli.main(["run", str(project["wet"])]) == 2
    err = capsys.readouterr().err
    assert f"{project['wet']}:5: stimuli.0.publish.source: no device 'hygrometer' in group " \
           "'weather-station'" in err
    assert f"{project['wet']}:9: expectations.1.log.function: no function 'humidity_alert'" \
        in err
    assert "names no group: and no --group was given" in err  # why the station's group
    assert "Traceback" not in err


def test_a_group_option_contradicting_the_scenarios_group_is_refused(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    project = write_project(tmp_path)
    station = Path(__file__).resolve().parents[1] / "lambdas" / "group.yaml"
    assert cli.main(["run", str(project["own"]), "--group", str(station)]) == 2
    err = capsys.readouterr().err
    assert f"{project['own']}:2: group: the scenario is written for " in err
    assert f"but --group gives {station}" in err


def test_scenarios_of_two_groups_each_run_on_their_own(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    project = write_project(tmp_path)
    station = _write(tmp_path, "ok.yaml", PASSING)  # no group: the station's, the default
    assert cli.main(["run", str(project["own"]), str(station)]) == 0
    out = capsys.readouterr().out
    assert "wet greenhouse, own group" in out and "short injection" in out
    assert out.count("passed") == 2


def test_a_missing_lambda_module_is_named_at_the_groups_module_line(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    project = write_project(tmp_path)
    (project["group"].parent / "humidity_alert.py").rename(
        project["group"].parent / "humidity_alerts.py")
    assert cli.main(["run", str(project["own"])]) == 2
    err = capsys.readouterr().err
    assert f"{project['group']}:5: functions.0.module: no humidity_alert.py in " in err
    assert "(did you mean 'humidity_alerts'?)" in err
