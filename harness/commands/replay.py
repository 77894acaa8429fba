"""``python -m harness replay TRACE [--scenario FILE] [--report DIR] [--rig sim] [--group FILE]``.

Turns a trace (``python -m device --record`` or ``python -m harness record`` on the Pi) into
a scenario, with the same generator as ``record`` (the trace as the environment, its
period, expectations that hold for any healthy run), runs it and prints the verdict. The
scenario goes to ``--scenario FILE`` when given, else into the ``--report`` folder, else a
temporary file. ``--report DIR`` writes the run's report as ``python -m harness run``
does (``results.json``, plots, ``report.html``, ``junit.xml``). ``--group FILE`` runs it on
that group (default: the weather station's ``lambdas/group.yaml``) and writes it into the
scenario as its ``group:``; the scenario checks the station's names (``bme680-sensor``,
``republish``), so a group without them is refused before the run, naming each.

Exit status: 0 when every expectation holds, 1 when one fails, 2 when the trace is bad
(file, line and problem are named) or the rig cannot run it.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path
from typing import Any

from harness.commands.help_text import plain
from harness.commands.record import positive_number, write_scenario
from harness.report.results import RunResult

EXIT_FAILED, EXIT_UNAVAILABLE = 1, 2


def add_parser(commands: Any) -> None:
    """Add the ``replay`` subcommand to ``commands`` (an argparse subparsers object)."""
    from harness.rigs.select import RIGS

    parser = commands.add_parser(
        "replay", help="replay a recorded trace as a scenario and print the verdict",
        description=plain(__doc__), formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("trace", metavar="TRACE", type=Path,
                        help="a trace file (.jsonl or .csv) as the device program records it")
    parser.add_argument("--scenario", type=Path, metavar="FILE",
                        help="write the generated scenario here (kept after the run)")
    parser.add_argument("--report", type=Path, metavar="DIR",
                        help="write the run's report (results.json, plots, report.html)")
    parser.add_argument("--rig", choices=RIGS, default="sim",
                        help="sim (default) or broker: a trace needs a simulated chip")
    parser.add_argument("--period", type=positive_number, default=None, metavar="S",
                        help="the device's period in seconds (default: the trace's)")
    parser.add_argument("--cpu-temperature", type=float, default=None, metavar="C",
                        help="the CPU temperature republish compensates with (default 45: "
                             "use the Pi's during the recording)")
    parser.add_argument("--pi-config", type=Path, default=None, metavar="FILE",
                        help="the pi rig's config file (only with --rig pi)")
    parser.add_argument("--group", type=Path, default=None, metavar="FILE",
                        help="the group file to run on (default: the weather station's "
                             "lambdas/group.yaml); written into the scenario as group:")
    parser.set_defaults(run=run)


def verdict(result: RunResult) -> str:
    """The run's verdict and each expectation's outcome, one a line."""
    met = len(result.outcomes) - len(result.failures)
    state = "passed" if result.passed else "FAILED"
    lines = [f"{result.scenario!r} on {result.rig}: {state} ({met}/{len(result.outcomes)} "
             "expectations met)"]
    for outcome in result.outcomes:
        if outcome.met:
            lines.append(f"  [{outcome.index}] met: {outcome.label}")
        else:
            when = f" at {outcome.failed_at:g} s" if outcome.failed_at is not None else ""
            lines.append(f"  [{outcome.index}] FAILED{when} (saw {outcome.value!r}): "
                         f"{outcome.label}")
    return "\n".join(lines)


def replay(trace: Path, scenario: Path, *, rig_name: str = "sim",
           period: float | None = None, cpu_temperature: float | None = None,
           pi_config: Path | None = None, group: Path | None = None) -> RunResult:
    """Write the scenario replaying ``trace`` to ``scenario`` and run it on the rig called
    ``rig_name`` of ``group`` (default: the weather station's). Raises
    :class:`~device.recorder.TraceFormatError` for a bad trace,
    :class:`~harness.rigs.base.RigUnavailable` or
    :class:`~harness.rigs.base.RigCannotRun` when the rig cannot run it."""
    from harness.report.results import record_run
    from harness.rigs.select import open_rig

    write_scenario(trace, scenario, period=period, cpu_temperature=cpu_temperature,
                   command="replay", group=group)
    rig = open_rig(rig_name, group=group, pi_config=pi_config)
    try:
        return record_run(scenario, rig=rig)
    finally:
        close = getattr(rig, "close", None)
        if close is not None:
            close()


def run(args: argparse.Namespace) -> int:
    """Replay the trace; the exit status (see the module's description)."""
    from device.recorder import TraceFormatError
    from harness.commands.outputs import file_problem, folder_problem
    from harness.rigs.base import RigCannotRun, RigUnavailable
    from harness.yaml_files import FileProblems

    problem = (file_problem(args.scenario, "--scenario")
               or folder_problem(args.report, "--report"))
    if problem is not None:
        print(f"error: {problem}", file=sys.stderr)
        return EXIT_UNAVAILABLE
    with tempfile.TemporaryDirectory(prefix="replay-") as scratch:
        if args.scenario is not None:
            scenario = args.scenario
        elif args.report is not None:
            scenario = args.report / f"{args.trace.stem}.yaml"
        else:
            scenario = Path(scratch) / f"{args.trace.stem}.yaml"
        try:
            result = replay(args.trace, scenario, rig_name=args.rig, period=args.period,
                            cpu_temperature=args.cpu_temperature, pi_config=args.pi_config,
                            group=args.group)
        except RigUnavailable as error:
            print(f"error: the {args.rig} rig is not available: {error}", file=sys.stderr)
            return EXIT_UNAVAILABLE
        # FileProblems: the scenario made from the trace breaks a limit (harness.limits), the
        # group file is broken or lacks a name the scenario uses
        except (TraceFormatError, FileExistsError, FileProblems, RigCannotRun) as error:
            print(f"error: {error}" if not isinstance(error, FileProblems) else error,
                  file=sys.stderr)
            return EXIT_UNAVAILABLE
    print(verdict(result))
    if args.scenario is not None or args.report is not None:
        print(f"scenario: {scenario}")
    if args.report is not None:
        from harness.commands.run import write_report

        print(f"report: {write_report([result], args.report)}")
    return 0 if result.passed else EXIT_FAILED
