"""Reaching the Greengrass core the Greengrass way: discovery, then MQTT over TLS.

1. Discovery: ``GET https://<endpoint>:8443/greengrass/discover/thing/<thingName>`` with mutual
   TLS (the device certificate and key; the server checked against the Amazon root CA). The
   reply lists the device's groups; each has its cores (thing ARN and connectivity entries:
   id, host address, port, metadata) and the group CA certificates.
2. The group CA goes into a file, and the device connects to the core's broker with MQTT over
   TLS (its own certificate and key, the core checked against the group CA), trying the
   connectivity entries in the order discovery gave them until one accepts.

:func:`parse_discovery` checks the reply and names the missing or wrong field.
:func:`connect_to_core` takes the connector as an argument (``(host, port, ca_path) ->
client``), so the fallback order is tested without a network; :func:`mqtt_connector` is the
real one (paho-mqtt 2.x). Only the standard library is used for discovery.
"""

from __future__ import annotations

import http.client
import json
import logging
import os
import re
import ssl
import tempfile
import threading
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Generic, TypeVar

logger = logging.getLogger(__name__)

DISCOVERY_PORT = 8443
DISCOVERY_PATH = "/greengrass/discover/thing/"
DEFAULT_TIMEOUT = 30.0

T = TypeVar("T")


class DiscoveryError(ValueError):
    """The discovery reply is not the documented shape; the message names the field."""


class DiscoveryRequestError(RuntimeError):
    """The discovery request failed (network, TLS or an HTTP error status)."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class CoreConnectionError(RuntimeError):
    """No connectivity entry of any core accepted the connection."""

    def __init__(self, message: str, attempts: list[tuple[Connectivity, Exception]]) -> None:
        super().__init__(message)
        self.attempts = attempts


class PublishError(RuntimeError):
    """The MQTT client did not accept a message."""


@dataclass(frozen=True)
class Connectivity:
    """One way to reach a core."""

    id: str
    host: str
    port: int
    metadata: str = ""


@dataclass(frozen=True)
class Core:
    thing_arn: str
    connectivity: tuple[Connectivity, ...]


@dataclass(frozen=True)
class Group:
    group_id: str
    cores: tuple[Core, ...]
    cas: tuple[str, ...]  # PEM certificates


@dataclass(frozen=True)
class DiscoveryInfo:
    groups: tuple[Group, ...]

    def candidates(self) -> list[tuple[Group, Core, Connectivity]]:
        """Every connectivity entry, in the reply's order (groups, then cores, then entries)."""
        return [
            (group, core, entry)
            for group in self.groups
            for core in group.cores
            for entry in core.connectivity
        ]


# --- parsing -----------------------------------------------------------------------------


def _field(obj: dict[str, Any], name: str, where: str) -> Any:
    if name not in obj:
        raise DiscoveryError(f"{where}.{name} is missing")
    return obj[name]


def _object(value: Any, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise DiscoveryError(f"{where} must be an object, got {type(value).__name__}")
    return value


def _list(obj: dict[str, Any], name: str, where: str) -> list[Any]:
    value = _field(obj, name, where)
    if not isinstance(value, list):
        raise DiscoveryError(f"{where}.{name} must be a list, got {type(value).__name__}")
    return value


def _text(obj: dict[str, Any], name: str, where: str) -> str:
    value = _field(obj, name, where)
    if not isinstance(value, str) or not value.strip():
        raise DiscoveryError(f"{where}.{name} must be a non-empty string, got {value!r}")
    return value


def _connectivity(raw: Any, where: str) -> Connectivity:
    obj = _object(raw, where)
    port = _field(obj, "PortNumber", where)
    if isinstance(port, bool) or not isinstance(port, int) or not 0 < port < 65536:
        raise DiscoveryError(f"{where}.PortNumber must be a port number 1..65535, got {port!r}")
    metadata = obj.get("Metadata", "")
    if metadata is None:
        metadata = ""
    if not isinstance(metadata, str):
        metadata = json.dumps(metadata)
    return Connectivity(
        id=_text(obj, "Id", where),
        host=_text(obj, "HostAddress", where).strip(),
        port=port,
        metadata=metadata,
    )


def _core(raw: Any, where: str) -> Core:
    obj = _object(raw, where)
    entries = _list(obj, "Connectivity", where)
    return Core(
        thing_arn=_text(obj, "thingArn", where),
        connectivity=tuple(
            _connectivity(entry, f"{where}.Connectivity[{i}]") for i, entry in enumerate(entries)
        ),
    )


def _group(raw: Any, where: str) -> Group:
    obj = _object(raw, where)
    cores = _list(obj, "Cores", where)
    cas = _list(obj, "CAs", where)
    if not cas:
        raise DiscoveryError(f"{where}.CAs is empty: no group CA to trust the core with")
    for i, ca in enumerate(cas):
        if not isinstance(ca, str) or "-----BEGIN CERTIFICATE-----" not in ca:
            raise DiscoveryError(f"{where}.CAs[{i}] is not a PEM certificate")
    return Group(
        group_id=_text(obj, "GGGroupId", where),
        cores=tuple(_core(core, f"{where}.Cores[{i}]") for i, core in enumerate(cores)),
        cas=tuple(cas),
    )


def parse_discovery(reply: str | bytes | dict[str, Any]) -> DiscoveryInfo:
    """Check a discovery reply (JSON text, bytes or the decoded object) and return its content.

    Raises :class:`DiscoveryError` naming the first missing or wrong field (for example
    ``reply.GGGroups[0].Cores[0].Connectivity[1].PortNumber is missing``), and when the reply
    holds no connectivity entry at all.
    """
    if isinstance(reply, (bytes, bytearray)):
        try:
            reply = bytes(reply).decode("utf-8")
        except UnicodeDecodeError as error:
            raise DiscoveryError(f"reply is not UTF-8: {error}") from None
    if isinstance(reply, str):
        try:
            reply = json.loads(reply)
        except ValueError as error:
            raise DiscoveryError(f"reply is not JSON: {error}") from None
    obj = _object(reply, "reply")
    groups = _list(obj, "GGGroups", "reply")
    if not groups:
        raise DiscoveryError(
            "reply.GGGroups is empty: the thing is in no Greengrass group (associate it with one)"
        )
    info = DiscoveryInfo(
        tuple(_group(group, f"reply.GGGroups[{i}]") for i, group in enumerate(groups))
    )
    if not info.candidates():
        raise DiscoveryError("the reply lists no core connectivity entry to connect to")
    return info


# --- the discovery request ---------------------------------------------------------------


def tls_context(cert: str, key: str, root_ca: str) -> ssl.SSLContext:
    """A client context for mutual TLS: our certificate and key, servers checked by ``root_ca``."""
    context = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=root_ca)
    context.load_cert_chain(certfile=cert, keyfile=key)
    return context


def discovery_path(thing_name: str) -> str:
    if not thing_name:
        raise ValueError("the thing name is empty")
    return DISCOVERY_PATH + urllib.parse.quote(thing_name, safe="")


_HINTS = {
    401: "the device certificate was not accepted",
    403: "the certificate's policy must allow greengrass:Discover for this thing",
    404: "the thing is unknown or not associated with a Greengrass group or core",
}


def request_discovery(
    endpoint: str,
    thing_name: str,
    context: ssl.SSLContext,
    port: int = DISCOVERY_PORT,
    timeout: float = DEFAULT_TIMEOUT,
    connection_factory: Callable[..., Any] = http.client.HTTPSConnection,
) -> bytes:
    """The raw body of a successful (200) discovery reply; :class:`DiscoveryRequestError` else."""
    where = f"https://{endpoint}:{port}{discovery_path(thing_name)}"
    connection = connection_factory(endpoint, port, context=context, timeout=timeout)
    try:
        connection.request(
            "GET", discovery_path(thing_name), headers={"Accept": "application/json"}
        )
        response = connection.getresponse()
        body = response.read()
    except (OSError, http.client.HTTPException) as error:  # ssl.SSLError is an OSError
        raise DiscoveryRequestError(f"discovery request to {where} failed: {error}") from error
    finally:
        connection.close()
    if response.status != 200:
        text = body[:300].decode("utf-8", "replace").strip()
        hint = _HINTS.get(response.status)
        raise DiscoveryRequestError(
            f"discovery at {where} answered HTTP {response.status} {response.reason}"
            + (f" ({hint})" if hint else "")
            + (f": {text}" if text else ""),
            status=response.status,
        )
    return body


def discover(
    endpoint: str,
    thing_name: str,
    cert: str,
    key: str,
    root_ca: str,
    port: int = DISCOVERY_PORT,
    timeout: float = DEFAULT_TIMEOUT,
) -> DiscoveryInfo:
    """Ask the Greengrass discovery service where the device's cores are."""
    try:
        context = tls_context(cert, key, root_ca)
    except (OSError, ssl.SSLError) as error:
        raise DiscoveryRequestError(
            f"cannot load the device certificate {cert}, key {key} or root CA {root_ca}: {error}"
        ) from error
    return parse_discovery(request_discovery(endpoint, thing_name, context, port, timeout))


# --- connecting --------------------------------------------------------------------------


def write_group_ca(group: Group, directory: str | Path) -> Path:
    """Write the group's CA certificates to ``<directory>/group-ca-<group id>.pem``; its path.

    The file is replaced atomically, so a reader never sees half a certificate.
    """
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    safe_id = re.sub(r"[^A-Za-z0-9_.-]", "_", group.group_id)
    path = directory / f"group-ca-{safe_id}.pem"
    content = "".join(ca.strip() + "\n" for ca in group.cas)
    handle, temporary = tempfile.mkstemp(dir=directory, prefix=".group-ca-", suffix=".tmp")
    try:
        with os.fdopen(handle, "w", encoding="ascii") as file:
            file.write(content)
        os.chmod(temporary, 0o644)  # a CA certificate is public
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return path


@dataclass(frozen=True)
class Connected(Generic[T]):
    """The connected client and where it is connected."""

    client: T
    group: Group
    core: Core
    connectivity: Connectivity
    ca_path: Path


def connect_to_core(
    info: DiscoveryInfo,
    connector: Callable[[str, int, str], T],
    ca_directory: str | Path,
    log: logging.Logger = logger,
) -> Connected[T]:
    """Try each connectivity entry in order with ``connector(host, port, ca_path)``.

    The first that returns is used; every failure is logged and, if none succeeds, listed in
    the :class:`CoreConnectionError`.
    """
    attempts: list[tuple[Connectivity, Exception]] = []
    ca_paths: dict[str, Path] = {}
    for group, core, entry in info.candidates():
        if group.group_id not in ca_paths:
            ca_paths[group.group_id] = write_group_ca(group, ca_directory)
        ca_path = ca_paths[group.group_id]
        log.info(
            "connecting to core %s at %s:%d (%s)", core.thing_arn, entry.host, entry.port, entry.id
        )
        try:
            client = connector(entry.host, entry.port, str(ca_path))
        except Exception as error:
            log.warning(
                "core %s at %s:%d (%s) failed: %s",
                core.thing_arn,
                entry.host,
                entry.port,
                entry.id,
                error,
            )
            attempts.append((entry, error))
            continue
        log.info("connected to core %s at %s:%d", core.thing_arn, entry.host, entry.port)
        return Connected(client, group, core, entry, ca_path)
    tried = "; ".join(f"{entry.host}:{entry.port} ({error})" for entry, error in attempts)
    raise CoreConnectionError(f"no core accepted the connection: {tried}", attempts)


class MqttPublisher:
    """A connected paho client behind ``publish(topic, payload)`` and ``close()``.

    Messages go with QoS 1. While the connection is down, paho keeps them (up to its queue
    limit) and sends them after it reconnects by itself; :meth:`publish` still raises
    :class:`PublishError` then, so the loop counts the message as not delivered on time.
    """

    def __init__(self, client: Any, qos: int = 1) -> None:
        self._client = client
        self.qos = qos

    def publish(self, topic: str, payload: bytes) -> None:
        info = self._client.publish(topic, payload, qos=self.qos)
        rc = int(info.rc)
        if rc != 0:  # MQTT_ERR_SUCCESS
            raise PublishError(f"MQTT publish to {topic} not sent: {_mqtt_error(rc)}")

    def close(self) -> None:
        self._client.disconnect()
        self._client.loop_stop()


def _mqtt_error(rc: int) -> str:
    import paho.mqtt.client as mqtt

    text = mqtt.error_string(rc)
    if rc == mqtt.MQTT_ERR_NO_CONN:
        text += " (kept for sending after the reconnection)"
    return text


def mqtt_connector(
    client_id: str,
    cert: str,
    key: str,
    keepalive: int = 60,
    timeout: float = DEFAULT_TIMEOUT,
    max_queued: int = 100,
    log: logging.Logger = logger,
    client_class: Any = None,
) -> Callable[[str, int, str], MqttPublisher]:
    """A connector for :func:`connect_to_core` with paho-mqtt 2.x (``CallbackAPIVersion.VERSION2``).

    It connects over TLS with the device certificate and key, trusting the group CA (the core's
    server certificate carries its connectivity addresses, so the host name is checked), waits
    up to ``timeout`` seconds for the broker's CONNACK and leaves paho's network thread running
    (it reconnects by itself). ``client_class`` replaces ``paho.mqtt.client.Client`` in tests.
    """

    def connect(host: str, port: int, ca_path: str) -> MqttPublisher:
        import paho.mqtt.client as mqtt

        make_client = client_class or mqtt.Client
        client = make_client(mqtt.CallbackAPIVersion.VERSION2, client_id=client_id)
        client.tls_set(
            ca_certs=ca_path, certfile=cert, keyfile=key, tls_version=ssl.PROTOCOL_TLS_CLIENT
        )
        client.max_queued_messages_set(max_queued)
        answered = threading.Event()
        outcome: dict[str, Any] = {}

        def on_connect(client: Any, userdata: Any, flags: Any, reason: Any, props: Any) -> None:
            if answered.is_set():
                log.info("reconnected to %s:%d (%s)", host, port, reason)
                return
            outcome["reason"] = reason
            answered.set()

        def on_disconnect(client: Any, userdata: Any, flags: Any, reason: Any, props: Any) -> None:
            log.warning("disconnected from %s:%d (%s)", host, port, reason)

        client.on_connect = on_connect
        client.on_disconnect = on_disconnect
        client.connect(host, port, keepalive)  # TCP and TLS; raises OSError / ssl.SSLError
        client.loop_start()
        if not answered.wait(timeout):
            _stop(client)
            raise TimeoutError(f"no CONNACK from {host}:{port} within {timeout:g}s")
        reason = outcome["reason"]
        if reason.is_failure:
            _stop(client)
            raise ConnectionRefusedError(f"{host}:{port} refused the connection: {reason}")
        return MqttPublisher(client)

    return connect


def _stop(client: Any) -> None:
    client.disconnect()
    client.loop_stop()
