"""Fixtures: the real library's sleeps take no time; a fresh drop-in per test."""

from __future__ import annotations

from collections.abc import Iterator
from types import ModuleType

import pytest

from fakes.bme680 import LibrarySleep, patched_library_sleep
from fakes.bme680_dropin import installed
from tests.bme680_dropin.sides import Side, dropin_side, real_side


@pytest.fixture(autouse=True)
def library_sleep() -> Iterator[LibrarySleep]:
    """The real library's ``time.sleep`` returns at once and is recorded."""
    with patched_library_sleep() as sleep:
        yield sleep


@pytest.fixture
def dropin() -> Iterator[ModuleType]:
    """The drop-in module, freshly imported, ``import bme680`` giving it during the test."""
    with installed() as module:
        yield module


@pytest.fixture(params=[0, 1], ids=["BME680", "BME688"])
def variant(request: pytest.FixtureRequest) -> int:
    return request.param


@pytest.fixture
def sides(dropin: ModuleType, library_sleep: LibrarySleep, variant: int) -> tuple[Side, Side]:
    """(real library on the register-level chip, drop-in), same variant, chip at 0x76."""
    return real_side(library_sleep.calls, variant), dropin_side(dropin, variant)
