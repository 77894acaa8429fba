"""Scenario files as pytest items: ``<name>.yaml`` becomes the test ``<name>``.

Which files are scenarios is a list of glob patterns relative to the rootdir: the
``gg_scenarios`` ini option or ``--gg-scenarios`` (by default :data:`DEFAULT_GLOBS`:
``.yaml``/``.yml`` files in any folder called ``scenarios``). ``**`` stands for any number
of folders, ``*`` and ``?`` for characters within one name. pytest offers the plugin the
files it visits (its arguments, ``testpaths``), so a pattern only chooses among those; a
YAML file named on the command line is a scenario whatever its name. A group file is never
taken for a scenario, even where a pattern matches it. A ``.scenario`` before the suffix
(``humid.scenario.yaml``) is not part of the test's name.

Each item runs its file on the rig chosen with ``--rig`` (``sim`` by default off the Pi). A
rig that lacks what the scenario needs skips it with the reason; a failed expectation, or a
Lambda that failed during the run (see :mod:`harness.function_failures`), fails the item
with the run's report (which expectation, when it first failed, what was seen; each
function failure with the function's last log lines).
"""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest
import yaml

from harness.rigs.base import RigCannotRun, RigUnavailable
from harness.scenarios.group_choice import scenario_group
from harness.scenarios.loading import ScenarioError, load_scenario
from harness.scenarios.runner import ScenarioResult, run_scenario
from harness.yaml_files import FileProblems

#: where scenarios are unless ``gg_scenarios`` says otherwise: in folders called ``scenarios``
DEFAULT_GLOBS = ("**/scenarios/*.yaml", "**/scenarios/*.yml")
YAML_SUFFIXES = (".yaml", ".yml")


def glob_regex(pattern: str) -> re.Pattern[str]:
    """``pattern`` (``/``-separated; ``**`` any folders, ``*``/``?``/``[...]`` within a
    name) as a regular expression matching a whole relative POSIX path."""
    parts = pattern.strip("/").split("/")
    regex = ""
    for index, part in enumerate(parts):
        last = index == len(parts) - 1
        if part == "**":
            regex += ".*" if last else "(?:[^/]+/)*"
            continue
        regex += _name_regex(part) + ("" if last else "/")
    return re.compile(regex + r"\Z")


def _name_regex(part: str) -> str:
    out, i = "", 0
    while i < len(part):
        char = part[i]
        if char == "*":
            out += "[^/]*"
        elif char == "?":
            out += "[^/]"
        elif char == "[" and "]" in part[i + 2:]:
            end = part.index("]", i + 2)
            inside = part[i + 1:end]
            out += "[" + ("^" + inside[1:] if inside.startswith("!") else inside) + "]"
            i = end
        else:
            out += re.escape(char)
        i += 1
    return out


class ScenarioGlobs:
    """The patterns saying which files are scenario files, relative to ``root``."""

    def __init__(self, patterns: Sequence[str], root: Path) -> None:
        self.patterns = tuple(patterns) or DEFAULT_GLOBS
        self.root = root
        self._regexes = [glob_regex(pattern) for pattern in self.patterns]

    def matches(self, path: Path) -> bool:
        try:
            relative = path.relative_to(self.root).as_posix()
        except ValueError:  # outside the rootdir: its absolute path, without the first /
            relative = path.as_posix().lstrip("/")
        return any(regex.match(relative) for regex in self._regexes)


def is_scenario_file(path: Path, globs: ScenarioGlobs | None = None) -> bool:
    """A ``.yaml``/``.yml`` file the patterns (by default :data:`DEFAULT_GLOBS`) match."""
    if path.suffix not in YAML_SUFFIXES:
        return False
    return (globs or ScenarioGlobs((), Path.cwd())).matches(path)


def looks_like_a_group(path: Path) -> bool:
    """A group file (``functions`` at the top, no ``expectations``), which is YAML too."""
    try:
        document = yaml.safe_load(path.read_text(errors="replace"))
    except (OSError, yaml.YAMLError):
        return False  # not ours to judge: the scenario loader says what is wrong
    return isinstance(document, dict) and "functions" in document \
        and "expectations" not in document


def item_name(path: Path) -> str:
    """The test's name: the file's name without ``.yaml`` (and ``.scenario``)."""
    return path.stem.removesuffix(".scenario") or path.stem


class ScenarioFailed(AssertionError):
    def __init__(self, result: ScenarioResult) -> None:
        super().__init__(result.report())
        self.result = result


class ScenarioFile(pytest.File):
    def collect(self) -> Iterator[pytest.Item]:
        yield ScenarioItem.from_parent(self, name=item_name(self.path))


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
        if not results and self.config.getini("gg_results"):
            results = self.config.rootpath / self.config.getini("gg_results")
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
