"""``python -m harness compare RUN_A RUN_B [--tolerance Q=V,...] [--group FILE] [--thing NAME]
[--out DIR] [--force]``.

Compares what the Shadows reported in two runs of the same scenario (for example on ``sim``
and on the ``pi`` rig, or before and after a change), aligned in scenario time: every Shadow
both runs recorded (the same thing and name) and every reported field of it both have, and
the main Shadow version's growth rate. A numeric field is outside tolerance when |B-A| is
above its ``--tolerance FIELD=V`` (default 0: equal); a true/false field at any
disagreement. For the weather station (and results files without Shadows of their own) the
station's Shadow is compared as before: temperature, pressure, humidity, rain probability,
rain prediction (any disagreement), with the defaults below.
Prints a table and the stretches of time outside tolerance, each with its largest
difference. RUN_A and RUN_B are ``results.json`` files or report folders. ``--out DIR``
writes ``compare.json`` and ``compare.png`` (both runs over time, stretches shaded).

``--group FILE``: the group the runs were of; each compared thing must be one it knows (its
core's, a device's, or one a function's ShadowManager access names). ``--thing NAME``:
compare that thing's Shadows only.

Exit status: 0 when nothing is outside tolerance, 1 when something is, 2 when the runs
cannot be compared (missing or bad files, a bad group, a thing the group does not know,
different scenarios without ``--force``, no time in common).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from harness.commands.help_text import plain
from harness.report.compare import (
    DEFAULT_TOLERANCES,
    GENERIC_TOLERANCE,
    VERSION_RATE,
    NotComparable,
    compare_runs,
    compared_things,
    load_run,
    parse_tolerances,
    unknown_tolerances,
    write_comparison,
)

EXIT_DIFFERENT, EXIT_UNUSABLE = 1, 2

_DEFAULTS = ", ".join(f"{name}={value:g}" for name, value in DEFAULT_TOLERANCES.items())


def _tolerances(text: str) -> dict[str, float]:
    try:
        return parse_tolerances(text, base={}, any_name=True)
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
                        help=f"largest |B-A| that is no difference, per field (the station's "
                             f"defaults: {_DEFAULTS}; any other numeric field: "
                             f"{GENERIC_TOLERANCE:g}, true/false fields: any disagreement; "
                             f"{VERSION_RATE}=N judges the Shadow's updates per minute too); "
                             "may be repeated")
    parser.add_argument("--group", type=Path, metavar="FILE",
                        help="the group file the runs were of: the compared things must be "
                             "ones it knows")
    parser.add_argument("--thing", metavar="NAME",
                        help="compare only the Shadows of this thing")
    parser.add_argument("--out", type=Path, metavar="DIR",
                        help="write compare.json and compare.png to DIR")
    parser.add_argument("--force", action="store_true",
                        help="compare runs of different scenarios anyway")
    parser.set_defaults(run=run, compare_parser=parser)


def run(args: argparse.Namespace) -> int:
    """Compare the two runs; the exit status (see the module's description)."""
    tolerances = dict(DEFAULT_TOLERANCES)
    for given in args.tolerance:
        tolerances.update(given)
    try:
        a, b = load_run(args.run_a), load_run(args.run_b)
        problem = _group_problem(args.group, a, b, args.thing)
        if problem is not None:
            print(f"cannot compare: {problem}", file=sys.stderr)
            return EXIT_UNUSABLE
        unknown = unknown_tolerances(tolerances, a, b, args.thing)
        if unknown is not None:
            args.compare_parser.error(unknown)
        comparison = compare_runs(a, b, tolerances, force=args.force,
                                  a_name=str(args.run_a), b_name=str(args.run_b),
                                  only_thing=args.thing)
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


def _group_problem(group_file: Path | None, a: Any, b: Any, thing: str | None) -> str | None:
    """What is wrong with ``--group``: a group file that does not load, or a compared thing
    (or ``--thing``) the group does not know; None when all is well (or no group given)."""
    if group_file is None:
        return None
    from harness.group import GroupError, listing, load_group
    from harness.scenarios.group_names import shadow_things
    from harness.yaml_files import did_you_mean

    try:
        group = load_group(group_file)
    except GroupError as error:
        return str(error)
    known, anything = shadow_things(group)
    if anything:
        return None
    for name in ([thing] if thing is not None else []) + compared_things(a, b):
        if name not in known:
            return (f"thing {name!r} is not one group {group.name!r} ({group_file}) knows"
                    f"{did_you_mean(name, known)} (things: {listing(known)}); were the runs "
                    "of another group?")
    return None
