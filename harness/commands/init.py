"""``python -m harness init DIR``: a starting project of your own in DIR.

Writes a group file, one Lambda (Greengrass V2 and V1, as AWS recommends for each), a pytest
test using the harness's plugin, a scenario and a README; ``pytest`` and ``python -m harness
run scenarios/*.yaml`` pass on it at once. Existing files are left alone unless ``--force``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

EXIT_BAD_USE = 2


def add_parser(commands: Any) -> None:
    parser = commands.add_parser(
        "init", help="write a starting project (group, Lambda, test, scenario) into DIR",
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("folder", type=Path, metavar="DIR",
                        help="the project folder (made if missing)")
    parser.add_argument("--name", default=None,
                        help="the group's name (default: the folder's name)")
    parser.add_argument("--force", action="store_true",
                        help="overwrite files the project already has")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from harness.scaffold import ScaffoldError, write_project

    try:
        written = write_project(args.folder, name=args.name, force=args.force)
    except ScaffoldError as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_BAD_USE
    except OSError as error:
        print(f"error: {args.folder}: {error.strerror or error}", file=sys.stderr)
        return EXIT_BAD_USE
    for path in written:
        print(f"wrote {path}")
    print(f"\nnext: cd {args.folder} && pytest && python -m harness run scenarios/*.yaml")
    return 0
