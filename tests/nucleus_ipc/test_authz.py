"""accessControl parsing and the nucleus's resource matching."""

from __future__ import annotations

import json

import pytest

from fakes.nucleus_ipc.services.authz import (
    IOT_CORE,
    PUBSUB,
    SHADOW_MANAGER,
    AccessControl,
    NotAuthorized,
)

PUB = "aws.greengrass#PublishToTopic"
SUB = "aws.greengrass#SubscribeToTopic"
MQTT_PUB = "aws.greengrass#PublishToIoTCore"


def access(
    resources: list[str], service: str = PUBSUB, operations: list[str] | None = None
) -> AccessControl:
    control = AccessControl()
    problems = control.set_component(
        "c",
        {
            service: {
                "p1": {
                    "policyDescription": "d",
                    "operations": operations or ["*"],
                    "resources": resources,
                }
            }
        },
    )
    assert not problems, problems
    return control


@pytest.mark.parametrize(
    ("pattern", "resource", "allowed"),
    [
        ("a/b", "a/b", True),
        ("a/b", "a/b/c", False),
        ("a/*", "a/b/c", True),  # * crosses levels
        ("*", "anything", True),
        ("a*c", "abbbc", True),
        ("a*c", "abbbd", False),
        ("a/${*}", "a/*", True),
        ("a/${*}", "a/b", False),
        ("${$}aws", "$aws", True),
        ("$aws/things/t/shadow", "$aws/things/t/shadow", True),
        ("a/#", "a/#", True),  # MQTT wildcards are literal for pub/sub
        ("a/#", "a/b", False),
        ("a/+", "a/b", False),
    ],
)
def test_standard_matching(pattern: str, resource: str, allowed: bool) -> None:
    assert access([pattern]).allows(PUBSUB, "c", PUB, resource) is allowed


@pytest.mark.parametrize(
    ("pattern", "resource", "allowed"),
    [
        ("a/#", "a", True),
        ("a/#", "a/b/c", True),
        ("a/#", "ab", False),
        ("#", "x/y", True),
        ("a/+/c", "a/b/c", True),
        ("a/+/c", "a/b/x/c", False),
        ("+/b", "a/b", True),
        ("a/+", "a/b", True),
        ("a+/b", "a+/b", True),  # not a valid use: literal
        ("a+/b", "ax/b", False),
        ("a/#/b", "a/x/b", False),  # '#' not last: literal
        ("a/*/c", "a/b/x/c", True),
    ],
)
def test_mqtt_matching_for_iot_core(pattern: str, resource: str, allowed: bool) -> None:
    control = access([pattern], IOT_CORE)
    assert control.allows(IOT_CORE, "c", MQTT_PUB, resource, mqtt=True) is allowed


def test_denial_text_and_deny_by_default() -> None:
    control = AccessControl()
    with pytest.raises(NotAuthorized) as denial:
        control.check(
            SHADOW_MANAGER, "com.example.X", "aws.greengrass#GetThingShadow", "$aws/things/t/shadow"
        )
    assert str(denial.value) == (
        "Principal com.example.X is not authorized to perform aws.greengrass.ShadowManager:"
        "aws.greengrass#GetThingShadow on resource $aws/things/t/shadow"
    )


def test_policies_belong_to_the_declaring_component() -> None:
    control = access(["*"])
    assert control.allows(PUBSUB, "c", PUB, "t")
    assert not control.allows(PUBSUB, "other", PUB, "t")


def test_operation_must_match_unless_star() -> None:
    control = access(["*"], operations=[SUB])
    assert control.allows(PUBSUB, "c", SUB, "t")
    assert not control.allows(PUBSUB, "c", PUB, "t")


def test_empty_resource_is_refused_outright() -> None:
    with pytest.raises(NotAuthorized, match=r"^Resource cannot be empty$"):
        access(["*"]).check(PUBSUB, "c", PUB, "")


def test_policy_without_resources_matches_no_resource() -> None:
    control = AccessControl()
    control.set_component("c", {PUBSUB: {"p": {"operations": ["*"]}}})
    assert not control.allows(PUBSUB, "c", PUB, "t")


def test_field_names_ignore_case_and_json_text_is_read() -> None:
    control = AccessControl()
    config = json.dumps({PUBSUB: {"p": {"Operations": [PUB], "RESOURCES": ["t"]}}})
    assert control.set_component("c", config) == []
    assert control.allows(PUBSUB, "c", PUB, "t")


@pytest.mark.parametrize(
    "config",
    [
        {PUBSUB: {"p": {"operations": [PUB], "resource": ["t"]}}},  # a typo: unknown field
        {PUBSUB: {"p": {"operations": PUB, "resources": ["t"]}}},  # a string, not a list
        {PUBSUB: ["not", "a", "map"]},
        "{not json",
    ],
)
def test_unreadable_map_loses_every_policy_of_the_component(config: object) -> None:
    control = AccessControl()
    problems = control.set_component(
        "c",
        {SHADOW_MANAGER: {"ok": {"operations": ["*"], "resources": ["*"]}}, **config}
        if isinstance(config, dict)
        else config,
    )
    assert problems and problems[0].startswith("Unable to deserialize access control map")
    assert control.policies("c") == []
    assert not control.allows(SHADOW_MANAGER, "c", "aws.greengrass#GetThingShadow", "x")


def test_policy_without_operations_is_skipped_alone() -> None:
    control = AccessControl()
    problems = control.set_component(
        "c",
        {
            PUBSUB: {
                "empty": {"resources": ["t"]},
                "good": {"operations": [PUB], "resources": ["t"]},
            }
        },
    )
    assert problems == ["Policy operations are missing or invalid"]
    assert control.allows(PUBSUB, "c", PUB, "t")


def test_invalid_resources_are_dropped_with_the_nucleus_text() -> None:
    control = AccessControl()
    problems = control.set_component(
        "c", {PUBSUB: {"p": {"operations": [PUB], "resources": ["a?", "b/${x}", "ok"]}}}
    )
    assert problems[0].startswith("Resource contains invalid character: '?'.")
    assert problems[1].startswith("Resource contains an invalid escape sequence: ${x}.")
    assert not control.allows(PUBSUB, "c", PUB, "a?")
    assert control.allows(PUBSUB, "c", PUB, "ok")


def test_unknown_service_and_operation() -> None:
    control = AccessControl()
    problems = control.set_component(
        "c",
        {
            "aws.greengrass.NoSuchService": {"p": {"operations": ["*"], "resources": ["*"]}},
            PUBSUB: {"q": {"operations": ["aws.greengrass#Typo"], "resources": ["*"]}},
        },
    )
    assert "Component not registered: aws.greengrass.NoSuchService" in problems
    assert "Operation not registered with component aws.greengrass.ipc.pubsub" in problems
    assert control.allows(PUBSUB, "c", "aws.greengrass#Typo", "x")  # loaded all the same


def test_duplicate_policy_ids_across_components_are_accepted() -> None:
    control = AccessControl.from_components(
        {
            "a": {PUBSUB: {"same": {"operations": [PUB], "resources": ["x"]}}},
            "b": {PUBSUB: {"same": {"operations": [PUB], "resources": ["y"]}}},
        }
    )
    assert control.problems == []
    assert control.allows(PUBSUB, "a", PUB, "x") and control.allows(PUBSUB, "b", PUB, "y")


def test_replacing_and_removing_a_components_policies() -> None:
    control = access(["a"])
    control.set_component("c", {PUBSUB: {"p": {"operations": [PUB], "resources": ["b"]}}})
    assert not control.allows(PUBSUB, "c", PUB, "a") and control.allows(PUBSUB, "c", PUB, "b")
    control.remove_component("c")
    assert not control.allows(PUBSUB, "c", PUB, "b")
