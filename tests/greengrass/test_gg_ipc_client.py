"""Our ``greengrass_ipc_python_sdk.ipc_client`` on its own: what the real client accepts, sends
and raises, with the daemon replaced by the recording backend of the conftest."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator
from http.client import InvalidURL
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING

import pytest

from fakes.ipc_backend import (
    IPCError,
    backend_installed,
    current_backend,
    install_backend,
)

if TYPE_CHECKING:
    from tests.greengrass.conftest import RecordingCore

TARGET = "arn:aws:lambda:us-east-1:123456789012:function:actuator:2"
ROUTER_ARN = "arn:aws:lambda:::function:GGRouter"


@pytest.fixture
def ipc(on_core: Path, lambda_env: dict[str, str], core: RecordingCore) -> ModuleType:
    core.reply(TARGET, b'{"done": true}')
    import greengrass_ipc_python_sdk.ipc_client as ipc_client

    return ipc_client


# --- construction -------------------------------------------------------------------------


def test_port_comes_from_the_environment(ipc: ModuleType) -> None:
    client = ipc.IPCClient()
    assert (client.endpoint, client.port) == ("localhost", 8000)


def test_port_argument_is_deprecated_and_ignored(
    ipc: ModuleType, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger=ipc.__name__):
        client = ipc.IPCClient(endpoint="127.0.0.1", port=9999)
    assert (client.endpoint, client.port) == ("127.0.0.1", 8000)
    assert "deprecated arg port=9999 will be ignored" in caplog.text


def test_set_gg_daemon_port(ipc: ModuleType) -> None:
    ipc.IPCClient.set_gg_daemon_port("7001")
    assert ipc.IPCClient().port == 7001


def test_without_daemon_port_the_client_cannot_be_built(
    on_core: Path, lambda_env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("GG_DAEMON_PORT")
    from greengrass_ipc_python_sdk.ipc_client import IPCClient

    with pytest.raises(TypeError, match="GG_DAEMON_PORT"):
        IPCClient()


def test_a_daemon_port_that_is_not_a_number(
    on_core: Path, lambda_env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GG_DAEMON_PORT", "eight-thousand")
    from greengrass_ipc_python_sdk.ipc_client import IPCClient

    with pytest.raises(ValueError, match="invalid literal for int"):
        IPCClient()


# --- invoking another function ------------------------------------------------------------


def test_post_work_and_get_work_result(ipc: ModuleType, core: RecordingCore) -> None:
    client = ipc.IPCClient()

    invocation_id = client.post_work(TARGET, b"in", b"Y29udGV4dA==", "RequestResponse")
    result = client.get_work_result(TARGET, invocation_id)

    assert result == ipc.GetWorkResultOutput(payload=b'{"done": true}', func_err="")
    assert (result.payload, result.func_err) == (b'{"done": true}', "")
    post = core.of("post_work")[0]
    assert (post.payload, post.client_context, post.invocation_type) == (
        b"in",
        "Y29udGV4dA==",
        "RequestResponse",
    )


def test_the_default_invocation_type_is_request_response(
    ipc: ModuleType, core: RecordingCore
) -> None:
    ipc.IPCClient().post_work(TARGET, b"", "")
    assert core.of("post_work")[0].invocation_type == "RequestResponse"


def test_function_error_is_passed_on(ipc: ModuleType, core: RecordingCore) -> None:
    core.reply(TARGET, b'{"errorMessage": "x"}', func_err="Handled")
    client = ipc.IPCClient()
    result = client.get_work_result(TARGET, client.post_work(TARGET, b"", ""))
    assert result.func_err == "Handled"


def test_router_results_are_never_fetched(ipc: ModuleType, core: RecordingCore) -> None:
    result = ipc.IPCClient().get_work_result(ROUTER_ARN, "any-id")
    assert result == ipc.GetWorkResultOutput(payload="", func_err="")
    assert core.requests == []


@pytest.mark.parametrize(
    ("payload", "sent"),
    [
        (None, b""),
        (b"raw", b"raw"),
        ("text é", "text é".encode()),
        (bytearray(b"ba"), b"ba"),
        (memoryview(b"mv"), b"mv"),
        (io.BytesIO(b"file"), b"file"),
        (io.StringIO("latin é"), "latin é".encode("latin-1")),
        ([b"ch", b"unks"], b"chunks"),
    ],
)
def test_payloads_are_sent_as_urllib_sends_them(
    ipc: ModuleType, core: RecordingCore, payload: object, sent: bytes
) -> None:
    ipc.IPCClient().post_work(TARGET, payload, "")
    assert core.of("post_work")[0].payload == sent


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        (42, "message_body should be a bytes-like object or an iterable"),
        ({"a": 1}, "can't concat str to bytes"),
    ],
)
def test_payloads_urllib_cannot_send(
    ipc: ModuleType, core: RecordingCore, payload: object, message: str
) -> None:
    with pytest.raises(TypeError, match=message):
        ipc.IPCClient().post_work(TARGET, payload, "")
    assert core.requests == []


@pytest.mark.parametrize(
    ("client_context", "error"),
    [(None, TypeError), ("two\nlines", ValueError), ("snow ☃", UnicodeEncodeError)],
)
def test_header_values_urllib_refuses(
    ipc: ModuleType, core: RecordingCore, client_context: object, error: type[Exception]
) -> None:
    with pytest.raises(error):
        ipc.IPCClient().post_work(TARGET, b"", client_context)
    assert core.requests == []


def test_no_auth_token_means_no_request(
    on_core: Path,
    lambda_env: dict[str, str],
    core: RecordingCore,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("AWS_CONTAINER_AUTHORIZATION_TOKEN")
    from greengrass_ipc_python_sdk.ipc_client import IPCClient

    with pytest.raises(TypeError, match="NoneType"):
        IPCClient().post_work(TARGET, b"", "")
    assert core.requests == []


def test_an_arn_that_cannot_be_in_a_url(ipc: ModuleType, core: RecordingCore) -> None:
    with pytest.raises(InvalidURL, match="can't contain control characters"):
        ipc.IPCClient().post_work("arn:aws:lambda:us-east-1:1:function:a b", b"", "")
    assert core.requests == []


def test_a_missing_arn_is_sent_as_the_url_would_carry_it(
    ipc: ModuleType, core: RecordingCore
) -> None:
    with pytest.raises(ipc.IPCException, match="HTTP Error 404: Not Found"):
        ipc.IPCClient().post_work(None, b"", "")
    assert core.of("post_work")[0].function_arn == "None"


def test_http_errors_become_ipc_exceptions_and_bodies_go_to_the_log(
    ipc: ModuleType, core: RecordingCore, caplog: pytest.LogCaptureFixture
) -> None:
    core.failure = IPCError(400, "No subscription exists for the source")
    with (
        caplog.at_level(logging.ERROR, logger=ipc.__name__),
        pytest.raises(ipc.IPCException) as raised,
    ):
        ipc.IPCClient().post_work(TARGET, b"", "", "Event")
    assert str(raised.value) == "HTTP Error 400: Bad Request"
    assert "HTTP Error 400:Bad Request, b'No subscription exists for the source'" in caplog.text


def test_a_wrong_token_is_the_daemons_call(ipc: ModuleType, core: RecordingCore) -> None:
    core.token = "another-lambdas-token"
    with pytest.raises(ipc.IPCException, match=r"^HTTP Error 403: Forbidden$"):
        ipc.IPCClient().post_work(TARGET, b"", "")


def test_invocation_types_are_left_to_the_daemon(ipc: ModuleType, core: RecordingCore) -> None:
    with pytest.raises(ipc.IPCException, match="HTTP Error 400: Bad Request"):
        ipc.IPCClient().post_work(TARGET, b"", "", "DryRun")
    assert core.of("post_work")[0].invocation_type == "DryRun"


# --- a Lambda's own work loop -------------------------------------------------------------


def test_get_work_then_post_work_result(ipc: ModuleType, core: RecordingCore) -> None:
    me = "arn:aws:lambda:us-east-1:123456789012:function:sensor:3"
    invocation_id = core.queue_work(me, b'{"cmd": 1}', "Y3R4")
    client = ipc.IPCClient()

    work = client.get_work(me)
    assert work == ipc.WorkItem(
        invocation_id=invocation_id, payload=b'{"cmd": 1}', client_context="Y3R4"
    )
    client.post_work_result(me, ipc.WorkItem(work.invocation_id, '{"ok": 1}', None))

    posted = core.of("post_work_result")[0]
    assert (posted.invocation_id, posted.payload) == (invocation_id, b'{"ok": 1}')


def test_post_handler_err(ipc: ModuleType, core: RecordingCore) -> None:
    me = "arn:aws:lambda:us-east-1:123456789012:function:sensor:3"
    invocation_id = core.queue_work(me, b"{}", None)
    client = ipc.IPCClient()
    work = client.get_work(me)

    client.post_handler_err(me, work.invocation_id, "ZeroDivisionError: division by zero")

    reported = core.of("post_handler_err")[0]
    assert (reported.invocation_id, reported.handler_err) == (
        invocation_id,
        "ZeroDivisionError: division by zero",
    )


def test_no_work_queued(ipc: ModuleType, core: RecordingCore) -> None:
    with pytest.raises(ipc.IPCException, match="HTTP Error 404"):
        ipc.IPCClient().get_work("arn:aws:lambda:us-east-1:123456789012:function:sensor:3")


# --- the backend registry -----------------------------------------------------------------


class _WrongAnswers:
    def post_work(self, *args: object) -> object:
        return 17

    def get_work_result(self, *args: object) -> object:
        return ("text, not bytes", None)

    def get_work(self, *args: object) -> object:
        return ("id", b"", None)

    def post_work_result(self, *args: object) -> None:
        return None

    def post_handler_err(self, *args: object) -> None:
        return None


def test_answers_of_the_wrong_type_are_backend_bugs(ipc: ModuleType) -> None:
    with backend_installed(_WrongAnswers()):
        client = ipc.IPCClient()
        with pytest.raises(TypeError, match="invocation id"):
            client.post_work(TARGET, b"", "")
        with pytest.raises(TypeError, match="result payload"):
            client.get_work_result(TARGET, "id")


def test_install_backend_refuses_what_is_not_a_backend() -> None:
    with pytest.raises(TypeError, match="missing get_work, post_work_result, post_handler_err"):
        install_backend(type("Half", (), {"post_work": print, "get_work_result": print})())


@pytest.fixture
def no_backend() -> Iterator[None]:
    previous = install_backend(None)
    yield
    install_backend(previous)


def test_backend_installed_restores_the_previous_one(no_backend: None) -> None:
    outer, inner = _WrongAnswers(), _WrongAnswers()
    with backend_installed(outer):
        with backend_installed(inner):
            assert current_backend() is inner
        assert current_backend() is outer
    with pytest.raises(RuntimeError, match="No IPC backend is installed"):
        current_backend()


def test_ipc_error_needs_an_error_status() -> None:
    with pytest.raises(ValueError, match="400-599"):
        IPCError(200, "fine")
    assert IPCError(404, "gone").reason == "Not Found"
