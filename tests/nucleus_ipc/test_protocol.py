"""The RPC protocol: handshake, pings, stream-id rules, answers that always come."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator

import pytest
from awsiot.eventstreamrpc import AccessDeniedError, ConnectionClosedError, StreamClosedError
from awsiot.greengrasscoreipc import model as ipc_model
from awsiot.greengrasscoreipc.clientv2 import GreengrassCoreIPCClientV2

from fakes.nucleus_ipc import NucleusIpcServer
from fakes.nucleus_ipc.eventstream import Header, HeaderType, encode_message
from fakes.nucleus_ipc.rpc import Call
from fakes.nucleus_ipc.server import SOCKET_ENV_FOR_COMPONENT, UDS_PATH_MAX
from tests.nucleus_ipc.helpers import FakeCore, T, rpc_fields

PUBLISH = "aws.greengrass#PublishToTopic"
GET_CONFIG = "aws.greengrass#GetConfiguration"
SUBSCRIBE = "aws.greengrass#SubscribeToTopic"
PUBSUB_ALL = {"aws.greengrass.ipc.pubsub": {"all": {"operations": ["*"], "resources": ["*"]}}}


class Blocking:
    """A service whose GetConfiguration waits until the test releases it, and whose
    UpdateState raises an unexpected exception."""

    def __init__(self) -> None:
        self.entered = threading.Event()
        self.release = threading.Event()

    def handlers(self) -> dict:
        return {GET_CONFIG: self.wait, "aws.greengrass#UpdateState": self.crash}

    def wait(self, call: Call) -> dict:
        self.entered.set()
        self.release.wait(T)
        return {"componentName": call.component, "value": {}}

    def crash(self, call: Call) -> dict:
        raise KeyError("a bug in the fake")


@pytest.fixture
def blocking() -> Iterator[tuple[FakeCore, Blocking]]:
    core = FakeCore()
    service = Blocking()
    core.server.add_service(service)
    core.start()
    try:
        yield core, service
    finally:
        service.release.set()
        core.stop()


# -- handshake ---------------------------------------------------------------------------


def test_real_client_connects_from_the_component_environment(core: FakeCore) -> None:
    core.allow("com.example.A", PUBSUB_ALL)
    client = core.client("com.example.A")
    assert (
        client.publish_to_topic_async(topic="t", publish_message=_json({"a": 1})).result(T)
        is not None
    )
    (connection,) = core.server.connections("com.example.A")
    assert connection.component == "com.example.A"


def test_environment_names_a_short_socket_and_the_nucleus_token_alphabet(core: FakeCore) -> None:
    env = core.server.environment("c")
    path = env[SOCKET_ENV_FOR_COMPONENT]
    assert len(path.encode()) < UDS_PATH_MAX and "/gg-" in path
    token = env["SVCUID"]
    assert env["AWS_CONTAINER_AUTHORIZATION_TOKEN"] == token
    assert len(token) == 16 and set(token) <= set("ABCDEFGHJKLMNPQRSTUVWXYZ01234567")


def test_unknown_token_is_access_denied(core: FakeCore) -> None:
    with pytest.raises(AccessDeniedError) as denied:
        core.client("c", token="ZZZZZZZZZZZZZZZZ")
    assert denied.value.args == (
        "aws#AccessDenied",
        "Connection access denied to event stream RPC server",
    )
    assert all(connection.component is None for connection in core.server.connections())


def test_revoked_token_is_refused(core: FakeCore) -> None:
    token = core.server.issue_token("c")
    core.server.tokens.revoke(token)
    with pytest.raises(AccessDeniedError):
        core.client("c", token=token)


def test_connect_ack_carries_only_the_rpc_headers(core: FakeCore) -> None:
    raw = core.raw()
    ack = raw.connect(core.server.issue_token("c"))
    assert rpc_fields(ack) == (5, 1, 0)
    assert {h.name for h in ack.headers} == {":message-type", ":message-flags", ":stream-id"}
    assert all(h.type is HeaderType.INT32 for h in ack.headers)
    assert ack.payload == b""


@pytest.mark.parametrize(
    ("version", "payload"),
    [
        ("0.1.0", b'{"authToken": "NOPE"}'),
        ("0.1.0", b'{"authToken": ""}'),
        ("0.1.0", b"not json"),
        ("0.2.0", None),
    ],
    ids=["unknown-token", "empty-token", "bad-json", "wrong-version"],
)
def test_rejected_connect_gets_an_ack_without_the_flag_then_close(
    core: FakeCore, version: str, payload: bytes | None
) -> None:
    raw = core.raw()
    token = core.server.issue_token("c")
    raw.send(
        4,
        headers=(Header.string(":version", version),),
        payload=payload if payload is not None else f'{{"authToken": "{token}"}}'.encode(),
    )
    assert rpc_fields(raw.next()) == (5, 0, 0)
    assert raw.closed_by_server()


def test_message_before_connect_is_a_protocol_error(core: FakeCore) -> None:
    raw = core.raw()
    raw.send(2)  # PING
    error = raw.next()
    assert rpc_fields(error) == (6, 0, 0)
    assert b"A CONNECT message must be received" in error.payload
    assert raw.closed_by_server()


def test_second_connect_is_a_protocol_error(core: FakeCore) -> None:
    raw = core.raw("c")
    assert rpc_fields(raw.connect(core.server.issue_token("c"))) == (6, 0, 0)
    assert raw.closed_by_server()


def test_ping_is_echoed_without_the_colon_headers(core: FakeCore) -> None:
    raw = core.raw("c")
    raw.send(
        2, headers=(Header.string("x-trace", "42"), Header.string(":private", "p")), payload=b"hi"
    )
    pong = raw.next()
    assert rpc_fields(pong) == (3, 0, 0)
    assert [h.name for h in pong.headers if not h.name.startswith(":")] == ["x-trace"]
    assert pong.payload == b"hi"


def test_rpc_header_of_the_wrong_type_is_a_protocol_error(core: FakeCore) -> None:
    raw = core.raw("c")
    raw.send_raw(
        encode_message(
            (
                Header("type", HeaderType.INT64, 2),
                Header(":message-type", HeaderType.INT64, 2),
                Header.int32(":message-flags", 0),
                Header.int32(":stream-id", 0),
            ),
            b"",
        )
    )
    error = raw.next()
    assert rpc_fields(error)[0] == 6 and b"missing required fields" in error.payload
    assert raw.closed_by_server()


def test_corrupt_bytes_close_the_connection(core: FakeCore) -> None:
    raw = core.raw("c")
    frame = bytearray(encode_message((), b"x"))
    frame[-1] ^= 0xFF
    raw.send_raw(bytes(frame))
    assert raw.closed_by_server()


# -- streams -----------------------------------------------------------------------------


def test_request_answer_ends_the_stream_on_the_same_id(core: FakeCore) -> None:
    core.allow("c", PUBSUB_ALL)
    raw = core.raw("c")
    raw.request(
        1,
        PUBLISH,
        json.dumps({"topic": "t", "publishMessage": {"jsonMessage": {"message": {}}}}).encode(),
    )
    answer = raw.next()
    assert rpc_fields(answer) == (0, 2, 1)
    assert answer.header("service-model-type").value == "aws.greengrass#PublishToTopicResponse"
    assert answer.header(":content-type").value == "application/json"
    assert json.loads(answer.payload) == {}


def test_stream_ids_must_grow_by_one(core: FakeCore) -> None:
    raw = core.raw("c")
    raw.request(2, PUBLISH, b"{}")
    error = raw.next()
    assert rpc_fields(error) == (6, 0, 0) and b"incremented by more than 1" in error.payload
    assert raw.closed_by_server()


def test_new_stream_without_operation_is_a_protocol_error(core: FakeCore) -> None:
    raw = core.raw("c")
    raw.send(0, 0, 1, (Header.string(":content-type", "application/json"),), b"{}")
    error = raw.next()
    assert rpc_fields(error)[0] == 6 and b"operation header" in error.payload
    assert raw.closed_by_server()


def test_message_on_a_finished_stream_is_a_protocol_error_unless_it_closes(core: FakeCore) -> None:
    core.allow("c", PUBSUB_ALL)
    raw = core.raw("c")
    body = json.dumps({"topic": "t", "publishMessage": {"binaryMessage": {"message": ""}}}).encode()
    raw.request(1, PUBLISH, body)
    raw.next()
    raw.send(0, 2, 1)  # a close crossing the server's: ignored
    raw.request(2, PUBLISH, body)
    assert rpc_fields(raw.next()) == (0, 2, 2)
    raw.send(0, 0, 1, (), b"{}")
    error = raw.next()
    assert rpc_fields(error)[0] == 6 and b"lower than the last seen" in error.payload
    assert raw.closed_by_server()


def test_request_that_hangs_up_at_once_is_not_run(core: FakeCore) -> None:
    core.allow("c", PUBSUB_ALL)
    raw = core.raw("c")
    raw.request(
        1, PUBLISH, b'{"topic": "t", "publishMessage": {"binaryMessage": {"message": ""}}}', flags=2
    )
    raw.request(2, "aws.greengrass#Nonsense", b"{}")
    answer = raw.next()
    assert rpc_fields(answer)[2] == 2  # nothing came back on stream 1


def test_operation_outside_the_model_gets_the_java_servers_answer(core: FakeCore) -> None:
    raw = core.raw("c")
    raw.request(1, "aws.greengrass#Nonsense", b"{}")
    answer = raw.next()
    assert rpc_fields(answer) == (1, 2, 1)
    assert answer.header("service-model-type") is None
    assert answer.payload == (
        b'{ "error": "Unsupported Operation", "message": "aws.greengrass#Nonsense is an '
        b'unsupported operation." }'
    )


def test_unimplemented_model_operation_is_not_supported_by_greengrass(core: FakeCore) -> None:
    client = core.client("c")
    with pytest.raises(ipc_model.ServiceError) as error:
        client.update_configuration_async(key_path=["a"], value_to_merge={"a": 1}).result(T)
    assert (
        error.value.message
        == "Operation aws.greengrass#UpdateConfiguration is not supported by Greengrass"
    )
    assert str(error.value) == ""  # the client's error classes keep the text in .message


def test_modeled_error_body_has_the_java_base_fields(core: FakeCore) -> None:
    raw = core.raw("c")
    raw.request(1, "aws.greengrass#GetThingShadow", b'{"thingName": "t"}')
    answer = raw.next()
    assert rpc_fields(answer) == (1, 2, 1)
    assert answer.header("service-model-type").value == "aws.greengrass#UnauthorizedError"
    body = json.loads(answer.payload)
    assert body["_service"] == "aws.greengrass#GreengrassCoreIPC"
    assert body["_errorCode"] == "UnauthorizedError"
    assert body["_message"] == body["message"]


def test_stream_event_from_the_client_gets_internal_error(core: FakeCore) -> None:
    core.allow("c", PUBSUB_ALL)
    raw = core.raw("c")
    raw.request(1, SUBSCRIBE, b'{"topic": "a"}')
    assert rpc_fields(raw.next()) == (0, 0, 1)  # the response keeps the stream open
    raw.send(0, 0, 1, (), b"{}")
    answer = raw.next()
    assert rpc_fields(answer) == (1, 2, 1)
    assert answer.header(":content-type").value == "text/plain"
    assert answer.payload == b"InternalServerError"
    assert core.router.subscriptions() == []


def test_handler_that_raises_answers_internal_error_and_the_connection_lives(
    blocking: tuple[FakeCore, Blocking],
) -> None:
    core, _ = blocking
    client = core.client("c")
    with pytest.raises(StreamClosedError):
        client.update_state_async(state="RUNNING").result(T)
    with pytest.raises(ipc_model.UnauthorizedError):
        client.get_thing_shadow_async(thing_name="t").result(T)


def test_closing_connections_fails_pending_calls_instead_of_hanging(
    blocking: tuple[FakeCore, Blocking],
) -> None:
    core, service = blocking
    core.allow("d", PUBSUB_ALL)
    client = core.client("c")
    other = core.client("d")
    pending = client.get_configuration_async()
    assert service.entered.wait(T)
    assert core.server.close_connections("c") == 1
    with pytest.raises(StreamClosedError):
        pending.result(T)
    service.release.set()
    assert_refused_as_closed(
        lambda: client.publish_to_topic_async(topic="t", publish_message=_json({}))
    )
    # another component's connection is untouched
    assert other.publish_to_topic_async(topic="t", publish_message=_json({})).result(T) is not None


def test_server_stop_ends_clients_calls(core: FakeCore) -> None:
    client = core.client("c")
    core.server.stop(timeout=T)
    assert_refused_as_closed(
        lambda: client.publish_to_topic_async(topic="t", publish_message=_json({}))
    )


def test_too_long_socket_directory_is_refused_with_a_clear_message(tmp_path) -> None:
    deep = tmp_path / ("d" * 120)
    deep.mkdir()
    with pytest.raises(ValueError, match="must be under 108"):
        NucleusIpcServer(directory=str(deep)).start()


def test_client_without_the_environment_fails_at_construction(monkeypatch) -> None:
    monkeypatch.delenv("AWS_GG_NUCLEUS_DOMAIN_SOCKET_FILEPATH_FOR_COMPONENT", raising=False)
    with pytest.raises(KeyError):
        GreengrassCoreIPCClientV2()


def assert_refused_as_closed(call) -> None:
    """A call on a closed connection fails: through its future, or (once the client has
    noticed the close) at once with the C library's CONNECTION_CLOSED error."""
    with pytest.raises(RuntimeError) as failure:
        call().result(T)
    error = failure.value
    assert isinstance(error, (ConnectionClosedError, StreamClosedError)) or (
        "AWS_ERROR_EVENT_STREAM_RPC_CONNECTION_CLOSED" in str(error)
    ), repr(error)


def _json(message: dict) -> ipc_model.PublishMessage:
    return ipc_model.PublishMessage(json_message=ipc_model.JsonMessage(message=message))


def test_old_style_client_with_unknown_token_is_access_denied(core: FakeCore, monkeypatch) -> None:
    from awsiot import greengrasscoreipc

    monkeypatch.setenv(SOCKET_ENV_FOR_COMPONENT, core.server.socket_path)
    monkeypatch.setenv("SVCUID", "ZZZZZZZZZZZZZZZZ")
    with pytest.raises(AccessDeniedError):
        greengrasscoreipc.connect(timeout=T)
