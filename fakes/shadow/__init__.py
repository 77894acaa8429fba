"""A local Device Shadow service that behaves like AWS IoT's.

``ShadowService().handle(topic, payload)`` takes a request published on a shadow topic and
returns the messages it causes, in order. See ``shared/specs/shadow.md`` for the rules.
"""

from fakes.shadow.config import ShadowConfig
from fakes.shadow.errors import ShadowRejection
from fakes.shadow.service import Message, Outcome, ShadowService
from fakes.shadow.store import MemoryStore, ShadowRecord, SQLiteStore
from fakes.shadow.topics import parse_request_topic, request_topic, shadow_prefix

__all__ = [
    "MemoryStore",
    "Message",
    "Outcome",
    "SQLiteStore",
    "ShadowConfig",
    "ShadowRecord",
    "ShadowRejection",
    "ShadowService",
    "parse_request_topic",
    "request_topic",
    "shadow_prefix",
]
