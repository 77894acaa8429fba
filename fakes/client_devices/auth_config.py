"""Reading CDA's ``deviceGroups``, ``security`` and ``performance`` configuration.

See :mod:`fakes.client_devices.auth` for what is refused, what is only warned about, and the
sources.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from fakes.client_devices._config import coerce_int, has_field, path_join, scalar_text
from fakes.client_devices._config import field as get_field
from fakes.client_devices.selection import SelectionRule, SelectionRuleError

__all__ = [
    "ClientDeviceAuthConfigError",
    "DeviceGroup",
    "LoadedConfiguration",
    "Performance",
    "Statement",
    "load_configuration",
]

FORMAT_VERSION = "2021-03-05"
THING_NAME_VARIABLE = "${iot:Connection.Thing.ThingName}"
OPERATIONS = frozenset({"mqtt:connect", "mqtt:publish", "mqtt:subscribe", "mqtt:*", "*"})
DEFAULT_TRUST_DURATION_MINUTES = 1
#: from this CDA version: glob resources, policy variables, validation at startup, unknown
#: configuration fields ignored
GLOB_RESOURCES_SINCE = (2, 5, 0)

_VARIABLE = re.compile(r"\$\{.*?}")


class ClientDeviceAuthConfigError(ValueError):
    """A configuration CDA refuses. ``path`` names the bad field."""

    def __init__(self, path: str, message: str) -> None:
        super().__init__(f"{path}: {message}" if path else message)
        self.path = path
        self.message = message


@dataclass(frozen=True, slots=True)
class Statement:
    """One statement of a client device authorization policy."""

    name: str
    operations: tuple[str, ...]
    resources: tuple[str, ...]
    #: ``"ALLOW"``, or ``None`` when the configuration says ``"effect": null`` (CDA skips it)
    effect: str | None = "ALLOW"
    description: str | None = None


@dataclass(frozen=True, slots=True)
class DeviceGroup:
    name: str
    rule: SelectionRule
    policy_name: str
    #: the statements of its policy; empty when the policy is missing (CDA before 2.5.0
    #: refuses that too, so this happens only with an empty policy)
    statements: tuple[Statement, ...]


@dataclass(frozen=True, slots=True)
class Performance:
    """``performance.*``, kept as settings (no queueing or LRU eviction is modelled)."""

    max_active_auth_tokens: int = 2500
    cloud_request_queue_size: int = 100
    max_concurrent_cloud_requests: int = 1


def _known_keys(
    mapping: Mapping[Any, Any], allowed: Iterable[str], path: str, lenient: bool
) -> None:
    if lenient:
        return
    folded = {name.casefold() for name in allowed}
    for key in mapping:
        if not (isinstance(key, str) and key.casefold() in folded):
            raise ClientDeviceAuthConfigError(
                path_join(path, str(key)),
                f'Unrecognized field "{key}" (CDA before 2.5.0 refuses unknown fields)',
            )


def _mapping(value: Any, path: str, what: str) -> Mapping[Any, Any]:
    if not isinstance(value, Mapping):
        raise ClientDeviceAuthConfigError(
            path, f"{what} must be an object, not {type(value).__name__}"
        )
    return value


def _text_list(value: Any, path: str) -> tuple[str, ...]:
    if not isinstance(value, (list, tuple)):
        raise ClientDeviceAuthConfigError(
            path, f"must be a list of strings, not {type(value).__name__}"
        )
    items: list[str] = []
    for index, item in enumerate(value):
        if item is None:
            continue  # a null element is skipped by CDA (Utils.isEmpty)
        text = scalar_text(item)
        if text is None:
            raise ClientDeviceAuthConfigError(
                path_join(path, index), f"must be a string, not {type(item).__name__}"
            )
        items.append(text)
    return tuple(items)


@dataclass
class LoadedConfiguration:
    groups: tuple[DeviceGroup, ...]
    policies: dict[str, tuple[Statement, ...]]
    trust_minutes: int
    performance: Performance
    warnings: list[str]


class _Loader:
    def __init__(self, version: tuple[int, int, int], strict: bool, unescape_colon: bool) -> None:
        self.version = version
        self.strict = strict
        self.unescape_colon = unescape_colon
        self.warnings: list[str] = []
        self.modern = version >= GLOB_RESOURCES_SINCE

    def warn(self, path: str, message: str) -> None:
        if self.strict:
            raise ClientDeviceAuthConfigError(path, message + " (refused because strict=True)")
        self.warnings.append(f"{path}: {message}")

    def load(self, config: Any) -> LoadedConfiguration:
        config = _mapping(config, "", "the CDA configuration")
        groups_config = get_field(config, "deviceGroups")
        groups: tuple[DeviceGroup, ...] = ()
        policies: dict[str, tuple[Statement, ...]] = {}
        if groups_config is not None:
            groups, policies = self.device_groups(
                _mapping(groups_config, "deviceGroups", "deviceGroups")
            )
        trust = self.trust_duration(config)
        performance = self.performance(config)
        return LoadedConfiguration(groups, policies, trust, performance, self.warnings)

    # -- deviceGroups ----------------------------------------------------------------------

    def device_groups(
        self, config: Mapping[Any, Any]
    ) -> tuple[tuple[DeviceGroup, ...], dict[str, tuple[Statement, ...]]]:
        _known_keys(
            config, ("formatVersion", "definitions", "policies"), "deviceGroups", self.modern
        )
        version = get_field(config, "formatVersion")
        if version is not None and scalar_text(version) != FORMAT_VERSION:
            raise ClientDeviceAuthConfigError(
                "deviceGroups.formatVersion",
                f"Cannot deserialize value of type ConfigurationFormatVersion from "
                f"{version!r}: not one of the values accepted for Enum class: "
                f"[{FORMAT_VERSION}]",
            )
        rules = self.definitions(get_field(config, "definitions"))
        policy_config = get_field(config, "policies")
        raw_policies: dict[str, Any] = {}
        if policy_config is not None:
            raw_policies = dict(_mapping(policy_config, "deviceGroups.policies", "policies"))
        policies: dict[str, tuple[Statement, ...] | None] = {
            str(name): self.policy(str(name), body) for name, body in raw_policies.items()
        }
        groups: list[DeviceGroup] = []
        for name, rule, policy_name in rules:
            path = path_join("deviceGroups.definitions", name, "policyName")
            if policy_name not in policies:
                text = (
                    f"Policy definition {policy_name} does not have a corresponding policy"
                    if self.modern
                    else f"Policies doesn't have policy named {policy_name}"
                )
                raise ClientDeviceAuthConfigError(path, text)
            statements = policies[policy_name]
            if statements is None:
                raise ClientDeviceAuthConfigError(
                    path_join("deviceGroups.policies", policy_name),
                    f"policy {policy_name} (used by group {name}) is null",
                )
            groups.append(DeviceGroup(name, rule, policy_name, statements))
        for group in {g.policy_name: g for g in groups}.values():
            self.check_statements(group)
        return tuple(groups), {k: v for k, v in policies.items() if v is not None}

    def definitions(self, value: Any) -> list[tuple[str, SelectionRule, str]]:
        if value is None:
            return []
        rules: list[tuple[str, SelectionRule, str]] = []
        for name, body in _mapping(value, "deviceGroups.definitions", "definitions").items():
            path = path_join("deviceGroups.definitions", str(name))
            body = _mapping(body, path, f"group {name}")
            _known_keys(body, ("selectionRule", "policyName"), path, self.modern)
            rule_text = scalar_text(get_field(body, "selectionRule"))
            if rule_text is None:
                raise ClientDeviceAuthConfigError(
                    path_join(path, "selectionRule"), "selectionRule is marked non-null but is null"
                )
            policy_name = scalar_text(get_field(body, "policyName"))
            if policy_name is None:
                raise ClientDeviceAuthConfigError(
                    path_join(path, "policyName"), "policyName is marked non-null but is null"
                )
            try:
                rule = SelectionRule.parse(
                    rule_text, version=self.version, unescape_colon=self.unescape_colon
                )
            except SelectionRuleError as error:
                raise ClientDeviceAuthConfigError(
                    path_join(path, "selectionRule"), f"{rule_text!r}: {error}"
                ) from None
            if "\\:" in rule_text and not self.unescape_colon:
                self.warn(
                    path_join(path, "selectionRule"),
                    "CDA compares '\\:' literally, so this clause selects no thing whose name "
                    "has a colon (the developer guide says otherwise; unescape_colon=True "
                    "follows the guide)",
                )
            rules.append((str(name), rule, policy_name))
        return rules

    def policy(self, name: str, body: Any) -> tuple[Statement, ...] | None:
        path = path_join("deviceGroups.policies", name)
        if body is None:
            return None
        statements: list[Statement] = []
        for statement_name, statement in _mapping(body, path, f"policy {name}").items():
            statements.append(self.statement(path_join(path, str(statement_name)), statement))
        return tuple(statements)

    def statement(self, path: str, body: Any) -> Statement:
        name = path.rsplit(".", 1)[-1]
        body = _mapping(body, path, "a policy statement")
        _known_keys(
            body,
            ("statementDescription", "effect", "operations", "resources"),
            path,
            self.modern,
        )
        effect: str | None = "ALLOW"
        if has_field(body, "effect"):
            raw = get_field(body, "effect")
            if raw is None:
                effect = None
                self.warn(path_join(path, "effect"), "effect null: CDA ignores this statement")
            elif not isinstance(raw, str) or raw.upper() != "ALLOW":
                raise ClientDeviceAuthConfigError(
                    path_join(path, "effect"),
                    f"Cannot deserialize value of type Effect from {raw!r}: not one of the "
                    "values accepted for Enum class: [ALLOW] (CDA has allow statements only)",
                )
        lists: dict[str, tuple[str, ...]] = {}
        for key in ("operations", "resources"):
            if not has_field(body, key):
                lists[key] = ()
                continue
            value = get_field(body, key)
            if value is None:
                raise ClientDeviceAuthConfigError(path_join(path, key), f"{key} is null")
            lists[key] = tuple(item for item in _text_list(value, path_join(path, key)) if item)
        description = None
        if has_field(body, "statementDescription"):
            raw_description = get_field(body, "statementDescription")
            description = scalar_text(raw_description)
            if description is None and raw_description is not None:
                raise ClientDeviceAuthConfigError(
                    path_join(path, "statementDescription"), "must be a string"
                )
        return Statement(name, lists["operations"], lists["resources"], effect, description)

    def check_statements(self, group: DeviceGroup) -> None:
        for statement in group.statements:
            path = path_join("deviceGroups.policies", group.policy_name, statement.name)
            for index, operation in enumerate(statement.operations):
                if operation not in OPERATIONS:
                    self.warn(
                        path_join(path, "operations", index),
                        f"{operation!r} is none of {', '.join(sorted(OPERATIONS))}: "
                        "CDA accepts it and it never matches",
                    )
            yields_permissions = statement.effect == "ALLOW" and bool(statement.operations)
            for index, resource in enumerate(statement.resources):
                self.check_resource(
                    path_join(path, "resources", index), resource, yields_permissions
                )

    def check_resource(self, path: str, resource: str, yields_permissions: bool) -> None:
        variables = _VARIABLE.findall(resource)
        if self.modern:
            unknown = [v for v in variables if v != THING_NAME_VARIABLE]
            if unknown and yields_permissions:
                raise ClientDeviceAuthConfigError(
                    path, f"Policy contains unknown variables ({', '.join(unknown)})"
                )
        else:
            if variables:
                self.warn(
                    path,
                    f"policy variables need CDA 2.5.0; {'.'.join(map(str, self.version))} "
                    f"compares {resource!r} literally",
                )
            if "*" in resource and resource != "*" and not _is_type_wildcard(resource):
                self.warn(
                    path,
                    f"'*' inside a resource needs CDA 2.5.0; "
                    f"{'.'.join(map(str, self.version))} compares {resource!r} literally",
                )
        if resource.startswith("mqtt:topic:") and (
            "+" in resource[11:].split("/") or "#" in resource[11:].split("/")
        ):
            self.warn(
                path,
                "mqtt:topic: resources do not take MQTT wildcards; a published topic never "
                "contains '+' or '#', so this never matches",
            )

    # -- security and performance ------------------------------------------------------------

    def trust_duration(self, config: Mapping[Any, Any]) -> int:
        security = get_field(config, "security")
        if not isinstance(security, Mapping) or not has_field(
            security, "clientDeviceTrustDurationMinutes"
        ):
            return DEFAULT_TRUST_DURATION_MINUTES
        raw = get_field(security, "clientDeviceTrustDurationMinutes")
        value = coerce_int(raw)
        if value < 1:
            self.warn(
                "security.clientDeviceTrustDurationMinutes",
                f"Illegal value {value} for configuration clientDeviceTrustDurationMinutes. "
                "Using minimum value 1",
            )
            return 1
        return value

    def performance(self, config: Mapping[Any, Any]) -> Performance:
        section = get_field(config, "performance")
        if not isinstance(section, Mapping):
            return Performance()
        defaults = Performance()
        values: dict[str, int] = {}
        for key, attribute in (
            ("maxActiveAuthTokens", "max_active_auth_tokens"),
            ("cloudRequestQueueSize", "cloud_request_queue_size"),
            ("maxConcurrentCloudRequests", "max_concurrent_cloud_requests"),
        ):
            values[attribute] = (
                coerce_int(get_field(section, key))
                if has_field(section, key)
                else getattr(defaults, attribute)
            )
        return Performance(**values)


def _is_type_wildcard(resource: str) -> bool:
    """``<service>:<type>:*``, which CDA before 2.5.0 matches against any name of that type."""
    parts = resource.split(":")
    return len(parts) == 3 and parts[2] == "*" and parts[0].isalpha() and parts[1].isalpha()


def load_configuration(
    config: Any, version: tuple[int, int, int], *, strict: bool, unescape_colon: bool
) -> LoadedConfiguration:
    """Read the whole component configuration; odd shapes become the config error."""
    loader = _Loader(version, strict, unescape_colon)
    try:
        return loader.load(config)
    except ClientDeviceAuthConfigError:
        raise
    except (TypeError, KeyError, AttributeError, RecursionError) as error:
        raise ClientDeviceAuthConfigError("", f"unreadable configuration: {error}") from None
