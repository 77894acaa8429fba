"""``python -m harness compare RUN_A RUN_B [--tolerance Q=V,...] [--out DIR] [--force]``.

Compares what the Shadow reported in two runs of the same scenario (for example on ``sim``
and on the ``pi`` rig), aligned in scenario time: reported temperature, pressure, humidity,
rain probability, rain prediction (any disagreement) and the Shadow version's growth rate.
Prints a table and the stretches of time outside tolerance, each with its largest
difference. RUN_A and RUN_B are ``results.json`` files or report folders. ``--out DIR``
writes ``compare.json`` and ``compare.png`` (both runs over time, stretches shaded).

Exit status: 0 when nothing is outside tolerance, 1 when something is, 2 when the runs
cannot be compared (missing or bad files, different scenarios without ``--force``, no time
in common).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from harness.commands.help_text import plain
from harness.report.compare import (
    DEFAULT_TOLERANCES,
    VERSION_RATE,
    NotComparable,
    compare_runs,
    load_run,
    parse_tolerances,
    write_comparison,
)

EXIT_DIFFERENT, EXIT_UNUSABLE = 1, 2

_DEFAULTS = ", ".join(f"{name}={value:g}" for name, value in DEFAULT_TOLERANCES.items())


def _tolerances(text: str) -> dict[str, float]:
    try:
        return parse_tolerances(text, base={})
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def add_parser(commands: Any) -> None:
    """Add the ``compare`` subcommand to ``commands`` (an argparse subparsers object)."""
    parser = commands.add_parser(
        "compare", help="compare two runs of a scenario (results files or report folders)",
        description=plain(__doc__), formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("run_a", metavar="RUN_A", type=Path,
                        help="results.json or a report folder (the reference)")
    parser.add_argument("run_b", metavar="RUN_B", type=Path,
                        help="results.json or a report folder (compared with RUN_A)")
    parser.add_argument("--tolerance", type=_tolerances, action="append", default=[],
                        metavar="Q=V,...",
                        help=f"largest |B-A| that is no difference, per quantity (defaults: "
                             f"{_DEFAULTS}; {VERSION_RATE}=N judges the Shadow's updates per "
                             "minute too); may be repeated")
    parser.add_argument("--out", type=Path, metavar="DIR",
                        help="write compare.json and compare.png to DIR")
    parser.add_argument("--force", action="store_true",
                        help="compare runs of different scenarios anyway")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Compare the two runs; the exit status (see the module's description)."""
    tolerances = dict(DEFAULT_TOLERANCES)
    for given in args.tolerance:
        tolerances.update(given)
    try:
        a, b = load_run(args.run_a), load_run(args.run_b)
        comparison = compare_runs(a, b, tolerances, force=args.force,
                                  a_name=str(args.run_a), b_name=str(args.run_b))
    except (NotComparable, FileNotFoundError, ValueError) as error:
        print(f"cannot compare: {error}", file=sys.stderr)
        return EXIT_UNUSABLE
    from harness.commands.outputs import folder_problem

    problem = folder_problem(args.out, "--out")
    if problem is not None:
        print(f"cannot compare: {problem}", file=sys.stderr)
        return EXIT_UNUSABLE
    print(comparison.summary())
    if args.out is not None:
        data, plot = write_comparison(comparison, args.out)
        print(f"wrote {data} and {plot}")
    return 0 if comparison.passed else EXIT_DIFFERENT
