"""CDA authorization: groups, operations, resources by version, topic filters compared literally."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fakes.client_devices import ClientDeviceAuth
from tests.client_devices.helpers import STATION_SHADOW, allow, cda_5_3, groups


def cda(
    statements: dict, *, rule: str = "thingName: t", version: str = "2.5.2"
) -> ClientDeviceAuth:
    return ClientDeviceAuth.from_configuration(
        groups({"G": (rule, "P")}, {"P": statements}), version=version
    )


# -- the worked example (§5.5) --------------------------------------------------------------


def test_sensor_connects_as_its_thing_and_publishes_readings_only() -> None:
    auth = ClientDeviceAuth.from_configuration(cda_5_3())
    assert auth.can_connect("bme680-sensor")
    assert auth.can_publish("bme680-sensor", "bme680/readings")
    for topic in ("bme680/readings/x", "bme680/other", "hello/world", f"{STATION_SHADOW}/update"):
        assert not auth.can_publish("bme680-sensor", topic)
    # no subscribe permission at all
    for topic_filter in ("bme680/readings", "#", f"{STATION_SHADOW}/#"):
        assert not auth.can_subscribe("bme680-sensor", topic_filter)


def test_other_bme680_things_are_in_the_group_but_may_not_connect() -> None:
    auth = ClientDeviceAuth.from_configuration(cda_5_3())
    assert auth.policies_for("bme680-x") == [("Bme680Sensors", "SensorPolicy")]
    decision = auth.decide("bme680-x", "mqtt:connect", "mqtt:clientId:bme680-x")
    assert not decision.allowed
    assert decision.reason == (
        "denied by CDA: no statement of SensorPolicy (group Bme680Sensors) allows "
        "mqtt:connect on mqtt:clientId:bme680-x"
    )
    # but it may publish the readings topic (the policy does not name the thing)
    assert auth.can_publish("bme680-x", "bme680/readings")


def test_no_group_selects_the_device() -> None:
    auth = ClientDeviceAuth.from_configuration(cda_5_3())
    decision = auth.decide("bme-680", "mqtt:publish", "mqtt:topic:bme680/readings")
    assert decision.reason == "denied by CDA: no device group selects bme-680"
    assert decision.groups == ()
    assert auth.policies_for("bme-680") == []


def test_console_subscribes_to_exactly_its_filter() -> None:
    auth = ClientDeviceAuth.from_configuration(cda_5_3())
    assert auth.can_connect("weather-station")
    assert auth.can_subscribe("weather-station", f"{STATION_SHADOW}/#")
    # topic filters are compared literally, never with MQTT matching
    for topic_filter in (
        f"{STATION_SHADOW}/update/accepted",
        f"{STATION_SHADOW}/+",
        "$aws/things/+/shadow/#",
        "#",
    ):
        assert not auth.can_subscribe("weather-station", topic_filter)
    assert auth.can_publish("weather-station", f"{STATION_SHADOW}/get")
    assert not auth.can_publish("weather-station", f"{STATION_SHADOW}/delete")
    decision = auth.decide(
        "weather-station", "mqtt:subscribe", f"mqtt:topicfilter:{STATION_SHADOW}/#"
    )
    assert decision.grant == ("StationConsole", "StationShadowPolicy", "ShadowResponses")
    assert decision.reason == (
        "allowed by CDA: group StationConsole, policy StationShadowPolicy, statement "
        "ShadowResponses"
    )


# -- operations -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("policy_operation", "allowed"),
    [
        ("mqtt:publish", {"mqtt:publish"}),
        ("mqtt:*", {"mqtt:publish", "mqtt:subscribe", "mqtt:connect"}),
        ("*", {"mqtt:publish", "mqtt:subscribe", "mqtt:connect"}),
        ("mqtt:Publish", set()),
        ("mqtt:pub*", set()),
        ("publish", set()),
    ],
)
def test_operations(policy_operation: str, allowed: set[str]) -> None:
    auth = cda(allow([policy_operation], ["*"]))
    for operation in ("mqtt:publish", "mqtt:subscribe", "mqtt:connect"):
        assert auth.authorize("t", operation, "mqtt:topic:a") is (operation in allowed)


def test_mqtt_wildcards_in_topic_resources_are_not_matched() -> None:
    auth = cda(allow(["mqtt:publish"], ["mqtt:topic:a/+/c", "mqtt:topic:b/#"]))
    assert not auth.can_publish("t", "a/b/c")
    assert not auth.can_publish("t", "b/x")


# -- resources by version ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("resource", "request_resource", "v245", "v252"),
    [
        ("mqtt:topic:a/b", "mqtt:topic:a/b", True, True),
        ("*", "mqtt:topic:anything", True, True),
        ("mqtt:topic:*", "mqtt:topic:a/b", True, True),  # code: <service>:<type>:* since 2.2.0
        ("mqtt:clientId:*", "mqtt:clientId:bme680-sensor", True, True),
        ("mqtt:topic:*", "mqtt:clientId:x", False, False),
        ("mqtt:clientId:bme680-*", "mqtt:clientId:bme680-sensor", False, True),
        ("mqtt:topic:a/*/c", "mqtt:topic:a/b/x/c", False, True),  # * crosses '/'
        ("mqtt:topic:a/*/c", "mqtt:topic:a/b/x/d", False, False),
        ("mqtt:*:a", "mqtt:topic:a", False, True),
        ("mqtt:topic:a*", "mqtt:topic:a*", True, True),  # literal equality first
        ("mqtt:topic:a?", "mqtt:topic:ab", False, False),  # '?' is no wildcard
        ("mqtt:topicfilter:a/+/#", "mqtt:topicfilter:a/+/#", True, True),
        ("mqtt:topicfilter:a/*", "mqtt:topicfilter:a/+", False, True),
    ],
)
def test_resource_matching_by_version(
    resource: str, request_resource: str, v245: bool, v252: bool
) -> None:
    operation = (
        "mqtt:"
        + {"topic": "publish", "clientId": "connect", "topicfilter": "subscribe"}[
            request_resource.split(":")[1]
        ]
    )
    for version, expected in (("2.4.5", v245), ("2.5.2", v252), ("2.5.0", v252)):
        auth = cda(allow([operation], [resource]), version=version)
        assert auth.authorize("t", operation, request_resource) is expected, version


def test_thing_name_variable_from_2_5() -> None:
    statements = allow(
        ["mqtt:connect", "mqtt:publish"],
        [
            "mqtt:clientId:${iot:Connection.Thing.ThingName}",
            "mqtt:topic:sensors/${iot:Connection.Thing.ThingName}/*",
        ],
    )
    auth = cda(statements, rule="thingName: bme680-*")
    assert auth.can_connect("bme680-a") and auth.can_connect("bme680-b")
    assert auth.can_publish("bme680-a", "sensors/bme680-a/t")
    assert not auth.can_publish("bme680-a", "sensors/bme680-b/t")
    old = cda(statements, rule="thingName: bme680-*", version="2.4.5")
    assert not old.can_connect("bme680-a")  # compared literally before 2.5.0
    assert old.authorize(
        "bme680-a", "mqtt:connect", "mqtt:clientId:${iot:Connection.Thing.ThingName}"
    )


@pytest.mark.parametrize("topic", ["temp/°C", "a\nb", ""])
def test_topics_cda_cannot_parse_are_denied(topic: str) -> None:
    auth = cda(allow(["*"], ["*"]))
    decision = auth.decide("t", "mqtt:publish", f"mqtt:topic:{topic}")
    assert not decision.allowed
    assert "malformed" in decision.reason
    assert auth.can_publish("t", "temp/degC")


def test_operation_and_resource_of_other_services_is_a_caller_error() -> None:
    with pytest.raises(ValueError, match="other services"):
        cda(allow(["*"], ["*"])).authorize("t", "mqtt:publish", "iot:topic:a")


def test_statement_with_several_operations_and_resources_is_their_product() -> None:
    auth = cda(allow(["mqtt:publish", "mqtt:subscribe"], ["mqtt:topic:a", "mqtt:topicfilter:b"]))
    assert auth.can_publish("t", "a") and auth.can_subscribe("t", "b")
    assert not auth.can_publish("t", "b") and not auth.can_subscribe("t", "a")


# -- properties ----------------------------------------------------------------------------

_thing = st.text(alphabet="ab-", min_size=1, max_size=5)
_topic = st.text(alphabet="ab/", min_size=1, max_size=5)
_resource = st.one_of(
    st.just("*"),
    _topic.map(lambda t: f"mqtt:topic:{t}"),
    _topic.map(lambda t: f"mqtt:topic:{t}*"),
    _topic.map(lambda t: f"mqtt:topicfilter:{t}"),
    _thing.map(lambda t: f"mqtt:clientId:{t}"),
)
_operation = st.sampled_from(["mqtt:connect", "mqtt:publish", "mqtt:subscribe", "mqtt:*", "*"])
_statement = st.fixed_dictionaries(
    {
        "operations": st.lists(_operation, min_size=1, max_size=2),
        "resources": st.lists(_resource, min_size=1, max_size=3),
    }
)
_request = st.one_of(
    _topic.map(lambda t: ("mqtt:publish", f"mqtt:topic:{t}")),
    _topic.map(lambda t: ("mqtt:subscribe", f"mqtt:topicfilter:{t}")),
    _thing.map(lambda t: ("mqtt:connect", f"mqtt:clientId:{t}")),
)


@given(_statement, _thing, _request)
def test_a_device_selected_by_no_group_is_denied_everything(statement, thing, request) -> None:
    auth = ClientDeviceAuth.from_configuration(
        groups({"G": ("thingName: zz*", "P")}, {"P": {"S": statement}})
    )
    assert not auth.authorize(thing, *request)


@given(_statement, _statement, _thing, _request, st.sampled_from(["2.5.2", "2.4.5"]))
def test_two_groups_allow_exactly_what_either_allows(first, second, thing, request, version):
    both = ClientDeviceAuth.from_configuration(
        groups(
            {"G1": ("thingName: *", "P1"), "G2": ("thingName: a*", "P2")},
            {"P1": {"S": first}, "P2": {"S": second}},
        ),
        version=version,
    )
    only_first = ClientDeviceAuth.from_configuration(
        groups({"G1": ("thingName: *", "P1")}, {"P1": {"S": first}}), version=version
    )
    only_second = ClientDeviceAuth.from_configuration(
        groups({"G2": ("thingName: a*", "P2")}, {"P2": {"S": second}}), version=version
    )
    expected = only_first.authorize(thing, *request) or only_second.authorize(thing, *request)
    assert both.authorize(thing, *request) is expected
