"""python -m harness: scenarios on a rig with reports, the demo, deployment, and the tools
that turn a day on the Pi into a scenario (record, replay, compare)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from harness.commands import compare as compare_command
from harness.commands import init as init_command
from harness.commands import record as record_command
from harness.commands import replay as replay_command
from harness.commands import run as run_command
from harness.deploy import command as deploy

DEMO_NAME = Path("scenarios") / "rainy_day.yaml"


#: the exit status of a mistake on the command line (argparse's own too)
EXIT_USAGE = 2


def demo_scenario() -> Path | None:
    """The demo's scenario: in this checkout, or in the working directory's ``scenarios/``
    (an installed package carries no scenario files); None when neither has it."""
    for base in (Path(__file__).resolve().parents[1], Path.cwd()):
        if (base / DEMO_NAME).is_file():
            return base / DEMO_NAME
    return None


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m harness", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    demo = commands.add_parser(
        "demo", help="the main job: a simulated rainy day (scenarios/rainy_day.yaml) with a "
                     "report",
        description="Run scenarios/rainy_day.yaml (of this checkout, or of the working "
                    "directory) on the sim rig and write its report: python -m harness run "
                    "with the demo's scenario.")
    demo.add_argument("--report", type=Path, default=Path("reports/demo"), metavar="DIR",
                      help="where the report goes (default reports/demo)")
    demo.add_argument("--group", type=Path, default=None, metavar="FILE",
                      help="run the demo on this group file (a variant of the weather "
                           "station's; default lambdas/group.yaml)")
    commands.add_parser("shadow-tour", help="walk through the local Shadow service's rules")
    deploy.add_parser(commands)
    run_command.add_parser(commands)
    record_command.add_parser(commands)
    replay_command.add_parser(commands)
    compare_command.add_parser(commands)
    init_command.add_parser(commands)
    args = parser.parse_args(argv)
    if getattr(args, "run", None) is not None:
        return int(args.run(args))
    if args.command == "demo":
        scenario = demo_scenario()
        if scenario is None:
            print(f"error: no {DEMO_NAME} here: run the demo from the project folder",
                  file=sys.stderr)
            return EXIT_USAGE
        group = [] if args.group is None else ["--group", str(args.group)]
        # the run command's own parser, so each of its options has its default
        run_args = parser.parse_args(["run", str(scenario), "--rig", "sim",
                                      "--report", str(args.report), *group])
        return int(run_args.run(run_args))
    if args.command == "shadow-tour":
        from harness import shadow_tour

        shadow_tour.run()
    elif args.command == "deploy":
        return deploy.run(args)
    return 0
