"""Putting the simulated chip where the unmodified ``bme680`` library looks for a bus.

``bme680.BME680()`` without ``i2c_device`` does ``import smbus2; smbus2.SMBus(1)`` inside its
constructor, so replacing the ``SMBus`` attribute of the ``smbus2`` module for a block is
enough (code that did ``from smbus2 import SMBus`` earlier keeps the real class).

The library also sleeps with ``time.sleep``: 10 ms after its soft reset and 10 ms between
new-data polls. :func:`patched_library_sleep` swaps the library's ``time`` for one whose
``sleep`` advances a manual clock (or does nothing), so tests take no wall time and the
datasheet timing mode sees time pass exactly as the library waits.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import bme680
import smbus2

from fakes.bme680.chip import SimulatedBME680
from fakes.bme680.timing import ManualClock


def _bus_matches(requested: Any, bus: int | str) -> bool:
    if isinstance(requested, bool):
        return False
    paths = {bus, f"/dev/i2c-{bus}"} if isinstance(bus, int) else {bus}
    return requested in paths


@contextmanager
def patched_smbus(chip: SimulatedBME680, bus: int | str = 1) -> Iterator[SimulatedBME680]:
    """Within the block ``smbus2.SMBus(bus)`` returns ``chip`` (re-opened); other buses are real."""
    original = smbus2.SMBus

    class PatchedSMBus(original):  # type: ignore[misc, valid-type]
        def __new__(cls, bus_number: Any = None, force: bool = False) -> Any:
            if _bus_matches(bus_number, bus):
                chip.open(bus_number)
                chip.force = force
                return chip
            return super().__new__(cls)

    PatchedSMBus.__name__ = PatchedSMBus.__qualname__ = "SMBus"
    smbus2.SMBus = PatchedSMBus
    try:
        yield chip
    finally:
        smbus2.SMBus = original


class LibrarySleep:
    """Stands in for the ``time`` module inside ``bme680``; records every sleep."""

    def __init__(self, sleep: Callable[[float], None] | None) -> None:
        self._sleep = sleep
        self.calls: list[float] = []

    @property
    def total(self) -> float:
        return sum(self.calls)

    def sleep(self, seconds: float) -> None:
        self.calls.append(seconds)
        if self._sleep is not None:
            self._sleep(seconds)

    def __getattr__(self, name: str) -> Any:
        return getattr(time, name)


@contextmanager
def patched_library_sleep(
    clock: ManualClock | Callable[[float], None] | None = None,
) -> Iterator[LibrarySleep]:
    """The library's sleeps advance ``clock`` (a ManualClock or any ``sleep(s)`` callable).

    With no clock they return at once. The yielded object lists the sleeps in ``calls``.
    """
    sleep: Callable[[float], None] | None
    sleep = clock.advance if isinstance(clock, ManualClock) else clock
    stand_in = LibrarySleep(sleep)
    original = bme680.time
    bme680.time = stand_in  # type: ignore[assignment]
    try:
        yield stand_in
    finally:
        bme680.time = original
