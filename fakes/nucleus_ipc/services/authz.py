"""IPC authorization: components' ``accessControl`` policies, matched as the nucleus does.

Each component declares, in its configuration, what it may do on other IPC services::

    {"aws.greengrass.ShadowManager": {
        "weather-station.inference:shadow:1": {
            "policyDescription": "…",
            "operations": ["aws.greengrass#GetThingShadow", "aws.greengrass#UpdateThingShadow"],
            "resources": ["$aws/things/weather-station/shadow"]}}}

The declaring component is the policy's principal. Everything not allowed is denied.
What follows is the nucleus's ``AuthorizationPolicyParser``, ``AuthorizationHandler``,
``AuthorizationModule`` and ``WildcardTrie`` (``shared/specs/greengrass-v2-ipc.md`` §4.1),
read at aws-greengrass-nucleus a28341c:

* Parsing is forgiving the nucleus's way: a problem is logged and the policy (or, when the
  map cannot be read at all, the component's whole ``accessControl``) is ignored, which
  silently denies. Each such problem is kept in :attr:`AccessControl.problems` with the
  nucleus's text, so a harness can show it. Unknown fields, or a string where a list is
  expected, make the whole map unreadable (Jackson's strict mapping); field names are
  matched without regard to case.
* Duplicate policy IDs are accepted (the nucleus stopped rejecting them in 2023).
* Resources: ``*`` matches any run of characters (``/`` included); ``${*}``, ``${$}`` and
  ``${?}`` are the literal characters; ``?`` is refused. Only for ``aws.greengrass.ipc.mqttproxy``
  (IoT Core) are ``+`` and ``#`` MQTT wildcards, and only where MQTT allows them
  (``a/#`` also matches ``a``). For local pub/sub they are literal: a policy for ``a/#``
  allows subscribing to exactly the filter ``a/#``.
* A policy without ``resources`` matches no resource. An empty resource in a request is
  refused with ``Resource cannot be empty`` before any policy is looked at.
* Lookup order is (principal, operation), (principal, ``*``), (``*``, operation), (``*``, ``*``).

Not modelled: ``{iot:thingName}`` interpolation (nucleus ≥ 2.6 with
``interpolateComponentConfiguration``) [unverified setting]; policies naming other
principals than the declaring component (only the nucleus's own defaults do).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

__all__ = [
    "IOT_CORE",
    "PUBSUB",
    "SECRET_MANAGER",
    "SHADOW_MANAGER",
    "AccessControl",
    "NotAuthorized",
    "Policy",
]

PUBSUB = "aws.greengrass.ipc.pubsub"
IOT_CORE = "aws.greengrass.ipc.mqttproxy"
SHADOW_MANAGER = "aws.greengrass.ShadowManager"
SECRET_MANAGER = "aws.greengrass.SecretManager"
ANY = "*"

_P = "aws.greengrass#"
#: IPC services that accept policies, and their operations (AuthorizationHandler's table).
REGISTERED: dict[str, frozenset[str]] = {
    PUBSUB: frozenset({_P + "PublishToTopic", _P + "SubscribeToTopic", ANY}),
    IOT_CORE: frozenset({_P + "PublishToIoTCore", _P + "SubscribeToIoTCore", ANY}),
    SECRET_MANAGER: frozenset({_P + "GetSecretValue", ANY}),
    SHADOW_MANAGER: frozenset(
        {
            _P + "GetThingShadow",
            _P + "UpdateThingShadow",
            _P + "DeleteThingShadow",
            _P + "ListNamedShadowsForThing",
            ANY,
        }
    ),
    "aws.greengrass.ipc.lifecycle": frozenset({_P + "PauseComponent", _P + "ResumeComponent", ANY}),
    "aws.greengrass.clientdevices.Auth": frozenset(
        {
            _P + "SubscribeToCertificateUpdates",
            _P + "VerifyClientDeviceIdentity",
            _P + "GetClientDeviceAuthToken",
            _P + "AuthorizeClientDeviceAction",
            ANY,
        }
    ),
    "aws.greengrass.Cli": frozenset(
        {
            _P + name
            for name in [
                "GetComponentDetails",
                "ListComponents",
                "RestartComponent",
                "StopComponent",
                "CreateLocalDeployment",
                "GetLocalDeploymentStatus",
                "ListLocalDeployments",
                "CreateDebugPassword",
            ]
        }
        | {ANY}
    ),
    "aws.greengrass.ipc.componentMetric": frozenset({_P + "PutComponentMetric", ANY}),
}
_POLICY_FIELDS = {"policydescription", "operations", "resources"}


class NotAuthorized(Exception):
    """A denied request; ``str()`` is the nucleus's ``AuthorizationException`` text."""


@dataclass(frozen=True, slots=True)
class Policy:
    policy_id: str
    component: str
    destination: str
    operations: frozenset[str]
    #: ``None`` when the policy names no resources
    resources: tuple[str, ...] | None
    description: str | None = None


def _resource_problem(resource: str) -> str | None:
    """The nucleus's complaint about a policy resource, or ``None`` (``validateResource``)."""
    if resource == "":
        return "Resource cannot be empty"
    at = 0
    while at < len(resource):
        char = resource[at]
        if char == "$" and resource.startswith("{", at + 1):
            if at + 3 >= len(resource) or resource[at + 3] != "}":
                return (
                    "Resource contains an invalid escape sequence. You can use ${*}, ${$}, or ${?}"
                )
            escaped = resource[at + 2]
            if escaped not in "*$?":
                return (
                    f"Resource contains an invalid escape sequence: ${{{escaped}}}. "
                    "You can use ${*}, ${$}, or ${?}"
                )
            at += 4
            continue
        if char == "?":
            return (
                "Resource contains invalid character: '?'. Use an escape sequence: ${?}. "
                "The '?' character isn't supported as a wildcard"
            )
        at += 1
    return None


def _pattern(resource: str, mqtt: bool) -> re.Pattern[str]:
    """A resource pattern as a regular expression (whole-string match)."""
    parts: list[str] = []
    at, end = 0, len(resource)
    while at < end:
        char = resource[at]
        if char == "$" and at + 3 < end and resource[at + 1] == "{" and resource[at + 3] == "}":
            parts.append(re.escape(resource[at + 2]))
            at += 4
            continue
        level_start = at == 0 or resource[at - 1] == "/"
        if char == "*":
            parts.append(".*")
        elif mqtt and char == "#" and at == end - 1 and level_start:
            if at == 0:
                parts.append(".*")
            else:
                parts.pop()  # the "/" before "#": "a/#" matches "a" too
                parts.append("(?:/.*)?")
        elif mqtt and char == "+" and level_start and (at == end - 1 or resource[at + 1] == "/"):
            parts.append("[^/]*")
        else:
            parts.append(re.escape(char))
        at += 1
    return re.compile("".join(parts), re.DOTALL)


class AccessControl:
    """Every component's IPC policies, and the nucleus's decision for a request."""

    def __init__(self, policies: Iterable[Policy] = ()) -> None:
        #: what the nucleus would have logged while loading policies
        self.problems: list[str] = []
        self._policies: dict[str, list[Policy]] = {}
        # (destination, principal, operation) -> [(pattern source, STANDARD re, MQTT re)]
        self._index: dict[
            tuple[str, str, str], list[tuple[str, re.Pattern[str], re.Pattern[str]]]
        ] = {}
        self._null_resource: set[tuple[str, str, str]] = set()
        for policy in policies:
            self._add(policy)

    @classmethod
    def from_components(cls, configs: Mapping[str, Mapping[str, Any] | str]) -> AccessControl:
        """From ``{component: its accessControl configuration}``."""
        access = cls()
        for component, config in configs.items():
            access.set_component(component, config)
        return access

    def policies(self, component: str | None = None) -> list[Policy]:
        return [
            policy
            for owner, policies in self._policies.items()
            if component is None or owner == component
            for policy in policies
        ]

    def set_component(self, component: str, config: Mapping[str, Any] | str | None) -> list[str]:
        """Replace ``component``'s policies with those of its ``accessControl`` value (a
        mapping, or JSON text as a deployment may carry it). Returns the problems found."""
        self._policies.pop(component, None)
        self._reindex()
        found: list[str] = []
        for policy in self._parse(component, config, found):
            self._add(policy, found)
        self.problems.extend(found)
        return found

    def remove_component(self, component: str) -> None:
        self._policies.pop(component, None)
        self._reindex()

    # -- decisions -------------------------------------------------------------------------

    def allows(
        self,
        destination: str,
        principal: str,
        operation: str,
        resource: str | None,
        *,
        mqtt: bool = False,
    ) -> bool:
        for who, what in ((principal, operation), (principal, ANY), (ANY, operation), (ANY, ANY)):
            key = (destination, who, what)
            if resource is None:
                # The nucleus's trie matches a null resource whenever the entry exists.
                if key in self._index or key in self._null_resource:
                    return True
                continue
            for _, standard, mqtt_style in self._index.get(key, ()):
                if (mqtt_style if mqtt else standard).fullmatch(resource):
                    return True
        return False

    def check(
        self,
        destination: str,
        principal: str,
        operation: str,
        resource: str | None,
        *,
        mqtt: bool = False,
    ) -> None:
        """Raise :class:`NotAuthorized` with the nucleus's text unless allowed."""
        if resource == "":
            # AuthorizationModule refuses an empty resource outright, whatever the policies.
            raise NotAuthorized("Resource cannot be empty")
        if not self.allows(destination, principal, operation, resource, mqtt=mqtt):
            raise NotAuthorized(
                f"Principal {principal} is not authorized to perform "
                f"{destination}:{operation} on resource {'null' if resource is None else resource}"
            )

    # -- loading ---------------------------------------------------------------------------

    def _parse(
        self, component: str, config: Mapping[str, Any] | str | None, found: list[str]
    ) -> list[Policy]:
        unreadable = f"Unable to deserialize access control map {config} for {component}"
        if config is None:
            return []
        if isinstance(config, str):
            try:
                config = json.loads(config)
            except ValueError:
                found.append(unreadable)
                return []
        if not isinstance(config, Mapping):
            found.append(unreadable)
            return []
        policies: list[Policy] = []
        for destination, entries in config.items():
            if not isinstance(entries, Mapping):
                found.append(unreadable)
                return []
            for policy_id, body in entries.items():
                policy = self._read_policy(component, str(destination), str(policy_id), body)
                if policy is None:
                    found.append(unreadable)
                    return []
                if not policy.operations:
                    found.append("Policy operations are missing or invalid")
                    continue
                policies.append(policy)
        return policies

    @staticmethod
    def _read_policy(component: str, destination: str, policy_id: str, body: Any) -> Policy | None:
        """One policy, or ``None`` when Jackson could not map it (which loses the whole map)."""
        if body is None:
            return Policy(policy_id, component, destination, frozenset(), None)
        if not isinstance(body, Mapping):
            return None
        fields: dict[str, Any] = {}
        for key, value in body.items():
            name = str(key).lower()
            if name not in _POLICY_FIELDS:
                return None
            fields[name] = value
        description = fields.get("policydescription")
        if description is not None and not isinstance(description, (str, int, float, bool)):
            return None
        lists: dict[str, tuple[str, ...] | None] = {}
        for name in ("operations", "resources"):
            value = fields.get(name)
            if value is None:
                lists[name] = None
            elif isinstance(value, list) and all(
                isinstance(item, (str, int, float, bool)) or item is None for item in value
            ):
                lists[name] = tuple(_text(item) for item in value if item is not None)
            else:
                return None
        return Policy(
            policy_id,
            component,
            destination,
            frozenset(lists["operations"] or ()),
            None if lists["resources"] is None else tuple(dict.fromkeys(lists["resources"])),
            None if description is None else _text(description),
        )

    def _add(self, policy: Policy, found: list[str] | None = None) -> None:
        found = self.problems if found is None else found
        operations = REGISTERED.get(policy.destination)
        if operations is None:
            found.append(f"Component not registered: {policy.destination}")
            return
        if not policy.operations <= operations:
            # Logged by the nucleus, and the policy is loaded all the same.
            found.append(f"Operation not registered with component {policy.destination}")
        self._policies.setdefault(policy.component, []).append(policy)
        self._index_policy(policy, found)

    def _index_policy(self, policy: Policy, found: list[str]) -> None:
        for operation in policy.operations:
            key = (policy.destination, policy.component, operation)
            if not policy.resources:
                self._null_resource.add(key)
                continue
            for resource in policy.resources:
                problem = _resource_problem(resource)
                if problem is not None:
                    found.append(
                        f"{problem} (policy {policy.policy_id} of {policy.component} for "
                        f"{policy.destination}); the resource is ignored"
                    )
                    continue
                self._index.setdefault(key, []).append(
                    (resource, _pattern(resource, mqtt=False), _pattern(resource, mqtt=True))
                )

    def _reindex(self) -> None:
        self._index.clear()
        self._null_resource.clear()
        scratch: list[str] = []
        for policies in self._policies.values():
            for policy in policies:
                self._index_policy(policy, scratch)


def _text(value: Any) -> str:
    """A JSON scalar as Jackson coerces it into a String field."""
    if isinstance(value, str):
        return value
    return json.dumps(value)
