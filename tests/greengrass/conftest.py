"""Fixtures for running the real ``greengrasssdk`` against our core-only modules.

Every test starts and ends with the core modules and the SDK out of ``sys.modules``: they read
the Lambda's environment when imported, so each test imports them fresh.
"""

from __future__ import annotations

import itertools
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

import pytest

from fakes.core_modules import core_runtime_on_path, forget_core_modules
from fakes.ipc_backend import IPCError, backend_installed

MY_ARN = "arn:aws:lambda:us-east-1:123456789012:function:sensor:3"
SHADOW_ARN = "arn:aws:lambda:::function:GGShadowService"
ROUTER_ARN = "arn:aws:lambda:::function:GGRouter"
SECRETS_ARN = "arn:aws:lambda:::function:GGSecretManager:1"
TOKEN = "token-of-sensor"

LAMBDA_ENVIRONMENT = {
    "MY_FUNCTION_ARN": MY_ARN,
    "SHADOW_FUNCTION_ARN": SHADOW_ARN,
    "ROUTER_FUNCTION_ARN": ROUTER_ARN,
    "SECRETS_MANAGER_FUNCTION_ARN": SECRETS_ARN,
    "AWS_CONTAINER_AUTHORIZATION_TOKEN": TOKEN,
    "GG_DAEMON_PORT": "8000",
}


@dataclass(frozen=True)
class Request:
    """One request as the daemon received it."""

    operation: str
    function_arn: str
    auth_token: str | None
    invocation_id: str | None = None
    payload: bytes | None = None
    client_context: str | None = None
    invocation_type: str | None = None
    handler_err: str | None = None


class RecordingCore:
    """A small daemon for tests: records every request, answers from what the test scripted.

    Only functions given a result with :meth:`reply` exist; anything else is a 404, as are
    results asked for invocations it never issued. A wrong token is a 403. :attr:`failure`, when
    set, is raised for every request (an error the test wants the daemon to signal).
    """

    def __init__(self, token: str = TOKEN) -> None:
        self.token = token
        self.requests: list[Request] = []
        self.failure: Exception | None = None
        self._results: dict[str, tuple[bytes, str | None]] = {}
        self._issued: dict[str, str] = {}
        self._work: dict[str, deque[tuple[str, bytes, str | None]]] = {}
        self._ids = (f"invocation-{n}" for n in itertools.count(1))

    def reply(self, function_arn: str, payload: bytes, func_err: str | None = None) -> None:
        """Make ``function_arn`` exist and answer every invocation with this result."""
        self._results[function_arn] = (payload, func_err)

    def queue_work(self, function_arn: str, payload: bytes, client_context: str | None) -> str:
        """Queue an invocation for the Lambda ``function_arn`` to take with ``get_work``."""
        invocation_id = next(self._ids)
        self._issued[invocation_id] = function_arn
        self._work.setdefault(function_arn, deque()).append(
            (invocation_id, payload, client_context)
        )
        return invocation_id

    def of(self, operation: str) -> list[Request]:
        return [request for request in self.requests if request.operation == operation]

    def _receive(self, request: Request) -> None:
        self.requests.append(request)
        if self.failure is not None:
            raise self.failure
        if request.auth_token != self.token:
            raise IPCError(403, "invalid authorization token")

    def _known_invocation(self, function_arn: str, invocation_id: str) -> None:
        if self._issued.get(invocation_id) != function_arn:
            raise IPCError(404, f"no invocation {invocation_id} of {function_arn}")

    def post_work(
        self,
        function_arn: str,
        payload: bytes,
        client_context: str | None,
        invocation_type: str,
        auth_token: str | None,
    ) -> str:
        self._receive(
            Request(
                "post_work",
                function_arn,
                auth_token,
                payload=payload,
                client_context=client_context,
                invocation_type=invocation_type,
            )
        )
        if function_arn not in self._results:
            raise IPCError(404, f"function {function_arn} not found")
        if invocation_type not in ("RequestResponse", "Event"):
            raise IPCError(400, f"invalid invocation type {invocation_type}")
        invocation_id = next(self._ids)
        self._issued[invocation_id] = function_arn
        return invocation_id

    def get_work_result(
        self, function_arn: str, invocation_id: str, auth_token: str | None
    ) -> tuple[bytes, str | None]:
        self._receive(
            Request("get_work_result", function_arn, auth_token, invocation_id=invocation_id)
        )
        self._known_invocation(function_arn, invocation_id)
        return self._results[function_arn]

    def get_work(self, function_arn: str, auth_token: str | None) -> tuple[str, bytes, str | None]:
        self._receive(Request("get_work", function_arn, auth_token))
        queue = self._work.get(function_arn)
        if not queue:
            raise IPCError(404, f"no work queued for {function_arn}")
        return queue.popleft()

    def post_work_result(
        self, function_arn: str, invocation_id: str, payload: bytes, auth_token: str | None
    ) -> None:
        self._receive(
            Request(
                "post_work_result",
                function_arn,
                auth_token,
                invocation_id=invocation_id,
                payload=payload,
            )
        )
        self._known_invocation(function_arn, invocation_id)

    def post_handler_err(
        self, function_arn: str, invocation_id: str, handler_err: str, auth_token: str | None
    ) -> None:
        self._receive(
            Request(
                "post_handler_err",
                function_arn,
                auth_token,
                invocation_id=invocation_id,
                handler_err=handler_err,
            )
        )
        self._known_invocation(function_arn, invocation_id)


@pytest.fixture(autouse=True)
def fresh_imports() -> Iterator[None]:
    forget_core_modules()
    yield
    forget_core_modules()


@pytest.fixture
def on_core() -> Iterator[Path]:
    """The core runtime folder on ``sys.path``, as a core's Lambda runtime has it."""
    with core_runtime_on_path() as path:
        yield path


@pytest.fixture
def lambda_env(monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """The environment the core gives the Lambda under test."""
    for name, value in LAMBDA_ENVIRONMENT.items():
        monkeypatch.setenv(name, value)
    return dict(LAMBDA_ENVIRONMENT)


@pytest.fixture
def core() -> Iterator[RecordingCore]:
    """The daemon: the shadow service and router exist; other functions only once scripted."""
    daemon = RecordingCore()
    daemon.reply(ROUTER_ARN, b"")
    daemon.reply(SHADOW_ARN, b"{}")
    with backend_installed(daemon):
        yield daemon


@pytest.fixture
def sdk(on_core: Path, lambda_env: dict[str, str], core: RecordingCore) -> ModuleType:
    """``greengrasssdk`` imported inside the Lambda's environment on the simulated core."""
    import greengrasssdk

    return greengrasssdk
