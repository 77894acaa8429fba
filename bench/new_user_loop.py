"""A new user's loop: ``harness init`` + ``pytest`` + ``harness run`` on the starting project.

Each round makes a temporary folder outside this checkout and runs, as a user would from a
shell in that folder with the package installed (this interpreter), the three commands of
the README's "Test your own Lambda":

    python -m harness init proj
    cd proj && python -m pytest -q
    python -m harness run scenarios/*.yaml --report reports/run

and times each one's wall time (process start included: that is what the user waits for).
Prints each step's median over the rounds and the loop's total; a step that fails stops the
bench with its output (the loop must pass at once).

    python -m bench.new_user_loop [--rounds N]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

STEPS = (
    ("init", ["-m", "harness", "init", "proj"], "."),
    ("pytest", ["-m", "pytest", "-q", "-p", "no:cacheprovider"], "proj"),
    ("harness run", ["-m", "harness", "run", "scenarios/humid_afternoon.yaml",
                     "--report", "reports/run"], "proj"),
)


def one_round() -> dict[str, float]:
    """Each step's wall time in seconds, in a fresh temporary folder."""
    times = {}
    env = {**os.environ, "NO_COLOR": "1"}
    with tempfile.TemporaryDirectory(prefix="gg-new-user-") as base:
        for name, args, where in STEPS:
            started = time.perf_counter()
            done = subprocess.run([sys.executable, *args], cwd=Path(base) / where, env=env,
                                  capture_output=True, text=True, check=False)
            times[name] = time.perf_counter() - started
            if done.returncode != 0:
                raise SystemExit(f"{name} failed (exit {done.returncode}):\n"
                                 f"{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
    return times


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args(argv)
    rounds = [one_round() for _ in range(args.rounds)]
    print(f"new user's loop (init + pytest + harness run), {args.rounds} rounds, "
          f"{os.cpu_count()} CPUs, wall time:")
    for name, _, _ in STEPS:
        values = [r[name] for r in rounds]
        print(f"  {name:<12} median {statistics.median(values):6.2f} s  "
              f"(min {min(values):.2f}, max {max(values):.2f})")
    totals = [sum(r.values()) for r in rounds]
    print(f"  {'total':<12} median {statistics.median(totals):6.2f} s")


if __name__ == "__main__":
    main()
