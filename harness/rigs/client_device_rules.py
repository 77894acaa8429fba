"""Client device auth (CDA) decisions for the broker rig's Mosquitto, as a rules file.

On a Greengrass V2 core every connect, publish and subscribe of a client device is decided
by ``aws.greengrass.clientdevices.Auth`` (``greengrass-v2-topology.md`` §1.3.1). The broker
rig decides them with the same model the simulated core uses,
:class:`fakes.client_devices.ClientDeviceAuth`, built from the same configuration (the
compiled deployment's, or the group's pasted ``client_devices.auth``). Mosquitto asks its
plugin (:mod:`harness.rigs.client_id_plugin`) at each CONNECT, PUBLISH and SUBSCRIBE; the
plugin only matches, against the rules this module writes from the model:

- per certificate thing, whether it may connect: the model's own ``mqtt:connect`` decision
  on ``mqtt:clientId:<thing>`` (:meth:`ClientDeviceAuth.can_connect`);
- per thing, the policy resources that grant it ``mqtt:publish`` and ``mqtt:subscribe``:
  the statements (``ALLOW``, an operation that covers the request: exact, ``mqtt:*`` or
  ``*``) of every device group whose selection rule selects the thing, the union over the
  groups, nothing when no group selects it (deny). Each resource is written as CDA compares
  it for that thing: from CDA 2.5.0 a glob (``*`` is any run of characters, ``/`` and ``:``
  included) after ``${iot:Connection.Thing.ThingName}`` is replaced by the thing name;
  before, exact, except ``*`` and ``mqtt:topic:*`` / ``mqtt:topicfilter:*``, which match
  every resource of their kind;
- the characters a resource name may hold (CDA's ``[\\w -/:-@\\[-`{-~]+``; a request with
  another character is malformed and denied), as code point ranges computed from the model's
  own expression;
- the core's thing: everything allowed, as CDA allows every operation to a client whose
  certificate the core's CA signed (the MQTT bridge). The rig's own core-side clients (its
  bridge, its fence) connect with the core thing's helper certificate.

The request the plugin matches is the full resource, ``mqtt:topic:<topic name>`` for a
PUBLISH and ``mqtt:topicfilter:<filter as written>`` for a SUBSCRIBE: filters are compared
as strings (a policy that allows ``client/+/status`` does not allow ``client/a/status``),
never with MQTT matching. :meth:`AuthRules.allows` is the same matching in Python; the tests
compare it with the model's decisions and the broker's.

The file is line-based: ``chars <lo>-<hi> ...`` (hexadecimal code points), then per thing
``thing <name> <connect 0|1> <everything 0|1>`` followed by its ``publish|subscribe
exact|glob <resource>`` lines. Resources are written with ``%XX`` for ``%``, blanks, control
characters and non-ASCII bytes (UTF-8). A resource holding U+0000 is left out: no MQTT topic
can hold it, so it never matches.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from dataclasses import dataclass, field

from fakes.client_devices import ClientDeviceAuth
from fakes.client_devices.auth import _RESOURCE_NAME  # the model's own syntax check
from fakes.client_devices.auth_config import GLOB_RESOURCES_SINCE, THING_NAME_VARIABLE
from harness.v2.deployment import CLIENT_DEVICE_AUTH, V2Deployment

__all__ = [
    "PUBLISH",
    "SUBSCRIBE",
    "AuthRules",
    "Pattern",
    "ThingRules",
    "client_device_auth",
    "resource_name_ranges",
]

PUBLISH = "mqtt:publish"
SUBSCRIBE = "mqtt:subscribe"
#: the request resource of each operation: prefix + topic name (publish) / filter (subscribe)
RESOURCE_PREFIX = {PUBLISH: "mqtt:topic:", SUBSCRIBE: "mqtt:topicfilter:"}
_KEYWORD = {PUBLISH: "publish", SUBSCRIBE: "subscribe"}


def client_device_auth(deployment: V2Deployment) -> ClientDeviceAuth:
    """The CDA model of ``deployment``, built as the simulated core's fabric builds it
    (:class:`harness.v2.fabric.V2Fabric`): its configuration, or ``{}`` (every device
    denied) when the deployment has no client device auth."""
    deployed = deployment.components
    return ClientDeviceAuth.from_configuration(
        deployment.configuration(CLIENT_DEVICE_AUTH) if CLIENT_DEVICE_AUTH in deployed else {})


@functools.lru_cache(maxsize=1)
def resource_name_ranges() -> tuple[tuple[int, int], ...]:
    """The code points a CDA resource name may hold, as inclusive ``(first, last)`` ranges,
    found with the model's own expression (Python's ``\\w`` is Unicode-aware)."""
    every = "".join(chr(point) for point in range(0x110000) if not 0xD800 <= point <= 0xDFFF)
    ranges: list[tuple[int, int]] = []
    for run in _RESOURCE_NAME.finditer(every):
        first, last = ord(run.group()[0]), ord(run.group()[-1])
        if ranges and ranges[-1][1] + 1 >= first:  # a run split only by the surrogates
            first = ranges.pop()[0]
        ranges.append((first, last))
    return tuple(ranges)


def _glob_matches(pattern: str, text: str) -> bool:
    """``*`` is any run of characters (none included); everything else is literal."""
    parts = pattern.split("*")
    if len(parts) == 1:
        return pattern == text
    first, *middle, last = parts
    if not (text.startswith(first) and text.endswith(last)
            and len(text) >= len(first) + len(last)):
        return False
    at, end = len(first), len(text) - len(last)
    for part in middle:
        found = text.find(part, at, end)
        if found < 0:
            return False
        at = found + len(part)
    return True


@dataclass(frozen=True)
class Pattern:
    """A policy resource as CDA compares it for one thing: ``glob`` or exact."""

    resource: str
    glob: bool

    def matches(self, resource: str) -> bool:
        return _glob_matches(self.resource, resource) if self.glob else self.resource == resource


@dataclass(frozen=True)
class ThingRules:
    thing: str
    connect: bool
    #: allowed every operation (the core's own clients)
    everything: bool = False
    publish: tuple[Pattern, ...] = ()
    subscribe: tuple[Pattern, ...] = ()


def _pattern(resource: str, operation: str, thing: str, modern: bool) -> Pattern:
    if modern:
        return Pattern(resource.replace(THING_NAME_VARIABLE, thing), glob=True)
    kind_wildcard = RESOURCE_PREFIX[operation] + "*"
    return Pattern(resource, glob=resource in ("*", kind_wildcard))


def _escape(text: str) -> str:
    return "".join(chr(byte) if 0x21 <= byte <= 0x7E and byte != 0x25 else f"%{byte:02X}"
                   for byte in text.encode("utf-8"))


@dataclass(frozen=True)
class AuthRules:
    """What the broker's plugin decides with: per thing, see the module docstring."""

    things: dict[str, ThingRules]
    name_ranges: tuple[tuple[int, int], ...] = field(default_factory=resource_name_ranges)

    @classmethod
    def from_auth(cls, auth: ClientDeviceAuth, things: Iterable[str],
                  core_thing: str | None = None) -> AuthRules:
        """The rules of ``auth`` for the certificate things ``things`` (the devices), and
        ``core_thing`` allowed everything."""
        modern = auth.version >= GLOB_RESOURCES_SINCE
        rules: dict[str, ThingRules] = {}
        for thing in things:
            granted: dict[str, list[Pattern]] = {PUBLISH: [], SUBSCRIBE: []}
            for group in auth.groups:
                if not group.rule.selects(thing):
                    continue
                for statement in group.statements:
                    if statement.effect != "ALLOW":
                        continue
                    for operation, patterns in granted.items():
                        if any(op in (operation, "mqtt:*", "*") for op in statement.operations):
                            patterns += [_pattern(resource, operation, thing, modern)
                                         for resource in statement.resources
                                         if "\0" not in resource]
            rules[thing] = ThingRules(
                thing, connect=auth.can_connect(thing),
                publish=tuple(dict.fromkeys(granted[PUBLISH])),
                subscribe=tuple(dict.fromkeys(granted[SUBSCRIBE])))
        if core_thing is not None:
            if core_thing in rules:
                raise ValueError(f"{core_thing!r} is the core's thing, not a device")
            rules[core_thing] = ThingRules(core_thing, connect=True, everything=True)
        return cls(rules)

    def _valid_name(self, name: str) -> bool:
        if not name:
            return False
        ranges = self.name_ranges
        for char in name:
            point = ord(char)
            if not any(first <= point <= last for first, last in ranges):
                return False
        return True

    def allows(self, thing: str, operation: str, target: str) -> bool:
        """The decision the plugin makes for ``thing`` publishing the topic ``target``
        (``mqtt:publish``) or subscribing to the filter ``target`` (``mqtt:subscribe``)."""
        rules = self.things.get(thing)
        if rules is not None and rules.everything:
            return True
        if rules is None or not self._valid_name(target):
            return False
        resource = RESOURCE_PREFIX[operation] + target
        patterns = rules.publish if operation == PUBLISH else rules.subscribe
        return any(pattern.matches(resource) for pattern in patterns)

    def may_connect(self, thing: str) -> bool:
        rules = self.things.get(thing)
        return rules is not None and (rules.connect or rules.everything)

    def text(self) -> str:
        """The rules file the plugin reads."""
        lines = ["# client device auth rules for the broker rig's Mosquitto plugin, written",
                 "# by harness.rigs.client_device_rules from the CDA model; see its docstring"]
        ranges = [f"{first:x}-{last:x}" for first, last in self.name_ranges]
        for start in range(0, len(ranges), 16):
            lines.append("chars " + " ".join(ranges[start:start + 16]))
        for thing, rules in self.things.items():
            lines.append(f"thing {thing} {int(rules.connect)} {int(rules.everything)}")
            for operation in (PUBLISH, SUBSCRIBE):
                patterns = rules.publish if operation == PUBLISH else rules.subscribe
                lines += [f"{_KEYWORD[operation]} {'glob' if p.glob else 'exact'} "
                          f"{_escape(p.resource)}" for p in patterns]
        return "\n".join(lines) + "\n"
