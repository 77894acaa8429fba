"""The broker rig at its limits: offered rates, what arrived, what was counted as dropped,
latency, and resident memory over a soak.

The broker rig (Mosquitto on loopback with TLS, the harness core bridged to it) runs the
shipped group with republish taking one CPU sample (as :mod:`bench.broker_latency`), at
``time_scale=1``. For each offered rate a fresh session gets ``--seconds`` of readings from
a client with the ``bme680-sensor`` certificate, paced by the wall clock (QoS 1, not waiting
for each PUBACK), while the core runs. Per reading: publish -> the core's Shadow reports its
``sequence`` (a Shadow observer), and publish -> a subscriber with the ``weather-station``
certificate sees it in ``update/accepted`` over the broker. After the session closes (it
drains, bounded), the counts: sent (PUBACKed), delivered to the core, dropped by where
(``BrokerSession.message_counts`` and the Lambda's ``stats``), and uncounted = sent -
delivered - dropped, which must be 0. Throughput is readings through the Shadow per second
of the run. Prints medians and p99s in ms.

``--soak S`` also runs one session for S wall seconds at the device's simulated rate
compressed (``--soak-rate`` readings/s) and prints resident memory at its start and end.

    python -m bench.broker_load [--rates 100,250,500,1000,1500] [--seconds 2] [--soak 0]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from bench.broker_latency import Readings, percentile, single_sample_group
from harness.rigs.base import RigUnavailable
from harness.rigs.mqtt_client import close_client, connect_client
from harness.simulation import DEFAULT_GROUP

DEVICE = "bme680-sensor"
SHADOW_THING = "weather-station"
TOPIC = "bme680/readings"
ACCEPTED = f"$aws/things/{SHADOW_THING}/shadow/update/accepted"


def rss_kib() -> int:
    """This process's resident memory, in KiB (``/proc/self/status``)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def run_rate(rig: Any, rate: float, seconds: float) -> dict[str, Any]:
    """One session at ``rate`` readings/s for ``seconds``: the counts and latencies."""
    session = rig.session(code_dir=DEFAULT_GROUP.parent)
    sent_at: dict[int, float] = {}
    shadow_at: dict[int, float] = {}
    seen_at: dict[int, float] = {}
    service = session.sim.shadow_service

    def on_shadow(thing: str, shadow: str | None, operation: str) -> None:
        if thing == SHADOW_THING and shadow is None and operation == "update":
            document = service.document(thing) or {}
            sequence = document.get("state", {}).get("reported", {}).get("sequence")
            if sequence is not None:
                shadow_at.setdefault(sequence, time.perf_counter())

    def on_accepted(client: Any, userdata: Any, message: Any) -> None:
        body = json.loads(message.payload)
        sequence = body.get("state", {}).get("reported", {}).get("sequence")
        if sequence is not None:
            seen_at.setdefault(sequence, time.perf_counter())

    service.observers.append(on_shadow)
    subscriber = connect_client(rig.identity(SHADOW_THING), subscribe=[ACCEPTED],
                                on_message=on_accepted, client_id=f"{SHADOW_THING}-bench")
    publisher = connect_client(rig.identity(DEVICE), client_id=f"{DEVICE}-bench")
    count = int(rate * seconds)
    infos: list[Any] = []
    done = threading.Event()
    readings = Readings()
    # warm-up, not counted: republish's cold start (its import) and the first connection
    publisher.publish(TOPIC, readings.next(), qos=1)
    session.wait_until(lambda: bool(shadow_at), timeout=10)
    shadow_at.clear()
    seen_at.clear()

    def publish() -> None:
        start = time.perf_counter()
        for n in range(count):
            delay = start + n / rate - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
            payload = readings.next()
            sent_at[readings.sequence] = time.perf_counter()
            infos.append(publisher.publish(TOPIC, payload, qos=1))
        done.set()

    thread = threading.Thread(target=publish, daemon=True)
    start = time.perf_counter()
    thread.start()
    try:
        session.wait_until(lambda: done.is_set() and len(shadow_at) >= count,
                           timeout=seconds * 5 + 10)
        for info in infos:
            info.wait_for_publish(5)
        elapsed = max(shadow_at.values(), default=start) - start
    finally:
        thread.join(10)
        session.close()
        close_client(publisher)
        close_client(subscriber)
    counts = session.message_counts()
    stats = session.stats("republish")
    sent = sum(info.is_published() for info in infos)  # the warm-up's is left out
    lambda_lost = stats.dropped_queue_full + stats.dropped_at_stop + stats.errors \
        + stats.timeouts
    dropped = dict(counts.dropped)
    if lambda_lost:
        dropped["lambda"] = lambda_lost
    updated = stats.completed - 1  # the warm-up reading
    to_shadow = [shadow_at[s] - sent_at[s] for s in shadow_at if s in sent_at]
    to_subscriber = [seen_at[s] - sent_at[s] for s in seen_at if s in sent_at]
    return {"rate": rate, "sent": sent, "delivered": counts.delivered, "updated": updated,
            "dropped": dropped, "uncounted": sent - updated - sum(dropped.values()),
            "peak backlog": counts.backlog_peak,
            "throughput": len(shadow_at) / elapsed if elapsed > 0 else 0.0,
            "shadow": to_shadow, "subscriber": to_subscriber}


def ms(values: list[float], fraction: float | None = None) -> str:
    if not values:
        return "    -  "
    value = statistics.median(values) if fraction is None else percentile(values, fraction)
    return f"{value * 1000:7.1f}"


def soak(rig: Any, seconds: float, rate: float) -> tuple[int, int, int]:
    """Readings at ``rate``/s for ``seconds`` in one session; (RSS KiB after the first
    tenth, RSS KiB at the end, readings sent)."""
    session = rig.session(code_dir=DEFAULT_GROUP.parent)
    publisher = connect_client(rig.identity(DEVICE), client_id=f"{DEVICE}-soak")
    readings = Readings()
    start = time.perf_counter()
    first = 0
    try:
        n = 0
        while time.perf_counter() - start < seconds:
            publisher.publish(TOPIC, readings.next(), qos=1)
            n += 1
            session.wait_until(lambda: False, timeout=1.0 / rate)
            if not first and time.perf_counter() - start > seconds / 10:
                first = rss_kib()
        end = rss_kib()
    finally:
        session.close()
        close_client(publisher)
    return first, end, n


def main(argv: list[str] | None = None) -> list[dict[str, Any]] | None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rates", default="100,250,500,1000,1500")
    parser.add_argument("--seconds", type=float, default=2.0)
    parser.add_argument("--soak", type=float, default=0.0, help="wall seconds (0: none)")
    parser.add_argument("--soak-rate", type=float, default=200.0)
    args = parser.parse_args(argv)

    from harness.rigs.broker import BrokerRig

    rows = []
    with tempfile.TemporaryDirectory(prefix="bench-load-") as folder:
        group = single_sample_group(Path(folder))
        try:
            rig = BrokerRig.start(group, time_scale=1.0)
        except RigUnavailable as error:
            print(f"broker load: SKIPPED, the broker rig cannot start: {error}")
            return None
        try:
            load = os.getloadavg()[0]
            for rate in (float(r) for r in args.rates.split(",")):
                rows.append(run_rate(rig, rate, args.seconds))
            soaked = soak(rig, args.soak, args.soak_rate) if args.soak else None
        finally:
            rig.close()

    print(f"broker rig under load, time scale 1, {args.seconds:g} s per rate (load average "
          f"{load:.2f} on {os.cpu_count()} cores at the start); times in ms")
    print("  offered/s   sent  to core  updated  dropped (where)            uncounted  "
          "through/s  peak backlog  shadow med  p99   subscriber med  p99")
    for row in rows:
        where = ", ".join(f"{k} {v}" for k, v in row["dropped"].items()) or "0"
        print(f"  {row['rate']:9.0f} {row['sent']:6d} {row['delivered']:8d} {row['updated']:8d}"
              f"  {where:<26} {row['uncounted']:9d} {row['throughput']:10.0f} "
              f"{row['peak backlog']:13d} {ms(row['shadow'])} {ms(row['shadow'], 0.99)}   "
              f"{ms(row['subscriber'])} {ms(row['subscriber'], 0.99)}")
        if row["shadow"] and row["subscriber"]:
            ratio = statistics.median(row["subscriber"]) / statistics.median(row["shadow"])
            row["subscriber ratio"] = ratio
    ratios = [f"{row['rate']:.0f}/s {row['subscriber ratio']:.2f}x" for row in rows
              if "subscriber ratio" in row]
    print("  subscriber-visible / core median latency: " + ", ".join(ratios))
    print(f"  uncounted loss at every rate: {sum(row['uncounted'] for row in rows)}")
    if soaked:
        first, end, n = soaked
        print(f"  soak: {n:,} readings in {args.soak:g} s at {args.soak_rate:g}/s: RSS "
              f"{first / 1024:.1f} MiB after the first tenth, {end / 1024:.1f} MiB at the "
              f"end ({(end - first) * 1024 / max(1, n * 0.9):.0f} bytes per reading)")
    return rows


if __name__ == "__main__":
    main()
