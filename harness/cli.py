"""``python -m harness``: the front door."""

from __future__ import annotations

import argparse
from collections.abc import Sequence


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m harness", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("demo", help="walk through the local Shadow service")
    args = parser.parse_args(argv)
    if args.command == "demo":
        from harness import shadow_tour

        shadow_tour.run()
    return 0
