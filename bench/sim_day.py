"""One simulated day through the republish Lambda on the simulated core, V1 and V2.

A device publishes a reading every 5 s (17,280 in a day) into the real ``lambdas/republish.py``
running on the simulated core (the shipped group cut down to republish and its subscription,
so only its work is measured). Readings without ``boot_id`` are written unconditionally: one
Shadow update per reading. On each core path:

* ``v1``: a Greengrass V1 core; republish updates the Shadow with the real greengrasssdk.
  The direct call: the same handler in a loop, the same SDK answered by a minimal
  in-process daemon (target: at most 5 x).
* ``v2``: a Greengrass V2 core; republish updates the Shadow with the real
  ``GreengrassCoreIPCClientV2`` (through ``lambdas/shadow_client.py``) over the simulated
  nucleus's IPC. The direct call: the same handler in a loop, the same IPC client against
  the least nucleus it needs (the IPC server with ShadowManager on a Shadow service, on the
  same kind of socket, its threads on one CPU as the simulated core keeps them), without
  scheduler, router or containers (target: at most 1.5 x).

Prints, for each, the wall time, the simulated-to-wall speed-up (target: at least 10,000 x
real time) and the harness overhead per routed message as the ratio of the simulated core's
wall time to the direct calls'. Runs alternate, so both see the same machine.

    python -m bench.sim_day [--hours H] [--repeats N] [--core v1|v2|both]
"""

from __future__ import annotations

import argparse
import base64
import contextlib
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
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Literal

from fakes import ipc_backend
from fakes.core_modules import core_runtime_on_path, forget_core_modules
from fakes.nucleus_ipc import NucleusIpcServer, TokenRegistry
from fakes.nucleus_ipc.services import AccessControl, InMemoryPubSub, ShadowManagerIpc
from fakes.shadow import ShadowService
from harness.clock import DEFAULT_EPOCH
from harness.group import Group, load_group
from harness.nucleus import CoreNucleus, component_name
from harness.one_cpu import one_cpu
from harness.simulation import DEFAULT_GROUP, Simulation

Core = Literal["v1", "v2"]
PERIOD = 5.0
THING = "weather-station"
TARGET_SPEEDUP = 10_000.0
#: sim/direct per message, by core path
TARGET_OVERHEAD: dict[str, float] = {"v1": 5.0, "v2": 1.5}


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


def run_simulation(count: int, core: Core = "v2") -> tuple[float, int]:
    """Wall seconds for ``count`` readings on the simulated core; returns the shadow version."""
    batch = readings(count)
    with Simulation(republish_only(), code_dir=DEFAULT_GROUP.parent, mode=core) as sim:
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
        version = sim.shadow(THING)["version"]
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


@contextlib.contextmanager
def direct_republish(environment: dict[str, str]) -> Iterator[Any]:
    """republish imported afresh outside any core, with ``environment`` in ``os.environ``,
    ``time.sleep`` a no-op (the simulated core does not wait either) and its log records
    kept as the core keeps them."""
    folder = Path(tempfile.mkdtemp())
    (folder / "temp").write_text("45000\n")
    environment = {"THING_NAME": THING, "CPU_SAMPLES": "8", "CPU_SAMPLE_INTERVAL": "1",
                   "CPU_TEMP_PATH": str(folder / "temp"), **environment}
    saved_environ = dict(os.environ)
    os.environ.update(environment)
    real_sleep = time.sleep
    time.sleep = lambda seconds: None
    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.INFO)
    records: list[logging.LogRecord] = []
    handler = logging.Handler()
    handler.emit = records.append  # type: ignore[method-assign]
    root.addHandler(handler)
    sys.path.insert(0, str(DEFAULT_GROUP.parent))
    try:
        with core_runtime_on_path():
            forget_core_modules()
            for name in ("republish", "shadow_client"):
                sys.modules.pop(name, None)
            import republish  # type: ignore[import-not-found]

            try:
                yield republish
            finally:
                for name in ("republish", "shadow_client"):
                    sys.modules.pop(name, None)
                forget_core_modules()
    finally:
        sys.path.remove(str(DEFAULT_GROUP.parent))
        root.removeHandler(handler)
        root.setLevel(level)
        time.sleep = real_sleep
        os.environ.clear()
        os.environ.update(saved_environ)


def _timed_loop(handler: Any, batch: list[dict[str, Any]],
                before_each: Any = None) -> float:
    gc.collect()
    start = time.perf_counter()
    for reading in batch:
        if before_each is not None:
            before_each()
        handler(reading, None)
    return time.perf_counter() - start


def run_direct(count: int) -> float:
    """V1: wall seconds for calling republish's handler ``count`` times directly, its
    greengrasssdk answered by :class:`DirectDaemon`."""
    batch = readings(count)
    environment = {
        "GG_DAEMON_PORT": "8000", "AWS_CONTAINER_AUTHORIZATION_TOKEN": "token",
        "MY_FUNCTION_ARN": "arn:aws:lambda:us-east-1:123456789012:function:republish:1",
        "SHADOW_FUNCTION_ARN": "arn:aws:lambda:::function:GGShadowService",
        "ROUTER_FUNCTION_ARN": "arn:aws:lambda:::function:GGRouter",
    }
    with ipc_backend.backend_installed(DirectDaemon()), \
            direct_republish(environment) as republish:
        return _timed_loop(republish.function_handler, batch)


class DirectNucleus:
    """The least a nucleus must do for republish's IPC calls: the IPC server with
    ShadowManager (republish's ``accessControl``, the rate limits, local publications to a
    pub/sub nobody listens to) on a Shadow service, on a clock the caller moves."""

    def __init__(self, group: Group) -> None:
        function = group.function("republish")
        self.component = component_name(group.name, function.name)
        self.now = DEFAULT_EPOCH
        self.shadow = ShadowService(clock=self.clock)
        access = AccessControl()
        access.set_component(self.component, function.access_control)
        self.server = NucleusIpcServer(
            [ShadowManagerIpc(self.shadow, access, pubsub=InMemoryPubSub(), clock=self.clock)],
            tokens=TokenRegistry(random.Random(0)))

    def clock(self) -> float:
        return self.now

    def tick(self) -> None:
        self.now += PERIOD


def run_direct_v2(count: int) -> float:
    """V2: wall seconds for calling republish's handler ``count`` times directly, its
    IPC client connected to a :class:`DirectNucleus`."""
    batch = readings(count)
    nucleus = DirectNucleus(republish_only())
    with one_cpu(CoreNucleus.one_cpu), nucleus.server:  # threads placed as the core's
        environment = nucleus.server.environment(nucleus.component)
        with direct_republish(environment) as republish:
            try:
                elapsed = _timed_loop(republish.function_handler, batch, nucleus.tick)
            finally:
                ipc = republish.iot_data._ipc
                if ipc is not None:
                    ipc.close()
    version = nucleus.shadow.version(THING)
    assert version == count, version
    return elapsed


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hours", type=float, default=24.0)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--core", choices=("v1", "v2", "both"), default="both")
    args = parser.parse_args(argv)
    count = int(args.hours * 3600 / PERIOD)
    cores: list[Core] = ["v1", "v2"] if args.core == "both" else [args.core]
    direct = {"v1": run_direct, "v2": run_direct_v2}
    for number, core in enumerate(cores):
        if number:
            print()
        sim_runs, direct_runs = [], []
        for _ in range(args.repeats):  # interleaved, so both see the same machine
            sim_seconds, version = run_simulation(count, core)
            sim_runs.append(sim_seconds)
            direct_runs.append(direct[core](count))
        report(core, count, args.repeats, version, sim_runs, direct_runs)


def report(core: str, count: int, repeats: int, version: int, sim_runs: list[float],
           direct_runs: list[float]) -> None:
    sim_wall = statistics.median(sim_runs)
    direct_wall = statistics.median(direct_runs)
    simulated = count * PERIOD
    speedup = simulated / sim_wall
    overhead = sim_wall / direct_wall
    target = TARGET_OVERHEAD[core]
    client = "greengrasssdk" if core == "v1" else "GreengrassCoreIPCClientV2 over the IPC"
    print(f"republish Lambda on a {core.upper()} core ({client}), {count:,} readings = "
          f"{simulated / 3600:.1f} simulated hours (median of {repeats} runs; shadow version "
          f"{version:,})")
    print(f"  simulated core wall time : {sim_wall:8.2f} s   "
          f"(runs: {', '.join(f'{s:.2f}' for s in sim_runs)})")
    print(f"  direct handler calls     : {direct_wall:8.2f} s   "
          f"(runs: {', '.join(f'{s:.2f}' for s in direct_runs)})")
    print(f"  speed-up over real time  : {speedup:10,.0f} x  "
          f"({'meets' if speedup >= TARGET_SPEEDUP else 'MISSES'} the target of "
          f"{TARGET_SPEEDUP:,.0f} x)")
    print(f"  per message, sim/direct  : {overhead:10.2f} x  "
          f"({'meets' if overhead <= target else 'MISSES'} the target of at most "
          f"{target:g} x)")
    print(f"  per message              : {sim_wall / count * 1e6:8.0f} us simulated core, "
          f"{direct_wall / count * 1e6:.0f} us direct")


if __name__ == "__main__":
    main()
