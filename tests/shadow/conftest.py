from __future__ import annotations

import json
from typing import Any

import pytest

from fakes.shadow import ShadowConfig, ShadowService

T0 = 1_700_000_000


class ManualClock:
    """Epoch seconds that move only when a test says so."""

    def __init__(self, start: float = T0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def service(clock: ManualClock) -> ShadowService:
    return ShadowService(clock=clock)


def make_service(clock: ManualClock | None = None, **config: Any) -> ShadowService:
    return ShadowService(clock=clock or ManualClock(), config=ShadowConfig(**config))


def send(service: ShadowService, topic: str, body: Any = None) -> dict[str, Any]:
    """Publish a request; return the replies as {suffix: document}, e.g. 'update/accepted'."""
    if body is None:
        payload = b""
    elif isinstance(body, bytes):
        payload = body
    else:
        payload = json.dumps(body).encode()
    replies: dict[str, Any] = {}
    for reply_topic, reply in service.handle(topic, payload):
        suffix = "/".join(reply_topic.split("/")[-2:])
        assert suffix not in replies, f"two messages on {suffix}"
        replies[suffix] = json.loads(reply)
    return replies


def update(service: ShadowService, body: Any, thing: str = "thing", shadow: str | None = None):
    from fakes.shadow import request_topic

    return send(service, request_topic(thing, "update", shadow), body)
