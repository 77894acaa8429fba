"""The same 10,000-update sequence through the Shadow fake and through moto's iot-data.

Prints updates per second for each (median of several runs) and their ratio. Target: the
fake at least 50 times faster than moto.

    python -m bench.shadow_vs_moto [--updates N] [--repeats N]
"""

from __future__ import annotations

import argparse
import gc
import json
import random
import statistics
import time
from collections.abc import Callable

import boto3
from moto import mock_aws

from fakes.shadow import ShadowService, request_topic

TARGET_RATIO = 50.0


def update_sequence(count: int, seed: int = 0) -> list[bytes]:
    """A device reporting readings, with an app changing desired settings now and then."""
    rng = random.Random(seed)
    payloads = []
    for sequence in range(count):
        if rng.random() < 0.1:
            state = {"desired": {"period": rng.choice([2, 5, 10]),
                                 "led": rng.choice(["on", "off"])}}
        else:
            state = {"reported": {
                "temperature": round(rng.uniform(15, 30), 2),
                "humidity": round(rng.uniform(30, 90), 2),
                "pressure": round(rng.uniform(980, 1030), 2),
                "sequence": sequence,
                "period": rng.choice([2, 5, 10]),
            }}
        payloads.append(json.dumps({"state": state}).encode())
    return payloads


def run_fake(payloads: list[bytes]) -> float:
    service = ShadowService(clock=lambda: 1_700_000_000)
    topic = request_topic("weather-station", "update")
    gc.collect()  # start each timed run without the previous one's garbage
    start = time.perf_counter()
    for payload in payloads:
        service.handle(topic, payload)
    elapsed = time.perf_counter() - start
    assert service.version("weather-station") == len(payloads)
    return elapsed


def run_moto(payloads: list[bytes]) -> float:
    with mock_aws():
        boto3.client("iot", region_name="us-east-1").create_thing(thingName="weather-station")
        client = boto3.client("iot-data", region_name="us-east-1")
        gc.collect()
        start = time.perf_counter()
        for payload in payloads:
            client.update_thing_shadow(thingName="weather-station", payload=payload)
        elapsed = time.perf_counter() - start
        last = json.loads(client.get_thing_shadow(thingName="weather-station")["payload"].read())
    assert last["version"] == len(payloads)
    return elapsed


def median_rate(run: Callable[[list[bytes]], float], payloads: list[bytes], repeats: int
                ) -> tuple[float, list[float]]:
    rates = [len(payloads) / run(payloads) for _ in range(repeats)]
    return statistics.median(rates), rates


def main(argv: list[str] | None = None) -> float:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--updates", type=int, default=10_000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args(argv)
    payloads = update_sequence(args.updates)

    fake, fake_rates = median_rate(run_fake, payloads, args.repeats)
    moto, moto_rates = median_rate(run_moto, payloads, args.repeats)
    ratio = fake / moto
    print(f"shadow updates ({args.updates} per run, median of {args.repeats} runs)")
    print(f"  fake ShadowService.handle : {fake:12,.0f} updates/s  "
          f"(runs: {', '.join(f'{r:,.0f}' for r in fake_rates)})")
    print(f"  moto iot-data via boto3   : {moto:12,.0f} updates/s  "
          f"(runs: {', '.join(f'{r:,.0f}' for r in moto_rates)})")
    verdict = "meets" if ratio >= TARGET_RATIO else "MISSES"
    print(f"  ratio fake/moto           : {ratio:12.1f} x  ({verdict} the target of "
          f"{TARGET_RATIO:.0f} x)")
    return ratio


if __name__ == "__main__":
    main()
