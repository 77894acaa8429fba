"""The chip's state as the drop-in keeps it: settings bytes and the latest result.

Settings live in the bytes the datasheet gives them (ctrl_hum, ctrl_meas, config, ctrl_gas,
the ten heater set-points) because the library's setters write whole bytes without masking
the value: ``set_pressure_oversample(8)`` changes the temperature oversampling, and
``DISABLE_HEATER`` sets bit 6, not the heat_off bit. Keeping the bytes makes those quirks
come out as on the chip. Nothing else is register-level: there is no bus, no calibration
memory, no ADC code and no compensation of measured values; a result holds the readings
themselves.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from . import _formulas as formulas
from ._calibration import GAS_SPAN_OHM, heater_stable
from ._faults import Fault, HeaterUnstable, SelfHeating, StuckData

CTRL_GAS_0 = 0x70  # bit 3 heat_off
CTRL_GAS_1 = 0x71  # run_gas, nb_conv (heater profile) in bits 3:0
CTRL_HUM = 0x72
CTRL_MEAS = 0x74  # osrs_t 7:5, osrs_p 4:2, mode 1:0
RES_HEAT_0 = 0x5A
GAS_WAIT_0 = 0x64
MEAS_STATUS = 0x1D
NEW_DATA = 0x80
MEASURING = 0x20
GAS_VALID = 0x20
HEAT_STAB = 0x10
MODE_MASK = 0x03
FORCED = 0x01
PROFILES = 10
RUN_GAS_BIT = {0: 0x10, 1: 0x20}  # BME680, BME688
#: Bytes a host write changes (heater set-points 0x50..0x6D, controls 0x70..0x75; the BME688
#: also has 0x6E); writes anywhere else are ignored, as on the chip.
_WRITABLE = frozenset(range(0x50, 0x6E)) | frozenset(range(0x70, 0x76))
WRITABLE = {0: _WRITABLE, 1: _WRITABLE | {0x6E}}
SOFT_RESET_REG = 0xE0
SOFT_RESET_COMMAND = 0xB6


@dataclass(frozen=True, slots=True)
class Air:
    """What the sensor is exposed to: degC, hPa, %RH, ohm."""

    temperature: float = 25.0
    pressure: float = 1013.25
    humidity: float = 40.0
    gas_resistance: float = 50_000.0


@dataclass(frozen=True, slots=True)
class Result:
    """One finished measurement, before the library's temperature offset.

    ``t_chip``: a t_fine that reads as the die temperature (to 0.01 degC), the temperature
    the chip measured pressure and humidity at. ``t_fine``: what the library gets (the same,
    or ``formulas.SKIPPED_FINE`` when the temperature was skipped). ``pressure_pa`` /
    ``humidity_milli``: the values measured, None when skipped.
    """

    t_chip: int
    t_fine: int
    pressure_pa: int | None
    humidity_milli: int | None
    gas_ohm: float
    gas_flags: int  # GAS_VALID | HEAT_STAB as the chip reports them


def magnus_hpa(celsius: float) -> float:
    """Saturation vapour pressure over water (Magnus approximation)."""
    return 6.112 * math.exp(17.62 * celsius / (243.12 + celsius))


def humidity_at(rh: float, air_c: float, die_c: float) -> float:
    """Relative humidity at the die when air at ``air_c`` has ``rh`` (same water content)."""
    return min(max(rh * magnus_hpa(air_c) / magnus_hpa(die_c), 0.0), 100.0)


class ChipState:
    """One BME680 (variant 0) or BME688 (variant 1), without a bus."""

    def __init__(self, variant: int) -> None:
        self.variant = variant
        self.measurements = 0
        self.regs = bytearray(256)
        self.power_on_reset()

    def power_on_reset(self) -> None:
        """Power-on or soft reset: every setting 0, no result, measurement counter 0."""
        self.regs[:] = bytes(256)
        self.status = 0
        self.meas_index = 0
        skipped = formulas.SKIPPED_FINE
        self.result = Result(
            skipped, skipped, None, None, GAS_SPAN_OHM[self.variant][1], 0
        )  # the reset contents of the data registers; never read while status is 0
        self.hung = False
        self.pending_ctrl_meas: int | None = None

    # ------------------------------------------------------------------ host access
    def read(self, register: int) -> int:
        if register == MEAS_STATUS:
            return self.status
        return self.regs[register]

    def write(self, register: int, value: int, air: Air, faults: tuple[Fault, ...]) -> None:
        """A host write of ``value`` to ``register`` (both already bytes)."""
        if register == SOFT_RESET_REG:
            if value == SOFT_RESET_COMMAND:
                self.power_on_reset()
            return
        if register not in WRITABLE[self.variant]:
            return
        if self.hung:  # the chip ignores settings while converting; a mode write waits
            if register == CTRL_MEAS:
                self.pending_ctrl_meas = value
            return
        self.regs[register] = value
        if register == CTRL_MEAS and value & MODE_MASK == FORCED:
            self._start(air, faults)

    def release(self, air: Air, faults: tuple[Fault, ...]) -> None:
        """End a hung measurement once StuckData no longer applies."""
        if not self.hung or any(isinstance(f, StuckData) for f in faults):
            return
        self.hung = False
        self.status &= ~MEASURING & 0xFF
        self.regs[CTRL_MEAS] &= ~MODE_MASK & 0xFF
        pending, self.pending_ctrl_meas = self.pending_ctrl_meas, None
        if pending is not None:
            self.regs[CTRL_MEAS] = pending
            if pending & MODE_MASK == FORCED:
                self._start(air, faults)

    # ------------------------------------------------------------------ measuring
    def _start(self, air: Air, faults: tuple[Fault, ...]) -> None:
        if any(isinstance(f, StuckData) for f in faults):
            self.hung = True
            self.status = (self.status | MEASURING) & ~NEW_DATA & 0xFF
            return
        self.result = self._measure(air, faults)
        self.measurements += 1
        self.meas_index = (self.meas_index + 1) & 0xFF
        self.status = NEW_DATA | (self.regs[CTRL_GAS_1] & 0x0F)
        self.regs[CTRL_MEAS] &= ~MODE_MASK & 0xFF  # forced mode ends in sleep

    def _measure(self, air: Air, faults: tuple[Fault, ...]) -> Result:
        regs = self.regs
        die_c, humidity = air.temperature, air.humidity
        heater_fault = False
        for fault in faults:
            if isinstance(fault, SelfHeating):
                warmer = die_c + fault.offset_c
                if fault.humidity_follows:
                    humidity = humidity_at(humidity, die_c, warmer)
                die_c = warmer
            elif isinstance(fault, HeaterUnstable):
                heater_fault = True
        ctrl_meas = regs[CTRL_MEAS]
        osrs_t, osrs_p, osrs_h = ctrl_meas >> 5, (ctrl_meas >> 2) & 7, regs[CTRL_HUM] & 7
        t_chip = formulas.representative_fine(round(die_c * 100))
        t_fine = t_chip if osrs_t else formulas.SKIPPED_FINE
        pressure = round(air.pressure * 100) if osrs_p else None
        rh = min(max(round(humidity * 1000), 0), 100000) if osrs_h else None
        gas_ohm, flags = self.result.gas_ohm, 0  # without run_gas the gas bytes stay
        profile = regs[CTRL_GAS_1] & 0x0F
        if regs[CTRL_GAS_1] & RUN_GAS_BIT[self.variant]:
            gas_ohm, flags = float(air.gas_resistance), GAS_VALID
            stable = (
                not heater_fault
                and not regs[CTRL_GAS_0] & 0x08
                and profile < PROFILES
                and heater_stable(regs[RES_HEAT_0 + profile], regs[GAS_WAIT_0 + profile], die_c)
            )
            if stable:
                flags |= HEAT_STAB
        return Result(t_chip, t_fine, pressure, rh, gas_ohm, flags)
