"""Reports written once for the report tests: the made-up run's, and two real runs' (the
station's rainy day and a user's own project, see :mod:`tests.report.real_runs`)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from harness.report.html import write_html
from harness.report.plots import PlotInfo, render_plots
from harness.report.results import RunResult
from tests.report.real_runs import RealReport, report_of, short_rainy_day, user_project
from tests.report.sample import synthetic_result


@dataclass
class Report:
    result: RunResult
    plots: dict[str, PlotInfo]
    path: Path  # report.html

    @property
    def text(self) -> str:
        return self.path.read_text(encoding="utf-8")


@pytest.fixture(scope="session")
def report(tmp_path_factory: pytest.TempPathFactory) -> Report:
    """The made-up (failed) run's plots and report.html, in a folder of their own."""
    result = synthetic_result()
    folder = tmp_path_factory.mktemp("report")
    plots = render_plots(result, folder)
    return Report(result, plots, write_html(result, folder, plots))


@pytest.fixture(scope="session")
def station_report(tmp_path_factory: pytest.TempPathFactory) -> RealReport:
    """The weather station's rainy day (squeezed into two hours) run on the sim rig, and
    its report."""
    folder = tmp_path_factory.mktemp("station")
    return report_of(short_rainy_day(folder / "scenario"), folder / "report")


@pytest.fixture(scope="session")
def user_report(tmp_path_factory: pytest.TempPathFactory) -> RealReport:
    """A user's own project (a greenhouse: its group, Lambda and scenario) run on the sim
    rig of its own group, and its report."""
    folder = tmp_path_factory.mktemp("user")
    group, scenario = user_project(folder / "greenhouse")
    return report_of(scenario, folder / "report", group)


@pytest.fixture(scope="session")
def scaffold_report(tmp_path_factory: pytest.TempPathFactory) -> RealReport:
    """The project ``python -m harness init`` writes, its scenario run on the sim rig of its
    own group, and its report."""
    from harness.scaffold import write_project

    folder = tmp_path_factory.mktemp("scaffold")
    write_project(folder / "greenhouse")
    return report_of(folder / "greenhouse" / "scenarios" / "humid_afternoon.yaml",
                     folder / "report", folder / "greenhouse" / "group.yaml")
