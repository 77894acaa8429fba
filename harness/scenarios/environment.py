"""What the simulated sensor sees, built from a scenario's ``environment``.

Points and profiles describe the AIR. On the Pi the BME680 sits next to the CPU and reads
halfway between the air and the CPU (the convention of :func:`harness.demo_day.weather`, and
what republish's ``2 * temperature - cpu`` compensation undoes), so the chip is given
``(air + cpu) / 2``: with the CPU steady at the scenario's ``cpu_temperature`` (45 degrees C
by default) the Shadow then reports the air temperature. A recorded trace is what a sensor
measured, so it is replayed as it is (:func:`harness.devices.replay`).
"""

from __future__ import annotations

import bisect
from collections.abc import Mapping
from pathlib import Path

from device.recorder import read_trace
from harness.devices import EnvironmentSource, replay
from harness.scenarios.schema import Environment, Point, RainFront, Steady

QUANTITIES = ("temperature", "pressure", "humidity", "gas_resistance")


def sensor_temperature(air: float, cpu_temperature: float) -> float:
    """What the BME680 next to the CPU reads when the air is at ``air`` degrees C."""
    return (air + cpu_temperature) / 2


def air_source(environment: Environment, *, cpu_temperature: float,
               folder: Path) -> EnvironmentSource:
    """The AIR over time (the truth a report plots): the points or profile themselves; for a
    recorded trace, what the sensor measured with the CPU's heat taken out again
    (``2 * temperature - cpu``, as republish compensates)."""
    if environment.trace is not None:
        measured = replay(read_trace(folder / environment.trace))

        def air(elapsed: float) -> Mapping[str, float]:
            values = dict(measured(elapsed))
            values["temperature"] = 2 * values["temperature"] - cpu_temperature
            return values

        return air
    if environment.points is not None:
        return _interpolate(environment.points)
    assert environment.profile is not None
    profile = environment.profile.steady or environment.profile.rain_front
    return _steady(profile) if isinstance(profile, Steady) else _rain_front(profile)


def environment_source(environment: Environment, *, cpu_temperature: float,
                       folder: Path) -> EnvironmentSource:
    """The chip's environment as a function of elapsed seconds (traces found from
    ``folder``, the scenario file's)."""
    if environment.trace is not None:
        return replay(read_trace(folder / environment.trace))
    if environment.points is not None:
        air = _interpolate(environment.points)
    else:
        assert environment.profile is not None
        profile = environment.profile.steady or environment.profile.rain_front
        air = _steady(profile) if isinstance(profile, Steady) else _rain_front(profile)

    def sensor(elapsed: float) -> Mapping[str, float]:
        values = dict(air(elapsed))
        values["temperature"] = sensor_temperature(values["temperature"], cpu_temperature)
        return values

    return sensor


def _steady(steady: Steady | RainFront | None) -> EnvironmentSource:
    assert isinstance(steady, Steady)
    values = {name: value for name in QUANTITIES
              if (value := getattr(steady, name)) is not None}
    return lambda elapsed: values


def _rain_front(front: RainFront) -> EnvironmentSource:
    end = front.start + front.hours * 3600
    temperature_to = front.temperature_from if front.temperature_to is None \
        else front.temperature_to

    def air(elapsed: float) -> Mapping[str, float]:
        share = min(max((elapsed - front.start) / (end - front.start), 0.0), 1.0)
        return {"temperature": _mix(front.temperature_from, temperature_to, share),
                "pressure": _mix(front.pressure_from, front.pressure_to, share),
                "humidity": _mix(front.humidity_from, front.humidity_to, share)}

    return air


def _interpolate(points: list[Point]) -> EnvironmentSource:
    times = [point.at for point in points]

    def air(elapsed: float) -> Mapping[str, float]:
        after = bisect.bisect_right(times, elapsed)
        if after == 0:
            return _values(points[0])
        if after == len(points):
            return _values(points[-1])
        left, right = points[after - 1], points[after]
        share = (elapsed - left.at) / (right.at - left.at)
        a, b = _values(left), _values(right)
        return {name: _mix(a[name], b[name], share) for name in a if name in b}

    return air


def _values(point: Point) -> dict[str, float]:
    return {name: value for name in QUANTITIES if (value := getattr(point, name)) is not None}


def _mix(start: float, end: float, share: float) -> float:
    return start + (end - start) * share
