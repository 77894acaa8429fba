"""The two things compared: the real library on the register-level chip, and the drop-in.

A :class:`Side` wraps either and offers the same handful of operations (make a sensor, set
the air, inject a fault by its name), so a test can run one scenario on both and compare
what a user would see.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

import bme680

import fakes.bme680 as register_level

#: How far a register-level reading may be from the environment (ADC resolution and the
#: pressure formula's gaps, see fakes.bme680.compensation_inverse); the drop-in is exact.
TOLERANCE = {"temperature": 0.005, "pressure": 0.05, "humidity": 0.0055}
GAS_RELATIVE_TOLERANCE = 6e-4
#: ... and where the library's t_fine is not the chip's (temperature offset, skipped
#: temperature): one 0.01 degC step, and the pressure formula's gaps at the shifted t_fine.
SHIFTED_TOLERANCE = {"temperature": 0.0101, "pressure": 0.11, "humidity": 0.045}
FAULT_NAMES = (
    "NoDevice",
    "BusError",
    "WrongChipId",
    "BrownOut",
    "StuckData",
    "HeaterUnstable",
    "SelfHeating",
)


class SleepRecorder:
    """Stands in for a module's ``time``: ``sleep`` returns at once and is recorded."""

    def __init__(self) -> None:
        self.calls: list[float] = []

    def sleep(self, seconds: float) -> None:
        self.calls.append(seconds)


@dataclass
class Side:
    """One implementation, ready to build sensors on one chip."""

    name: str
    module: ModuleType
    make: Callable[..., Any]  # make(i2c_addr=0x76) -> sensor
    world: Any  # SimulatedBME680 or SensorEnvironment: set_environment, inject, fail_next
    faults: Any  # where the fault classes live
    sleeps: list[float] = field(default_factory=list)

    def inject(self, name: str, *args: Any, **kwargs: Any) -> Any:
        return self.world.inject(getattr(self.faults, name)(*args, **kwargs))

    def set_environment(self, **values: float) -> Any:
        return self.world.set_environment(**values)


def real_side(sleeps: list[float], variant: int = 0, address: int = 0x76) -> Side:
    chip = register_level.SimulatedBME680(variant=variant, address=address)

    def make(i2c_addr: Any = 0x76) -> bme680.BME680:
        return bme680.BME680(i2c_addr, i2c_device=chip)

    return Side("real", bme680, make, chip, register_level, sleeps)


def dropin_side(module: ModuleType, variant: int = 0, address: int = 0x76) -> Side:
    module.environment = module.simulation.SensorEnvironment(variant=variant, address=address)
    recorder = SleepRecorder()
    module.time = recorder

    def make(i2c_addr: Any = 0x76) -> Any:
        return module.BME680(i2c_addr)

    return Side("drop-in", module, make, module.environment, module.simulation, recorder.calls)


@dataclass(frozen=True)
class Outcome:
    """What a call did, as far as a user can tell: its value or its exception."""

    value: Any = None
    error: type[BaseException] | None = None
    message: str = ""
    errno: int | None = None
    context: type[BaseException] | None = None

    def __str__(self) -> str:
        if self.error is None:
            return f"returned {self.value!r}"
        return f"raised {self.error.__name__}({self.message!r}, errno={self.errno})"


def outcome(call: Callable[[], Any]) -> Outcome:
    try:
        value = call()
    except Exception as error:  # every exception is a result to compare here
        context = type(error.__context__) if error.__context__ is not None else None
        return Outcome(None, type(error), str(error), getattr(error, "errno", None), context)
    return Outcome(value if not _is_sensor(value) else "<sensor>")


def _is_sensor(value: Any) -> bool:
    return type(value).__name__ == "BME680"


def settings(sensor: Any) -> dict[str, Any]:
    """Everything the sensor's settings show through the public API."""
    return {
        "humidity_oversample": sensor.get_humidity_oversample(),
        "pressure_oversample": sensor.get_pressure_oversample(),
        "temperature_oversample": sensor.get_temperature_oversample(),
        "filter": sensor.get_filter(),
        "gas_heater_profile": sensor.get_gas_heater_profile(),
        "gas_heater_status": sensor.get_gas_heater_status(),
        "gas_status": sensor.get_gas_status(),
        "power_mode": sensor.get_power_mode(),
        "tph_settings": repr(vars(sensor.tph_settings)),
        "gas_settings": repr(vars(sensor.gas_settings)),
        "offset_temp_in_t_fine": sensor.offset_temp_in_t_fine,
    }


def flags(sensor: Any) -> dict[str, Any]:
    """The exact (non-measured) part of ``sensor.data``."""
    data = sensor.data
    return {
        "status": data.status,
        "heat_stable": data.heat_stable,
        "gas_index": data.gas_index,
        "meas_index": data.meas_index,
    }


EXACT_ALL = ("temperature", "pressure", "humidity", "gas_resistance")
EXACT_TPH = EXACT_ALL[:3]


def assert_same_reading(
    real: Any, dropin: Any, exact: tuple[str, ...] = (), shifted: bool | None = None
) -> None:
    """Same flags and value types; the values named in ``exact`` equal, the others within
    the register-level chip's accuracy.

    ``shifted``: the library's t_fine is not the chip's (default: when a temperature offset
    is set); then the wider :data:`SHIFTED_TOLERANCE` applies, as documented in the drop-in.
    """
    assert flags(dropin) == flags(real)
    if shifted is None:
        shifted = bool(real.offset_temp_in_t_fine)
    for name, tolerance in (SHIFTED_TOLERANCE if shifted else TOLERANCE).items():
        mine, theirs = getattr(dropin.data, name), getattr(real.data, name)
        assert type(mine) is type(theirs), name
        if name in exact:
            assert mine == theirs, f"{name}: drop-in {mine!r}, real {theirs!r}"
        else:
            assert abs(mine - theirs) <= tolerance, f"{name}: drop-in {mine}, real {theirs}"
    mine, theirs = dropin.data.gas_resistance, real.data.gas_resistance
    assert type(mine) is type(theirs), "gas_resistance"
    if "gas_resistance" in exact:
        assert mine == theirs, f"gas_resistance: drop-in {mine!r}, real {theirs!r}"
    else:
        assert math.isclose(mine, theirs, rel_tol=GAS_RELATIVE_TOLERANCE), (mine, theirs)
