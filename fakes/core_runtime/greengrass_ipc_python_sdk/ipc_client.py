"""``IPCClient``: how Lambda code on a core reaches the daemon (the simulated core here).

The real client sends HTTP requests to ``http://<endpoint>:<GG_DAEMON_PORT>/2016-11-01/
functions/<function-arn>`` (``.../work`` for a Lambda's own work queue). This one keeps its
surface and argument handling and hands each request to :func:`fakes.ipc_backend.current_backend`:

* ``IPCClient(endpoint='localhost', port=None)``. ``port`` is deprecated and ignored (a warning
  is logged); the port is ``int(GG_DAEMON_PORT)``, so without that variable the constructor
  raises ``TypeError`` and with a non-number ``ValueError``, as the real one does.
* Payloads: ``None`` is sent as ``b''``, ``str`` as UTF-8; bytes-like objects, files and
  iterables of bytes as urllib sends them; anything else raises ``TypeError``.
* Header values (client context, auth token, invocation type, invocation id) must be text
  (Latin-1) or bytes without bare line breaks; ``None`` raises ``TypeError`` (so every call
  fails without ``AWS_CONTAINER_AUTHORIZATION_TOKEN``, as on a core).
* The invocation type is not checked here; the daemon decides (the backend may answer 400).
* An HTTP error answer (:class:`fakes.ipc_backend.IPCError`) raises
  ``IPCException('HTTP Error <status>: <reason phrase>')``, the body going to the log only; an
  unreachable daemon (:class:`fakes.ipc_backend.IPCConnectionError`) raises
  ``IPCException('<urlopen error <reason>>')``.
* ``get_work_result`` returns ``func_err=''`` when the function did not fail (the daemon always
  sends the function-error header), and answers ``GetWorkResultOutput('', '')`` for the router
  ``arn:aws:lambda:::function:GGRouter`` without asking the daemon.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, NamedTuple

from greengrass_common.env_vars import AUTH_TOKEN, GG_DAEMON_PORT

from fakes.ipc_backend import IPCConnectionError, IPCError, current_backend
from greengrass_ipc_python_sdk import _wire

runtime_logger = logging.getLogger(__name__)

IPC_API_VERSION = "2016-11-01"
HEADER_INVOCATION_ID = "X-Amz-InvocationId"
HEADER_CLIENT_CONTEXT = "X-Amz-Client-Context"
HEADER_AUTH_TOKEN = "Authorization"
HEADER_INVOCATION_TYPE = "X-Amz-Invocation-Type"
HEADER_FUNCTION_ERR_TYPE = "X-Amz-Function-Error"

#: Results of router invocations are never fetched from the daemon.
ROUTER_ARN_WITHOUT_RESULTS = "arn:aws:lambda:::function:GGRouter"


class IPCException(Exception):
    """A request to the daemon failed: unreachable, or answered with an HTTP error status."""


class WorkItem(NamedTuple):
    """One invocation as a Lambda's runtime receives it, or the result it posts back."""

    invocation_id: str | None
    payload: Any
    client_context: str | None


class GetWorkResultOutput(NamedTuple):
    """The result of an invocation: its payload and the function error type (``''`` if none)."""

    payload: Any
    func_err: str | None


@contextmanager
def _daemon_errors_as_ipc_exception() -> Iterator[None]:
    try:
        yield
    except IPCError as err:
        body = err.message.encode("utf-8", "replace")
        runtime_logger.error("HTTP Error %s:%s, %s", err.status, err.reason, body)
        raise IPCException(f"HTTP Error {err.status}: {err.reason}") from err
    except IPCConnectionError as err:
        runtime_logger.exception(err)
        raise IPCException(f"<urlopen error {err.reason}>") from err


def _outgoing_payload(payload: object) -> bytes:
    if payload is None:
        return b""
    if isinstance(payload, str):
        payload = payload.encode("utf-8")
    return _wire.body_bytes(payload)


def _answer(value: Any, expected: type | tuple[type, ...], what: str) -> Any:
    if not isinstance(value, expected):
        raise TypeError(f"the IPC backend's {what} must be {expected}, got {type(value)!r}")
    return value


class IPCClient:
    """Posts and fetches work and results for Lambda functions through the core's daemon."""

    _GG_DAEMON_PORT: str | int | None = GG_DAEMON_PORT

    @staticmethod
    def set_gg_daemon_port(port: str | int | None) -> None:
        """Use ``port`` instead of ``GG_DAEMON_PORT`` for clients created from now on."""
        IPCClient._GG_DAEMON_PORT = port

    def __init__(self, endpoint: str = "localhost", port: int | None = None) -> None:
        """``endpoint`` is the daemon's host; ``port`` is deprecated and not used."""
        configured = IPCClient._GG_DAEMON_PORT
        if configured is None:
            raise TypeError(
                "int() argument must be a string, a bytes-like object or a real number, "
                "not 'NoneType' (GG_DAEMON_PORT is not set in this Lambda's environment)"
            )
        self.endpoint = endpoint
        self.port = int(configured)
        self.auth_token = AUTH_TOKEN
        if port is not None:
            runtime_logger.warning("deprecated arg port=%s will be ignored", port)

    def post_work(
        self,
        function_arn: str,
        payload: Any,
        client_context: str | bytes,
        invocation_type: str = "RequestResponse",
    ) -> str:
        """Invoke ``function_arn`` with ``payload``; return the invocation id.

        ``client_context`` is the base64 client context as text or bytes; ``invocation_type`` is
        ``'RequestResponse'`` or ``'Event'``.
        """
        arn = self._checked_arn(function_arn)
        runtime_logger.info("Posting work for function [%s]", arn)
        context = _wire.header_value(client_context)
        token = _wire.header_value(self.auth_token)
        kind = _wire.header_value(invocation_type)
        body = _outgoing_payload(payload)
        with _daemon_errors_as_ipc_exception():
            invocation_id = current_backend().post_work(arn, body, context, kind, token)
        runtime_logger.info("Work posted with invocation id [%s]", invocation_id)
        return _answer(invocation_id, str, "invocation id")

    def get_work(self, function_arn: str) -> WorkItem:
        """Take the next invocation queued for ``function_arn`` (the Lambda's own ARN)."""
        arn = self._checked_arn(function_arn, work=True)
        runtime_logger.info("Getting work for function [%s]", arn)
        token = _wire.header_value(self.auth_token)
        with _daemon_errors_as_ipc_exception():
            answer = current_backend().get_work(arn, token)
        invocation_id, payload, client_context = _answer(answer, tuple, "get_work answer")
        runtime_logger.info("Got work item with invocation id [%s]", invocation_id)
        return WorkItem(
            invocation_id=_answer(invocation_id, str, "invocation id"),
            payload=_answer(payload, bytes, "work payload"),
            client_context=_answer(client_context, (str, type(None)), "client context"),
        )

    def post_work_result(self, function_arn: str, work_item: WorkItem) -> None:
        """Post the result of ``work_item`` (its ``invocation_id`` and ``payload``)."""
        arn = self._checked_arn(function_arn, work=True)
        runtime_logger.info("Posting work result for invocation id [%s]", work_item.invocation_id)
        invocation_id = _wire.header_value(work_item.invocation_id)
        token = _wire.header_value(self.auth_token)
        body = _outgoing_payload(work_item.payload)
        with _daemon_errors_as_ipc_exception():
            current_backend().post_work_result(arn, invocation_id, body, token)
        runtime_logger.info("Posted work result for invocation id [%s]", invocation_id)

    def post_handler_err(self, function_arn: str, invocation_id: str, handler_err: str) -> None:
        """Report that the handler failed for ``invocation_id`` with ``handler_err``."""
        arn = self._checked_arn(function_arn, work=True)
        runtime_logger.info("Posting handler error for invocation id [%s]", invocation_id)
        json.dumps({"errorMessage": handler_err})  # the real body; unserialisable input fails
        invocation_id = _wire.header_value(invocation_id)
        token = _wire.header_value(self.auth_token)
        with _daemon_errors_as_ipc_exception():
            current_backend().post_handler_err(arn, invocation_id, handler_err, token)
        runtime_logger.info("Posted handler error for invocation id [%s]", invocation_id)

    def get_work_result(self, function_arn: str, invocation_id: str) -> GetWorkResultOutput:
        """Wait for the result of ``invocation_id`` of ``function_arn``."""
        if function_arn == ROUTER_ARN_WITHOUT_RESULTS:
            return GetWorkResultOutput(payload="", func_err="")
        arn = self._checked_arn(function_arn)
        runtime_logger.info("Getting work result for invocation id [%s]", invocation_id)
        invocation_id = _wire.header_value(invocation_id)
        token = _wire.header_value(self.auth_token)
        with _daemon_errors_as_ipc_exception():
            answer = current_backend().get_work_result(arn, invocation_id, token)
        payload, func_err = _answer(answer, tuple, "get_work_result answer")
        runtime_logger.info("Got result for invocation id [%s]", invocation_id)
        return GetWorkResultOutput(
            payload=_answer(payload, bytes, "result payload"),
            func_err=_answer(func_err, (str, type(None)), "function error") or "",
        )

    def _checked_arn(self, function_arn: object, *, work: bool = False) -> str:
        """The ARN as the request URL carries it, after urllib's checks of host and path."""
        arn = f"{function_arn}"
        path = f"/{IPC_API_VERSION}/functions/{arn}" + ("/work" if work else "")
        _wire.check_url_part(self.endpoint)
        _wire.check_url_part(path)
        return arn
