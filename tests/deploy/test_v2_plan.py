"""What the Greengrass V2 plan holds for lambdas/group.yaml, and how it maps edge cases."""

from __future__ import annotations

import json
from typing import Any

import pytest

from harness.deploy import DeployError, Ref, plan_v2
from harness.deploy.v2 import DEFAULT_VERSIONS, NUCLEUS, ROUTER, SHADOW_MANAGER
from harness.group import Group
from harness.v2 import BRIDGE, CLIENT_DEVICE_AUTH, IP_DETECTOR, MOQUETTE

from .conftest import make_group

ACCOUNT_REGION = "us-east-1:123456789012"


def lambda_request(plan: Any, function: str) -> dict[str, Any]:
    return plan.step(f"component-{function}").params["lambdaFunction"]


def parameters(plan: Any, function: str) -> dict[str, Any]:
    return lambda_request(plan, function)["componentLambdaParameters"]


def deployment(plan: Any) -> dict[str, Any]:
    return plan.step("deployment").params


def merged(plan: Any, component: str) -> dict[str, Any]:
    return json.loads(deployment(plan)["components"][component]["configurationUpdate"]["merge"])


def test_steps_run_in_order_ml_components_then_deployment(group: Group) -> None:
    plan = plan_v2(group)
    assert [step.id for step in plan.steps] == [
        "ml-resources", "ml-resources-ready",
        "component-republish", "ready-republish",
        "component-hello_world", "ready-hello_world",
        "component-inference", "ready-inference",
        "core-device", "associate-client-devices", "deployment",
    ]
    assert plan.target == "v2"
    assert plan.region == "us-east-1"
    created = [step.id for step in plan.steps if step.sends]
    assert created == ["ml-resources", "component-republish", "component-hello_world",
                       "component-inference", "associate-client-devices", "deployment"]


def test_republish_is_an_on_demand_component_with_its_settings(group: Group) -> None:
    plan = plan_v2(group)
    request = lambda_request(plan, "republish")
    assert request["lambdaArn"] == f"arn:aws:lambda:{ACCOUNT_REGION}:function:republish:1"
    assert request["componentName"] == "weather-station.republish"
    assert request["componentVersion"] == "1.0.0"
    assert request["componentPlatforms"] == [{"name": "Linux", "attributes": {"os": "linux"}}]
    assert parameters(plan, "republish") == {
        "pinned": False,
        "timeoutInSeconds": 25,
        "maxQueueSize": 1000,
        "maxInstancesCount": 10,
        "maxIdleTimeInSeconds": 60,
        "inputPayloadEncodingType": "json",
        "eventSources": [{"topic": "bme680/readings", "type": "PUB_SUB"}],
        "environmentVariables": {"THING_NAME": "weather-station", "CPU_SAMPLES": "8",
                                 "CPU_SAMPLE_INTERVAL": "1"},
        "linuxProcessParams": {
            "isolationMode": "GreengrassContainer",
            "containerParams": {"memorySizeInKB": 128 * 1024, "mountROSysfs": True},
        },
    }


def test_every_lambda_depends_on_the_lambda_components(group: Group) -> None:
    plan = plan_v2(group)
    for function in ("republish", "hello_world", "inference"):
        dependencies = lambda_request(plan, function)["componentDependencies"]
        assert dependencies["aws.greengrass.LambdaLauncher"] == {
            "versionRequirement": "^2.0.0", "dependencyType": "HARD"}
        assert dependencies["aws.greengrass.LambdaManager"]["dependencyType"] == "HARD"
        assert dependencies["aws.greengrass.LambdaRuntimes"]["dependencyType"] == "SOFT"


def test_pinned_functions_get_the_status_timeout_not_instances_or_idle_time(
    group: Group,
) -> None:
    plan = plan_v2(group)
    hello = parameters(plan, "hello_world")
    assert hello["pinned"] is True
    assert hello["timeoutInSeconds"] == 3
    assert hello["statusTimeoutInSeconds"] == 60
    assert "maxInstancesCount" not in hello
    assert "maxIdleTimeInSeconds" not in hello
    assert "eventSources" not in hello  # it only publishes (to the cloud)
    assert "environmentVariables" not in hello
    assert hello["linuxProcessParams"]["containerParams"] == {
        "memorySizeInKB": 32 * 1024, "mountROSysfs": False}


def test_inference_mounts_each_ml_resource_where_its_environment_points(group: Group) -> None:
    plan = plan_v2(group)
    inference = parameters(plan, "inference")
    assert inference["pinned"] is True
    assert inference["timeoutInSeconds"] == 60
    container = inference["linuxProcessParams"]["containerParams"]
    assert container["memorySizeInKB"] == 256 * 1024
    assert container["mountROSysfs"] is False
    mounted = {v["destinationPath"]: v for v in container["volumes"]}
    environment = inference["environmentVariables"]
    for variable in ("STANDARDISER_PATH", "MODEL_PATH", "TFLITE_PATH"):
        volume = mounted[environment[variable]]
        assert volume["permission"] == "ro"
        folder = environment[variable].rsplit("/", 1)[1]  # the zip's name, unpacked
        assert volume["sourcePath"] == (
            "/greengrass/v2/packages/artifacts-unarchived/weather-station.MLResources/1.0.0/"
            + folder)
    dependencies = lambda_request(plan, "inference")["componentDependencies"]
    assert dependencies["weather-station.MLResources"] == {
        "versionRequirement": "1.0.0", "dependencyType": "HARD"}
    assert "weather-station.MLResources" not in lambda_request(plan, "republish")[
        "componentDependencies"]


def test_ml_resources_component_unpacks_the_s3_zips(group: Group) -> None:
    recipe = json.loads(plan_v2(group).step("ml-resources").params["inlineRecipe"])
    assert recipe["ComponentName"] == "weather-station.MLResources"
    assert recipe["ComponentVersion"] == "1.0.0"
    (manifest,) = recipe["Manifests"]
    assert manifest["Platform"] == {"os": "linux"}
    assert [a["URI"] for a in manifest["Artifacts"]] == [r.s3_uri for r in group.ml_resources]
    assert {a["Unarchive"] for a in manifest["Artifacts"]} == {"ZIP"}


def test_components_wait_for_deployable_by_the_arn_create_returned(group: Group) -> None:
    plan = plan_v2(group)
    wait = plan.step("ready-republish")
    assert wait.operation == "describe_component"
    ref = wait.params["arn"]
    assert isinstance(ref, Ref)
    assert (ref.step, ref.path) == ("component-republish", ("arn",))
    assert wait.poll is not None
    assert wait.poll.done({"status": {"componentState": "DEPLOYABLE"}})
    assert not wait.poll.done({"status": {"componentState": "INITIATED"}})
    assert wait.poll.failed({"status": {"componentState": "FAILED", "message": "no lambda"}})


def test_deployment_targets_the_core_thing_with_the_public_components(group: Group) -> None:
    plan = plan_v2(group)
    request = deployment(plan)
    assert request["targetArn"] == f"arn:aws:iot:{ACCOUNT_REGION}:thing/weather-station-core"
    assert request["deploymentName"] == "weather-station"
    components = request["components"]
    assert list(components) == [  # the order of spec §5.4
        NUCLEUS, CLIENT_DEVICE_AUTH, MOQUETTE, BRIDGE, IP_DETECTOR, SHADOW_MANAGER, ROUTER,
        "weather-station.MLResources", "weather-station.republish",
        "weather-station.hello_world", "weather-station.inference"]
    nucleus = components[NUCLEUS]["componentVersion"]
    assert isinstance(nucleus, Ref)
    assert (nucleus.step, nucleus.path) == ("core-device", ("coreVersion",))
    assert components[ROUTER]["componentVersion"] == DEFAULT_VERSIONS[ROUTER]
    assert components[CLIENT_DEVICE_AUTH]["componentVersion"] == "2.5.2"
    republish = components["weather-station.republish"]["componentVersion"]
    assert (republish.step, republish.path) == ("component-republish", ("componentVersion",))
    ml = components["weather-station.MLResources"]["componentVersion"]
    assert (ml.step, ml.path) == ("ml-resources", ("componentVersion",))


def test_router_gets_only_the_function_routes_as_components(group: Group) -> None:
    plan = plan_v2(group)
    update = deployment(plan)["components"][ROUTER]["configurationUpdate"]
    assert update["reset"] == ["/subscriptions"]
    assert merged(plan, ROUTER) == {"subscriptions": {"hello_world-to-cloud": {
        "id": "hello_world-to-cloud", "source": "component:weather-station.hello_world",
        "subject": "hello/world", "target": "cloud"}}}
    text = json.dumps(deployment(plan)["components"][ROUTER])
    assert "GGShadowService" not in text and ":thing/" not in text  # no V2 router endpoints


def test_association_names_every_device_thing(group: Group) -> None:
    step = plan_v2(group).step("associate-client-devices")
    assert (step.service, step.operation) == (
        "greengrassv2", "batch_associate_client_device_with_core_device")
    assert step.params == {"coreDeviceThingName": "weather-station-core",
                           "entries": [{"thingName": "bme680-sensor"},
                                       {"thingName": "weather-station"}]}
    many = make_group(devices=[{"thing": f"d{n:03d}"} for n in range(205)])
    steps = [s for s in plan_v2(many).steps if s.operation == step.operation]
    assert [s.id for s in steps] == ["associate-client-devices", "associate-client-devices-2",
                                     "associate-client-devices-3"]
    assert [len(s.params["entries"]) for s in steps] == [100, 100, 5]
    assert steps[2].params["entries"][-1] == {"thingName": "d204"}
    assert not [s for s in plan_v2(make_group()).steps if s.operation == step.operation]


def test_lambda_components_carry_access_control_and_the_shadow_manager_dependency(
    group: Group,
) -> None:
    plan = plan_v2(group)
    for function in ("republish", "inference"):
        name = f"weather-station.{function}"
        update = deployment(plan)["components"][name]["configurationUpdate"]
        assert update["reset"] == ["/accessControl"]
        assert merged(plan, name) == {
            "accessControl": group.function(function).access_control}
        assert lambda_request(plan, function)["componentDependencies"][SHADOW_MANAGER] == {
            "versionRequirement": "^2.0.0", "dependencyType": "HARD"}
    hello = deployment(plan)["components"]["weather-station.hello_world"]
    assert hello["configurationUpdate"] == {"reset": ["/accessControl"]}  # no merge
    assert SHADOW_MANAGER not in lambda_request(plan, "hello_world")["componentDependencies"]


def test_shadow_manager_syncs_the_devices_with_shadow_sync_only(group: Group) -> None:
    plan = plan_v2(group)
    update = deployment(plan)["components"][SHADOW_MANAGER]["configurationUpdate"]
    assert update["reset"] == ["/synchronize"]
    assert merged(plan, SHADOW_MANAGER) == {"synchronize": {
        "coreThing": {"classic": False, "namedShadows": []},  # core.shadow_sync: false
        "shadowDocuments": [{"thingName": "weather-station", "classic": True,
                             "namedShadows": []}],
        "direction": "betweenDeviceAndCloud",
    }}


def test_given_versions_replace_the_defaults_and_the_core_lookup(group: Group) -> None:
    plan = plan_v2(group, versions={ROUTER: "2.1.9", NUCLEUS: "2.14.3"})
    assert "core-device" not in [step.id for step in plan.steps]
    components = deployment(plan)["components"]
    assert components[NUCLEUS] == {"componentVersion": "2.14.3"}
    assert components[ROUTER]["componentVersion"] == "2.1.9"
    assert components[SHADOW_MANAGER]["componentVersion"] == DEFAULT_VERSIONS[SHADOW_MANAGER]
    assert deployment(plan_v2(group, nucleus_version="2.13.0"))["components"][NUCLEUS] == {
        "componentVersion": "2.13.0"}
    with pytest.raises(DeployError, match=r"no public component aws\.greengrass\.Bogus"):
        plan_v2(group, versions={"aws.greengrass.Bogus": "1.0.0"})


def test_event_sources_follow_the_kind_of_source() -> None:
    group = make_group(
        functions=[{"name": "sink", "module": "sink"}, {"name": "source", "module": "source"}],
        devices=[{"thing": "sensor"}],
        subscriptions=[
            {"source": "cloud", "subject": "commands/+", "target": "function:sink"},
            {"source": "device:sensor", "subject": "readings", "target": "function:sink"},
            {"source": "GGShadowService", "subject": "$aws/things/sensor/shadow/update/delta",
             "target": "function:sink"},
            {"source": "function:source", "subject": "local/x", "target": "function:sink"},
        ],
    )
    plan = plan_v2(group)
    assert parameters(plan, "sink")["eventSources"] == [
        {"topic": "commands/+", "type": "IOT_CORE"},
        {"topic": "readings", "type": "PUB_SUB"},
        {"topic": "$aws/things/sensor/shadow/update/delta", "type": "PUB_SUB"},
    ]  # the function source is routed by the legacy subscription router instead
    assert "eventSources" not in parameters(plan, "source")
    assert "ml-resources" not in [step.id for step in plan.steps]  # no ML resources
    assert merged(plan, SHADOW_MANAGER)["synchronize"]["shadowDocuments"] == []


def test_an_alias_cannot_become_a_v2_component() -> None:
    group = make_group(functions=[{"name": "f", "module": "f", "version": "live"}])
    with pytest.raises(DeployError, match="'live' is an alias"):
        plan_v2(group)


def test_secrets_are_refused_rather_than_deployed_half_way() -> None:
    group = make_group(functions=[{"name": "f", "module": "f", "secrets": ["db"]}],
                       secrets=[{"name": "db"}])
    with pytest.raises(DeployError, match="SecretManager"):
        plan_v2(group)


def test_zips_unpacking_to_the_same_folder_are_refused() -> None:
    group = make_group(ml_resources=[
        {"name": "a", "s3_uri": "s3://bucket-one/model.zip", "destination": "/ml/a"},
        {"name": "b", "s3_uri": "s3://bucket-two/model.zip", "destination": "/ml/b"},
    ])
    with pytest.raises(DeployError, match="both unpack to 'model'"):
        plan_v2(group)


def test_the_dry_run_text_names_every_step_and_its_settings(group: Group) -> None:
    text = "\n".join(plan_v2(group).lines())
    assert "weather-station.republish 1.0.0 from arn:aws:lambda:" in text
    assert "on demand, up to 10 instances, idle 60 s; timeout 25 s; queue 1000" in text
    assert "event source: PUB_SUB bme680/readings" in text
    assert "aws.greengrass.Nucleus ${core-device.coreVersion}" in text
    assert "client devices: clientDeviceTrustDurationMinutes 1440" in text
    assert "bridge bme680/readings: LocalMqtt -> Pubsub" in text
    assert "device group bme680-sensor (thingName: bme680-sensor): connect bme680-sensor;" \
           " publish bme680/readings" in text
    assert "Connectivity information is left to aws.greengrass.clientdevices.IPDetector" in text
    assert "which this plan does not deploy" not in text  # the old gap note is gone
