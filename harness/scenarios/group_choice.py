"""Which group a scenario runs on: its own ``group:``, the one given on the command line, or
the default.

A scenario's ``group:`` names the group file it was written for, relative to the scenario
file (its Lambda modules are found next to that group file). The group given on the command
line (``python -m harness run --group FILE``, or ``pytest --gg-group FILE``) is for the
scenarios that do not name one. Both given and naming different files is a mistake said at
the scenario's ``group:`` line, rather than a silent choice of one of them: a scenario is
checked against the names of the group it runs on, so running it on another group would be
a different test.
"""

from __future__ import annotations

import os
from pathlib import Path

from harness.scenarios.loading import ScenarioSource, scenario_error
from harness.scenarios.schema import Scenario

__all__ = ["named_group", "scenario_group"]


def named_group(scenario: Scenario) -> Path | None:
    """The group file the scenario names (``group:``, relative to the scenario's file, or to
    the working directory for a scenario made in Python), or None."""
    if scenario.group is None:
        return None
    source = scenario._source
    base = Path(source.file).parent if isinstance(source, ScenarioSource) else Path(".")
    return Path(os.path.normpath(base / scenario.group))  # checks/../g.yaml said as g.yaml


def scenario_group(scenario: Scenario, given: str | Path | None, option: str = "--group"
                   ) -> Path | None:
    """The group file ``scenario`` runs on: its own ``group:``, else ``given`` (the command
    line's, which may be None for the default). Raises
    :class:`~harness.scenarios.loading.ScenarioError` at the ``group:`` line when both are
    given and are different files; ``option`` names the command line's option there."""
    own = named_group(scenario)
    if own is None:
        return Path(given) if given is not None else None
    if given is not None and not _same_file(own, Path(given)):
        raise scenario_error(scenario, [(("group",), (
            f"the scenario is written for {own}, but {option} gives {given}: "
            f"drop {option} "
            "to run it on its own group, or change its group: to run it on another"))])
    return own


def _same_file(a: Path, b: Path) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:
        return a.resolve() == b.resolve()
