"""Reading a scenario file: YAML composed into nodes so every problem names its line.

Reuses the YAML reading of :mod:`harness.yaml_files` (the limits on size, nesting and
aliases; the node index of field paths to lines; the duplicate-key check; the
``file:line: field.path: message`` problems) and the group loader's wording of pydantic
errors (:mod:`harness.group`). A trace the environment replays is read and checked here too
(:func:`~harness.scenarios.from_trace.summarise_trace`), so a run never stops halfway on it.
"""

from __future__ import annotations

import stat
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from harness.group import _describe, _dotted
from harness.limits import MAX_TRACE_BYTES
from harness.scenarios.schema import Scenario
from harness.yaml_files import FileProblems, Loc, NodeIndex, Problem, read_yaml_mapping


class ScenarioError(FileProblems):
    """A scenario file that cannot be used; ``problems`` lists what is wrong, by line."""


def load_scenario(path: str | Path) -> Scenario:
    """Read and validate a scenario file; :class:`ScenarioError` lists every problem."""
    data, index, problems = read_yaml_mapping(path, "scenario", ScenarioError)
    try:
        scenario = Scenario.model_validate(data)
    except ValidationError as error:
        for detail in _relevant(error.errors()):
            loc = _as_written(_clean(detail["loc"]), data) + _inner(detail)
            problems.append(Problem(str(path), index.line(loc), _dotted(loc, "(scenario)"),
                                    _describe(detail, loc, Scenario)))
        raise ScenarioError(problems) from None
    problems.extend(_trace_problems(scenario, Path(path), index))
    problems.extend(_group_problems(scenario, Path(path), index))
    if problems:
        raise ScenarioError(problems)
    scenario._source = ScenarioSource(str(path), index)
    return scenario


class ScenarioSource:
    """Where a loaded scenario came from: its file and the line of each field."""

    def __init__(self, file: str, index: NodeIndex) -> None:
        self.file, self.index = file, index

    def problem(self, loc: Loc, message: str) -> Problem:
        return Problem(self.file, self.index.line(loc), _dotted(loc, "(scenario)"), message)


def scenario_error(scenario: Scenario, problems: list[tuple[Loc, str]]) -> ScenarioError:
    """A :class:`ScenarioError` for problems found after loading (against a rig's group),
    each at its line when the scenario was loaded from a file."""
    source = scenario._source
    if not isinstance(source, ScenarioSource):
        source = ScenarioSource(f"scenario {scenario.name!r}", NodeIndex(None))
    return ScenarioError([source.problem(loc, message) for loc, message in problems])


def _trace_problems(scenario: Scenario, path: Path, index: NodeIndex) -> list[Problem]:
    """The environment's trace, relative to the scenario's folder: a regular file within
    :data:`~harness.limits.MAX_TRACE_BYTES` that a simulated BME680 can replay."""
    from device.recorder import TraceFormatError
    from harness.scenarios.from_trace import summarise_trace

    environment = scenario.environment
    if environment is None or environment.trace is None:
        return []
    loc: Loc = ("environment", "trace")

    def problem(message: str) -> list[Problem]:
        return [Problem(str(path), index.line(loc), "environment.trace", message)]

    if "\x00" in environment.trace:
        return problem("a file name cannot hold the NUL character")
    trace = path.parent / environment.trace
    try:
        info = trace.stat()
    except OSError:
        return problem(f"no trace file at {trace}")
    if not stat.S_ISREG(info.st_mode):
        return problem(f"{trace} is not a trace file (a folder, pipe or device)")
    if info.st_size > MAX_TRACE_BYTES:
        return problem(f"{trace} is {info.st_size:,} bytes; at most {MAX_TRACE_BYTES:,} are "
                       "replayed (harness/limits.py MAX_TRACE_BYTES)")
    try:
        summarise_trace(trace)
    except TraceFormatError as error:
        return problem(f"the trace cannot be replayed: {error}")
    except (OSError, ValueError) as error:  # unreadable, or not UTF-8 text
        return problem(f"the trace cannot be read: {error}")
    return []


def _group_problems(scenario: Scenario, path: Path, index: NodeIndex) -> list[Problem]:
    """The scenario's ``group:`` must name a file (checked when the scenario is loaded, so
    a missing group is said at the scenario's line; the group file's own problems are said
    at its lines when it is read)."""
    if scenario.group is None:
        return []
    line = index.line(("group",))
    group = path.parent / scenario.group
    try:
        info = group.stat()
    except OSError:
        return [Problem(str(path), line, "group",
                        f"no group file at {group} (relative to the scenario's folder)")]
    if not stat.S_ISREG(info.st_mode):
        return [Problem(str(path), line, "group",
                        f"{group} is not a file: name the group's .yaml file")]
    return []


def _relevant(details: list[Any]) -> list[Any]:
    """For ``always`` (a text or a mapping) keep only the alternative the file meant: a
    mapping's problems without "must be 'version grows'", a text's without "must be a
    mapping"."""
    literal_at = {_clean(d["loc"]) for d in details if d["type"] == "literal_error"}
    return [d for d in details
            if not (d["type"] == "literal_error" and isinstance(d.get("input"), dict))
            and not (d["type"] == "model_type" and isinstance(d.get("input"), str)
                     and _clean(d["loc"]) in literal_at)]


def _as_written(loc: Loc, data: Any) -> Loc:
    """``loc`` without the list positions the file does not have: a field that takes a
    list or one item (``where: {...}`` for ``where: [{...}]``) names the item's own keys."""
    kept: list[str | int] = []
    for part in loc:
        if isinstance(part, int) and not isinstance(data, list):
            continue
        kept.append(part)
        try:
            data = data[part]
        except (LookupError, TypeError):
            data = None
    return tuple(kept)


def _inner(detail: Any) -> Loc:
    """The keys below the field a problem is in, when its check says (a payload's)."""
    inner = (detail.get("ctx") or {}).get("inner")
    return tuple(inner.split(".")) if isinstance(inner, str) and inner else ()


def _clean(loc: Loc) -> Loc:
    """Drop the parts pydantic adds for union members and validators (not YAML keys)."""
    return tuple(part for part in loc
                 if not (isinstance(part, str) and (part.startswith(("literal[", "function-",
                                                                     "Bound:"))
                                                    or part in ("Check",))))
