"""The limits a whole scenario is held to, beyond each field's own (:mod:`.field_types`).

How long a run takes depends on several fields together: the stops (``duration / step``)
times the expectations checked at each, the device's readings (``duration / period``), the
messages the stimuli publish. Each is bounded (:mod:`harness.limits`) so a scenario that
loads runs to its end in minutes. Events after the end would never happen, and air the
simulated BME680 cannot be exposed to would stop the run halfway, so both are refused here
too, each at its own field.
"""

from __future__ import annotations

import functools
import math
from typing import TYPE_CHECKING, Any

from harness.limits import (
    MAX_CHECKS,
    MAX_MESSAGES,
    MAX_READINGS,
    MAX_STOPS,
)

if TYPE_CHECKING:
    from harness.scenarios.schema import Scenario

Loc = tuple[str | int, ...]


def scenario_problems(scenario: Scenario) -> list[tuple[Loc, str]]:
    """Every problem of ``scenario`` as a whole, each with the field it is best shown at."""
    return [*_work_problems(scenario), *_late_events(scenario),
            *_late_windows(scenario), *_environment_problems(scenario)]


def _work_problems(scenario: Scenario) -> list[tuple[Loc, str]]:
    problems: list[tuple[Loc, str]] = []
    duration = scenario.duration
    stops = math.ceil(duration / scenario.step)
    if stops > MAX_STOPS:
        problems.append((("step",), f"{duration:g} s in steps of {scenario.step:g} s is "
                         f"{stops:,} stops; at most {MAX_STOPS:,} (harness/limits.py "
                         "MAX_STOPS): use a larger step"))
    else:
        checks = stops * len(scenario.expectations)
        if checks > MAX_CHECKS:
            problems.append((("expectations",), f"{len(scenario.expectations):,} expectations "
                             f"at each of {stops:,} stops is {checks:,} checks; at most "
                             f"{MAX_CHECKS:,} (harness/limits.py MAX_CHECKS): use a larger "
                             "step or fewer expectations"))
    if scenario.device is not None:
        readings = math.floor(duration / scenario.device.period)
        if readings > MAX_READINGS:
            problems.append((("device", "period"), f"a reading every {scenario.device.period:g}"
                             f" s for {duration:g} s is {readings:,} readings; at most "
                             f"{MAX_READINGS:,} (harness/limits.py MAX_READINGS)"))
    published = sum(stimulus.publish.repeat for stimulus in scenario.stimuli
                    if stimulus.publish is not None)
    if published > MAX_MESSAGES:
        problems.append((("stimuli",), f"the stimuli publish {published:,} messages; at most "
                         f"{MAX_MESSAGES:,} (harness/limits.py MAX_MESSAGES)"))
    return problems


def _late_events(scenario: Scenario) -> list[tuple[Loc, str]]:
    problems: list[tuple[Loc, str]] = []
    for field, events in (("stimuli", scenario.stimuli), ("faults", scenario.faults)):
        for index, event in enumerate(events):
            if event.at > scenario.duration:
                problems.append(((field, index, "at"), f"{event.at:g} s is after the end of "
                                 f"the run (duration {scenario.duration:g} s): it would never "
                                 "happen"))
    return problems


def _late_windows(scenario: Scenario) -> list[tuple[Loc, str]]:
    """An ``until`` after the end, and a ``per`` window longer than the run (no window of
    it would be whole, so too few messages could never fail)."""
    problems: list[tuple[Loc, str]] = []
    duration = scenario.duration
    for index, expectation in enumerate(scenario.expectations):
        if expectation.until is not None and expectation.until > duration:
            problems.append((("expectations", index, "until"), f"{expectation.until:g} s is "
                             f"after the end of the run (duration {duration:g} s)"))
        messages = expectation.messages
        if messages is not None and messages.per is not None and messages.per > duration:
            problems.append((("expectations", index, "messages", "per"), f"a window of "
                             f"{messages.per:g} s is longer than the run (duration "
                             f"{duration:g} s): no window would be whole"))
    return problems


# ---------------------------------------------------------------- the air and the chip


@functools.cache
def _chip_ranges() -> dict[str, tuple[float, float, str]]:
    """The simulated BME680's ranges (the datasheet's, and the gas resistance its library
    can report): what :meth:`fakes.bme680.SimulatedBME680.set_environment` accepts."""
    from fakes.bme680 import SimulatedBME680
    from fakes.bme680.environment import (
        HUMIDITY_RANGE_RH,
        PRESSURE_RANGE_HPA,
        TEMPERATURE_RANGE_C,
    )

    return {"temperature": (*TEMPERATURE_RANGE_C, "degrees C"),
            "pressure": (*PRESSURE_RANGE_HPA, "hPa"),
            "humidity": (*HUMIDITY_RANGE_RH, "%RH"),
            "gas_resistance": (*SimulatedBME680().gas_span, "ohm")}


def _environment_problems(scenario: Scenario) -> list[tuple[Loc, str]]:
    """Air the chip cannot be given: the sensor, next to the CPU, reads the temperature
    halfway between the air's and the CPU's (:mod:`harness.scenarios.environment`), so that
    is what must be in the chip's range. Between points and along a rain front the air
    changes linearly, so checking the ends covers everything between."""
    environment = scenario.environment
    if environment is None or scenario.device is None:
        return []
    places: list[tuple[Loc, dict[str, Any]]] = []
    if environment.points is not None:
        places = [(("environment", "points", index), point.model_dump())
                  for index, point in enumerate(environment.points)]
    elif environment.profile is not None and environment.profile.steady is not None:
        places = [(("environment", "profile", "steady"),
                   environment.profile.steady.model_dump())]
    elif environment.profile is not None and environment.profile.rain_front is not None:
        front = environment.profile.rain_front
        places = [(("environment", "profile", "rain_front"), {
            f"{quantity}_{end}": getattr(front, f"{quantity}_{end}")
            for quantity in ("temperature", "pressure", "humidity") for end in ("from", "to")})]
    problems: list[tuple[Loc, str]] = []
    cpu = scenario.cpu_temperature
    for loc, values in places:
        for field, value in values.items():
            quantity = field.removesuffix("_from").removesuffix("_to")
            if value is None or quantity not in _chip_ranges():
                continue
            low, high, unit = _chip_ranges()[quantity]
            seen = (value + cpu) / 2 if quantity == "temperature" else value
            if not low <= seen <= high:
                why = f"outside the BME680's {low:g}..{high:g} {unit}"
                if quantity == "temperature":
                    why = (f"puts the sensor, next to the CPU at {cpu:g} degrees C, at "
                           f"{seen:g} degrees C (halfway): {why}")
                problems.append(((*loc, field), f"{value:g} {why}"))
    return problems
