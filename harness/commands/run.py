"""``python -m harness run SCENARIO... [--group FILE] [--rig sim|broker|pi] [--report DIR]``.

Runs scenario files on a rig with a progress bar in simulated time, prints a summary table
(expectations met and failed, with the first failing time and the value seen), and exits 0
only when every expectation of every scenario holds. Every file is loaded (and checked
against its group) before anything runs: a broken one is reported as
``file:line: field: problem`` and the command exits 2 without running any.

Which group a scenario runs on:

- its own ``group:`` (a group file, relative to the scenario file), when it names one;
- else the ``--group FILE`` given here;
- else the weather station's ``lambdas/group.yaml`` of this package.

A scenario that names a group, run with a ``--group`` naming another file, is an error (exit
2): a scenario is checked against its group's functions, devices and things, so running it on
another group would be another test; drop one of the two. The Lambda modules of a group
(``module: republish`` is ``republish.py``) are found in the group file's folder. Scenarios
of different groups each run on a rig of their own group, one group after the other.

``--report DIR`` writes, per scenario, ``DIR/<scenario>/`` with ``results.json``, the PNG
plots and a self-contained ``report.html``, plus ``DIR/junit.xml`` and ``DIR/index.html``
over all of them.

Exit status: 0 when every expectation holds, 1 when one fails (or the rig had to skip a
scenario, unless --allow-skips), 2 for a file that cannot be used or a rig that is not
available.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from harness.commands.help_text import plain
from harness.report.results import RunResult, record_run
from harness.rigs.base import Rig, RigCannotRun, RigUnavailable
from harness.rigs.select import PLATFORMS, RIGS, default_rig, open_rig
from harness.yaml_files import FileProblems

if TYPE_CHECKING:
    from harness.scenarios.schema import Scenario

#: 2 is also the exit status for a scenario file that cannot be used.
EXIT_FAILED, EXIT_UNAVAILABLE = 1, 2
EXIT_BAD_FILE = EXIT_UNAVAILABLE


def add_parser(commands: Any) -> None:
    parser = commands.add_parser(
        "run", help="run scenario files on a rig, with a summary and an optional report",
        description=plain(__doc__), formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("scenarios", nargs="+", metavar="SCENARIO", type=Path,
                        help="scenario files (.yaml)")
    parser.add_argument("--group", type=Path, default=None, metavar="FILE",
                        help="the group file for scenarios without a group: of their own "
                             "(default: the weather station's lambdas/group.yaml); its Lambda "
                             "modules are found next to it")
    parser.add_argument("--rig", choices=RIGS, default=None,
                        help="sim (default off the Pi), broker, or pi (default on the Pi)")
    parser.add_argument("--report", type=Path, metavar="DIR",
                        help="write results.json, plots, report.html per scenario, and "
                             "junit.xml")
    parser.add_argument("--platform", choices=PLATFORMS, default="v2",
                        help="the Greengrass the core runs: v2 (default) or v1 (sim rig only)")
    parser.add_argument("--pi-config", type=Path, default=None, metavar="FILE",
                        help="the pi rig's config file (default $HIL_PI_CONFIG or hil/pi.yaml)")
    parser.add_argument("--allow-skips", action="store_true",
                        help="exit 0 even when the rig cannot run some scenarios")
    parser.set_defaults(run=run)


class _Progress:
    """A run observer moving a progress bar through simulated time."""

    def __init__(self, progress: Progress, task: Any) -> None:
        self.progress, self.task = progress, task

    def __call__(self, session: Any, now: float) -> None:
        self.progress.update(self.task, completed=now)

    def finish(self, session: Any) -> None:
        self.progress.update(self.task, completed=self.progress.tasks[self.task].total)


def load_files(paths: Sequence[Path]) -> tuple[list[tuple[Path, Scenario]], list[str]]:
    """Load every file: the scenarios, and every problem of the files that cannot be used
    (``file:line: field: problem`` lines, in the files' order)."""
    from harness.scenarios.loading import load_scenario

    loaded, problems = [], []
    for path in paths:
        try:
            loaded.append((path, load_scenario(path)))
        except FileProblems as error:
            problems.extend(str(problem) for problem in error.problems)
    return loaded, problems


def group_files(loaded: Sequence[tuple[Path, Scenario]], given: Path | None
                ) -> tuple[dict[Path, list[tuple[Path, Scenario]]], list[str]]:
    """The scenarios by the group file each runs on (in the order of first use; see the
    module's description), and the problems: a ``group:`` that contradicts ``--group``, a
    broken group file, a name a scenario's group lacks (``file:line`` lines)."""
    from harness.group import load_group
    from harness.lambda_modules import module_problems
    from harness.scenarios.group_choice import scenario_group
    from harness.scenarios.runner import check_against_group
    from harness.simulation import DEFAULT_GROUP

    by_group: dict[Path, list[tuple[Path, Scenario]]] = {}
    problems: list[str] = []
    for path, scenario in loaded:
        group = None
        try:
            group = scenario_group(scenario, given)
            check_against_group(scenario, group or DEFAULT_GROUP)
        except FileProblems as error:
            problems.extend(str(problem) for problem in error.problems)
            if group is None and scenario.group is None:
                problems.append(f"{path}: (note) it names no group: and no --group was given,"
                                f" so it was checked against the default group {DEFAULT_GROUP}")
            continue
        group = group or DEFAULT_GROUP
        same = next((known for known in by_group if _same_file(known, group)), group)
        by_group.setdefault(same, []).append((path, scenario))
    for group in by_group:  # each loads: the names were checked against it
        problems.extend(str(problem) for problem in module_problems(group, load_group(group)))
    return by_group, list(dict.fromkeys(problems))  # a broken group file is said once


def _same_file(a: Path, b: Path) -> bool:
    try:
        return a.samefile(b)
    except OSError:
        return False


def run_files(paths: Sequence[Path] | Sequence[tuple[Path, Scenario]], rig: Rig,
              console: Console) -> tuple[list[RunResult], list[tuple[Path, str]]]:
    """Run each file (a path, or a path with its loaded scenario) on ``rig``: the results,
    and the files skipped with their reason."""
    from harness.scenarios.loading import load_scenario

    results, skipped = [], []
    with Progress(TextColumn("{task.description}"), BarColumn(),
                  TextColumn("{task.completed:,.0f} / {task.total:,.0f} s simulated"),
                  TimeElapsedColumn(), console=console, transient=False) as progress:
        for item in paths:
            path, scenario = item if isinstance(item, tuple) else (item, load_scenario(item))
            task = progress.add_task(f"{path.stem} on {rig.name}", total=scenario.duration)
            try:
                results.append(record_run(path, rig=rig, scenario=scenario,
                                          observers=[_Progress(progress, task)]))
            except (RigCannotRun, RigUnavailable) as error:
                progress.update(task, description=f"{path.stem}: skipped")
                skipped.append((path, str(error)))
    return results, skipped


def summary_table(results: Sequence[RunResult]) -> Table:
    table = Table(title="scenarios", show_lines=False)
    for column in ("scenario", "rig", "verdict", "met", "first failure"):
        table.add_column(column)
    for result in results:
        failures = result.failures
        first = min(failures, key=lambda o: (o.failed_at is None, o.failed_at or 0.0),
                    default=None)
        where = "" if first is None else (
            f"[{first.index}] at {first.failed_at:g} s, saw {first.value!r}: {first.label}"
            if first.failed_at is not None else f"[{first.index}] {first.label}")
        if not where and result.function_failures:
            where = f"Lambda: {result.function_failures[0]}"
        table.add_row(escape(result.scenario), result.rig,
                      "[green]passed[/]" if result.passed else "[red]FAILED[/]",
                      f"{len(result.outcomes) - len(failures)}/{len(result.outcomes)}",
                      escape(where))
    return table


def failure_lines(result: RunResult) -> list[str]:
    """A line per function and kind of Lambda failure the scenario did not expect (how
    often, the first one's time and message), then that one's last log lines, indented."""
    groups: dict[tuple[str, str], list[Any]] = {}
    for failure in result.function_failures:
        groups.setdefault((failure.function, failure.kind), []).append(failure)
    lines = []
    for (function, kind), failures in groups.items():
        first = failures[0]
        lines.append(f"lambda: {result.scenario}: {function} {kind} {len(failures)}x, first "
                     f"at {first.time:g} s: {first.message}")
        lines.extend(f"    {line}" for entry in first.log_tail for line in entry.splitlines())
    return lines


def write_report(results: Sequence[RunResult], folder: Path) -> Path:
    """Each run's folder (results, plots, HTML), ``junit.xml`` and ``index.html``."""
    from harness.report.junit import write_junit
    from harness.report.site import write_site

    write_junit(results, folder / "junit.xml")
    return write_site(results, folder)


def _report_problems(console: Console, problems: Sequence[str]) -> int:
    for line in problems:  # as they are: no markup, emoji codes (":100:") or wrapping
        print(line, file=sys.stderr)
    console.print(f"[red]{len(problems)} problem(s): no scenario was run[/]")
    return EXIT_BAD_FILE


def _run_groups(args: argparse.Namespace, by_group: dict[Path, list[tuple[Path, Scenario]]],
                console: Console) -> tuple[list[RunResult], list[tuple[Path, str]], list[str]]:
    """Each group's scenarios on a rig of that group, one group at a time (each rig closed
    before the next opens): the results, the scenarios skipped with why, and why each rig
    that could not be opened was not."""
    name = args.rig or default_rig()
    results: list[RunResult] = []
    skipped: list[tuple[Path, str]] = []
    unavailable: list[str] = []
    for group, items in by_group.items():
        try:
            rig = open_rig(name, group=group, pi_config=args.pi_config,
                           platform=args.platform)
        except RigUnavailable as error:
            reason = f"the {name} rig is not available: {error}"
            unavailable.append(reason if len(by_group) == 1 else f"{reason} (group {group})")
            skipped.extend((path, reason) for path, _ in items)
            continue
        try:
            done, passed_over = run_files(items, rig, console)
        finally:
            close = getattr(rig, "close", None)
            if close is not None:
                close()
        results.extend(done)
        skipped.extend(passed_over)
    return results, skipped, unavailable


def run(args: argparse.Namespace) -> int:
    from harness.commands.outputs import folder_problem

    console = Console(stderr=True)
    loaded, problems = load_files(args.scenarios)
    report_problem = folder_problem(args.report, "--report")
    if report_problem is not None:
        problems.append(report_problem)
    if problems:
        return _report_problems(console, problems)
    by_group, problems = group_files(loaded, args.group)
    if problems:
        return _report_problems(console, problems)
    results, skipped, unavailable = _run_groups(args, by_group, console)
    for reason in unavailable:
        print(reason, file=sys.stderr)
    if unavailable and not results:
        return EXIT_UNAVAILABLE
    out = Console(file=sys.stdout)
    if results:
        out.print(summary_table(results))
    for path, reason in skipped:
        out.print(f"[yellow]skipped[/] {escape(str(path))}: {escape(reason)}")
    for result in results:
        lost = {name: count for name, count in result.delivery.items()
                if count and "dropped" in name}
        if lost:
            out.print(f"dropped: {result.scenario}: " + ", ".join(
                f"{name} {count}" for name, count in lost.items()), highlight=False,
                markup=False)
        for text, count in result.problems.items():
            out.print(f"core: {result.scenario}: {count}x {text}", highlight=False,
                      markup=False)
        for line in failure_lines(result):
            out.print(line, highlight=False, markup=False)
        for outcome in result.failures:
            when = f"at {outcome.failed_at:g} s" if outcome.failed_at is not None else ""
            out.print(f"[red]FAILED[/] {escape(result.scenario)} [{outcome.index}] {when} "
                      f"(saw {escape(repr(outcome.value))}): {escape(outcome.label)}",
                      highlight=False)
    if args.report is not None and results:
        try:
            index = write_report(results, args.report)
        except OSError as error:
            print(f"--report {args.report}: cannot write the report: {error}", file=sys.stderr)
            return EXIT_BAD_FILE
        out.print(f"report: {escape(str(index))}")
    failed = any(not result.passed for result in results)
    if failed or (skipped and not args.allow_skips) or not results:
        return EXIT_FAILED
    return 0
