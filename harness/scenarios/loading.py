"""Reading a scenario file: YAML composed into nodes so every problem names its line.

Reuses the group loader's machinery (:mod:`harness.group`): the node index of field paths to
lines, the duplicate-key check, the ``file:line: field.path: message`` problems and its
wording of pydantic errors.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import ValidationError

from harness.group import (
    FileProblems,
    Loc,
    Problem,
    _describe,
    _dotted,
    read_yaml_mapping,
)
from harness.scenarios.schema import Scenario


class ScenarioError(FileProblems):
    """A scenario file that cannot be used; ``problems`` lists what is wrong, by line."""


def load_scenario(path: str | Path) -> Scenario:
    """Read and validate a scenario file; :class:`ScenarioError` lists every problem."""
    data, index, problems = read_yaml_mapping(path, "scenario", ScenarioError)
    try:
        scenario = Scenario.model_validate(data)
    except ValidationError as error:
        for detail in _relevant(error.errors()):
            loc = _clean(detail["loc"])
            problems.append(Problem(str(path), index.line(loc), _dotted(loc, "(scenario)"),
                                    _describe(detail, loc, Scenario)))
        raise ScenarioError(problems) from None
    if problems:
        raise ScenarioError(problems)
    return scenario


def _relevant(details: list[Any]) -> list[Any]:
    """For ``always`` (a text or a mapping) keep only the alternative the file meant: a
    mapping's problems without "must be 'version grows'", a text's without "must be a
    mapping"."""
    literal_at = {_clean(d["loc"]) for d in details if d["type"] == "literal_error"}
    return [d for d in details
            if not (d["type"] == "literal_error" and isinstance(d.get("input"), dict))
            and not (d["type"] == "model_type" and isinstance(d.get("input"), str)
                     and _clean(d["loc"]) in literal_at)]


def _clean(loc: Loc) -> Loc:
    """Drop the parts pydantic adds for union members and validators (not YAML keys)."""
    return tuple(part for part in loc
                 if not (isinstance(part, str) and (part.startswith(("literal[", "function-"))
                                                    or part in ("Check",))))
