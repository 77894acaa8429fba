"""``--apply`` for V2, against a stubbed greengrassv2 client (moto has no greengrassv2).

The Stubber answers each call in the order the plan makes them and checks each request's
parameters, so these tests prove the order, that waits use the ARN a create call returned,
and that the deployment uses the versions the service returned and the core reported.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from harness.deploy import DeployError, execute, plan_v2
from harness.deploy.plan import resolve
from harness.deploy.v2 import ASSOCIATE, NUCLEUS
from harness.group import Group

NOW = datetime(2026, 11, 24, tzinfo=UTC)
REGION = "us-east-1"


def component_arn(name: str) -> str:
    return f"arn:aws:greengrass:{REGION}:123456789012:components:{name}:versions:1.0.0"


def created(name: str) -> dict[str, Any]:
    return {"arn": component_arn(name), "componentName": name, "componentVersion": "1.0.0",
            "creationTimestamp": NOW, "status": {"componentState": "REQUESTED"}}


def described(name: str, state: str, message: str = "") -> dict[str, Any]:
    status = {"componentState": state, **({"message": message} if message else {})}
    return {"arn": component_arn(name), "componentName": name, "componentVersion": "1.0.0",
            "status": status}


@pytest.fixture
def stubbed() -> Any:
    client = boto3.client("greengrassv2", region_name=REGION, aws_access_key_id="testing",
                          aws_secret_access_key="testing")
    with Stubber(client) as stubber:
        yield client, stubber


def test_apply_runs_the_plan_in_order_with_returned_values(group: Group, stubbed: Any) -> None:
    client, stubber = stubbed
    plan = plan_v2(group)
    names = {"ml-resources": "weather-station.MLResources"}
    names.update({f"component-{f.name}": f"weather-station.{f.name}" for f in group.functions})
    responses: dict[str, Any] = {}
    for step in plan.steps:
        if step.operation == "create_component_version":
            responses[step.id] = created(names[step.id])
            stubber.add_response(step.operation, responses[step.id], step.params)
        elif step.operation == "describe_component":
            name = names[step.params["arn"].step]
            expected = {"arn": component_arn(name)}  # the ARN the create call returned
            stubber.add_response(step.operation, described(name, "INITIATED"), expected)
            stubber.add_response(step.operation, described(name, "DEPLOYABLE"), expected)
        elif step.operation == "get_core_device":
            responses[step.id] = {"coreDeviceThingName": "weather-station-core",
                                  "coreVersion": "2.14.3", "status": "HEALTHY"}
            stubber.add_response(step.operation, responses[step.id],
                                 {"coreDeviceThingName": "weather-station-core"})
        elif step.operation == ASSOCIATE:
            stubber.add_response(step.operation, {"errorEntries": []}, {
                "coreDeviceThingName": "weather-station-core",
                "entries": [{"thingName": "bme680-sensor"}, {"thingName": "weather-station"}]})
    final = resolve(plan.step("deployment").params, responses)
    assert final["components"][NUCLEUS] == {"componentVersion": "2.14.3"}  # what the core runs
    assert final["components"]["weather-station.republish"]["componentVersion"] == "1.0.0"
    assert final["components"]["weather-station.MLResources"] == {"componentVersion": "1.0.0"}
    stubber.add_response("create_deployment", {"deploymentId": "d-1"}, final)

    sleeps: list[float] = []
    done: list[str] = []
    results = execute(plan, lambda service: client, sleep=sleeps.append,
                      progress=lambda number, step, response: done.append(step.id))

    stubber.assert_no_pending_responses()
    assert done == [step.id for step in plan.steps]
    assert results["deployment"] == {"deploymentId": "d-1"}
    assert results["component-inference"]["arn"] == component_arn("weather-station.inference")
    assert len(sleeps) == 4  # one INITIATED answer for each of the four new components
    assert results["associate-client-devices"] == {"errorEntries": []}


def test_a_refused_association_stops_the_run_before_the_deployment(
    group: Group, stubbed: Any
) -> None:
    client, stubber = stubbed
    plan = plan_v2(group, nucleus_version="2.14.3")
    associate = plan.step("associate-client-devices")
    refused = {"errorEntries": [{"thingName": "bme680-sensor", "code": "ResourceNotFound",
                                 "message": "no such thing"}]}
    stubber.add_response(ASSOCIATE, refused, associate.params)
    with pytest.raises(DeployError, match="bme680-sensor: ResourceNotFound no such thing"):
        execute(plan.__class__(target=plan.target, group=plan.group, region=plan.region,
                               steps=(associate, plan.step("deployment"))),
                lambda service: client, sleep=lambda seconds: None)
    stubber.assert_no_pending_responses()  # the deployment was not sent


def test_a_component_that_fails_stops_the_run_before_the_deployment(
    group: Group, stubbed: Any
) -> None:
    client, stubber = stubbed
    plan = plan_v2(group)
    name = "weather-station.MLResources"
    stubber.add_response("create_component_version", created(name))
    stubber.add_response("describe_component",
                         described(name, "FAILED", "could not read s3://bucket/model.zip"))
    with pytest.raises(DeployError, match=r"FAILED: could not read s3://bucket/model\.zip"):
        execute(plan, lambda service: client, sleep=lambda seconds: None)
    stubber.assert_no_pending_responses()  # nothing more was sent


def test_a_component_that_never_becomes_deployable_times_out(
    group: Group, stubbed: Any
) -> None:
    client, stubber = stubbed
    plan = plan_v2(group)
    name = "weather-station.MLResources"
    stubber.add_response("create_component_version", created(name))
    attempts = plan.step("ml-resources-ready").poll.attempts  # type: ignore[union-attr]
    for _ in range(attempts):
        stubber.add_response("describe_component", described(name, "INITIATED"))
    with pytest.raises(DeployError, match=f"not done after {attempts} tries"):
        execute(plan, lambda service: client, sleep=lambda seconds: None)
