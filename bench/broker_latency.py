"""Device publish to Shadow update on the broker rig, in wall-clock time.

The ``broker`` rig (Mosquitto on loopback with TLS, the harness core bridged to it over MQTT)
runs the shipped group, with one change: the republish Lambda takes a single CPU temperature
sample (``CPU_SAMPLES: "1"``, ``CPU_SAMPLE_INTERVAL: "0"``), so no sampling sleep is in the
path. ``CPU_SAMPLES: "0"`` is not an option: republish rejects values below 1 and falls back
to its default of 8 samples 1 s apart. The rig's clock runs at ``time_scale=1.0``.

A client with the ``bme680-sensor`` certificate publishes one valid reading at a time
(QoS 1, a new ``sequence`` each). For each, ``t0`` is taken just before the publish and ``t1``
when ``session.wait_until`` sees the ``weather-station`` Shadow's ``reported.sequence`` equal
to it: the reading crossed Mosquitto, the core's bridge routed it to republish, and republish's
Shadow update was applied in the core. The floor is the MQTT round trip alone: the same
client publishes a reading with QoS 1 and waits for the PUBACK (``publish_acknowledged``);
that reading is then run through the core untimed, so every measurement starts with no
backlog. The two alternate, one of each per step, so both see the same machine; a few steps
warm up first (not counted). Prints the median, p90, p99 (nearest rank) and max in ms of
each, the ratio of the medians, and whether the end-to-end p99 is under 20 ms (the target).

    python -m bench.broker_latency [--readings N] [--warmup N]
"""

from __future__ import annotations

import argparse
import gc
import math
import os
import random
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml

from device.readings import TOPIC, Measurement, encode, reading_message
from harness.rigs.base import RigUnavailable
from harness.rigs.mqtt_client import close_client, connect_client, publish_acknowledged
from harness.simulation import DEFAULT_GROUP

DEVICE = "bme680-sensor"
SHADOW_THING = "weather-station"
TARGET_P99_MS = 20.0
TIMEOUT = 5.0  # seconds to wait for one reading's Shadow update before giving up


def single_sample_group(directory: Path, group: Path = DEFAULT_GROUP) -> Path:
    """A copy of ``group`` in ``directory`` with republish taking one CPU sample and no
    interval; the Lambda code stays where it is (sessions get ``code_dir=``)."""
    document = yaml.safe_load(group.read_text(encoding="utf-8"))
    (republish,) = [f for f in document["functions"] if f["name"] == "republish"]
    republish.setdefault("environment", {}).update(CPU_SAMPLES="1", CPU_SAMPLE_INTERVAL="0")
    path = directory / "group.yaml"
    path.write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")
    return path


def percentile(values: list[float], fraction: float) -> float:
    """The nearest-rank percentile (``fraction`` in 0..1) of ``values``."""
    ordered = sorted(values)
    rank = max(1, min(len(ordered), math.ceil(fraction * len(ordered))))
    return ordered[rank - 1]


class Readings:
    """Valid reading messages with consecutive sequences, in plausible air."""

    def __init__(self, seed: int = 0) -> None:
        self._rng = random.Random(seed)
        self.sequence = 0

    def next(self) -> bytes:
        """The next reading, encoded as the device sends it (``sequence`` one higher)."""
        self.sequence += 1
        rng = self._rng
        return encode(reading_message(self.sequence, Measurement(
            temperature=round(18 + 6 * rng.random(), 2),
            pressure=round(1005 + 10 * rng.random(), 2),
            humidity=round(40 + 30 * rng.random(), 2))))


def reported_sequence(session: Any) -> Any:
    """The ``sequence`` the weather station's Shadow reports now (``None`` if none)."""
    document = session.shadow(SHADOW_THING)
    if document is None:
        return None
    return document.get("state", {}).get("reported", {}).get("sequence")


def drive_until_reported(session: Any, sequence: int) -> None:
    """Run the core until the Shadow reports ``sequence``."""
    if not session.wait_until(lambda: reported_sequence(session) == sequence,
                              timeout=TIMEOUT):
        raise RuntimeError(f"no Shadow update for reading {sequence} within {TIMEOUT:g} s")


def end_to_end(session: Any, client: Any, readings: Readings) -> float:
    """Seconds from publishing one reading to the Shadow update it causes in the core."""
    payload = readings.next()
    t0 = time.perf_counter()
    client.publish(TOPIC, payload, qos=1)
    drive_until_reported(session, readings.sequence)
    return time.perf_counter() - t0


def round_trip(session: Any, client: Any, readings: Readings) -> float:
    """Seconds from publishing one reading (QoS 1) to its PUBACK; then, untimed, the core is
    run until the reading reaches the Shadow, so the next measurement starts from the same
    state as an end-to-end one (no backlog in the bridge)."""
    payload = readings.next()
    t0 = time.perf_counter()
    code = publish_acknowledged(client, TOPIC, payload)
    elapsed = time.perf_counter() - t0
    if code != 0:
        raise RuntimeError(f"the broker refused the reading: PUBACK reason code {code}")
    drive_until_reported(session, readings.sequence)
    return elapsed


def measure(session: Any, client: Any, count: int, warmup: int
            ) -> tuple[list[float], list[float]]:
    """``count`` end-to-end latencies and ``count`` PUBACK round trips, interleaved (one of
    each per step, so both see the same machine), after ``warmup`` uncounted steps."""
    readings = Readings()
    latencies: list[float] = []
    floor: list[float] = []
    for step in range(warmup + count):
        if step == warmup:
            latencies.clear()
            floor.clear()
            gc.collect()  # start the counted steps without the warm-up's garbage
        latencies.append(end_to_end(session, client, readings))
        floor.append(round_trip(session, client, readings))
    return latencies, floor


def summary(name: str, seconds: list[float]) -> str:
    """One printed line: median, p90, p99 and max of ``seconds``, in ms."""
    ms = [s * 1000 for s in seconds]
    return (f"  {name:<26}: median {statistics.median(ms):7.2f} ms   p90 "
            f"{percentile(ms, 0.90):7.2f}   p99 {percentile(ms, 0.99):7.2f}   "
            f"max {max(ms):7.2f}")


def main(argv: list[str] | None = None) -> float | None:
    """Run the benchmark; the end-to-end p99 in ms, or ``None`` when the broker rig cannot
    start (Mosquitto missing): the reason is printed and the benchmark skipped."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--readings", type=int, default=1000)
    parser.add_argument("--warmup", type=int, default=20)
    args = parser.parse_args(argv)

    from harness.rigs.broker import BrokerRig

    with tempfile.TemporaryDirectory(prefix="bench-broker-") as folder:
        group = single_sample_group(Path(folder))
        try:
            rig = BrokerRig.start(group, time_scale=1.0)
        except RigUnavailable as error:
            print(f"broker latency: SKIPPED, the broker rig cannot start: {error}")
            return None
        try:
            session = rig.session(code_dir=DEFAULT_GROUP.parent)
            try:
                client = connect_client(rig.identity(DEVICE), client_id=f"{DEVICE}-bench")
                try:
                    load = os.getloadavg()[0]
                    start = time.perf_counter()
                    latencies, floor = measure(session, client, args.readings, args.warmup)
                    wall = time.perf_counter() - start
                    stats = session.stats("republish")
                finally:
                    close_client(client)
            finally:
                session.close()
        finally:
            rig.close()

    p99 = percentile([s * 1000 for s in latencies], 0.99)
    ratio = statistics.median(latencies) / statistics.median(floor)
    print(f"broker rig, time scale 1: device publish to Shadow update, {args.readings:,} "
          f"readings after {args.warmup} warm-up ({wall:.1f} s; load average {load:.2f} on "
          f"{os.cpu_count()} cores at the start)")
    print("  republish with CPU_SAMPLES=1, CPU_SAMPLE_INTERVAL=0 (it rejects 0 samples: "
          "falls back to 8)")
    print(summary("publish -> Shadow update", latencies))
    print(summary("MQTT QoS 1 PUBACK (floor)", floor))
    print(f"  ratio of medians          : {ratio:7.2f} x the MQTT round trip")
    print(f"  p99 under {TARGET_P99_MS:.0f} ms           : "
          f"{'yes, meets the target' if p99 < TARGET_P99_MS else 'no, MISSES the target'}")
    print(f"  republish invocations     : {stats.completed:,} completed, {stats.errors} "
          f"error(s), {stats.cold_starts} cold start(s)")
    return p99


if __name__ == "__main__":
    main()
