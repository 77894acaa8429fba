"""One simulated day through the republish Lambda on the simulated core.

A device publishes a reading every 5 s (17,280 in a day) into the real ``lambdas/republish.py``
running on the simulated core with the real greengrasssdk (the shipped group cut down to
republish and its subscription, so only its work is measured). Prints the wall time, the
simulated-to-wall speed-up (target: at least 10,000 x real time) and the harness overhead per
routed message as a ratio to calling the same handler directly, in a loop, with the same SDK
answered by a minimal in-process daemon (target: at most 5).

    python -m bench.sim_day [--hours H] [--repeats N]
"""

from __future__ import annotations

import argparse
import base64
import gc
import itertools
import json
import logging
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from fakes import ipc_backend
from fakes.core_modules import core_runtime_on_path, forget_core_modules
from fakes.shadow import ShadowService
from harness.group import Group, load_group
from harness.simulation import DEFAULT_GROUP, Simulation

PERIOD = 5.0
TARGET_SPEEDUP = 10_000.0
TARGET_OVERHEAD = 5.0


def readings(count: int, seed: int = 0) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    return [{"sequence": n, "temperature": round(18 + 6 * rng.random(), 2),
             "pressure": round(1005 + 10 * rng.random(), 2),
             "humidity": round(40 + 30 * rng.random(), 2), "message": "Success"}
            for n in range(1, count + 1)]


def republish_only() -> Group:
    """The shipped group cut down to the republish Lambda and its subscriptions."""
    group = load_group(DEFAULT_GROUP)
    return group.model_copy(update={
        "functions": [group.function("republish")],
        "subscriptions": [s for s in group.subscriptions
                          if "function:republish" in (s.source, s.target)],
    })


def run_simulation(count: int) -> tuple[float, int]:
    """Wall seconds for ``count`` readings on the simulated core; returns the shadow version."""
    batch = readings(count)
    with Simulation(republish_only(), code_dir=DEFAULT_GROUP.parent) as sim:
        pending = iter(batch)

        def publish() -> None:
            reading = next(pending, None)
            if reading is not None:
                sim.publish("bme680-sensor", "bme680/readings", reading)
                sim.scheduler.call_later(PERIOD, publish)

        sim.scheduler.call_soon(publish)
        gc.collect()  # start each timed run without the previous one's garbage
        start = time.perf_counter()
        sim.run(count * PERIOD + 30)
        elapsed = time.perf_counter() - start
        stats = sim.stats("republish")
        assert stats.completed == count, stats
        version = sim.shadow("weather-station")["version"]
    return elapsed, version


class DirectDaemon:
    """The least a daemon must do for republish's SDK calls: shadow updates answered by the
    Shadow service, publishes accepted."""

    def __init__(self) -> None:
        self.shadow = ShadowService()
        self.results: dict[str, tuple[bytes, str | None]] = {}
        self.ids = (str(n) for n in itertools.count())

    def post_work(self, function_arn: str, payload: bytes, client_context: str | None,
                  invocation_type: str, auth_token: str | None) -> str:
        invocation_id = next(self.ids)
        if function_arn.endswith("GGShadowService"):
            subject = json.loads(base64.b64decode(client_context or ""))["custom"]["subject"]
            self.results[invocation_id] = (self.shadow.handle(subject, payload)[0][1], None)
        return invocation_id

    def get_work_result(self, function_arn: str, invocation_id: str, auth_token: str | None
                        ) -> tuple[bytes, str | None]:
        return self.results.pop(invocation_id)

    def get_work(self, *args: Any) -> Any:
        raise NotImplementedError

    post_work_result = post_handler_err = get_work


def run_direct(count: int) -> float:
    """Wall seconds for calling republish's handler ``count`` times directly."""
    batch = readings(count)
    folder = Path(tempfile.mkdtemp())
    (folder / "temp").write_text("45000\n")
    environment = {
        "THING_NAME": "weather-station", "CPU_SAMPLES": "8", "CPU_SAMPLE_INTERVAL": "1",
        "CPU_TEMP_PATH": str(folder / "temp"), "GG_DAEMON_PORT": "8000",
        "AWS_CONTAINER_AUTHORIZATION_TOKEN": "token",
        "MY_FUNCTION_ARN": "arn:aws:lambda:us-east-1:123456789012:function:republish:1",
        "SHADOW_FUNCTION_ARN": "arn:aws:lambda:::function:GGShadowService",
        "ROUTER_FUNCTION_ARN": "arn:aws:lambda:::function:GGRouter",
    }
    saved_environ = dict(os.environ)
    os.environ.update(environment)
    real_sleep = time.sleep
    time.sleep = lambda seconds: None  # the direct call does not wait either
    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.INFO)
    records: list[logging.LogRecord] = []
    handler = logging.Handler()
    handler.emit = records.append  # type: ignore[method-assign]
    root.addHandler(handler)
    sys.path.insert(0, str(DEFAULT_GROUP.parent))
    try:
        with core_runtime_on_path(), ipc_backend.backend_installed(DirectDaemon()):
            forget_core_modules()
            sys.modules.pop("republish", None)
            import republish  # type: ignore[import-not-found]

            gc.collect()
            start = time.perf_counter()
            for reading in batch:
                republish.function_handler(reading, None)
            elapsed = time.perf_counter() - start
            sys.modules.pop("republish", None)
            forget_core_modules()
    finally:
        sys.path.remove(str(DEFAULT_GROUP.parent))
        root.removeHandler(handler)
        root.setLevel(level)
        time.sleep = real_sleep
        os.environ.clear()
        os.environ.update(saved_environ)
    return elapsed


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hours", type=float, default=24.0)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args(argv)
    count = int(args.hours * 3600 / PERIOD)

    sim_runs, direct_runs = [], []
    for _ in range(args.repeats):  # interleaved, so both see the same machine
        sim_seconds, version = run_simulation(count)
        sim_runs.append(sim_seconds)
        direct_runs.append(run_direct(count))
    sim_wall = statistics.median(sim_runs)
    direct_wall = statistics.median(direct_runs)
    simulated = count * PERIOD
    speedup = simulated / sim_wall
    overhead = sim_wall / direct_wall
    print(f"republish Lambda, {count:,} readings = {simulated / 3600:.1f} simulated hours "
          f"(median of {args.repeats} runs; shadow version {version:,})")
    print(f"  simulated core wall time : {sim_wall:8.2f} s   "
          f"(runs: {', '.join(f'{s:.2f}' for s in sim_runs)})")
    print(f"  direct handler calls     : {direct_wall:8.2f} s   "
          f"(runs: {', '.join(f'{s:.2f}' for s in direct_runs)})")
    print(f"  speed-up over real time  : {speedup:10,.0f} x  "
          f"({'meets' if speedup >= TARGET_SPEEDUP else 'MISSES'} the target of "
          f"{TARGET_SPEEDUP:,.0f} x)")
    print(f"  per message, sim/direct  : {overhead:10.2f} x  "
          f"({'meets' if overhead <= TARGET_OVERHEAD else 'MISSES'} the target of at most "
          f"{TARGET_OVERHEAD:.0f} x)")
    print(f"  per message              : {sim_wall / count * 1e6:8.0f} us simulated core, "
          f"{direct_wall / count * 1e6:.0f} us direct")


if __name__ == "__main__":
    main()
