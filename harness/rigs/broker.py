"""The ``broker`` rig: an emulated Raspberry Pi running a Greengrass V2 core, on loopback, in
wall-clock time.

What runs (one rig per pytest session, one session per scenario):

- **Mosquitto** (the Debian package) in the place of the core's Moquette broker: TLS with a
  server certificate signed by the run's group CA (the core's CA), client certificates
  required (the CN is the thing, and a thing's certificate connects only with its thing name
  as client id), and every connect, publish and subscribe of a device decided as the core's
  client device auth decides it: from the same CDA model the simulated core uses, for the
  deployment the group compiles to (or its pasted ``client_devices.auth``), written as rules
  for the broker's plugin (:mod:`harness.rigs.client_device_rules`;
  :mod:`harness.rigs.mosquitto` lists what still differs from Moquette). Each session
  writes the rules of its own simulated core, and
  :meth:`BrokerSession.configure_client_device_auth` changes both at once. Each session
  after the first starts the broker afresh, so no retained reading or queued message
  crosses sessions;
- a **Greengrass discovery endpoint** (:mod:`harness.rigs.discovery`) answering as the V2
  service: group ``greengrassV2-coreDevice-<core thing>``, the core's CA, 404 for a thing not
  associated with the core (the deployment's client devices);
- the **harness core** in V2 mode: the group's real Lambdas on the simulated core, and the
  deployment's **MQTT bridge** as an MQTT v5 client of the broker with the core's (helper)
  certificate, which the broker allows everything, as CDA allows the real bridge's
  core-CA-signed certificate. It subscribes to the topics of the bridge's ``LocalMqtt``
  mappings (:meth:`~fakes.client_devices.MqttBridge.subscriptions`) and hands each message
  to the simulated core as published by the device that sent it; what the core's bridge
  relays to the local broker (``core.on_device_message``, once per message) it publishes
  there with QoS 1 and the retain flag cleared, as the real bridge's local client does. It
  does not get its own publications back (MQTT 5 no-local): the simulated core already
  relays the echo the real bridge receives from Moquette;
- the **real device program** (``device.__main__.main``) in a thread: discovery, then MQTT
  over TLS, reading the real ``bme680`` library on a simulated BME680 with the scenario's
  air and faults.

The harness's own clients that stand in for a device (:meth:`BrokerSession.client`,
:meth:`BrokerSession.shadow_client`) use that thing's helper certificate, so client device
auth holds them to the thing's policy, as it holds the device program.

Time is the wall clock, compressed: ``time_scale`` scenario seconds pass per wall second
(10 by default), so a 100 s scenario takes 10 s; a longer scenario is compressed further so
that it takes at most ``max_wall`` seconds (20 by default; a 90-minute rain front runs at
270 x, its 5 s readings 18.5 ms apart). The core's virtual clock is paced to it
(it never runs ahead of the wall), and messages from the broker are routed as soon as they
arrive. Attribution: MQTT does not tell a subscriber who published, so the bridge credits a
message to the one device thing client device auth lets publish its topic (each topic of
this group has one); a topic several devices may publish is credited to the first (in the
group's order) and counted in :attr:`BrokerSession.ambiguous`.

Nothing a device published is lost uncounted (:meth:`BrokerSession.message_counts`): the
broker's limits are explicit (:class:`~harness.rigs.mosquitto.BrokerLimits`) and its drops
counted (client device auth's denials and too large messages from its log, full queues from
its ``$SYS`` count); the bridge never blocks and holds at most ``backlog``
messages for the core (the depth and its peak are in the counts; when full, the newest
message is dropped, counted and logged in the core's log); a message the core cannot take
(restarting) is counted; closing drains, bounded by ``drain`` wall seconds, and counts what
is left. Invocations the core drops are in ``stats(function)``.
"""

from __future__ import annotations

import contextlib
import logging
import math
import queue
import re
import shutil
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from device.loop import Counters
from fakes.client_devices import LOCAL_MQTT, ClientDeviceAuth
from harness.core import CoreUnavailable, RoutedMessage
from harness.group import Group, load_group
from harness.rigs.base import RigUnavailable
from harness.rigs.chip import chip_for
from harness.rigs.client_device_rules import AuthRules, client_device_auth
from harness.rigs.discovery import DiscoveryEndpoint, v2_group_id
from harness.rigs.mosquitto import DROPPED_TOPIC, BrokerLimits, Mosquitto, find_mosquitto
from harness.rigs.mqtt_client import MqttIdentity, ShadowClient, close_client, connect_client
from harness.rigs.pki import RunPki
from harness.rigs.sim import ALL_CAPABILITIES, SimulationBacked
from harness.scenarios.environment import environment_source
from harness.scenarios.schema import Scenario
from harness.simulation import DEFAULT_GROUP, Simulation
from harness.v2.deployment import compile_group

logger = logging.getLogger(__name__)

DEFAULT_TIME_SCALE = 10.0
DEFAULT_MAX_WALL = 20.0
#: messages the core's bridge holds for the core at most (see :class:`BrokerSession`). A
#: real core has no such limit in this place (the broker hands messages to the Lambdas'
#: queues), so it is set well above the queues the rig stands in front of (the shipped
#: republish holds 1,000 + one per instance): a burst meets the Lambda's queue limit first,
#: as on a core, and the backlog only bounds memory. It is the rig's own limit, counted
#: apart ("core backlog") when it is reached.
DEFAULT_BACKLOG = 10_000
#: wall seconds a closing session spends at most handing what the broker still holds to
#: the core and letting the core work it off
DEFAULT_DRAIN = 5.0
# first attempts only: a client resending the same message after a reconnection sets d1
_TOO_LARGE = re.compile(r"Dropped too large PUBLISH from (\S+) \(d0,")
_QUEUE_FULL = re.compile(r"Outgoing messages are being dropped for client (\S+)\.")
_DENIED = re.compile(r"Denied PUBLISH from (\S+) \(d0,")


@dataclass
class MessageCounts:
    """Where the messages devices published on the broker rig went (see
    :meth:`BrokerSession.message_counts`). Every message a device published on a topic the
    core's bridge takes is ``delivered`` to the core's router or counted in ``dropped`` under
    where it was lost:

    - ``"client device auth"``: the broker denied it (client device auth; counted from
      Mosquitto's ``Denied PUBLISH`` log lines, first attempts, whatever the topic);
    - ``"broker queue"``: Mosquitto dropped it for a subscriber whose queue was full
      (:attr:`BrokerLimits.max_queued_messages`; Mosquitto's ``$SYS`` count, for every
      subscriber, so a Shadow client of a test counts here too);
    - ``"broker too large"``: larger than :attr:`BrokerLimits.max_message_size`;
    - ``"core backlog"``: the bridge's backlog for the core was full (``backlog_limit``);
    - ``"close"``: still in the backlog when the session closed, after the drain.

    Invocations the core dropped are in ``stats(function)``: ``dropped_queue_full`` (the
    Lambda's queue) and ``dropped_at_stop`` (queued when the core stopped)."""

    received: int = 0  # device messages the bridge received from the broker
    delivered: int = 0  # ... handed to the core's router
    dropped: dict[str, int] = field(default_factory=dict)
    backlog: int = 0  # messages waiting in the bridge's backlog now
    backlog_peak: int = 0  # the most that ever waited
    backlog_limit: int = DEFAULT_BACKLOG
    #: clients Mosquitto said it dropped messages for (its log)
    broker_dropping_for: tuple[str, ...] = ()

    @property
    def dropped_total(self) -> int:
        return sum(self.dropped.values())


#: The air around the emulated Pi's sensor in :meth:`BrokerRig.station`.
STATION_AIR = {"temperature": 15.0, "pressure": 1012.5, "humidity": 55.0}


def station_scenario(hours: float = 24.0) -> Scenario:
    """A scenario that only sets up the station: steady air, the device every 5 s."""
    return Scenario.model_validate({
        "name": "weather station", "duration": hours * 3600,
        "environment": {"profile": {"steady": dict(STATION_AIR)}},
        "device": {"thing": "bme680-sensor", "period": 5},
        "expectations": [{"always": "version grows"}]})


@dataclass(frozen=True)
class _Inbound:
    topic: str
    payload: bytes


class BrokerRig:
    """Mosquitto, the discovery endpoint and the run's certificates; opens sessions.

    ``group`` is the group file (its Lambda modules are found next to it, or in
    ``code_dir``). The group must compile to a V2 deployment
    (:func:`~harness.v2.deployment.compile_group`): the rig is a V2 core."""

    name = "broker"
    #: everything but exact timing and very long runs: messages cross a real broker in
    #: wall-clock time
    capabilities = ALL_CAPABILITIES - {"exact_timing", "virtual_time", "group_changes"}
    timing_factor = 1.5

    def __init__(self, group_path: str | Path, directory: Path, *, time_scale: float,
                 keep: bool, max_wall: float = DEFAULT_MAX_WALL,
                 limits: BrokerLimits | None = None, backlog: int = DEFAULT_BACKLOG,
                 drain: float = DEFAULT_DRAIN, code_dir: str | Path | None = None) -> None:
        self.group_path = Path(group_path)
        self.code_dir = Path(code_dir) if code_dir is not None else self.group_path.parent
        self.limits = limits or BrokerLimits()
        self.backlog = backlog
        self.drain = drain
        self.max_wall = max_wall
        self.group: Group = load_group(self.group_path)
        #: what the core runs: the deployment the group compiles to
        self.deployment = compile_group(self.group)
        self.directory = directory
        self.time_scale = time_scale
        self._keep = keep
        core = self.group.core.thing
        things = [device.thing for device in self.group.devices]
        self.pki = RunPki.create(directory / "pki", things=things, core_thing=core)
        # until a session writes its own core's: the deployment's client device auth
        rules = self.rules_for(client_device_auth(self.deployment))
        self.mosquitto = Mosquitto(directory / "mosquitto", self.pki, rules.text(),
                                   limits=self.limits)
        self.discovery: DiscoveryEndpoint | None = None
        self._sessions = 0  # sessions opened so far

    @classmethod
    def start(cls, group: str | Path = DEFAULT_GROUP, *, time_scale: float = DEFAULT_TIME_SCALE,
              max_wall: float = DEFAULT_MAX_WALL, directory: str | Path | None = None,
              limits: BrokerLimits | None = None, backlog: int = DEFAULT_BACKLOG,
              drain: float = DEFAULT_DRAIN, code_dir: str | Path | None = None) -> BrokerRig:
        """Make the certificates, start Mosquitto and the discovery endpoint. Raises
        :class:`RigUnavailable` with the reason when Mosquitto is not installed.
        ``limits``: the broker's (:class:`BrokerLimits`); ``backlog``: how many messages
        the core's bridge holds for the core; ``drain``: wall seconds a closing session
        may spend delivering what is still queued (see :class:`BrokerSession`);
        ``code_dir``: where the group's Lambda modules are (default: next to the group
        file)."""
        try:
            find_mosquitto()
        except FileNotFoundError as error:
            raise RigUnavailable(str(error)) from None
        keep = directory is not None
        where = Path(directory) if directory else Path(tempfile.mkdtemp(prefix="gg-broker-"))
        (where / "mosquitto").mkdir(parents=True, exist_ok=True)
        rig = cls(group, where, time_scale=time_scale, keep=keep, max_wall=max_wall,
                  limits=limits, backlog=backlog, drain=drain, code_dir=code_dir)
        try:
            try:
                rig.mosquitto.start()
            except FileNotFoundError as error:  # no C compiler for the client id plugin
                raise RigUnavailable(str(error)) from None
            # V2: each core device is its own group; only the devices associated with the
            # core are found
            rig.discovery = DiscoveryEndpoint(
                rig.pki, group_id=v2_group_id(rig.deployment.core_thing),
                core_thing_arn=rig.deployment.target_arn,
                connectivity=[(rig.mosquitto.host, rig.mosquitto.port)],
                things=rig.deployment.client_devices)
            rig.discovery.start()
        except BaseException:
            rig.close()
            raise
        return rig

    def rules_for(self, auth: ClientDeviceAuth) -> AuthRules:
        """The broker's rules for the CDA model ``auth``: the device things' decisions, the
        core's thing allowed everything."""
        return AuthRules.from_auth(auth, self.pki.things, self.pki.core_thing)

    def identity(self, thing: str) -> MqttIdentity:
        """How the harness's own clients connect as ``thing`` (a device, or the core): its
        helper certificate. They connect with client ids ``<thing>-<anything>``, so they run
        alongside the device program, which holds ``<thing>`` (see
        :mod:`harness.rigs.client_id_plugin`); client device auth treats them as ``thing``
        (the core's are allowed everything)."""
        cert, key = self.pki.helper(thing)
        return MqttIdentity(thing=thing, cert=cert, key=key, ca=self.pki.group_ca,
                            host=self.mosquitto.host, port=self.mosquitto.port)

    def thing_identity(self, thing: str) -> MqttIdentity:
        """How ``thing`` itself connects, as a device does: its own certificate, with which
        the broker accepts only the client id ``thing``."""
        cert, key = self.pki.client(thing)
        return MqttIdentity(thing=thing, cert=cert, key=key, ca=self.pki.group_ca,
                            host=self.mosquitto.host, port=self.mosquitto.port)

    def open(self, scenario: Scenario, folder: Path) -> BrokerSession:
        return BrokerSession(self, scenario=scenario, folder=folder)

    def _fresh_broker(self) -> None:
        """Before every session but the first, Mosquitto starts afresh: nothing an earlier
        session left (retained readings, persistent sessions and their queued messages)
        reaches the next one. Within a session, core restarts keep that state."""
        if self._sessions:
            self.mosquitto.reset()
        self._sessions += 1

    def session(self, *, seed: int = 0, cpu_temperature: float = 45.0,
                **options: Any) -> BrokerSession:
        """A session without a scenario (no device program): the core and its bridge, for
        tests that drive the broker themselves."""
        return BrokerSession(self, seed=seed, cpu_temperature=cpu_temperature, **options)

    def station(self) -> BrokerSession:
        """The weather station as the hardware suite finds it on a Pi: the core with its
        Lambdas and the device program reading the sensor in steady air
        (:data:`STATION_AIR`), running until closed."""
        return self.open(station_scenario(), Path("."))

    def sensor(self) -> Any:
        """The real ``bme680`` library on a simulated chip in :data:`STATION_AIR` (what the
        station's device program reads), opened as the device program opens it."""
        from device.sensor import open_sensor
        from fakes.bme680 import SimulatedBME680

        start = time.monotonic()
        chip = SimulatedBME680(clock=lambda: time.monotonic() - start)
        air = environment_source(station_scenario().environment,  # type: ignore[arg-type]
                                 cpu_temperature=45.0, folder=Path("."))
        return open_sensor(bus=_ChipBus(chip, air, lambda: time.monotonic() - start))

    def close(self) -> None:
        if self.discovery is not None:
            self.discovery.stop()
        self.mosquitto.stop()
        if not self._keep:
            shutil.rmtree(self.directory, ignore_errors=True)


class _ChipBus:
    """The simulated chip as the device thread's I2C bus: before each transaction the air
    is brought up to the scenario's time (in the device's own thread, so nothing races)."""

    def __init__(self, chip: Any, environment: Callable[[float], Any] | None,
                 clock: Callable[[], float]) -> None:
        self._chip, self._environment, self._clock = chip, environment, clock
        self._applied: float | None = None

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self._chip, name)
        if not callable(attribute):
            return attribute

        def transaction(*args: Any, **kwargs: Any) -> Any:
            now = self._clock()
            if self._environment is not None and now != self._applied:
                self._applied = now
                self._chip.set_environment(**self._environment(now))
            return attribute(*args, **kwargs)

        return transaction


class _StoppableClock:
    """The device loop's clock: real time, with a sleep that ends the loop when the
    session closes (``KeyboardInterrupt``, the way Ctrl+C and SIGTERM end it)."""

    def __init__(self, stop: threading.Event) -> None:
        self._stop = stop

    def now(self) -> float:
        return time.monotonic()

    def sleep(self, seconds: float) -> None:
        if self._stop.wait(max(0.0, seconds)):
            raise KeyboardInterrupt


class _DeviceLog(logging.Handler):
    """The device program's log lines (its ``device`` loggers, from its thread and its MQTT
    client's network thread; the session runs one device program)."""

    def __init__(self, clock: Callable[[], str]) -> None:
        super().__init__(logging.INFO)
        self.clock = clock
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.name == "device" or record.name.startswith("device."):
            self.lines.append(f"[{self.clock()}][{record.levelname}]-{record.filename}:"
                              f"{record.lineno},{record.getMessage()}")


class BrokerSession(SimulationBacked):
    """One scenario (or test) on the broker rig. See the module docstring.

    The simulated core runs in V2 mode (the rig is a V2 core; ``mode="v1"`` is refused: run
    a V1 core on the ``sim`` rig). ``simulation_options`` go to
    :meth:`Simulation.from_group <harness.simulation.Simulation.from_group>`."""

    _count = 0  # bridge sessions so far: each session's bridge has its own MQTT session

    def __init__(self, rig: BrokerRig, *, scenario: Scenario | None = None,
                 folder: Path | None = None, seed: int = 0, cpu_temperature: float = 45.0,
                 **simulation_options: Any) -> None:
        self.rig = rig
        self.scale = rig.time_scale
        if scenario is not None and scenario.duration < 86_400:
            self.scale = max(self.scale, scenario.duration / rig.max_wall)
        self.ambiguous = 0
        self.device_counters = Counters()
        self._inbound: queue.Queue[_Inbound] = queue.Queue(maxsize=rig.backlog)
        self._counted = threading.Condition()  # guards the counts the bridge thread keeps
        self._received = self._delivered = self._backlog_peak = 0
        self._dropped: dict[str, int] = {}
        self._logged_backlog_drops = 0
        self._sys_dropped = self._sys_dropped_before = self._sys_updates = 0
        self._fences: set[str] = set()
        self._fence_client: Any = None
        self._bridge_reading = threading.Event()  # cleared while the bridge is stalled
        self._bridge_reading.set()
        self._closed_counts: MessageCounts | None = None
        self._stop = threading.Event()
        self._clients: dict[str, Any] = {}
        self._shadow_clients: list[ShadowClient] = []
        self._device_thread: threading.Thread | None = None
        self._device_log: _DeviceLog | None = None
        self._device_thing: str | None = None
        if scenario is not None:
            seed, cpu_temperature = scenario.seed, scenario.cpu_temperature
            simulation_options.setdefault("cloud", scenario.cloud)
        if simulation_options.setdefault("mode", "v2") != "v2":
            raise ValueError("the broker rig is a Greengrass V2 core: its broker authorizes "
                             "devices with client device auth and bridges with the V2 bridge; "
                             f"mode={simulation_options['mode']!r} runs on the sim rig only")
        simulation_options.setdefault("code_dir", rig.code_dir)
        rig._fresh_broker()
        self._log_start = rig.mosquitto.log_path.stat().st_size  # this session's log lines
        self._tmp = tempfile.TemporaryDirectory(prefix="gg-broker-session-")
        self.sim = Simulation.from_group(
            rig.group_path, seed=seed, cpu_temperature=cpu_temperature, epoch=time.time(),
            shadow_path=Path(self._tmp.name) / "shadow.db",
            # the broker, the device program and the MQTT clients run on wall time beside
            # the core: they must not inherit a one-CPU pin
            **{"one_cpu": False, **simulation_options})
        self._start = time.monotonic()
        try:
            assert self.sim.core.fabric is not None  # V2 mode
            self.fabric = self.sim.core.fabric
            self._publishers: dict[str, tuple[str, ...]] = {}
            self._write_rules()
            self.sim.core.on_device_message = self._to_device
            self._bridge = self._connect_bridge()
            if scenario is not None and scenario.device is not None:
                assert folder is not None and scenario.environment is not None
                self._start_device(scenario, folder)
        except BaseException:
            self.close()
            raise

    # -- time ----------------------------------------------------------------------------

    def _wall_elapsed(self) -> float:
        """Scenario seconds the wall clock has gone through since the session started."""
        return (time.monotonic() - self._start) * self.scale

    @property
    def now(self) -> float:
        return self.sim.now

    def _core_time(self) -> float:
        """The clock the device program stamps its readings with: the core's (its epoch
        plus the scenario seconds the wall clock has gone through), so a reading's
        ``timestamp`` and a Lambda's ``time.time()`` agree, as on a Pi where both read
        one clock, however compressed the session's time."""
        return self.sim.clock.epoch + self._wall_elapsed()

    def advance_to(self, elapsed: float) -> None:
        """Run the core, paced by the wall clock, until ``elapsed`` scenario seconds,
        routing what arrives from the broker as it arrives."""
        self.wait_until(lambda: False, until=elapsed)

    def wait_until(self, condition: Callable[[], bool], *, until: float | None = None,
                   timeout: float | None = None) -> bool:
        """Run the core until ``condition()`` holds (checked after every message and timer)
        or until ``until`` scenario seconds / ``timeout`` more seconds; whether it held."""
        end = until if until is not None else self.sim.now + (timeout or 0.0)
        scheduler = self.sim.scheduler
        while True:
            self._drain()
            target = min(end, self._wall_elapsed())
            if target > self.sim.now:
                self.sim.run(target - self.sim.now)
            if condition():
                return True
            if self.sim.now >= end:
                return False
            wake = min(end, scheduler.next_time() or end)
            wait = max(0.0, (wake - self._wall_elapsed()) / self.scale)
            try:
                message = self._inbound.get(timeout=wait)
            except queue.Empty:
                continue
            self._route(message)

    # -- client device auth ------------------------------------------------------------------

    def _write_rules(self) -> None:
        """The broker decides as this session's simulated core: its CDA model's rules."""
        self.rules = self.rig.rules_for(self.fabric.auth)
        self.rig.mosquitto.set_rules(self.rules.text())
        self._publishers.clear()

    def configure_client_device_auth(self, config: dict[str, Any]) -> None:
        """A new client device auth configuration, as a deployment changes it on the core:
        the simulated core's CDA and the broker both apply it to the next request, without
        a reconnect (CDA re-reads its policies on every request). Raises
        :class:`~fakes.client_devices.ClientDeviceAuthConfigError` for one CDA refuses
        (then nothing changes)."""
        self.fabric.auth.reconfigure(config)
        self._write_rules()

    def _publishers_of(self, topic: str) -> tuple[str, ...]:
        """The device things client device auth lets publish ``topic``, in the group's
        order (asked of the CDA model; remembered per topic)."""
        found = self._publishers.get(topic)
        if found is None:
            found = tuple(thing for thing in self.rig.pki.things
                          if self.fabric.auth.can_publish(thing, topic))
            if len(self._publishers) < 10_000:
                self._publishers[topic] = found
        return found

    # -- the bridge ----------------------------------------------------------------------

    def _connect_bridge(self) -> Any:
        """The deployment's MQTT bridge, its ``LocalMqtt`` side: subscribed to the topics of
        the mappings whose source is the local broker."""
        group = self.rig.group
        topics = self.fabric.bridge.subscriptions(LOCAL_MQTT)
        BrokerSession._count += 1
        client_id = f"{group.core.thing}-bridge-{BrokerSession._count}"
        self._fence_topic = f"harness/fence/{client_id}"

        def on_message(client: Any, userdata: Any, message: Any) -> None:
            self._on_bridge_message(message.topic, bytes(message.payload))

        return connect_client(self.rig.identity(group.core.thing),
                              subscribe=[*topics, DROPPED_TOPIC, self._fence_topic],
                              on_message=on_message, no_local=True, session_expiry=600,
                              client_id=client_id)

    def _on_bridge_message(self, topic: str, payload: bytes) -> None:
        """In the bridge's network thread: a device's message goes into the backlog (or is
        counted as dropped when the backlog is full: the bridge never blocks, so it keeps
        reading the broker); the broker's drop count and fences are noted."""
        self._bridge_reading.wait()
        with self._counted:
            if topic == DROPPED_TOPIC:
                value = int(payload or b"0")
                if value < self._sys_dropped:  # the broker restarted: its count did too
                    self._sys_dropped_before += self._sys_dropped
                self._sys_dropped = value
                self._sys_updates += 1
            elif topic == self._fence_topic:
                self._fences.add(payload.decode())
            else:
                self._received += 1
                try:
                    self._inbound.put_nowait(_Inbound(topic, payload))
                except queue.Full:
                    self._count_drop("core backlog")
                else:
                    self._backlog_peak = max(self._backlog_peak, self._inbound.qsize())
            self._counted.notify_all()

    def _count_drop(self, where: str, count: int = 1) -> None:
        self._dropped[where] = self._dropped.get(where, 0) + count

    def _drain(self) -> None:
        self._log_backlog_drops()
        while True:
            try:
                message = self._inbound.get_nowait()
            except queue.Empty:
                return
            self._route(message)

    def _log_backlog_drops(self) -> None:
        """Say in the core's log (from the core's thread) what the full backlog dropped."""
        with self._counted:
            dropped = self._dropped.get("core backlog", 0)
            new, self._logged_backlog_drops = dropped - self._logged_backlog_drops, dropped
        if new:
            self.sim.core.logs.core("WARN", f"bridge backlog full ({self.rig.backlog} "
                                            f"messages): {new} message(s) from the broker "
                                            "dropped")

    def _route(self, message: _Inbound) -> None:
        sources = self._publishers_of(message.topic)
        if not sources:  # one of the core's own clients published it
            logger.warning("no device may publish on %s; message ignored", message.topic)
            with self._counted:
                self._count_drop("no source")
            return
        if len(sources) > 1:
            self.ambiguous += 1
        try:
            self.sim.core.route(f"device:{sources[0]}", message.topic, message.payload)
        except CoreUnavailable:  # the core is restarting: lost, as on a Pi, and counted
            with self._counted:
                self._count_drop("core restarting")
        else:
            with self._counted:
                self._delivered += 1

    # -- what was lost where ------------------------------------------------------------

    @contextlib.contextmanager
    def stall_bridge(self) -> Iterator[None]:
        """While in the block, the core's bridge stops taking messages from the broker (its
        network thread waits, as a core stuck in a long pause would): the broker's queue
        for it fills up to :class:`BrokerLimits` and then drops. For load tests."""
        self._bridge_reading.clear()
        try:
            yield
        finally:
            self._bridge_reading.set()

    def settle(self, timeout: float = 5.0) -> bool:
        """Wait (wall ``timeout`` seconds at most) until the bridge has received everything
        the broker accepted before this call, or the broker counted it as dropped: a fence
        message, published by another core client after them, comes back through the
        broker's queue for the bridge (again if the full queue dropped it). Runs no core.
        Whether the fence came back."""
        deadline = time.monotonic() + timeout
        if self._fence_client is None:
            self._fence_client = connect_client(
                self.rig.identity(self.rig.group.core.thing),
                client_id=f"{self.rig.group.core.thing}-fence-{BrokerSession._count}")
        attempt = 0
        while time.monotonic() < deadline:
            attempt += 1
            token = f"{id(self)}-{attempt}"
            self._fence_client.publish(self._fence_topic, token.encode(), qos=1)
            with self._counted:
                if self._counted.wait_for(lambda token=token: token in self._fences,
                                          min(1.0, max(0.0, deadline - time.monotonic()))):
                    return True
        return False

    def message_counts(self) -> MessageCounts:
        """Where what devices published went so far (after :meth:`close`, the final
        count, close included). See :class:`MessageCounts`."""
        if self._closed_counts is not None:
            return self._closed_counts
        too_large, dropping, denied = self._broker_log()
        with self._counted:
            dropped = dict(self._dropped)
            broker_queue = self._sys_dropped_before + self._sys_dropped
            counts = MessageCounts(received=self._received, delivered=self._delivered,
                                   backlog=self._inbound.qsize(),
                                   backlog_peak=self._backlog_peak,
                                   backlog_limit=self.rig.backlog,
                                   broker_dropping_for=dropping)
        if broker_queue:
            dropped["broker queue"] = broker_queue
        if too_large:
            dropped["broker too large"] = too_large
        if denied:
            dropped["client device auth"] = denied
        counts.dropped = dict(sorted(dropped.items()))
        return counts

    def _broker_log(self) -> tuple[int, tuple[str, ...], int]:
        """From this session's broker log: messages dropped as too large, the clients the
        broker said it dropped messages for, and publishes client device auth denied."""
        try:
            with self.rig.mosquitto.log_path.open("rb") as log:
                log.seek(self._log_start)
                text = log.read().decode("utf-8", "replace")
        except FileNotFoundError:
            return 0, (), 0
        dropping = tuple(dict.fromkeys(_QUEUE_FULL.findall(text)))
        return len(_TOO_LARGE.findall(text)), dropping, len(_DENIED.findall(text))

    def _to_device(self, target: str, topic: str, payload: bytes) -> None:
        """The core's bridge relays a message to the local broker (once, whoever subscribes
        there): publish it on Mosquitto as the bridge's local client does, QoS 1, retain
        cleared. While the bridge is disconnected the message is lost and logged, as the
        real bridge's publish fails then."""
        if self._bridge.is_connected():
            self._bridge.publish(topic, payload, qos=1, retain=False)
        else:
            self.sim.core.logs.core("WARN", f"bridge: not connected to the local broker; "
                                            f"{topic} not relayed to it")

    # -- the device program ------------------------------------------------------------

    def _start_device(self, scenario: Scenario, folder: Path) -> None:
        from device.__main__ import main as device_main
        from device.sensor import open_sensor

        assert scenario.device is not None and scenario.environment is not None
        thing = scenario.device.thing
        self._device_thing = thing
        chip = chip_for(scenario, clock=self._wall_elapsed)
        bus = _ChipBus(chip, environment_source(scenario.environment,
                                                cpu_temperature=scenario.cpu_temperature,
                                                folder=folder), self._wall_elapsed)
        cert, key = self.rig.pki.client(thing)
        assert self.rig.discovery is not None
        ca_dir = Path(self._tmp.name) / "device"
        argv = ["--endpoint", "localhost", "--discovery-port", str(self.rig.discovery.port),
                "--thing", thing, "--cert", str(cert), "--key", str(key),
                "--root-ca", str(self.rig.pki.root_ca), "--ca-dir", str(ca_dir),
                "--period", repr(scenario.device.period / self.scale),
                "--count", str(math.ceil(scenario.duration / scenario.device.period) + 1)]

        def run() -> None:
            device_main(argv, lambda: open_sensor(bus=bus), environ={},
                        clock=_StoppableClock(self._stop), counters=self.device_counters,
                        wall_time=self._core_time)

        thread = threading.Thread(target=run, name=f"device:{thing}", daemon=True)
        self._device_log = _DeviceLog(lambda: f"{self._wall_elapsed():.3f}")
        logging.getLogger("device").addHandler(self._device_log)
        self._device_thread = thread
        thread.start()

    # -- for tests that talk MQTT themselves (the hardware suite) -------------------------

    @property
    def timing_factor(self) -> float:
        return self.rig.timing_factor

    def identity(self, thing: str) -> MqttIdentity:
        """How the harness's clients connect as ``thing`` (:meth:`BrokerRig.identity`)."""
        return self.rig.identity(thing)

    def shadow_client(self, thing: str, as_thing: str | None = None) -> ShadowClient:
        """``thing``'s Shadow over the MQTT Shadow topics, connected as ``as_thing`` (the
        thing itself by default); while it waits for a reply the core runs. Client device
        auth compares subscribe filters as written, so it subscribes with
        ``$aws/things/<thing>/shadow/#`` when CDA allows ``as_thing`` that filter (as the
        group's subscriptions give it), else to each reply topic."""
        as_thing = as_thing or thing
        broad = f"$aws/things/{thing}/shadow/#"
        filters = [broad] if self.fabric.auth.can_subscribe(as_thing, broad) else None
        client = ShadowClient(self.identity(as_thing), thing, subscribe=filters,
                              pump=lambda wall: self.wait_until(lambda: False,
                                                                timeout=wall * self.scale))
        self._shadow_clients.append(client)
        return client

    def routed(self, topic: str) -> list[RoutedMessage]:
        """What the core's router received on ``topic``."""
        return self.sim.messages(topic)

    # -- stimuli and faults --------------------------------------------------------------

    def client(self, thing: str) -> Any:
        """A connected MQTT client (v5) with ``thing``'s helper certificate (made once per
        session): client device auth holds it to ``thing``'s policy."""
        if thing not in self._clients:
            self._clients[thing] = connect_client(self.rig.identity(thing),
                                                  client_id=f"{thing}-harness")
        return self._clients[thing]

    def publish(self, source: str, topic: str, payload: bytes) -> None:
        """Publish over the broker as a device (``device:<thing>`` or a thing name); other
        sources (``cloud``) go straight into the core."""
        thing = source.split(":", 1)[1] if source.startswith("device:") else source
        if thing in {device.thing for device in self.rig.group.devices}:
            self.client(thing).publish(topic, payload, qos=1).wait_for_publish(5.0)
        else:
            self.sim.publish(source, topic, payload)

    def restart_core(self, downtime: float) -> None:
        """The core and its broker stop; both start again ``downtime`` s later."""
        self.sim.restart_core(downtime)
        self.rig.mosquitto.restart(downtime / self.scale)

    def disconnect_broker(self, duration: float) -> None:
        """Every MQTT client loses the broker for ``duration`` s (Mosquitto restarts)."""
        self.sim.core.logs.core("WARN", f"MQTT broker down for {duration:g} s")
        self.rig.mosquitto.restart(duration / self.scale)

    # -- what expectations read ----------------------------------------------------------

    def logs(self, name: str) -> list[str]:
        if name.startswith("device:"):
            if self._device_log is None or name != f"device:{self._device_thing}":
                return []
            return list(self._device_log.lines)
        return self.sim.logs(name)

    def _drain_at_close(self) -> None:
        """Closing drains, bounded (the rig's ``drain`` wall seconds): what the broker
        accepted reaches the bridge (:meth:`settle`), and the core runs until its backlog
        and the Lambdas' queues are empty. What is left in the backlog is counted as
        dropped at ``"close"``; what is left in a Lambda's queue, in its
        ``stats().dropped_at_stop`` when the core stops."""
        deadline = time.monotonic() + self.rig.drain
        if getattr(self, "_bridge", None) is None or not hasattr(self, "sim"):
            return
        if self._bridge.is_connected():
            self.settle(timeout=self.rig.drain)
            functions = self.sim.core.functions.values()
            self.wait_until(lambda: self._inbound.empty()
                            and not any(function.queue for function in functions),
                            timeout=max(0.0, deadline - time.monotonic()) * self.scale)
        left = 0
        while True:
            try:
                self._inbound.get_nowait()
            except queue.Empty:
                break
            left += 1
        with self._counted:
            if left:
                self._count_drop("close", left)
            # the broker's drop count is published once a second: if it dropped anything
            # in this session, wait for its next update so the count is the final one
            if self._broker_log()[1]:
                updates = self._sys_updates
                self._counted.wait_for(lambda: self._sys_updates > updates,
                                       self.rig.limits.sys_interval + 1.0)

    def close(self) -> None:
        self._stop.set()
        self._bridge_reading.set()
        if self._device_thread is not None:
            self._device_thread.join(10)
        if self._device_log is not None:
            logging.getLogger("device").removeHandler(self._device_log)
        try:
            self._drain_at_close()
        finally:
            counts = self.message_counts()
            for shadow_client in self._shadow_clients:
                shadow_client.close()
            for client in [*self._clients.values(), getattr(self, "_bridge", None),
                           self._fence_client]:
                if client is not None:
                    close_client(client)
            try:
                self.sim.close()
            finally:
                self._closed_counts = counts
                self._tmp.cleanup()
