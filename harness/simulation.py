"""``Simulation``: a Greengrass group on a simulated core, on virtual time.

    sim = Simulation.from_group("lambdas/group.yaml", seed=0)
    sim.publish("device:bme680-sensor", "bme680/readings", {"sequence": 1, ...})
    sim.run(10)                        # ten simulated seconds, no wall-clock waiting
    sim.shadow("weather-station")      # the local Shadow, as a GET returns it
    sim.logs("republish")              # the function's log lines
    sim.function_failures              # Lambdas that failed: import, handler, timeout, refusal

The real Lambda files run unmodified: each container imports its module with the real
``greengrasssdk``, whose core-only dependencies (``fakes/core_runtime``) talk to the
simulated core. While a simulation is open it owns process-wide hooks (``time``,
``os.environ``, the IPC backend, the root logger's level and handler, ``sys.path`` and the
global ``random`` seed); close it, or use it as a context manager.
"""

from __future__ import annotations

import json
import logging
import random
import sys
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fakes import ipc_backend
from fakes.core_modules import core_runtime_path
from fakes.shadow import ShadowService
from fakes.shadow.config import ShadowConfig
from harness.clock import DEFAULT_EPOCH, Scheduler, VirtualClock
from harness.cloud.shadow_sync import CloudShadows, ShadowSync
from harness.core import (
    SHADOW_SERVICE,
    CoreUnavailable,
    LegacyShadow,
    Mode,
    RoutedMessage,
    SimulatedCore,
)
from harness.devices import SimulatedDevice
from harness.environ import install_environ_proxy, uninstall_environ_proxy
from harness.function_failures import FunctionFailure, check_kinds, matches
from harness.function_failures import report as failure_report
from harness.functions import MODULES
from harness.group import Group, load_group
from harness.ml_resources import UnpackedResources, local_sources
from harness.sysfs import CpuTemperature, FakeSysfs
from harness.tasks import install_virtual_time, uninstall_virtual_time

if TYPE_CHECKING:
    from harness.v2.deployment import V2Deployment
    from harness.v2.shadow_manager import ShadowManagerSettings

DEFAULT_GROUP = Path(__file__).resolve().parents[1] / "lambdas" / "group.yaml"

Payload = bytes | str | dict[str, Any] | list[Any]


class Simulation:
    _open: Simulation | None = None

    def __init__(
        self,
        group: Group,
        *,
        code_dir: Path,
        seed: int = 0,
        mode: Mode = "v2",
        legacy_shadow: LegacyShadow = "reject",
        epoch: float = DEFAULT_EPOCH,
        shadow_path: str | Path | None = None,
        cpu_temperature: CpuTemperature = 45.0,
        secrets: dict[str, str] | None = None,
        ml_resources: Mapping[str, str | Path] | None = None,
        cloud: bool = False,
        deployment: V2Deployment | None = None,
        one_cpu: bool | None = None,
    ) -> None:
        if Simulation._open is not None:
            raise RuntimeError("another Simulation is open in this process; close it first")
        self.group = group
        self.seed = seed
        self.clock = VirtualClock(epoch)
        self.scheduler = Scheduler(self.clock)
        self.ml = UnpackedResources(
            group, local_sources(group) if ml_resources is None else ml_resources)
        self.sysfs = FakeSysfs(cpu_temperature)
        self.shadow_path = shadow_path
        #: a V2 core's ShadowManager settings, from its deployment (None on V1)
        self.shadow_manager: ShadowManagerSettings | None = None
        self._shadow_config: ShadowConfig | None = None
        if mode == "v2":
            from harness.v2.deployment import SHADOW_MANAGER, compile_group
            from harness.v2.shadow_manager import ShadowManagerSettings

            deployment = deployment if deployment is not None else compile_group(group)
            config = (deployment.configuration(SHADOW_MANAGER)
                      if SHADOW_MANAGER in deployment.components else {})
            self.shadow_manager = ShadowManagerSettings.from_configuration(
                config, group.core.thing)
            self._shadow_config = ShadowConfig(
                max_state_bytes=self.shadow_manager.document_size_limit)
        self.shadow_service = ShadowService(clock=self.clock.time, path=shadow_path,
                                            config=self._shadow_config)
        self.core = SimulatedCore(
            group, code_dir=code_dir, clock=self.clock, scheduler=self.scheduler,
            shadow=self.shadow_service, sysfs=self.sysfs, mode=mode,
            legacy_shadow=legacy_shadow, seed=seed,
            secrets=secrets, ml_resources=self.ml, deployment=deployment,
        )
        self._code_dir = str(code_dir.resolve())
        self._closed = False
        self._known_sources: set[str] = set()
        self._expected_failures: set[int] = set()  # indices into core.failures.failures
        self.devices: list[SimulatedDevice] = []
        self.sync: ShadowSync | None = None
        self._aws: Any = None
        self._open_hooks()
        if self.core.nucleus is not None:
            if one_cpu is not None:  # keep the V2 core's threads on one CPU (default: yes)
                self.core.nucleus.one_cpu = one_cpu
            self.core.nucleus.start()
        self.core.start()
        if cloud:
            self._start_cloud()

    @classmethod
    def from_group(cls, path: str | Path = DEFAULT_GROUP, seed: int = 0, **options: Any
                   ) -> Simulation:
        """A simulation of the group file at ``path``; its Lambda modules are found next to
        it (``code_dir=`` to look elsewhere). Options: ``mode`` ("v2" default, or "v1"),
        ``epoch``, ``shadow_path`` (SQLite file kept across restarts), ``cpu_temperature``
        (degrees C, a function of elapsed seconds, or None), ``secrets`` ({name: value}),
        ``ml_resources`` ({name: zip, folder or model file}; by default the project's
        ml/artifacts), unpacked where the functions that use them look; ``cloud=True``
        syncs the Shadows of devices with ``shadow_sync`` with cloud Shadows in moto
        (:mod:`harness.cloud.shadow_sync`); ``legacy_shadow`` ("reject" default, as a
        real V2 core, or "warn"): what V2 mode does with greengrasssdk's local shadow
        calls, which a real Greengrass V2 core does not support (see
        :data:`harness.core.V2_LEGACY_SHADOW`)."""
        path = Path(path)
        code_dir = Path(options.pop("code_dir", path.parent))
        return cls(load_group(path), code_dir=code_dir, seed=seed, **options)

    # -- the cloud side ----------------------------------------------------------------

    def _start_cloud(self) -> None:
        import boto3
        from moto import mock_aws

        self._aws = mock_aws()
        self._aws.start()
        region = self.group.region
        self.cloud = CloudShadows(boto3.client("iot-data", region_name=region),
                                  boto3.client("iot", region_name=region))
        if self.shadow_manager is not None:  # V2: what ShadowManager is told to sync
            things = list(self.shadow_manager.synced)
        else:
            things = [device.thing for device in self.group.devices if device.shadow_sync]
        self.sync = ShadowSync(self.shadow_service, self.cloud, things,
                               defer=self.scheduler.call_soon)
        self.sync.start()

    def _cloud(self) -> tuple[CloudShadows, ShadowSync]:
        if self.sync is None:
            raise RuntimeError("this simulation has no cloud side: open it with cloud=True")
        return self.cloud, self.sync

    def cloud_shadow(self, thing: str) -> dict[str, Any] | None:
        """The cloud's Shadow document of ``thing`` as GetThingShadow returns it, or None."""
        cloud, _ = self._cloud()
        return cloud.document(thing)

    def cloud_update(self, thing: str, document: Payload) -> None:
        """An update made in the cloud (an app, the console): it reaches the local Shadow
        through the sync at once while connected, at the reconnection otherwise."""
        cloud, sync = self._cloud()
        cloud.send(thing, _encode(document))
        sync.cloud_changed(thing)

    def disconnect_cloud(self, duration: float) -> None:
        """The core loses the cloud for ``duration`` s; then a full sync converges."""
        _, sync = self._cloud()
        self.core.logs.core("WARN", f"cloud unreachable for {duration:g} s; shadow sync paused")
        sync.set_online(False)
        if self.core.fabric is not None:  # client device auth can no longer verify devices
            self.core.fabric.cloud_online = False

        def reconnect() -> None:
            self.core.logs.core("INFO", "cloud reachable again; full shadow sync")
            sync.set_online(True)
            if self.core.fabric is not None:
                self.core.fabric.cloud_online = True

        self.scheduler.call_later(duration, reconnect)

    # -- process-wide hooks ------------------------------------------------------------

    def _open_hooks(self) -> None:
        Simulation._open = self
        random.seed(self.seed)
        install_virtual_time()
        install_environ_proxy()
        self._previous_backend = ipc_backend.install_backend(self.core)
        root = logging.getLogger()
        self._previous_level = root.level
        root.setLevel(logging.INFO)
        root.addHandler(self.core.logs)
        self._paths = [self._code_dir, str(core_runtime_path())]
        for entry in reversed(self._paths):
            sys.path.insert(0, entry)

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        try:
            for device in self.devices:
                device.stop()
            self.core.shutdown()
        finally:
            if self.core.nucleus is not None:
                self.core.nucleus.stop()
            MODULES.restore()
            for entry in self._paths:
                if entry in sys.path:
                    sys.path.remove(entry)
            root = logging.getLogger()
            root.removeHandler(self.core.logs)
            root.setLevel(self._previous_level)
            ipc_backend.install_backend(self._previous_backend)
            uninstall_environ_proxy()
            uninstall_virtual_time()
            self.sysfs.close()
            self.ml.close()
            self.shadow_service.close()
            if self._aws is not None:
                self._aws.stop()
            Simulation._open = None

    def __enter__(self) -> Simulation:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- driving -----------------------------------------------------------------------

    @property
    def now(self) -> float:
        """Seconds of simulated time since the start."""
        return self.clock.elapsed

    def run(self, seconds: float) -> None:
        """Advance simulated time by ``seconds``, running everything due on the way."""
        if seconds < 0:
            raise ValueError("cannot run for a negative time")
        self.scheduler.run_until(self.clock.elapsed + seconds)
        self._raise_task_errors()

    def publish(self, source: str, topic: str, payload: Payload) -> tuple[str, ...]:
        """Publish as ``source`` (``device:<thing>``, a thing name, ``cloud``); returns the
        subscription targets it reached. Lambdas run on the next :meth:`run`."""
        endpoint = source if ":" in source or source in ("cloud", "GGShadowService") \
            else f"device:{source}"
        if endpoint not in self._known_sources:
            if endpoint.startswith("device:"):
                self.group.device(endpoint.split(":", 1)[1])  # a clear error for unknown things
            self._known_sources.add(endpoint)
        return self.core.route(endpoint, topic, _encode(payload))

    def add_device(self, thing: str, **options: Any) -> SimulatedDevice:
        """Run the real device program for ``thing`` on a simulated BME680 (``chip=``), with
        the air it sees from ``environment=`` (a function of elapsed seconds), publishing
        every ``period=`` seconds (5), ``count=`` times (forever). Its log is
        ``sim.logs("device:<thing>")``."""
        device = SimulatedDevice(self, thing, **options)
        self.devices.append(device)
        return device

    def update_shadow(self, thing: str, document: Payload, source: str = "cloud"
                      ) -> dict[str, Any]:
        """Send an update request to the local Shadow service as ``source`` would (a
        desired-state change from the cloud arrives this way through shadow sync); the
        replies go through the router. Returns the reply's JSON (accepted or rejected)."""
        return self._shadow_request(thing, "update", _encode(document), source)

    def delete_shadow(self, thing: str, source: str = "cloud") -> dict[str, Any]:
        """Delete ``thing``'s local Shadow under the Lambdas' feet; returns the reply."""
        return self._shadow_request(thing, "delete", b"", source)

    def _shadow_request(self, thing: str, action: str, payload: bytes, source: str
                        ) -> dict[str, Any]:
        if not self.core.running:
            raise CoreUnavailable(f"the Greengrass core is not running; {action} of {thing}'s "
                                  "Shadow not delivered")
        topic = f"$aws/things/{thing}/shadow/{action}"
        self.core.messages.append(RoutedMessage(self.clock.elapsed, source, topic, payload,
                                                (SHADOW_SERVICE,)))
        return json.loads(self.core.serve_shadow(topic, payload)[0][1])

    def restart_core(self, downtime: float = 0.0) -> None:
        """Stop the core now and start it ``downtime`` seconds later. Containers end and
        queued messages are lost, as on a real core; the Shadow is reopened from its
        database (``shadow_path``) so only what was stored survives; devices lose their
        broker connection for the downtime and send what they held afterwards."""
        shadow = None
        if self.shadow_path is not None:
            self.shadow_service.close()
            shadow = ShadowService(clock=self.clock.time, path=self.shadow_path,
                                   config=self._shadow_config)
            self.shadow_service = shadow
            if self.sync is not None:
                self.sync.attach(shadow)
        self.core.restart(downtime, shadow)
        if self.sync is not None:
            self.scheduler.call_later(downtime, self.sync.start)  # full sync on start
        for device in self.devices:
            device.disconnect(downtime)

    def disconnect_broker(self, duration: float) -> None:
        """Every device loses its connection to the core's broker for ``duration`` s."""
        self.core.logs.core("WARN", f"MQTT clients disconnected for {duration:g} s")
        for device in self.devices:
            device.disconnect(duration)

    def stall_function(self, function: str, invocations: int = 1,
                       seconds: float | None = None) -> None:
        """The next ``invocations`` of ``function`` hang (by default past its timeout)."""
        self.core.functions[self.group.function(function).name].stall_next(invocations,
                                                                           seconds)

    def set_cpu_temperature(self, celsius: CpuTemperature) -> None:
        self.sysfs.set_cpu_temperature(celsius)

    # -- inspecting --------------------------------------------------------------------

    def shadow(self, thing: str, name: str | None = None) -> dict[str, Any] | None:
        """The Shadow document a GET returns now, or ``None`` when there is none."""
        return self.shadow_service.document(thing, name)

    def logs(self, name: str) -> list[str]:
        """A function's log lines, formatted as the core writes them (or a device's:
        ``device:<thing>``)."""
        if not name.startswith("device:"):
            self.group.function(name)
        return [str(line) for line in self.core.logs.lines(name)]

    def write_logs(self, root: str | Path) -> list[Path]:
        """Write each function's log where a core keeps it, below ``root``:
        ``<root>/user/<region>/<account>/<function>.log``, and the core's own
        ``<root>/system/runtime.log``. Returns the files written."""
        root = Path(root)
        written = []
        for function in self.core.functions:
            path = root / "user" / self.group.region / self.group.account / f"{function}.log"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text("".join(line + "\n" for line in self.logs(function)))
            written.append(path)
        system = root / "system" / "runtime.log"
        system.parent.mkdir(parents=True, exist_ok=True)
        system.write_text("".join(line + "\n" for line in self.core_log()))
        return [*written, system]

    def core_log(self) -> list[str]:
        return [str(line) for line in self.core.logs.core_lines]

    def messages(self, topic: str | None = None) -> list[RoutedMessage]:
        """Messages that went through the router, optionally only those on ``topic``."""
        return [m for m in self.core.messages if topic is None or m.topic == topic]

    def stats(self, function: str) -> Any:
        return self.core.functions[self.group.function(function).name].stats

    # -- function failures ----------------------------------------------------------------

    @property
    def function_failures(self) -> tuple[FunctionFailure, ...]:
        """Every failure of a Lambda so far, in order: a module that failed to import, an
        exception out of a handler (or IPC callback), a timeout, a call the core refused
        (see :mod:`harness.function_failures`). Each has the function's last log lines."""
        return tuple(self.core.failures.failures)

    @property
    def unexpected_failures(self) -> tuple[FunctionFailure, ...]:
        """The :attr:`function_failures` no :meth:`expect_failures` block caught."""
        return tuple(failure for index, failure in enumerate(self.core.failures.failures)
                     if index not in self._expected_failures)

    @contextmanager
    def expect_failures(self, *functions: str, kind: str | Iterable[str] = ()
                        ) -> Iterator[list[FunctionFailure]]:
        """A block in which failures of ``functions`` (any function when none is named) of
        ``kind`` (one kind or several: ``import_error``, ``handler_error``, ``timeout``,
        ``refused``; any kind by default) are expected::

            with sim.expect_failures("republish", kind="handler_error") as caught:
                sim.publish("bme680-sensor", "bme680/readings", b"{not json")
                sim.run(5)
            assert "JSONDecodeError" in caught[0].message

        The list it gives holds the failures it caught. The block asserts that at least
        one happened; those it caught no longer fail the test (the ``simulation`` fixture
        fails a test on every other one)."""
        kinds = check_kinds([kind] if isinstance(kind, str) else kind)
        names = tuple(self.group.function(name).name for name in functions)
        recorded = self.core.failures.failures
        start = len(recorded)
        caught: list[FunctionFailure] = []
        try:
            yield caught
        finally:
            for index in range(start, len(recorded)):
                if matches(recorded[index], names, kinds):
                    self._expected_failures.add(index)
                    caught.append(recorded[index])
        if not caught:
            wanted = " or ".join(names) or "any function"
            what = " or ".join(kinds) or "any kind"
            others = recorded[start:]
            seen = ("; other failures happened:\n" + failure_report(others)) if others else ""
            raise AssertionError(f"expected a failure of {wanted} ({what}) in this block; "
                                 f"none happened{seen}")

    def _raise_task_errors(self) -> None:
        """Errors that escaped a task are the harness's own bugs: surface them."""
        for device in self.devices:
            if device.task.error is not None:
                error, device.task.error = device.task.error, None
                raise RuntimeError(f"the device program of {device.thing} failed") from error
        for function in self.core.functions.values():
            for container in function.containers:
                error = container.task.error
                if error is not None:
                    container.task.error = None
                    raise RuntimeError(f"the simulated core failed in {container.task.name}"
                                       ) from error


def _encode(payload: Payload) -> bytes:
    if isinstance(payload, bytes):
        return payload
    if isinstance(payload, str):
        return payload.encode()
    return json.dumps(payload).encode()
