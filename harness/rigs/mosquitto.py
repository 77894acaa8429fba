"""A Mosquitto broker in the Greengrass V2 core's place, for one broker-rig run.

Mosquitto stands in for the core's Moquette broker, and a plugin
(:mod:`harness.rigs.client_id_plugin`) for client device auth (CDA,
``greengrass-v2-topology.md`` §1.2, §1.3). The broker listens on 127.0.0.1 only, over TLS: its
server certificate is signed by the group CA (the core's CDA certificate authority; devices
trust it through the CA that discovery hands them), every client must present a certificate
signed by the root CA, and the certificate's CN is the client's thing. The plugin ties the
client id to that thing (a thing's certificate connects only with its thing name as client
id, so no certificate can take the core bridge's or another device's client id and knock that
connection off; the harness's helper certificates use ``<thing>-...`` ids), and decides every
connect, publish and subscribe from the rules :mod:`harness.rigs.client_device_rules` writes
from the CDA model (``rules``; :meth:`Mosquitto.set_rules`): what the simulated core's client
device auth decides, the broker decides. The core's thing is allowed everything.

What Mosquitto 2.0.11 does, observed with paho-mqtt 2.2 and raw MQTT 3.1.1 packets over TLS
(and pinned by ``tests/rigs/test_mosquitto.py``), and how it differs from a V2 core:

(a) A device publishing with QoS 1 on a topic CDA lets it publish: PUBACK "Success", and the
    message goes to every subscriber of a matching filter (the core's bridge among them).
(b) A denied PUBLISH: nothing is delivered, the plugin logs Moquette's line for the QoS
    (``client-device-auth: MQTT client: <id> is not authorized to publish on topic: <t>`` at
    QoS 1) and Mosquitto ``Denied PUBLISH from <client id> (d0, q1, ...)``; the connection
    stays open. **Difference**: CDA sends no PUBACK (QoS 1) and no PUBREC (QoS 2); Mosquitto
    sends them, over MQTT 3.1.1 as a plain PUBACK / PUBREC (the client cannot tell the
    message was dropped, as on the core, but its QoS 1 flow completes where on the core it
    would wait and resend), over MQTT 5 with reason code 135 "Not authorized".
(c) A denied SUBSCRIBE filter: SUBACK 0x80 for it over MQTT 3.1.1, as CDA; over MQTT 5
    0x87 "Not authorized" (Moquette speaks only 3.1.1). The other filters of the packet are
    granted. Filters are compared as written: ``ok/+`` allowed does not allow ``ok/a``.
(d) A thing whose CDA policy denies ``mqtt:connect``, or a certificate connecting with a
    client id it may not use: CONNACK "not authorized" (5 over MQTT 3.1.1, 135 over MQTT
    5), then the connection is closed; the plugin logs why (``client-device-auth: Device
    isn't authorized to connect ...`` or ``client-id-plugin: client id '<id>' refused ...``)
    and the connection that holds that id stays. **Difference**: CDA answers CONNACK 4 (bad
    user name or password); Mosquitto 2.0 answers 5/135 to every plugin refusal, so a device
    that checks for the exact code 4 sees a difference here. An empty client id gets CONNACK
    2 (identifier rejected) over MQTT 3.1.1, as on V2 (``allow_zero_length_clientid
    false``); over MQTT 5 Mosquitto answers 128 (unspecified error).
(e) A client without a certificate: the TLS 1.3 handshake completes on the client's side, then
    the broker sends the ``certificate required`` alert and logs ``peer did not return a
    certificate``. paho's ``connect()`` does not raise; the connection is lost before any
    CONNACK (``on_disconnect`` with "Unspecified error", ``on_connect`` never called).
(f) A certificate signed by another CA: the same, the broker logging ``certificate verify
    failed``.

Other differences from the core, each deliberate or beyond Mosquitto:

- The connect decision is the thing's ``mqtt:connect`` only: the rig does not model the
  cloud's verification of the certificate and the attachment, nor the offline trust duration
  (§1.3.4); the root CA's signature stands for an active, attached certificate.
- Mosquitto speaks MQTT 5 and TLS 1.3 as well (Moquette: 3.1.1, TLS 1.2 only), and it closes
  the connection of a client that sends a topic with control characters (U+0001-U+001F,
  U+007F-U+009F) or non-characters, before any CDA check (CDA would deny the request as
  malformed).
- Deliveries are not checked (as CDA); Mosquitto's own rules still apply: ``#`` and ``+`` do
  not match topics starting with ``$`` (a subscriber needs ``$aws/#`` besides ``#``), and over
  MQTT v5 a client whose subscriptions overlap receives a message once per matching
  subscription. Moquette's matching differs in corner cases (:mod:`fakes.client_devices.topics`).
- Persistence is on so that a restart (:meth:`Mosquitto.restart`, a core restart) keeps the
  persistent sessions, their queued messages and retained messages. A V2 core's Moquette
  keeps them in memory only and loses them when it restarts; the rig keeps them because the
  harness core's bridge relies on its persistent session across a core restart.
  :meth:`Mosquitto.start` and :meth:`Mosquitto.reset` discard that state, so a new run (and
  each broker-rig session) never receives retained readings from an earlier one.

:meth:`Mosquitto.start` waits for the port by connecting with plain TCP, which the broker logs
as one failed connection (``unexpected eof while reading``).
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import IO, NoReturn

from harness.rigs.client_id_plugin import HELPER_UNIT, build_plugin
from harness.rigs.pki import RunPki

__all__ = ["DROPPED_TOPIC", "NOT_INSTALLED", "BrokerLimits", "Mosquitto", "find_mosquitto"]

NOT_INSTALLED = (
    "Mosquitto is not installed: apt-get install mosquitto (Debian/Ubuntu/Raspberry Pi OS)"
)
HOST = "127.0.0.1"
_FALLBACK = Path("/usr/sbin/mosquitto")  # Debian's package; /usr/sbin is not on every PATH
_TAIL = 20  # log lines quoted when the broker does not come up
_RUNNING = re.compile(rb"mosquitto version \S+ running\n")  # logged once the listeners are open
#: Mosquitto's count of messages it dropped because a client's queue was full (all clients,
#: since it started), published every ``sys_interval`` seconds when it changed, retained
DROPPED_TOPIC = "$SYS/broker/publish/messages/dropped"


@dataclass(frozen=True)
class BrokerLimits:
    """The broker's limits, written into ``mosquitto.conf`` (none is left to a default).

    - ``max_message_size``: 131072 bytes, the core's Moquette ``netty.mqtt.message_size``
      default (``greengrass-v2-topology.md`` §1.2). Moquette limits the whole MQTT packet,
      Mosquitto's ``message_size_limit`` the payload, so the rig lets through packets up to
      a topic's length larger. Mosquitto drops a larger PUBLISH and logs ``Dropped too large
      PUBLISH from <client id>``; the broker rig counts those lines (first attempts, ``d0``).
      Over MQTT 3.1.1 (the device program's paho default) the PUBACK is a plain success.
      Over MQTT v5 Mosquitto 2.0.11 answers PUBACK reason 149, which MQTT 5 does not allow
      in a PUBACK: paho 2.2 drops the connection, reconnects and sends the message again
      (``d1``), over and over. How Moquette answers is not in the spec [unverified]: its
      Netty decoder refuses the frame.
    - ``max_queued_messages`` and ``max_inflight_messages``: QoS 1 messages per client
      queued beyond / sent and not yet acknowledged. The spec gives no such limit for
      Moquette (its queues live in memory); these are Mosquitto's defaults, made explicit.
      Past the queue limit Mosquitto drops the message for that client, logs ``Outgoing
      messages are being dropped for client <id>`` once, and counts it in
      :data:`DROPPED_TOPIC`, which the broker rig reads.
    - ``sys_interval``: seconds between ``$SYS`` updates (so between updates of the count).
    """

    max_message_size: int = 131_072
    max_queued_messages: int = 1000
    max_inflight_messages: int = 20
    sys_interval: int = 1

    def config_lines(self) -> list[str]:
        return [
            f"message_size_limit {self.max_message_size}",
            f"max_queued_messages {self.max_queued_messages}",
            f"max_inflight_messages {self.max_inflight_messages}",
            f"sys_interval {self.sys_interval}",
        ]


def find_mosquitto() -> str:
    """The mosquitto executable: from ``PATH``, else ``/usr/sbin/mosquitto``."""
    found = shutil.which("mosquitto")
    if found:
        return found
    if os.access(_FALLBACK, os.X_OK):
        return str(_FALLBACK)
    raise FileNotFoundError(NOT_INSTALLED)


# ---------------------------------------------------------------- the broker


def _free_port(host: str) -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])


def _size(path: Path) -> int:
    return path.stat().st_size if path.exists() else 0


def _tail(path: Path, offset: int, count: int = _TAIL) -> list[str]:
    """The last ``count`` lines of ``path`` written after ``offset``."""
    try:
        with path.open("rb") as file:
            file.seek(offset)
            return file.read().decode("utf-8", "replace").splitlines()[-count:]
    except FileNotFoundError:
        return []


class Mosquitto:
    """A Mosquitto process serving one run; a context manager (start on enter, stop on exit).

    ``directory`` receives ``mosquitto.conf``, ``rules`` (the client device auth rules,
    :mod:`harness.rigs.client_device_rules`; :meth:`set_rules` changes them while it runs),
    the broker's log ``mosquitto.log`` and ``mosquitto.out`` (what it prints before its log
    is open). With ``port=0`` a free port is chosen at the first start and kept across
    :meth:`restart`.
    """

    def __init__(
        self,
        directory: Path,
        pki: RunPki,
        rules: str,
        *,
        port: int = 0,
        executable: str | None = None,
        start_timeout: float = 10.0,
        limits: BrokerLimits | None = None,
    ) -> None:
        self.directory = Path(directory)
        self.pki = pki
        self.rules = rules
        self.executable = executable or find_mosquitto()
        self.start_timeout = start_timeout
        self.limits = limits or BrokerLimits()
        self._port = port
        self._process: subprocess.Popen[bytes] | None = None
        self._output: IO[bytes] | None = None
        self._output_path = self.directory / "mosquitto.out"
        self._log_start = self._output_start = 0  # where this start's lines begin
        self._plugin: Path | None = None

    # -- where it is

    @property
    def host(self) -> str:
        return HOST

    @property
    def port(self) -> int:
        """The listening port (known once started; kept across restarts)."""
        if not self._port:
            raise RuntimeError("the broker has no port yet: start() it first")
        return self._port

    @property
    def log_path(self) -> Path:
        return self.directory / "mosquitto.log"

    @property
    def config_path(self) -> Path:
        return self.directory / "mosquitto.conf"

    @property
    def rules_path(self) -> Path:
        return self.directory / "rules"

    @property
    def persistence_path(self) -> Path:
        """Where the broker saves its sessions, queued and retained messages when it stops."""
        return self.directory / "mosquitto.db"

    @property
    def pid(self) -> int | None:
        """The broker's process id while it runs."""
        return self._process.pid if self.running and self._process is not None else None

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def log_lines(self) -> list[str]:
        """The broker's log so far (every start of this broker appends to it)."""
        if not self.log_path.exists():
            return []
        return self.log_path.read_text(encoding="utf-8", errors="replace").splitlines()

    # -- life cycle

    def _config(self) -> str:
        lines = [
            "# written by harness.rigs.mosquitto for one broker-rig run",
            "per_listener_settings false",
            # sessions and their queued messages survive a restart (the core's bridge keeps
            # a persistent session, so what devices publish while it reconnects is kept)
            "persistence true",
            f"persistence_location {self.directory}/",
            "autosave_interval 0",
            "allow_anonymous false",
            # an empty client id gets CONNACK 2 (identifier rejected), as on a V2 core
            "allow_zero_length_clientid false",
            # client ids tied to certificates (the CN becomes the user name), and every
            # connect, publish and subscribe decided from the client device auth rules; no
            # acl_file: Mosquitto's default ACL check would decide before the plugin
            f"plugin {self._plugin}",
            f"plugin_opt_things {' '.join((*self.pki.things, self.pki.core_thing))}",
            f"plugin_opt_helper_unit {HELPER_UNIT}",
            f"plugin_opt_rules {self.rules_path}",
            f"log_dest file {self.log_path}",
            "log_type all",
            "log_timestamp true",
            "log_timestamp_format %Y-%m-%dT%H:%M:%S",
            "connection_messages true",
            # Nagle off, as on the core: Moquette's netty.tcp_nodelay defaults to true and
            # MQTTService does not change it; Mosquitto's default (false) holds small
            # messages back until the previous segment is acknowledged
            "set_tcp_nodelay true",
            *self.limits.config_lines(),
        ]
        if os.geteuid() == 0:
            # Started as root, mosquitto would switch to user "mosquitto", who cannot read
            # this run's keys (mode 0o600) or write its log.
            lines.append("user root")
        lines += [
            "",
            f"listener {self._port} {HOST}",
            f"cafile {self.pki.root_ca}",
            f"certfile {self.pki.broker_cert}",
            f"keyfile {self.pki.broker_key}",
            "require_certificate true",
        ]
        return "\n".join(lines) + "\n"

    def start(self, *, keep_state: bool = False) -> None:
        """Write the configuration and rules, start the broker and wait until it is up: its log
        says ``running`` and its port accepts TCP connections. RuntimeError with the end of
        its log when it exits or is not up within ``start_timeout`` seconds.

        Unless ``keep_state``, what a broker saved in this directory before (sessions, queued
        and retained messages) is discarded first, so a start never replays an earlier run's
        retained readings; :meth:`restart` keeps it."""
        if self.running:
            raise RuntimeError(f"the broker is already running on {HOST}:{self._port}")
        if self._plugin is None:
            self._plugin = build_plugin()
        self.directory.mkdir(parents=True, exist_ok=True)
        if not keep_state:
            self.persistence_path.unlink(missing_ok=True)
        if not self._port:
            self._port = _free_port(HOST)
        self._write_rules()
        self.config_path.write_text(self._config(), encoding="utf-8")
        self._log_start = _size(self.log_path)
        self._output_start = _size(self._output_path)
        self._output = self._output_path.open("ab")
        self._process = subprocess.Popen(
            [self.executable, "-c", str(self.config_path)],
            stdin=subprocess.DEVNULL,
            stdout=self._output,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + self.start_timeout
        while not (self._logged_running(self._log_start) and self._accepts()):
            code = self._process.poll()
            if code is not None:
                self._fail(f"mosquitto exited with status {code} while starting")
            if time.monotonic() >= deadline:
                self._fail(
                    f"mosquitto did not come up on {HOST}:{self._port}"
                    f" within {self.start_timeout:g}s"
                )
            time.sleep(0.01)

    def _write_rules(self) -> None:
        """Replace the rules file whole (the plugin never reads half of one)."""
        partial = self.rules_path.with_name("rules.new")
        partial.write_text(self.rules, encoding="utf-8")
        os.replace(partial, self.rules_path)

    def set_rules(self, rules: str) -> None:
        """New client device auth rules: the running broker's plugin reads them at its next
        connect, publish or subscribe check (and every later start uses them)."""
        if rules == self.rules and self.rules_path.exists():
            return
        self.rules = rules
        self.directory.mkdir(parents=True, exist_ok=True)
        self._write_rules()

    def _logged_running(self, offset: int) -> bool:
        """Whether the log, from ``offset`` (where this start began), says the broker runs.
        (A port accepting connections alone could be someone else's listener.)"""
        try:
            with self.log_path.open("rb") as log:
                log.seek(offset)
                return _RUNNING.search(log.read()) is not None
        except FileNotFoundError:
            return False

    def _accepts(self) -> bool:
        try:
            with socket.create_connection((HOST, self.port), timeout=0.5):
                return True
        except OSError:
            return False

    def _fail(self, message: str) -> NoReturn:
        self.stop()
        output = _tail(self._output_path, self._output_start)
        log = _tail(self.log_path, self._log_start)
        details = "\n".join(
            [f"--- {self.log_path} (last lines of this start) ---", *(log or ["(empty)"])]
            + ([f"--- {self.executable} printed ---", *output] if output else [])
        )
        raise RuntimeError(f"{message}\n{details}")

    def stop(self) -> None:
        """Terminate the broker and wait for it (killed after 5 s). Harmless when stopped."""
        process, self._process = self._process, None
        if process is not None and process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        if self._output is not None:
            self._output.close()
            self._output = None

    def restart(self, downtime: float = 0.0) -> None:
        """Stop, stay down for ``downtime`` seconds, start again on the same port: to clients,
        the broker went away and came back, with the persistent sessions, their queued
        messages and the retained messages it had."""
        self.stop()
        if downtime > 0:
            time.sleep(downtime)
        self.start(keep_state=True)

    def reset(self) -> None:
        """Stop and start afresh on the same port: no session, queued or retained message of
        before survives (what a new test run needs)."""
        self.stop()
        self.start()

    def __enter__(self) -> Mosquitto:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()
