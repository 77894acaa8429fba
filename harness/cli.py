"""``python -m harness``: the front door."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from harness.deploy import command as deploy


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m harness", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    demo = commands.add_parser("demo", help="simulate a day of the weather station")
    demo.add_argument("--hours", type=float, default=24.0, help="simulated hours (default 24)")
    demo.add_argument("--seed", type=int, default=0)
    commands.add_parser("shadow-tour", help="walk through the local Shadow service's rules")
    deploy.add_parser(commands)
    args = parser.parse_args(argv)
    if args.command == "demo":
        from harness.demo_day import simulate_day

        def progress(elapsed: float) -> None:
            print(f"\r  simulated {elapsed / 3600:5.1f} h of {args.hours:g} h",
                  end="", file=sys.stderr, flush=True)

        summary = simulate_day(hours=args.hours, seed=args.seed, progress=progress)
        print(file=sys.stderr)
        print("\n".join(summary.lines()))
    elif args.command == "shadow-tour":
        from harness import shadow_tour

        shadow_tour.run()
    elif args.command == "deploy":
        return deploy.run(args)
    return 0
