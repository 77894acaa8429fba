"""Running a scenario on the ``sim`` rig: the simulated core under virtual time.

The run opens a :class:`~harness.simulation.Simulation` of the group (seeded from the
scenario, the CPU at its ``cpu_temperature``), adds the device program on a
:class:`~fakes.bme680.SimulatedBME680` on the simulation's clock with the scenario's
environment (see :mod:`harness.scenarios.environment` for the air-to-sensor convention),
injects the faults on the chip, and then advances time in steps of ``step`` seconds, also
stopping at every stimulus and ``within`` deadline: stimuli are published at their time, and
after each stop every expectation's monitor looks at the simulation.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from fakes.bme680 import (
    BrownOut,
    BusError,
    Fault,
    HeaterUnstable,
    NoDevice,
    SelfHeating,
    SimulatedBME680,
    StuckData,
    WrongChipId,
)
from harness.scenarios.environment import environment_source
from harness.scenarios.expectations import Outcome, monitor
from harness.scenarios.loading import load_scenario
from harness.scenarios.schema import DEFAULT_THING, FaultSpec, Scenario, SensorFault, Stimulus
from harness.simulation import DEFAULT_GROUP, Simulation

FAULTS: dict[str, type[Fault]] = {
    "no_device": NoDevice, "bus_error": BusError, "wrong_chip_id": WrongChipId,
    "brown_out": BrownOut, "stuck_data": StuckData, "heater_unstable": HeaterUnstable,
    "self_heating": SelfHeating,
}


@dataclass(frozen=True)
class ScenarioResult:
    name: str
    rig: str
    duration: float
    outcomes: tuple[Outcome, ...]

    @property
    def passed(self) -> bool:
        return all(outcome.met for outcome in self.outcomes)

    @property
    def failures(self) -> tuple[Outcome, ...]:
        return tuple(outcome for outcome in self.outcomes if not outcome.met)

    def report(self) -> str:
        verdict = "passed" if self.passed else f"{len(self.failures)} expectation(s) failed"
        return "\n".join([f"scenario {self.name!r} on {self.rig}: {verdict}",
                          *(f"  {outcome}" for outcome in self.outcomes)])


def make_fault(sensor: SensorFault) -> Fault:
    parameters = getattr(sensor, sensor.kind)
    return FAULTS[sensor.kind](**parameters.model_dump())


def _inject(chip: SimulatedBME680, fault: FaultSpec) -> None:
    chip.inject(make_fault(fault.sensor), at=fault.at, duration=fault.duration,
                transactions=fault.transactions)


def _publish(sim: Simulation, stimulus: Stimulus) -> None:
    publish = stimulus.publish
    payload = publish.payload if isinstance(publish.payload, str | dict | list) \
        else json.dumps(publish.payload)
    for _ in range(publish.repeat):
        sim.publish(publish.source, publish.topic, payload)


def _stops(scenario: Scenario) -> list[float]:
    """Where the run stops: every ``step``, every stimulus, every within deadline, the end."""
    stops = {scenario.duration}
    n = 1
    while n * scenario.step < scenario.duration:
        stops.add(round(n * scenario.step, 9))
        n += 1
    stops.update(s.at for s in scenario.stimuli if s.at <= scenario.duration)
    stops.update(e.within for e in scenario.expectations
                 if e.within is not None and e.within <= scenario.duration)
    stops.update(e.after for e in scenario.expectations
                 if e.after is not None and e.after <= scenario.duration)
    stops.add(0.0)
    return sorted(stops)


def run_scenario(scenario: Scenario | str | Path, group: str | Path = DEFAULT_GROUP,
                 *, folder: str | Path | None = None) -> ScenarioResult:
    """Run a scenario (a model or a file) on the ``sim`` rig. A trace environment is found
    relative to ``folder`` (by default the file's folder, or the working directory)."""
    if not isinstance(scenario, Scenario):
        path = Path(scenario)
        folder = path.parent if folder is None else folder
        scenario = load_scenario(path)
    folder = Path(folder or ".")
    monitors = [monitor(i, e, DEFAULT_THING) for i, e in enumerate(scenario.expectations)]
    pending = sorted(scenario.stimuli, key=lambda stimulus: stimulus.at)
    with Simulation.from_group(group, seed=scenario.seed,
                               cpu_temperature=scenario.cpu_temperature) as sim:
        if scenario.device is not None:
            assert scenario.environment is not None
            chip = SimulatedBME680(clock=lambda: sim.clock.elapsed)
            for fault in scenario.faults:
                _inject(chip, fault)
            sim.add_device(scenario.device.thing, chip=chip, period=scenario.device.period,
                           environment=environment_source(
                               scenario.environment, cpu_temperature=scenario.cpu_temperature,
                               folder=folder))
        for stop in _stops(scenario):
            sim.run(max(0.0, stop - sim.now))
            while pending and pending[0].at <= stop:
                _publish(sim, pending.pop(0))
            for each in monitors:
                each.observe(sim, sim.now)
        outcomes = tuple(each.finish(sim, sim.now) for each in monitors)
    return ScenarioResult(scenario.name, "sim", scenario.duration, outcomes)
