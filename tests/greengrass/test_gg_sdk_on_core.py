"""The real greengrasssdk 1.6.1, unmodified, running on our core-only modules."""

from __future__ import annotations

import base64
import json
from types import ModuleType
from typing import TYPE_CHECKING

import pytest

from fakes.ipc_backend import IPCConnectionError, IPCError

if TYPE_CHECKING:
    from tests.greengrass.conftest import RecordingCore

OTHER_ARN = "arn:aws:lambda:us-east-1:123456789012:function:actuator"
MY_ARN = "arn:aws:lambda:us-east-1:123456789012:function:sensor:3"  # the conftest's Lambda
ROUTER_ARN = "arn:aws:lambda:::function:GGRouter"
SHADOW_ARN = "arn:aws:lambda:::function:GGShadowService"


@pytest.fixture(autouse=True)
def _same_lambda_as_conftest(lambda_env: dict[str, str]) -> None:
    assert lambda_env["MY_FUNCTION_ARN"] == MY_ARN
    assert lambda_env["ROUTER_FUNCTION_ARN"] == ROUTER_ARN
    assert lambda_env["SHADOW_FUNCTION_ARN"] == SHADOW_ARN


def decoded_context(client_context: str | None) -> dict:
    assert client_context is not None
    return json.loads(base64.b64decode(client_context))


# --- publish ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("policy", "sent"),
    [("AllOrException", "AllOrError"), ("BestEffort", "BestEffort"), ("", "")],
)
def test_publish_is_an_event_to_the_router(
    sdk: ModuleType, core: RecordingCore, policy: str, sent: str
) -> None:
    client = sdk.client("iot-data")

    assert client.publish(topic="sensors/t1", payload=b'{"t": 21}', queueFullPolicy=policy) is None

    (request,) = core.requests
    assert request.operation == "post_work"
    assert request.function_arn == ROUTER_ARN
    assert request.invocation_type == "Event"
    assert request.payload == b'{"t": 21}'
    assert request.auth_token == core.token
    assert decoded_context(request.client_context) == {
        "custom": {"source": MY_ARN, "subject": "sensors/t1", "queueFullPolicy": sent}
    }


def test_publish_defaults_and_text_payload(sdk: ModuleType, core: RecordingCore) -> None:
    sdk.client("iot-data").publish(topic="t", payload=json.dumps({"city": "Zürich"}))
    sdk.client("iot-data").publish(topic="t")

    first, second = core.of("post_work")
    assert first.payload == b'{"city": "Z\\u00fcrich"}'
    assert second.payload == b""
    assert decoded_context(second.client_context)["custom"]["queueFullPolicy"] == ""


def test_publish_rejects_an_unknown_queue_policy(sdk: ModuleType, core: RecordingCore) -> None:
    with pytest.raises(ValueError, match=r"^Invalid value for queueFullPolicy: DropOldest$"):
        sdk.client("iot-data").publish(topic="t", payload=b"", queueFullPolicy="DropOldest")
    assert core.requests == []


def test_publish_without_topic(sdk: ModuleType, core: RecordingCore) -> None:
    with pytest.raises(ValueError, match=r'^Parameter "topic" is a required parameter'):
        sdk.client("iot-data").publish(payload=b"x")
    assert core.requests == []


def test_publish_refused_by_the_core_surfaces_as_invocation_exception(
    sdk: ModuleType, core: RecordingCore
) -> None:
    core.failure = IPCError(400, "No subscription exists for the source ...")
    from greengrasssdk.Lambda import InvocationException

    with pytest.raises(InvocationException) as raised:
        sdk.client("iot-data").publish(topic="nobody/listens", payload=b"x")
    assert str(raised.value) == "Failed to invoke function due to HTTP Error 400: Bad Request"


# --- shadow -------------------------------------------------------------------------------


def test_update_thing_shadow(sdk: ModuleType, core: RecordingCore) -> None:
    accepted = b'{"state":{"reported":{"t":21}},"version":1}'
    core.reply(SHADOW_ARN, accepted)

    result = sdk.client("iot-data").update_thing_shadow(
        thingName="probe-1", payload=b'{"state":{"reported":{"t":21}}}'
    )

    assert result == {"payload": accepted}
    post, fetch = core.requests
    assert (post.operation, fetch.operation) == ("post_work", "get_work_result")
    assert post.function_arn == fetch.function_arn == SHADOW_ARN
    assert post.invocation_type == "RequestResponse"
    assert post.payload == b'{"state":{"reported":{"t":21}}}'
    assert decoded_context(post.client_context) == {
        "custom": {"subject": "$aws/things/probe-1/shadow/update"}
    }
    assert fetch.invocation_id is not None


@pytest.mark.parametrize("operation", ["get", "delete"])
def test_get_and_delete_send_an_empty_payload(
    sdk: ModuleType, core: RecordingCore, operation: str
) -> None:
    core.reply(SHADOW_ARN, b'{"version":3}')

    result = getattr(sdk.client("iot-data"), f"{operation}_thing_shadow")(thingName="probe-1")

    assert result == {"payload": b'{"version":3}'}
    post = core.of("post_work")[0]
    assert post.payload == b""
    subject = decoded_context(post.client_context)["custom"]["subject"]
    assert subject == f"$aws/things/probe-1/shadow/{operation}"


def test_shadow_error_document_raises_shadow_error(sdk: ModuleType, core: RecordingCore) -> None:
    core.reply(SHADOW_ARN, b'{"code":409,"message":"Version conflict","timestamp":1}')
    from greengrasssdk.IoTDataPlane import ShadowError

    with pytest.raises(ShadowError) as raised:
        sdk.client("iot-data").update_thing_shadow(thingName="probe-1", payload=b"{}")
    assert str(raised.value) == (
        'Request for shadow state returned error code 409 with message "Version conflict"'
    )


def test_function_error_raises_shadow_error(sdk: ModuleType, core: RecordingCore) -> None:
    core.reply(SHADOW_ARN, b'{"errorMessage":"boom"}', func_err="Unhandled")
    from greengrasssdk.IoTDataPlane import ShadowError

    with pytest.raises(ShadowError) as raised:
        sdk.client("iot-data").get_thing_shadow(thingName="probe-1")
    assert str(raised.value) == (
        'Request for shadow state returned FunctionError "Unhandled" '
        'with error payload "b\'{"errorMessage":"boom"}\'"'
    )


@pytest.mark.parametrize("operation", ["get", "update", "delete"])
def test_shadow_call_without_thing_name(
    sdk: ModuleType, core: RecordingCore, operation: str
) -> None:
    with pytest.raises(ValueError) as raised:
        getattr(sdk.client("iot-data"), f"{operation}_thing_shadow")(payload=b"{}")
    assert str(raised.value) == (
        'Parameter "thingName" is a required parameter but was not provided.'
    )
    assert core.requests == []


def test_update_without_payload(sdk: ModuleType, core: RecordingCore) -> None:
    with pytest.raises(ValueError, match=r'^Parameter "payload" is a required parameter'):
        sdk.client("iot-data").update_thing_shadow(thingName="probe-1")


def test_unreachable_core_raises_invocation_exception(sdk: ModuleType, core: RecordingCore) -> None:
    core.failure = IPCConnectionError()
    from greengrasssdk.Lambda import InvocationException

    with pytest.raises(InvocationException) as raised:
        sdk.client("iot-data").get_thing_shadow(thingName="probe-1")
    assert str(raised.value) == (
        "Failed to invoke function due to <urlopen error [Errno 111] Connection refused>"
    )


# --- lambda invoke ------------------------------------------------------------------------


def test_invoke_request_response(sdk: ModuleType, core: RecordingCore) -> None:
    core.reply(f"{OTHER_ARN}:7", b'{"ok": true}')
    context = base64.b64encode(json.dumps({"custom": {"who": "test"}}).encode())

    answer = sdk.client("lambda").invoke(
        FunctionName=OTHER_ARN,
        Qualifier="7",
        InvocationType="RequestResponse",
        ClientContext=context,
        Payload=b'{"cmd": "on"}',
    )

    assert answer["FunctionError"] == ""
    assert answer["Payload"].read() == b'{"ok": true}'
    post, fetch = core.requests
    assert post.function_arn == fetch.function_arn == f"{OTHER_ARN}:7"
    assert post.invocation_type == "RequestResponse"
    assert post.client_context == context.decode()
    assert post.payload == b'{"cmd": "on"}'


def test_invoke_event_does_not_wait_for_a_result(sdk: ModuleType, core: RecordingCore) -> None:
    core.reply(f"{OTHER_ARN}:7", b"never fetched")

    answer = sdk.client("lambda").invoke(FunctionName=f"{OTHER_ARN}:7", InvocationType="Event")

    assert answer == {"Payload": b"", "FunctionError": ""}
    (post,) = core.requests
    assert (post.operation, post.invocation_type, post.client_context) == ("post_work", "Event", "")


def test_invoke_with_a_function_error_returns_raw_payload(
    sdk: ModuleType, core: RecordingCore
) -> None:
    core.reply(f"{OTHER_ARN}:7", b'{"errorMessage":"bad"}', func_err="Handled")

    answer = sdk.client("lambda").invoke(FunctionName=f"{OTHER_ARN}:7")

    assert answer == {"Payload": b'{"errorMessage":"bad"}', "FunctionError": "Handled"}


def test_invoke_an_unknown_function(sdk: ModuleType, core: RecordingCore) -> None:
    from greengrasssdk.Lambda import InvocationException

    with pytest.raises(InvocationException) as raised:
        sdk.client("lambda").invoke(FunctionName=f"{OTHER_ARN}:9")
    assert str(raised.value) == "Failed to invoke function due to HTTP Error 404: Not Found"


def test_invoke_checks_arn_qualifier_and_context_before_the_core(
    sdk: ModuleType, core: RecordingCore
) -> None:
    client = sdk.client("lambda")
    with pytest.raises(ValueError, match="Cannot parse given string as a function ARN"):
        client.invoke(FunctionName="actuator")
    with pytest.raises(ValueError, match="does not match the specified qualifier"):
        client.invoke(FunctionName=f"{OTHER_ARN}:7", Qualifier="8")
    with pytest.raises(ValueError, match="must be base64 encoded"):
        client.invoke(FunctionName=f"{OTHER_ARN}:7", ClientContext=b"not base64!")
    with pytest.raises(ValueError, match=r'"FunctionName" argument of Lambda.Client.invoke'):
        client.invoke(Payload=b"")
    assert core.requests == []


# --- the environment, read at import ------------------------------------------------------


def test_sdk_answers_canned_data_when_not_running_as_a_lambda(
    on_core: object,
    lambda_env: dict[str, str],
    core: RecordingCore,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("MY_FUNCTION_ARN")
    import greengrasssdk

    answer = greengrasssdk.client("lambda").invoke(FunctionName=f"{OTHER_ARN}:7")

    assert answer == {"Payload": '{"TestKey": "TestValue"}', "FunctionError": ""}
    assert core.requests == []


def test_environment_is_captured_when_the_modules_are_imported(
    on_core: object,
    lambda_env: dict[str, str],
    core: RecordingCore,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import greengrasssdk

    publisher = greengrasssdk.client("iot-data")
    monkeypatch.setenv("MY_FUNCTION_ARN", f"{OTHER_ARN}:1")
    publisher.publish(topic="t", payload=b"")
    assert decoded_context(core.requests[-1].client_context)["custom"]["source"] == MY_ARN

    from fakes.core_modules import forget_core_modules

    forget_core_modules()
    import greengrasssdk as reimported

    reimported.client("iot-data").publish(topic="t", payload=b"")
    assert decoded_context(core.requests[-1].client_context)["custom"]["source"] == f"{OTHER_ARN}:1"


def test_without_the_core_runtime_the_sdk_imports_but_has_no_clients(
    lambda_env: dict[str, str],
) -> None:
    import greengrasssdk

    with pytest.raises(ModuleNotFoundError, match="greengrass_common"):
        greengrasssdk.client("iot-data")


def test_no_backend_installed_is_a_clear_error(on_core: object, lambda_env: dict[str, str]) -> None:
    import greengrasssdk

    client = greengrasssdk.client("iot-data")
    with pytest.raises(RuntimeError, match=r"No IPC backend is installed.*install_backend"):
        client.publish(topic="t", payload=b"")
