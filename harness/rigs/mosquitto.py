"""A Mosquitto broker in the Greengrass core's place, for one broker-rig run.

The broker listens on 127.0.0.1 only, over TLS: its server certificate is signed by the group
CA (devices trust it through the CA that discovery hands them), every client must present a
certificate signed by the root CA, and the certificate's CN is the client's identity (the
user name the ACL matches). The client id is tied to the certificate, as a Greengrass V2 core
ties it to the thing name (``greengrass-v2-topology.md`` §1.3.1), by a small auth plugin
(:mod:`harness.rigs.client_id_plugin`): a thing's certificate connects only with its thing
name as client id, so no certificate can take the core bridge's or another device's client id
and knock that connection off; the harness's helper certificates use ``<thing>-...`` ids.
What each identity may do comes from the group's
subscriptions (:func:`acl_from_group`): a device may publish on the subjects of the
subscriptions it is the source of, and receive on those it is the target of; the core may do
anything.

What Mosquitto 2.0.11 does, observed with paho-mqtt 2.2 over TLS (and pinned by
``tests/rigs/test_mosquitto.py``):

(a) A device publishing with QoS 1 on a topic its ACL lets it write: the broker answers
    PUBACK "Success" and delivers the message to a core subscriber of that topic.
(b) A device publishing with QoS 1 where its ACL does not allow: the broker logs
    ``Denied PUBLISH from <client id>`` and delivers nothing. Over MQTT v5 the PUBACK carries
    reason code 135 "Not authorized", which paho hands to ``on_publish``; over MQTT 3.1.1 the
    PUBACK has no reason code, so the client sees a plain success: the message is dropped
    silently.
(c) A client without a certificate: the TLS 1.3 handshake completes on the client's side, then
    the broker sends the ``certificate required`` alert and logs ``peer did not return a
    certificate``. paho's ``connect()`` does not raise; the connection is lost before any
    CONNACK (``on_disconnect`` with "Unspecified error", ``on_connect`` never called).
(d) A certificate signed by another CA: the same, the broker logging ``certificate verify
    failed``.
(e) A certificate connecting with a client id it may not use: CONNACK "not authorized" (5 over
    MQTT 3.1.1, 135 over MQTT 5), the plugin's log line naming the id and the thing, and the
    connection that holds that id stays. Greengrass V2 answers CONNACK 4 (bad user name or
    password) instead: Mosquitto 2.0 sends 5/135 for every plugin refusal, so a device that
    checks for the exact code 4 sees a difference here. An empty client id gets CONNACK 2
    (identifier rejected) over MQTT 3.1.1, as on V2 (``allow_zero_length_clientid false``);
    over MQTT 5 Mosquitto answers 128 (unspecified error).

Persistence is on so that a restart (:meth:`Mosquitto.restart`, a core restart) keeps the
persistent sessions, their queued messages and retained messages. A V2 core's Moquette keeps
them in memory only and loses them when it restarts; the rig keeps them because the harness
core's bridge relies on its persistent session across a core restart. :meth:`Mosquitto.start`
and :meth:`Mosquitto.reset` discard that state, so a new run (and each broker-rig session)
never receives retained readings from an earlier one.

Also seen: a SUBSCRIBE is always granted (``#`` too, and topics the client may not read); the
ACL is applied to each message as it is delivered, so a device only receives what it may read.
In ACL entries, as in subscriptions, ``#`` does not match topics starting with ``$``: the core
needs ``topic readwrite $aws/#`` for the ``$aws/things/...`` shadow topics, and a subscriber
needs ``$aws/#`` besides ``#`` to see them. Over MQTT v5 a client whose subscriptions overlap
receives a message once per matching subscription. :meth:`Mosquitto.start` waits for the port
by connecting with plain TCP, which the broker logs as one failed connection
(``unexpected eof while reading``).
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

from harness.group import Group, topic_matches
from harness.rigs.client_id_plugin import HELPER_UNIT, build_plugin
from harness.rigs.pki import RunPki

__all__ = ["DROPPED_TOPIC", "NOT_INSTALLED", "BrokerLimits", "Mosquitto", "acl_from_group",
           "allowed_sources", "find_mosquitto"]

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


# ---------------------------------------------------------------- the ACL


def _device_rules(group: Group) -> dict[str, dict[str, set[str]]]:
    """For each device thing, in the group's order: subject -> {"read", "write"}."""
    rules: dict[str, dict[str, set[str]]] = {device.thing: {} for device in group.devices}
    for subscription in group.subscriptions:
        for kind, name, access in (
            (subscription.source_kind, subscription.source_name, "write"),
            (subscription.target_kind, subscription.target_name, "read"),
        ):
            if kind == "device" and name is not None:
                rules[name].setdefault(subscription.subject, set()).add(access)
    return rules


def _acl_topic(subject: str) -> str:
    if subject != subject.strip() or "\n" in subject or "\r" in subject:
        raise ValueError(
            f"subject {subject!r} cannot be written to a Mosquitto ACL file"
            " (leading or trailing blanks, or a line break)"
        )
    return subject


def acl_from_group(group: Group, core_thing: str) -> str:
    """The Mosquitto ACL file for ``group``: identities are client certificate CNs.

    Each device thing X gets ``user X`` with ``topic write <subject>`` for every subscription
    whose source is ``device:X`` and ``topic read <subject>`` for every one whose target is
    ``device:X`` (``readwrite`` when both); a device without subscriptions gets a ``user``
    block with no topics, so it can connect and do nothing. ``core_thing`` may read and write
    everything, ``$aws/...`` included.
    """
    rules = _device_rules(group)
    if core_thing in rules:
        raise ValueError(f"{core_thing!r} is a device of group {group.name}, not its core")
    lines = [
        f"# Mosquitto ACL for Greengrass group {group.name}, derived from its subscriptions",
        "# by harness.rigs.mosquitto. Users are client certificate CNs (thing names).",
        "",
        f"# the core ({core_thing}): everything; '#' does not match topics starting with '$'",
        f"user {core_thing}",
        "topic readwrite #",
        "topic readwrite $aws/#",
        # the broker's count of messages dropped from full client queues (BrokerLimits)
        f"topic read {DROPPED_TOPIC}",
    ]
    for thing, subjects in rules.items():
        lines.append("")
        if not subjects:
            lines.append(f"# device {thing}: no subscriptions (may connect, nothing else)")
        else:
            lines.append(f"# device {thing}")
        lines.append(f"user {thing}")
        for subject, access in subjects.items():
            mode = "readwrite" if len(access) == 2 else next(iter(access))
            lines.append(f"topic {mode} {_acl_topic(subject)}")
    return "\n".join(lines) + "\n"


def allowed_sources(group: Group, topic: str) -> tuple[str, ...]:
    """The ``device:<thing>`` endpoints that :func:`acl_from_group` lets publish on ``topic``
    (a topic name, matched against the subscription subjects with MQTT wildcards), in the
    group's device order. The core, which may publish anywhere, is not listed."""
    return tuple(
        f"device:{thing}"
        for thing, subjects in _device_rules(group).items()
        if any("write" in access and topic_matches(subject, topic)
               for subject, access in subjects.items())
    )


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

    ``directory`` receives ``mosquitto.conf``, ``acl`` (``acl_text``), the broker's log
    ``mosquitto.log`` and ``mosquitto.out`` (what it prints before its log is open). With
    ``port=0`` a free port is chosen at the first start and kept across :meth:`restart`.
    """

    def __init__(
        self,
        directory: Path,
        pki: RunPki,
        acl_text: str,
        *,
        port: int = 0,
        executable: str | None = None,
        start_timeout: float = 10.0,
        limits: BrokerLimits | None = None,
    ) -> None:
        self.directory = Path(directory)
        self.pki = pki
        self.acl_text = acl_text
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
    def acl_path(self) -> Path:
        return self.directory / "acl"

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
            # client ids tied to certificates; the CN becomes the user name the ACL matches
            f"plugin {self._plugin}",
            f"plugin_opt_things {' '.join((*self.pki.things, self.pki.core_thing))}",
            f"plugin_opt_helper_unit {HELPER_UNIT}",
            f"acl_file {self.acl_path}",
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
        """Write the configuration and ACL, start the broker and wait until it is up: its log
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
        self.acl_path.write_text(self.acl_text, encoding="utf-8")
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
