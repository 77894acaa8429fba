"""The simulated BME680/BME688 on its I2C bus, as an ``smbus2.SMBus``-compatible object.

Pass it to the unmodified library (``bme680.BME680(i2c_device=chip)``) or let it stand in for
``smbus2.SMBus(1)`` (:func:`fakes.bme680.patched_smbus`). It keeps a 256-byte register file:

* power-on / soft-reset (0xB6 -> 0xE0) image: chip id 0x61 at 0xD0, the variant at 0xF0, the
  calibration set's NVM bytes, 0x80 in the pressure/temperature/humidity MSBs, every control
  register 0x00; calibration bytes and ids are read-only, writes there are ignored;
* ctrl_meas (0x74) with mode 01 runs one forced T/P/H(/G) conversion and returns the mode bits
  to 00 (sleep); ctrl_hum (0x72) takes effect at the next ctrl_meas write (datasheet 5.3.3);
* results: ADC codes chosen by inverting the library's compensation so that the library
  reports :attr:`environment` (see :mod:`fakes.bme680.compensation_inverse` for the accuracy
  and the pressure gaps); oversampling 0 gives the "skipped" codes 0x80000 (T, P) / 0x8000
  (H); without the IIR filter T/P have 16 + (osrs - 1) bits; the raw codes depend on the true
  die temperature, so a skipped temperature or the library's ``set_temp_offset`` shifts P and
  H as on the real chip;
* gas: run_gas (bit 4 on the BME680, bit 5 on the BME688) enables it; the result goes to
  0x2A/0x2B (BME680) or 0x2C/0x2D (BME688) with gas_valid = 1 and heat_stab = 1 only when the
  heater is on, the selected profile (nb_conv 0..9) waits >= ``heater_settle_ms`` and its
  target is not above 400 degC; without run_gas the gas registers keep their contents and
  gas_valid/heat_stab read 0 (unverified on silicon);
* meas_status_0 (0x1D): new_data, measuring/gas_measuring while a timed conversion runs, the
  profile index in bits 3:0; 0x1E counts measurements;
* I2C block writes are register/data pairs (datasheet 6.2.1); block reads auto-increment.

Not modelled: the IIR filter's smoothing (results are the converged value), BME688 parallel
mode, SPI, the 2 ms start-up after a reset, a kernel driver holding the address (EBUSY).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from errno import EREMOTEIO
from typing import Any, NamedTuple

from fakes.bme680 import bus_protocol as bus
from fakes.bme680 import compensation_inverse as inverse
from fakes.bme680 import registers as reg
from fakes.bme680.calibration import DEFAULT_CALIBRATION, CalibrationSet, calibration_set, encode
from fakes.bme680.environment import (
    HUMIDITY_RANGE_RH,
    PRESSURE_RANGE_HPA,
    TEMPERATURE_RANGE_C,
    Environment,
    check_range,
)
from fakes.bme680.faults import (
    BrownOut,
    BusError,
    Fault,
    Injection,
    NoDevice,
    StuckData,
    WrongChipId,
    schedule,
)
from fakes.bme680.heater import DEFAULT_SETTLE_MS
from fakes.bme680.measurement import Result, ResultEncoder
from fakes.bme680.timing import (
    ManualClock,
    NewDataPolicy,
    TimingMode,
    gas_wait_ms,
    tph_duration_us,
    tph_phase_us,
)


class Transaction(NamedTuple):
    """One bus transaction addressed to the chip (kept when ``record=True``)."""

    time: float
    kind: str  # "read", "write", "read_block", "write_block"
    register: int
    data: tuple[int, ...]
    errno: int | None = None


@dataclass(slots=True)
class _Conversion:
    ends_at: float  # math.inf: never (StuckData)
    gas_from: float | None
    result: Result | None


class SimulatedBME680:
    """A BME680 (or BME688) on an I2C bus, speaking smbus2's API.

    :param address: where the chip answers (0x76 with SDO to GND, 0x77 with SDO to VDDIO).
    :param variant: ``Variant.BME680`` or ``Variant.BME688`` (the value of register 0xF0).
    :param calibration: a set name from :data:`CALIBRATION_SETS` or a :class:`CalibrationSet`.
    :param clock: a callable returning seconds, or an object with ``now()``; default: a new
        :class:`ManualClock` (then available as :attr:`clock`).
    :param timing: ``TimingMode.INSTANT`` (default) or ``TimingMode.DATASHEET``.
    :param new_data_policy: what meas_status_0 shows while a timed conversion runs.
    :param heater_settle_ms: shortest heater time counted as stable (datasheet: 20-30 ms).
    :param record: keep every transaction in :attr:`log`.
    """

    def __init__(
        self,
        *,
        address: int = 0x76,
        variant: reg.Variant | int = reg.Variant.BME680,
        calibration: str | CalibrationSet = DEFAULT_CALIBRATION,
        clock: Callable[[], float] | ManualClock | None = None,
        timing: TimingMode = TimingMode.INSTANT,
        new_data_policy: NewDataPolicy = NewDataPolicy.KEEP_PREVIOUS,
        environment: Environment | None = None,
        heater_settle_ms: float = DEFAULT_SETTLE_MS,
        record: bool = False,
    ) -> None:
        self.address = bus.check_address(address)
        self.variant = reg.Variant(variant)
        self.calibration = calibration_set(calibration)
        if clock is None:
            clock = ManualClock()
        self.clock: ManualClock | None = clock if isinstance(clock, ManualClock) else None
        self._now: Callable[[], float] = getattr(clock, "now", clock)  # type: ignore[arg-type]
        self.timing = TimingMode(timing)
        self.new_data_policy = NewDataPolicy(new_data_policy)
        self.log: list[Transaction] | None = [] if record else None
        self.transactions = 0
        self._measurements = 0
        self.force = False
        self.bus: int | str = 1
        self._closed = False
        self._good_address: int | None = None
        self._nvm = encode(self.calibration)
        self._writable = reg.WRITABLE[self.variant]
        self._run_gas_bit = reg.RUN_GAS[self.variant]
        self._gas_lsb = (
            reg.GAS_R_LSB_BME688 if self.variant is reg.Variant.BME688 else reg.GAS_R_LSB_BME680
        )
        self._encoder = ResultEncoder(self.calibration, self.variant, heater_settle_ms)
        self.gas_span = inverse.gas_span(self.variant, self.calibration.library_range_sw_err)
        self._injections: list[Injection] = []
        self._engaged: tuple[Fault, ...] = ()
        self._tx_time = 0.0
        self.environment = Environment()
        if environment is not None:
            self.set_environment(
                temperature=environment.temperature,
                pressure=environment.pressure,
                humidity=environment.humidity,
                gas_resistance=environment.gas_resistance,
            )
        self._regs = bytearray(256)
        self.power_on_reset()

    # ------------------------------------------------------------------ the world
    def now(self) -> float:
        """The chip's clock, in seconds."""
        return self._now()

    def set_environment(
        self,
        *,
        temperature: float | None = None,
        pressure: float | None = None,
        humidity: float | None = None,
        gas_resistance: float | None = None,
    ) -> Environment:
        """Set what the next measurement sees (degC, hPa, %RH, ohm); others stay as they are.

        Limits: the datasheet operating range -40..85 degC, 300..1100 hPa, 0..100 %RH, and
        the gas resistance the library can report for this variant and calibration
        (:attr:`gas_span`, about 177 ohm..12.9 Mohm on a BME680, 1.42 kohm..102.4 Mohm on a
        BME688). Anything else raises ValueError naming the range.
        """
        env = self.environment
        if temperature is not None:
            low, high = TEMPERATURE_RANGE_C
            temperature = check_range("temperature", temperature, low, high, "degC")
        if pressure is not None:
            pressure = check_range("pressure", pressure, *PRESSURE_RANGE_HPA, "hPa")
        if humidity is not None:
            humidity = check_range("humidity", humidity, *HUMIDITY_RANGE_RH, "%RH")
        if gas_resistance is not None:
            low, high = self.gas_span
            gas_resistance = check_range(
                f"gas_resistance ({self.variant.name})", gas_resistance, low, high, "ohm"
            )
        self.environment = Environment(
            env.temperature if temperature is None else temperature,
            env.pressure if pressure is None else pressure,
            env.humidity if humidity is None else humidity,
            env.gas_resistance if gas_resistance is None else gas_resistance,
        )
        return self.environment

    # ------------------------------------------------------------------ faults
    def inject(
        self,
        fault: Fault,
        *,
        at: float | None = None,
        duration: float | None = None,
        after_transactions: int = 0,
        transactions: int | None = None,
    ) -> Injection:
        """Schedule ``fault`` (see :mod:`fakes.bme680.faults` for the window's meaning)."""
        injection = schedule(
            fault,
            self._now(),
            at=at,
            duration=duration,
            after_transactions=after_transactions,
            transactions=transactions,
        )
        self._injections.append(injection)
        return injection

    def fail_next(self, count: int = 1, errno: int = EREMOTEIO) -> Injection:
        """The next ``count`` transactions fail with ``errno`` (121 by default)."""
        return self.inject(BusError(errno), transactions=count)

    def clear_faults(self) -> None:
        for injection in self._injections:
            injection.cancel()
        self._injections.clear()

    @property
    def injections(self) -> list[Injection]:
        """Faults still scheduled or engaged."""
        return list(self._injections)

    # ------------------------------------------------------------------ chip state
    def power_on_reset(self) -> None:
        """Everything a power cycle or soft reset does: the register file back to its image."""
        regs = self._regs
        regs[:] = bytes(256)
        for address, value in self._nvm.items():
            regs[address] = value
        for address, value in reg.data_image(self.variant).items():
            regs[address] = value
        regs[reg.CHIP_ID_REG] = reg.CHIP_ID
        regs[reg.VARIANT_REG] = int(self.variant)
        self._osrs_h = 0
        self._meas_index = 0
        self._conversion: _Conversion | None = None
        self._pending_ctrl_meas: int | None = None

    def peek(self, register: int, length: int = 1) -> int | list[int]:
        """Register contents without a bus transaction (no faults, not counted)."""
        self._update(self._now())
        self._tx_time = self._now()
        if length == 1:
            return self._read(register & 0xFF)
        return [self._read((register + i) & 0xFF) for i in range(length)]

    @property
    def measurements(self) -> int:
        """Conversions completed since the chip was created."""
        self._update(self._now())
        return self._measurements

    @property
    def busy(self) -> bool:
        """Whether a conversion is running (timed mode) or hung (StuckData)."""
        self._update(self._now())
        return self._conversion is not None

    def measurement_duration_s(self) -> float:
        """How long a forced conversion with the current settings takes (datasheet formula)."""
        osrs_t, osrs_p, heater = self._duration_settings()
        return (tph_duration_us(osrs_t, osrs_p, self._regs[reg.CTRL_HUM] & 7) + heater) / 1e6

    def _duration_settings(self) -> tuple[int, int, int]:
        regs = self._regs
        ctrl_meas = regs[reg.CTRL_MEAS]
        nb = regs[reg.CTRL_GAS_1] & reg.NB_CONV_MASK
        heater_us = 0
        if regs[reg.CTRL_GAS_1] & self._run_gas_bit and nb < reg.HEATER_PROFILES:
            heater_us = 1000 * gas_wait_ms(regs[reg.GAS_WAIT_0 + nb])
        return reg.oversampling_t(ctrl_meas), reg.oversampling_p(ctrl_meas), heater_us

    # ------------------------------------------------------------------ smbus2 API
    def open(self, bus_number: int | str) -> None:
        """Re-open after :meth:`close` (``smbus2.SMBus.open``)."""
        if not isinstance(bus_number, int | str):
            raise TypeError(f"Unexpected type(bus)={type(bus_number)}")
        self.bus = bus_number
        self._closed = False

    def close(self) -> None:
        self._closed = True
        self._good_address = None

    def __enter__(self) -> SimulatedBME680:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def read_byte_data(self, i2c_addr: int, register: int, force: bool | None = None) -> int:
        """Read one register."""
        self._select(i2c_addr)
        register = bus.as_byte(register)
        self._begin(i2c_addr, "read", register)
        value = self._read(register)
        if self.log is not None:
            self._record("read", register, (value,))
        return value

    def write_byte_data(
        self, i2c_addr: int, register: int, value: int, force: bool | None = None
    ) -> None:
        """Write one register."""
        self._select(i2c_addr)
        register = bus.as_byte(register)
        value = bus.as_byte(value)
        self._begin(i2c_addr, "write", register)
        self._write(register, value)
        if self.log is not None:
            self._record("write", register, (value,))

    def read_i2c_block_data(
        self, i2c_addr: int, register: int, length: int, force: bool | None = None
    ) -> list[int]:
        """Read ``length`` (<= 32) registers from ``register`` on (auto-increment)."""
        bus.check_read_length(length)
        self._select(i2c_addr)
        register = bus.as_byte(register)
        count = bus.kernel_read_count(length)
        self._begin(i2c_addr, "read_block", register)
        data = [self._read((register + i) & 0xFF) for i in range(count)]
        if self.log is not None:
            self._record("read_block", register, tuple(data))
        return bus.block_read_result(data, length)

    def write_i2c_block_data(
        self, i2c_addr: int, register: int, data: Any, force: bool | None = None
    ) -> None:
        """I2C block write: on this chip the bytes after the first are address/data pairs."""
        length = bus.check_write_length(data)
        self._select(i2c_addr)
        register = bus.as_byte(register)
        payload = bus.block_write_bytes(data, length)
        self._begin(i2c_addr, "write_block", register)
        if payload:
            self._write(register, payload[0])
            for i in range(1, len(payload) - 1, 2):
                self._write(payload[i], payload[i + 1])
        if self.log is not None:
            self._record("write_block", register, tuple(payload))

    # ------------------------------------------------------------------ transactions
    def _select(self, i2c_addr: Any) -> None:
        if self._closed:
            raise bus.closed_bus_error()
        if i2c_addr is not self._good_address:
            bus.check_address(i2c_addr)
            if type(i2c_addr) is int:
                self._good_address = i2c_addr

    def _begin(self, i2c_addr: int, kind: str, register: int) -> None:
        now = self._now()
        self._tx_time = now
        if i2c_addr != self.address:
            raise bus.remote_io_error()  # nobody acknowledges the address
        self.transactions += 1
        if self._injections:
            self._engage_faults(now, kind, register)
        elif self._engaged:
            self._engaged = ()
        if self._conversion is not None:
            self._update(now)

    def _engage_faults(self, now: float, kind: str, register: int) -> None:
        engaged: list[Fault] = []
        keep: list[Injection] = []
        for injection in self._injections:
            if injection.engage(now):
                fault = injection.fault
                engaged.append(fault)
                if isinstance(fault, BrownOut) and not injection.fired:
                    injection.fired = True
                    self.power_on_reset()
                    if not fault.unreachable:
                        continue  # a one-off event: done
            if not injection.finished(now):
                keep.append(injection)
        self._injections = keep
        self._engaged = tuple(engaged)
        for fault in engaged:
            error = None
            if isinstance(fault, NoDevice) or (isinstance(fault, BrownOut) and fault.unreachable):
                error = bus.remote_io_error()
            elif isinstance(fault, BusError):
                error = bus.os_error(fault.errno)
            if error is not None:
                if self.log is not None:
                    self._record(kind, register, (), error.errno)
                raise error

    def _record(
        self, kind: str, register: int, data: tuple[int, ...], errno: int | None = None
    ) -> None:
        assert self.log is not None
        self.log.append(Transaction(self._tx_time, kind, register, data, errno))

    def _read(self, register: int) -> int:
        if register == reg.MEAS_STATUS:
            value = self._regs[register]
            conversion = self._conversion
            if (
                conversion is not None
                and conversion.gas_from is not None
                and self._tx_time >= conversion.gas_from
            ):
                value |= reg.GAS_MEASURING
            return value
        if register == reg.CHIP_ID_REG:
            for fault in self._engaged:
                if isinstance(fault, WrongChipId):
                    return fault.chip_id
        return self._regs[register]

    def _write(self, register: int, value: int) -> None:
        if register == reg.SOFT_RESET_REG:
            if value == reg.SOFT_RESET_COMMAND:
                self.power_on_reset()
            return
        if register not in self._writable:
            return  # read-only or reserved
        if self._conversion is not None:
            if register == reg.CTRL_MEAS:
                self._pending_ctrl_meas = value  # mode writes wait for the conversion
            return  # other control writes are ignored while converting
        self._regs[register] = value
        if register == reg.CTRL_MEAS:
            self._osrs_h = self._regs[reg.CTRL_HUM] & 0x07
            if value & reg.MODE_MASK == reg.MODE_FORCED:
                self._start_forced(self._tx_time)

    # ------------------------------------------------------------------ conversions
    def _update(self, now: float) -> None:
        """Finish conversions due by ``now`` and start the deferred ones they release."""
        while self._conversion is not None:
            conversion = self._conversion
            if conversion.result is None:  # hung by StuckData
                if any(isinstance(f, StuckData) for f in self._engaged):
                    return
                self._regs[reg.MEAS_STATUS] &= ~(reg.MEASURING | reg.GAS_MEASURING) & 0xFF
                self._regs[reg.CTRL_MEAS] &= ~reg.MODE_MASK & 0xFF
                self._conversion = None
                ends = now
            elif conversion.ends_at <= now:
                self._conversion = None
                self._store(conversion.result)
                ends = conversion.ends_at
            else:
                return
            pending, self._pending_ctrl_meas = self._pending_ctrl_meas, None
            if pending is not None:
                self._regs[reg.CTRL_MEAS] = pending
                self._osrs_h = self._regs[reg.CTRL_HUM] & 0x07
                if pending & reg.MODE_MASK == reg.MODE_FORCED:
                    self._start_forced(ends)

    def _start_forced(self, start: float) -> None:
        regs = self._regs
        if any(isinstance(f, StuckData) for f in self._engaged):
            status = (regs[reg.MEAS_STATUS] | reg.MEASURING) & ~reg.NEW_DATA
            regs[reg.MEAS_STATUS] = status
            self._conversion = _Conversion(math.inf, None, None)
            return
        result = self._measure()
        if self.timing is TimingMode.INSTANT:
            self._store(result)
            return
        osrs_t, osrs_p, heater_us = self._duration_settings()
        tph_us = tph_duration_us(osrs_t, osrs_p, self._osrs_h)
        gas_from = None
        if result.gas is not None:  # the heater phase follows the T/P/H conversions
            gas_from = start + tph_phase_us(osrs_t, osrs_p, self._osrs_h) / 1e6
        self._conversion = _Conversion(start + (tph_us + heater_us) / 1e6, gas_from, result)
        status = regs[reg.MEAS_STATUS] | reg.MEASURING
        if self.new_data_policy is NewDataPolicy.CLEAR_ON_TRIGGER:
            status &= ~reg.NEW_DATA
        regs[reg.MEAS_STATUS] = status

    def _store(self, result: Result) -> None:
        """Write a finished conversion into field 0 and go back to sleep."""
        regs = self._regs
        regs[reg.PRESS_MSB : reg.PRESS_MSB + 8] = result.tph
        if result.gas is not None:
            regs[self._gas_lsb - 1], regs[self._gas_lsb] = result.gas
        else:
            regs[self._gas_lsb] &= ~(reg.GAS_VALID | reg.HEAT_STAB) & 0xFF
        self._measurements += 1
        self._meas_index = (self._meas_index + 1) & 0xFF
        regs[reg.MEAS_STATUS] = reg.NEW_DATA | result.gas_index
        regs[reg.MEAS_INDEX] = self._meas_index
        regs[reg.CTRL_MEAS] &= ~reg.MODE_MASK & 0xFF

    def _measure(self) -> Result:
        """Sample the environment with the current settings and encode the ADC codes."""
        return self._encoder.encode(self._regs, self._osrs_h, self.environment, self._engaged)

    def __repr__(self) -> str:
        return (
            f"SimulatedBME680(address=0x{self.address:02x}, variant={self.variant.name}, "
            f"calibration={self.calibration.name!r}, timing={self.timing.value})"
        )
