"""Scenario files as pytest items: ``scenarios/<name>.yaml`` becomes the test ``<name>``.

Each item runs its file on the rig chosen with ``--rig`` (``sim`` by default off the Pi). A
rig that lacks what the scenario needs skips it with the reason; a failed expectation fails
the item with the run's report (which expectation, when it first failed, what was seen).
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from harness.rigs.base import RigCannotRun, RigUnavailable
from harness.scenarios.group_choice import scenario_group
from harness.scenarios.loading import ScenarioError, load_scenario
from harness.scenarios.runner import ScenarioResult, run_scenario
from harness.yaml_files import FileProblems


def is_scenario_file(path: Path) -> bool:
    """A ``.yaml``/``.yml`` file in a folder called ``scenarios``."""
    return path.suffix in (".yaml", ".yml") and path.parent.name == "scenarios"


class ScenarioFailed(AssertionError):
    def __init__(self, result: ScenarioResult) -> None:
        super().__init__(result.report())
        self.result = result


class ScenarioFile(pytest.File):
    def collect(self) -> Iterator[pytest.Item]:
        yield ScenarioItem.from_parent(self, name=self.path.stem)


class ScenarioItem(pytest.Item):
    """One scenario file on the session's rig."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.add_marker(pytest.mark.scenario)
        if self.config.getoption("--rig", "sim") != "sim":
            self.add_marker(pytest.mark.hil)  # a hardware run: pytest -m hil --rig ...
        self.result: ScenarioResult | None = None

    def runtest(self) -> None:
        from harness.pytest_plugin import rig_provider

        try:
            scenario = load_scenario(self.path)
            # its own group: (or --gg-group's; both, naming different files, is an error)
            group = scenario_group(scenario, self.config.option.gg_group, "--gg-group")
        except ScenarioError as error:
            raise AssertionError(str(error)) from None
        rig = rig_provider(self.config).get(group)
        try:
            self.result = run_scenario(scenario, folder=self.path.parent, rig=rig)
        except (RigCannotRun, RigUnavailable) as error:  # e.g. no identity to publish as
            pytest.skip(str(error))
        except FileProblems as error:  # names the rig's group lacks, or a broken group file
            raise AssertionError(str(error)) from None
        self.user_properties.append(("rig", rig.name))
        results = self.config.getoption("--gg-results", None)
        if results:
            folder = Path(results)
            folder.mkdir(parents=True, exist_ok=True)
            (folder / f"{self.name}.json").write_text(
                json.dumps(dataclasses.asdict(self.result), indent=1, default=repr) + "\n")
        if not self.result.passed:
            raise ScenarioFailed(self.result)

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException],
                     style: Any = None) -> str:
        if isinstance(excinfo.value, AssertionError) and excinfo.value.args:
            return str(excinfo.value)
        return str(super().repr_failure(excinfo, style))

    def reportinfo(self) -> tuple[Path, int | None, str]:
        return self.path, 0, f"scenario: {self.name}"
