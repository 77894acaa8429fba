"""The compiled V2 deployment: the weather station as spec §5.3 shows it, every §2.4 row
compiled or refused with its V2 replacement, and the plan's requests as the same model."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from harness.deploy import DeployError, plan_v2, validate_request
from harness.deploy.v2 import deployment_of, plan_requests
from harness.group import Group
from harness.v2 import (
    BRIDGE,
    CLIENT_DEVICE_AUTH,
    IP_DETECTOR,
    MOQUETTE,
    NUCLEUS,
    ROUTER,
    SHADOW_MANAGER,
    V2Deployment,
    apply_configuration_update,
    compile_group,
)
from harness.v2.deployment import NUCLEUS_EXAMPLE_VERSION, bridge_loops, shadow_requests

from .conftest import make_group

STATION = "$aws/things/weather-station/shadow"
PUBSUB_GRANT = {"aws.greengrass.ipc.pubsub": {"test-group.f:pubsub:1": {
    "operations": ["aws.greengrass#PublishToTopic"], "resources": ["display/*"]}}}


def mappings(deployment: V2Deployment) -> set[tuple[str, str, str]]:
    return {(m["topic"], m["source"], m["target"])
            for m in deployment.configuration(BRIDGE)["mqttTopicMapping"].values()}


def policies_by_thing(deployment: V2Deployment) -> dict[str, dict[str, list[str]]]:
    """Each thing's allowed operations: {thing: {operation: resources}}."""
    groups = deployment.configuration(CLIENT_DEVICE_AUTH)["deviceGroups"]
    allowed: dict[str, dict[str, list[str]]] = {}
    for definition in groups["definitions"].values():
        thing = definition["selectionRule"].removeprefix("thingName: ").replace("\\:", ":")
        for statement in groups["policies"][definition["policyName"]].values():
            for operation in statement["operations"]:
                allowed.setdefault(thing, {}).setdefault(operation, []).extend(
                    statement["resources"])
    return allowed


# ---------------------------------------------------------------- the weather station (§5.3)


def test_cda_gives_each_device_its_own_group_and_policy(group: Group) -> None:
    update = compile_group(group).configuration_update(CLIENT_DEVICE_AUTH)
    assert update is not None and update["reset"] == ["/deviceGroups"]
    assert isinstance(update["merge"], str)  # a JSON string, as the API takes it
    assert json.loads(update["merge"]) == {
        "deviceGroups": {
            "formatVersion": "2021-03-05",
            "definitions": {
                "bme680-sensor": {"selectionRule": "thingName: bme680-sensor",
                                  "policyName": "bme680-sensor-policy"},
                "weather-station": {"selectionRule": "thingName: weather-station",
                                    "policyName": "weather-station-policy"},
            },
            "policies": {
                "bme680-sensor-policy": {
                    "Connect": {"operations": ["mqtt:connect"],
                                "resources": ["mqtt:clientId:bme680-sensor"]},
                    "Publish": {"operations": ["mqtt:publish"],
                                "resources": ["mqtt:topic:bme680/readings"]},
                },
                "weather-station-policy": {
                    "Connect": {"operations": ["mqtt:connect"],
                                "resources": ["mqtt:clientId:weather-station"]},
                    "Publish": {"operations": ["mqtt:publish"], "resources": [
                        f"mqtt:topic:{STATION}/get", f"mqtt:topic:{STATION}/update",
                        f"mqtt:topic:{STATION}/delete"]},
                    "Subscribe": {"operations": ["mqtt:subscribe"],
                                  "resources": [f"mqtt:topicfilter:{STATION}/#"]},
                },
            },
        },
        "security": {"clientDeviceTrustDurationMinutes": 1440},  # lambdas/group.yaml
    }


def test_cda_allows_what_spec_5_3_allows_and_delete_besides(group: Group) -> None:
    spec = {  # §5.3's SensorPolicy and StationShadowPolicy, thing by thing
        "bme680-sensor": {"mqtt:connect": ["mqtt:clientId:bme680-sensor"],
                          "mqtt:publish": ["mqtt:topic:bme680/readings"]},
        "weather-station": {"mqtt:connect": ["mqtt:clientId:weather-station"],
                            "mqtt:publish": [f"mqtt:topic:{STATION}/get",
                                             f"mqtt:topic:{STATION}/update"],
                            "mqtt:subscribe": [f"mqtt:topicfilter:{STATION}/#"]},
    }
    compiled = policies_by_thing(compile_group(group))
    spec["weather-station"]["mqtt:publish"].append(f"mqtt:topic:{STATION}/delete")
    assert compiled == spec  # delete: the V1 subscription (shadow/#) allows it


def test_bridge_is_the_echo_free_classic_shadow_form(group: Group) -> None:
    deployment = compile_group(group)
    update = deployment.configuration_update(BRIDGE)
    assert update is not None and update["reset"] == ["/mqttTopicMapping"]
    assert mappings(deployment) == {  # §5.3, plus the delete request
        ("bme680/readings", "LocalMqtt", "Pubsub"),
        (f"{STATION}/get", "LocalMqtt", "Pubsub"),
        (f"{STATION}/update", "LocalMqtt", "Pubsub"),
        (f"{STATION}/delete", "LocalMqtt", "Pubsub"),
        (f"{STATION}/#", "Pubsub", "LocalMqtt"),
    }
    assert ("bme680/readings", "Pubsub", "LocalMqtt") not in mappings(deployment)
    assert len(deployment.configuration(BRIDGE)["mqttTopicMapping"]) == 5  # distinct names
    assert bridge_loops(sorted(mappings(deployment))) == []


def test_router_has_only_hello_world_to_the_cloud(group: Group) -> None:
    deployment = compile_group(group)
    assert deployment.configuration(ROUTER) == {"subscriptions": {"hello_world-to-cloud": {
        "id": "hello_world-to-cloud", "source": "component:weather-station.hello_world",
        "subject": "hello/world", "target": "cloud"}}}
    assert deployment.configuration_update(ROUTER)["reset"] == ["/subscriptions"]


def test_shadow_manager_syncs_the_station_as_before(group: Group) -> None:
    deployment = compile_group(group)
    assert deployment.configuration_update(SHADOW_MANAGER)["reset"] == ["/synchronize"]
    assert deployment.configuration(SHADOW_MANAGER) == {"synchronize": {
        "coreThing": {"classic": False, "namedShadows": []},
        "shadowDocuments": [{"thingName": "weather-station", "classic": True,
                             "namedShadows": []}],
        "direction": "betweenDeviceAndCloud"}}


def test_the_shadow_lambdas_get_access_control_and_a_hard_shadow_manager_dependency(
    group: Group,
) -> None:
    deployment = compile_group(group)
    lambdas = deployment.lambda_components
    assert set(lambdas) == {"weather-station.republish", "weather-station.inference",
                            "weather-station.hello_world"}
    for function in ("republish", "inference"):
        name = f"weather-station.{function}"
        assert deployment.access_control(name) == group.function(function).access_control
        policy = deployment.access_control(name)[SHADOW_MANAGER][f"{name}:shadow:1"]
        assert policy["resources"] == [STATION]
        assert lambdas[name].dependencies[SHADOW_MANAGER] == {
            "versionRequirement": "^2.0.0", "dependencyType": "HARD"}
    assert deployment.access_control("weather-station.hello_world") == {}
    assert SHADOW_MANAGER not in lambdas["weather-station.hello_world"].dependencies
    assert lambdas["weather-station.republish"].event_sources == [
        {"topic": "bme680/readings", "type": "PUB_SUB"}]
    assert lambdas["weather-station.inference"].event_sources == []
    assert lambdas["weather-station.inference"].pinned
    assert lambdas["weather-station.republish"].function == "republish"


def test_components_are_the_create_deployment_argument(group: Group) -> None:
    deployment = compile_group(group)
    assert deployment.core_thing == "weather-station-core"
    assert deployment.client_devices == ("bme680-sensor", "weather-station")
    assert deployment.components[NUCLEUS] == {"componentVersion": NUCLEUS_EXAMPLE_VERSION}
    assert deployment.components[MOQUETTE] == {"componentVersion": "2.3.7"}
    assert deployment.components[IP_DETECTOR] == {"componentVersion": "2.2.3"}
    assert deployment.configuration(MOQUETTE) == {}  # port 8883 by default
    assert deployment.recipes["weather-station.MLResources"]["ComponentVersion"] == "1.0.0"
    validate_request("greengrassv2", "create_deployment",
                     deployment.create_deployment_request())
    with pytest.raises(KeyError, match=r"'aws\.greengrass\.Bogus' is not deployed"):
        deployment.configuration("aws.greengrass.Bogus")


def test_the_model_cannot_be_changed_through_what_it_returns(group: Group) -> None:
    deployment = compile_group(group)
    components = deployment.components
    components[NUCLEUS]["componentVersion"] = "0.0.1"
    deployment.lambda_components["weather-station.republish"].parameters["pinned"] = True
    assert deployment.version(NUCLEUS) == NUCLEUS_EXAMPLE_VERSION
    assert deployment.lambda_components["weather-station.republish"].pinned is False
    assert deployment == compile_group(group)
    assert hash(deployment) == hash(compile_group(group))
    with pytest.raises(AttributeError):
        deployment.target_arn = "x"  # type: ignore[misc]


# ---------------------------------------------------------------- one source of truth


def test_the_plans_requests_rebuild_the_compiled_deployment(group: Group) -> None:
    plan = plan_v2(group)
    create_deployment, created, associations = plan_requests(plan)
    rebuilt = V2Deployment.from_requests(create_deployment, created, associations)
    assert rebuilt == compile_group(group)
    assert deployment_of(plan) == rebuilt
    pinned = plan_v2(group, nucleus_version="2.14.3",
                     versions={CLIENT_DEVICE_AUTH: "2.4.5"})
    assert deployment_of(pinned) == compile_group(
        group, versions={NUCLEUS: "2.14.3", CLIENT_DEVICE_AUTH: "2.4.5"})
    assert deployment_of(pinned) != compile_group(group)


def test_a_changed_request_is_a_different_deployment(group: Group) -> None:
    create_deployment, created, associations = plan_requests(plan_v2(group))
    compiled = compile_group(group)
    changed = copy.deepcopy(create_deployment)
    bridge = changed["components"][BRIDGE]["configurationUpdate"]
    bridge["merge"] = bridge["merge"].replace("LocalMqtt", "IotCore", 1)
    assert V2Deployment.from_requests(changed, created, associations) != compiled
    changed = copy.deepcopy(created)
    parameters = changed["weather-station.inference"]["lambdaFunction"][
        "componentLambdaParameters"]
    parameters["timeoutInSeconds"] = 61
    assert V2Deployment.from_requests(create_deployment, changed, associations) != compiled
    assert V2Deployment.from_requests(create_deployment, created, []) != compiled
    reordered = dict(reversed(list(create_deployment["components"].items())))
    assert V2Deployment.from_requests({**create_deployment, "components": reordered},
                                      created, associations) == compiled


def test_requests_that_do_not_fit_together_are_refused(group: Group) -> None:
    create_deployment, created, associations = plan_requests(plan_v2(group))
    misfiled = {"weather-station.other": created["weather-station.republish"]}
    with pytest.raises(DeployError, match=r"under 'weather-station\.other' creates"
                                          r" 'weather-station\.republish'"):
        V2Deployment.from_requests(create_deployment, misfiled)
    elsewhere = [{**associations[0], "coreDeviceThingName": "other-core"}]
    with pytest.raises(DeployError, match="associated with 'other-core', not"):
        V2Deployment.from_requests(create_deployment, created, elsewhere)
    with pytest.raises(DeployError, match="without 'targetArn'"):
        V2Deployment.from_requests({"components": {}}, {})
    unresolved = plan_v2(group).step("deployment").params  # still holds Refs
    with pytest.raises(DeployError, match="fill in references first"):
        V2Deployment.from_requests(unresolved, created, associations)


# ---------------------------------------------------------------- §2.4 row by row


def test_device_to_device_and_the_cloud_rows_compile_to_cda_and_bridge() -> None:
    deployment = compile_group(make_group(
        devices=[{"thing": "a"}, {"thing": "b"}],
        subscriptions=[
            {"source": "device:a", "subject": "chat/b", "target": "device:b"},
            {"source": "device:a", "subject": "telemetry/a", "target": "cloud"},
            {"source": "cloud", "subject": "commands/b/+", "target": "device:b"},
        ],
    ))
    assert policies_by_thing(deployment) == {
        "a": {"mqtt:connect": ["mqtt:clientId:a"],
              "mqtt:publish": ["mqtt:topic:chat/b", "mqtt:topic:telemetry/a"]},
        "b": {"mqtt:connect": ["mqtt:clientId:b"],
              "mqtt:subscribe": ["mqtt:topicfilter:chat/b", "mqtt:topicfilter:commands/b/+"]},
    }
    assert mappings(deployment) == {("telemetry/a", "LocalMqtt", "IotCore"),
                                    ("commands/b/+", "IotCore", "LocalMqtt")}
    assert ROUTER not in deployment.components  # no function routes, no router


def test_function_rows_go_to_the_router_and_event_sources() -> None:
    deployment = compile_group(make_group(
        functions=[{"name": "f", "module": "f"}, {"name": "g", "module": "g"}],
        subscriptions=[
            {"source": "function:f", "subject": "local/x", "target": "function:g"},
            {"source": "function:f", "subject": "up/f", "target": "cloud"},
            {"source": "function:g", "subject": "up/g", "target": "cloud"},
            {"source": "function:f", "subject": "up/f2", "target": "cloud"},
            {"source": "cloud", "subject": "down/#", "target": "function:g"},
        ],
    ))
    routes = deployment.configuration(ROUTER)["subscriptions"]
    assert {key: (r["source"], r["subject"], r["target"]) for key, r in routes.items()} == {
        "f-to-g": ("component:test-group.f", "local/x", "component:test-group.g"),
        "f-to-cloud": ("component:test-group.f", "up/f", "cloud"),
        "g-to-cloud": ("component:test-group.g", "up/g", "cloud"),
        "f-to-cloud-2": ("component:test-group.f", "up/f2", "cloud"),
    }
    assert deployment.lambda_components["test-group.g"].event_sources == [
        {"topic": "down/#", "type": "IOT_CORE"}]  # none for the function source
    assert CLIENT_DEVICE_AUTH not in deployment.components  # no devices
    assert BRIDGE not in deployment.components


def test_router_2_0_names_functions_by_versioned_arn() -> None:
    group = make_group(functions=[{"name": "f", "module": "f", "version": "3"}],
                       subscriptions=[{"source": "function:f", "subject": "up",
                                       "target": "cloud"}])
    route = compile_group(group, versions={ROUTER: "2.0.9"}).configuration(ROUTER)[
        "subscriptions"]["f-to-cloud"]
    assert route["source"] == "arn:aws:lambda:eu-west-1:210987654321:function:f:3"


def test_a_function_reaches_a_device_only_by_ipc_publish() -> None:
    subscriptions = [{"source": "function:f", "subject": "display/text",
                      "target": "device:screen"}]
    refused = make_group(functions=[{"name": "f", "module": "f"}],
                         devices=[{"thing": "screen"}], subscriptions=subscriptions)
    with pytest.raises(DeployError) as caught:
        compile_group(refused)
    message = str(caught.value)
    assert "subscriptions.0 (function:f -> device:screen on 'display/text')" in message
    assert "greengrasssdk.publish cannot reach a device on V2" in message
    assert "IPC PublishToTopic" in message and "aws.greengrass.ipc.pubsub" in message
    assert "'display/text' Pubsub -> LocalMqtt" in message
    allowed = make_group(functions=[{"name": "f", "module": "f",
                                     "access_control": PUBSUB_GRANT}],
                         devices=[{"thing": "screen"}], subscriptions=subscriptions)
    deployment = compile_group(allowed)
    assert mappings(deployment) == {("display/text", "Pubsub", "LocalMqtt")}
    assert policies_by_thing(deployment)["screen"]["mqtt:subscribe"] == [
        "mqtt:topicfilter:display/text"]
    assert ROUTER not in deployment.components
    elsewhere = make_group(functions=[{"name": "f", "module": "f",
                                       "access_control": PUBSUB_GRANT}],
                           devices=[{"thing": "screen"}],
                           subscriptions=[{"source": "function:f", "subject": "other/text",
                                           "target": "device:screen"}])
    with pytest.raises(DeployError, match="resources \\['other/text'\\]"):
        compile_group(elsewhere)  # the grant does not cover this topic


@pytest.mark.parametrize(("source", "target", "replacement"), [
    ("function:f", "GGShadowService",
     "V2 replacement: f calls ShadowManager over IPC (GetThingShadow, UpdateThingShadow,"
     " DeleteThingShadow, as lambdas/shadow_client.py does), allowed by its access_control"),
    ("cloud", "GGShadowService",
     "V2 replacement: ShadowManager's cloud sync (shadow_sync: true on the device"),
    ("GGShadowService", "cloud",
     "V2 replacement: ShadowManager's cloud sync (shadow_sync: true on the device"),
])
def test_rows_without_a_v2_mechanism_are_refused_naming_the_replacement(
    source: str, target: str, replacement: str
) -> None:
    group = make_group(functions=[{"name": "f", "module": "f"}],
                       subscriptions=[{"source": source, "subject": "$aws/things/t/shadow/#",
                                       "target": target}])
    with pytest.raises(DeployError) as caught:
        compile_group(group)
    assert f"subscriptions.0 ({source} -> {target} on '$aws/things/t/shadow/#')" in str(
        caught.value)
    assert replacement in str(caught.value)
    with pytest.raises(DeployError, match="V2 replacement"):
        plan_v2(group)  # the plan refuses the same way


def test_every_refusal_is_listed_at_once() -> None:
    group = make_group(functions=[{"name": "f", "module": "f"}], devices=[{"thing": "d"}],
                       subscriptions=[
                           {"source": "function:f", "subject": "$aws/things/d/shadow/update",
                            "target": "GGShadowService"},
                           {"source": "device:d", "subject": "d/+", "target": "cloud"},
                           {"source": "function:f", "subject": "d/in", "target": "device:d"},
                       ])
    with pytest.raises(DeployError) as caught:
        compile_group(group)
    lines = str(caught.value).splitlines()
    assert lines[0] == "group 'test-group' cannot be deployed to Greengrass V2 as written:"
    assert [line.split(" (", 1)[0].strip() for line in lines[1:]] == [
        "subscriptions.0", "subscriptions.2"]  # d/+ compiles to a CDA ≥ 2.5 glob
    with pytest.raises(DeployError) as caught:
        compile_group(group, versions={CLIENT_DEVICE_AUTH: "2.4.4"})
    lines = str(caught.value).splitlines()
    assert [line.split(" (", 1)[0].strip() for line in lines[1:]] == [
        "subscriptions.0", "subscriptions.2", "subscriptions.1"]


def test_a_device_publishing_a_wildcard_needs_exact_topics_or_a_pasted_auth() -> None:
    fields: dict[str, Any] = {
        "functions": [{"name": "sink", "module": "sink"}],
        "devices": [{"thing": "sensor"}],
        "subscriptions": [{"source": "device:sensor", "subject": "sensors/+/data",
                           "target": "function:sink"}],
    }
    with pytest.raises(DeployError) as caught:
        compile_group(make_group(**fields), versions={CLIENT_DEVICE_AUTH: "2.4.4"})
    assert "a CDA mqtt:topic: resource takes no MQTT wildcards" in str(caught.value)
    assert "one subscription per exact topic the device publishes, or" \
           " client_devices.auth verbatim" in str(caught.value)
    auth = {"deviceGroups": {"definitions": {"S": {"selectionRule": "thingName: sensor",
                                                   "policyName": "P"}},
                             "policies": {"P": {"All": {"operations": ["mqtt:*"],
                                                        "resources": ["*"]}}}}}
    deployment = compile_group(make_group(**fields, client_devices={
        "trust_duration_minutes": 30, "auth": auth}))
    assert deployment.configuration(CLIENT_DEVICE_AUTH) == {
        **auth, "security": {"clientDeviceTrustDurationMinutes": 30}}
    assert deployment.configuration_update(CLIENT_DEVICE_AUTH)["reset"] == ["/deviceGroups"]
    assert mappings(deployment) == {("sensors/+/data", "LocalMqtt", "Pubsub")}


def test_a_pasted_bridge_replaces_the_compiled_mappings() -> None:
    bridge = {"mqttTopicMapping": {"All": {"topic": "#", "source": "LocalMqtt",
                                           "target": "Pubsub"}},
              "brokerUri": "ssl://localhost:8883"}
    deployment = compile_group(make_group(
        devices=[{"thing": "d"}],
        subscriptions=[{"source": "device:d", "subject": "x", "target": "cloud"}],
        client_devices={"bridge": bridge}))
    assert deployment.configuration(BRIDGE) == bridge
    assert policies_by_thing(deployment)["d"]["mqtt:publish"] == ["mqtt:topic:x"]
    assert deployment.configuration(CLIENT_DEVICE_AUTH)["security"] == {
        "clientDeviceTrustDurationMinutes": 1}  # AWS's default unless the group says


# ---------------------------------------------------------------- client device shadows


@pytest.mark.parametrize(("subject", "requests"), [
    ("$aws/things/t/shadow/#", ["get", "update", "delete"]),
    ("$aws/things/t/shadow/+", ["get", "update", "delete"]),
    ("$aws/things/t/shadow/update", ["update"]),
    ("$aws/things/t/shadow/update/#", ["update"]),  # '#' matches its parent level too
    ("$aws/things/t/#", ["get", "update", "delete"]),
    ("$aws/things/t/shadow/name/config/#", ["name/config/get", "name/config/update",
                                            "name/config/delete"]),
    ("$aws/things/t/shadow/update/accepted", []),
])
def test_shadow_request_topics_a_subject_covers(subject: str, requests: list[str]) -> None:
    assert shadow_requests(subject) == [f"$aws/things/t/shadow/{r}" for r in requests]
    assert shadow_requests("$aws/things/+/shadow/get") == ["$aws/things/+/shadow/get"]


def test_shadow_subjects_that_cannot_be_compiled_are_refused() -> None:
    responses_only = make_group(devices=[{"thing": "t"}], subscriptions=[
        {"source": "device:t", "subject": "$aws/things/t/shadow/get/accepted",
         "target": "GGShadowService"}])
    with pytest.raises(DeployError, match="covers no shadow request topic"):
        compile_group(responses_only)
    any_thing = make_group(devices=[{"thing": "t"}], subscriptions=[
        {"source": "device:t", "subject": "$aws/things/+/shadow/#",
         "target": "GGShadowService"}])
    with pytest.raises(DeployError, match=r"would publish '\$aws/things/\+/shadow/get'"):
        compile_group(any_thing, versions={CLIENT_DEVICE_AUTH: "2.4.4"})


def test_a_wildcard_publish_topic_compiles_to_globs_that_cda_matches() -> None:
    """CDA ≥ 2.5 (the default) matches ``*`` anywhere in a resource: a device publishing on a
    filter's topics gets globs covering them, and the CDA model then lets exactly those
    topics (and, as globs do, a little more) through."""
    from fakes.client_devices import ClientDeviceAuth

    group = make_group(functions=[{"name": "sink", "module": "sink"}],
                       devices=[{"thing": "sensor"}], subscriptions=[
                           {"source": "device:sensor", "subject": "sensors/+/data/#",
                            "target": "function:sink"}])
    deployment = compile_group(group)
    auth = ClientDeviceAuth.from_configuration(deployment.configuration(CLIENT_DEVICE_AUTH))
    for topic in ("sensors/a/data", "sensors/a/data/x/y"):
        assert auth.can_publish("sensor", topic), topic
    for topic in ("sensors", "other/a/data", "sensors/a/other"):
        assert not auth.can_publish("sensor", topic), topic


def test_client_device_shadows_need_nucleus_2_6(group: Group) -> None:
    with pytest.raises(DeployError, match=r"client device shadows .* need nucleus ≥ 2\.6\.0,"
                                          r" not 2\.5\.6"):
        compile_group(group, versions={NUCLEUS: "2.5.6"})
    with pytest.raises(DeployError, match=r"need nucleus ≥ 2\.6\.0"):
        plan_v2(group, nucleus_version="2.5.6")
    assert compile_group(group, versions={NUCLEUS: "2.6.0"}).version(NUCLEUS) == "2.6.0"
    text = "\n".join(plan_v2(group).lines())  # the core's version is not known yet
    assert "The core's nucleus must be ≥ 2.6.0 for: client device shadows" in text


# ---------------------------------------------------------------- bridge loops (§1.4)


@pytest.mark.parametrize(("mapped", "loops"), [
    ([("a/b", "LocalMqtt", "Pubsub"), ("a/b", "Pubsub", "LocalMqtt")], True),
    ([("a/+", "LocalMqtt", "Pubsub"), ("a/b", "Pubsub", "LocalMqtt")], True),
    ([("a/b", "LocalMqtt", "Pubsub"), ("a/+", "Pubsub", "LocalMqtt")], False),  # one echo
    ([("$aws/things/+/shadow/#", "LocalMqtt", "Pubsub"),
      ("$aws/things/+/shadow/#", "Pubsub", "LocalMqtt")], False),  # §3.1's doc example
    ([("a/+", "LocalMqtt", "IotCore"), ("+/b", "IotCore", "LocalMqtt")], True),
    ([("a/+", "LocalMqtt", "IotCore"), ("b/+", "IotCore", "LocalMqtt")], False),
    ([("a/#", "LocalMqtt", "IotCore"), ("a/#", "IotCore", "LocalMqtt")], True),
    ([("x", "Pubsub", "LocalMqtt"), ("x", "LocalMqtt", "IotCore"),
      ("#", "IotCore", "Pubsub")], True),
    ([("x", "Pubsub", "LocalMqtt"), ("y", "LocalMqtt", "IotCore"),
      ("#", "IotCore", "Pubsub")], False),
])
def test_bridge_loops(mapped: list[tuple[str, str, str]], loops: bool) -> None:
    assert bool(bridge_loops(mapped)) is loops


def test_subscriptions_that_would_loop_through_the_bridge_are_refused() -> None:
    group = make_group(
        functions=[{"name": "f", "module": "f", "access_control": PUBSUB_GRANT}],
        devices=[{"thing": "panel"}],
        subscriptions=[
            {"source": "device:panel", "subject": "display/text", "target": "function:f"},
            {"source": "function:f", "subject": "display/text", "target": "device:panel"},
        ])
    with pytest.raises(DeployError, match=r"LocalMqtt 'display/text' -\[display_text-"
                                          r"LocalMqttToPubsub\]-> Pubsub 'display/text'.*"
                                          "Map each exact topic one way only"):
        compile_group(group)
    echo = make_group(devices=[{"thing": "d"}], subscriptions=[
        {"source": "device:d", "subject": "sync", "target": "cloud"},
        {"source": "cloud", "subject": "sync", "target": "device:d"}])
    with pytest.raises(DeployError, match="Map each exact topic one way only"):
        compile_group(echo)


# ---------------------------------------------------------------- names and updates


def test_keys_stay_unique_without_case_and_colons_are_escaped() -> None:
    deployment = compile_group(make_group(devices=[{"thing": "Sensor"}, {"thing": "sensor"},
                                                   {"thing": "site:a"}]))
    definitions = deployment.configuration(CLIENT_DEVICE_AUTH)["deviceGroups"]["definitions"]
    assert definitions == {
        "Sensor": {"selectionRule": "thingName: Sensor", "policyName": "Sensor-policy"},
        "sensor-2": {"selectionRule": "thingName: sensor", "policyName": "sensor-policy-2"},
        "site:a": {"selectionRule": "thingName: site\\:a", "policyName": "site:a-policy"},
    }
    assert BRIDGE not in deployment.components  # nothing to relay
    assert IP_DETECTOR in deployment.components


def test_configuration_updates_reset_then_merge() -> None:
    current = {"a": {"x": 1, "y": [1, 2]}, "b": 2, "c": 3}
    update = {"reset": ["/a/x", "/c", "/missing/key"],
              "merge": json.dumps({"a": {"y": [3]}, "d": None})}
    assert apply_configuration_update(current, update, defaults={"a": {"x": 0}}) == {
        "a": {"x": 0, "y": [3]}, "b": 2, "d": None}  # lists replaced whole, nulls merged
    assert apply_configuration_update(current, {"reset": [""]}, {"b": 5}) == {"b": 5}
    assert apply_configuration_update({"a/b": 1, "k": 2}, {"reset": ["/a~1b"]}) == {"k": 2}
    assert apply_configuration_update(current, None) == current
    with pytest.raises(DeployError, match="must be a JSON object"):
        apply_configuration_update({}, {"merge": "[1]"})


def test_a_pasted_configuration_the_real_components_refuse_is_refused() -> None:
    fields: dict[str, Any] = {"devices": [{"thing": "d"}]}
    auth = {"deviceGroups": {"definitions": {"G": {"selectionRule": "thingName: d",
                                                   "policyName": "Missing"}},
                             "policies": {}}}
    with pytest.raises(DeployError, match=r"client_devices\.auth: .*Policy definition Missing"
                                          " does not have a corresponding policy"):
        compile_group(make_group(**fields, client_devices={"auth": auth}))
    bridge = {"mqttTopicMapping": {
        "Out": {"topic": "a/b", "source": "LocalMqtt", "target": "Pubsub"},
        "Back": {"topic": "a/b", "source": "Pubsub", "target": "LocalMqtt"}}}
    with pytest.raises(DeployError, match=r"client_devices\.bridge: .*relay a message forever"):
        compile_group(make_group(**fields, client_devices={"bridge": bridge}))
