"""A report of the made-up run, written once for the report tests."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from harness.report.html import write_html
from harness.report.plots import PlotInfo, render_plots
from harness.report.results import RunResult
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
