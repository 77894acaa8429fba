"""pytest plugin: a ready simulation in one line, moto-style, and one option for the rig.

    def test_reading_reaches_the_shadow(simulation):
        simulation.publish("bme680-sensor", "bme680/readings", {...})
        simulation.run(10)
        assert simulation.shadow("weather-station")["state"]["reported"]["sequence"] == 1

``simulation`` runs the project's ``lambdas/group.yaml`` (``--gg-group`` to choose another);
``simulation_factory(path, **options)`` opens others. Both are closed after the test.

``--rig sim|broker|pi`` chooses where scenarios and the hardware suite run (``sim`` off the
Pi, ``pi`` on it); the ``rig`` fixture is that rig, opened once per session, and
``scenarios/*.yaml`` files are collected as test items run on it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from harness.rigs.base import Rig, RigUnavailable
from harness.rigs.select import PLATFORMS, RIGS, default_rig, open_rig
from harness.scenarios.collect import ScenarioFile, is_scenario_file
from harness.simulation import DEFAULT_GROUP, Simulation


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("greengrass", "Greengrass simulation")
    group.addoption("--gg-group", default=None,
                    help=f"group definition the simulation fixture runs (default {DEFAULT_GROUP})")
    group.addoption("--rig", choices=RIGS, default=None,
                    help="where scenarios and the hardware suite run: sim (the simulated core, "
                         "the default off the Pi), broker (an emulated Pi over Mosquitto on "
                         "loopback), pi (the real core; the default on a Raspberry Pi)")
    group.addoption("--gg-results", default=None, metavar="DIR",
                    help="write each scenario's result (every expectation's outcome) to "
                         "DIR/<scenario>.json")
    group.addoption("--gg-platform", choices=PLATFORMS, default="v2",
                    help="the Greengrass the core runs: v2 (default) or v1 (the sim rig only)")
    group.addoption("--pi-config", default=None,
                    help="the pi rig's configuration file (default $HIL_PI_CONFIG or "
                         "hil/pi.yaml)")


def pytest_configure(config: pytest.Config) -> None:
    if config.option.rig is None:
        config.option.rig = default_rig()
    config.addinivalue_line("markers", "scenario: a scenario file run on the --rig")
    config.stash[_PROVIDER] = RigProvider(config)


def pytest_unconfigure(config: pytest.Config) -> None:
    provider = config.stash.get(_PROVIDER, None)
    if provider is not None:
        provider.close()


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> pytest.Collector | None:
    if is_scenario_file(file_path):
        return ScenarioFile.from_parent(parent, path=file_path)
    return None


def pytest_report_header(config: pytest.Config) -> str:
    return f"greengrass harness: rig {config.option.rig}"


class RigProvider:
    """The session's rigs, one per group file (``--gg-group``'s, or the default, unless a
    scenario names its own ``group:``), each opened on first use and closed at the end; a
    rig that cannot be opened here is remembered, and every test that needs it skips with
    the reason."""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        self.name: str = config.option.rig
        self._rigs: dict[str | None, Rig] = {}
        self._unavailable: dict[str | None, str] = {}

    def get(self, group: str | Path | None = None) -> Rig:
        """The rig of ``group`` (default: ``--gg-group``'s, or the project's)."""
        if group is None:
            group = self.config.option.gg_group
        key = None if group is None else str(Path(group).resolve())
        if key in self._unavailable:
            pytest.skip(self._unavailable[key])
        if key not in self._rigs:
            try:
                self._rigs[key] = open_rig(self.name, group=group,
                                           pi_config=self.config.option.pi_config,
                                           rootdir=Path(str(self.config.rootpath)),
                                           platform=self.config.option.gg_platform)
            except RigUnavailable as error:
                self._unavailable[key] = f"the {self.name} rig is not available: {error}"
                pytest.skip(self._unavailable[key])
        return self._rigs[key]

    def close(self) -> None:
        for rig in reversed(list(self._rigs.values())):
            close = getattr(rig, "close", None)
            if close is not None:
                close()


_PROVIDER = pytest.StashKey[RigProvider]()


def rig_provider(config: pytest.Config) -> RigProvider:
    return config.stash[_PROVIDER]


@pytest.fixture(scope="session")
def rig(request: pytest.FixtureRequest) -> Rig:
    """The rig chosen with ``--rig`` (skips with the reason when it is not available)."""
    return rig_provider(request.config).get()


NO_BROKER = ("the {rig} rig has no MQTT broker to test against: the hardware suite runs with "
             "--rig broker (an emulated Pi over Mosquitto) or --rig pi (on the Pi)")


@pytest.fixture
def station(rig: Rig) -> Iterator[Any]:
    """The weather station on the rig, running: the core with the group's Lambdas and the
    device program reading the sensor (on the broker rig, emulated; on the Pi, the real
    deployment). Closed after the test."""
    opener = getattr(rig, "station", None)
    if opener is None:
        pytest.skip(NO_BROKER.format(rig=rig.name))
    session = opener()
    yield session
    session.close()


@pytest.fixture
def shadow(station: Any) -> Any:
    """The ``weather-station`` Shadow over the MQTT Shadow topics
    (:class:`~harness.rigs.mqtt_client.ShadowClient`), connected as that thing."""
    return station.shadow_client("weather-station")


@pytest.fixture
def sensor(rig: Rig) -> Iterator[Any]:
    """The BME680 through the real ``bme680`` library (``device.sensor.BME680Sensor``): the
    physical one on the Pi, a simulated chip in the station's air elsewhere."""
    opener = getattr(rig, "sensor", None)
    if opener is None:
        pytest.skip(f"the {rig.name} rig has no sensor of its own: use --rig broker or pi")
    handle = opener()
    yield handle
    handle.close()


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
