"""Bridge configuration: mappings, sources and targets, filters, prefixes, mqtt.* settings."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fakes.client_devices import IOT_CORE, LOCAL_MQTT, PUBSUB, BridgeConfigError, MqttBridge
from tests.client_devices.helpers import STATION_SHADOW, bridge_5_3, mapping


def refused(config: Any) -> BridgeConfigError:
    with pytest.raises(BridgeConfigError) as caught:
        MqttBridge.from_configuration(config)
    return caught.value


def test_the_worked_example_loads() -> None:
    bridge = MqttBridge.from_configuration(bridge_5_3())
    assert [m.name for m in bridge.mappings] == [
        "Bme680ReadingsToPubsub",
        "StationShadowGetToPubsub",
        "StationShadowUpdateToPubsub",
        "StationShadowResponsesToLocal",
    ]
    assert bridge.subscriptions(LOCAL_MQTT) == [
        "bme680/readings",
        f"{STATION_SHADOW}/get",
        f"{STATION_SHADOW}/update",
    ]
    assert bridge.subscriptions(PUBSUB) == [f"{STATION_SHADOW}/#"]
    assert bridge.subscriptions(IOT_CORE) == []
    assert bridge.broker_uri == "ssl://localhost:8883"
    assert bridge.client_id.startswith("mqtt-bridge-") and len(bridge.client_id) == 23
    assert bridge.mqtt.version == "mqtt3" and bridge.mqtt.receive_maximum == 100


def test_subscriptions_are_distinct_topics() -> None:
    bridge = MqttBridge.from_configuration(
        {
            "mqttTopicMapping": {
                "A": mapping("a/#", LOCAL_MQTT, PUBSUB),
                "B": mapping("a/#", LOCAL_MQTT, IOT_CORE),
                "C": mapping("b", LOCAL_MQTT, IOT_CORE),
            }
        }
    )
    assert bridge.subscriptions(LOCAL_MQTT) == ["a/#", "b"]
    with pytest.raises(ValueError, match="not a bridge source"):
        bridge.subscriptions("Local")


@pytest.mark.parametrize(
    ("entry", "path", "text"),
    [
        (mapping("a", "Local", PUBSUB), "M.source", "'Local' is not one of LocalMqtt"),
        (mapping("a", LOCAL_MQTT, "cloud"), "M.target", "'cloud' is not one of"),
        ({"topic": "a", "target": PUBSUB}, "M.source", "source is missing"),
        (mapping("a", LOCAL_MQTT, LOCAL_MQTT), "M", "both LocalMqtt: they must differ"),
        (mapping("a/#/b", LOCAL_MQTT, PUBSUB), "M.topic", "'#' must be a whole level"),
        (mapping("a/b+", LOCAL_MQTT, PUBSUB), "M.topic", "'+' must be a whole level"),
        (mapping("", LOCAL_MQTT, PUBSUB), "M.topic", "empty"),
        ({"source": LOCAL_MQTT, "target": PUBSUB}, "M.topic", "topic is missing"),
        (mapping("a", LOCAL_MQTT, PUBSUB, "x/+/"), "M.targetTopicPrefix", "every relayed"),
        (mapping("a", LOCAL_MQTT, PUBSUB, "x/*/"), "M.targetTopicPrefix", "'*'"),
        ("LocalMqtt", "M", "must be an object"),
    ],
)
def test_bad_mappings_are_named(entry: Any, path: str, text: str) -> None:
    error = refused({"mqttTopicMapping": {"M": entry}})
    assert error.path == f"mqttTopicMapping.{path}"
    assert text in str(error)


def test_sources_and_keys_in_any_case() -> None:
    bridge = MqttBridge.from_configuration(
        {
            "MqttTopicMapping": {
                "M": {
                    "Topic": "a",
                    "SOURCE": "localmqtt",
                    "target": "PUBSUB",
                    "TargetTopicPrefix": "p/",
                }
            }
        }
    )
    assert (bridge.mappings[0].source, bridge.mappings[0].target) == (LOCAL_MQTT, PUBSUB)
    assert bridge.mappings[0].target_topic_prefix == "p/"


def test_a_star_prefix_is_fine_towards_mqtt() -> None:
    bridge = MqttBridge.from_configuration(
        {"mqttTopicMapping": {"M": mapping("a", PUBSUB, IOT_CORE, "x/*/")}}
    )
    assert bridge.relay(PUBSUB, "a")[0].topic == "x/*/a"


def test_mqtt_settings_follow_the_bridges_rules() -> None:
    bridge = MqttBridge.from_configuration(
        {
            "mqtt": {
                "ackTimeoutSeconds": -1,
                "receiveMaximum": 0,
                "maximumPacketSize": "100",
                "sessionExpiryInterval": 2**40,
                "version": "MQTT5",
                "keepAliveTimeoutSeconds": 0,
            }
        }
    )
    assert bridge.mqtt.ack_timeout_seconds == 60
    assert bridge.mqtt.receive_maximum == 1
    assert bridge.mqtt.maximum_packet_size == 100
    assert bridge.mqtt.session_expiry_interval == 4_294_967_295
    assert bridge.mqtt.version == "mqtt5"
    assert "mqtt.ackTimeoutSeconds: Provided ackTimeoutSeconds out of range. Defaulting to 60" in (
        bridge.warnings
    )
    assert MqttBridge.from_configuration({"mqtt": {"version": "v5"}}).mqtt.version == "mqtt3"


@pytest.mark.parametrize(
    ("mqtt", "path", "text"),
    [
        (
            {"maxReconnectDelayMs": 10, "minReconnectDelayMs": 20},
            "mqtt.maxReconnectDelayMs",
            "maxReconnectDelayMs must be greater than or equal to minReconnectDelayMs",
        ),
        (
            {"keepAliveTimeoutSeconds": 30},
            "mqtt.keepAliveTimeoutSeconds",
            "keepAliveTimeoutSeconds must be greater than pingTimeoutMs",
        ),
    ],
)
def test_mqtt_settings_the_bridge_refuses(mqtt: dict, path: str, text: str) -> None:
    error = refused({"mqtt": mqtt})
    assert (error.path, error.message) == (path, text)


def test_broker_uri() -> None:
    assert MqttBridge.from_configuration({"brokerServerUri": "ssl://a:1"}).broker_uri == "ssl://a:1"
    assert (
        MqttBridge.from_configuration(
            {"brokerServerUri": "ssl://a:1", "brokerUri": "ssl://b:2"}
        ).broker_uri
        == "ssl://b:2"
    )
    assert str(refused({"brokerUri": "ssl://local host:8883"})) == (
        "brokerUri: Malformed brokerUri: ssl://local host:8883"
    )


def test_route_options() -> None:
    bridge = MqttBridge.from_configuration(
        {
            "mqttTopicMapping": {"M": mapping("a", LOCAL_MQTT, IOT_CORE)},
            "mqtt5RouteOptions": {"M": {"noLocal": "true", "retainAsPublished": True}},
        }
    )
    assert bridge.route_options == {"M": (True, True)}
    error = refused({"mqtt5RouteOptions": {"M": {"noLocal": "maybe"}}})
    assert error.path == "mqtt5RouteOptions.M.noLocal"


_json = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-2, 2)
    | st.sampled_from(
        ["", "a", "a/#", "#", "+/b", "LocalMqtt", "Pubsub", "IotCore", "p/", "mqtt5"]
    ),
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(
            st.sampled_from(
                [
                    "mqttTopicMapping",
                    "M",
                    "N",
                    "topic",
                    "source",
                    "target",
                    "targetTopicPrefix",
                    "mqtt",
                    "version",
                    "mqtt5RouteOptions",
                    "noLocal",
                    "brokerUri",
                ]
            ),
            inner,
            max_size=4,
        )
    ),
    max_leaves=12,
)


@settings(max_examples=300)
@given(_json)
def test_any_input_loads_or_raises_the_config_error(config: Any) -> None:
    try:
        bridge = MqttBridge.from_configuration(config)
    except BridgeConfigError as error:
        assert str(error)
        return
    for source in (LOCAL_MQTT, PUBSUB, IOT_CORE):
        assert isinstance(bridge.relay(source, "a"), list)
