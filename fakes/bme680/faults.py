"""Named faults for the simulated chip, and their schedules.

A fault is injected with :meth:`SimulatedBME680.inject`; the returned :class:`Injection`
engages on the transactions inside its window: from ``at`` (chip clock, default: the moment of
injection) for ``duration`` seconds (default: open-ended), after letting
``after_transactions`` transactions pass, for at most ``transactions`` transactions (default:
unlimited). Each transaction addressed to the chip counts, including ones that fail.

What each fault does to the unmodified ``bme680`` 2.0.0 library:

==================  ====================================================================
NoDevice            nothing acknowledges: every transaction raises OSError(121, 'Remote
                    I/O error'); during construction the library turns the chip-id read's
                    error into RuntimeError("Unable to identify BME680 at 0x76 (IOError)"),
                    afterwards the raw OSError propagates from get_sensor_data()/setters.
BusError(errno)     the same with any errno (121 by default); ``chip.fail_next(n)`` is
                    ``inject(BusError(), transactions=n)``.
WrongChipId(id)     reads of 0xD0 return ``id``: the library raises
                    RuntimeError("BME680 Not Found. Invalid CHIP ID: 0x60").
BrownOut()          a silent power-on reset when it engages: control registers go to 0,
                    the library (which never re-initialises) only sets the mode bits, so
                    every oversampling is "skipped" and gas is off. The chip then outputs
                    0x80000/0x80000/0x8000 and the library reports the field signature,
                    e.g. 33.4 degC, ~700 hPa, 100.0 %RH, heat_stable False, status 0x80
                    (exact values depend on the calibration). ``unreachable=True`` also
                    NACKs (121) for the rest of the window, like a chip still without power.
StuckData()         a forced conversion started while engaged never completes: new_data is
                    cleared and never set, so get_sensor_data() polls 10 times and returns
                    False, leaving ``.data`` at the previous values. The chip comes back
                    at the first transaction after the window.
HeaterUnstable()    conversions started while engaged carry heat_stab = 0: heat_stable False,
                    status 0xA0 (gas_valid still set) while T/P/H/gas stay correct.
SelfHeating(dT)     the die is ``dT`` degC above the air for conversions started while
                    engaged: temperature reads high by dT and,
                    with ``humidity_follows`` (default), RH reads correspondingly low (same
                    water content at the warmer die, Magnus formula). Pressure unchanged.
==================  ====================================================================
"""

from __future__ import annotations

import errno as errno_codes
from dataclasses import dataclass, field


class Fault:
    """Base class of the named faults."""

    __slots__ = ()


@dataclass(frozen=True, slots=True)
class NoDevice(Fault):
    """No chip answers at the address: every transaction fails with errno 121."""


@dataclass(frozen=True, slots=True)
class BusError(Fault):
    """A transaction fails with ``errno`` (EREMOTEIO = 121 unless told otherwise)."""

    errno: int = errno_codes.EREMOTEIO


@dataclass(frozen=True, slots=True)
class WrongChipId(Fault):
    """Register 0xD0 reads ``chip_id`` instead of 0x61 (e.g. a BMP280/BME280 at 0x76)."""

    chip_id: int = 0x60

    def __post_init__(self) -> None:
        if not 0 <= self.chip_id <= 0xFF:
            raise ValueError(f"chip_id {self.chip_id!r} is not a byte (0..255)")


@dataclass(frozen=True, slots=True)
class BrownOut(Fault):
    """A supply dip that resets the chip silently (optionally unreachable meanwhile)."""

    unreachable: bool = False


@dataclass(frozen=True, slots=True)
class StuckData(Fault):
    """Forced conversions started while engaged never finish: new_data never sets."""


@dataclass(frozen=True, slots=True)
class HeaterUnstable(Fault):
    """Results have heat_stab = 0 (heater did not reach its target)."""


@dataclass(frozen=True, slots=True)
class SelfHeating(Fault):
    """The die runs ``offset_c`` degC above the air it should measure."""

    offset_c: float = 3.0
    humidity_follows: bool = True


@dataclass(slots=True)
class Injection:
    """One scheduled fault; :meth:`cancel` ends it early. ``hits`` counts engaged transactions."""

    fault: Fault
    start: float
    end: float | None = None
    skip: int = 0
    remaining: int | None = None
    hits: int = 0
    fired: bool = False
    cancelled: bool = False
    _skipped: int = field(default=0, repr=False)

    def cancel(self) -> None:
        self.cancelled = True

    def finished(self, now: float) -> bool:
        return self.cancelled or (self.end is not None and now >= self.end) or self.remaining == 0

    def engage(self, now: float) -> bool:
        """Whether the fault applies to a transaction at ``now`` (and count it if so)."""
        if now < self.start or self.finished(now):
            return False
        if self._skipped < self.skip:
            self._skipped += 1
            return False
        if self.remaining is not None:
            self.remaining -= 1
        self.hits += 1
        return True


def schedule(
    fault: Fault,
    now: float,
    *,
    at: float | None = None,
    duration: float | None = None,
    after_transactions: int = 0,
    transactions: int | None = None,
) -> Injection:
    """An :class:`Injection` for ``fault``, checking the schedule's arguments."""
    if not isinstance(fault, Fault):
        raise TypeError(f"not a fault: {fault!r}")
    start = now if at is None else float(at)
    if duration is not None and duration < 0:
        raise ValueError(f"duration must be >= 0 s, got {duration}")
    if after_transactions < 0:
        raise ValueError(f"after_transactions must be >= 0, got {after_transactions}")
    if transactions is not None and transactions < 1:
        raise ValueError(f"transactions must be >= 1, got {transactions}")
    end = None if duration is None else start + duration
    return Injection(fault, start, end, after_transactions, transactions)
