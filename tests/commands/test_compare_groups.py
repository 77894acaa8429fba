"""``python -m harness compare`` on a user's own project: the Shadows the runs recorded are
compared field by field (a numeric field within its tolerance, a true/false field at any
disagreement), ``--thing`` narrows it, and ``--group`` refuses things the group does not
know (exit 2, a message, no traceback)."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.report.compare import compare_runs, load_run
from harness.report.results import record_run
from harness.rigs.sim import SimRig
from tests.report.real_runs import user_project

from .helpers import STEADY_WEATHER, harness

STATION_GROUP = Path(__file__).resolve().parents[2] / "lambdas" / "group.yaml"


def _run(folder: Path, limit: float | None = None) -> tuple[Path, Path]:
    """The greenhouse's scenario run on its own group (its alert limit changed to
    ``limit``), written as results; its group file and results path."""
    group, scenario = user_project(folder)
    if limit is not None:
        lam = folder / "humidity_alert.py"
        lam.write_text(lam.read_text().replace("LIMIT = 80.0", f"LIMIT = {limit}"))
    result = record_run(scenario, rig=SimRig(group))
    return group, result.write(folder / "results.json")


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path]:
    """The greenhouse's group, a run of it, and a run with the alert limit at 65 %."""
    root = tmp_path_factory.mktemp("greenhouse")
    group, first = _run(root / "first")
    _, tweaked = _run(root / "tweaked", limit=65.0)
    return group, first, tweaked


def test_the_users_shadow_fields_are_compared(runs: tuple[Path, Path, Path]) -> None:
    _, first, _ = runs
    run = load_run(first)
    comparison = compare_runs(run, load_run(first))
    names = [q.name for q in comparison.quantities]
    assert names == ["greenhouse: humidity", "greenhouse: humidity_alert"]
    assert "temperature" not in names  # nothing of the station's
    alert = comparison.quantity("greenhouse: humidity_alert")
    assert alert.quantity.unit == "true/false" and alert.tolerance == 0
    assert comparison.quantity("greenhouse: humidity").compared > 0
    assert comparison.passed


def test_a_tweaked_threshold_is_found_in_the_users_field(
        runs: tuple[Path, Path, Path], capsys: pytest.CaptureFixture[str]) -> None:
    group, first, tweaked = runs
    out_dir = tweaked.parent / "compared"
    assert harness("compare", first, tweaked, "--group", group, "--out", out_dir) == 1
    assert (out_dir / "compare.png").stat().st_size > 0
    out = capsys.readouterr().out
    alert_row = next(line for line in out.splitlines()
                     if line.startswith("greenhouse: humidity_alert"))
    assert alert_row.endswith("DIFFERENT")
    humidity_row = next(line for line in out.splitlines()
                        if line.startswith("greenhouse: humidity "))
    assert humidity_row.endswith("ok")  # the readings were the same
    comparison = compare_runs(load_run(first), load_run(tweaked))
    (stretch,) = comparison.quantity("greenhouse: humidity_alert").stretches
    # 70 % is above 65 but not 80: the runs disagree from the 40 s reading until the 90 %
    # of the 70 s one is handled (both alert then)
    assert 40 <= stretch.start < 45 and 69 <= stretch.end < 75
    assert (stretch.a, stretch.b) == (0.0, 1.0)
    assert [name for name, _ in comparison.differences] == ["greenhouse: humidity_alert"]


def test_tolerances_and_thing_for_the_users_fields(
        runs: tuple[Path, Path, Path], capsys: pytest.CaptureFixture[str]) -> None:
    _, first, tweaked = runs
    assert harness("compare", first, tweaked, "--thing", "greenhouse",
                   "--tolerance", "humidity=0.5") == 1
    assert "greenhouse: humidity " in capsys.readouterr().out
    with pytest.raises(SystemExit) as stop:
        harness("compare", first, tweaked, "--tolerance", "humidty=1")
    assert stop.value.code == 2
    assert "'humidty' is not a compared quantity (did you mean 'humidity'?)" in \
        capsys.readouterr().err
    assert harness("compare", first, tweaked, "--thing", "greenhous") == 2
    err = capsys.readouterr().err
    assert "--thing 'greenhous'" in err and "did you mean 'greenhouse'?" in err


def test_group_errors_exit_2_with_a_message(
        runs: tuple[Path, Path, Path], tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    group, first, tweaked = runs
    assert harness("compare", first, first, "--group", group) == 0
    capsys.readouterr()
    # the runs were not of the station's group: its things do not include the greenhouse
    assert harness("compare", first, tweaked, "--group", STATION_GROUP) == 2
    err = capsys.readouterr().err
    assert err.startswith("cannot compare: thing 'greenhouse' is not one group")
    assert "Traceback" not in err
    assert harness("compare", first, tweaked, "--group", group, "--thing",
                   "hygrometr") == 2
    err = capsys.readouterr().err
    assert "thing 'hygrometr'" in err and "did you mean 'hygrometer'?" in err
    assert harness("compare", first, tweaked, "--group", tmp_path / "missing.yaml") == 2
    err = capsys.readouterr().err
    assert "missing.yaml" in err and "Traceback" not in err


def test_results_without_shadows_compare_the_station_fields_as_before(tmp_path: Path) -> None:
    run = record_run(STEADY_WEATHER)
    assert run.shadows  # a run of today records its Shadows
    old = load_run(run.write(tmp_path / "old.json"))
    old.shadows = []  # as results files written before Shadows were recorded
    today, before = compare_runs(run, run), compare_runs(old, old)
    assert [q.name for q in before.quantities] == [q.name for q in today.quantities] == [
        "temperature", "pressure", "humidity", "rain_probability", "rain_prediction"]
    assert before.summary() == today.summary()
