"""Fixtures for running the real Lambdas under ``lambdas/`` with the real ``greengrasssdk``.

The core-side fixtures of ``tests/greengrass`` are re-exported here (pytest only sees a
conftest's fixtures below its own folder). :class:`ShadowCore` is the daemon: it records every
request like :class:`~tests.greengrass.conftest.RecordingCore` and has the Shadow system
function answer from a real :class:`~fakes.shadow.ShadowService`, so shadows really change.
"""

from __future__ import annotations

import base64
import importlib
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest

from fakes.ipc_backend import IPCError, backend_installed
from fakes.shadow import ShadowService, parse_request_topic
from tests.greengrass.conftest import (
    ROUTER_ARN,
    SHADOW_ARN,
    RecordingCore,
    fresh_imports,
    lambda_env,
    on_core,
)

__all__ = ["ShadowCore", "fresh_imports", "lambda_env", "on_core"]

T0 = 1_700_000_000


class ShadowCore(RecordingCore):
    """A recording daemon whose Shadow function is ``shadows``; the router accepts events."""

    def __init__(self, shadows: ShadowService) -> None:
        super().__init__()
        self.shadows = shadows
        self.reply(ROUTER_ARN, b"")
        self.reply(SHADOW_ARN, b"")  # the function exists; its answers are computed below
        self._shadow_calls: dict[str, tuple[bytes, str | None]] = {}

    def post_work(
        self,
        function_arn: str,
        payload: bytes,
        client_context: str | None,
        invocation_type: str,
        auth_token: str | None,
    ) -> str:
        invocation_id = super().post_work(
            function_arn, payload, client_context, invocation_type, auth_token
        )
        if function_arn == SHADOW_ARN:
            self._shadow_calls[invocation_id] = (payload, client_context)
        return invocation_id

    def get_work_result(
        self, function_arn: str, invocation_id: str, auth_token: str | None
    ) -> tuple[bytes, str | None]:
        result = super().get_work_result(function_arn, invocation_id, auth_token)
        if function_arn != SHADOW_ARN:
            return result
        payload, client_context = self._shadow_calls.pop(invocation_id)
        subject = json.loads(base64.b64decode(client_context or ""))["custom"]["subject"]
        topic = parse_request_topic(subject)
        if topic is None:
            raise IPCError(400, f"not a shadow request topic: {subject}")
        outcome = self.shadows.request(topic.operation, topic.thing, payload, topic.shadow)
        response = outcome.response
        if not outcome.accepted:
            response = {"code": response["code"], "message": response["message"]}
        return json.dumps(response).encode("utf-8"), None

    def shadow_updates(self) -> list[tuple[str, dict]]:
        """Every update the Lambda sent: ``(subject, decoded payload)``, in order."""
        updates = []
        for request in self.of("post_work"):
            if request.function_arn != SHADOW_ARN:
                continue
            context = json.loads(base64.b64decode(request.client_context or ""))
            subject = context["custom"]["subject"]
            if subject.endswith("/update"):
                updates.append((subject, json.loads(request.payload or b"null")))
        return updates


@pytest.fixture
def shadows() -> ShadowService:
    return ShadowService(clock=lambda: T0)


@pytest.fixture
def core(shadows: ShadowService) -> Iterator[ShadowCore]:
    daemon = ShadowCore(shadows)
    with backend_installed(daemon):
        yield daemon


def import_lambda(name: str) -> ModuleType:
    """Import ``lambdas.<name>`` afresh, as a new Lambda container does."""
    module_name = f"lambdas.{name}"
    sys.modules.pop(module_name, None)
    return importlib.import_module(module_name)


@pytest.fixture
def lambdas_on_core(on_core: Path, lambda_env: dict[str, str], core: ShadowCore) -> Iterator[None]:
    """The Lambda environment on the simulated core; Lambdas imported meanwhile are forgotten."""
    before = {name for name in sys.modules if name.startswith("lambdas.")}
    yield
    for name in [name for name in sys.modules if name.startswith("lambdas.")]:
        if name not in before:
            del sys.modules[name]
