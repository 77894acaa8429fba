"""The group's subscriptions as both Greengrass APIs name their ends, with stable ids.

V1 subscription definitions and the V2 ``aws.greengrass.LegacySubscriptionRouter`` take the
same four fields: ``id``, ``source``, ``subject``, ``target``. Functions are named by their
version-qualified Lambda ARN (both APIs require the version; ``$LATEST`` is refused), devices
by their thing ARN, and ``cloud`` and ``GGShadowService`` by those words.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from harness.group import Group, Subscription

__all__ = ["Route", "endpoint_arn", "routes"]

_ID_UNSAFE = re.compile(r"[^A-Za-z0-9:_-]+")
MAX_ID = 128  # both APIs: 1-128 of [a-zA-Z0-9:_-]


@dataclass(frozen=True)
class Route:
    """A subscription with its ends as ARNs and an id unique within the group."""

    id: str
    source: str
    subject: str
    target: str


def endpoint_arn(group: Group, endpoint: str) -> str:
    """``function:<name>``, ``device:<thing>``, ``cloud`` or ``GGShadowService`` as the APIs
    name it."""
    if endpoint in ("cloud", "GGShadowService"):
        return endpoint
    kind, name = endpoint.split(":", 1)
    if kind == "function":
        return group.function_arn(name)
    return group.thing_arn(name)


def _route_id(number: int, subscription: Subscription) -> str:
    """``NN-<source>-to-<target>``: readable, stable while the list order is, and unique
    (the number) even for two routes between the same ends."""
    ends = [
        subscription.source_name or subscription.source,
        subscription.target_name or subscription.target,
    ]
    text = f"{number:02d}-{ends[0]}-to-{ends[1]}"
    return _ID_UNSAFE.sub("_", text)[:MAX_ID]


def routes(group: Group) -> list[Route]:
    """Every subscription of ``group``, in file order, ready for either API."""
    return [
        Route(
            id=_route_id(number, subscription),
            source=endpoint_arn(group, subscription.source),
            subject=subscription.subject,
            target=endpoint_arn(group, subscription.target),
        )
        for number, subscription in enumerate(group.subscriptions, 1)
    ]
