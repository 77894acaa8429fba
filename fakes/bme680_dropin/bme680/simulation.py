"""The world of the drop-in: the air at the sensor, the one chip, and its faults.

The faults (:class:`NoDevice`, :class:`BusError`, :class:`WrongChipId`, :class:`BrownOut`,
:class:`StuckData`, :class:`HeaterUnstable`, :class:`SelfHeating`) are described in
``bme680._faults``; they carry the names of the register-level chip's faults.

``bme680.environment`` (a :class:`SensorEnvironment`) is what every drop-in ``BME680`` talks
to, as several driver objects on one bus talk to one chip: settings written through one
are seen by the others. Replace it (``bme680.environment = SensorEnvironment(variant=1)``)
before constructing sensors to get a BME688 or a chip at 0x77.
"""

from __future__ import annotations

import math
import numbers
from errno import EREMOTEIO
from typing import Any

from ._arguments import check_address, os_error, remote_io_error
from ._calibration import GAS_SPAN_OHM
from ._chip import Air, ChipState
from ._faults import (
    BrownOut,
    BusError,
    Fault,
    HeaterUnstable,
    Injection,
    NoDevice,
    SelfHeating,
    StuckData,
    WrongChipId,
    schedule,
)

__all__ = [
    "Air",
    "BrownOut",
    "BusError",
    "Fault",
    "HeaterUnstable",
    "Injection",
    "NoDevice",
    "SelfHeating",
    "SensorEnvironment",
    "StuckData",
    "WrongChipId",
]

#: Datasheet operating range, as the register-level chip enforces it.
TEMPERATURE_RANGE_C = (-40.0, 85.0)
PRESSURE_RANGE_HPA = (300.0, 1100.0)
HUMIDITY_RANGE_RH = (0.0, 100.0)
VARIANT_NAMES = {0: "BME680", 1: "BME688"}


def check_range(quantity: str, value: float, low: float, high: float, unit: str) -> float:
    """``value`` as a float, or the error naming the allowed range."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{quantity} must be a number, not {type(value).__name__}")
    number = float(value)
    if math.isnan(number) or not low <= number <= high:
        raise ValueError(f"{quantity} {value!r} {unit} is outside {low:g}..{high:g} {unit}")
    return number


class SensorEnvironment:
    """The air around one BME680/BME688, the chip's state and the faults scheduled for it.

    :param address: where the chip answers (0x76, or 0x77 with SDO high).
    :param variant: 0 (BME680, ``VARIANT_LOW``) or 1 (BME688, ``VARIANT_HIGH``).
    """

    def __init__(self, *, address: int = 0x76, variant: int = 0) -> None:
        self.address = check_address(address)
        if variant not in VARIANT_NAMES:
            raise ValueError(f"variant must be 0 (BME680) or 1 (BME688), got {variant!r}")
        self.variant = int(variant)
        self.air = Air()
        self.chip = ChipState(self.variant)
        self.calls = 0
        self._injections: list[Injection] = []
        self._selected: int | None = None

    # ------------------------------------------------------------------ the air
    @property
    def temperature(self) -> float:
        return self.air.temperature

    @property
    def pressure(self) -> float:
        return self.air.pressure

    @property
    def humidity(self) -> float:
        return self.air.humidity

    @property
    def gas_resistance(self) -> float:
        return self.air.gas_resistance

    @property
    def gas_span(self) -> tuple[float, float]:
        """Lowest and highest gas resistance (ohm) the library can report on this variant."""
        return GAS_SPAN_OHM[self.variant]

    def set_environment(
        self,
        *,
        temperature: float | None = None,
        pressure: float | None = None,
        humidity: float | None = None,
        gas_resistance: float | None = None,
    ) -> Air:
        """Set what the next measurement sees (degC, hPa, %RH, ohm); the rest stays.

        Limits as on the register-level chip: -40..85 degC, 300..1100 hPa, 0..100 %RH and
        :attr:`gas_span`; anything else raises ValueError (TypeError for non-numbers).
        """
        air = self.air
        if temperature is not None:
            temperature = check_range("temperature", temperature, *TEMPERATURE_RANGE_C, "degC")
        if pressure is not None:
            pressure = check_range("pressure", pressure, *PRESSURE_RANGE_HPA, "hPa")
        if humidity is not None:
            humidity = check_range("humidity", humidity, *HUMIDITY_RANGE_RH, "%RH")
        if gas_resistance is not None:
            name = f"gas_resistance ({VARIANT_NAMES[self.variant]})"
            gas_resistance = check_range(name, gas_resistance, *self.gas_span, "ohm")
        self.air = Air(
            air.temperature if temperature is None else temperature,
            air.pressure if pressure is None else pressure,
            air.humidity if humidity is None else humidity,
            air.gas_resistance if gas_resistance is None else gas_resistance,
        )
        return self.air

    # ------------------------------------------------------------------ faults
    def inject(self, fault: Fault, *, after_calls: int = 0, calls: int | None = None) -> Injection:
        """Schedule ``fault`` for ``calls`` calls (None: until cleared) after ``after_calls``."""
        injection = schedule(fault, after_calls, calls)
        self._injections.append(injection)
        return injection

    def fail_next(self, count: int = 1, errno: int = EREMOTEIO) -> Injection:
        """The next ``count`` calls that talk to the chip raise ``OSError(errno)``."""
        return self.inject(BusError(errno), calls=count)

    def clear_faults(self) -> None:
        for injection in self._injections:
            injection.cancel()
        self._injections.clear()

    @property
    def injections(self) -> list[Injection]:
        """Faults still scheduled or engaged."""
        return list(self._injections)

    def reset(self) -> None:
        """Back to the start: default air, no faults, the chip freshly powered."""
        self.clear_faults()
        self.air = Air()
        self.chip = ChipState(self.variant)
        self.calls = 0
        self._selected = None

    # ------------------------------------------------------------------ used by BME680
    def select(self, i2c_addr: Any) -> None:
        """Check ``i2c_addr`` as smbus2 does before a transaction.

        smbus2 only selects an address when it is not the one selected last (none at first),
        so, as on a real bus, ``None`` passes until another address has been used.
        """
        if i2c_addr is not self._selected:
            check_address(i2c_addr)
            if type(i2c_addr) is int:
                self._selected = i2c_addr

    def begin_call(self, i2c_addr: int) -> tuple[Fault, ...]:
        """A call reaches the chip at ``i2c_addr``: the faults that apply to it, or its error."""
        if i2c_addr != self.address:
            raise remote_io_error()  # nobody acknowledges the address
        self.calls += 1
        engaged: list[Fault] = []
        keep: list[Injection] = []
        for injection in self._injections:
            if injection.engage():
                fault = injection.fault
                engaged.append(fault)
                if isinstance(fault, BrownOut) and not injection.fired:
                    injection.fired = True
                    self.chip.power_on_reset()
                    if not fault.unreachable:
                        continue  # a one-off event
            if not injection.finished:
                keep.append(injection)
        self._injections = keep
        for fault in engaged:
            if isinstance(fault, NoDevice) or (isinstance(fault, BrownOut) and fault.unreachable):
                raise remote_io_error()
            if isinstance(fault, BusError):
                raise os_error(fault.errno)
        faults = tuple(engaged)
        self.chip.release(self.air, faults)
        return faults

    def chip_id(self, faults: tuple[Fault, ...]) -> int:
        for fault in faults:
            if isinstance(fault, WrongChipId):
                return fault.chip_id
        return 0x61
