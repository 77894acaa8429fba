"""Bridge relays: fan-out, prefixes, QoS and retain, receive modes, duplicates."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fakes.client_devices import IOT_CORE, LOCAL_MQTT, PUBSUB, MqttBridge, Relay
from fakes.client_devices.topics import bridge_matches
from tests.client_devices.helpers import STATION_SHADOW, bridge_5_3, mapping


def bridge(mappings: dict, **config) -> MqttBridge:
    return MqttBridge.from_configuration({"mqttTopicMapping": mappings, **config})


def targets(relays: list[Relay]) -> list[tuple[str, str, str]]:
    return [(r.mapping, r.target, r.topic) for r in relays]


# -- the worked example (§5.5) --------------------------------------------------------------


def test_sensor_readings_reach_pubsub_as_a_binary_message() -> None:
    station = MqttBridge.from_configuration(bridge_5_3())
    (relay,) = station.relay(LOCAL_MQTT, "bme680/readings")
    assert (relay.mapping, relay.target, relay.topic) == (
        "Bme680ReadingsToPubsub",
        PUBSUB,
        "bme680/readings",
    )
    assert relay.binary_message and relay.qos is None and relay.delivered
    assert station.relay(LOCAL_MQTT, "bme680/other") == []


def test_shadow_responses_reach_the_console_and_do_not_echo() -> None:
    station = MqttBridge.from_configuration(bridge_5_3())
    accepted = f"{STATION_SHADOW}/update/accepted"
    (relay,) = station.relay(PUBSUB, accepted)
    assert (relay.target, relay.topic, relay.qos, relay.retain) == (LOCAL_MQTT, accepted, 1, False)
    # Moquette hands it back to the bridge, but no LocalMqtt mapping takes a response topic
    assert station.receives(LOCAL_MQTT, accepted, from_bridge=True) == 0
    assert station.relay(LOCAL_MQTT, accepted, from_bridge=True) == []
    # the console's requests go to ShadowManager on pub/sub
    assert targets(station.relay(LOCAL_MQTT, f"{STATION_SHADOW}/get")) == [
        ("StationShadowGetToPubsub", PUBSUB, f"{STATION_SHADOW}/get")
    ]
    assert station.relay(LOCAL_MQTT, f"{STATION_SHADOW}/delete") == []
    assert station.max_relay_hops == 2


# -- routing --------------------------------------------------------------------------------


def test_fan_out_to_every_matching_mapping_in_order() -> None:
    fan = bridge(
        {
            "All": mapping("sensors/#", LOCAL_MQTT, PUBSUB),
            "Cloud": mapping("sensors/+/t", LOCAL_MQTT, IOT_CORE, "edge/"),
            "Other": mapping("other", LOCAL_MQTT, IOT_CORE),
            "Back": mapping("sensors/#", PUBSUB, IOT_CORE),
        }
    )
    assert targets(fan.relay(LOCAL_MQTT, "sensors/a/t")) == [
        ("All", PUBSUB, "sensors/a/t"),
        ("Cloud", IOT_CORE, "edge/sensors/a/t"),
    ]
    assert targets(fan.relay(LOCAL_MQTT, "sensors/a/h")) == [("All", PUBSUB, "sensors/a/h")]


def test_the_documented_prefix_example() -> None:
    prefixed = bridge({"M": mapping("clients/+/detections", LOCAL_MQTT, PUBSUB, "events/input/")})
    (relay,) = prefixed.relay(LOCAL_MQTT, "clients/a/detections")
    assert relay.topic == "events/input/clients/a/detections"
    assert relay.source_topic == "clients/a/detections"


def test_moquette_delivers_the_parent_but_the_bridge_does_not_route_it() -> None:
    parent = bridge({"M": mapping("a/#", LOCAL_MQTT, IOT_CORE)})
    assert parent.receives(LOCAL_MQTT, "a") == 1
    assert parent.relay(LOCAL_MQTT, "a") == []
    assert len(parent.relay(LOCAL_MQTT, "a/b")) == 1


def test_qos_and_retain() -> None:
    assert MqttBridge.QOS == {IOT_CORE: 1, LOCAL_MQTT: 1}
    assert MqttBridge.RETAIN is False
    both = bridge(
        {
            "ToCloud": mapping("a", LOCAL_MQTT, IOT_CORE),
            "ToPubsub": mapping("a", LOCAL_MQTT, PUBSUB),
        }
    )
    cloud, local = both.relay(LOCAL_MQTT, "a", retain=True)
    assert (cloud.qos, cloud.retain, cloud.binary_message) == (1, False, False)
    assert (local.qos, local.retain, local.binary_message) == (None, False, True)


def test_retain_as_published_needs_mqtt5_and_an_unprefixed_exact_topic() -> None:
    config = {"mqtt": {"version": "mqtt5"}, "mqtt5RouteOptions": {"M": {"retainAsPublished": True}}}
    exact = bridge({"M": mapping("a/b", LOCAL_MQTT, IOT_CORE)}, **config)
    assert exact.relay(LOCAL_MQTT, "a/b", retain=True)[0].retain
    assert not exact.relay(LOCAL_MQTT, "a/b", retain=False)[0].retain
    wildcard = bridge({"M": mapping("a/#", LOCAL_MQTT, IOT_CORE)}, **config)
    assert not wildcard.relay(LOCAL_MQTT, "a/b", retain=True)[0].retain  # looked up by "a/b"
    mqtt3 = bridge(
        {"M": mapping("a/b", LOCAL_MQTT, IOT_CORE)},
        mqtt5RouteOptions={"M": {"retainAsPublished": True}},
    )
    assert not mqtt3.relay(LOCAL_MQTT, "a/b", retain=True)[0].retain


# -- receive modes ------------------------------------------------------------------------


def test_pubsub_wildcard_subscription_does_not_get_the_bridges_own_messages() -> None:
    wild = bridge({"M": mapping("a/+", PUBSUB, IOT_CORE)})
    assert wild.receives(PUBSUB, "a/b") == 1
    assert wild.receives(PUBSUB, "a/b", from_bridge=True) == 0
    exact = bridge({"M": mapping("a/b", PUBSUB, IOT_CORE)})
    assert exact.receives(PUBSUB, "a/b", from_bridge=True) == 1


def test_an_exact_pubsub_subscription_lets_wildcard_mappings_fire_too() -> None:
    mixed = bridge(
        {"Exact": mapping("a/b", PUBSUB, IOT_CORE), "Wild": mapping("a/#", PUBSUB, LOCAL_MQTT)}
    )
    assert targets(mixed.relay(PUBSUB, "a/b", from_bridge=True)) == [
        ("Exact", IOT_CORE, "a/b"),
        ("Wild", LOCAL_MQTT, "a/b"),
    ]
    assert mixed.relay(PUBSUB, "a/c", from_bridge=True) == []


def test_localmqtt_always_echoes_unless_mqtt5_no_local() -> None:
    plain = bridge({"M": mapping("a", LOCAL_MQTT, IOT_CORE)})
    assert plain.receives(LOCAL_MQTT, "a", from_bridge=True) == 1
    no_local = bridge(
        {"M": mapping("a", LOCAL_MQTT, IOT_CORE)},
        mqtt={"version": "mqtt5"},
        mqtt5RouteOptions={"M": {"noLocal": True}},
    )
    assert no_local.receives(LOCAL_MQTT, "a", from_bridge=True) == 0
    assert no_local.receives(LOCAL_MQTT, "a") == 1


def test_iot_core_delivers_once_per_matching_subscription() -> None:
    overlapping = bridge(
        {"Wide": mapping("a/#", IOT_CORE, PUBSUB), "Narrow": mapping("a/b", IOT_CORE, LOCAL_MQTT)}
    )
    assert overlapping.receives(IOT_CORE, "a/b") == 2
    assert (
        targets(overlapping.relay(IOT_CORE, "a/b"))
        == [("Wide", PUBSUB, "a/b"), ("Narrow", LOCAL_MQTT, "a/b")] * 2
    )
    assert targets(overlapping.relay(IOT_CORE, "a/c")) == [("Wide", PUBSUB, "a/c")]
    quiet = MqttBridge.from_configuration(
        {"mqttTopicMapping": {"M": mapping("a", IOT_CORE, PUBSUB)}}, iot_core_echo=False
    )
    assert quiet.relay(IOT_CORE, "a", from_bridge=True) == []
    assert len(quiet.relay(IOT_CORE, "a")) == 1


def test_pubsub_refuses_a_topic_with_a_star() -> None:
    star = bridge({"M": mapping("a/+", LOCAL_MQTT, PUBSUB)})
    (relay,) = star.relay(LOCAL_MQTT, "a/*")
    assert not relay.delivered
    assert relay.error == "Publish topic must not contain a wildcard."


@pytest.mark.parametrize(
    ("source", "topic"), [(LOCAL_MQTT, "a/+"), (PUBSUB, ""), (PUBSUB, "a/*"), (IOT_CORE, "#")]
)
def test_topics_a_source_cannot_carry(source: str, topic: str) -> None:
    with pytest.raises(ValueError, match="cannot carry"):
        bridge({}).relay(source, topic)


# -- properties ----------------------------------------------------------------------------

_levels = st.sampled_from(["a", "b", "+"])


@st.composite
def configs(draw) -> dict:
    mappings = {}
    for index in range(draw(st.integers(1, 4))):
        levels = draw(st.lists(_levels, min_size=1, max_size=3))
        if draw(st.booleans()):
            levels.append("#")
        source, target = draw(st.permutations([LOCAL_MQTT, PUBSUB, IOT_CORE]))[:2]
        mappings[f"M{index}"] = mapping(
            "/".join(levels), source, target, draw(st.sampled_from(["", "p/", "q", "a/b/"]))
        )
    return mappings


_topic = st.lists(st.sampled_from(["a", "b", "c"]), min_size=1, max_size=4).map("/".join)


@given(configs(), st.sampled_from([LOCAL_MQTT, PUBSUB, IOT_CORE]), _topic, st.booleans())
def test_target_topic_is_always_prefix_plus_source_topic(mappings, source, topic, from_bridge):
    relays = MqttBridge.from_configuration(
        {"mqttTopicMapping": mappings}, refuse_loops=False
    ).relay(source, topic, from_bridge=from_bridge)
    for relay in relays:
        assert relay.source == source and relay.source_topic == topic
        assert relay.topic == mappings[relay.mapping]["targetTopicPrefix"] + topic
        assert relay.qos == (None if relay.target == PUBSUB else 1)
        assert relay.retain is False


@given(configs(), st.sampled_from([LOCAL_MQTT, PUBSUB, IOT_CORE]), _topic)
def test_a_relay_goes_to_every_matching_mapping_of_the_source(mappings, source, topic):
    relayed = MqttBridge.from_configuration(
        {"mqttTopicMapping": mappings}, refuse_loops=False
    ).relay(source, topic)
    matching = [
        name
        for name, m in mappings.items()
        if m["source"] == source and bridge_matches(m["topic"], topic)
    ]
    assert sorted(set(r.mapping for r in relayed)) == sorted(matching)
