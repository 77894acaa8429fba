"""MQTT to AWS IoT Core over IPC (``PublishToIoTCore``, ``SubscribeToIoTCore``).

Follows the nucleus's ``MqttProxyIPCAgent`` (aws-greengrass-nucleus a28341c):

* Order: ``topicName`` missing -> ``InvalidArgumentsError("Topic is required")``;
  authorization (service ``aws.greengrass.ipc.mqttproxy``, resource = the topic, with MQTT
  wildcards in policies) -> ``UnauthorizedError("Not Authorized")`` (not the principal text
  other services give); ``payload`` missing -> ``"Payload is required"`` (publish only);
  ``qos`` missing -> ``"QoS is required"``; not ``"0"``/``"1"`` -> ``"Invalid QoS value: <q>"``.
* A failed publish is ``ServiceError("Publish to topic <t> failed: <reason>")``; a failed
  subscribe ``ServiceError("Subscribe to topic <t> failed with error <reason>")``.
* Messages that arrive before the subscription's response is written are dropped, as the
  nucleus does.

The cloud connection is behind :class:`IotCoreConnection`, which the simulated core
implements; :class:`InMemoryIotCore` records publications and lets a test inject messages.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from fakes.nucleus_ipc.model import InvalidArgumentsError, ServiceError, UnauthorizedError
from fakes.nucleus_ipc.rpc import Call, Handler, b64, unb64
from fakes.nucleus_ipc.services.authz import IOT_CORE, AccessControl, NotAuthorized

__all__ = ["InMemoryIotCore", "IotCoreConnection", "IotCoreError", "IotCoreIpc", "MqttMessage"]

PUBLISH = "aws.greengrass#PublishToIoTCore"
SUBSCRIBE = "aws.greengrass#SubscribeToIoTCore"
_QOS = {"0": 0, "1": 1}


class IotCoreError(Exception):
    """The cloud connection refused a publish or subscribe; ``str()`` is the reason."""


@dataclass(frozen=True, slots=True)
class MqttMessage:
    topic: str
    payload: bytes
    qos: int = 0
    retain: bool = False
    #: the publishing component, for messages that leave the core
    source: str | None = None


Deliver = Callable[[MqttMessage], None]


class IotCoreConnection(Protocol):
    """The core's MQTT connection to AWS IoT Core, as the IPC service uses it."""

    def publish(self, message: MqttMessage) -> None:
        """Send (or spool) a message; raise :class:`IotCoreError` on failure."""
        ...

    def subscribe(self, topic_filter: str, qos: int, deliver: Deliver) -> Callable[[], None]:
        """Subscribe; return the function that unsubscribes. Raise :class:`IotCoreError`."""
        ...


def mqtt_matches(topic_filter: str, topic: str) -> bool:
    """Standard MQTT matching (``a/#`` matches ``a``; ``+`` is one level)."""
    wanted, got = topic_filter.split("/"), topic.split("/")
    for index, level in enumerate(wanted):
        if level == "#":
            return True
        if index >= len(got) or (level != "+" and level != got[index]):
            return False
    return len(wanted) == len(got)


class InMemoryIotCore:
    """A stand-in cloud: records what is published, delivers what a test injects."""

    def __init__(self) -> None:
        self.published: list[MqttMessage] = []
        self._subscriptions: list[tuple[str, int, Deliver]] = []
        self._lock = threading.Lock()

    def publish(self, message: MqttMessage) -> None:
        with self._lock:
            self.published.append(message)

    def subscribe(self, topic_filter: str, qos: int, deliver: Deliver) -> Callable[[], None]:
        entry = (topic_filter, qos, deliver)
        with self._lock:
            self._subscriptions.append(entry)

        def unsubscribe() -> None:
            with self._lock:
                if entry in self._subscriptions:
                    self._subscriptions.remove(entry)

        return unsubscribe

    def subscriptions(self) -> list[str]:
        with self._lock:
            return [topic_filter for topic_filter, _, _ in self._subscriptions]

    def inject(self, topic: str, payload: bytes, *, retain: bool = False) -> int:
        """A message from the cloud; returns how many subscriptions received it."""
        with self._lock:
            targets = [d for f, _, d in self._subscriptions if mqtt_matches(f, topic)]
        for deliver in targets:
            deliver(MqttMessage(topic, payload, retain=retain))
        return len(targets)


class IotCoreIpc:
    """The IPC face of the core's IoT Core connection."""

    def __init__(
        self, connection: IotCoreConnection | None = None, access: AccessControl | None = None
    ) -> None:
        self.connection: IotCoreConnection = (
            connection if connection is not None else InMemoryIotCore()
        )
        self.access = access if access is not None else AccessControl()

    def handlers(self) -> Mapping[str, Handler]:
        return {PUBLISH: self.publish_to_iot_core, SUBSCRIBE: self.subscribe_to_iot_core}

    def _topic(self, operation: str, call: Call) -> str:
        topic = call.request.get("topicName")
        if topic is None:
            raise InvalidArgumentsError("Topic is required")
        try:
            self.access.check(IOT_CORE, call.component, operation, topic, mqtt=True)
        except NotAuthorized:
            raise UnauthorizedError("Not Authorized") from None
        return str(topic)

    @staticmethod
    def _qos(call: Call) -> int:
        qos = call.request.get("qos")
        if qos is None:
            raise InvalidArgumentsError("QoS is required")
        if qos not in _QOS:
            raise InvalidArgumentsError(f"Invalid QoS value: {qos}")
        return _QOS[qos]

    def publish_to_iot_core(self, call: Call) -> dict[str, Any]:
        topic = self._topic(PUBLISH, call)
        payload = call.request.get("payload")
        if payload is None:
            raise InvalidArgumentsError("Payload is required")
        qos = self._qos(call)
        message = MqttMessage(
            topic, unb64(payload), qos, bool(call.request.get("retain")), call.component
        )
        try:
            self.connection.publish(message)
        except IotCoreError as error:
            raise ServiceError(f"Publish to topic {topic} failed: {error}") from None
        return {}

    def subscribe_to_iot_core(self, call: Call) -> dict[str, Any]:
        topic = self._topic(SUBSCRIBE, call)
        qos = self._qos(call)
        stream = call.stream

        def deliver(message: MqttMessage) -> None:
            event = {
                "message": {
                    "topicName": message.topic,
                    "payload": b64(message.payload),
                    "retain": message.retain,
                    "payloadFormat": "BYTES",
                }
            }
            stream.send_event(event, before_response="drop")

        try:
            unsubscribe = self.connection.subscribe(topic, qos, deliver)
        except IotCoreError as error:
            raise ServiceError(f"Subscribe to topic {topic} failed with error {error}") from None
        stream.on_close(unsubscribe)
        return {}
