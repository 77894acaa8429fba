"""``aws.greengrass.clientdevices.mqtt.Bridge``: topic mappings, relays, and loops refused.

Follows ``shared/specs/greengrass-v2-topology.md`` §1.4 and §1.6 (item 6), checked against
aws-greengrass-mqtt-bridge @ ef62aa4 (v2.3.2: ``BridgeConfig``, ``TopicMapping``,
``MessageBridge``, ``clients/*``) and the nucleus (``PubSubIPCEventStreamAgent``,
``MqttClient``, ``MqttTopic``)::

    bridge = MqttBridge.from_configuration(deployed_config)
    bridge.relay(LOCAL_MQTT, "bme680/readings")
    # [Relay(mapping='Bme680ReadingsToPubsub', target='Pubsub', topic='bme680/readings', ...)]

Relaying (``relay``):

* The bridge subscribes on each source to the distinct ``topic`` of its mappings
  (:meth:`MqttBridge.subscriptions`). A message reaches it when a subscription matches: on
  LocalMqtt with Moquette's matching, once however many match (Moquette keeps one
  subscription per client); on Pubsub with the nucleus trie, once (the callbacks form a set);
  on IotCore once **per matching subscription** (the nucleus ``MqttClient`` calls the
  callback for each matching ``Subscribe``), so overlapping IotCore filters duplicate.
* A received message goes to every mapping of that source whose filter matches by
  ``MqttTopic.isSupersetOf`` (:func:`~.topics.bridge_matches`), target topic ``targetTopicPrefix
  + source topic``, payload bytes untouched (on Pubsub a ``binaryMessage``).
* QoS 1 towards IotCore and LocalMqtt (:attr:`MqttBridge.QOS`); the retain flag is cleared
  (:attr:`MqttBridge.RETAIN`), except with ``mqtt.version: mqtt5`` and ``retainAsPublished``,
  which the bridge looks up by the *target* topic among the LocalMqtt mappings' topics (so
  it works only for an unprefixed exact topic).
* ``from_bridge=True``: the message is one the bridge published itself. It comes back on
  LocalMqtt (Moquette has no no-local; with mqtt5, a ``noLocal`` route option stops it on that
  subscription), on Pubsub only through an exact-topic subscription (a wildcard one defaults
  to ``RECEIVE_MESSAGES_FROM_OTHERS``), on IotCore when ``iot_core_echo`` (the default: the
  bridge subscribes without no-local, "TODO .noLocal()", and AWS IoT Core delivers a client's
  own publications to its subscriptions [unverified on a device]).
* A relay the target refuses is listed with ``error`` set: the nucleus refuses to publish a
  local pub/sub topic with ``*`` (``Publish topic must not contain a wildcard.``).

Configuration (``from_configuration``), stricter than the real bridge where noted:

* ``mqttTopicMapping.<name>``: ``topic``, ``source``, ``target`` (``LocalMqtt``, ``Pubsub``,
  ``IotCore``, any case, as the bridge's Jackson mapper reads them), ``targetTopicPrefix``.
  Refused: a missing or unknown source/target, and (stricter: the real bridge validates
  nothing, "TODO: ... General validation") source equal to target, an invalid MQTT topic
  filter, a prefix with ``+``/``#`` (every relayed topic would be invalid) or with ``*``
  towards Pubsub.
* **Loops are refused**: a configuration in which one message can be relayed forever (our
  product decision; the real bridge loops and melts the core). Possible pairs and triples of
  mappings are found first (:mod:`.relay_graph`, cheap and never missing a real chain); only
  a cycle among them goes to the exact decision of :mod:`.loops`, so a refusal is always a
  real loop, named with a looping example. :attr:`MqttBridge.max_relay_hops` bounds the
  chain an accepted configuration allows. The documented two-way
  ``$aws/things/+/shadow/#`` mapping terminates (each response echoes once) and is
  accepted. ``refuse_loops=False`` keeps a looping configuration, as the real bridge does.
* ``mqtt.*``: the bridge's own rules: a negative timeout falls back to its default with
  ``Provided <key> out of range. Defaulting to <default>``; ``receiveMaximum``,
  ``maximumPacketSize`` and ``sessionExpiryInterval`` are clamped; refused are
  ``maxReconnectDelayMs`` below ``minReconnectDelayMs`` and a non-zero
  ``keepAliveTimeoutSeconds`` not above ``pingTimeoutMs``; an unknown ``mqtt.version`` is
  ``mqtt3``. ``brokerUri`` (``brokerServerUri`` is the deprecated alias) must parse as a URI
  (``Malformed brokerUri: <uri>``).

Assumes nucleus ≥ 2.6.0 (wildcards in Pubsub-source mappings and the receive-mode default).
"""

from __future__ import annotations

import secrets
import string
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

from fakes.client_devices.bridge_config import (
    DEFAULT_BROKER_URI,
    IOT_CORE,
    LOCAL_MQTT,
    PUBSUB,
    PUBSUB_WILDCARD_ERROR,
    SOURCES,
    BridgeConfigError,
    MqttSettings,
    TopicMapping,
    read_configuration,
)
from fakes.client_devices.loops import (
    EXACT,
    REST0,
    REST1,
    LevelPattern,
    LoopAnalysis,
    Route,
    analyse,
    contains_nfa,
)
from fakes.client_devices.relay_graph import (
    components,
    longest_path,
    may_overlap,
    path_possible,
)
from fakes.client_devices.topics import (
    bridge_matches,
    is_wildcard,
    java_split,
    moquette_matches,
    moquette_tokens,
    topic_problem,
)

__all__ = [
    "IOT_CORE",
    "LOCAL_MQTT",
    "PUBSUB",
    "BridgeConfigError",
    "MqttBridge",
    "MqttSettings",
    "Relay",
    "TopicMapping",
]


@dataclass(frozen=True, slots=True)
class Relay:
    """One message the bridge publishes because of one mapping."""

    mapping: str
    source: str
    target: str
    source_topic: str
    #: the target topic: ``targetTopicPrefix + source topic``
    topic: str
    #: 1 towards IotCore and LocalMqtt; ``None`` towards Pubsub (no QoS there)
    qos: int | None
    retain: bool = False
    #: the payload reaches Pubsub subscribers as ``binaryMessage`` (bytes untouched)
    binary_message: bool = False
    #: why the target refused the publish, or ``None``
    error: str | None = None

    @property
    def delivered(self) -> bool:
        return self.error is None


class MqttBridge:
    """The bridge model: its mappings, what it subscribes to, and where a message goes."""

    #: the QoS the bridge publishes with, per target (Pubsub has none)
    QOS: ClassVar[dict[str, int]] = {IOT_CORE: 1, LOCAL_MQTT: 1}
    #: the retain flag of relayed messages (see the module docstring for mqtt5)
    RETAIN: ClassVar[bool] = False

    def __init__(
        self,
        mappings: tuple[TopicMapping, ...],
        *,
        broker_uri: str = DEFAULT_BROKER_URI,
        client_id: str | None = None,
        mqtt: MqttSettings | None = None,
        route_options: Mapping[str, tuple[bool, bool]] | None = None,
        iot_core_echo: bool = True,
        refuse_loops: bool = True,
        warnings: tuple[str, ...] = (),
    ) -> None:
        self.mappings = mappings
        self.broker_uri = broker_uri
        self.client_id = client_id or "mqtt-bridge-" + "".join(
            secrets.choice(string.ascii_lowercase + string.digits) for _ in range(11)
        )
        self.mqtt = mqtt or MqttSettings()
        #: mapping name -> (noLocal, retainAsPublished); used only with mqtt5
        self.route_options = dict(route_options or {})
        self.iot_core_echo = iot_core_echo
        #: what the bridge logs while reading its configuration
        self.warnings = warnings
        self._check_loops(refuse_loops)

    @classmethod
    def from_configuration(
        cls, config: Mapping[str, Any], *, iot_core_echo: bool = True, refuse_loops: bool = True
    ) -> MqttBridge:
        """From the component configuration as deployed; :class:`BridgeConfigError` for
        what is refused (see the module docstring). ``refuse_loops=False`` accepts a looping
        configuration as the real bridge does (then :attr:`loop` describes the loop and
        :attr:`max_relay_hops` is ``None``)."""
        try:
            return cls._read(config, iot_core_echo, refuse_loops)
        except BridgeConfigError:
            raise
        except (TypeError, KeyError, AttributeError, RecursionError) as error:
            raise BridgeConfigError("", f"unreadable configuration: {error}") from None

    @classmethod
    def _read(cls, config: Any, iot_core_echo: bool, refuse_loops: bool) -> MqttBridge:
        read = read_configuration(config)
        return cls(
            read.mappings,
            broker_uri=read.broker_uri,
            client_id=read.client_id,
            mqtt=read.mqtt,
            route_options=read.route_options,
            iot_core_echo=iot_core_echo,
            refuse_loops=refuse_loops,
            warnings=read.warnings,
        )

    # -- subscriptions and receive rules ----------------------------------------------------

    def subscriptions(self, source: str) -> list[str]:
        """The distinct topic filters the bridge subscribes to on ``source``."""
        _check_source(source)
        return list(dict.fromkeys(m.topic for m in self.mappings if m.source == source))

    def _local_options(self, topic: str) -> tuple[bool, bool]:
        """``(noLocal, retainAsPublished)`` the bridge applies to a LocalMqtt topic string:
        mqtt5 only, keyed by the LocalMqtt mappings' topics, the last mapping with options
        winning (``BridgeConfig.getMqtt5RouteOptionsForSource``)."""
        options = (False, False)
        if self.mqtt.version != "mqtt5":
            return options
        for mapping in self.mappings:
            if mapping.source == LOCAL_MQTT and mapping.topic == topic:
                options = self.route_options.get(mapping.name, options)
        return options

    def _no_local(self, topic_filter: str) -> bool:
        return self._local_options(topic_filter)[0]

    def receives(self, source: str, topic: str, *, from_bridge: bool = False) -> int:
        """How many times the bridge's message handler runs for a message on ``topic``."""
        _check_source(source)
        filters = self.subscriptions(source)
        if source == LOCAL_MQTT:
            return int(
                any(
                    moquette_matches(f, topic) and not (from_bridge and self._no_local(f))
                    for f in filters
                )
            )
        if source == PUBSUB:
            return int(
                any(
                    bridge_matches(f, topic) and not (from_bridge and is_wildcard(f))
                    for f in filters
                )
            )
        if from_bridge and not self.iot_core_echo:
            return 0
        return sum(1 for f in filters if bridge_matches(f, topic))

    def relay(
        self, source: str, topic: str, *, from_bridge: bool = False, retain: bool = False
    ) -> list[Relay]:
        """Every publication the bridge makes for one message on ``(source, topic)``, in
        mapping order (repeated when IotCore delivers it more than once). ``from_bridge``:
        the bridge published this message itself. ``retain``: the incoming retain flag."""
        _check_source(source)
        problem = topic_problem(topic)
        if problem is None and source == PUBSUB and "*" in topic:
            problem = PUBSUB_WILDCARD_ERROR
        if problem:
            raise ValueError(f"{source} cannot carry topic {topic!r}: {problem}")
        relays: list[Relay] = []
        for _ in range(self.receives(source, topic, from_bridge=from_bridge)):
            for mapping in self.mappings:
                if mapping.source == source and bridge_matches(mapping.topic, topic):
                    relays.append(self._relay(mapping, topic, retain))
        return relays

    def _relay(self, mapping: TopicMapping, topic: str, retain: bool) -> Relay:
        target_topic = mapping.target_topic_prefix + topic
        error = PUBSUB_WILDCARD_ERROR if mapping.target == PUBSUB and "*" in target_topic else None
        keep = (
            retain
            and PUBSUB not in (mapping.source, mapping.target)
            and self._local_options(target_topic)[1]
        )
        return Relay(
            mapping.name,
            mapping.source,
            mapping.target,
            topic,
            target_topic,
            self.QOS.get(mapping.target),
            keep,
            mapping.target == PUBSUB,
            error,
        )

    # -- loops ------------------------------------------------------------------------------

    def _check_loops(self, refuse: bool) -> None:
        """Find endless relays: possible pairs and triples of mappings first (cheap, see
        :mod:`.relay_graph`), then the exact analysis of :mod:`.loops` on each cycle left."""
        exact = [f for f in self.subscriptions(PUBSUB) if not is_wildcard(f)]
        hops = [(m.topic, m.source, m.target_topic_prefix) for m in self.mappings]

        def possible(*path: int) -> bool:
            return path_possible([hops[at] for at in path], exact, self.iot_core_echo)

        following = [
            [
                at
                for at, nxt in enumerate(self.mappings)
                if nxt.source == mapping.target and possible(index, at)
            ]
            for index, mapping in enumerate(self.mappings)
        ]
        pairs = [(first, second) for first in range(len(hops)) for second in following[first]]
        where = {pair: at for at, pair in enumerate(pairs)}
        triples = [
            [
                where[(second, third)]
                for third in following[second]
                if possible(first, second, third)
            ]
            for first, second in pairs
        ]
        found = components(len(pairs), triples.__getitem__)
        #: an endless relay cycle (only with ``refuse_loops=False``), else ``None``
        self.loop: LoopAnalysis | None = None
        weights: list[int] = []
        for component in found:
            if len(component) == 1 and component[0] not in triples[component[0]]:
                weights.append(1)
                continue
            members = sorted({index for at in component for index in pairs[at]})
            analyses = [self._analyse(trailing, members) for trailing in (False, True)]
            self.loop = next((a for a in analyses if a.cycle), None)
            if self.loop is not None:
                break
            weights.append(max(a.max_hops for a in analyses))
        if self.loop is not None and refuse:
            raise BridgeConfigError(
                "mqttTopicMapping",
                self._loop_message(self.loop),
                cycle=self.loop.cycle or (),
                example=self.loop.example,
            )
        #: an upper bound on the relays one message causes in a row (exact for simple
        #: configurations); ``None`` when a message can be relayed forever
        self.max_relay_hops: int | None = None
        if self.loop is None:
            self.max_relay_hops = (
                1 + longest_path(found, triples.__getitem__, weights) if self.mappings else 0
            )

    def _analyse(self, trailing_slash: bool, members: list[int]) -> LoopAnalysis:
        """The exact analysis of :mod:`.loops` over the mappings ``members`` (indexes), with
        every subscription that can hand them a message."""
        chosen = [self.mappings[at] for at in members]
        routes = [
            Route(m.name, m.source, m.target, m.target_topic_prefix, ("route", at))
            for at, m in zip(members, chosen, strict=True)
        ]
        tests: dict[Any, list] = {"star": [contains_nfa("*")]}
        for at, mapping in zip(members, chosen, strict=True):
            tests[("route", at)] = [_routing_pattern(mapping.topic)]
        routed = {source: [m.topic for m in chosen if m.source == source] for source in SOURCES}
        exact = [
            f
            for f in self.subscriptions(PUBSUB)
            if not is_wildcard(f) and any(bridge_matches(r, f) for r in routed[PUBSUB])
        ]
        tests["pubsub_echo"] = [LevelPattern(tuple(java_split(f)), EXACT) for f in exact]
        local = [
            f
            for f in self.subscriptions(LOCAL_MQTT)
            if any(may_overlap(moquette_tokens(f), r) for r in routed[LOCAL_MQTT])
        ]
        tests["local_any"] = [p for f in local for p in _moquette_patterns(f, trailing_slash)]
        tests["local_echo"] = [
            p for f in local if not self._no_local(f) for p in _moquette_patterns(f, trailing_slash)
        ]
        alphabet = {"*"}
        for topic in [*(m.topic for m in chosen), *exact, *local]:
            alphabet |= set(topic.replace("+", "").replace("#", ""))
        for mapping in chosen:
            alphabet |= set(mapping.target_topic_prefix)
        witness = next(
            c
            for c in "xyzqjkvwXYZQ0123456789" + "".join(map(chr, range(0xC0, 0x2FF)))
            if c not in alphabet
        )

        def received(source: str, passed: frozenset, from_bridge: bool) -> bool:
            if source == LOCAL_MQTT:
                return ("local_echo" if from_bridge else "local_any") in passed
            if source == PUBSUB:
                return "star" not in passed and (not from_bridge or "pubsub_echo" in passed)
            return not from_bridge or self.iot_core_echo

        def publishable(target: str, passed: frozenset) -> bool:
            return not (target == PUBSUB and "star" in passed)

        try:
            return analyse(
                routes,
                tests,
                alphabet,
                received,
                publishable,
                witness,
                "/" if trailing_slash else "",
            )
        except OverflowError as error:
            names = ", ".join(m.name for m in chosen)
            raise BridgeConfigError(
                "mqttTopicMapping",
                f"cannot decide whether the mappings {names} relay a message forever: {error}",
            ) from None

    def _loop_message(self, analysis: LoopAnalysis) -> str:
        assert analysis.cycle is not None
        by_name = {m.name: m for m in self.mappings}
        chain = ""
        for source, topic, name in analysis.example:
            chain += f"{source} {topic!r} -[{name}]-> "
        last = by_name[analysis.example[-1][2]]
        chain += f"{last.target} {last.target_topic_prefix + analysis.example[-1][1]!r} -> ..."
        cycle = " -> ".join([*analysis.cycle, analysis.cycle[0]])
        echoes = "Moquette hands the bridge back its own LocalMqtt publications"
        echoes += (
            ", an exact-topic Pubsub subscription receives the bridge's own Pubsub publications"
        )
        if self.iot_core_echo:
            echoes += ", and IoT Core echoes the bridge's own IotCore publications"
        return (
            f"mappings {cycle} relay a message forever, for example {chain} The bridge has no "
            f"loop protection ({echoes}; greengrass-v2-topology.md §1.4), and a loop melts the "
            "core, so this configuration is refused. Map each exact topic one way only. For a "
            "client device's shadow use the echo-free classic form (§3.1, §5.3): the request "
            "topics $aws/things/<thing>/shadow/get, /update and /delete LocalMqtt -> Pubsub, "
            "and the wildcard $aws/things/<thing>/shadow/# Pubsub -> LocalMqtt."
        )


def _check_source(source: str) -> None:
    if source not in SOURCES:
        raise ValueError(f"not a bridge source: {source!r} (one of {', '.join(SOURCES)})")


def _elements(levels: list[str]) -> tuple[str | None, ...]:
    return tuple(None if level == "+" else level for level in levels)


def _routing_pattern(topic_filter: str) -> LevelPattern:
    """``MqttTopic.isSupersetOf(filter, ·)`` as a level pattern (a valid filter)."""
    levels = java_split(topic_filter)
    if levels[-1] == "#":
        return LevelPattern(_elements(levels[:-1]), REST1)
    return LevelPattern(_elements(levels), EXACT)


def _moquette_patterns(topic_filter: str, trailing_slash: bool) -> list[LevelPattern]:
    """Moquette's matching of ``topic_filter`` as level patterns on ``topic.split("/")`` for
    topics not ending in ``/``, or on the topic without its trailing slashes otherwise (where
    Moquette adds one empty token)."""
    tokens = moquette_tokens(topic_filter)
    if not trailing_slash:
        if tokens[-1] == "#":
            return [LevelPattern(_elements(tokens[:-1]), REST0)]
        return [LevelPattern(_elements(tokens), EXACT)]
    patterns: list[LevelPattern] = []
    if tokens[-1] == "#":
        fixed = len(tokens) - 1
        patterns.append(LevelPattern(_elements(tokens[:fixed]), REST0))
        if fixed >= 2 and tokens[fixed - 1] in ("", "+"):
            patterns.append(LevelPattern(_elements(tokens[: fixed - 1]), EXACT))
    elif len(tokens) >= 2 and tokens[-1] in ("", "+"):
        patterns.append(LevelPattern(_elements(tokens[:-1]), EXACT))
    return patterns
