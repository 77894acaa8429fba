"""The Shadow service's MQTT topics.

Requests arrive on ``$aws/things/<thing>/shadow[/name/<shadow>]/{get,update,delete}``; the
service answers on the same prefix with ``/accepted``, ``/rejected``, ``/delta`` (update
only) and ``/documents`` (update only).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property, lru_cache

OPERATIONS = ("get", "update", "delete")


@dataclass(frozen=True)
class ShadowTopic:
    thing: str
    shadow: str | None
    operation: str

    @cached_property
    def prefix(self) -> str:
        return shadow_prefix(self.thing, self.shadow)

    @cached_property
    def _request(self) -> str:
        return f"{self.prefix}/{self.operation}/"

    def reply(self, suffix: str) -> str:
        """The topic for ``accepted``, ``rejected``, ``delta`` or ``documents``."""
        return self._request + suffix


def shadow_prefix(thing: str, shadow: str | None = None) -> str:
    base = f"$aws/things/{thing}/shadow"
    return base if shadow is None else f"{base}/name/{shadow}"


def request_topic(thing: str, operation: str, shadow: str | None = None) -> str:
    if operation not in OPERATIONS:
        raise ValueError(f"not a shadow operation: {operation!r} (one of {OPERATIONS})")
    return f"{shadow_prefix(thing, shadow)}/{operation}"


@lru_cache(maxsize=4096)
def parse_request_topic(topic: str) -> ShadowTopic | None:
    """The request a topic names, or ``None`` when it is not a shadow request topic
    (for example a reply topic such as ``.../update/accepted``)."""
    parts = topic.split("/")
    if len(parts) < 5 or parts[0] != "$aws" or parts[1] != "things" or parts[3] != "shadow":
        return None
    if len(parts) == 5:
        thing, shadow, operation = parts[2], None, parts[4]
    elif len(parts) == 7 and parts[4] == "name":
        thing, shadow, operation = parts[2], parts[5], parts[6]
    else:
        return None
    if operation not in OPERATIONS:
        return None
    return ShadowTopic(thing, shadow, operation)
