"""GetConfiguration, UpdateState and GetSecretValue with the real client."""

from __future__ import annotations

import pytest
from awsiot.greengrasscoreipc import model as ipc

from fakes.nucleus_ipc.services import SecretVersion
from tests.nucleus_ipc.helpers import FakeCore, T

ARN = "arn:aws:secretsmanager:us-east-1:123456789012:secret:db-password-AbCdEf"


@pytest.fixture
def configured(core: FakeCore) -> FakeCore:
    core.components.set_configuration("c", {"interval": 30, "limits": {"high": 9, "low": 1}})
    core.components.set_configuration("other", {"x": True})
    return core


def test_get_whole_configuration_of_the_caller(configured: FakeCore) -> None:
    response = configured.client("c").get_configuration_async().result(T)
    assert response.component_name == "c"
    assert response.value == {"interval": 30, "limits": {"high": 9, "low": 1}}


def test_get_a_leaf_and_a_subtree_and_another_component(configured: FakeCore) -> None:
    client = configured.client("c")
    assert client.get_configuration_async(key_path=["limits", "high"]).result(T).value == {
        "high": 9
    }
    assert client.get_configuration_async(key_path=["limits"]).result(T).value == {
        "high": 9,
        "low": 1,
    }
    other = client.get_configuration_async(component_name="other").result(T)
    assert (other.component_name, other.value) == ("other", {"x": True})


@pytest.mark.parametrize(
    "kwargs",
    [{"key_path": ["nope"]}, {"key_path": ["interval", "deeper"]}, {"component_name": "ghost"}],
)
def test_missing_key_is_resource_not_found(configured: FakeCore, kwargs: dict) -> None:
    with pytest.raises(ipc.ResourceNotFoundError) as error:
        configured.client("c").get_configuration_async(**kwargs).result(T)
    assert error.value.message == "Key not found"


def test_update_state_is_recorded(core: FakeCore) -> None:
    client = core.client("c")
    assert isinstance(
        client.update_state_async(state=ipc.ReportedLifecycleState.RUNNING).result(T),
        ipc.UpdateStateResponse,
    )
    assert core.components.state("c") == "RUNNING"


@pytest.fixture
def secrets(core: FakeCore) -> FakeCore:
    core.secrets.add(SecretVersion(ARN, "v1", ("AWSPREVIOUS",), string="old"))
    core.secrets.add(SecretVersion(ARN, "v2", ("AWSCURRENT",), string="s3cret"))
    core.allow(
        "c",
        {
            "aws.greengrass.SecretManager": {
                "c:secrets:1": {"operations": ["aws.greengrass#GetSecretValue"], "resources": [ARN]}
            }
        },
    )
    return core


def test_secret_by_name_by_stage_and_by_version(secrets: FakeCore) -> None:
    client = secrets.client("c")
    current = client.get_secret_value_async(secret_id="db-password").result(T)
    assert (current.secret_id, current.version_id, current.version_stage) == (
        ARN,
        "v2",
        ["AWSCURRENT"],
    )
    assert current.secret_value.secret_string == "s3cret"
    assert (
        client.get_secret_value_async(secret_id=ARN, version_stage="AWSPREVIOUS")
        .result(T)
        .version_id
        == "v1"
    )
    assert (
        client.get_secret_value_async(secret_id=ARN, version_id="v1")
        .result(T)
        .secret_value.secret_string
        == "old"
    )


def test_secret_errors(secrets: FakeCore) -> None:
    client = secrets.client("c")
    with pytest.raises(ipc.ResourceNotFoundError) as missing:
        client.get_secret_value_async(secret_id=ARN, version_id="v9").result(T)
    assert missing.value.message == f"Version Id v9 not found for secret {ARN}"
    assert missing.value.resource_type == "secret"
    with pytest.raises(ipc.ServiceError) as both:
        client.get_secret_value_async(
            secret_id=ARN, version_id="v1", version_stage="AWSCURRENT"
        ).result(T)
    assert both.value.message == "Both versionId and Stage are set in the request"
    with pytest.raises(ipc.UnauthorizedError) as denied:
        secrets.client("nobody").get_secret_value_async(secret_id="db-password").result(T)
    assert denied.value.message.endswith(f"aws.greengrass#GetSecretValue on resource {ARN}")
