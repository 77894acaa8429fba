"""The broker's client device auth rules come from the CDA model: the rules' matching (what the
broker's plugin does) gives the model's decision for every thing, topic and filter, on both
sides of CDA 2.5.0 (globs and the thing name variable), and the file says it all."""

from __future__ import annotations

import itertools
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fakes.client_devices import ClientDeviceAuth
from harness.group import load_group
from harness.rigs.client_device_rules import (
    PUBLISH,
    SUBSCRIBE,
    AuthRules,
    client_device_auth,
    resource_name_ranges,
)
from harness.simulation import DEFAULT_GROUP
from harness.v2.deployment import CLIENT_DEVICE_AUTH, compile_group

THINGS = ("sensor-1", "sensor-2", "console")


def config(statements: dict[str, Any], rule: str = "thingName: sensor-*") -> dict[str, Any]:
    return {"deviceGroups": {
        "formatVersion": "2021-03-05",
        "definitions": {"sensors": {"selectionRule": rule, "policyName": "p"},
                        "console": {"selectionRule": "thingName: console",
                                    "policyName": "console"}},
        "policies": {"p": statements,
                     "console": {"all": {"operations": ["mqtt:*"], "resources": ["*"]}}}}}


def statement(operations: list[str], resources: list[str], **extra: Any) -> dict[str, Any]:
    return {"operations": operations, "resources": resources, **extra}


def decision(auth: ClientDeviceAuth, thing: str, operation: str, target: str) -> bool:
    return (auth.can_publish(thing, target) if operation == PUBLISH
            else auth.can_subscribe(thing, target))


def assert_same(auth: ClientDeviceAuth, targets: list[str]) -> AuthRules:
    rules = AuthRules.from_auth(auth, THINGS, "core")
    for thing in THINGS:
        assert rules.may_connect(thing) == auth.can_connect(thing), thing
        for operation in (PUBLISH, SUBSCRIBE):
            for target in targets:
                assert rules.allows(thing, operation, target) == \
                    decision(auth, thing, operation, target), (thing, operation, target)
    return rules


TARGETS = ["bme680/readings", "bme680/readings/x", "bme680", "a/+/b", "a/x/b", "#", "a/#",
           "$aws/things/sensor-1/shadow/update", "$aws/things/sensor-2/shadow/update",
           "$aws/things/sensor-1/shadow/#", "x*y", "x", "deg/°", "caf/é", "a b", "a:b", ""]

CONFIGS = [
    # exact resources; an operation wildcard; a denied statement effect
    {"c": statement(["mqtt:connect"], ["mqtt:clientId:sensor-1"]),
     "p": statement(["mqtt:publish"], ["mqtt:topic:bme680/readings", "mqtt:topic:a/+/b"]),
     "s": statement(["mqtt:subscribe"], ["mqtt:topicfilter:a/+/b", "mqtt:topicfilter:#"]),
     "skipped": statement(["mqtt:*"], ["*"], effect=None)},
    # globs anywhere, ${iot:Connection.Thing.ThingName}, '*' as a whole resource
    {"c": statement(["mqtt:*"], ["mqtt:clientId:${iot:Connection.Thing.ThingName}"]),
     "p": statement(["*"], ["mqtt:topic:bme680/*", "mqtt:topic:$aws/things/"
                                                   "${iot:Connection.Thing.ThingName}/shadow/*"]),
     "s": statement(["mqtt:subscribe"], ["mqtt:topicfilter:a/*", "mqtt:topic*:x*"])},
    {"all": statement(["mqtt:publish", "mqtt:subscribe"], ["*"])},
    {"kind": statement(["mqtt:*"], ["mqtt:topic:*", "mqtt:topicfilter:*", "mqtt:clientId:*"])},
]


@pytest.mark.parametrize("version", ["2.5.2", "2.4.5"])
@pytest.mark.parametrize("statements", CONFIGS, ids=["exact", "globs", "star", "kind"])
def test_the_rules_decide_as_the_model(statements: dict[str, Any], version: str) -> None:
    auth = ClientDeviceAuth.from_configuration(config(statements), version=version)
    assert_same(auth, TARGETS)


def test_globs_and_the_thing_variable_only_from_2_5() -> None:
    statements = CONFIGS[1]
    modern = assert_same(ClientDeviceAuth.from_configuration(config(statements)), TARGETS)
    old = assert_same(ClientDeviceAuth.from_configuration(config(statements), version="2.4.5"),
                      TARGETS)
    assert modern.allows("sensor-1", PUBLISH, "bme680/anything")
    assert modern.allows("sensor-1", PUBLISH, "$aws/things/sensor-1/shadow/update")
    assert not modern.allows("sensor-1", PUBLISH, "$aws/things/sensor-2/shadow/update")
    assert modern.may_connect("sensor-2")
    assert not old.allows("sensor-1", PUBLISH, "bme680/anything")  # compared literally
    assert not old.may_connect("sensor-1")


def test_filters_are_compared_as_written() -> None:
    auth = ClientDeviceAuth.from_configuration(config(CONFIGS[0]))
    rules = assert_same(auth, TARGETS)
    assert rules.allows("sensor-1", SUBSCRIBE, "a/+/b")
    assert not rules.allows("sensor-1", SUBSCRIBE, "a/x/b")  # MQTT would match; CDA does not
    assert rules.allows("sensor-1", PUBLISH, "a/+/b")  # a literal '+' (never a real topic)
    assert not rules.allows("sensor-1", PUBLISH, "a/x/b")


def test_no_group_denies_and_the_core_may_do_everything() -> None:
    auth = ClientDeviceAuth.from_configuration(config(CONFIGS[2], rule="thingName: nobody"))
    rules = AuthRules.from_auth(auth, THINGS, "core")
    assert not rules.may_connect("sensor-1")
    assert not rules.allows("sensor-1", PUBLISH, "x")
    assert rules.may_connect("core") and rules.allows("core", SUBSCRIBE, "#")
    assert rules.allows("core", PUBLISH, "deg/°")  # no syntax check for the core's clients
    assert not rules.allows("stranger", PUBLISH, "x")


def test_the_core_cannot_be_a_device() -> None:
    auth = ClientDeviceAuth.from_configuration(config(CONFIGS[2]))
    with pytest.raises(ValueError, match="the core's thing"):
        AuthRules.from_auth(auth, THINGS, "console")


def test_resource_names_follow_the_models_syntax_check() -> None:
    ranges = resource_name_ranges()
    assert ranges[0] == (0x20, 0x7E)  # printable ASCII
    allowed = {chr(p) for first, last in ranges[:40] for p in range(first, last + 1)}
    assert "é" in allowed and "°" not in allowed and "\x7f" not in allowed
    assert all(first <= last < following
               for (first, last), (following, _) in itertools.pairwise(ranges))


def test_the_shipped_groups_rules_file() -> None:
    group = load_group(DEFAULT_GROUP)
    deployment = compile_group(group)
    auth = client_device_auth(deployment)
    assert auth.groups  # built from the deployed configuration
    text = AuthRules.from_auth(auth, [d.thing for d in group.devices], group.core.thing).text()
    lines = [line for line in text.splitlines() if not line.startswith(("#", "chars "))]
    assert lines == [
        "thing bme680-sensor 1 0",
        "publish glob mqtt:topic:bme680/readings",
        "thing weather-station 1 0",
        "publish glob mqtt:topic:$aws/things/weather-station/shadow/get",
        "publish glob mqtt:topic:$aws/things/weather-station/shadow/update",
        "publish glob mqtt:topic:$aws/things/weather-station/shadow/delete",
        "subscribe glob mqtt:topicfilter:$aws/things/weather-station/shadow/#",
        "thing weather-station-core 1 1",
    ]
    assert CLIENT_DEVICE_AUTH in deployment.components


def test_the_file_escapes_what_a_line_cannot_hold() -> None:
    auth = ClientDeviceAuth.from_configuration(config(
        {"p": statement(["mqtt:publish"], ["mqtt:topic:a b%c/é", "mqtt:topic:x\ny",
                                           "mqtt:topic:nul\0"])}))
    text = AuthRules.from_auth(auth, ["sensor-1"]).text()
    assert "publish glob mqtt:topic:a%20b%25c/%C3%A9\n" in text
    assert "publish glob mqtt:topic:x%0Ay\n" in text
    assert "nul" not in text  # can never match: no topic holds U+0000


ALPHABET = st.sampled_from(["a", "b", "/", "+", "#", "*", "$", ":", "°", "é", " ", "%"])
RESOURCE = st.text(ALPHABET, max_size=6)


@given(publish=st.lists(RESOURCE, max_size=3), subscribe=st.lists(RESOURCE, max_size=3),
       whole=st.lists(st.sampled_from(["*", "mqtt:*", "mqtt:topic*", "mqtt:topicfilter:*"]),
                      max_size=1),
       target=st.text(ALPHABET, max_size=6), version=st.sampled_from(["2.5.2", "2.4.5"]))
def test_any_policy_any_topic(publish: list[str], subscribe: list[str], whole: list[str],
                              target: str, version: str) -> None:
    auth = ClientDeviceAuth.from_configuration(config({
        "p": statement(["mqtt:publish"], [f"mqtt:topic:{r}" for r in publish] + whole),
        "s": statement(["mqtt:subscribe"], [f"mqtt:topicfilter:{r}" for r in subscribe]),
    }), version=version)
    assert_same(auth, [target])
