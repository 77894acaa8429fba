"""Shared set-up: the library's sleeps never take wall time in these tests."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import bme680
import pytest

from fakes.bme680 import LibrarySleep, SimulatedBME680, patched_library_sleep


@pytest.fixture(autouse=True)
def library_sleep() -> Iterator[LibrarySleep]:
    """The library's ``time.sleep`` returns at once and is recorded."""
    with patched_library_sleep() as sleep:
        yield sleep


@pytest.fixture
def chip() -> SimulatedBME680:
    return SimulatedBME680(record=True)


@pytest.fixture
def make_sensor() -> Callable[[SimulatedBME680], bme680.BME680]:
    def make(chip: SimulatedBME680, address: int = 0x76) -> bme680.BME680:
        return bme680.BME680(address, i2c_device=chip)

    return make
