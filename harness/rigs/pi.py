"""The ``pi`` rig: the real Greengrass core on the Raspberry Pi, in real time.

Configured by a file (:mod:`harness.rigs.pi_config`; ``hil/pi.example.yaml``). Opening the
rig runs the preflight (:mod:`harness.rigs.preflight`: the files, the core answering MQTT
over TLS, the BME680 answering with chip id 0x61, the deployed Lambdas being the ones under
test); a failed check makes the rig unavailable, and every test that needs it is skipped
with the exact reason. While open, the rig holds the Pi's hardware lock, so one test session
at a time owns the Pi.

Everything goes through the core the way a device reaches it: the local Shadow over the MQTT
Shadow topics, messages published with a thing's certificate, what the configured client
may read recorded as it arrives. The core is a Greengrass V2 core, which admits a client
device only with the thing name of its certificate as client id and closes an older
connection with the same id: so the session keeps one connection per thing
(:class:`~harness.rigs.mqtt_client.ThingConnection`, client id = thing name), shared by its
listener, its Shadow clients and its publishes as that thing, over MQTT 3.1.1 (the core's
Moquette broker speaks nothing else; ``mqtt_protocol: mqtt5`` for EMQX). To publish as a
device whose own program runs on the Pi (``bme680-sensor``), give the rig a thing of its own
in ``devices`` (hil/README.md). The core's logs are read from ``<greengrass_root>/logs``
(a Lambda's is its component's, ``<group>.<function>.log``); a core restart runs the
configured ``restart_command``. The air and the chip cannot be set here, so scenarios that do
are skipped with that reason.
"""

from __future__ import annotations

import contextlib
import subprocess
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.deploy.v2 import component_name
from harness.group import load_group
from harness.rigs.base import RigUnavailable
from harness.rigs.hardware_lock import HardwareBusy, hardware_lock
from harness.rigs.mqtt_client import (
    MQTT3,
    MQTT5,
    MqttError,
    MqttIdentity,
    ShadowClient,
    ThingConnection,
)
from harness.rigs.pi_config import PiConfig, PiConfigError, PiConfigNotFound, load_pi_config
from harness.rigs.preflight import discover_cores, preflight, skip_reason
from harness.scenarios.schema import Scenario
from harness.simulation import DEFAULT_GROUP

LOCK_TIMEOUT = 600.0  # seconds to wait for another session to free the Pi
LISTENER_TOPICS = ("#", "$aws/things/#")
"""What the session's listener subscribes to as the configured client (``#`` does not match
topics starting with ``$``): on a V2 core its client device auth policy must allow both
filters literally."""


@dataclass(frozen=True)
class SeenMessage:
    time: float  # scenario seconds
    topic: str
    payload: bytes


class PiRig:
    name = "pi"

    def __init__(self, config: PiConfig, group: str | Path = DEFAULT_GROUP) -> None:
        self.config = config
        self.group = Path(group)
        self.timing_factor = config.timing_factor
        capabilities = {"function_logs", "core_log", "greengrass_v2"}  # the Pi is a V2 core
        if config.restart_argv is not None:
            capabilities.add("core_restart")
        self.capabilities = frozenset(capabilities)
        self._lock: contextlib.ExitStack | None = None
        self._core: MqttIdentity | None = None

    @classmethod
    def from_config(cls, path: str | Path | None = None, *, group: str | Path = DEFAULT_GROUP,
                    rootdir: Path | None = None, run_preflight: bool = True) -> PiRig:
        """Load the config, take the Pi's lock and run the preflight; raises
        :class:`RigUnavailable` with the reason when any of that fails."""
        try:
            config = load_pi_config(path, origin="--pi-config" if path else None)
        except (PiConfigNotFound, PiConfigError) as error:
            raise RigUnavailable(str(error)) from None
        rig = cls(config, group)
        stack = contextlib.ExitStack()
        try:
            stack.enter_context(hardware_lock(config.lock_file, timeout=LOCK_TIMEOUT))
        except HardwareBusy as error:
            raise RigUnavailable(str(error)) from None
        rig._lock = stack
        if run_preflight:
            reason = skip_reason(preflight(config, group=group))
            if reason is not None:
                rig.close()
                raise RigUnavailable(reason)
        return rig

    def identity(self, thing: str | None = None) -> MqttIdentity:
        """How ``thing`` (default: the configured client) connects to the core's broker."""
        config = self.config
        if thing is None or thing == config.client.thing:
            who = config.client
        elif thing in config.devices:
            who = config.devices[thing]
        else:
            raise RigUnavailable(f"the pi config has no identity for {thing!r}: add it under "
                                 f"devices: in {config.source or 'the config'}")
        if self._core is None:
            if config.core is not None:
                self._core = MqttIdentity(who.thing, who.cert, who.key, config.core.ca,
                                          config.core.host, config.core.port)
            else:
                target = discover_cores(config, Path("/tmp"), timeout=10.0)[0]
                self._core = MqttIdentity(who.thing, who.cert, who.key, target.ca,
                                          target.host, target.port)
        core = self._core
        return MqttIdentity(who.thing, who.cert, who.key, core.ca, core.host, core.port)

    @property
    def protocol(self) -> int:
        """The MQTT version of the rig's clients (``mqtt_protocol`` in the config)."""
        return MQTT5 if self.config.mqtt_protocol == "mqtt5" else MQTT3

    def log_name(self, name: str) -> str:
        """The log file (without ``.log``) of ``name`` on the core: a function of the group
        logs to its V2 component's, ``<group>.<function>``; anything else is taken as is."""
        try:
            group = load_group(self.group)
        except (OSError, ValueError):
            return name
        function = next((f for f in group.functions if f.name == name), None)
        return name if function is None else component_name(group, function)

    def open(self, scenario: Scenario, folder: Path) -> PiSession:
        return PiSession(self)

    def station(self) -> PiSession:
        """The deployed weather station, as it runs."""
        return PiSession(self)

    def sensor(self) -> Any:
        """The physical BME680 through the real ``bme680`` library."""
        from device.sensor import open_sensor

        return open_sensor(addresses=(self.config.sensor.address,),
                           bus_number=self.config.sensor.bus)

    def close(self) -> None:
        if self._lock is not None:
            self._lock.close()
            self._lock = None


class PiSession:
    """A scenario or test on the Pi; times are real seconds since it opened."""

    def __init__(self, rig: PiRig) -> None:
        self.rig = rig
        self.timing_factor = rig.timing_factor
        self._start = time.monotonic()
        #: the wall clock at scenario time 0: the Pi's core and devices read this clock
        #: (the harness's host's; on another host, both must be set by NTP)
        self.epoch = time.time()
        self._seen: list[SeenMessage] = []
        self._lock = threading.Lock()
        self._shadows: dict[str, ShadowClient] = {}
        self._connections: dict[str, ThingConnection] = {}
        self._listener = self._connection(None, subscribe=LISTENER_TOPICS,
                                          handlers=[self._record])

    def _connection(self, thing: str | None, *, subscribe: Sequence[str] = (),
                    handlers: Sequence[Callable[[Any, Any, Any], None]] = ()
                    ) -> ThingConnection:
        """The session's one connection as ``thing``'s identity (None: the configured
        client), made on first use; its client id is the identity's thing name."""
        identity = self.rig.identity(thing)
        connection = self._connections.get(identity.thing)
        if connection is None:
            connection = ThingConnection(identity, subscribe=subscribe, handlers=handlers,
                                         protocol=self.rig.protocol)
            self._connections[identity.thing] = connection
        else:
            for handler in handlers:
                connection.add_handler(handler)
            connection.subscribe(subscribe)
        return connection

    def _record(self, client: Any, userdata: Any, message: Any) -> None:
        with self._lock:
            self._seen.append(SeenMessage(self.now, message.topic, bytes(message.payload)))

    @property
    def now(self) -> float:
        return time.monotonic() - self._start

    def advance_to(self, elapsed: float) -> None:
        time.sleep(max(0.0, elapsed - self.now))

    def wait_until(self, condition: Callable[[], bool], *, until: float | None = None,
                   timeout: float | None = None) -> bool:
        end = until if until is not None else self.now + (timeout or 0.0)
        while True:
            if condition():
                return True
            if self.now >= end:
                return False
            time.sleep(min(0.2, max(0.0, end - self.now)))

    # -- MQTT ----------------------------------------------------------------------------

    def identity(self, thing: str) -> MqttIdentity:
        return self.rig.identity(thing)

    def client(self, thing: str) -> Any:
        """The paho client of the session's connection as ``thing`` (shared: the same one
        the listener and the Shadow clients use when ``thing`` is theirs)."""
        return self._connection(thing).client

    def shadow_client(self, thing: str, as_thing: str | None = None,
                      name: str | None = None) -> ShadowClient:
        """``thing``'s Shadow (its named shadow ``name``) over the MQTT Shadow topics, on
        the connection as ``as_thing`` (the thing itself by default)."""
        connection = self._connection(as_thing or thing)
        key = f"{thing}/{name or ''}/{connection.thing}"
        if key not in self._shadows:
            self._shadows[key] = ShadowClient(connection.identity, thing,
                                              connection=connection, name=name)
        return self._shadows[key]

    def routed(self, topic: str) -> list[SeenMessage]:
        """What the configured client saw on ``topic`` (the core's router is not visible
        from outside; what reaches a subscriber is)."""
        return list(self.messages(topic))

    # -- stimuli and faults --------------------------------------------------------------

    def publish(self, source: str, topic: str, payload: bytes) -> None:
        thing = source.split(":", 1)[1] if source.startswith("device:") else source
        self.client(thing).publish(topic, payload, qos=1).wait_for_publish(10.0)

    def update_shadow(self, thing: str, document: dict[str, Any]) -> None:
        self.shadow_client(thing, self.rig.config.client.thing).update(document["state"])

    def delete_shadow(self, thing: str) -> None:
        self.shadow_client(thing, self.rig.config.client.thing).delete()

    def restart_core(self, downtime: float) -> None:
        """Run the configured restart command (the core decides its own downtime)."""
        argv = self.rig.config.restart_argv
        if argv is None:
            raise RigUnavailable("restart_command is null in the pi config")
        subprocess.run(argv, check=True, timeout=120)

    def disconnect_broker(self, duration: float) -> None:
        raise RigUnavailable("the pi rig does not cut the core's broker")

    def stall_function(self, function: str, invocations: int) -> None:
        raise RigUnavailable("the pi rig cannot make deployed Lambdas hang")

    # -- what expectations read ----------------------------------------------------------

    def shadow(self, thing: str, name: str | None = None) -> dict[str, Any] | None:
        try:
            outcome, document = self.shadow_client(thing, self.rig.config.client.thing,
                                                   name).get()
        except MqttError:
            return None
        return document if outcome == "accepted" else None

    def messages(self, topic: str | None = None) -> Sequence[SeenMessage]:
        with self._lock:
            return [m for m in self._seen if topic is None or m.topic == topic]

    def logs(self, name: str) -> list[str]:
        """A function's log on the core: its Lambda component's,
        ``<root>/logs/<group>.<function>.log``; any other name's ``<root>/logs/<name>.log``."""
        path = self.rig.config.greengrass_root / "logs" / f"{self.rig.log_name(name)}.log"
        try:
            return path.read_text(errors="replace").splitlines()
        except OSError:
            return []

    def core_log(self) -> list[str]:
        return self.logs("greengrass")

    def stats(self, function: str) -> Any:
        raise RigUnavailable("the core's per-function counters are not visible on the Pi")

    def close(self) -> None:
        for shadow in self._shadows.values():
            shadow.close()
        for connection in self._connections.values():
            with contextlib.suppress(Exception):
                connection.close()


__all__ = ["PiRig", "PiSession", "SeenMessage"]
