"""The ``context`` a Lambda handler receives, as the Greengrass Python runtime builds it."""

from __future__ import annotations

import base64
import copy
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any


@dataclass(frozen=True)
class ClientContext:
    """``context.client_context``: for a message routed by a subscription, ``custom``
    holds ``subject`` (the topic) and the publisher's ``source``."""

    custom: dict[str, Any] = field(default_factory=dict)
    client: Any = None
    env: dict[str, Any] | None = None

    @classmethod
    def decode(cls, encoded: str | None) -> ClientContext | None:
        """From the base64 JSON the core passes along with an invocation."""
        if not encoded:
            return None
        document = _decode(encoded)
        return cls(  # a fresh copy each time: a handler may change what it is given
            custom=dict(document.get("custom") or {}),
            client=copy.deepcopy(document.get("client")),
            env=copy.deepcopy(document.get("env")),
        )


@lru_cache(maxsize=4096)
def _decode(encoded: str) -> dict[str, Any]:
    return json.loads(base64.b64decode(encoded))


@dataclass
class LambdaContext:
    function_name: str
    function_version: str
    invoked_function_arn: str
    memory_limit_in_mb: int
    aws_request_id: str
    client_context: ClientContext | None
    deadline: float  # virtual seconds since the simulation started
    now: Callable[[], float]
    identity: Any = None
    log_group_name: str = ""
    log_stream_name: str = ""

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self.deadline - self.now()) * 1000))
