"""Wall time of the whole scenario set on the ``sim`` rig.

Every ``scenarios/*.yaml`` runs with ``run_scenario(path)`` (the ``sim`` rig: the shipped
group on the simulated core under virtual time, the real device program on a simulated BME680),
the whole set ``--repeats`` times in turn (round-robin, so every scenario sees the same machine
across repeats; the first round also pays the one-off imports). Each run is timed from the
call to its return, so loading the file, opening and closing the session are included. Prints
each scenario's median wall time and simulated duration, the set's total (the sum of the
medians) and the set's simulated seconds per wall second (the sum of the durations over that
total). Every result must have passed; ``main`` returns the number of failed runs and the
module exits non-zero if there are any.

    python -m bench.scenario_set [--repeats N] [--folder DIR]
"""

from __future__ import annotations

import argparse
import gc
import os
import statistics
import sys
import time
from pathlib import Path

from harness.scenarios.runner import ScenarioResult, run_scenario

SCENARIOS = Path(__file__).resolve().parents[1] / "scenarios"


def timed_run(path: Path) -> tuple[float, ScenarioResult]:
    """Wall seconds of one ``run_scenario(path)`` on the sim rig, and its result."""
    gc.collect()  # start each timed run without the previous one's garbage
    start = time.perf_counter()
    result = run_scenario(path)
    return time.perf_counter() - start, result


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; the number of runs whose scenario did not pass."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--folder", type=Path, default=SCENARIOS)
    args = parser.parse_args(argv)
    paths = sorted(args.folder.glob("*.yaml"))
    if not paths:
        print(f"scenario set: no scenarios in {args.folder}")
        return 1

    load = os.getloadavg()[0]
    runs: dict[Path, list[float]] = {path: [] for path in paths}
    durations: dict[Path, float] = {}
    failures: list[ScenarioResult] = []
    for _ in range(args.repeats):
        for path in paths:
            seconds, result = timed_run(path)
            runs[path].append(seconds)
            durations[path] = result.duration
            if not result.passed:
                failures.append(result)

    medians = {path: statistics.median(times) for path, times in runs.items()}
    total = sum(medians.values())
    simulated = sum(durations.values())
    width = max(len("set total"), *(len(path.stem) for path in paths))
    print(f"scenario set on the sim rig: {len(paths)} scenarios, median of {args.repeats} "
          f"runs each (load average {load:.2f} on {os.cpu_count()} cores at the start)")
    for path in paths:
        print(f"  {path.stem:<{width}} : {medians[path] * 1000:8.1f} ms wall  "
              f"{durations[path]:7.0f} s simulated  "
              f"(runs: {', '.join(f'{s * 1000:.1f}' for s in runs[path])})")
    print(f"  {'set total':<{width}} : {total:8.2f} s wall   {simulated:7.0f} s simulated "
          "(sum of the medians)")
    print(f"  {'speed-up':<{width}} : {simulated / total:8,.0f} simulated s per wall s")
    if failures:
        print(f"  FAILED: {len(failures)} of {len(paths) * args.repeats} runs")
        for result in failures:
            print("    " + result.report().replace("\n", "\n    "))
    else:
        print(f"  all {len(paths) * args.repeats} runs passed")
    return len(failures)


if __name__ == "__main__":
    sys.exit(1 if main() else 0)
