"""``python -m harness run``: the summary, the exit status, and the report folder (results,
JUnit XML, per-run HTML and plots, an index)."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from harness import cli

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
