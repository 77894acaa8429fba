"""Every planned request is one the service model accepts, and the check is not a formality.

Two checks: :func:`validate_request` (botocore's validator plus the model's max, enum and
pattern constraints), and a real boto3 client call through botocore's ``Stubber``, which
validates and serialises the parameters exactly as a call to AWS would, then compares them
with the expected ones.
"""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest
from botocore.exceptions import ParamValidationError
from botocore.stub import Stubber
from botocore.validate import ParamValidator

from harness.deploy import Plan, RequestInvalid, plan_v1, plan_v2, validate_request
from harness.deploy.validate import operation_model
from harness.group import Group

from .conftest import make_group

NOW = datetime(2026, 11, 24, tzinfo=UTC)


def stub_response(step_operation: str, params: dict[str, Any]) -> dict[str, Any]:
    """A minimal valid response (Stubber checks responses against the model too)."""
    if step_operation == "create_component_version":
        return {"componentName": "c", "componentVersion": "1.0.0", "creationTimestamp": NOW,
                "status": {"componentState": "REQUESTED"}}
    return {}


def call_through_stubber(service: str, region: str, operation: str,
                         params: dict[str, Any]) -> None:
    client = boto3.client(service, region_name=region, aws_access_key_id="testing",
                          aws_secret_access_key="testing")
    with Stubber(client) as stubber:
        stubber.add_response(operation, stub_response(operation, params), copy.deepcopy(params))
        getattr(client, operation)(**params)
        stubber.assert_no_pending_responses()


def all_requests(plan: Plan) -> list[tuple[str, str, dict[str, Any]]]:
    return [(s.service, s.operation, s.example_params()) for s in plan.steps]


@pytest.mark.parametrize("target", ["v2", "v1"])
def test_every_planned_request_passes_the_full_model_check(group: Group, target: str) -> None:
    plan = plan_v2(group) if target == "v2" else plan_v1(group)
    for service, operation, params in all_requests(plan):
        validate_request(service, operation, params)


@pytest.mark.parametrize("target", ["v2", "v1"])
def test_every_planned_request_goes_through_a_boto3_client(group: Group, target: str) -> None:
    plan = plan_v2(group) if target == "v2" else plan_v1(group)
    for step in plan.steps:
        if step.paginate:  # look-ups: the paginated call is exercised in the moto test
            continue
        call_through_stubber(step.service, plan.region, step.operation, step.example_params())


def deployment_params(group: Group) -> dict[str, Any]:
    return copy.deepcopy(plan_v2(group, nucleus_version="2.15.1").step("deployment")
                         .example_params())


def republish_params(group: Group) -> dict[str, Any]:
    return copy.deepcopy(plan_v2(group).step("component-republish").params)


def test_botocore_rejects_a_wrong_type_and_an_unknown_field(group: Group) -> None:
    params = republish_params(group)
    params["lambdaFunction"]["componentLambdaParameters"]["timeoutInSeconds"] = "25"
    with pytest.raises(ParamValidationError, match="timeoutInSeconds"):
        call_through_stubber("greengrassv2", "us-east-1", "create_component_version", params)
    params = republish_params(group)
    params["lambdaFunction"]["componentLambdaParameters"]["memoryMB"] = 128
    with pytest.raises(ParamValidationError, match="memoryMB"):
        call_through_stubber("greengrassv2", "us-east-1", "create_component_version", params)
    with pytest.raises(RequestInvalid, match="memoryMB"):
        validate_request("greengrassv2", "create_component_version", params)


def test_constraints_botocore_leaves_to_the_service_are_checked_here(group: Group) -> None:
    shape = operation_model("greengrassv2", "create_component_version").input_shape
    params = republish_params(group)
    lambda_parameters = params["lambdaFunction"]["componentLambdaParameters"]
    lambda_parameters["eventSources"][0]["type"] = "LOCAL"  # not PUB_SUB or IOT_CORE
    lambda_parameters["inputPayloadEncodingType"] = "xml"
    lambda_parameters["maxQueueSize"] = True
    params["lambdaFunction"]["componentName"] = "x" * 129
    assert not ParamValidator().validate(params, shape).has_errors()  # botocore lets it by
    with pytest.raises(RequestInvalid) as caught:
        validate_request("greengrassv2", "create_component_version", params)
    problems = "\n".join(caught.value.problems)
    assert "'LOCAL' is not one of PUB_SUB, IOT_CORE" in problems
    assert "'xml' is not one of json, binary" in problems
    assert "maxQueueSize: True is a boolean" in problems
    assert "129 characters, above the maximum 128" in problems


def test_a_deployment_target_that_is_no_thing_is_rejected(group: Group) -> None:
    params = deployment_params(group)
    validate_request("greengrassv2", "create_deployment", params)
    params["targetArn"] = "arn:aws:iot:us-east-1:123456789012:weather-station-core"
    with pytest.raises(RequestInvalid, match="does not match the pattern"):
        validate_request("greengrassv2", "create_deployment", params)
    del params["targetArn"]
    with pytest.raises(RequestInvalid, match=r"Missing required parameter.*targetArn"):
        validate_request("greengrassv2", "create_deployment", params)


def test_v1_enums_are_checked(group: Group) -> None:
    params = copy.deepcopy(plan_v1(group).step("deployment").example_params())
    params["DeploymentType"] = "Deployment"
    with pytest.raises(RequestInvalid, match="'Deployment' is not one of NewDeployment"):
        validate_request("greengrass", "create_deployment", params)


def test_a_plan_with_every_compiled_part_passes_the_model_check() -> None:
    group = make_group(
        functions=[
            {"name": "f", "module": "f", "pinned": True, "access_control": {
                "aws.greengrass.ipc.pubsub": {"test-group.f:pubsub:1": {
                    "operations": ["aws.greengrass#PublishToTopic"], "resources": ["out/*"]}},
                "aws.greengrass.ShadowManager": {"test-group.f:shadow:1": {
                    "operations": ["*"], "resources": ["*"]}}}},
            {"name": "g", "module": "g"},
        ],
        devices=[{"thing": f"d{n}", "shadow_sync": n == 0} for n in range(101)],
        subscriptions=[
            {"source": "device:d0", "subject": "in/d0", "target": "function:g"},
            {"source": "function:f", "subject": "out/d1", "target": "device:d1"},
            {"source": "function:f", "subject": "up", "target": "function:g"},
            {"source": "cloud", "subject": "down/+", "target": "device:d2"},
            {"source": "device:d3", "subject": "$aws/things/d3/shadow/name/cfg/#",
             "target": "GGShadowService"},
            {"source": "GGShadowService", "subject": "$aws/things/d3/shadow/name/cfg/#",
             "target": "device:d3"},
        ],
        client_devices={"trust_duration_minutes": 60},
    )
    plan = plan_v2(group)
    for service, operation, params in all_requests(plan):
        validate_request(service, operation, params)
    for step in plan.steps:
        call_through_stubber(step.service, plan.region, step.operation, step.example_params())
    operations = [step.operation for step in plan.steps]
    assert operations.count("batch_associate_client_device_with_core_device") == 2
