"""Time for the simulated chip: a manual clock, the timing modes and the forced-mode duration.

The chip reads time from any callable returning seconds (``ManualClock().now`` by default;
``harness.clock.VirtualClock().monotonic`` fits as well). Nothing here sleeps.
"""

from __future__ import annotations

from enum import Enum

#: Conversion cycles per oversampling code 0..7 (codes 6 and 7 also mean 16x).
_CYCLES = (0, 1, 2, 4, 8, 16, 16, 16)
CYCLE_US = 1963  # one T/P/H conversion cycle
TPH_SWITCHING_US = 4 * 477
GAS_MEASUREMENT_US = 5 * 477
WAKE_UP_US = 1000
#: gas_wait multipliers for bits 7:6 of gas_wait_x, in ms.
_GAS_WAIT_FACTOR_MS = (1, 4, 16, 64)


class ManualClock:
    """Seconds that move only when told to: ``now()``, ``advance(s)``; ``sleep`` = ``advance``."""

    def __init__(self, start: float = 0.0) -> None:
        self._now = float(start)

    def now(self) -> float:
        return self._now

    __call__ = now

    def advance(self, seconds: float) -> None:
        if seconds < 0:
            raise ValueError(f"cannot advance by a negative time: {seconds}")
        self._now += seconds

    sleep = advance

    def __repr__(self) -> str:
        return f"ManualClock(now={self._now!r})"


class TimingMode(Enum):
    """How long a forced measurement takes on the simulated chip."""

    INSTANT = "instant"  # done at once: deterministic, what CI wants
    DATASHEET = "datasheet"  # done after forced_duration_s() on the chip's clock


class NewDataPolicy(Enum):
    """What meas_status_0 shows while a timed conversion runs (unverified on silicon).

    KEEP_PREVIOUS: the previous result and its new_data bit stay visible until the new result
    lands (fits field reports: the library then returns the previous cycle's values).
    CLEAR_ON_TRIGGER: new_data drops when the conversion starts (the library then returns
    False whenever the conversion outlasts its ~100 ms poll window).
    """

    KEEP_PREVIOUS = "keep-previous"
    CLEAR_ON_TRIGGER = "clear-on-trigger"


def gas_wait_ms(code: int) -> int:
    """Heater duration in ms encoded in a gas_wait_x register (1..4032 ms, 0 for 0x00)."""
    return (code & 0x3F) * _GAS_WAIT_FACTOR_MS[code >> 6]


def tph_phase_us(osrs_t: int, osrs_p: int, osrs_h: int) -> int:
    """Wake-up plus the T/P/H conversions, in microseconds: when the heater phase begins."""
    cycles = _CYCLES[osrs_t & 7] + _CYCLES[osrs_p & 7] + _CYCLES[osrs_h & 7]
    return WAKE_UP_US + cycles * CYCLE_US + TPH_SWITCHING_US


def tph_duration_us(osrs_t: int, osrs_p: int, osrs_h: int) -> int:
    """Forced-mode conversion time without the heater, in microseconds (datasheet formula).

    cycles(osrs_t) + cycles(osrs_p) + cycles(osrs_h) times 1963 us, plus 4 x 477 us of T/P/H
    switching, 5 x 477 us of gas measurement and 1 ms wake-up; 32.775 ms for the library's
    defaults (T 8x, P 4x, H 2x).
    """
    return tph_phase_us(osrs_t, osrs_p, osrs_h) + GAS_MEASUREMENT_US


def forced_duration_s(osrs_t: int, osrs_p: int, osrs_h: int, heater_ms: int = 0) -> float:
    """Whole forced-mode cycle in seconds: conversions plus the heater time if gas runs."""
    return (tph_duration_us(osrs_t, osrs_p, osrs_h) + 1000 * heater_ms) / 1e6
