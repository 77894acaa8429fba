"""A drop-in ``bme680`` (Pimoroni's 2.0.0 API) that reads a simulated environment, not a bus.

Put ``fakes/bme680_dropin`` first on ``sys.path`` (or use ``fakes.bme680_dropin.installed()``)
and ``import bme680`` gives this module::

    import bme680
    bme680.environment.set_environment(temperature=21.5, pressure=1002.3, humidity=48.0)
    sensor = bme680.BME680(bme680.I2C_ADDR_PRIMARY)
    sensor.get_sensor_data()          # True; sensor.data.temperature == 21.5

    from bme680.simulation import NoDevice
    bme680.environment.inject(NoDevice())        # next calls: OSError(121)

What is the same as the real library on a chip: every public name of ``bme680`` and
``bme680.constants`` with the same values, ``BME680``'s public methods with the same
signatures, the same ``data`` (``FieldData``: temperature degC, pressure hPa, humidity %RH,
gas_resistance ohm, status, heat_stable, gas_index, meas_index), the same argument handling
(the library's ValueErrors and their texts, its unchecked values that spill into other bit
fields, the TypeErrors of its arithmetic), the same RuntimeError texts at construction and
raw ``OSError`` afterwards, ``get_sensor_data()`` True/False with stale ``data`` on False,
heat_stable False on the construction-time reading (heater profile 0 has no duration yet),
``get_power_mode()`` returning the whole ctrl_meas byte, and the library's sleeps (10 ms after
the soft reset, 10 x 10 ms when no new data arrives) through this module's ``time``, so
``bme680.time = stand_in`` intercepts them as it does for the real library.

``bme680.environment`` (:class:`simulation.SensorEnvironment`) holds the air, the chip's state
and the faults; ``sensor.set_environment(...)`` is a shortcut to it. Faults carry the names of
the register-level chip's faults (see ``bme680._faults``).

How it differs from the real library on ``fakes.bme680.SimulatedBME680`` (the register-level
chip, which runs the unmodified library over simulated I2C), and why:

* No I2C at all: ``i2c_device`` is kept but never used, and without it nothing opens
  ``/dev/i2c-1`` (the real library would raise FileNotFoundError or PermissionError on a
  machine without I2C). There is no register traffic to record, no calibration memory and no
  ADC code per reading, and the library's private helpers (``_get_regs``,
  ``_calc_temperature``, ...) do not exist; code that needs them needs the register-level chip.
* Readings are the environment rounded to the library's resolution (0.01 degC, 0.01 hPa,
  0.001 %RH; gas resistance exactly), whatever the oversampling and filter. On the
  register-level chip they go through ADC codes: within 0.005 degC, 0.05 hPa (gaps of the
  pressure formula), 0.0055 %RH and 0.06 % of the gas resistance.
* Where the library evaluates pressure and humidity at another t_fine than the chip measured
  them at - a temperature offset (1 degC of ``set_temp_offset`` also moves the pressure by
  about 1.6 hPa, as on the chip) or a skipped temperature - the drop-in finds the codes the
  chip would output and applies the library's formulas to them. It knows the die temperature
  only to 0.01 degC, not the chip's exact t_fine, so there the temperature may be one 0.01 degC
  step off and pressure and humidity within 0.11 hPa and 0.045 %RH of the real library's.
* Skipped measurements (oversampling ``OS_NONE``, and everything after a brown-out or a bare
  ``soft_reset()``) read what the library computes for the chip's fixed "skipped" codes: the
  brown-out signature (about 34 degC, 704 hPa, 100 %RH) comes out exactly.
* One calibration only (the register-level chip's default set, which fills
  ``calibration_data``); faults are scheduled in calls, not transactions or seconds; every
  measurement is instant (the register-level chip's default timing mode); the IIR filter's
  smoothing is not modelled (nor is it on the register-level chip).
"""

import functools as _functools
import math
import time
from collections.abc import Callable as _Callable
from typing import Any as _Any
from typing import TypeVar as _TypeVar

from . import _formulas, constants, simulation
from ._arguments import to_byte as _to_byte
from ._calibration import DEFAULT as _CALIBRATION
from ._calibration import heater_code as _heater_code
from ._calibration import heater_duration_code as _heater_duration_code
from ._chip import Air as _Air
from .constants import BME680Data
from .constants import lookupTable1 as lookupTable1
from .constants import lookupTable2 as lookupTable2

__version__ = "2.0.0"

# Like the library, every public name of ``constants`` is also a name of this module.
for _name, _value in vars(constants).items():
    if not _name.startswith("_"):
        globals().setdefault(_name, _value)
del _name, _value

# The library's export loop leaves its loop variables behind; ``from bme680 import *`` picks
# them up, so they are here too, with the library's values.
key = "BME680Data"
value = BME680Data

#: The environment, chip state and faults every drop-in sensor talks to.
environment = simulation.SensorEnvironment()

_Method = _TypeVar("_Method", bound=_Callable[..., _Any])
_C = constants


def _chip_call(method: _Method) -> _Method:
    """Mark a public call: its faults are decided once, at its first access to the chip."""

    @_functools.wraps(method)
    def call(self: "BME680", *args: _Any, **kwargs: _Any) -> _Any:
        depth = self.__dict__.get("_call_depth", 0)
        self._call_depth = depth + 1
        try:
            return method(self, *args, **kwargs)
        finally:
            self._call_depth = depth
            if depth == 0:
                self._call_faults = None

    return call  # type: ignore[return-value]


class BME680(BME680Data):
    """BOSCH BME680 (or BME688) temperature, pressure, humidity and gas sensor - simulated.

    :param i2c_addr: I2C_ADDR_PRIMARY (0x76) or I2C_ADDR_SECONDARY (0x77); the simulated chip
        answers at ``bme680.environment.address``.
    :param i2c_device: accepted for compatibility and never used.
    """

    @_chip_call
    def __init__(self, i2c_addr: _Any = _C.I2C_ADDR_PRIMARY, i2c_device: _Any = None) -> None:
        BME680Data.__init__(self)
        self.environment: simulation.SensorEnvironment = environment
        self._call_faults: tuple[simulation.Fault, ...] | None = None
        self.i2c_addr = i2c_addr
        self._i2c = i2c_device
        try:
            self.chip_id = self._read(_C.CHIP_ID_ADDR)
            if self.chip_id != _C.CHIP_ID:
                raise RuntimeError(f"BME680 Not Found. Invalid CHIP ID: 0x{self.chip_id:02x}")
        except OSError:
            # the library raises inside its handler, so the OSError stays the __context__
            raise RuntimeError(f"Unable to identify BME680 at 0x{self.i2c_addr:02x} (IOError)")  # noqa: B904
        self._variant = self._read(_C.CHIP_VARIANT_ADDR)
        self.soft_reset()
        self.set_power_mode(_C.SLEEP_MODE)
        for name in _CALIBRATION.__dataclass_fields__:
            setattr(self.calibration_data, name, getattr(_CALIBRATION, name))
        self.set_humidity_oversample(_C.OS_2X)
        self.set_pressure_oversample(_C.OS_4X)
        self.set_temperature_oversample(_C.OS_8X)
        self.set_filter(_C.FILTER_SIZE_3)
        high = self._variant == _C.VARIANT_HIGH
        self.set_gas_status(_C.ENABLE_GAS_MEAS_HIGH if high else _C.ENABLE_GAS_MEAS_LOW)
        self.set_temp_offset(0)
        self.get_sensor_data()

    # ------------------------------------------------------------------ the simulation
    def set_environment(
        self,
        *,
        temperature: float | None = None,
        pressure: float | None = None,
        humidity: float | None = None,
        gas_resistance: float | None = None,
    ) -> _Air:
        """Set what the chip's next measurements see (degC, hPa, %RH, ohm); not in the library."""
        return self.environment.set_environment(
            temperature=temperature,
            pressure=pressure,
            humidity=humidity,
            gas_resistance=gas_resistance,
        )

    # ------------------------------------------------------------------ chip access
    def _begin(self) -> tuple[simulation.Fault, ...]:
        faults = self._call_faults
        if faults is None:
            faults = self._call_faults = self.environment.begin_call(self.i2c_addr)
        return faults

    def _read(self, register: int) -> int:
        self.environment.select(self.i2c_addr)
        faults = self._begin()
        if register == _C.CHIP_ID_ADDR:
            return self.environment.chip_id(faults)
        if register == _C.CHIP_VARIANT_ADDR:
            return self.environment.variant
        return self.environment.chip.read(register)

    def _write(self, register: _Any, value: _Any) -> None:
        self.environment.select(self.i2c_addr)
        register, value = _to_byte(register), _to_byte(value)
        faults = self._begin()
        self.environment.chip.write(register, value, self.environment.air, faults)

    def _write_field(self, register: int, mask: int, position: int, value: _Any) -> None:
        """Read-modify-write of a bit field; ``value`` is not masked (as in the library)."""
        byte = self._read(register)
        byte &= ~mask
        byte |= value << position
        self._write(register, byte)

    def _read_field(self, register: int, mask: int, position: int) -> int:
        return (self._read(register) & mask) >> position

    # ------------------------------------------------------------------ public API
    @_chip_call
    def soft_reset(self) -> None:
        """Trigger a soft reset (every setting back to 0)."""
        self._write(_C.SOFT_RESET_ADDR, _C.SOFT_RESET_CMD)
        time.sleep(_C.RESET_PERIOD / 1000.0)

    def set_temp_offset(self, value: _Any) -> None:
        """Add ``value`` degC to the temperature (kept in t_fine units, like the library)."""
        if value == 0:
            self.offset_temp_in_t_fine = 0
            return
        centi = int(abs(value) * 100)
        self.offset_temp_in_t_fine = int(math.copysign(((centi << 8) - 128) / 5, value))

    @_chip_call
    def set_humidity_oversample(self, value: _Any) -> None:
        """Set humidity oversampling: OS_NONE, OS_1X, OS_2X, OS_4X, OS_8X or OS_16X."""
        self.tph_settings.os_hum = value
        self._write_field(_C.CONF_OS_H_ADDR, _C.OSH_MSK, _C.OSH_POS, value)

    @_chip_call
    def get_humidity_oversample(self) -> int:
        """Get humidity oversampling."""
        return self._read_field(_C.CONF_OS_H_ADDR, _C.OSH_MSK, _C.OSH_POS)

    @_chip_call
    def set_pressure_oversample(self, value: _Any) -> None:
        """Set pressure oversampling: OS_NONE ... OS_16X."""
        self.tph_settings.os_pres = value
        self._write_field(_C.CONF_T_P_MODE_ADDR, _C.OSP_MSK, _C.OSP_POS, value)

    @_chip_call
    def get_pressure_oversample(self) -> int:
        """Get pressure oversampling."""
        return self._read_field(_C.CONF_T_P_MODE_ADDR, _C.OSP_MSK, _C.OSP_POS)

    @_chip_call
    def set_temperature_oversample(self, value: _Any) -> None:
        """Set temperature oversampling: OS_NONE ... OS_16X."""
        self.tph_settings.os_temp = value
        self._write_field(_C.CONF_T_P_MODE_ADDR, _C.OST_MSK, _C.OST_POS, value)

    @_chip_call
    def get_temperature_oversample(self) -> int:
        """Get temperature oversampling."""
        return self._read_field(_C.CONF_T_P_MODE_ADDR, _C.OST_MSK, _C.OST_POS)

    @_chip_call
    def set_filter(self, value: _Any) -> None:
        """Set the IIR filter size: FILTER_SIZE_0 ... FILTER_SIZE_127."""
        self.tph_settings.filter = value
        self._write_field(_C.CONF_ODR_FILT_ADDR, _C.FILTER_MSK, _C.FILTER_POS, value)

    @_chip_call
    def get_filter(self) -> int:
        """Get the IIR filter size."""
        return self._read_field(_C.CONF_ODR_FILT_ADDR, _C.FILTER_MSK, _C.FILTER_POS)

    @_chip_call
    def select_gas_heater_profile(self, value: _Any) -> None:
        """Select which of the 10 heater profiles (0..9) the next measurements use."""
        if value > _C.NBCONV_MAX or value < _C.NBCONV_MIN:
            raise ValueError(
                f"Profile '{value}' should be between {_C.NBCONV_MIN} and {_C.NBCONV_MAX}"
            )
        self.gas_settings.nb_conv = value
        self._write_field(_C.CONF_ODR_RUN_GAS_NBC_ADDR, _C.NBCONV_MSK, _C.NBCONV_POS, value)

    @_chip_call
    def get_gas_heater_profile(self) -> int:
        """Get the selected heater profile: 0 to 9."""
        return self._read(_C.CONF_ODR_RUN_GAS_NBC_ADDR) & _C.NBCONV_MSK

    @_chip_call
    def set_gas_heater_status(self, value: _Any) -> None:
        """Enable/disable the gas heater (the value is shifted into bit 3 unmasked)."""
        self.gas_settings.heater = value
        self._write_field(_C.CONF_HEAT_CTRL_ADDR, _C.HCTRL_MSK, _C.HCTRL_POS, value)

    @_chip_call
    def get_gas_heater_status(self) -> int:
        """Get the heat_off bit."""
        return self._read_field(_C.CONF_HEAT_CTRL_ADDR, _C.HCTRL_MSK, _C.HCTRL_POS)

    @_chip_call
    def set_gas_status(self, value: _Any) -> None:
        """Enable/disable gas measurements; ENABLE_GAS_MEAS picks the bit for the variant."""
        if value == -1:
            high = self._variant == _C.VARIANT_HIGH
            value = _C.ENABLE_GAS_MEAS_HIGH if high else _C.ENABLE_GAS_MEAS_LOW
        self.gas_settings.run_gas = value
        self._write_field(_C.CONF_ODR_RUN_GAS_NBC_ADDR, _C.RUN_GAS_MSK, _C.RUN_GAS_POS, value)

    @_chip_call
    def get_gas_status(self) -> int:
        """Get the run_gas field."""
        return self._read_field(_C.CONF_ODR_RUN_GAS_NBC_ADDR, _C.RUN_GAS_MSK, _C.RUN_GAS_POS)

    @_chip_call
    def set_gas_heater_profile(
        self, temperature: _Any, duration: _Any, nb_profile: _Any = 0
    ) -> None:
        """Set heater temperature (200..400 degC) and duration (ms) of profile ``nb_profile``."""
        self.set_gas_heater_temperature(temperature, nb_profile=nb_profile)
        self.set_gas_heater_duration(duration, nb_profile=nb_profile)

    def _check_profile(self, nb_profile: _Any, value: _Any) -> None:
        # the library checks the profile's upper bound and the *value's* lower bound
        if nb_profile > _C.NBCONV_MAX or value < _C.NBCONV_MIN:
            raise ValueError(
                f'Profile "{nb_profile}" should be between {_C.NBCONV_MIN} and {_C.NBCONV_MAX}'
            )

    @_chip_call
    def set_gas_heater_temperature(self, value: _Any, nb_profile: _Any = 0) -> None:
        """Set the heater target (clamped to 200..400 degC) of profile ``nb_profile``."""
        self._check_profile(nb_profile, value)
        self.gas_settings.heatr_temp = value
        code = int(_heater_code(value, self.ambient_temperature, self.calibration_data))
        self._write(_C.RES_HEAT0_ADDR + nb_profile, code)

    @_chip_call
    def set_gas_heater_duration(self, value: _Any, nb_profile: _Any = 0) -> None:
        """Set the heating time (ms, 1..4032) of profile ``nb_profile``."""
        self._check_profile(nb_profile, value)
        self.gas_settings.heatr_dur = value
        self._write(_C.GAS_WAIT0_ADDR + nb_profile, _heater_duration_code(value))

    @_chip_call
    def set_power_mode(self, value: _Any, blocking: _Any = True) -> None:
        """Set SLEEP_MODE or FORCED_MODE (forced mode takes one measurement)."""
        if value not in (_C.SLEEP_MODE, _C.FORCED_MODE):
            raise ValueError("Power mode should be one of SLEEP_MODE or FORCED_MODE")
        self.power_mode = value
        self._write_field(_C.CONF_T_P_MODE_ADDR, _C.MODE_MSK, _C.MODE_POS, value)
        while blocking and self.get_power_mode() != self.power_mode:
            time.sleep(_C.POLL_PERIOD_MS / 1000.0)

    @_chip_call
    def get_power_mode(self) -> int:
        """Get the power mode - as the library does, the whole ctrl_meas byte."""
        self.power_mode = self._read(_C.CONF_T_P_MODE_ADDR)
        return self.power_mode

    @_chip_call
    def get_sensor_data(self) -> bool:
        """Measure once; True with the reading in ``.data``, False (``.data`` unchanged)
        when no new data arrived within 10 polls 10 ms apart."""
        self.set_power_mode(_C.FORCED_MODE)
        for _attempt in range(10):
            status = self._read(_C.FIELD0_ADDR)
            if (status & _C.NEW_DATA_MSK) == 0:
                time.sleep(_C.POLL_PERIOD_MS / 1000.0)
                continue
            self._take_reading(status)
            return True
        return False

    def _take_reading(self, status: int) -> None:
        chip = self.environment.chip
        result = chip.result
        data = self.data
        data.status = status & _C.NEW_DATA_MSK
        data.gas_index = status & _C.GAS_INDEX_MSK
        data.meas_index = chip.meas_index
        data.status |= result.gas_flags & _C.GASM_VALID_MSK
        data.status |= result.gas_flags & _C.HEAT_STAB_MSK
        data.heat_stable = (data.status & _C.HEAT_STAB_MSK) > 0
        t_fine = result.t_fine + self.offset_temp_in_t_fine
        self.calibration_data.t_fine = t_fine
        centi = _formulas.centi_celsius(t_fine)
        data.temperature = centi / 100.0
        self.ambient_temperature = centi
        pascal, milli = _formulas.reading(
            result.t_chip, t_fine, result.pressure_pa, result.humidity_milli
        )
        data.pressure = pascal / 100.0
        data.humidity = milli / 1000.0
        data.gas_resistance = result.gas_ohm
