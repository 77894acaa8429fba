"""Running the commands as ``python -m harness`` does, without depending on its parser."""

from __future__ import annotations

import argparse
from pathlib import Path

from harness.commands import compare, record, replay

ROOT = Path(__file__).resolve().parents[2]
EVENING_FRONT = ROOT / "scenarios" / "traces" / "evening_front.jsonl"
STEADY_WEATHER = ROOT / "scenarios" / "steady_weather.yaml"


def harness(*argv: str | Path) -> int:
    """``python -m harness <argv>`` for the record, replay and compare commands: the exit
    status (argparse's usage errors raise ``SystemExit(2)``)."""
    parser = argparse.ArgumentParser(prog="python -m harness")
    commands = parser.add_subparsers(dest="command", required=True)
    for module in (record, replay, compare):
        module.add_parser(commands)
    args = parser.parse_args([str(arg) for arg in argv])
    return int(args.run(args))
