"""Broken scenario, group and pi config files (:mod:`tests.scenarios.malformed_corpus`):
loading one raises the loader's own error, each line ``file:line: field: problem``, or gives
a model that runs to its end; absurd numbers are refused at load; ``python -m harness run``
says what is wrong and where, and exits 2, with no traceback."""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from harness import cli
from harness.group import GroupError, load_group
from harness.rigs.pi_config import PiConfigError, PiConfigNotFound, load_pi_config
from harness.scenarios.loading import ScenarioError, load_scenario
from harness.scenarios.runner import run_scenario
from tests.scenarios.malformed_corpus import GOOD, Case, cases, dump, write_case

ROOT = Path(__file__).resolve().parents[2]
CASES = cases()
BY_ID = {case.id: case for case in CASES}

LOADERS: dict[str, tuple[Callable[[Path], Any], tuple[type[Exception], ...]]] = {
    "scenario": (load_scenario, (ScenarioError,)),
    "group": (load_group, (GroupError,)),
    "pi_config": (load_pi_config, (PiConfigError, PiConfigNotFound)),
}


def _load(case: Case, folder: Path) -> tuple[Path, Any, Exception | None]:
    """Load the case: (its path, the model or None, our error or None). Any other
    exception propagates and fails the test."""
    path = write_case(case, folder)
    load, errors = LOADERS[case.kind]
    try:
        return path, load(path), None
    except errors as error:
        return path, None, error


def _assert_clear(error: Exception, path: Path) -> None:
    """Every line of the message is ``<path>:<line>: <field>: <problem>``, short enough to
    read; a missing pi config says where it looked instead."""
    text = str(error)
    if isinstance(error, PiConfigNotFound):
        assert str(path.absolute()) in text
        return
    lines = text.splitlines()
    assert lines, "an error says something"
    pattern = re.compile(re.escape(str(path)) + r":(\d+): (.+?): (\S.*)")
    for line in lines:
        match = pattern.fullmatch(line)
        assert match, f"not file:line: field: problem: {line[:200]!r}"
        assert int(match.group(1)) >= 1
        assert len(line) < 1000, f"a message this long is not read: {line[:200]!r}..."


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_a_file_loads_or_gets_a_clear_error(case: Case, tmp_path: Path) -> None:
    path, model, error = _load(case, tmp_path)
    if error is not None:
        _assert_clear(error, path)
    else:
        assert model is not None


# --------------------------------------------------------------- absurd numbers


def _absurd(case: Case) -> bool:
    """An absurd number where no sensible file has one: infinities, NaN, 400-digit
    integers, 1e300 (but a payload, desired state or compared value may be anything JSON
    holds, and a tolerance or an approximate value may be large)."""
    name = case.id.split(":", 1)[1]
    if "=" not in name:
        return False
    field, label = name.rsplit("=", 1)
    data = any(part in field for part in (".payload.", ".state.", ".equals"))
    if label in ("inf", "-inf", "nan"):
        return True
    if label in ("huge-int", "1e300"):
        return not data and not field.endswith((".approx", ".tolerance"))
    return False


ABSURD = [case for case in CASES if _absurd(case)]


@pytest.mark.parametrize("case", ABSURD, ids=[case.id for case in ABSURD])
def test_absurd_numbers_are_refused_at_load_naming_the_field(case: Case,
                                                              tmp_path: Path) -> None:
    _, _, error = _load(case, tmp_path)
    assert error is not None, "an absurd number is refused when the file is loaded"
    field = case.id.split(":", 1)[1].rsplit("=", 1)[0].removeprefix("profile.")
    assert any(field in problem.path for problem in error.problems), str(error)  # type: ignore[attr-defined]


@pytest.mark.parametrize("name", [
    "step-tiny", "period-tiny", "repeat-billion", "repeat-many-stimuli", "year",
    "week-at-small-step", "expectations-many", "stimuli-many", "faults-many", "points-many",
    "payload-billion-laughs", "desired-billion-laughs", "equals-billion-laughs",
    "alias-cycle", "deep-flow-list", "deep-block", "too-big", "payload-huge", "payload-big",
    "payload-date", "payload-binary", "payload-set", "payload-nan", "desired-date",
    "publish-topic-hash", "publish-topic-empty", "messages-topic-plus", "device-thing-bad",
    "trace-missing", "trace-dev-zero", "trace-folder", "trace-absolute", "stimulus-after-end",
    "needs-many", "name-huge", "fifo", "directory", "missing", "profile.rain_front.hours=tiny",
    "rain_front-start-far", "name-control", "shadow-path-empty",
])
def test_what_would_hang_or_break_a_run_is_refused_at_load(name: str, tmp_path: Path) -> None:
    path, _, error = _load(BY_ID[f"scenario:{name}"], tmp_path)
    assert error is not None
    _assert_clear(error, path)


# --------------------------------------------------------------- runs


def test_the_corpus_starts_from_files_that_load_and_pass(tmp_path: Path) -> None:
    for kind, data in GOOD.items():
        folder = tmp_path / kind
        good = Case(f"{kind}:good", kind, lambda data=data: dump(data))  # type: ignore[arg-type, misc]
        path, model, error = _load(good, folder)
        assert error is None and model is not None, f"{kind}: {error}"
        if kind == "scenario":
            result = run_scenario(path)
            assert result.passed, result.report()


@pytest.mark.parametrize("name", [
    "crlf", "utf16-bom", "bom-inside", "payload-text-infinity", "desired-empty",
    "stimuli.0.publish.payload.sequence=huge-int",
])
def test_an_accepted_odd_file_runs_to_its_end(name: str, tmp_path: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    """Files that load (some with odd but legal content) run to the end with a verdict:
    ``harness run`` with its report exits 0 or 1, never with an exception."""
    path, model, error = _load(BY_ID[f"scenario:{name}"], tmp_path)
    assert error is None and model is not None
    assert cli.main(["run", str(path), "--rig", "sim", "--report",
                     str(tmp_path / "report")]) in (0, 1)
    assert "corpus" in capsys.readouterr().out  # the summary table has the run
    assert (tmp_path / "report" / "index.html").is_file()


# --------------------------------------------------------------- the command line

SCENARIO_CASES = [case for case in CASES if case.kind == "scenario"]


@pytest.mark.parametrize("case", SCENARIO_CASES, ids=[case.id for case in SCENARIO_CASES])
def test_harness_run_names_file_and_line_of_a_broken_file_and_exits_2(
        case: Case, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Each case is run beside a file known to be broken, so nothing runs: a case that does
    not load is named with its line, one that loads is not blamed (its run is checked by
    ``test_an_accepted_odd_file_runs_to_its_end``)."""
    path, _, error = _load(case, tmp_path / "case")
    broken = write_case(BY_ID["scenario:nul-middle"], tmp_path / "broken")
    assert cli.main(["run", str(path), str(broken), "--rig", "sim"]) == 2
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err + captured.out
    assert "no scenario was run" in captured.err
    assert f"{broken}:" in captured.err
    if error is None:
        assert f"{path}:" not in captured.err
    else:
        assert f"{path}:" in captured.err


def test_harness_run_checks_every_file_before_running_any(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    good = write_case(Case("scenario:good", "scenario", lambda: dump(GOOD["scenario"])),
                      tmp_path / "a")
    bad = write_case(BY_ID["scenario:nul-middle"], tmp_path / "b")
    assert cli.main(["run", str(good), str(bad), "--rig", "sim"]) == 2
    captured = capsys.readouterr()
    assert f"{bad}:" in captured.err and f"{good}" not in captured.err
    assert "corpus" not in captured.out  # the good one did not run either


@pytest.mark.parametrize("name", ["nul-middle", "deep-flow-list", "payload-billion-laughs",
                                  "latin1-byte", "directory"])
def test_python_m_harness_run_exits_2_without_a_traceback(name: str, tmp_path: Path) -> None:
    path = write_case(BY_ID[f"scenario:{name}"], tmp_path)
    done = subprocess.run([sys.executable, "-m", "harness", "run", str(path), "--rig", "sim"],
                          capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert done.returncode == 2, done.stderr
    assert re.search(re.escape(str(path)) + r":\d+: ", done.stderr), done.stderr
    assert "Traceback" not in done.stderr + done.stdout
