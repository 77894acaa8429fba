"""The Greengrass group definition: ``lambdas/group.yaml`` loaded and validated.

One file says how the group is deployed (functions, subscriptions, devices, ML resources,
secrets, and on a V2 core the client-device components' settings); the simulated core runs it
and the deployment code turns it into one V2 deployment (:func:`harness.v2.compile_group`) or
a V1 group.

:func:`load_group` reads the YAML and raises :class:`GroupError` listing every problem as
``<file>:<line>: <dotted.field.path>: <what is wrong>``. Unknown keys are errors, and so are
YAML numbers or booleans where text is expected (``CPU_SAMPLES: 8`` must be ``"8"``).

Choices where AWS leaves room:

- Times are whole seconds (``timeout``, ``status_timeout``, ``max_idle_time``): the V1 and V2
  APIs take integers, so a fraction could not be deployed.
- ``memory_mb`` is megabytes (16 to 3008); deployments send ``memory_kb`` (V1 ``MemorySize``
  and V2 ``memorySizeInKB`` are kilobytes).
- ``status_timeout``, ``max_queue_size``, ``max_instances`` and ``max_idle_time`` are at most
  2**31 - 1: the Greengrass APIs' integer fields are 32-bit.
- The file itself is read within the limits of :mod:`harness.limits` (size, nesting, aliases;
  see :mod:`harness.yaml_files`).
- A field that does not apply to the lifecycle is an error when written: ``status_timeout`` on
  an on-demand function, ``max_idle_time`` or a ``max_instances`` other than 1 on a pinned one.
  A pinned function's ``max_instances`` is 1.
- ``pinned`` defaults to false here; the V2 API defaults to true, so deployments always send it.
- Subjects obey AWS IoT Core's topic rules on every subscription (256 bytes, at most 7 ``/``
  not counting a ``$aws/rules/<rule>/`` prefix), so any route can later reach the cloud.
- ``GGShadowService`` only speaks on ``$aws/things/...`` topics; a subscription with it at
  either end must use such a subject.
- ``client_devices`` (V2 only; ``shared/specs/greengrass-v2-topology.md`` §1.3.2, §1.4, §5.3):
  ``trust_duration_minutes`` is CDA's ``security.clientDeviceTrustDurationMinutes`` and
  defaults to 1 as the real component does. ``auth`` and ``bridge`` are a CDA and an MQTT
  bridge configuration object, kept verbatim to replace the device groups and topic mappings
  compiled from the subscriptions; only their shape is checked here (mappings where the
  components read mappings), the components' own rules are the fakes' business.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path, PurePosixPath
from typing import Annotated, Any, Literal, get_args, get_origin

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    WithJsonSchema,
    model_validator,
)
from pydantic_core import InitErrorDetails, PydanticCustomError

from harness.limits import MAX_API_INT
from harness.yaml_files import (
    FileProblems,
    Problem,
    did_you_mean,
    read_yaml_mapping,
    short_repr,
    yaml_kind,
)

__all__ = [
    "ClientDevices",
    "Core",
    "Device",
    "Function",
    "Group",
    "GroupError",
    "MLResource",
    "Problem",
    "Secret",
    "Subscription",
    "group_json_schema",
    "load_group",
    "topic_filter_problem",
    "topic_matches",
]

Loc = tuple[str | int, ...]
_RULE = "group_rule"  # the error type of every check written here


def _rule_error(message: str) -> PydanticCustomError:
    return PydanticCustomError(_RULE, message)


def _raise_problems(title: str, problems: list[tuple[Loc, str]]) -> None:
    """Raise the problems found after field validation, each at its own field path."""
    if problems:
        details = [
            InitErrorDetails(type=_rule_error(message), loc=loc, input=None)
            for loc, message in problems
        ]
        raise ValidationError.from_exception_data(title, details)


def _named(pattern: str, what: str, rule: str) -> Any:
    """A string type that must match ``pattern``, with a message naming the rule."""
    regex = re.compile(pattern)

    def check(value: str) -> str:
        if not regex.fullmatch(value):
            raise _rule_error(f"{value!r} is not a valid {what}: {rule}")
        return value

    schema = {"type": "string", "pattern": f"^(?:{pattern})$", "description": f"{what}: {rule}"}
    return Annotated[str, AfterValidator(check), WithJsonSchema(schema)]


_REGION = r"[a-z]{2}(?:-[a-z]+)+-[0-9]"
_ACCOUNT = r"[0-9]{12}"

GroupName = _named(r"[A-Za-z0-9:_-]{1,128}", "group name", "1-128 letters, digits, ':', '_', '-'")
Region = _named(_REGION, "AWS region", "such as us-east-1 or eu-west-2")
Account = _named(_ACCOUNT, "AWS account id", "12 digits, quoted in YAML")
FunctionName = _named(
    r"[A-Za-z0-9_-]{1,64}", "Lambda function name", "1-64 letters, digits, '-' or '_'"
)
ThingName = _named(r"[A-Za-z0-9:_-]{1,128}", "thing name", "1-128 letters, digits, ':', '_', '-'")
ResourceName = _named(
    r"[A-Za-z0-9:_-]{1,128}", "resource name", "1-128 letters, digits, ':', '_', '-'"
)
SecretName = _named(
    r"[A-Za-z0-9/_+=.@-]{1,512}", "Secrets Manager name", "1-512 letters, digits or /_+=.@-"
)
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
ModuleName = _named(
    _IDENTIFIER.pattern, "module name", "a Python identifier naming lambdas/<module>.py"
)
Handler = _named(
    r"[A-Za-z_][A-Za-z0-9_]*\.[A-Za-z_][A-Za-z0-9_]*",
    "handler",
    "'<module>.<function>', e.g. 'republish.function_handler'",
)
Version = _named(
    r"[1-9][0-9]*|(?![0-9]+$)[A-Za-z0-9_-]{1,128}",
    "Lambda version",
    "a published version number or an alias name, quoted in YAML ($LATEST cannot be deployed)",
)
EnvName = _named(
    r"[A-Za-z_][A-Za-z0-9_]*",
    "environment variable name",
    "letters, digits and '_', not starting with a digit",
)

# Set by the Greengrass core in every Lambda's environment; the SDK reads them.
CORE_ENVIRONMENT = frozenset(
    {
        "AWS_CONTAINER_AUTHORIZATION_TOKEN",
        "MY_FUNCTION_ARN",
        "ROUTER_FUNCTION_ARN",
        "SECRETS_MANAGER_FUNCTION_ARN",
        "SHADOW_FUNCTION_ARN",
    }
)

# ---------------------------------------------------------------- MQTT topics

MAX_TOPIC_BYTES = 256  # AWS IoT Core
MAX_TOPIC_SLASHES = 7  # AWS IoT Core, not counting a Basic Ingest prefix
_BASIC_INGEST = re.compile(r"\$aws/rules/[^/]+/")


def topic_filter_problem(topic_filter: str) -> str | None:
    """What is wrong with ``topic_filter`` as an MQTT/AWS IoT topic filter, or None."""
    if not topic_filter:
        return "must not be empty"
    if "\x00" in topic_filter:
        return "must not contain the NUL character"
    size = len(topic_filter.encode("utf-8", errors="surrogatepass"))
    if size > MAX_TOPIC_BYTES:
        return f"is {size} bytes long; AWS IoT allows at most {MAX_TOPIC_BYTES}"
    levels = topic_filter.split("/")
    for index, level in enumerate(levels):
        if "#" in level and (level != "#" or index != len(levels) - 1):
            return f"{topic_filter!r}: '#' must be the whole last level, as in 'a/#'"
        if "+" in level and level != "+":
            return f"{topic_filter!r}: '+' must be a whole level, as in 'a/+/c', not {level!r}"
    prefix = _BASIC_INGEST.match(topic_filter)
    slashes = topic_filter.count("/") - (prefix.group().count("/") if prefix else 0)
    if slashes > MAX_TOPIC_SLASHES:
        return (
            f"{topic_filter!r} has {slashes} '/'; AWS IoT allows at most {MAX_TOPIC_SLASHES}"
            " (not counting a $aws/rules/<rule>/ prefix)"
        )
    return None


def topic_matches(topic_filter: str, topic: str) -> bool:
    """MQTT 3.1.1 matching of a topic name against a (valid) topic filter.

    ``+`` matches one level (possibly empty), ``#`` the parent level and everything below it,
    and a filter starting with a wildcard does not match topics starting with ``$`` (4.7.2).
    """
    if not topic or "+" in topic or "#" in topic or "\x00" in topic:
        raise ValueError(f"{topic!r} is not a topic name (empty, wildcards or NUL)")
    if topic.startswith("$") and topic_filter[:1] in ("+", "#"):
        return False
    filter_levels = topic_filter.split("/")
    topic_levels = topic.split("/")
    for index, level in enumerate(filter_levels):
        if level == "#":
            return True
        if index >= len(topic_levels) or level not in ("+", topic_levels[index]):
            return False
    return len(filter_levels) == len(topic_levels)


def _check_topic_filter(value: str) -> str:
    problem = topic_filter_problem(value)
    if problem:
        raise _rule_error(problem)
    return value


TopicFilter = Annotated[
    str,
    AfterValidator(_check_topic_filter),
    WithJsonSchema({"type": "string", "minLength": 1, "description": "MQTT topic filter"}),
]

# ---------------------------------------------------------------- subscription endpoints

EndpointKind = Literal["function", "device", "cloud", "GGShadowService"]
_ENDPOINT = re.compile(r"(function|device):(.*)")
_FUNCTION_NAME = re.compile(r"[A-Za-z0-9_-]{1,64}")
_THING_NAME = re.compile(r"[A-Za-z0-9:_-]{1,128}")


def _split_endpoint(endpoint: str) -> tuple[EndpointKind, str | None]:
    if endpoint in ("cloud", "GGShadowService"):
        return endpoint, None  # type: ignore[return-value]
    match = _ENDPOINT.fullmatch(endpoint)
    if match is None:
        raise ValueError(f"not an endpoint: {endpoint!r}")
    return match.group(1), match.group(2)  # type: ignore[return-value]


def _check_endpoint(value: str) -> str:
    if value in ("cloud", "GGShadowService"):
        return value
    match = _ENDPOINT.fullmatch(value)
    if match is None:
        raise _rule_error(
            f"{value!r} is not an endpoint: use 'function:<name>', 'device:<thing>',"
            " 'cloud' or 'GGShadowService'"
        )
    kind, name = match.groups()
    if kind == "function" and not _FUNCTION_NAME.fullmatch(name):
        raise _rule_error(f"{name!r} is not a valid Lambda function name: 1-64 of [A-Za-z0-9_-]")
    if kind == "device" and not _THING_NAME.fullmatch(name):
        raise _rule_error(f"{name!r} is not a valid thing name: 1-128 of [A-Za-z0-9:_-]")
    return value


Endpoint = Annotated[
    str,
    AfterValidator(_check_endpoint),
    WithJsonSchema(
        {
            "type": "string",
            "pattern": r"^(?:cloud|GGShadowService|function:[A-Za-z0-9_-]{1,64}"
            r"|device:[A-Za-z0-9:_-]{1,128})$",
        }
    ),
]

# ---------------------------------------------------------------- resources


def _check_s3_zip(value: str) -> str:
    match = re.fullmatch(r"s3://([a-z0-9][a-z0-9.-]{1,61}[a-z0-9])/(.+)", value)
    if match is None or not match.group(2).endswith(".zip"):
        raise _rule_error(f"{value!r} is not an S3 zip URI: use s3://<bucket>/<key>.zip")
    return value


def _check_destination(value: str) -> str:
    path = PurePosixPath(value)
    if not path.is_absolute() or str(path) != value or value == "/" or ".." in path.parts:
        raise _rule_error(
            f"{value!r} is not a clean absolute path: use e.g. /ggml/tensorflow/model"
            " (no '..', '//' or trailing '/')"
        )
    return value


S3ZipUri = Annotated[
    str,
    AfterValidator(_check_s3_zip),
    WithJsonSchema(
        {"type": "string", "pattern": r"^s3://[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]/.+\.zip$"}
    ),
]
LocalPath = Annotated[
    str,
    AfterValidator(_check_destination),
    WithJsonSchema({"type": "string", "pattern": "^/.+"}),
]

# ---------------------------------------------------------------- models


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class Core(_Model):
    """The Greengrass core's own thing."""

    thing: ThingName
    shadow_sync: bool = False


class Device(_Model):
    """A device thing in the group; ``shadow_sync`` syncs its local shadow with the cloud."""

    thing: ThingName
    shadow_sync: bool = False


class MLResource(_Model):
    """An S3 zip that Greengrass unpacks to ``destination`` on the core."""

    name: ResourceName
    s3_uri: S3ZipUri
    destination: LocalPath

    @property
    def bucket(self) -> str:
        return self.s3_uri.removeprefix("s3://").split("/", 1)[0]

    @property
    def key(self) -> str:
        return self.s3_uri.removeprefix("s3://").split("/", 1)[1]


_SECRET_ARN = re.compile(rf"arn:aws(?:-[a-z]+)*:secretsmanager:{_REGION}:{_ACCOUNT}:secret:(.+)")


class Secret(_Model):
    """A Secrets Manager secret the core fetches for its Lambdas."""

    name: SecretName
    arn: str | None = None

    @model_validator(mode="after")
    def _check_arn(self) -> Secret:
        if self.arn is None:
            return self
        match = _SECRET_ARN.fullmatch(self.arn)
        if match is None:
            problem = "is not a Secrets Manager ARN (arn:aws:secretsmanager:<region>:<account>:"
            problem += "secret:<name>-<6 characters>)"
            _raise_problems("Secret", [(("arn",), f"{self.arn!r} {problem}")])
        elif not re.fullmatch(re.escape(self.name) + r"(?:-[A-Za-z0-9]{6})?", match.group(1)):
            message = f"names secret {match.group(1)!r}, not {self.name!r}"
            _raise_problems("Secret", [(("arn",), message)])
        return self


class Function(_Model):
    """A Lambda function as the group runs it (see the module notes for the choices)."""

    name: FunctionName
    module: ModuleName
    handler: Handler = Field(
        "",  # filled in from module before validation
        description="'<module>.<function>'; default '<module>.function_handler'",
        json_schema_extra=lambda schema: schema.pop("default", None),
    )
    version: Version = "1"
    pinned: bool = False
    timeout: Annotated[int, Field(gt=0, le=900)] = 3
    status_timeout: Annotated[int, Field(gt=0, le=MAX_API_INT)] = 60
    memory_mb: Annotated[int, Field(ge=16, le=3008)] = 128
    encoding: Literal["json", "binary"] = "json"
    max_queue_size: Annotated[int, Field(ge=1, le=MAX_API_INT)] = 1000
    max_instances: Annotated[int, Field(ge=1, le=MAX_API_INT)] = 100
    max_idle_time: Annotated[int, Field(gt=0, le=MAX_API_INT)] = 60
    environment: dict[EnvName, str] = Field(default_factory=dict)
    sys_access: bool = False
    ml_resources: list[ResourceName] = Field(default_factory=list)
    secrets: list[SecretName] = Field(default_factory=list)
    access_control: dict[str, Any] | None = Field(
        None,
        description="the V2 accessControl object, verbatim: {<IPC service>: {<policy id>: "
                    "{policyDescription?, operations: [...], resources: [...]}}}",
    )

    @model_validator(mode="before")
    @classmethod
    def _fill_defaults(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        data = dict(data)
        module = data.get("module")
        if "handler" not in data and isinstance(module, str) and _IDENTIFIER.fullmatch(module):
            data["handler"] = f"{module}.function_handler"
        if data.get("pinned") is True:
            data.setdefault("max_instances", 1)
        return data

    @model_validator(mode="after")
    def _check_consistency(self) -> Function:
        problems: list[tuple[Loc, str]] = []
        module = self.handler.split(".", 1)[0]
        if module != self.module:
            problems.append(
                (("handler",), f"{self.handler!r} names module {module!r}, not {self.module!r}")
            )
        written = self.model_fields_set
        if self.pinned and self.max_instances != 1:
            message = "a pinned function runs exactly one instance: remove it or write 1"
            problems.append((("max_instances",), message))
        if self.pinned and "max_idle_time" in written:
            message = "applies to on-demand functions only (a pinned function never idles out)"
            problems.append((("max_idle_time",), message))
        if not self.pinned and "status_timeout" in written:
            problems.append((("status_timeout",), "applies to pinned functions only"))
        for key in self.environment:
            if key in CORE_ENVIRONMENT:
                message = "is set by the Greengrass core for the SDK: choose another name"
                problems.append((("environment", key), message))
        if self.access_control is not None:
            problems.extend((("access_control", *loc), message)
                            for loc, message in access_control_problems(self.access_control))
        for field in ("ml_resources", "secrets"):
            names: list[str] = getattr(self, field)
            for index, name in enumerate(names):
                if name in names[:index]:
                    problems.append(((field, index), f"{name!r} is listed twice"))
        _raise_problems("Function", problems)
        return self

    @property
    def memory_kb(self) -> int:
        """The memory limit as the V1 and V2 APIs take it."""
        return self.memory_mb * 1024

    @property
    def handler_function(self) -> str:
        """The name of the handler inside the module."""
        return self.handler.split(".", 1)[1]


_POLICY_KEYS = ("policyDescription", "operations", "resources")


def access_control_problems(config: dict[str, Any]) -> list[tuple[Loc, str]]:
    """What is wrong with a V2 ``accessControl`` object, each at its path inside it.

    Stricter than the nucleus, which logs a problem and ignores the policy (or the whole
    map), silently denying: here each is an error at load. The rules are the nucleus's
    (:mod:`fakes.nucleus_ipc.services.authz`): known IPC services and their operations,
    policies of ``policyDescription``, ``operations`` and ``resources``, resources without
    ``?`` or a bad ``${...}`` escape."""
    from fakes.nucleus_ipc.services.authz import REGISTERED, _resource_problem

    problems: list[tuple[Loc, str]] = []
    for service, policies in config.items():
        if service not in REGISTERED:
            problems.append(((service,), "is not an IPC service that takes policies; one of "
                             + ", ".join(sorted(REGISTERED))))
            continue
        if not isinstance(policies, dict) or not policies:
            problems.append(((service,), "must map policy ids to policies"))
            continue
        allowed = REGISTERED[service]
        for policy_id, policy in policies.items():
            at: Loc = (service, policy_id)
            if not isinstance(policy, dict):
                problems.append((at, "must be a policy: {policyDescription?, operations, "
                                     "resources}"))
                continue
            for key in policy:
                if key not in _POLICY_KEYS:
                    problems.append(((*at, key), "unknown field; a policy has "
                                     + ", ".join(_POLICY_KEYS)))
            description = policy.get("policyDescription")
            if description is not None and not isinstance(description, str):
                problems.append(((*at, "policyDescription"), "must be text"))
            for key in ("operations", "resources"):
                items = policy.get(key)
                if not isinstance(items, list) or not items:
                    problems.append(((*at, key), "must be a non-empty list (without it the "
                                     "nucleus ignores the policy and denies)"))
                    continue
                for index, item in enumerate(items):
                    if not isinstance(item, str):
                        problems.append(((*at, key, index), "must be text"))
                    elif key == "operations" and item not in allowed:
                        problems.append(((*at, key, index), f"{item!r} is not an operation of "
                                         f"{service}; one of " + ", ".join(sorted(allowed))))
                    elif key == "resources" and (problem := _resource_problem(item)):
                        problems.append(((*at, key, index), problem))
    return problems


def _mapping_problems(value: Any, where: Loc, what: str) -> list[tuple[Loc, str]]:
    if isinstance(value, dict):
        return [((*where, key), "key must be text") for key in value if not isinstance(key, str)]
    return [(where, f"must be a mapping ({what}), not {yaml_kind(value)}")]


class ClientDevices(_Model):
    """How a V2 core admits and relays its client devices (see the module notes).

    ``auth`` and ``bridge`` are pasted configurations of ``aws.greengrass.clientdevices.Auth``
    and ``aws.greengrass.clientdevices.mqtt.Bridge``, deployed as they are in place of what the
    subscriptions compile to."""

    trust_duration_minutes: Annotated[int, Field(ge=1, le=MAX_API_INT)] = Field(
        1,
        description="how long a client device's last cloud verification admits it while the "
                    "core is offline (CDA security.clientDeviceTrustDurationMinutes; AWS's "
                    "default 1 refuses devices that reconnect more than a minute into an outage)",
    )
    auth: dict[str, Any] | None = Field(
        None,
        description="an aws.greengrass.clientdevices.Auth configuration, verbatim: "
                    "{deviceGroups: {formatVersion?, definitions, policies}, security?, ...}; "
                    "replaces the device groups compiled from the subscriptions",
    )
    bridge: dict[str, Any] | None = Field(
        None,
        description="an aws.greengrass.clientdevices.mqtt.Bridge configuration, verbatim: "
                    "{mqttTopicMapping: {<name>: {topic, source, target, "
                    "targetTopicPrefix?}}, ...}; replaces the compiled mappings",
    )

    @model_validator(mode="after")
    def _check_shapes(self) -> ClientDevices:
        problems: list[tuple[Loc, str]] = []
        if self.auth is not None:
            groups = self.auth.get("deviceGroups")
            if groups is None:
                problems.append((("auth",), "has no deviceGroups: it replaces the compiled device"
                                 " groups, and without any every device is refused"))
            else:
                problems += _mapping_problems(groups, ("auth", "deviceGroups"),
                                              "{formatVersion?, definitions, policies}")
            for key in ("security", "performance", "certificates", "certificateAuthority"):
                if key in self.auth:
                    problems += _mapping_problems(self.auth[key], ("auth", key), "of settings")
            security = self.auth.get("security")
            if isinstance(security, dict) and "clientDeviceTrustDurationMinutes" in security \
                    and "trust_duration_minutes" in self.model_fields_set \
                    and str(security["clientDeviceTrustDurationMinutes"]) \
                    != str(self.trust_duration_minutes):
                problems.append((("auth", "security", "clientDeviceTrustDurationMinutes"),
                                 "differs from trust_duration_minutes: set it in one place"))
        if self.bridge is not None:
            mappings = self.bridge.get("mqttTopicMapping")
            if mappings is None:
                problems.append((("bridge",), "has no mqttTopicMapping: it replaces the compiled"
                                 " mappings, and without any nothing is relayed"))
            else:
                where: Loc = ("bridge", "mqttTopicMapping")
                problems += _mapping_problems(mappings, where, "name to {topic, source, target}")
                if isinstance(mappings, dict):
                    for name, mapping in mappings.items():
                        problems += _mapping_problems(mapping, (*where, str(name)),
                                                      "{topic, source, target, "
                                                      "targetTopicPrefix?}")
        _raise_problems("ClientDevices", problems)
        return self

    @property
    def trust_duration(self) -> int:
        """The trust duration deployed: the ``auth`` override's own, else
        ``trust_duration_minutes``."""
        security = (self.auth or {}).get("security")
        if isinstance(security, dict):
            value = security.get("clientDeviceTrustDurationMinutes")
            if isinstance(value, int) and not isinstance(value, bool):
                return value
            if isinstance(value, str) and value.isdigit():  # AWS suggests numbers as text
                return int(value)
        return self.trust_duration_minutes


class Subscription(_Model):
    """A route: messages from ``source`` on topics matching ``subject`` go to ``target``."""

    source: Endpoint
    subject: TopicFilter
    target: Endpoint

    @model_validator(mode="after")
    def _check_route(self) -> Subscription:
        problems: list[tuple[Loc, str]] = []
        if self.source == self.target:
            if self.source == "cloud":
                message = "cloud cannot be both source and target"
            else:
                message = f"is the same as source {self.source!r}"
            problems.append((("target",), message))
        shadow_end = "GGShadowService" in (self.source, self.target)
        if shadow_end and not self.subject.startswith("$aws/things/"):
            message = "GGShadowService only uses $aws/things/<thing>/shadow/... topics"
            problems.append((("subject",), f"{self.subject!r}: {message}"))
        _raise_problems("Subscription", problems)
        return self

    @property
    def source_kind(self) -> EndpointKind:
        return _split_endpoint(self.source)[0]

    @property
    def source_name(self) -> str | None:
        """The function name or thing name of the source; None for cloud and GGShadowService."""
        return _split_endpoint(self.source)[1]

    @property
    def target_kind(self) -> EndpointKind:
        return _split_endpoint(self.target)[0]

    @property
    def target_name(self) -> str | None:
        """The function name or thing name of the target; None for cloud and GGShadowService."""
        return _split_endpoint(self.target)[1]

    def matches(self, topic: str) -> bool:
        """Whether a message published on ``topic`` is covered by this subscription's subject."""
        return topic_matches(self.subject, topic)


def listing(names: Sequence[str], most: int = 10) -> str:
    """``names`` for a message: the first ``most``, then how many more ("none" if none)."""
    shown = ", ".join(names[:most]) or "none"
    return shown if len(names) <= most else f"{shown} and {len(names) - most:,} more"


def _duplicates(field: str, values: Sequence[Any], what: str, attr: str) -> list[tuple[Loc, str]]:
    first: dict[Any, int] = {}
    problems: list[tuple[Loc, str]] = []
    for index, value in enumerate(values):
        if value in first:
            loc: Loc = (field, index, attr) if attr else (field, index)
            problems.append((loc, f"duplicate {what} (first at {field}.{first[value]})"))
        else:
            first[value] = index
    return problems


class Group(_Model):
    """The whole Greengrass group."""

    name: GroupName
    region: Region = "us-east-1"
    account: Account = "123456789012"
    core: Core
    functions: list[Function] = Field(default_factory=list)
    devices: list[Device] = Field(default_factory=list)
    subscriptions: list[Subscription] = Field(default_factory=list)
    ml_resources: list[MLResource] = Field(default_factory=list)
    secrets: list[Secret] = Field(default_factory=list)
    client_devices: ClientDevices = Field(
        default_factory=ClientDevices,
        description="V2 only: how the core admits and relays its client devices",
    )

    @model_validator(mode="after")
    def _cross_check(self) -> Group:
        problems = [
            *_duplicates("functions", [f.name for f in self.functions], "function name", "name"),
            *_duplicates("devices", [d.thing for d in self.devices], "device thing", "thing"),
            *_duplicates("ml_resources", [r.name for r in self.ml_resources], "name", "name"),
            *_duplicates("secrets", [s.name for s in self.secrets], "secret name", "name"),
            *_duplicates("subscriptions", self.subscriptions, "subscription", ""),
            *self._core_problems(),
            *self._destination_problems(),
            *self._reference_problems(),
            *self._endpoint_problems(),
        ]
        _raise_problems("Group", problems)
        return self

    def _core_problems(self) -> list[tuple[Loc, str]]:
        return [
            (("devices", index, "thing"), "is the core's thing; the core is not a device")
            for index, device in enumerate(self.devices)
            if device.thing == self.core.thing
        ]

    def _destination_problems(self) -> list[tuple[Loc, str]]:
        problems: list[tuple[Loc, str]] = []
        for later, resource in enumerate(self.ml_resources):
            path = PurePosixPath(resource.destination)
            for earlier, other in enumerate(self.ml_resources[:later]):
                other_path = PurePosixPath(other.destination)
                if path == other_path or other_path in path.parents or path in other_path.parents:
                    message = (
                        f"{resource.destination!r} clashes with ml_resources.{earlier}.destination"
                        f" {other.destination!r} (the same, or one inside the other)"
                    )
                    problems.append((("ml_resources", later, "destination"), message))
        return problems

    def _reference_problems(self) -> list[tuple[Loc, str]]:
        known = {
            "ml_resources": {r.name for r in self.ml_resources},
            "secrets": {s.name for s in self.secrets},
        }
        problems: list[tuple[Loc, str]] = []
        for index, function in enumerate(self.functions):
            for field, names in known.items():
                for position, name in enumerate(getattr(function, field)):
                    if name not in names:
                        listed = listing(sorted(names))
                        message = f"{name!r} is not in the group's {field} (defined: {listed})"
                        problems.append((("functions", index, field, position), message))
        return problems

    def _endpoint_problems(self) -> list[tuple[Loc, str]]:
        known = {
            "function": {f.name for f in self.functions},
            "device": {d.thing for d in self.devices},
        }
        problems: list[tuple[Loc, str]] = []
        for index, subscription in enumerate(self.subscriptions):
            for end in ("source", "target"):
                kind, name = _split_endpoint(getattr(subscription, end))
                if name is not None and name not in known[kind]:
                    listed = listing(sorted(known[kind]))
                    message = f"no {kind} {name!r} in the group ({kind}s: {listed})"
                    problems.append((("subscriptions", index, end), message))
        return problems

    def function(self, name: str) -> Function:
        """The function called ``name``; KeyError naming the known ones otherwise."""
        for function in self.functions:
            if function.name == name:
                return function
        known = listing([f.name for f in self.functions])
        raise KeyError(f"group {self.name!r} has no function {name!r} (functions: {known})")

    def device(self, thing: str) -> Device:
        """The device whose thing is ``thing``; KeyError naming the known ones otherwise."""
        for device in self.devices:
            if device.thing == thing:
                return device
        known = listing([d.thing for d in self.devices])
        raise KeyError(f"group {self.name!r} has no device {thing!r} (devices: {known})")

    def function_arn(self, name: str) -> str:
        """The qualified ARN the core uses for the function (with its version or alias)."""
        function = self.function(name)
        return (
            f"arn:aws:lambda:{self.region}:{self.account}:function:{function.name}"
            f":{function.version}"
        )

    def thing_arn(self, thing: str) -> str:
        """The ARN of the core's thing or a device's thing."""
        if thing != self.core.thing:
            self.device(thing)
        return f"arn:aws:iot:{self.region}:{self.account}:thing/{thing}"


def group_json_schema() -> dict[str, Any]:
    """The JSON Schema of ``group.yaml`` (for editors; :func:`load_group` checks more)."""
    schema = Group.model_json_schema()
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", **schema}


# ---------------------------------------------------------------- loading


class GroupError(FileProblems):
    """A group file that cannot be used."""


def load_group(path: str | Path) -> Group:
    """Read and validate a group file; :class:`GroupError` lists every problem found."""
    data, index, problems = read_yaml_mapping(path, "group", GroupError)
    try:
        group = Group.model_validate(data)
    except ValidationError as error:
        for detail in error.errors():
            loc = detail["loc"]
            problems.append(Problem(str(path), index.line(loc), _dotted(loc), _describe(detail)))
        raise GroupError(problems) from None
    if problems:
        raise GroupError(problems)
    return group


def _dotted(loc: Loc, empty: str = "(group)") -> str:
    return ".".join(str(part) for part in loc if part != "[key]") or empty


_yaml_kind = yaml_kind  # the name the scenario and pi config loaders import


def _describe(detail: Any, where: Loc | None = None, root: type[BaseModel] | None = None
              ) -> str:
    """A pydantic error said in terms of the YAML file. An unknown field lists the fields
    allowed at ``where`` (the error's place, cleaned of pydantic's union tags) in ``root``
    (a document model; :class:`Group` by default)."""
    kind, loc, value = detail["type"], detail["loc"], detail.get("input")
    prefix = "key " if loc and loc[-1] == "[key]" else ""
    if kind == _RULE:
        return prefix + detail["msg"]
    if kind == "missing":
        return "required field is missing"
    if kind == "extra_forbidden":
        model = _model_at((loc if where is None else where)[:-1], root or Group)
        if model is None:
            return "unknown field"
        close = did_you_mean(str(loc[-1]), list(model.model_fields)) if loc else ""
        return f"unknown field{close} (allowed here: {', '.join(model.model_fields)})"
    if kind == "string_type" and isinstance(value, bool | int | float):
        return f"{prefix}must be a string, but YAML read {_yaml_kind(value)}: put it in quotes"
    if kind == "model_type":
        return f"must be a mapping of fields, not {_yaml_kind(value)}"
    message = re.sub(r"^(Input|Value|List|String|Dictionary) should (be|have)", r"must \2",
                     detail["msg"])
    if kind.endswith("_type"):
        return f"{prefix}{message}, not {_yaml_kind(value)}"
    if isinstance(value, bool | int | float | str):
        return f"{prefix}{message} (got {short_repr(value)})"
    return prefix + message


def _model_at(loc: Loc, root: type[BaseModel] = Group) -> type[BaseModel] | None:
    """The model class whose fields sit at ``loc`` in a ``root`` document, if any (through
    lists, mappings, optionals and unions with a model)."""
    annotation: Any = root
    for part in loc:
        annotation = _unwrap(annotation)
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            field = annotation.model_fields.get(str(part))
            if field is None:
                return None
            annotation = field.annotation
        elif get_origin(annotation) in (list, dict):
            annotation = get_args(annotation)[-1]
        else:
            return None
    annotation = _unwrap(annotation)
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    return None


def _strip(annotation: Any) -> Any:
    while get_origin(annotation) is Annotated:
        annotation = get_args(annotation)[0]
    return annotation


def _unwrap(annotation: Any) -> Any:
    """``Annotated[X, ...]`` and ``X | None`` (and ``Literal | X``) to their model ``X``."""
    while True:
        if get_origin(annotation) is Annotated:
            annotation = get_args(annotation)[0]
            continue
        args = tuple(_strip(arg) for arg in get_args(annotation))
        models = [arg for arg in args if isinstance(arg, type) and issubclass(arg, BaseModel)]
        lists = [arg for arg in args if get_origin(arg) is list]
        if args and get_origin(annotation) not in (list, dict) and (models or lists):
            annotation = models[0] if models else lists[0]
            continue
        return annotation
