"""``python -m harness record``: record a day on the Raspberry Pi as a trace, and a scenario
that replays it.

::

    python -m harness record [--hours 24 | --count N] [--period 5] [--out traces/DATE.jsonl]
                             [--scenario traces/DATE.yaml] [--i2c-bus 1] [--group FILE]

It runs the device program's reading loop (:func:`device.loop.run`, the code ``python -m
device --record`` runs) against the physical BME680 every ``--period`` seconds, for
``--hours`` (or ``--count`` readings), appending each reading to the trace (``.jsonl`` or
``.csv``, the device program's format). At the end, or when stopped with Ctrl+C, it writes a
scenario next to the trace that replays it on the ``sim`` (or ``broker``) rig: the trace as
the environment, the recording's period, and expectations that hold for any healthy run
(see :func:`scenario_text`); with ``--group FILE`` the scenario names that group file as its
``group:``. ``python -m harness replay TRACE`` makes the same scenario from any trace and runs
it.

Nothing is published: this reads the sensor only. Stop the device program's service first
(``sudo systemctl stop bme680-device``) so that two programs do not drive the chip at once.
Off the Pi (no ``/dev/i2c-N``) it stops at once and says what to do.
"""

from __future__ import annotations

import argparse
import datetime as dt
import math
import signal
import statistics
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from device.loop import Clock, Counters, RealClock, Sensor, SensorFactory
from device.readings import SUCCESS, Measurement
from device.recorder import TraceFormatError, TraceRecord, TraceWriter, trace_format
from harness.commands.help_text import plain
from harness.scenarios.from_trace import (
    DEFAULT_CPU_TEMPERATURE,
    GENERATED,
    LAST_READING_GRACE,
    TraceSummary,
    _utc,
    check_scenario_writable,
    scenario_text,
    summarise_trace,
    write_scenario,
)
from harness.yaml_files import FileProblems

__all__ = [
    "GENERATED",
    "I2C_DEVICE",
    "LAST_READING_GRACE",
    "NoI2CBus",
    "Recording",
    "SimulatedStation",
    "TraceSummary",
    "add_parser",
    "check_i2c_bus",
    "check_scenario_writable",
    "positive_number",
    "read_cpu_temperature",
    "record",
    "run",
    "scenario_text",
    "summarise_trace",
    "write_scenario",
]

EXIT_FAILED, EXIT_UNAVAILABLE = 1, 2

#: The I2C bus device of a bus number (on the Pi, ``/dev/i2c-1`` is the header's bus).
I2C_DEVICE = "/dev/i2c-{bus}"
#: Where the Pi's kernel gives the CPU temperature, in millidegrees C.
CPU_TEMPERATURE_FILE = Path("/sys/class/thermal/thermal_zone0/temp")
DEFAULT_PERIOD = 5.0


# ------------------------------------------------------------------ traces to scenarios
# (harness.scenarios.from_trace; re-exported here for the command line)

# ------------------------------------------------------------------ recording


class NoI2CBus(RuntimeError):
    """There is no I2C bus device here (not a Pi, or I2C not enabled)."""


def check_i2c_bus(bus: int) -> None:
    """Raise :class:`NoI2CBus` with what to do when ``/dev/i2c-<bus>`` does not exist."""
    device = Path(I2C_DEVICE.format(bus=bus))
    if not device.exists():
        raise NoI2CBus(f"no I2C bus at {device}: run this on the Raspberry Pi with I2C "
                       "enabled (raspi-config), or pass --i2c-bus N")


def read_cpu_temperature(path: Path = CPU_TEMPERATURE_FILE) -> float | None:
    """The CPU temperature in degrees C, or None where the file cannot be read."""
    try:
        return int(path.read_text().strip()) / 1000.0
    except (OSError, ValueError):
        return None


@dataclass
class Recording:
    """What :func:`record` did."""

    trace: Path
    counters: Counters
    interrupted: bool = False
    cpu_temperatures: list[float] = field(default_factory=list)

    @property
    def cpu_temperature(self) -> float | None:
        """The mean CPU temperature during the recording (None when it was not read)."""
        if not self.cpu_temperatures:
            return None
        return statistics.fmean(self.cpu_temperatures)


def record(out: str | Path, *, period: float, count: int, sensor_factory: SensorFactory,
           clock: Clock | None = None, wall_time: Callable[[], float] = time.time,
           cpu_temperature: Callable[[], float | None] = read_cpu_temperature,
           progress: Callable[[TraceRecord, Counters], None] | None = None) -> Recording:
    """Take ``count`` readings every ``period`` seconds with the device program's loop,
    appending each to the trace ``out`` (stamped with ``wall_time()``) and sampling the CPU
    temperature after each. Ctrl+C (``KeyboardInterrupt``) ends the recording early; what
    was recorded stays. Nothing is published."""
    from device.loop import run as run_loop

    counters = Counters()
    recording = Recording(Path(out), counters)

    def publish(topic: str, payload: bytes) -> None:
        """The loop's messages go nowhere: this only records."""

    with TraceWriter(out) as writer:
        def keep(entry: TraceRecord) -> None:
            writer.write(entry)
            cpu = cpu_temperature()
            if cpu is not None:
                recording.cpu_temperatures.append(cpu)
            if progress is not None:
                progress(entry, counters)

        try:
            run_loop(sensor_factory, publish, clock or RealClock(), period=period,
                     count=count, recorder=keep, wall_time=wall_time, counters=counters)
        except KeyboardInterrupt:
            recording.interrupted = True
    return recording


def _opened_first(first: Sensor, factory: SensorFactory) -> SensorFactory:
    """A factory giving ``first`` (already open) once, then opening new ones."""
    pending = [first]

    def open_next() -> Sensor:
        return pending.pop() if pending else factory()

    return open_next


class _VirtualClock:
    """Time that passes only by sleeping, at once (a simulated recording's clock)."""

    def __init__(self) -> None:
        self.elapsed = 0.0

    def now(self) -> float:
        return self.elapsed

    def sleep(self, seconds: float) -> None:
        if seconds > 0:
            self.elapsed += seconds


class _SimulatedSensor:
    """The BME680 on a simulated chip whose air follows the demo day's curves."""

    def __init__(self, station: SimulatedStation) -> None:
        from device.sensor import open_sensor

        self._station = station
        self._sensor = open_sensor(bus=station.chip)

    def read(self) -> Measurement:
        self._station.chip.set_environment(**self._station.environment())
        return self._sensor.read()

    def close(self) -> None:
        self._sensor.close()


class SimulatedStation:
    """A recording without a Pi: the real device code on a simulated BME680, on a virtual
    clock (no waiting), the air following :func:`harness.demo_day.weather` from midnight;
    wall time starts at ``start`` (epoch seconds, default now)."""

    def __init__(self, *, seed: int = 0, cpu_temperature: float = DEFAULT_CPU_TEMPERATURE,
                 start: float | None = None) -> None:
        import random

        from fakes.bme680 import SimulatedBME680

        self.chip = SimulatedBME680()
        self.clock = _VirtualClock()
        self.cpu = cpu_temperature
        self.start = float(int(time.time()) if start is None else start)
        self._random = random.Random(seed)

    def environment(self) -> dict[str, float]:
        from harness.demo_day import weather

        return weather(self.clock.elapsed, self._random, self.cpu)

    def open_sensor(self) -> Sensor:
        return _SimulatedSensor(self)

    def wall_time(self) -> float:
        return self.start + self.clock.elapsed

    def cpu_temperature(self) -> float:
        return self.cpu


# ------------------------------------------------------------------ the command


def positive_number(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not (math.isfinite(value) and value > 0):
        raise argparse.ArgumentTypeError(f"{text!r} is not a positive number")
    return value


def _count(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r}: at least 1 reading")
    return value


def _bus(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a bus number") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"{text!r} is not a bus number")
    return value


def add_parser(commands: Any) -> None:
    """Add the ``record`` subcommand to ``commands`` (an argparse subparsers object)."""
    parser = commands.add_parser(
        "record", help="record a day of the physical BME680 on the Pi as a trace, with a "
                       "scenario that replays it",
        description=plain(__doc__), formatter_class=argparse.RawDescriptionHelpFormatter)
    length = parser.add_mutually_exclusive_group()
    length.add_argument("--hours", type=positive_number, default=None, metavar="H",
                        help="record for H hours (default 24)")
    length.add_argument("--count", type=_count, default=None, metavar="N",
                        help="take N readings")
    parser.add_argument("--period", type=positive_number, default=DEFAULT_PERIOD, metavar="S",
                        help=f"seconds between readings (default {DEFAULT_PERIOD:g})")
    parser.add_argument("--out", type=Path, default=None, metavar="TRACE",
                        help="the trace file, .jsonl or .csv (default traces/<date>.jsonl)")
    parser.add_argument("--scenario", type=Path, default=None, metavar="FILE",
                        help="the scenario file to write (default: the trace's name, .yaml)")
    parser.add_argument("--i2c-bus", type=_bus, default=1, metavar="N",
                        help="I2C bus number, /dev/i2c-N (default 1)")
    parser.add_argument("--group", type=Path, default=None, metavar="FILE",
                        help="the group file the scenario names as its group: (default: "
                             "none, so it runs on the weather station's)")
    parser.add_argument("--simulated", action="store_true", help=argparse.SUPPRESS)
    parser.set_defaults(run=run)


def _readings(hours: float | None, count: int | None, period: float) -> int:
    """The number of readings: ``count``, or one every period from 0 to ``hours`` inclusive."""
    if count is not None:
        return count
    return int((24.0 if hours is None else hours) * 3600 // period) + 1


@contextmanager
def _sigterm_stops() -> Iterator[None]:
    """While recording on hardware, SIGTERM ends the recording like Ctrl+C."""
    def stop(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    try:
        previous = signal.signal(signal.SIGTERM, stop)
    except ValueError:  # not the main thread: leave signals alone
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _progress(count: int, period: float) -> Callable[[TraceRecord, Counters], None]:
    every = max(1, round(600 / period))  # about every ten minutes

    def show(entry: TraceRecord, counters: Counters) -> None:
        n = counters.cycles
        if n in (1, count) or n % every == 0:
            values = ("failed read" if entry.status != SUCCESS else
                      f"{entry.temperature:.2f} C, {entry.pressure:.2f} hPa, "
                      f"{entry.humidity:.2f} %RH")
            print(f"reading {n}/{count} at {_utc(entry.time)} UTC: {values}",
                  file=sys.stderr, flush=True)

    return show


def run(args: argparse.Namespace) -> int:
    """Record, then write the scenario; the exit status (0 done, 1 nothing usable recorded,
    2 cannot record here)."""
    period = args.period
    count = _readings(args.hours, args.count, period)
    out = args.out or Path("traces") / f"{dt.date.today().isoformat()}.jsonl"
    scenario = args.scenario or out.with_suffix(".yaml")
    from harness.commands.outputs import file_problem

    try:
        trace_format(out)
        problem = file_problem(out, "--out") or file_problem(scenario, "--scenario")
        if problem is None:
            check_scenario_writable(scenario)
    except (TraceFormatError, FileExistsError) as error:
        problem = str(error)
    if problem is not None:
        print(f"error: {problem}", file=sys.stderr)
        return EXIT_UNAVAILABLE
    if args.group is not None:  # a day is not recorded for a scenario that cannot load
        from harness.group import GroupError, load_group

        try:
            load_group(args.group)
        except GroupError as error:
            print(error, file=sys.stderr)
            return EXIT_UNAVAILABLE
    if out.exists() and out.stat().st_size > 0:
        print(f"error: {out} exists already: choose another --out (a trace holds one "
              "recording)", file=sys.stderr)
        return EXIT_UNAVAILABLE

    station: SimulatedStation | None = None
    if args.simulated:
        station = SimulatedStation()
        factory: SensorFactory = station.open_sensor
    else:
        try:
            check_i2c_bus(args.i2c_bus)
        except NoI2CBus as error:
            print(f"error: {error}", file=sys.stderr)
            return EXIT_UNAVAILABLE
        import functools

        from device.sensor import open_sensor

        factory = functools.partial(open_sensor, bus_number=args.i2c_bus)
    try:  # fail now rather than record a day of failed reads
        first = factory()
    except Exception as error:
        print(f"error: cannot open the BME680: {error}", file=sys.stderr)
        return EXIT_UNAVAILABLE

    out.parent.mkdir(parents=True, exist_ok=True)
    hours = (count - 1) * period / 3600
    print(f"recording {count} readings every {period:g} s ({hours:.2f} h) into {out}",
          file=sys.stderr, flush=True)
    if station is not None:
        recording = record(out, period=period, count=count,
                           sensor_factory=_opened_first(first, factory), clock=station.clock,
                           wall_time=station.wall_time, cpu_temperature=station.cpu_temperature,
                           progress=_progress(count, period))
    else:
        with _sigterm_stops():
            recording = record(out, period=period, count=count,
                               sensor_factory=_opened_first(first, factory),
                               progress=_progress(count, period))
    counters = recording.counters
    stopped = " (stopped early)" if recording.interrupted else ""
    print(f"recorded {counters.cycles} readings{stopped}, {counters.failed_reads} failed, "
          f"into {out}")
    try:
        written = write_scenario(out, scenario, period=period,
                                 cpu_temperature=recording.cpu_temperature, group=args.group)
    except (TraceFormatError, FileProblems) as error:  # FileProblems: beyond harness.limits
        print(f"error: no scenario written: {error}", file=sys.stderr)
        return EXIT_FAILED
    print(f"wrote {written}, which replays it: python -m harness run {written}")
    return 0
