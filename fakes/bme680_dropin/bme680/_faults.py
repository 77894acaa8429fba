"""Faults for the drop-in, named like those of the register-level ``fakes.bme680`` chip.

Schedules count *calls*: one call is one public method call (or one construction) that talks
to the chip. The real library aborts such a call at its first failing bus transaction, so
"the next n calls fail" here is what "the next n transactions fail" is on the register-level
chip. Calls rejected before any I/O (ValueError for a bad profile, say) are not counted. There
are no time windows: the drop-in has no clock.

==================  ====================================================================
NoDevice()          nothing answers: construction raises the library's RuntimeError
                    "Unable to identify BME680 at 0x76 (IOError)", later calls raise
                    OSError(121, 'Remote I/O error').
BusError(errno)     the same with any errno (121 by default); ``fail_next(n)`` is
                    ``inject(BusError(), calls=n)``.
WrongChipId(id)     construction raises "BME680 Not Found. Invalid CHIP ID: 0x60".
BrownOut()          a silent reset at the next call: settings back to their reset values,
                    so readings become the skipped-measurement values (~34 degC, ~704 hPa,
                    100 %RH, heat_stable False, status 0x80). ``unreachable=True``: every call
                    in the window also raises OSError(121).
StuckData()         a measurement started during the window never finishes:
                    get_sensor_data() returns False and ``data`` keeps its values; settings
                    written meanwhile are ignored, as on the chip. The chip recovers at the
                    first call after the window.
HeaterUnstable()    heat_stable False (status 0xA0) for measurements started in the window.
SelfHeating(dT)     the die is dT degC warmer than the air: temperature reads high by dT and
                    (``humidity_follows``) humidity correspondingly low.
==================  ====================================================================
"""

from __future__ import annotations

import errno as errno_codes
from dataclasses import dataclass


class Fault:
    """Base class of the faults."""

    __slots__ = ()


@dataclass(frozen=True, slots=True)
class NoDevice(Fault):
    """Nothing acknowledges the address."""


@dataclass(frozen=True, slots=True)
class BusError(Fault):
    """A call fails with ``OSError(errno)``."""

    errno: int = errno_codes.EREMOTEIO


@dataclass(frozen=True, slots=True)
class WrongChipId(Fault):
    """The chip-id register reads ``chip_id`` (0x60: a BME280 answers instead)."""

    chip_id: int = 0x60

    def __post_init__(self) -> None:
        if not 0 <= self.chip_id <= 0xFF:
            raise ValueError(f"chip_id {self.chip_id!r} is not a byte (0..255)")


@dataclass(frozen=True, slots=True)
class BrownOut(Fault):
    """A supply dip that resets the chip (``unreachable``: and leaves it mute meanwhile)."""

    unreachable: bool = False


@dataclass(frozen=True, slots=True)
class StuckData(Fault):
    """Measurements started in the window never complete."""


@dataclass(frozen=True, slots=True)
class HeaterUnstable(Fault):
    """The gas heater does not reach its target: heat_stable False."""


@dataclass(frozen=True, slots=True)
class SelfHeating(Fault):
    """The die runs ``offset_c`` degC above the air."""

    offset_c: float = 3.0
    humidity_follows: bool = True


@dataclass(slots=True)
class Injection:
    """A scheduled fault: skips ``skip`` calls, then engages on ``remaining`` calls (None:
    until cancelled). ``hits`` counts the calls it engaged on."""

    fault: Fault
    skip: int = 0
    remaining: int | None = None
    hits: int = 0
    fired: bool = False
    cancelled: bool = False

    def cancel(self) -> None:
        self.cancelled = True

    @property
    def finished(self) -> bool:
        return self.cancelled or self.remaining == 0

    def engage(self) -> bool:
        """Whether the fault applies to the call now starting (and count it if so)."""
        if self.finished:
            return False
        if self.skip:
            self.skip -= 1
            return False
        if self.remaining is not None:
            self.remaining -= 1
        self.hits += 1
        return True


def schedule(fault: Fault, after_calls: int = 0, calls: int | None = None) -> Injection:
    """An :class:`Injection`, checking the window's arguments."""
    if not isinstance(fault, Fault):
        raise TypeError(f"not a fault: {fault!r}")
    if after_calls < 0:
        raise ValueError(f"after_calls must be >= 0, got {after_calls}")
    if calls is not None and calls < 1:
        raise ValueError(f"calls must be >= 1, got {calls}")
    return Injection(fault, after_calls, calls)
