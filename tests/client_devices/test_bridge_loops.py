"""Loops are refused at load; what terminates is accepted, with its longest chain."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fakes.client_devices import IOT_CORE, LOCAL_MQTT, PUBSUB, BridgeConfigError, MqttBridge
from tests.client_devices.helpers import bridge_5_3, mapping

SHADOW_ALL = "$aws/things/+/shadow/#"


def load(mappings: dict, **options) -> MqttBridge:
    config = {"mqttTopicMapping": mappings, **options.pop("config", {})}
    return MqttBridge.from_configuration(config, **options)


def refused(mappings: dict, **options) -> BridgeConfigError:
    with pytest.raises(BridgeConfigError) as caught:
        load(mappings, **options)
    return caught.value


def longest_chain(bridge: MqttBridge, source: str, topic: str, limit: int) -> int:
    """Relay hops from one first message, iterating ``relay`` with the receive-mode rule
    (``from_bridge`` after the first hop); stops counting at ``limit``."""
    best = 0
    frontier = {(source, topic)}
    from_bridge = False
    for depth in range(1, limit + 1):
        nxt = set()
        for src, top in frontier:
            for relay in bridge.relay(src, top, from_bridge=from_bridge):
                if relay.delivered:
                    nxt.add((relay.target, relay.topic))
        if not nxt:
            return best
        best, frontier, from_bridge = depth, nxt, True
    return best


def test_same_exact_topic_both_ways_is_refused() -> None:
    error = refused(
        {
            "ReadingsToPubsub": mapping("bme680/readings", LOCAL_MQTT, PUBSUB),
            "ReadingsToLocal": mapping("bme680/readings", PUBSUB, LOCAL_MQTT),
        }
    )
    assert error.path == "mqttTopicMapping"
    assert set(error.cycle) == {"ReadingsToPubsub", "ReadingsToLocal"}
    text = str(error)
    assert "ReadingsToPubsub" in text and "ReadingsToLocal" in text
    assert "relay a message forever" in text
    assert "'bme680/readings'" in text
    assert "echo-free classic form (§3.1, §5.3)" in text
    assert "$aws/things/<thing>/shadow/# Pubsub -> LocalMqtt" in text


def test_the_documented_two_way_shadow_mapping_terminates_with_one_echo() -> None:
    bridge = load(
        {
            "ShadowToPubsub": mapping(SHADOW_ALL, LOCAL_MQTT, PUBSUB),
            "ShadowToLocal": mapping(SHADOW_ALL, PUBSUB, LOCAL_MQTT),
        }
    )
    response = "$aws/things/dev/shadow/update/accepted"
    (to_device,) = bridge.relay(PUBSUB, response)
    assert to_device.target == LOCAL_MQTT
    (echo,) = bridge.relay(LOCAL_MQTT, response, from_bridge=True)  # Moquette hands it back
    assert (echo.target, echo.topic) == (PUBSUB, response)
    assert bridge.relay(PUBSUB, response, from_bridge=True) == []  # wildcard: not from self
    assert bridge.max_relay_hops == 2
    assert longest_chain(bridge, PUBSUB, response, 10) == 2


@pytest.mark.parametrize(
    "shadow",
    ["$aws/things/MyClientDevice/shadow/#", "$aws/things/+/shadow/name/DeviceConfiguration/#"],
)
def test_the_other_documented_two_way_forms_are_accepted(shadow: str) -> None:
    bridge = load(
        {"Up": mapping(shadow, LOCAL_MQTT, PUBSUB), "Down": mapping(shadow, PUBSUB, LOCAL_MQTT)}
    )
    assert bridge.max_relay_hops == 2


def test_the_classic_only_form_has_no_echo() -> None:
    mappings = {
        f"{op}ToPubsub": mapping(f"$aws/things/+/shadow/{op}", LOCAL_MQTT, PUBSUB)
        for op in ("update", "get", "delete")
    }
    mappings |= {
        f"{op}ToLocal": mapping(f"$aws/things/+/shadow/{op}/#", PUBSUB, LOCAL_MQTT)
        for op in ("update", "get", "delete")
    }
    bridge = load(mappings)
    response = "$aws/things/dev/shadow/update/accepted"
    assert len(bridge.relay(PUBSUB, response)) == 1
    assert bridge.relay(LOCAL_MQTT, response, from_bridge=True) == []
    assert longest_chain(bridge, PUBSUB, response, 10) == 1


def test_the_worked_example_is_accepted() -> None:
    assert MqttBridge.from_configuration(bridge_5_3()).max_relay_hops == 2


def test_adding_readings_back_to_local_is_refused() -> None:
    # "Never add bme680/readings Pubsub -> LocalMqtt here" (§5.3)
    config = bridge_5_3()
    config["mqttTopicMapping"]["ReadingsBack"] = mapping("bme680/readings", PUBSUB, LOCAL_MQTT)
    with pytest.raises(BridgeConfigError) as caught:
        MqttBridge.from_configuration(config)
    assert set(caught.value.cycle) == {"Bme680ReadingsToPubsub", "ReadingsBack"}


def test_iot_core_echo_decides_mqtt_loops() -> None:
    both_ways = {
        "Up": mapping("a/#", LOCAL_MQTT, IOT_CORE),
        "Down": mapping("a/#", IOT_CORE, LOCAL_MQTT),
    }
    refused(both_ways)
    assert load(both_ways, iot_core_echo=False).max_relay_hops == 2  # down, then Moquette's echo
    # through Pubsub the wildcard subscription stops the echo
    assert (
        load(
            {"Up": mapping("a/#", PUBSUB, IOT_CORE), "Down": mapping("a/#", IOT_CORE, PUBSUB)}
        ).max_relay_hops
        == 2
    )
    refused({"Up": mapping("a/b", PUBSUB, IOT_CORE), "Down": mapping("a/b", IOT_CORE, PUBSUB)})


def test_a_prefix_can_break_a_loop() -> None:
    bridge = load(
        {"Up": mapping("a", LOCAL_MQTT, PUBSUB), "Down": mapping("a", PUBSUB, LOCAL_MQTT, "x/")}
    )
    assert bridge.max_relay_hops == 2
    assert longest_chain(bridge, LOCAL_MQTT, "a", 10) == 2


def test_growing_topics_can_loop_forever() -> None:
    error = refused(
        {
            "Up": mapping("#", LOCAL_MQTT, IOT_CORE, "a/"),
            "Down": mapping("a/#", IOT_CORE, LOCAL_MQTT),
        }
    )
    (source, first, up), (target, second, down), *_ = error.example
    assert (source, up, target, down) == (LOCAL_MQTT, "Up", IOT_CORE, "Down")
    assert second == "a/" + first
    # a prefix without a slash grows the first level: '+' keeps matching
    refused(
        {
            "Up": mapping("+/b", LOCAL_MQTT, IOT_CORE, "x"),
            "Down": mapping("+/b", IOT_CORE, LOCAL_MQTT),
        }
    )


def test_growing_topics_that_stop_matching_terminate() -> None:
    bridge = load(
        {
            "Up": mapping("#", LOCAL_MQTT, IOT_CORE, "p/"),
            "Down": mapping("p/+", IOT_CORE, LOCAL_MQTT),
        }
    )
    assert bridge.max_relay_hops == 3  # t -> p/t -> p/t (local) -> p/p/t, then p/+ fails
    assert longest_chain(bridge, LOCAL_MQTT, "t", 10) == 3


def test_a_loop_only_topics_ending_in_a_slash_take() -> None:
    # With mqtt5 noLocal on "a", the bridge's own "a" never comes back; but "a/" comes
    # back through "a/+" (Moquette adds an empty last level) and routes by "a" (Java's split
    # drops it), and Pubsub's exact "a" subscription takes "a/" too.
    mappings = {
        "Up": mapping("a", LOCAL_MQTT, PUBSUB),
        "Catch": mapping("a/+", LOCAL_MQTT, IOT_CORE),
        "Down": mapping("a", PUBSUB, LOCAL_MQTT),
    }
    config = {"mqtt": {"version": "mqtt5"}, "mqtt5RouteOptions": {"Up": {"noLocal": True}}}
    error = refused(mappings, config=config)
    assert error.example[0][1].endswith("/")
    bridge = load(mappings, config=config, refuse_loops=False)
    assert longest_chain(bridge, LOCAL_MQTT, "a", 10) == 2
    assert longest_chain(bridge, LOCAL_MQTT, "a/", 10) == 10


def test_refuse_loops_false_keeps_a_looping_bridge() -> None:
    bridge = load(
        {"Up": mapping("a", LOCAL_MQTT, PUBSUB), "Down": mapping("a", PUBSUB, LOCAL_MQTT)},
        refuse_loops=False,
    )
    assert bridge.max_relay_hops is None
    assert bridge.loop is not None and set(bridge.loop.cycle or ()) == {"Up", "Down"}
    assert longest_chain(bridge, LOCAL_MQTT, "a", 25) == 25


# -- properties ----------------------------------------------------------------------------

SOURCES = [LOCAL_MQTT, PUBSUB, IOT_CORE]
_filters = st.sampled_from(
    ["a", "a/b", "a/#", "#", "+", "+/b", "a/+", "+/+", "a//b", "a/b/", "/a", "b/#", "+/#"]
)


@st.composite
def configs(draw) -> dict:
    """Up to four mappings over a handful of filters, so that pairs collide and loop."""
    mappings = {}
    for index in range(draw(st.integers(1, 4))):
        source, target = draw(st.permutations(SOURCES))[:2]
        mappings[f"M{index}"] = mapping(
            draw(_filters), source, target, draw(st.sampled_from(["", "", "a/", "b", "/"]))
        )
    return mappings


SEEDS = [
    "a",
    "b",
    "c",
    "a/b",
    "a/a",
    "b/a",
    "a/b/c",
    "a/",
    "a/b/",
    "/a",
    "a//b",
    "c/a/b",
    "a/a/a",
    "b/b",
    "ba/b",
    "aa/b",
]


@settings(max_examples=150, deadline=None)
@given(configs(), st.booleans())
def test_accepted_configurations_relay_a_bounded_number_of_hops(mappings, echo) -> None:
    bridge = load(mappings, iot_core_echo=echo, refuse_loops=False)
    if bridge.loop is None:
        assert bridge.max_relay_hops is not None
        limit = bridge.max_relay_hops + 1
        for source in SOURCES:
            for seed in SEEDS:
                assert longest_chain(bridge, source, seed, limit) <= bridge.max_relay_hops
    else:
        # the witness of a refusal really loops when relays are iterated
        source, first, _ = bridge.loop.example[0]
        assert longest_chain(bridge, source, first, 25) == 25
        with pytest.raises(BridgeConfigError):
            load(mappings, iot_core_echo=echo)


@st.composite
def pairs(draw) -> dict:
    """A mapping and one back, plus maybe a third: the shapes that loop."""
    source, target, other = draw(st.permutations(SOURCES))
    prefixes = st.sampled_from(["", "", "a/", "b", "/"])
    mappings = {
        "There": mapping(draw(_filters), source, target, draw(prefixes)),
        "Back": mapping(draw(_filters), target, source, draw(prefixes)),
    }
    if draw(st.booleans()):
        mappings["Aside"] = mapping(
            draw(_filters), draw(st.sampled_from([source, target])), other, draw(prefixes)
        )
    return mappings


@settings(max_examples=150, deadline=None)
@given(pairs(), st.booleans())
def test_the_analysis_agrees_with_iterating_relays(mappings, echo) -> None:
    bridge = load(mappings, iot_core_echo=echo, refuse_loops=False)
    endless = any(
        longest_chain(bridge, source, seed, 20) == 20
        for source in SOURCES
        for seed in SEEDS
        if not (source == PUBSUB and "*" in seed)
    )
    if bridge.loop is None:
        assert not endless
        assert bridge.max_relay_hops is not None and bridge.max_relay_hops < 20
    else:
        source, first, _ = bridge.loop.example[0]
        assert longest_chain(bridge, source, first, 20) == 20
