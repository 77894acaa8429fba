"""How messages move on a simulated Greengrass V2 core, built from its compiled deployment.

On V2 there is no subscription table for devices (``greengrass-v2-topology.md`` §2.4, §2.5):

* a **client device** publishes to the local broker (Moquette) if client device auth allows
  it (``mqtt:publish`` on ``mqtt:topic:<topic>``; otherwise the message is dropped silently and
  the core logs why, §1.3.1); the broker hands it to every device subscribed to a matching
  filter, and the **MQTT bridge** relays it to local pub/sub or AWS IoT Core where a mapping
  says so (§1.4: fan-out, target = prefix + topic, bytes unchanged);
* **local pub/sub** delivers to IPC subscribers (:mod:`fakes.nucleus_ipc`), to Lambda
  components whose ``PUB_SUB`` event sources match (the Lambda manager, §2.2), to
  ShadowManager when the topic is a shadow request (§3.1: answered as ShadowManager, its
  replies published on local pub/sub, response topics ignored), and to the bridge's
  ``Pubsub`` mappings;
* AWS IoT Core messages reach ``IOT_CORE`` event sources and ``IotCore`` bridge mappings;
* a Lambda's greengrasssdk ``publish()`` goes through the **legacy subscription router**,
  whose only sources are Lambda components and whose targets are ``cloud`` or a Lambda
  component (§2.3); with no match the publish fails with the core's text.

Every message that enters the core (a device's publish, a cloud message, a Lambda's
publish over greengrasssdk or the IPC, a ShadowManager reply) is one
:class:`~harness.core.RoutedMessage` whose ``targets`` are the endpoints it finally reached
through every hop. Its ``note`` says where a device's or the cloud's message stopped when it
reached nothing, or why it was refused; run results count these (``problems``).

Threads: local pub/sub is also fed by IPC handlers on the nucleus server's threads; they
run only while the Lambda that called them waits (see :mod:`harness.nucleus`), so the
fabric is never entered twice at once.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from paho.mqtt.client import topic_matches_sub

from fakes.client_devices import ClientDeviceAuth, MqttBridge, Relay
from fakes.nucleus_ipc.services.pubsub import (
    PubSubMessage,
    java_split,
    trie_matches,
)
from fakes.shadow import parse_request_topic
from harness.functions import Invocation

if TYPE_CHECKING:
    from harness.core import SimulatedCore
    from harness.v2.deployment import V2Deployment

__all__ = [
    "AUTH",
    "BRIDGE",
    "ROUTER",
    "SHADOW_MANAGER",
    "ConnectRefused",
    "V2Fabric",
]

AUTH = "aws.greengrass.clientdevices.Auth"
BRIDGE = "aws.greengrass.clientdevices.mqtt.Bridge"
ROUTER = "aws.greengrass.LegacySubscriptionRouter"
SHADOW_MANAGER = "aws.greengrass.ShadowManager"
#: how many bridge hops one message may take before the fabric stops it (a loop the load-time
#: check missed; the real bridge would relay it forever)
MAX_HOPS = 16


class ConnectRefused(ConnectionError):
    """Client device auth refused a device's connection (TLS failure or CONNACK code)."""

    def __init__(self, message: str, return_code: int | None) -> None:
        super().__init__(message)
        #: the CONNACK return code, or None when the TLS handshake failed
        self.return_code = return_code


@dataclass(slots=True)
class _Trace:
    source: str
    topic: str
    payload: bytes
    targets: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class _EventSource:
    function: str
    topic_filter: str
    levels: tuple[str, ...]


class V2Fabric:
    """The message path of one simulated V2 core (see the module docstring)."""

    def __init__(self, core: SimulatedCore, deployment: V2Deployment) -> None:
        self.core = core
        self.deployment = deployment
        deployed = deployment.components
        # without client device auth (and so without the broker) no device gets in; without
        # the bridge nothing crosses between the broker, local pub/sub and IoT Core
        self.auth = ClientDeviceAuth.from_configuration(
            deployment.configuration(AUTH) if AUTH in deployed else {})
        self.bridge = MqttBridge.from_configuration(
            deployment.configuration(BRIDGE) if BRIDGE in deployed else {})
        self.cloud_online = True
        self._trace: _Trace | None = None
        self._hops = 0
        names = {component: info.function
                 for component, info in deployment.lambda_components.items()}
        self._component_function = names
        self._function_component = {function: component for component, function in names.items()}
        self._pub_sub: list[_EventSource] = []
        self._iot_core: list[_EventSource] = []
        for component, function in names.items():
            for source in deployment.lambda_components[component].event_sources:
                topic, kind = source["topic"], source["type"]
                entry = _EventSource(function, topic, tuple(java_split(topic)))
                (self._pub_sub if kind == "PUB_SUB" else self._iot_core).append(entry)
        router = deployment.configuration(ROUTER) if ROUTER in deployed else {}
        self._router: list[tuple[str, str, str]] = [
            (str(s.get("source", "")), str(s.get("subject", "")), str(s.get("target", "")))
            for s in (router.get("subscriptions") or {}).values() if isinstance(s, dict)
        ]
        #: what each device thing subscribes to on the local broker: the filters the group's
        #: subscriptions deliver to it, those client device auth lets it subscribe
        self.device_filters: dict[str, list[str]] = {}
        for subscription in core.group.subscriptions:
            thing = subscription.target_name if subscription.target_kind == "device" else None
            if thing is None:
                continue
            filters = self.device_filters.setdefault(thing, [])
            if subscription.subject in filters:
                continue
            if self.auth.can_subscribe(thing, subscription.subject):
                filters.append(subscription.subject)
            else:
                core.logs.core("WARN", "Client does not have read permissions on the topic "
                               f"username: {thing}, topic: {subscription.subject} (SUBACK 0x80)")

    # -- entry points ----------------------------------------------------------------------

    def route(self, source: str, topic: str, payload: bytes, policy: str = "BestEffort"
              ) -> tuple[str, ...]:
        """A message entering the core from ``source``: ``device:<thing>`` (published to the
        local broker), ``cloud`` (from AWS IoT Core), ``function:<name>`` (greengrasssdk's
        ``publish``, through the legacy subscription router) or ``GGShadowService`` /
        ``ShadowManager`` (published on local pub/sub by ShadowManager)."""
        if source.startswith("function:"):
            return self._legacy_publish(source, topic, payload, policy)
        with self._entering(source, topic, payload) as trace:
            if source.startswith("device:"):
                thing = source.split(":", 1)[1]
                if self.auth.can_publish(thing, topic):
                    self._local_mqtt(topic, payload, from_bridge=False)
                else:
                    message = (f"MQTT client: {thing} is not authorized to publish on topic: "
                               f"{topic}")
                    self.core.logs.core("WARN", message)
                    trace.notes.append(f"dropped by client device auth ({message})")
            elif source == "cloud":
                self._iot_core_message(topic, payload)
            else:
                self.publish_local(PubSubMessage(topic, SHADOW_MANAGER, binary=payload))
        return tuple(dict.fromkeys(trace.targets))

    def publish_local(self, message: PubSubMessage) -> None:
        """Publish on local pub/sub through the nucleus (its IPC subscribers included)."""
        nucleus = self.core.nucleus
        assert nucleus is not None  # a V2 core has one
        nucleus.pubsub.publish(message)

    def published_locally(self, message: PubSubMessage, ipc_components: list[str]) -> None:
        """Called by the nucleus's pub/sub after it delivered ``message`` to the IPC
        subscribers of ``ipc_components``: the subscribers that are not IPC clients (Lambda
        manager, ShadowManager, the bridge)."""
        source = self._endpoint_of(message.source)
        with self._entering(source, message.topic, message.payload) as trace:
            trace.targets.extend(self._endpoint_of(c) for c in ipc_components)
            self._pub_sub_message(message)

    def connect(self, thing: str) -> None:
        """A device (re)connects with its thing name as client id; raises
        :class:`ConnectRefused` with the core's reason when client device auth refuses."""
        result = self.auth.connect(thing, thing, now=self.core.clock.elapsed,
                                   cloud_online=self.cloud_online)
        for line in result.logs:
            self.core.logs.core("INFO" if result.accepted else "WARN", line)
        if not result.accepted:
            answer = ("TLS handshake failed" if result.outcome == "tls_failure"
                      else "connection closed" if result.connack is None
                      else f"CONNACK {result.connack:#04x}")
            raise ConnectRefused(f"{answer}: {result.reason}", result.connack)

    # -- hops ------------------------------------------------------------------------------

    def _local_mqtt(self, topic: str, payload: bytes, *, from_bridge: bool) -> None:
        """A message published on the local broker (Moquette)."""
        trace = self._current()
        reached = [f"device:{thing}" for thing, filters in self.device_filters.items()
                   if any(topic_matches_sub(f, topic) for f in filters)]
        trace.targets.extend(reached)
        broker = self.core.on_device_message
        if broker is not None and from_bridge:
            # a rig with a real broker: the bridge publishes there once and the broker hands
            # it to its subscribers (a device's own publication is already on that broker)
            broker(reached[0] if reached else "LocalMqtt", topic, payload)
        relays = self._relays("LocalMqtt", topic, from_bridge)
        if not relays and not from_bridge and not trace.targets:
            trace.notes.append(f"reached the local broker; no subscriber and no bridge mapping "
                               f"relays {topic} from LocalMqtt")
        for relay in relays:
            self._relayed(relay.target, relay.topic, payload)

    def _relays(self, source: str, topic: str, from_bridge: bool) -> list[Relay]:
        """What the bridge publishes for one message; a relay its target refuses (a
        ``*`` in a pub/sub topic) is logged, not published."""
        try:
            relays = self.bridge.relay(source, topic, from_bridge=from_bridge)
        except ValueError as error:  # a topic the source cannot carry
            self._current().notes.append(f"the bridge cannot relay it: {error}")
            return []
        for relay in relays:
            if relay.error is not None:
                self.core.logs.core("ERROR", f"bridge mapping {relay.mapping}: {relay.error}")
        return [relay for relay in relays if relay.error is None]

    def _relayed(self, target: str, topic: str, payload: bytes) -> None:
        self._hops += 1
        try:
            if self._hops > MAX_HOPS:
                self.core.logs.core("ERROR", f"bridge loop: {topic} relayed {MAX_HOPS} times; "
                                             "stopped")
                self._current().notes.append("stopped: bridge loop")
                return
            if target == "Pubsub":
                self.publish_local(PubSubMessage(topic, BRIDGE, binary=payload))
            elif target == "LocalMqtt":
                self._local_mqtt(topic, payload, from_bridge=True)
            else:  # IotCore
                self._current().targets.append("cloud")
        finally:
            self._hops -= 1

    def _pub_sub_message(self, message: PubSubMessage) -> None:
        trace = self._current()
        levels = java_split(message.topic)
        payload = message.payload
        for source in self._pub_sub:
            if trie_matches(list(source.levels), levels):
                self._invoke(source.function, message.topic, payload, trace)
        if message.source != SHADOW_MANAGER and message.topic.startswith("$aws/things/"):
            self._shadow_manager(message.topic, payload, trace)
        for relay in self._relays("Pubsub", message.topic, message.source == BRIDGE):
            self._relayed(relay.target, relay.topic, payload)
        # a local publication nothing subscribes to is a success on the core (§2.5), so it
        # is not noted as a problem

    def _shadow_manager(self, topic: str, payload: bytes, trace: _Trace) -> None:
        """ShadowManager's local pub/sub subscription ``$aws/things/+/shadow/#``: it answers
        requests (as itself, so without IPC authorization or rate limits) and ignores its
        own reply topics."""
        request = parse_request_topic(topic)
        if request is None:
            if not topic.endswith(_REPLY_ENDINGS) and "/shadow" in topic:
                self.core.logs.core("WARN", f"Unable to parse shadow topic {topic}")
            return
        trace.targets.append("ShadowManager")
        replies = self.core.shadow.handle(topic, payload)
        outer, hops = self._trace, self._hops
        self._trace, self._hops = None, 0  # each reply is a message of its own
        try:
            for reply_topic, reply in replies:
                self.publish_local(PubSubMessage(reply_topic, SHADOW_MANAGER, binary=reply))
        finally:
            self._trace, self._hops = outer, hops

    def _iot_core_message(self, topic: str, payload: bytes) -> None:
        trace = self._current()
        for source in self._iot_core:
            if topic_matches_sub(source.topic_filter, topic):
                self._invoke(source.function, topic, payload, trace)
        for relay in self._relays("IotCore", topic, False):
            self._relayed(relay.target, relay.topic, payload)
        if not trace.targets:
            trace.notes.append(f"from AWS IoT Core; no IOT_CORE event source or bridge "
                               f"mapping takes {topic}")

    def _invoke(self, function: str, topic: str, payload: bytes, trace: _Trace) -> None:
        from harness.core import _subject_context

        runtime = self.core.functions[function]
        trace.targets.append(f"function:{function}")
        runtime.submit(Invocation(self.core.new_id(), payload, _subject_context(topic),
                                  "Event", trace.source))

    def _legacy_publish(self, source: str, topic: str, payload: bytes, policy: str
                        ) -> tuple[str, ...]:
        """greengrasssdk's ``publish()`` from a Lambda: the legacy subscription router."""
        from fakes.ipc_backend import IPCError

        function = source.split(":", 1)[1]
        runtime = self.core.functions[function]
        names = {f"component:{self._function_component.get(function, '')}", runtime.arn}
        targets: list[str] = []
        for router_source, subject, target in self._router:
            if router_source in names and topic_matches_sub(subject, topic):
                endpoint = self._router_target(target)
                if endpoint is not None:
                    targets.append(endpoint)
        targets = list(dict.fromkeys(targets))
        if not targets:
            message = (f"No subscription exists for the source {runtime.arn} and subject "
                       f"{topic}. Deploy and configure aws.greengrass.LegacySubscriptionRouter"
                       " component to support publishing from Lambdas.")
            self.core.logs.core("ERROR", message)
            self.core.function_failed(runtime, "refused", message)
            self._record(_Trace(source, topic, payload, notes=[message]))
            raise IPCError(400, message)
        if policy == "AllOrError":
            full = [t for t in targets if t.startswith("function:")
                    and self.core.functions[t.split(":", 1)[1]].queue_is_full()]
            if full:
                raise IPCError(429, f"message on {topic} not delivered: queue full for "
                                    f"{', '.join(full)} (queueFullPolicy AllOrError)")
        trace = _Trace(source, topic, payload)
        for target in targets:
            if target == "cloud":
                trace.targets.append("cloud")
            else:
                self._invoke(target.split(":", 1)[1], topic, payload, trace)
        self._record(trace)
        return tuple(trace.targets)

    def _router_target(self, target: str) -> str | None:
        if target == "cloud":
            return "cloud"
        if target.startswith("component:"):
            function = self._component_function.get(target.split(":", 1)[1])
            return f"function:{function}" if function else None
        for name, runtime in self.core.functions.items():
            if runtime.arn == target:
                return f"function:{name}"
        return None

    # -- bookkeeping -----------------------------------------------------------------------

    def _endpoint_of(self, component: str) -> str:
        function = self._component_function.get(component)
        if function is not None:
            return f"function:{function}"
        if component == SHADOW_MANAGER:
            return "ShadowManager"
        return component

    def _current(self) -> _Trace:
        assert self._trace is not None
        return self._trace

    def _entering(self, source: str, topic: str, payload: bytes) -> _Entry:
        return _Entry(self, source, topic, payload)

    def _record(self, trace: _Trace) -> None:
        from harness.core import RoutedMessage

        self.core.messages.append(RoutedMessage(
            self.core.clock.elapsed, trace.source, trace.topic, trace.payload,
            tuple(dict.fromkeys(trace.targets)), "; ".join(trace.notes)))


class _Entry:
    """A message entering the fabric: a new trace at the top level, the current one when
    the message is a hop of one already moving (a bridge relay, a ShadowManager reply)."""

    def __init__(self, fabric: V2Fabric, source: str, topic: str, payload: bytes) -> None:
        self.fabric = fabric
        self.top = fabric._trace is None
        self.trace = _Trace(source, topic, payload) if self.top else fabric._current()

    def __enter__(self) -> _Trace:
        if self.top:
            self.fabric._trace = self.trace
        return self.trace

    def __exit__(self, *exc: object) -> None:
        if self.top:
            self.fabric._trace = None
            self.fabric._record(self.trace)


_REPLY_ENDINGS = ("/accepted", "/rejected", "/delta", "/documents")
