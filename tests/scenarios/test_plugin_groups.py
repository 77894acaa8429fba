"""Under pytest, a scenario file's ``group:`` is the group its item runs on; ``--gg-group``
is for the scenarios without one, and naming another group than a scenario's fails it."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.commands.user_project import WET, own_group, write_project

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def project(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(
        [str(ROOT), *filter(None, [os.environ.get("PYTHONPATH")])]))
    write_project(pytester.path)
    scenarios = pytester.path / "scenarios"
    scenarios.mkdir()
    (scenarios / "own.yaml").write_text(own_group(WET))
    (scenarios / "plain.yaml").write_text(WET.replace("wet greenhouse", "no group of its own"))
    return pytester.path


def test_each_scenario_item_runs_on_its_own_group(pytester: pytest.Pytester,
                                                   project: Path) -> None:
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "scenarios/own.yaml",
                                           "--rig", "sim")
    result.assert_outcomes(passed=1)


def test_gg_group_is_for_scenarios_without_one(pytester: pytest.Pytester,
                                               project: Path) -> None:
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "scenarios",
                                           "--rig", "sim", "--gg-group",
                                           "greenhouse/group.yaml")
    result.assert_outcomes(passed=2)


def test_a_gg_group_contradicting_a_scenarios_group_fails_it(pytester: pytest.Pytester,
                                                             project: Path) -> None:
    station = ROOT / "lambdas" / "group.yaml"
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "scenarios/own.yaml",
                                           "--rig", "sim", "--gg-group", str(station))
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines([f"*own.yaml:2: group: the scenario is written for *"
                                 f"but --gg-group gives {station}*"])
