"""MQTT clients of the rigs: a thing's identity (certificate, key, the broker's CA) and a
paho-mqtt 2.x client connected with it, plus a Shadow client over the MQTT Shadow topics.

The same code talks to Mosquitto on the broker rig and to the Greengrass core's broker on
the Pi. Clients use MQTT v5 by default (so a refused publish comes back as a reason code), or
MQTT 3.1.1 (``protocol=MQTT3``: a Greengrass V2 core's Moquette broker speaks nothing else),
TLS with the thing's certificate, TCP_NODELAY on their sockets (as the broker rig's Mosquitto
has, like the core's Moquette), and wait for CONNACK and SUBACK before returning.

:class:`ThingConnection` is one connection per thing whose client id is the thing name, shared
by everything the harness does as that thing: a Greengrass V2 core admits a client device only
with its thing name as client id, and a second connection with the same id closes the first.
"""

from __future__ import annotations

import json
import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.subscribeoptions import SubscribeOptions

DEFAULT_TIMEOUT = 10.0
MQTT3 = mqtt.MQTTv311
"""MQTT 3.1.1: what a Greengrass V2 core's Moquette broker speaks (its only protocol)."""
MQTT5 = mqtt.MQTTv5


@dataclass(frozen=True)
class MqttIdentity:
    """Who connects (``thing``: the certificate's CN) and where."""

    thing: str
    cert: Path
    key: Path
    ca: Path  # the CA the broker's certificate is checked against (the group CA)
    host: str
    port: int = 8883


class MqttError(RuntimeError):
    """A connection, subscription or publish the broker did not accept."""


def set_tcp_nodelay(client: mqtt.Client, userdata: Any, sock: Any) -> None:
    """paho's ``on_socket_open``: Nagle's algorithm off on the client's socket (paho 2.2
    leaves it on), so a small message is sent at once rather than held back until the
    previous segment is acknowledged. Called on every (re)connection."""
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


def connect_client(identity: MqttIdentity, *, subscribe: Iterable[str] = (),
                   on_message: Callable[[Any, Any, Any], None] | None = None,
                   no_local: bool = False, client_id: str | None = None,
                   session_expiry: int = 0, timeout: float = DEFAULT_TIMEOUT,
                   protocol: int = MQTT5) -> mqtt.Client:
    """A connected client (network loop running), subscribed to ``subscribe`` with QoS 1
    (again after every reconnection). ``no_local``: do not receive what it publishes.
    ``session_expiry`` > 0 keeps the session (its subscriptions and the QoS 1 messages
    queued for it) that many seconds across disconnections; :func:`close_client` ends it.
    Both are MQTT v5 features: with ``protocol=MQTT3`` they must be left out."""
    v5 = protocol == MQTT5
    if not v5 and (no_local or session_expiry):
        raise ValueError("no_local and session_expiry need MQTT v5")
    if v5:
        client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2,
                             client_id=client_id or identity.thing, protocol=protocol)
    else:
        client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2,
                             client_id=client_id or identity.thing, protocol=protocol,
                             clean_session=True)
    client.tls_set(ca_certs=str(identity.ca), certfile=str(identity.cert),
                   keyfile=str(identity.key), tls_version=ssl.PROTOCOL_TLS_CLIENT)
    client.reconnect_delay_set(min_delay=1, max_delay=2)
    client.on_socket_open = set_tcp_nodelay
    topics = list(subscribe)
    connected = threading.Event()
    subscribed = threading.Event()
    outcome: dict[str, Any] = {}

    def on_connect(client: mqtt.Client, userdata: Any, flags: Any, reason: Any,
                   properties: Any) -> None:
        outcome["connect"] = reason
        connected.set()
        if not reason.is_failure and topics:
            client.subscribe(_subscription(topics, v5, no_local))

    def on_subscribe(client: mqtt.Client, userdata: Any, mid: int, reasons: Any,
                     properties: Any) -> None:
        outcome["subscribe"] = reasons
        subscribed.set()

    client.on_connect = on_connect
    client.on_subscribe = on_subscribe
    if on_message is not None:
        client.on_message = on_message
    try:
        if v5:
            properties = None
            if session_expiry:
                properties = Properties(PacketTypes.CONNECT)
                properties.SessionExpiryInterval = session_expiry
            client.connect(identity.host, identity.port, keepalive=30,
                           clean_start=not session_expiry, properties=properties)
        else:
            client.connect(identity.host, identity.port, keepalive=30)
    except (OSError, ssl.SSLError) as error:
        raise MqttError(f"{identity.thing} cannot connect to {identity.host}:{identity.port}: "
                        f"{error}") from error
    client.loop_start()
    if not connected.wait(timeout) or outcome["connect"].is_failure:
        _stop(client)
        why = outcome.get("connect", f"no CONNACK within {timeout:g}s")
        raise MqttError(f"{identity.host}:{identity.port} did not accept {identity.thing}: "
                        f"{why}")
    if topics:
        if not subscribed.wait(timeout):
            _stop(client)
            raise MqttError(f"no SUBACK for {identity.thing}'s subscriptions within {timeout}s")
        refused = [(topic, reason) for topic, reason in zip(topics, outcome["subscribe"],
                                                             strict=False) if reason.is_failure]
        if refused:
            _stop(client)
            raise MqttError(f"the broker refused {identity.thing}'s subscriptions: "
                            + ", ".join(f"{topic} ({reason})" for topic, reason in refused))
    return client


def _subscription(topics: Iterable[str], v5: bool, no_local: bool = False) -> list[Any]:
    """``topics`` at QoS 1, as paho's ``subscribe`` takes them for the protocol."""
    if v5:
        return [(topic, SubscribeOptions(qos=1, noLocal=no_local)) for topic in topics]
    return [(topic, 1) for topic in topics]


def filter_covers(broad: str, narrow: str) -> bool:
    """Whether every topic that topic filter ``narrow`` matches is matched by ``broad`` too
    (MQTT rules: ``+`` one level, ``#`` the rest; wildcards at the first level do not match
    topics starting with ``$``). A subscription to ``narrow`` next to one to ``broad`` would
    only bring duplicates."""
    wide, tight = broad.split("/"), narrow.split("/")
    for index, level in enumerate(wide):
        if level == "#":
            return not (index == 0 and tight[0].startswith("$"))
        if index >= len(tight):
            return False
        if level == "+":
            if tight[index] == "#" or (index == 0 and tight[0].startswith("$")):
                return False
            continue
        if level != tight[index]:
            return False
    return len(wide) == len(tight)


MessageHandler = Callable[[Any, Any, Any], None]
"""paho's ``on_message``: ``(client, userdata, message)``."""


class ThingConnection:
    """One connection as ``identity.thing`` with the thing name as client id, shared by every
    user of that thing: each adds a message handler (every message goes to every handler)
    and the topic filters it needs (a filter an earlier one covers is not subscribed again,
    so no message arrives twice). Subscriptions are made again after a reconnection."""

    def __init__(self, identity: MqttIdentity, *, subscribe: Iterable[str] = (),
                 handlers: Iterable[MessageHandler] = (), protocol: int = MQTT5,
                 timeout: float = DEFAULT_TIMEOUT) -> None:
        self.identity = identity
        self.protocol = protocol
        self._handlers = list(handlers)
        self._filters = list(subscribe)
        self._acks: dict[int, list[Any]] = {}
        self._acked = threading.Condition()
        self.client = connect_client(identity, subscribe=self._filters,
                                     on_message=self._dispatch, client_id=identity.thing,
                                     protocol=protocol, timeout=timeout)
        first_filters = list(self._filters)
        connected = self.client.on_connect

        def on_connect(client: mqtt.Client, userdata: Any, flags: Any, reason: Any,
                       properties: Any) -> None:
            connected(client, userdata, flags, reason, properties)  # the first filters
            later = [topic for topic in self._filters if topic not in first_filters]
            if not reason.is_failure and later:
                client.subscribe(_subscription(later, protocol == MQTT5))

        self.client.on_connect = on_connect
        self.client.on_subscribe = self._on_subscribe

    @property
    def thing(self) -> str:
        return self.identity.thing

    @property
    def filters(self) -> list[str]:
        """The topic filters subscribed, in order."""
        return list(self._filters)

    def _dispatch(self, client: Any, userdata: Any, message: Any) -> None:
        for handler in list(self._handlers):
            handler(client, userdata, message)

    def _on_subscribe(self, client: mqtt.Client, userdata: Any, mid: int, reasons: Any,
                      properties: Any) -> None:
        with self._acked:
            self._acks[mid] = list(reasons)
            self._acked.notify_all()

    def add_handler(self, handler: MessageHandler) -> None:
        self._handlers.append(handler)

    def remove_handler(self, handler: MessageHandler) -> None:
        if handler in self._handlers:
            self._handlers.remove(handler)

    def subscribe(self, topics: Iterable[str], timeout: float = DEFAULT_TIMEOUT) -> None:
        """Subscribe to the filters not covered yet; raises :class:`MqttError` when the broker
        refuses one or does not answer within ``timeout``."""
        new = [topic for topic in dict.fromkeys(topics)
               if not any(filter_covers(have, topic) for have in self._filters)]
        if not new:
            return
        # Not holding ``_acked`` across subscribe() (see publish_acknowledged): a SUBACK that
        # comes back first is kept in ``_acks`` under its mid.
        result, mid = self.client.subscribe(_subscription(new, self.protocol == MQTT5))
        if result != mqtt.MQTT_ERR_SUCCESS:
            raise MqttError(f"{self.thing} cannot subscribe to {', '.join(new)}: "
                            f"{mqtt.error_string(result)}")
        with self._acked:
            if not self._acked.wait_for(lambda: mid in self._acks, timeout):
                raise MqttError(f"no SUBACK for {self.thing}'s subscriptions within {timeout}s")
            reasons = self._acks.pop(mid)
        refused = [(topic, reason) for topic, reason in zip(new, reasons, strict=False)
                   if reason.is_failure]
        if refused:
            raise MqttError(f"the broker refused {self.thing}'s subscriptions: "
                            + ", ".join(f"{topic} ({reason})" for topic, reason in refused))
        self._filters.extend(new)

    def close(self) -> None:
        """Disconnect (a clean session: nothing is kept on the broker)."""
        self._handlers.clear()
        _stop(self.client)


def _stop(client: mqtt.Client) -> None:
    client.disconnect()
    client.loop_stop()


def close_client(client: mqtt.Client) -> None:
    """Disconnect, ending the session on the broker (session expiry 0), and stop the loop."""
    properties = Properties(PacketTypes.DISCONNECT)
    properties.SessionExpiryInterval = 0
    client.disconnect(properties=properties)
    client.loop_stop()


def publish_acknowledged(client: mqtt.Client, topic: str, payload: bytes,
                         timeout: float = DEFAULT_TIMEOUT) -> int:
    """Publish with QoS 1 and return the PUBACK's MQTT v5 reason code (0: accepted, 135:
    not authorized, 16: no matching subscribers)."""
    codes: dict[int, int] = {}
    arrived = threading.Condition()
    previous = client.on_publish

    def on_publish(client: mqtt.Client, userdata: Any, mid: int, reason: Any,
                   properties: Any) -> None:
        with arrived:
            codes[mid] = int(reason.value)
            arrived.notify_all()
        if previous is not None:
            previous(client, userdata, mid, reason, properties)

    client.on_publish = on_publish
    try:
        # Not holding ``arrived`` across publish(): paho calls on_publish from its network
        # thread holding its outgoing-message lock, which publish() takes too, so holding
        # both in the other order deadlocks when the PUBACK comes back before publish()
        # returns (routine with TCP_NODELAY on loopback). A PUBACK that comes first is
        # kept in ``codes`` under its mid, so none slips by unseen.
        info = client.publish(topic, payload, qos=1)
        with arrived:
            if not arrived.wait_for(lambda: info.mid in codes, timeout):
                raise MqttError(f"no PUBACK for {topic} within {timeout}s")
            return codes[info.mid]
    finally:
        client.on_publish = previous


@dataclass
class _Replies:
    messages: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    arrived: threading.Condition = field(default_factory=threading.Condition)


class ShadowClient:
    """A thing's local Shadow (classic, or the named shadow ``name``) over the MQTT Shadow
    topics: ``get``, ``update`` and ``delete`` publish the request and return the reply (the
    ``accepted`` or ``rejected`` document, with the topic it came on). ``wait`` is how long
    to wait in total; ``pump`` is called while waiting (on the broker rig it runs the core).

    It makes a connection of its own (client id ``<thing>-shadow-client``), or, given
    ``connection``, shares that thing's :class:`ThingConnection` (what a Greengrass V2 core
    requires: one connection per thing, the thing name as client id). It subscribes to the
    six reply topics, or to ``subscribe``: filters that cover them (a V2 core's client device
    auth compares filters as written, so a device must use the ones its policy names)."""

    def __init__(self, identity: MqttIdentity, thing: str, *,
                 pump: Callable[[float], None] | None = None,
                 connection: ThingConnection | None = None,
                 subscribe: Iterable[str] | None = None, name: str | None = None) -> None:
        self.thing = thing
        self.name = name  # a named shadow's; None for the classic Shadow
        self.prefix = f"$aws/things/{thing}/shadow" + (f"/name/{name}" if name else "")
        self._pump = pump
        self._replies = _Replies()
        self._tokens = 0
        self._connection = connection
        topics = [f"{self.prefix}/{action}/{outcome}" for action in ("get", "update", "delete")
                  for outcome in ("accepted", "rejected")]
        self._reply_topics = frozenset(topics)
        if subscribe is not None:
            topics = list(subscribe)
        if connection is not None:
            connection.add_handler(self._on_message)
            try:
                connection.subscribe(topics)
            except MqttError:
                connection.remove_handler(self._on_message)
                raise
            self.client = connection.client
        else:
            self.client = connect_client(identity, subscribe=topics,
                                         on_message=self._on_message,
                                         client_id=f"{identity.thing}-shadow-client")

    def _on_message(self, client: Any, userdata: Any, message: Any) -> None:
        if message.topic not in self._reply_topics:
            return  # on a shared connection: another thing's, or a request (its own echoed)
        try:
            body = json.loads(message.payload)
        except ValueError:
            body = {"unparsed": bytes(message.payload).decode("utf-8", "replace")}
        with self._replies.arrived:
            self._replies.messages.append((message.topic, body))
            self._replies.arrived.notify_all()

    def _request(self, action: str, body: dict[str, Any], wait: float) -> tuple[str, dict]:
        self._tokens += 1
        token = f"harness-{self._tokens}"
        body = {**body, "clientToken": token}
        self.client.publish(f"{self.prefix}/{action}", json.dumps(body).encode(), qos=1)
        deadline = time.monotonic() + wait
        while True:
            with self._replies.arrived:
                for topic, reply in self._replies.messages:
                    if reply.get("clientToken") == token:
                        return topic.rsplit("/", 1)[-1], reply
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise MqttError(f"no reply to the Shadow {action} of {self.thing} within "
                                    f"{wait}s")
                if self._pump is None:
                    self._replies.arrived.wait(min(remaining, 0.05))
            if self._pump is not None:
                self._pump(0.05)

    def accepted_updates(self) -> list[dict[str, Any]]:
        """Every ``update/accepted`` document received so far (ours and everyone else's:
        the core routes them to this thing), oldest first."""
        topic = f"{self.prefix}/update/accepted"
        with self._replies.arrived:
            return [body for seen, body in self._replies.messages if seen == topic]

    def get(self, wait: float = DEFAULT_TIMEOUT) -> tuple[str, dict[str, Any]]:
        return self._request("get", {}, wait)

    def update(self, state: dict[str, Any], wait: float = DEFAULT_TIMEOUT,
               version: int | None = None) -> tuple[str, dict[str, Any]]:
        body: dict[str, Any] = {"state": state}
        if version is not None:
            body["version"] = version
        return self._request("update", body, wait)

    def delete(self, wait: float = DEFAULT_TIMEOUT) -> tuple[str, dict[str, Any]]:
        return self._request("delete", {}, wait)

    def close(self) -> None:
        """Stop listening; its own connection is closed, a shared one stays open."""
        if self._connection is not None:
            self._connection.remove_handler(self._on_message)
        else:
            _stop(self.client)


__all__ = ["MQTT3", "MQTT5", "MqttError", "MqttIdentity", "ShadowClient", "ThingConnection",
           "close_client", "connect_client", "filter_covers", "publish_acknowledged",
           "set_tcp_nodelay"]
