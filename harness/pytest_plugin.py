"""pytest plugin: a ready simulation in one line, moto-style.

    def test_reading_reaches_the_shadow(simulation):
        simulation.publish("bme680-sensor", "bme680/readings", {...})
        simulation.run(10)
        assert simulation.shadow("weather-station")["state"]["reported"]["sequence"] == 1

``simulation`` runs the project's ``lambdas/group.yaml`` (``--gg-group`` to choose another);
``simulation_factory(path, **options)`` opens others. Both are closed after the test.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from harness.simulation import DEFAULT_GROUP, Simulation


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("greengrass", "Greengrass simulation")
    group.addoption("--gg-group", default=None,
                    help=f"group definition the simulation fixture runs (default {DEFAULT_GROUP})")


@pytest.fixture
def simulation_factory(request: pytest.FixtureRequest) -> Iterator[Callable[..., Simulation]]:
    opened: list[Simulation] = []

    def open_simulation(path: str | Path | None = None, **options: Any) -> Simulation:
        path = path or request.config.getoption("--gg-group") or DEFAULT_GROUP
        simulation = Simulation.from_group(path, **options)
        opened.append(simulation)
        return simulation

    yield open_simulation
    for simulation in reversed(opened):
        simulation.close()


@pytest.fixture
def simulation(simulation_factory: Callable[..., Simulation]) -> Simulation:
    return simulation_factory()
