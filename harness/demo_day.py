"""A day of the weather station on the simulated core, driven from Python (the main job,
``python -m harness demo``, runs ``scenarios/rainy_day.yaml`` instead; ``weather`` is also
the air of ``python -m harness record --simulated``).

The real device program reads the real ``bme680`` library on a simulated BME680 every 5 s and
publishes on ``bme680/readings``; the air it sees follows a day's temperature, humidity and
pressure curves with seeded noise, and the sensor misbehaves now and then the way field
sensors do (a burst of I2C errors, a stretch of stuck data, a brown-out). The real republish
and hello_world Lambdas run on the simulated core; at the end a summary says what happened.
"""

from __future__ import annotations

import json
import math
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from device.loop import Counters
from fakes.bme680 import BrownOut, BusError, SimulatedBME680, StuckData
from harness.simulation import DEFAULT_GROUP, Simulation

SENSOR = "bme680-sensor"
THING = "weather-station"


def weather(elapsed: float, rng: random.Random, cpu_temperature: float = 45.0
            ) -> dict[str, float]:
    """What the BME680 on the Pi measures ``elapsed`` seconds after midnight.

    It sits next to the CPU and reads halfway between the air and the CPU, which is what
    republish's ``2 * temperature - cpu`` compensation undoes."""
    day = 2 * math.pi * (elapsed / 86_400)
    air = 14 + 6 * math.sin(day - math.pi / 2) + rng.gauss(0, 0.2)
    humidity = 65 - 15 * math.sin(day - math.pi / 2) + rng.gauss(0, 1)
    pressure = 1012 + 3 * math.sin(day / 2) + rng.gauss(0, 0.3)
    return {"temperature": round((air + cpu_temperature) / 2, 2),
            "pressure": round(pressure, 2), "humidity": round(min(max(humidity, 0), 100), 2)}


def schedule_faults(chip: SimulatedBME680, hours: float) -> None:
    """The field's failures, spread over the day (those that fall inside it)."""
    if hours >= 6:
        chip.inject(BusError(), at=6 * 3600, transactions=3)  # Errno 121 burst
    if hours >= 12:
        chip.inject(StuckData(), at=12 * 3600, duration=30)  # no new data for 30 s
    if hours >= 18:
        chip.inject(BrownOut(), at=18 * 3600, transactions=1)  # silent reset


@dataclass
class DaySummary:
    hours: float
    readings: int
    completed: int
    errors: int
    timeouts: int
    dropped: int
    failed_readings: int
    device: Counters
    shadow_version: int
    predictions: int
    reported: dict[str, Any]
    hello_messages: int
    wall_seconds: float

    @property
    def speedup(self) -> float:
        return self.hours * 3600 / self.wall_seconds

    def lines(self) -> list[str]:
        r = self.reported
        return [
            f"Simulated {self.hours:g} h of the weather station in {self.wall_seconds:.1f} s "
            f"of wall time ({self.speedup:,.0f} x real time)",
            f"  readings published      {self.readings:>8,}",
            f"  republish invocations   {self.completed:>8,} completed, {self.errors} errors, "
            f"{self.timeouts} timeouts, {self.dropped} dropped (queue full)",
            f"  device program          {self.device.published:>8,} published, "
            f"{self.device.failed_reads} failed reads, {self.device.reopened} sensor re-opens",
            f"  failed sensor readings  {self.failed_readings:>8,} reported as message Fail; "
            "good values kept",
            f"  shadow version          {self.shadow_version:>8,}",
            f"  rain predictions        {self.predictions:>8,} by the inference Lambda; last "
            f"p(rain) {r.get('rain_probability')}, prediction {r.get('rain_prediction')}",
            f"  last reported           {_num(r.get('temperature'))} C (compensated), "
            f"{_num(r.get('humidity'))} %RH, {_num(r.get('pressure'))} hPa, "
            f"sequence {r.get('sequence')}",
            f"  hello/world to cloud    {self.hello_messages:>8,}",
        ]


def simulate_day(hours: float = 24, period: float = 5, seed: int = 0,
                 group: str | Path = DEFAULT_GROUP,
                 progress: Callable[[float], None] | None = None) -> DaySummary:
    rng = random.Random(seed)
    started = time.perf_counter()
    with Simulation.from_group(group, seed=seed) as sim:
        count = int(hours * 3600 / period)
        chip = SimulatedBME680(clock=lambda: sim.clock.elapsed)
        schedule_faults(chip, hours)
        device = sim.add_device(SENSOR, chip=chip, period=period, count=count,
                                environment=lambda elapsed: weather(elapsed, rng))
        step = 3600.0
        while sim.now < hours * 3600:
            sim.run(min(step, hours * 3600 - sim.now))
            if progress:
                progress(sim.now)
        sim.run(60)  # let the last readings finish
        stats = sim.stats("republish")
        updates = [json.loads(m.payload)["state"].get("reported", {})
                   for m in sim.messages(f"$aws/things/{THING}/shadow/update/accepted")]
        failed = sum(1 for update in updates if update.get("message") == "Fail")
        predictions = sum(1 for update in updates if "rain_prediction" in update)
        shadow = sim.shadow(THING) or {"version": 0, "state": {}}
        return DaySummary(
            hours=hours, readings=device.counters.published, completed=stats.completed,
            errors=stats.errors, timeouts=stats.timeouts, dropped=stats.dropped_queue_full,
            failed_readings=failed, device=device.counters,
            shadow_version=shadow["version"], predictions=predictions,
            reported=shadow["state"].get("reported", {}),
            hello_messages=len(sim.messages("hello/world")),
            wall_seconds=time.perf_counter() - started,
        )


def _num(value: Any) -> str:
    return f"{value:.2f}" if isinstance(value, (int, float)) else str(value)
