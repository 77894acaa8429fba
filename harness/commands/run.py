"""``python -m harness run SCENARIO... [--rig sim|broker|pi] [--report DIR]``.

Runs scenario files on a rig with a progress bar in simulated time, prints a summary table
(expectations met and failed, with the first failing time and the value seen), and exits 0
only when every expectation of every scenario holds. Every file is loaded (and checked
against the rig's group) before anything runs: a broken one is reported as
``file:line: field: problem`` and the command exits 2 without running any.
``--report DIR`` writes, per scenario, ``DIR/<scenario>/`` with ``results.json``, the PNG
plots and a self-contained ``report.html``, plus ``DIR/junit.xml`` and ``DIR/index.html``
over all of them.
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
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("scenarios", nargs="+", metavar="SCENARIO", type=Path,
                        help="scenario files (scenarios/*.yaml)")
    parser.add_argument("--rig", choices=RIGS, default=None,
                        help="sim (default off the Pi), broker, or pi (default on the Pi)")
    parser.add_argument("--report", type=Path, metavar="DIR",
                        help="write results.json, plots, report.html per scenario, and "
                             "junit.xml")
    parser.add_argument("--platform", choices=PLATFORMS, default="v2",
                        help="the Greengrass the core runs: v2 (default) or v1 (sim rig only)")
    parser.add_argument("--pi-config", type=Path, default=None,
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


def check_files(loaded: Sequence[tuple[Path, Scenario]], rig: Rig) -> list[str]:
    """Every problem of the scenarios with the rig's group (names it lacks), or with the
    group file itself."""
    from harness.scenarios.runner import check_against_rig

    problems = []
    for _, scenario in loaded:
        try:
            check_against_rig(scenario, rig)
        except FileProblems as error:
            problems.extend(str(problem) for problem in error.problems)
    return list(dict.fromkeys(problems))  # a broken group file is said once


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
            where = escape(f"Lambda: {result.function_failures[0]}")
        table.add_row(result.scenario, result.rig,
                      "[green]passed[/]" if result.passed else "[red]FAILED[/]",
                      f"{len(result.outcomes) - len(failures)}/{len(result.outcomes)}", where)
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


def run(args: argparse.Namespace) -> int:
    console = Console(stderr=True)
    loaded, problems = load_files(args.scenarios)
    if problems:
        return _report_problems(console, problems)
    name = args.rig or default_rig()
    try:
        rig = open_rig(name, pi_config=args.pi_config, platform=args.platform)
    except RigUnavailable as error:
        console.print(f"[red]the {name} rig is not available:[/] {error}")
        return EXIT_UNAVAILABLE
    try:
        problems = check_files(loaded, rig)
        if problems:
            return _report_problems(console, problems)
        results, skipped = run_files(loaded, rig, console)
    finally:
        close = getattr(rig, "close", None)
        if close is not None:
            close()
    out = Console(file=sys.stdout)
    if results:
        out.print(summary_table(results))
    for path, reason in skipped:
        out.print(f"[yellow]skipped[/] {path}: {reason}")
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
            out.print(f"[red]FAILED[/] {result.scenario} [{outcome.index}] {when} "
                      f"(saw {outcome.value!r}): {outcome.label}", highlight=False)
    if args.report is not None and results:
        index = write_report(results, args.report)
        out.print(f"report: {index}")
    failed = any(not result.passed for result in results)
    if failed or (skipped and not args.allow_skips) or not results:
        return EXIT_FAILED
    return 0
