"""The simulated BME680 a scenario's device reads, with the scenario's sensor faults on it."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

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

if TYPE_CHECKING:
    from harness.scenarios.schema import Scenario, SensorFault

FAULTS: dict[str, type[Fault]] = {
    "no_device": NoDevice, "bus_error": BusError, "wrong_chip_id": WrongChipId,
    "brown_out": BrownOut, "stuck_data": StuckData, "heater_unstable": HeaterUnstable,
    "self_heating": SelfHeating,
}


def make_fault(sensor: SensorFault) -> Fault:
    parameters = getattr(sensor, sensor.kind)
    return FAULTS[sensor.kind](**parameters.model_dump())


def chip_for(scenario: Scenario, clock: Callable[[], float]) -> SimulatedBME680:
    """A chip on ``clock`` (scenario seconds) with every sensor fault of the scenario."""
    chip = SimulatedBME680(clock=clock)
    for fault in scenario.faults:
        if fault.sensor is not None:
            chip.inject(make_fault(fault.sensor), at=fault.at, duration=fault.duration,
                        transactions=fault.transactions)
    return chip
