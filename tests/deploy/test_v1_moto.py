"""The V1 plan end to end on moto: look-ups, definitions, group version, deployment.

moto caveats met here (``shared/specs/shadow.md`` section 4.1): every definition is created
with its ``InitialVersion`` (moto requires it); the group version names each definition version
by the ARN moto returned (moto rejects AWS's ``:/greengrass/...`` form); subscriptions use
qualified Lambda ARNs and thing ARNs without underscores (moto's pattern); and moto never moves
a deployment past ``InProgress``, so the test sets ``Success`` by hand.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws
from moto.greengrass.models import greengrass_backends

from harness.cli import main
from harness.deploy import DeployError, boto3_clients, execute, plan_v1
from harness.group import Group

from .conftest import GROUP_FILE


@pytest.fixture
def account(group: Group) -> Iterator[dict[str, Any]]:
    """A moto account where the V1 group is in service: its things, each with a certificate,
    and the group itself (created empty, as an old group's first version may be)."""
    with mock_aws():
        iot = boto3.client("iot", region_name=group.region)
        certificates = {}
        for thing in [group.core.thing, *(d.thing for d in group.devices)]:
            iot.create_thing(thingName=thing)
            certificate = iot.create_keys_and_certificate(setAsActive=True)["certificateArn"]
            iot.attach_thing_principal(thingName=thing, principal=certificate)
            certificates[thing] = certificate
        greengrass = boto3.client("greengrass", region_name=group.region)
        existing = greengrass.create_group(Name=group.name)
        yield {"greengrass": greengrass, "group_id": existing["Id"],
               "certificates": certificates}


def test_the_v1_group_is_versioned_and_deployed(group: Group, account: dict[str, Any]) -> None:
    greengrass, group_id = account["greengrass"], account["group_id"]
    results = execute(plan_v1(group), boto3_clients(group.region))

    assert results["group"]["Id"] == group_id  # found by name
    version = greengrass.get_group_version(GroupId=group_id,
                                           GroupVersionId=results["group-version"]["Version"])
    definition = version["Definition"]
    for kind in ("Core", "Device", "Function", "Subscription", "Resource"):
        created = results[f"{kind.lower()}-definition"]
        assert definition[f"{kind}DefinitionVersionArn"] == created["LatestVersionArn"]
    assert greengrass.get_group(GroupId=group_id)["LatestVersion"] == version["Version"]

    core_id = results["core-definition"]["Id"]
    cores = greengrass.get_core_definition_version(
        CoreDefinitionId=core_id,
        CoreDefinitionVersionId=results["core-definition"]["LatestVersion"],
    )["Definition"]["Cores"]
    assert cores == [{
        "Id": "weather-station-core",
        "ThingArn": "arn:aws:iot:us-east-1:123456789012:thing/weather-station-core",
        "CertificateArn": account["certificates"]["weather-station-core"],
        "SyncShadow": False,
    }]

    functions = greengrass.get_function_definition_version(
        FunctionDefinitionId=results["function-definition"]["Id"],
        FunctionDefinitionVersionId=results["function-definition"]["LatestVersion"],
    )["Definition"]["Functions"]
    republish = next(f for f in functions if f["Id"] == "republish")
    assert republish["FunctionArn"].endswith(":function:republish:1")  # qualified
    assert republish["FunctionConfiguration"] == {
        "Executable": "republish.function_handler", "Pinned": False, "Timeout": 25,
        "MemorySize": 131072, "EncodingType": "json",
        "Environment": {"AccessSysfs": True, "Variables": {
            "THING_NAME": "weather-station", "CPU_SAMPLES": "8", "CPU_SAMPLE_INTERVAL": "1"}},
    }
    inference = next(f for f in functions if f["Id"] == "inference")
    assert [p["ResourceId"] for p in
            inference["FunctionConfiguration"]["Environment"]["ResourceAccessPolicies"]] == [
        "standardiser", "rain_predictor", "rain_pipeline"]

    subscriptions = greengrass.get_subscription_definition_version(
        SubscriptionDefinitionId=results["subscription-definition"]["Id"],
        SubscriptionDefinitionVersionId=results["subscription-definition"]["LatestVersion"],
    )["Definition"]["Subscriptions"]
    assert len(subscriptions) == 4
    assert {s["Target"] for s in subscriptions} >= {"cloud", "GGShadowService"}

    deployment_id = results["deployment"]["DeploymentId"]
    assert [d["DeploymentId"] for d in greengrass.list_deployments(GroupId=group_id)[
        "Deployments"]] == [deployment_id]
    status = greengrass.get_deployment_status(GroupId=group_id, DeploymentId=deployment_id)
    assert status["DeploymentStatus"] == "InProgress"  # where moto always leaves it
    assert status["DeploymentType"] == "NewDeployment"
    backend = greengrass_backends[group.account][group.region]
    backend.deployments[deployment_id].deployment_status = "Success"
    status = greengrass.get_deployment_status(GroupId=group_id, DeploymentId=deployment_id)
    assert status["DeploymentStatus"] == "Success"


def test_the_group_id_can_be_given(group: Group, account: dict[str, Any]) -> None:
    plan = plan_v1(group, group_id=account["group_id"])
    assert "group" not in [step.id for step in plan.steps]
    results = execute(plan, boto3_clients(group.region))
    assert results["deployment"]["DeploymentId"]


def test_a_missing_group_or_certificate_stops_before_anything_is_created(
    group: Group, account: dict[str, Any]
) -> None:
    greengrass = account["greengrass"]
    greengrass.delete_group(GroupId=account["group_id"])
    with pytest.raises(DeployError, match="no Greengrass V1 group named 'weather-station'"):
        execute(plan_v1(group), boto3_clients(group.region))
    iot = boto3.client("iot", region_name=group.region)
    iot.detach_thing_principal(thingName="bme680-sensor",
                               principal=account["certificates"]["bme680-sensor"])
    other = greengrass.create_group(Name=group.name)["Id"]
    with pytest.raises(DeployError, match="'bme680-sensor' needs exactly one certificate"):
        execute(plan_v1(group, group_id=other), boto3_clients(group.region))
    assert greengrass.list_core_definitions()["Definitions"] == []


def test_the_command_line_applies_the_v1_plan(account: dict[str, Any],
                                              capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["deploy", "--group", str(GROUP_FILE), "--target", "v1", "--apply"]) == 0
    out = capsys.readouterr().out
    assert "[11/11] deployment:" in out
    deployments = account["greengrass"].list_deployments(GroupId=account["group_id"])
    (deployment,) = deployments["Deployments"]
    assert f"Deployment created: {deployment['DeploymentId']}" in out
