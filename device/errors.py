"""Why a sensor read failed. Kept apart from :mod:`device.sensor` so the loop needs no driver."""

from __future__ import annotations


class SensorError(Exception):
    """The sensor could not be opened or read."""


class SensorNotFound(SensorError):
    """No BME680 answered (or the I2C bus itself is missing or not accessible)."""


class SensorIOError(SensorError):
    """An I2C transfer failed after the chip was found (typically Errno 121)."""

    def __init__(self, message: str, errno: int | None = None) -> None:
        super().__init__(message)
        self.errno = errno


class NoNewData(SensorError):
    """No finished measurement within the driver's polling window; the sensor itself is fine."""


class SensorResetDetected(SensorError):
    """The chip's settings were cleared behind our back (power glitch): its data is invalid."""
