"""The BME680, read through the real Pimoroni ``bme680`` library (2.0.0).

:func:`open_sensor` finds the chip at the primary address (0x76), then the secondary (0x77), on
the bus it is given (anything with smbus2's ``read_byte_data``, ``write_byte_data`` and
``read_i2c_block_data``, such as a simulated chip) or on ``smbus2.SMBus(1)``, and configures
oversampling, filter and gas heater. :meth:`BME680Sensor.read` returns a
:class:`~device.readings.Measurement` or raises a :class:`SensorError`.

How the library fails (see ``shared/specs/bme680.md``): nothing answering at an address is a
``RuntimeError`` from the constructor (the ``OSError`` Errno 121 underneath); an I2C error later
is a raw ``OSError``; ``get_sensor_data()`` returning ``False`` means no new data (the old values
stay in ``.data``, so they must not be published again). A chip that lost power for a moment
comes back with its settings cleared and reports plausible-looking nonsense (about 33 degrees C,
690 hPa, 100 %RH); :meth:`BME680Sensor.read` detects that by checking one setting after each
reading and raises :class:`SensorResetDetected`, so the caller opens the sensor again.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from typing import Any

import bme680

from device.errors import (
    NoNewData,
    SensorError,
    SensorIOError,
    SensorNotFound,
    SensorResetDetected,
)
from device.readings import Measurement

__all__ = [
    "ADDRESSES",
    "BME680Sensor",
    "NoNewData",
    "SensorError",
    "SensorIOError",
    "SensorNotFound",
    "SensorResetDetected",
    "SensorSettings",
    "open_sensor",
]

logger = logging.getLogger(__name__)

PRIMARY_ADDRESS = bme680.I2C_ADDR_PRIMARY  # 0x76, SDO to ground
SECONDARY_ADDRESS = bme680.I2C_ADDR_SECONDARY  # 0x77, SDO to VDDIO
ADDRESSES = (PRIMARY_ADDRESS, SECONDARY_ADDRESS)
DEFAULT_BUS_NUMBER = 1  # /dev/i2c-1, the header's I2C on every current Raspberry Pi


@dataclass(frozen=True)
class SensorSettings:
    """How the chip is configured; the defaults are those of the Pimoroni examples."""

    humidity_oversample: int = bme680.OS_2X
    pressure_oversample: int = bme680.OS_4X
    temperature_oversample: int = bme680.OS_8X
    filter_size: int = bme680.FILTER_SIZE_3
    gas: bool = True
    heater_temperature: int = 320  # degrees C, 200..400
    heater_duration: int = 150  # ms
    heater_profile: int = 0  # 0..9
    check_settings: bool = True  # read back one setting after each reading (one I2C read)


def _io_error(what: str, address: int, error: OSError) -> SensorIOError:
    return SensorIOError(f"I2C error {what} the BME680 at 0x{address:02x}: {error}", error.errno)


class BME680Sensor:
    """An opened, configured BME680. Not thread-safe; one reader at a time."""

    def __init__(
        self,
        chip: Any,
        settings: SensorSettings | None = None,
        owned_bus: Any = None,
    ) -> None:
        self._chip = chip
        self._settings = settings or SensorSettings()
        self._owned_bus = owned_bus
        self._heater_ready = False
        self.address: int = chip.i2c_addr

    def configure(self) -> None:
        """Apply the settings. Raises :class:`SensorIOError` when the chip stops answering."""
        chip, settings = self._chip, self._settings
        try:
            chip.set_humidity_oversample(settings.humidity_oversample)
            chip.set_pressure_oversample(settings.pressure_oversample)
            chip.set_temperature_oversample(settings.temperature_oversample)
            chip.set_filter(settings.filter_size)
            chip.set_gas_status(bme680.ENABLE_GAS_MEAS if settings.gas else bme680.DISABLE_GAS_MEAS)
            self._configure_heater()
        except OSError as error:
            raise _io_error("configuring", self.address, error) from error

    def _configure_heater(self) -> None:
        # The library converts the heater target with the ambient temperature of the last good
        # reading and fails with TypeError before there is one (its own start-up reading can
        # return no data), so the heater waits for the first reading in that case.
        settings = self._settings
        if not settings.gas or self._heater_ready or self._chip.ambient_temperature is None:
            return
        profile = settings.heater_profile
        self._chip.set_gas_heater_temperature(settings.heater_temperature, nb_profile=profile)
        self._chip.set_gas_heater_duration(settings.heater_duration, nb_profile=profile)
        self._chip.select_gas_heater_profile(profile)
        self._heater_ready = True

    def read(self) -> Measurement:
        """Take one reading. Raises a :class:`SensorError` subclass on any failure."""
        chip = self._chip
        try:
            fresh = chip.get_sensor_data()
        except OSError as error:
            raise _io_error("reading", self.address, error) from error
        if not fresh:
            raise NoNewData(f"the BME680 at 0x{self.address:02x} had no new data")
        try:
            if self._settings.check_settings:
                self._check_settings()
            self._configure_heater()
        except OSError as error:
            raise _io_error("reading", self.address, error) from error
        data = chip.data
        values = (data.temperature, data.pressure, data.humidity)
        if not all(isinstance(v, (int, float)) and math.isfinite(v) for v in values):
            raise SensorError(f"the BME680 at 0x{self.address:02x} returned {values!r}")
        stable = bool(data.heat_stable)
        gas = data.gas_resistance if stable and self._settings.gas else None
        return Measurement(
            temperature=float(data.temperature),
            pressure=float(data.pressure),
            humidity=float(data.humidity),
            gas_resistance=None if gas is None else float(gas),
            heat_stable=stable,
        )

    def _check_settings(self) -> None:
        expected = self._settings.temperature_oversample
        actual = self._chip.get_temperature_oversample()
        if actual != expected:
            raise SensorResetDetected(
                f"the BME680 at 0x{self.address:02x} lost its settings (temperature "
                f"oversampling {actual}, set {expected}): power glitch? Reading discarded"
            )

    def close(self) -> None:
        """Release the I2C bus if this sensor opened it (a bus passed in stays open)."""
        bus, self._owned_bus = self._owned_bus, None
        if bus is not None:
            _close_quietly(bus)


def _close_quietly(bus: Any) -> None:
    close = getattr(bus, "close", None)
    if close is None:
        return
    try:
        close()
    except OSError as error:  # closing must not hide the error that led here
        logger.debug("closing the I2C bus failed: %s", error)


def _open_bus(bus_number: int) -> Any:
    import smbus2  # as the library does: only needed when no bus is passed in

    device = f"/dev/i2c-{bus_number}"
    try:
        return smbus2.SMBus(bus_number)
    except FileNotFoundError as error:
        raise SensorNotFound(
            f"no I2C bus {device}: enable I2C (sudo raspi-config nonint do_i2c 0) and reboot"
        ) from error
    except PermissionError as error:
        raise SensorNotFound(
            f"no permission to use {device}: add the user to the i2c group"
        ) from error
    except OSError as error:
        raise SensorNotFound(f"cannot open {device}: {error}") from error


def open_sensor(
    bus: Any = None,
    addresses: tuple[int, ...] = ADDRESSES,
    settings: SensorSettings | None = None,
    bus_number: int = DEFAULT_BUS_NUMBER,
) -> BME680Sensor:
    """Find, open and configure the BME680.

    ``bus``: an smbus2-compatible object (the caller keeps ownership); ``None`` opens
    ``smbus2.SMBus(bus_number)``, which the returned sensor closes in :meth:`~BME680Sensor.close`.
    Raises :class:`SensorNotFound` when no address answers, :class:`SensorIOError` when the chip
    was found but failed while being configured.
    """
    owned = None
    if bus is None:
        bus = owned = _open_bus(bus_number)
    failures = []
    for address in addresses:
        try:
            chip = bme680.BME680(i2c_addr=address, i2c_device=bus)
        except RuntimeError as error:  # nothing at this address, or not a BME680
            failures.append(f"0x{address:02x}: {error}")
            continue
        except OSError as error:  # identified, then failed during its start-up
            failures.append(f"0x{address:02x}: {error}")
            continue
        sensor = BME680Sensor(chip, settings, owned_bus=owned)
        try:
            sensor.configure()
        except SensorError:
            sensor.close()
            raise
        logger.info("BME680 found at 0x%02x", address)
        return sensor
    if owned is not None:
        _close_quietly(owned)
    raise SensorNotFound("no BME680 found: " + "; ".join(failures))
