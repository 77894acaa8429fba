"""The ``sim`` rig: the simulated core under virtual time (the default off the Pi).

Everything is in process and deterministic: the group's real Lambdas on the simulated core,
the real device program on a simulated BME680 behind the real ``bme680`` library, the
scenario's air and faults on the chip. It can do everything a scenario asks.
"""

from __future__ import annotations

import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from harness.core import RoutedMessage
from harness.function_failures import FunctionFailure
from harness.rigs.chip import chip_for
from harness.scenarios.environment import environment_source
from harness.scenarios.schema import Capability, Scenario
from harness.simulation import DEFAULT_GROUP, Simulation

ALL_CAPABILITIES: frozenset[str] = frozenset(Capability.__args__)  # type: ignore[attr-defined]


class SimulationBacked:
    """What a session whose core is a :class:`~harness.simulation.Simulation` (``.sim``)
    does the same on every rig: the Shadow, counters and logs read in process, desired-state
    and delete requests and Lambda stalls handed to the core."""

    sim: Simulation

    def update_shadow(self, thing: str, document: dict[str, Any]) -> None:
        self.sim.update_shadow(thing, document)

    def delete_shadow(self, thing: str) -> None:
        self.sim.delete_shadow(thing)

    def stall_function(self, function: str, invocations: int) -> None:
        self.sim.stall_function(function, invocations)

    def shadow(self, thing: str, name: str | None = None) -> dict[str, Any] | None:
        return self.sim.shadow(thing, name)

    @property
    def epoch(self) -> float:
        """The core clock's epoch seconds at scenario time 0 (its virtual clock's start)."""
        return self.sim.clock.epoch

    def messages(self, topic: str | None = None) -> Sequence[RoutedMessage]:
        return self.sim.messages(topic)

    def logs(self, name: str) -> list[str]:
        return self.sim.logs(name)

    def core_log(self) -> list[str]:
        return self.sim.core_log()

    def stats(self, function: str) -> Any:
        return self.sim.stats(function)

    def function_failures(self) -> tuple[FunctionFailure, ...]:
        """Every Lambda failure the simulated core recorded (see
        :mod:`harness.function_failures`)."""
        return self.sim.function_failures

    def cloud_shadow(self, thing: str) -> dict[str, Any] | None:
        return self.sim.cloud_shadow(thing)

    def cloud_update(self, thing: str, document: dict[str, Any]) -> None:
        self.sim.cloud_update(thing, document)

    def disconnect_cloud(self, duration: float) -> None:
        self.sim.disconnect_cloud(duration)


class SimSession(SimulationBacked):
    """A scenario on a :class:`~harness.simulation.Simulation` (``.sim``)."""

    def __init__(self, scenario: Scenario, folder: Path, group: str | Path,
                 platform: str = "v2") -> None:
        restarts = any(fault.core_restart is not None for fault in scenario.faults)
        # a core restart reopens the Shadow from its database, as a real core does
        self._tmp = tempfile.TemporaryDirectory(prefix="gg-sim-") if restarts else None
        shadow_path = Path(self._tmp.name) / "shadow.db" if self._tmp else None
        options: dict[str, Any] = {
            "seed": scenario.seed, "shadow_path": shadow_path,
            "cpu_temperature": scenario.cpu_temperature, "cloud": scenario.cloud,
            "mode": platform}
        if scenario.group_changes is None:
            self.sim = Simulation.from_group(group, **options)
        else:  # the scenario's own variant of the group, its Lambdas where the group's are
            from harness.group import load_group
            from harness.scenarios.group_changes import changed_group

            changed = changed_group(load_group(group), scenario.group_changes)
            self.sim = Simulation(changed, code_dir=Path(group).parent, **options)
        try:
            if scenario.device is not None:
                assert scenario.environment is not None
                sim = self.sim
                chip = chip_for(scenario, clock=lambda: sim.clock.elapsed)
                self.sim.add_device(scenario.device.thing, chip=chip,
                                    period=scenario.device.period,
                                    environment=environment_source(
                                        scenario.environment,
                                        cpu_temperature=scenario.cpu_temperature,
                                        folder=folder))
        except BaseException:
            self.close()
            raise

    @property
    def now(self) -> float:
        return self.sim.now

    def advance_to(self, elapsed: float) -> None:
        self.sim.run(max(0.0, elapsed - self.sim.now))

    def publish(self, source: str, topic: str, payload: bytes) -> None:
        self.sim.publish(source, topic, payload)

    def restart_core(self, downtime: float) -> None:
        self.sim.restart_core(downtime)

    def disconnect_broker(self, duration: float) -> None:
        self.sim.disconnect_broker(duration)

    def close(self) -> None:
        try:
            if hasattr(self, "sim"):
                self.sim.close()
        finally:
            if self._tmp is not None:
                self._tmp.cleanup()


class SimRig:
    name = "sim"
    capabilities = ALL_CAPABILITIES
    timing_factor = 1.0

    def __init__(self, group: str | Path = DEFAULT_GROUP, *, platform: str = "v2") -> None:
        self.group = group
        #: the simulated core's Greengrass: "v2" (default) or "v1"
        self.platform = platform
        if platform != "v2":
            self.capabilities = ALL_CAPABILITIES - {"greengrass_v2"}

    def open(self, scenario: Scenario, folder: Path) -> SimSession:
        return SimSession(scenario, folder, self.group, self.platform)
