"""Local publish/subscribe over IPC (``PublishToTopic``, ``SubscribeToTopic``).

The IPC side follows the nucleus's ``PubSubIPCEventStreamAgent``
(``shared/specs/greengrass-v2-ipc.md`` §4.3):

* PublishToTopic: authorization first (resource = the topic); then ``topic`` missing ->
  ``InvalidArgumentsError("Publish topic must not be null")``; ``+``, ``#`` or ``*`` in it ->
  ``"Publish topic must not contain a wildcard."``; no subscriber is still a success.
* SubscribeToTopic: authorization first (resource = the filter as written, MQTT wildcards
  literal; an empty filter fails there with ``UnauthorizedError("Resource cannot be empty")``);
  a missing one -> ``"Subscribe topic must not be empty"``; ``receiveMode`` defaults to
  ``RECEIVE_MESSAGES_FROM_OTHERS`` for a filter with a ``+`` level or a final ``#`` level,
  else ``RECEIVE_ALL_MESSAGES``; the subscription ends with its stream.
* A JSON message reaches subscribers as the nucleus's Gson re-writes it: numbers become
  doubles (``1`` arrives as ``1.0``) and object members that are ``null`` disappear
  (:attr:`PubSubIpc.gson_json`, [nucleus code reading; unverified on a device]). A message
  that is not a JSON object fails the Java deserializer: the caller gets the bare
  ``InternalServerError`` (``StreamClosedError`` in Python), as nucleus issue #863 reports.

Routing is behind :class:`LocalPubSub`, which the simulated core implements (so Lambdas'
``PUB_SUB`` event sources, the bridge and ShadowManager see the same traffic);
:class:`InMemoryPubSub` is the stand-alone default. Its matching copies the nucleus's
``SubscriptionTrie``, oddities included: levels come from Java's ``String.split("/")``
(trailing empty levels vanish, so ``a/b/`` is ``a/b``), ``a/#`` does **not** match ``a``, and a
``#`` that is not the last level acts like ``+``. Delivery is synchronous, before
``PublishToTopic`` answers (the nucleus hands events to an ordered executor, so their order
relative to the response is not fixed there; this fake picks "events first").
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

import orjson

from fakes.nucleus_ipc.model import InvalidArgumentsError, ServiceError, UnauthorizedError
from fakes.nucleus_ipc.rpc import Call, Handler, b64, unb64
from fakes.nucleus_ipc.services.authz import PUBSUB, AccessControl, NotAuthorized

__all__ = [
    "RECEIVE_ALL",
    "RECEIVE_FROM_OTHERS",
    "InMemoryPubSub",
    "LocalPubSub",
    "PubSubIpc",
    "PubSubMessage",
    "is_wildcard",
    "java_split",
    "trie_matches",
]

PUBLISH = "aws.greengrass#PublishToTopic"
SUBSCRIBE = "aws.greengrass#SubscribeToTopic"
RECEIVE_ALL = "RECEIVE_ALL_MESSAGES"
RECEIVE_FROM_OTHERS = "RECEIVE_MESSAGES_FROM_OTHERS"


@dataclass(frozen=True, slots=True)
class PubSubMessage:
    """One local publication: a JSON object, bytes, or (rarely) both."""

    topic: str
    #: the publishing component (the nucleus's "serviceName")
    source: str
    json: dict[str, Any] | None = None
    binary: bytes | None = None

    @property
    def payload(self) -> bytes:
        """The bytes a non-IPC subscriber (a ``PUB_SUB`` Lambda, the bridge) receives."""
        if self.binary is not None:
            return self.binary
        return orjson.dumps(self.json)

    def event(self) -> dict[str, Any]:
        """The ``SubscriptionResponseMessage`` an IPC subscriber receives."""
        context = {"topic": self.topic}
        body: dict[str, Any] = {}
        if self.json is not None:
            body["jsonMessage"] = {"message": self.json, "context": context}
        if self.binary is not None:
            body["binaryMessage"] = {"message": b64(self.binary), "context": context}
        return body


Deliver = Callable[[PubSubMessage], None]


class LocalPubSub(Protocol):
    """The core's local pub/sub router, as the IPC service uses it."""

    def subscribe(
        self, topic_filter: str, component: str, receive_mode: str, deliver: Deliver
    ) -> Callable[[], None]:
        """Add a subscription; return the function that removes it."""
        ...

    def publish(self, message: PubSubMessage) -> None:
        """Deliver to every matching subscription whose receive mode accepts the source."""
        ...


def java_split(topic: str) -> list[str]:
    """``topic.split("/")`` as Java computes it: trailing empty strings are dropped, and a
    string without a separator is returned whole (so ``""`` gives ``[""]``)."""
    if "/" not in topic:
        return [topic]
    levels = topic.split("/")
    while levels and levels[-1] == "":
        levels.pop()
    return levels


def is_wildcard(topic_filter: str) -> bool:
    """The nucleus's test for a wildcard filter: a ``+`` level, or ``#`` as the last level."""
    levels = java_split(topic_filter)
    return "+" in levels or (bool(levels) and levels[-1] == "#")


def trie_matches(filter_levels: list[str], topic_levels: list[str]) -> bool:
    """Whether the nucleus's ``SubscriptionTrie`` delivers a topic to a filter (both split)."""
    if not filter_levels or not topic_levels:
        return False

    def level_ok(wanted: str, got: str) -> bool:
        return wanted == got or wanted == "+" or wanted == "#"

    if (
        filter_levels[-1] == "#"
        and len(filter_levels) <= len(topic_levels)
        and all(map(level_ok, filter_levels[:-1], topic_levels))
    ):
        return True
    return len(filter_levels) == len(topic_levels) and all(
        map(level_ok, filter_levels, topic_levels)
    )


@dataclass(eq=False, slots=True)
class _Subscription:
    topic_filter: str
    levels: list[str]
    component: str
    receive_mode: str
    deliver: Deliver
    active: bool = field(default=True)


class InMemoryPubSub:
    """A local pub/sub router with the nucleus's matching rules."""

    def __init__(self) -> None:
        self._subscriptions: list[_Subscription] = []
        self._lock = threading.RLock()

    def subscribe(
        self, topic_filter: str, component: str, receive_mode: str, deliver: Deliver
    ) -> Callable[[], None]:
        subscription = _Subscription(
            topic_filter, java_split(topic_filter), component, receive_mode, deliver
        )
        with self._lock:
            self._subscriptions.append(subscription)

        def unsubscribe() -> None:
            with self._lock:
                subscription.active = False
                if subscription in self._subscriptions:
                    self._subscriptions.remove(subscription)

        return unsubscribe

    def subscriptions(self) -> list[tuple[str, str, str]]:
        """``(filter, component, receive mode)`` of every live subscription."""
        with self._lock:
            return [(s.topic_filter, s.component, s.receive_mode) for s in self._subscriptions]

    def publish(self, message: PubSubMessage) -> None:
        self.deliver(message)

    def deliver(self, message: PubSubMessage) -> list[str]:
        """Publish ``message``; the components it was delivered to, in subscription order."""
        if not self._subscriptions:
            return []
        levels = java_split(message.topic)
        with self._lock:
            targets = [
                s
                for s in self._subscriptions
                if trie_matches(s.levels, levels)
                and not (s.receive_mode == RECEIVE_FROM_OTHERS and s.component == message.source)
            ]
        delivered = []
        for subscription in targets:
            if subscription.active:
                subscription.deliver(message)
                delivered.append(subscription.component)
        return delivered


def gson_json(value: Any) -> Any:
    """A JSON value as the nucleus holds it after Gson read it into ``Map<String,Object>``
    and writes it back: numbers are doubles, ``null`` object members are gone."""
    if isinstance(value, dict):
        return {key: gson_json(item) for key, item in value.items() if item is not None}
    if isinstance(value, list):
        return [gson_json(item) for item in value]
    if isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    return value


class PubSubIpc:
    """The IPC face of local pub/sub."""

    def __init__(
        self,
        router: LocalPubSub | None = None,
        access: AccessControl | None = None,
        *,
        gson_json: bool = True,
    ) -> None:
        self.router: LocalPubSub = router if router is not None else InMemoryPubSub()
        self.access = access if access is not None else AccessControl()
        #: rewrite JSON messages as the nucleus's Gson does (see the module docstring)
        self.gson_json = gson_json

    def handlers(self) -> Mapping[str, Handler]:
        return {PUBLISH: self.publish_to_topic, SUBSCRIBE: self.subscribe_to_topic}

    def _authorize(self, operation: str, component: str, topic: str | None) -> None:
        try:
            self.access.check(PUBSUB, component, operation, topic)
        except NotAuthorized as denial:
            raise UnauthorizedError(str(denial)) from None

    def publish_to_topic(self, call: Call) -> dict[str, Any]:
        request = call.request
        topic = request.get("topic")
        publish_message = request.get("publishMessage")
        json_member = binary_member = None
        if isinstance(publish_message, dict):
            json_member = publish_message.get("jsonMessage")
            binary_member = publish_message.get("binaryMessage")
        message_json = None
        if isinstance(json_member, dict) and json_member.get("message") is not None:
            message_json = json_member["message"]
            if not isinstance(message_json, dict):
                # Gson cannot read it into Map<String,Object>, before any handler runs: the
                # bare InternalServerError.
                raise TypeError("jsonMessage.message is not a JSON object")
        # The order of the nucleus's handler: authorization, the message union (a missing
        # one is a NullPointerException, whose ServiceError text depends on the JVM
        # [unverified]), then the topic checks.
        self._authorize(PUBLISH, call.component, topic)
        if not isinstance(publish_message, dict):
            raise ServiceError(None)
        if topic is None:
            raise InvalidArgumentsError("Publish topic must not be null")
        if "+" in topic or "#" in topic or "*" in topic:
            raise InvalidArgumentsError("Publish topic must not contain a wildcard.")
        if not java_split(topic):
            # A topic of only "/": SubscriptionTrie.get reads element 0 of an empty array
            # (the text is the JVM's, from Java 11 on).
            raise ServiceError("Index 0 out of bounds for length 0")
        if message_json is not None and self.gson_json:
            message_json = gson_json(message_json)
        binary = None
        if isinstance(binary_member, dict) and binary_member.get("message") is not None:
            binary = unb64(binary_member["message"])
        self.router.publish(PubSubMessage(topic, call.component, message_json, binary))
        return {}

    def subscribe_to_topic(self, call: Call) -> dict[str, Any]:
        request = call.request
        topic = request.get("topic")
        self._authorize(SUBSCRIBE, call.component, topic)
        if not topic:
            raise InvalidArgumentsError("Subscribe topic must not be empty")
        mode = request.get("receiveMode")
        if mode not in (RECEIVE_ALL, RECEIVE_FROM_OTHERS):
            mode = RECEIVE_FROM_OTHERS if is_wildcard(topic) else RECEIVE_ALL
        stream = call.stream

        def deliver(message: PubSubMessage) -> None:
            stream.send_event(message.event())

        unsubscribe = self.router.subscribe(topic, call.component, mode, deliver)
        stream.on_close(unsubscribe)
        return {}
