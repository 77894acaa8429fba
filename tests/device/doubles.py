"""Test doubles for the device program: a fake clock and a scripted sensor world."""

from __future__ import annotations

import errno
from collections.abc import Mapping, Sequence

from device.errors import NoNewData
from device.readings import Measurement

GOOD = Measurement(temperature=21.5, pressure=1013.25, humidity=45.0)

# Steps of a script, one per loop cycle:
OK = "ok"  # the read returns a measurement
EIO = "eio"  # the read raises OSError Errno 121, as the library does after a NACK
NO_DATA = "no-data"  # the library's get_sensor_data() returned False
OPEN_FAILS = "open-fails"  # the constructor raises RuntimeError (chip not identified)
RUNTIME = "runtime"  # the read raises a library RuntimeError
STEPS = (OK, EIO, NO_DATA, OPEN_FAILS, RUNTIME)


class FakeClock:
    """Monotonic time that only moves when slept on (or advanced by the test)."""

    def __init__(self, start: float = 1000.0) -> None:
        self.time = start
        self.sleeps: list[float] = []

    def now(self) -> float:
        return self.time

    def sleep(self, seconds: float) -> None:
        if seconds <= 0:
            raise AssertionError(f"the loop asked to sleep {seconds!r} s")
        self.sleeps.append(seconds)
        self.time += seconds

    def advance(self, seconds: float) -> None:
        self.time += seconds


class ScriptedSensor:
    """One opened sensor of a :class:`ScriptedWorld`."""

    def __init__(self, world: ScriptedWorld) -> None:
        self.world = world
        self.closed = False

    def read(self) -> Measurement:
        if self.closed:
            raise AssertionError("read() on a closed sensor")
        world = self.world
        step = world.take()
        world.reads.append(world.clock.now())
        world.clock.advance(world.read_time + world.stalls.get(world.index, 0.0))
        if step == EIO:
            raise OSError(errno.EREMOTEIO, "Remote I/O error")
        if step == NO_DATA:
            raise NoNewData("the BME680 at 0x76 had no new data")
        if step == RUNTIME:
            raise RuntimeError("BME680 Not Found. Invalid CHIP ID: 0x00")
        if step != OK:
            raise AssertionError(f"step {step!r} at read time")
        return Measurement(GOOD.temperature + world.index / 10, GOOD.pressure, GOOD.humidity)

    def close(self) -> None:
        self.closed = True


class ScriptedWorld:
    """Plays ``script`` (one step per cycle); ``factory`` is the loop's sensor factory.

    A cycle consumes exactly one step: the factory consumes an ``OPEN_FAILS`` step, a read
    consumes the others. Each read takes ``read_time`` seconds of the fake clock, plus
    ``stalls[n]`` for cycle ``n``.
    """

    def __init__(
        self,
        script: Sequence[str],
        clock: FakeClock,
        read_time: float = 0.0,
        stalls: Mapping[int, float] | None = None,
    ) -> None:
        unknown = set(script) - set(STEPS)
        if unknown:
            raise ValueError(f"unknown steps {unknown}")
        self.script = list(script)
        self.clock = clock
        self.read_time = read_time
        self.stalls = dict(stalls or {})  # cycle number (1-based) -> extra seconds its read takes
        self.index = 0
        self.sensors: list[ScriptedSensor] = []
        self.factory_calls = 0
        self.reads: list[float] = []  # clock time at each read

    def take(self) -> str:
        if self.index >= len(self.script):
            raise AssertionError("the loop ran past the end of the script")
        step = self.script[self.index]
        self.index += 1
        return step

    def factory(self) -> ScriptedSensor:
        self.factory_calls += 1
        if self.index < len(self.script) and self.script[self.index] == OPEN_FAILS:
            self.take()
            raise RuntimeError("Unable to identify BME680 at 0x76 (IOError)")
        sensor = ScriptedSensor(self)
        self.sensors.append(sensor)
        return sensor


class Published:
    """A publish function that keeps what it was given; can be told to fail some calls."""

    def __init__(self, fail_on: Sequence[int] = ()) -> None:
        self.messages: list[tuple[str, bytes]] = []
        self.calls = 0
        self.fail_on = set(fail_on)  # 1-based call numbers that raise

    def __call__(self, topic: str, payload: bytes) -> None:
        self.calls += 1
        if self.calls in self.fail_on:
            raise ConnectionError("broker gone")
        self.messages.append((topic, payload))
