"""The group definition: the shipped ``lambdas/group.yaml`` and every rule of ``harness.group``."""

from __future__ import annotations

from pathlib import Path

import jsonschema
import pytest
import yaml
from pydantic import ValidationError

from harness.group import (
    Group,
    GroupError,
    Subscription,
    group_json_schema,
    load_group,
    topic_matches,
)

SHIPPED = Path(__file__).resolve().parents[2] / "lambdas" / "group.yaml"
MARK = "# <-"  # marks the line a problem must be reported on

HEAD = "name: g\ncore:\n  thing: c\n"
FUNCTION_F = "functions:\n  - name: f\n    module: f\n"
DEVICE_D = "devices:\n  - thing: d\n"


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "group.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def marked_line(text: str) -> int:
    lines = [number for number, line in enumerate(text.splitlines(), 1) if MARK in line]
    assert len(lines) == 1, "each case marks exactly one line"
    return lines[0]


def fn(extra: str, *, name: str = "f", module: str = "f") -> str:
    """A functions section with one function; ``extra`` is its further fields (4 spaces in)."""
    return f"functions:\n  - name: {name}\n    module: {module}\n{extra}"


def ml(name: str, s3_uri: str, destination: str) -> str:
    return f"  - name: {name}\n    s3_uri: {s3_uri}\n    destination: {destination}\n"


def sub(source: str, subject: str, target: str) -> str:
    return f"  - source: {source}\n    subject: {subject}\n    target: {target}\n"


# (id, YAML after HEAD, dotted field path, part of the message)
CASES = [
    # top level
    ("unknown-key", "colour: red  # <-\n", "colour", "unknown field (allowed here: name, region"),
    ("account-number", "account: 123456789012  # <-\n", "account", "YAML read the number"),
    ("account-short", "account: '12345678901'  # <-\n", "account", "12 digits"),
    ("region", "region: US-East-1  # <-\n", "region", "'US-East-1' is not a valid AWS region"),
    ("core-unknown-key", "core_extra: 1  # <-\n", "core_extra", "unknown field"),
    ("functions-not-list", "functions: {}  # <-\n", "functions", "must be a valid list"),
    # functions
    ("fn-unknown-key", fn("    colour: red  # <-\n"), "functions.0.colour", "allowed here: name"),
    ("fn-not-mapping", "functions:\n  - republish  # <-\n", "functions.0", "must be a mapping"),
    ("fn-name-missing", "functions:\n  - module: f  # <-\n", "functions.0.name", "required"),
    ("fn-name", fn("", name="re.publish  # <-"), "functions.0.name", "Lambda function name"),
    ("fn-name-long", fn("", name="x" * 65 + "  # <-"), "functions.0.name", "1-64"),
    ("fn-module", fn("", module="repub-lish  # <-"), "functions.0.module", "Python identifier"),
    (
        "fn-handler-module",
        fn("    handler: other.function_handler  # <-\n"),
        "functions.0.handler",
        "names module 'other', not 'f'",
    ),
    ("fn-handler-form", fn("    handler: handler  # <-\n"), "functions.0.handler", "<module>."),
    ("fn-version-latest", fn("    version: $LATEST  # <-\n"), "functions.0.version", "$LATEST"),
    ("fn-version-number", fn("    version: 2  # <-\n"), "functions.0.version", "put it in quotes"),
    ("fn-timeout-zero", fn("    timeout: 0  # <-\n"), "functions.0.timeout", "greater than 0"),
    ("fn-timeout-max", fn("    timeout: 901  # <-\n"), "functions.0.timeout", "or equal to 900"),
    ("fn-timeout-fraction", fn("    timeout: 2.5  # <-\n"), "functions.0.timeout", "integer"),
    ("fn-memory-low", fn("    memory_mb: 8  # <-\n"), "functions.0.memory_mb", "or equal to 16"),
    ("fn-memory-high", fn("    memory_mb: 4096  # <-\n"), "functions.0.memory_mb", "3008"),
    ("fn-encoding", fn("    encoding: xml  # <-\n"), "functions.0.encoding", "'json' or 'binary'"),
    (
        "fn-queue",
        fn("    max_queue_size: 0  # <-\n"),
        "functions.0.max_queue_size",
        "or equal to 1",
    ),
    ("fn-instances", fn("    max_instances: 0  # <-\n"), "functions.0.max_instances", "equal to 1"),
    ("fn-idle", fn("    max_idle_time: 0  # <-\n"), "functions.0.max_idle_time", "greater than 0"),
    # the Greengrass APIs' integer fields are 32-bit
    ("fn-queue-api", fn("    max_queue_size: 2147483648  # <-\n"), "functions.0.max_queue_size",
     "or equal to 2147483647"),
    ("fn-instances-api", fn("    max_instances: 2147483648  # <-\n"),
     "functions.0.max_instances", "or equal to 2147483647"),
    ("fn-idle-huge", fn("    max_idle_time: " + "9" * 400 + "  # <-\n"),
     "functions.0.max_idle_time", "(got a 400-digit number)"),
    ("fn-status-api", fn("    pinned: true\n    status_timeout: 2147483648  # <-\n"),
     "functions.0.status_timeout", "or equal to 2147483647"),
    ("fn-date", fn("    version: 2024-01-01  # <-\n"), "functions.0.version",
     "YAML reads this as a date or time: put it in quotes"),
    (
        "fn-pinned-instances",
        fn("    pinned: true\n    max_instances: 2  # <-\n"),
        "functions.0.max_instances",
        "a pinned function runs exactly one instance",
    ),
    (
        "fn-pinned-idle",
        fn("    pinned: true\n    max_idle_time: 60  # <-\n"),
        "functions.0.max_idle_time",
        "applies to on-demand functions only",
    ),
    (
        "fn-on-demand-status",
        fn("    status_timeout: 30  # <-\n"),
        "functions.0.status_timeout",
        "applies to pinned functions only",
    ),
    ("fn-pinned-text", fn("    pinned: 'yes'  # <-\n"), "functions.0.pinned", "valid boolean"),
    ("fn-sys-text", fn("    sys_access: 'true'  # <-\n"), "functions.0.sys_access", "boolean"),
    (
        "fn-env-number",
        fn("    environment:\n      CPU_SAMPLES: 8  # <-\n"),
        "functions.0.environment.CPU_SAMPLES",
        "must be a string, but YAML read the number 8: put it in quotes",
    ),
    (
        "fn-env-boolean",
        fn("    environment:\n      DEBUG: yes  # <-\n"),
        "functions.0.environment.DEBUG",
        "YAML read the boolean True: put it in quotes",
    ),
    (
        "fn-env-name",
        fn("    environment:\n      1BAD: x  # <-\n"),
        "functions.0.environment.1BAD",
        "not a valid environment variable name",
    ),
    (
        "fn-env-reserved",
        fn("    environment:\n      MY_FUNCTION_ARN: x  # <-\n"),
        "functions.0.environment.MY_FUNCTION_ARN",
        "is set by the Greengrass core",
    ),
    (
        "fn-ml-unknown",
        fn("    ml_resources:\n      - nope  # <-\n"),
        "functions.0.ml_resources.0",
        "'nope' is not in the group's ml_resources (defined: none)",
    ),
    (
        "fn-secret-unknown",
        fn("    secrets:\n      - nope  # <-\n") + "secrets:\n  - name: key\n",
        "functions.0.secrets.0",
        "'nope' is not in the group's secrets (defined: key)",
    ),
    (
        "fn-secret-twice",
        fn("    secrets:\n      - key\n      - key  # <-\n") + "secrets:\n  - name: key\n",
        "functions.0.secrets.1",
        "'key' is listed twice",
    ),
    (
        "fn-duplicate",
        FUNCTION_F + "  - name: f  # <-\n    module: g\n",
        "functions.1.name",
        "duplicate function name (first at functions.0)",
    ),
    # devices
    ("device-thing", "devices:\n  - thing: bad thing  # <-\n", "devices.0.thing", "thing name"),
    ("device-long", f"devices:\n  - thing: {'t' * 129}  # <-\n", "devices.0.thing", "1-128"),
    (
        "device-duplicate",
        DEVICE_D + "  - thing: d  # <-\n",
        "devices.1.thing",
        "duplicate device thing (first at devices.0)",
    ),
    ("device-is-core", "devices:\n  - thing: c  # <-\n", "devices.0.thing", "is the core's thing"),
    (
        "device-sync",
        "devices:\n  - thing: d\n    shadow_sync: 1  # <-\n",
        "devices.0.shadow_sync",
        "boolean",
    ),
    # subscriptions: endpoints
    (
        "sub-endpoint-syntax",
        "subscriptions:\n" + sub("lambda:f  # <-", "a", "cloud"),
        "subscriptions.0.source",
        "'lambda:f' is not an endpoint: use 'function:<name>', 'device:<thing>', 'cloud'",
    ),
    (
        "sub-endpoint-name",
        "subscriptions:\n" + sub("cloud", "a", "function:a.b  # <-"),
        "subscriptions.0.target",
        "'a.b' is not a valid Lambda function name",
    ),
    (
        "sub-no-function",
        FUNCTION_F + "subscriptions:\n" + sub("cloud", "a", "function:nobody  # <-"),
        "subscriptions.0.target",
        "no function 'nobody' in the group (functions: f)",
    ),
    (
        "sub-no-device",
        "subscriptions:\n" + sub("device:ghost  # <-", "a", "cloud"),
        "subscriptions.0.source",
        "no device 'ghost' in the group (devices: none)",
    ),
    (
        "sub-same-ends",
        FUNCTION_F + "subscriptions:\n" + sub("function:f", "a", "function:f  # <-"),
        "subscriptions.0.target",
        "is the same as source 'function:f'",
    ),
    (
        "sub-cloud-to-cloud",
        "subscriptions:\n" + sub("cloud", "a", "cloud  # <-"),
        "subscriptions.0.target",
        "cloud cannot be both source and target",
    ),
    (
        "sub-shadow-topic",
        DEVICE_D + "subscriptions:\n" + sub("device:d", "d/update  # <-", "GGShadowService"),
        "subscriptions.0.subject",
        "GGShadowService only uses $aws/things/",
    ),
    (
        "sub-duplicate",
        "subscriptions:\n"
        + sub("cloud", "$aws/things/x", "GGShadowService")
        + sub("cloud  # <-", "$aws/things/x", "GGShadowService"),
        "subscriptions.1",
        "duplicate subscription (first at subscriptions.0)",
    ),
    # subscriptions: subjects
    (
        "sub-empty",
        "subscriptions:\n" + sub("cloud", "''  # <-", "GGShadowService"),
        "subscriptions.0.subject",
        "must not be empty",
    ),
    (
        "sub-hash-middle",
        "subscriptions:\n" + sub("device:d", "a/#/b  # <-", "cloud") + DEVICE_D,
        "subscriptions.0.subject",
        "'#' must be the whole last level",
    ),
    (
        "sub-hash-in-level",
        "subscriptions:\n" + sub("device:d", "a/b#  # <-", "cloud") + DEVICE_D,
        "subscriptions.0.subject",
        "'#' must be the whole last level",
    ),
    (
        "sub-plus-in-level",
        "subscriptions:\n" + sub("device:d", "a/b+/c  # <-", "cloud") + DEVICE_D,
        "subscriptions.0.subject",
        "'+' must be a whole level, as in 'a/+/c', not 'b+'",
    ),
    (
        "sub-nul",
        "subscriptions:\n" + sub("device:d", '"a\\0b"  # <-', "cloud") + DEVICE_D,
        "subscriptions.0.subject",
        "NUL",
    ),
    (
        "sub-too-long",
        "subscriptions:\n" + sub("device:d", "a" * 257 + "  # <-", "cloud") + DEVICE_D,
        "subscriptions.0.subject",
        "is 257 bytes long; AWS IoT allows at most 256",
    ),
    (
        "sub-slashes",
        "subscriptions:\n" + sub("device:d", "a/b/c/d/e/f/g/h/i  # <-", "cloud") + DEVICE_D,
        "subscriptions.0.subject",
        "has 8 '/'; AWS IoT allows at most 7",
    ),
    # ML resources
    (
        "ml-not-zip",
        "ml_resources:\n" + ml("m", "s3://bucket/m.tar.gz  # <-", "/m"),
        "ml_resources.0.s3_uri",
        "is not an S3 zip URI",
    ),
    (
        "ml-not-s3",
        "ml_resources:\n" + ml("m", "https://b.s3/m.zip  # <-", "/m"),
        "ml_resources.0.s3_uri",
        "use s3://<bucket>/<key>.zip",
    ),
    (
        "ml-relative",
        "ml_resources:\n" + ml("m", "s3://bucket/m.zip", "ggml/m  # <-"),
        "ml_resources.0.destination",
        "is not a clean absolute path",
    ),
    (
        "ml-dotdot",
        "ml_resources:\n" + ml("m", "s3://bucket/m.zip", "/a/../m  # <-"),
        "ml_resources.0.destination",
        "no '..'",
    ),
    (
        "ml-trailing-slash",
        "ml_resources:\n" + ml("m", "s3://bucket/m.zip", "/ggml/  # <-"),
        "ml_resources.0.destination",
        "trailing '/'",
    ),
    (
        "ml-same-destination",
        "ml_resources:\n"
        + ml("m", "s3://bucket/m.zip", "/ggml/m")
        + ml("n", "s3://bucket/n.zip", "/ggml/m  # <-"),
        "ml_resources.1.destination",
        "clashes with ml_resources.0.destination '/ggml/m'",
    ),
    (
        "ml-nested-destination",
        "ml_resources:\n"
        + ml("m", "s3://bucket/m.zip", "/ggml/m/n")
        + ml("n", "s3://bucket/n.zip", "/ggml/m  # <-"),
        "ml_resources.1.destination",
        "(the same, or one inside the other)",
    ),
    (
        "ml-duplicate",
        "ml_resources:\n"
        + ml("m", "s3://bucket/m.zip", "/a")
        + ml("m  # <-", "s3://bucket/m.zip", "/b"),
        "ml_resources.1.name",
        "duplicate name (first at ml_resources.0)",
    ),
    # secrets
    ("secret-name", "secrets:\n  - name: bad name  # <-\n", "secrets.0.name", "Secrets Manager"),
    (
        "secret-arn",
        "secrets:\n  - name: key\n    arn: arn:aws:s3:::key  # <-\n",
        "secrets.0.arn",
        "is not a Secrets Manager ARN",
    ),
    (
        "secret-arn-other",
        "secrets:\n  - name: key\n"
        "    arn: arn:aws:secretsmanager:us-east-1:123456789012:secret:other-AbCdEf  # <-\n",
        "secrets.0.arn",
        "names secret 'other-AbCdEf', not 'key'",
    ),
    (
        "secret-duplicate",
        "secrets:\n  - name: key\n  - name: key  # <-\n",
        "secrets.1.name",
        "duplicate secret name (first at secrets.0)",
    ),
    # client_devices (V2)
    ("client-devices-list", "client_devices: []  # <-\n", "client_devices",
     "must be a mapping of fields, not a list"),
    ("client-devices-unknown", "client_devices:\n  colour: red  # <-\n",
     "client_devices.colour", "unknown field (allowed here: trust_duration_minutes, auth, bridge)"),
    ("trust-zero", "client_devices:\n  trust_duration_minutes: 0  # <-\n",
     "client_devices.trust_duration_minutes", "must be greater than or equal to 1 (got 0)"),
    ("trust-text", "client_devices:\n  trust_duration_minutes: '1440'  # <-\n",
     "client_devices.trust_duration_minutes", "must be a valid integer, not the string '1440'"),
    ("trust-bool", "client_devices:\n  trust_duration_minutes: true  # <-\n",
     "client_devices.trust_duration_minutes", "must be a valid integer, not the boolean True"),
    ("auth-text", "client_devices:\n  auth: everyone  # <-\n", "client_devices.auth",
     "must be a valid dictionary, not the string 'everyone'"),
    ("auth-without-groups", "client_devices:\n  auth:  # <-\n    security: {}\n",
     "client_devices.auth", "has no deviceGroups: it replaces the compiled device groups"),
    ("auth-groups-list", "client_devices:\n  auth:\n    deviceGroups: []  # <-\n",
     "client_devices.auth.deviceGroups", "must be a mapping ({formatVersion?, definitions,"),
    ("auth-security-list", "client_devices:\n  auth:\n    deviceGroups: {}\n"
     "    security: [1]  # <-\n", "client_devices.auth.security", "must be a mapping"),
    ("auth-trust-conflict", "client_devices:\n  trust_duration_minutes: 60\n  auth:\n"
     "    deviceGroups: {}\n    security:\n      clientDeviceTrustDurationMinutes: 30  # <-\n",
     "client_devices.auth.security.clientDeviceTrustDurationMinutes",
     "differs from trust_duration_minutes: set it in one place"),
    ("bridge-without-mappings", "client_devices:\n  bridge:  # <-\n    brokerUri: x\n",
     "client_devices.bridge", "has no mqttTopicMapping"),
    ("bridge-mapping-text", "client_devices:\n  bridge:\n    mqttTopicMapping:\n"
     "      m: text  # <-\n", "client_devices.bridge.mqttTopicMapping.m",
     "must be a mapping ({topic, source, target, targetTopicPrefix?}), not the string 'text'"),
    ("bridge-mapping-key", "client_devices:\n  bridge:\n    mqttTopicMapping:\n"
     "      1: {}  # <-\n", "client_devices.bridge.mqttTopicMapping.1", "key must be text"),
]


@pytest.mark.parametrize(
    ("snippet", "path", "message"), [case[1:] for case in CASES], ids=[c[0] for c in CASES]
)
def test_each_rule_is_reported_with_file_line_and_field(
    tmp_path: Path, snippet: str, path: str, message: str
) -> None:
    text = HEAD + snippet
    file = write(tmp_path, text)
    with pytest.raises(GroupError) as caught:
        load_group(file)
    problems = caught.value.problems
    assert [problem.path for problem in problems] == [path], str(caught.value)
    (problem,) = problems
    assert problem.line == marked_line(text)
    assert message in problem.message
    assert str(caught.value) == f"{file}:{problem.line}: {path}: {problem.message}"


def test_core_thing_name_is_checked(tmp_path: Path) -> None:
    text = "name: g\ncore:\n  thing: bad thing  # <-\n"
    with pytest.raises(GroupError) as caught:
        load_group(write(tmp_path, text))
    (problem,) = caught.value.problems
    assert (problem.line, problem.path) == (3, "core.thing")
    assert "'bad thing' is not a valid thing name" in problem.message


def test_missing_required_fields_point_at_their_parent(tmp_path: Path) -> None:
    text = "region: us-east-1\nfunctions:\n  - name: f\n"
    with pytest.raises(GroupError) as caught:
        load_group(write(tmp_path, text))
    found = {(p.line, p.path, p.message) for p in caught.value.problems}
    assert found == {
        (1, "name", "required field is missing"),
        (1, "core", "required field is missing"),
        (3, "functions.0.module", "required field is missing"),
    }


def test_problems_are_all_listed_in_file_order(tmp_path: Path) -> None:
    text = (
        "name: g\naccount: 1\ncore:\n  thing: c\n"
        + fn("    timeout: 0\n    environment:\n      N: 8\n")
        + "devices:\n  - thing: a b\n"
    )
    file = write(tmp_path, text)
    with pytest.raises(GroupError) as caught:
        load_group(file)
    lines = str(caught.value).splitlines()
    assert [line.split(": ")[0] for line in lines] == [
        f"{file}:2",
        f"{file}:8",
        f"{file}:10",
        f"{file}:12",
    ]
    assert [line.split(": ")[1] for line in lines] == [
        "account",
        "functions.0.timeout",
        "functions.0.environment.N",
        "devices.0.thing",
    ]


def test_yaml_syntax_error_has_its_line(tmp_path: Path) -> None:
    file = write(tmp_path, "name: g\ncore:\n  thing: [c\nfunctions: []\n")
    with pytest.raises(GroupError) as caught:
        load_group(file)
    (problem,) = caught.value.problems
    assert problem.path == "(yaml)"
    assert problem.message.startswith("invalid YAML")
    assert problem.line == 4  # where the parser noticed the unclosed '['


def test_duplicate_yaml_keys_are_errors(tmp_path: Path) -> None:
    text = "name: g\ncore:\n  thing: c\nname: h  # <-\n"
    with pytest.raises(GroupError) as caught:
        load_group(write(tmp_path, text))
    (problem,) = caught.value.problems
    assert (problem.line, problem.path) == (4, "name")
    assert "duplicate key (first on line 1)" in problem.message


@pytest.mark.parametrize("text", ["", "- a\n- b\n", "just text\n"])
def test_the_file_must_be_a_mapping(tmp_path: Path, text: str) -> None:
    with pytest.raises(GroupError) as caught:
        load_group(write(tmp_path, text))
    (problem,) = caught.value.problems
    assert (problem.line, problem.path) == (1, "(group)")
    assert "must hold a mapping of group fields" in problem.message


def test_cross_checks_also_apply_without_a_file() -> None:
    data = {"name": "g", "core": {"thing": "c"}, "devices": [{"thing": "d"}, {"thing": "d"}]}
    with pytest.raises(ValidationError) as caught:
        Group.model_validate(data)
    assert [error["loc"] for error in caught.value.errors()] == [("devices", 1, "thing")]


# ---------------------------------------------------------------- what is accepted


def test_shipped_group_loads() -> None:
    group = load_group(SHIPPED)
    assert (group.name, group.region, group.account) == (
        "weather-station",
        "us-east-1",
        "123456789012",
    )
    assert group.core.thing == "weather-station-core"
    assert [f.name for f in group.functions] == ["republish", "hello_world", "inference"]
    inference = group.function("inference")
    assert inference.pinned and not inference.sys_access
    assert inference.ml_resources == ["standardiser", "rain_predictor", "rain_pipeline"]
    destinations = {r.name: r.destination for r in group.ml_resources}
    assert inference.environment["STANDARDISER_PATH"] == destinations["standardiser"]
    assert inference.environment["MODEL_PATH"] == destinations["rain_predictor"]
    assert inference.environment["TFLITE_PATH"] == destinations["rain_pipeline"]
    assert all(r.bucket == "greengrass-weather-models" for r in group.ml_resources)

    republish = group.function("republish")
    assert not republish.pinned
    assert (republish.timeout, republish.memory_mb, republish.memory_kb) == (25, 128, 131072)
    assert (republish.max_queue_size, republish.max_instances, republish.max_idle_time) == (
        1000,
        10,
        60,
    )
    assert republish.sys_access
    assert republish.handler == "republish.function_handler"
    assert republish.environment == {
        "THING_NAME": "weather-station",
        "CPU_SAMPLES": "8",
        "CPU_SAMPLE_INTERVAL": "1",
    }

    assert group.function("hello_world").pinned
    assert group.client_devices.trust_duration_minutes == 1440  # survives a day offline
    assert (group.client_devices.auth, group.client_devices.bridge) == (None, None)
    assert group.device("bme680-sensor").shadow_sync is False
    assert group.device("weather-station").shadow_sync is True
    routes = {(s.source, s.subject, s.target) for s in group.subscriptions}
    assert routes == {
        ("device:bme680-sensor", "bme680/readings", "function:republish"),
        ("function:hello_world", "hello/world", "cloud"),
        ("device:weather-station", "$aws/things/weather-station/shadow/#", "GGShadowService"),
        ("GGShadowService", "$aws/things/weather-station/shadow/#", "device:weather-station"),
    }


def test_defaults(tmp_path: Path) -> None:
    group = load_group(
        write(tmp_path, HEAD + FUNCTION_F + "  - name: p\n    module: p\n    pinned: true\n")
    )
    assert (group.region, group.account, group.core.shadow_sync) == (
        "us-east-1",
        "123456789012",
        False,
    )
    on_demand, pinned = group.functions
    assert on_demand.handler == "f.function_handler"
    assert on_demand.handler_function == "function_handler"
    assert (on_demand.version, on_demand.timeout, on_demand.status_timeout) == ("1", 3, 60)
    assert (on_demand.memory_mb, on_demand.encoding, on_demand.sys_access) == (128, "json", False)
    assert (on_demand.max_queue_size, on_demand.max_instances, on_demand.max_idle_time) == (
        1000,
        100,
        60,
    )
    assert (on_demand.environment, on_demand.ml_resources, on_demand.secrets) == ({}, [], [])
    assert pinned.max_instances == 1
    # client devices: AWS's own default trust, nothing pasted
    assert group.client_devices.trust_duration_minutes == 1
    assert group.client_devices.trust_duration == 1
    assert (group.client_devices.auth, group.client_devices.bridge) == (None, None)


def test_pasted_client_device_configurations_are_kept_verbatim(tmp_path: Path) -> None:
    text = HEAD + (
        "client_devices:\n"
        "  auth:\n"
        "    deviceGroups:\n"
        "      formatVersion: '2021-03-05'\n"
        "      definitions: {All: {selectionRule: 'thingName: *', policyName: P}}\n"
        "      policies: {P: {S: {operations: ['mqtt:*'], resources: ['*']}}}\n"
        "    security: {clientDeviceTrustDurationMinutes: '90'}\n"
        "    performance: {maxActiveAuthTokens: 10, colour: blue}\n"
        "  bridge:\n"
        "    mqttTopicMapping:\n"
        "      M: {topic: 'a/#', source: LocalMqtt, target: Pubsub, extra: 1}\n"
        "    brokerUri: ssl://localhost:8883\n"
    )
    settings = load_group(write(tmp_path, text)).client_devices
    assert settings.auth == {
        "deviceGroups": {"formatVersion": "2021-03-05",
                         "definitions": {"All": {"selectionRule": "thingName: *",
                                                 "policyName": "P"}},
                         "policies": {"P": {"S": {"operations": ["mqtt:*"],
                                                  "resources": ["*"]}}}},
        "security": {"clientDeviceTrustDurationMinutes": "90"},
        "performance": {"maxActiveAuthTokens": 10, "colour": "blue"},  # not checked here
    }
    assert settings.bridge == {
        "mqttTopicMapping": {"M": {"topic": "a/#", "source": "LocalMqtt", "target": "Pubsub",
                                   "extra": 1}},
        "brokerUri": "ssl://localhost:8883"}
    assert settings.trust_duration == 90  # the pasted one (numbers as text, as AWS suggests)


def test_accepted_edge_values(tmp_path: Path) -> None:
    text = (
        HEAD
        + fn(
            "    handler: f.main\n    version: PROD\n    pinned: true\n    max_instances: 1\n"
            "    status_timeout: 5\n    timeout: 900\n    memory_mb: 16\n    encoding: binary\n"
            "    secrets: [greengrass-key]\n"
        )
        + "secrets:\n  - name: greengrass-key\n"
        "    arn: arn:aws:secretsmanager:eu-west-1:123456789012:secret:greengrass-key-AbC123\n"
        + "devices:\n  - thing: 'thing:with_colon-1'\n"
        + "subscriptions:\n"
        # Basic Ingest: the $aws/rules/<rule>/ prefix does not count against the 7 slashes
        + sub("device:thing:with_colon-1", "$aws/rules/r/a/b/c/d/e/f/g/h", "cloud")
        + sub("cloud", "+/+/#", "function:f")
        + sub("GGShadowService", "$aws/things/+/shadow/#", "device:thing:with_colon-1")
        + sub("function:f", "a" * 256, "cloud")
    )
    group = load_group(write(tmp_path, text))
    assert group.function_arn("f") == "arn:aws:lambda:us-east-1:123456789012:function:f:PROD"
    assert group.function("f").handler_function == "main"
    assert group.function("f").memory_kb == 16384


# ---------------------------------------------------------------- topics


@pytest.mark.parametrize(
    ("subject", "topic", "expected"),
    [
        ("a/b/c", "a/b/c", True),
        ("a/b/c", "a/b", False),
        ("a/b/c", "a/b/c/d", False),
        ("a/b/c", "A/b/c", False),
        ("a/+/c", "a/b/c", True),
        ("a/+/c", "a//c", True),
        ("a/+/c", "a/b/d", False),
        ("a/+/c", "a/b/x/c", False),
        ("a/#", "a", True),
        ("a/#", "a/b", True),
        ("a/#", "a/b/c/d", True),
        ("a/#", "b/a", False),
        ("a/#", "ab", False),
        ("#", "anything/at/all", True),
        ("#", "/leading", True),
        ("#", "$aws/things/t/shadow/update", False),
        ("+/things/t/shadow/update", "$aws/things/t/shadow/update", False),
        ("$aws/things/+/shadow/#", "$aws/things/t/shadow/update/delta", True),
        ("$aws/things/+/shadow/#", "$aws/things/t/jobs", False),
        ("+/+", "/finance", True),
        ("+/+", "a/b", True),
        ("+/+", "a", False),
        ("+/+", "a/b/c", False),
        ("+", "/finance", False),
        ("/+", "/finance", True),
    ],
)
def test_subscription_matching(subject: str, topic: str, expected: bool) -> None:
    subscription = Subscription(source="cloud", subject=subject, target="function:f")
    assert subscription.matches(topic) is expected


@pytest.mark.parametrize("topic", ["", "a/+", "a/#", "a\x00b"])
def test_matching_needs_a_topic_name(topic: str) -> None:
    with pytest.raises(ValueError, match="is not a topic name"):
        topic_matches("#", topic)


def test_endpoint_parts() -> None:
    route = Subscription(source="device:bme680-sensor", subject="x", target="function:republish")
    assert (route.source_kind, route.source_name) == ("device", "bme680-sensor")
    assert (route.target_kind, route.target_name) == ("function", "republish")
    shadow = Subscription(source="GGShadowService", subject="$aws/things/t/#", target="cloud")
    assert (shadow.source_kind, shadow.source_name) == ("GGShadowService", None)
    assert (shadow.target_kind, shadow.target_name) == ("cloud", None)


# ---------------------------------------------------------------- ARNs and look-ups


def test_arns() -> None:
    group = load_group(SHIPPED)
    assert (
        group.function_arn("republish")
        == "arn:aws:lambda:us-east-1:123456789012:function:republish:1"
    )
    assert (
        group.thing_arn("bme680-sensor") == "arn:aws:iot:us-east-1:123456789012:thing/bme680-sensor"
    )
    assert (
        group.thing_arn("weather-station-core")
        == "arn:aws:iot:us-east-1:123456789012:thing/weather-station-core"
    )


def test_arns_follow_region_and_account(tmp_path: Path) -> None:
    text = "name: g\nregion: eu-west-2\naccount: '000000000042'\ncore:\n  thing: c\n" + fn(
        "    version: '7'\n"
    )
    group = load_group(write(tmp_path, text))
    assert group.function_arn("f") == "arn:aws:lambda:eu-west-2:000000000042:function:f:7"
    assert group.thing_arn("c") == "arn:aws:iot:eu-west-2:000000000042:thing/c"


def test_unknown_names_raise_key_error_naming_the_known_ones() -> None:
    group = load_group(SHIPPED)
    with pytest.raises(KeyError, match=r"no function 'nope'.*republish, hello_world, inference"):
        group.function("nope")
    with pytest.raises(KeyError, match="no function 'nope'"):
        group.function_arn("nope")
    with pytest.raises(KeyError, match=r"no device 'nope'.*bme680-sensor, weather-station"):
        group.device("nope")
    with pytest.raises(KeyError, match="no device 'nope'"):
        group.thing_arn("nope")


# ---------------------------------------------------------------- JSON Schema


def test_json_schema_is_valid_and_accepts_the_shipped_file() -> None:
    schema = group_json_schema()
    validator_class = jsonschema.validators.validator_for(schema)
    validator_class.check_schema(schema)
    data = yaml.safe_load(SHIPPED.read_text(encoding="utf-8"))
    assert list(validator_class(schema).iter_errors(data)) == []


@pytest.mark.parametrize(
    ("change", "where"),
    [
        ({"colour": "red"}, ()),
        ({"account": 123456789012}, ("account",)),
        ({"functions": [{"name": "bad name", "module": "m"}]}, ("functions", 0, "name")),
        ({"functions": [{"name": "f", "module": "m", "timeout": 0}]}, ("functions", 0, "timeout")),
        (
            {"subscriptions": [{"source": "x", "subject": "a", "target": "cloud"}]},
            ("subscriptions", 0, "source"),
        ),
        (
            {"ml_resources": [{"name": "m", "s3_uri": "s3://bucket/m.tar", "destination": "/m"}]},
            ("ml_resources", 0, "s3_uri"),
        ),
        (
            {"client_devices": {"trust_duration_minutes": 0}},
            ("client_devices", "trust_duration_minutes"),
        ),
        ({"client_devices": {"auth": []}}, ("client_devices", "auth")),
    ],
)
def test_json_schema_rejects_what_the_loader_rejects(
    change: dict[str, object], where: tuple[object, ...]
) -> None:
    schema = group_json_schema()
    data = yaml.safe_load(SHIPPED.read_text(encoding="utf-8")) | change
    errors = list(jsonschema.validators.validator_for(schema)(schema).iter_errors(data))
    assert [tuple(error.absolute_path) for error in errors] == [where]


def _pure_python_loader() -> type:
    from harness import yaml_files

    return yaml_files._loader_class(yaml.SafeLoader)


@pytest.mark.skipif(not yaml.__with_libyaml__, reason="PyYAML built without libyaml")
def test_the_loader_is_libyamls_where_pyyaml_has_it() -> None:
    from harness.yaml_files import LOADER

    assert issubclass(LOADER, yaml.CSafeLoader)


@pytest.mark.parametrize(
    "snippet", [case[1] for case in CASES] + ["core:\n  thing: [c\nfunctions: []\n"],
    ids=[c[0] for c in CASES] + ["unclosed"])
def test_libyaml_and_the_python_loader_give_the_same_problems(
    tmp_path: Path, snippet: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The same fields and lines whichever loader composes the file (libyaml words a YAML
    syntax error its own way, so for those only the place is compared)."""
    from harness import yaml_files

    file = write(tmp_path, HEAD + snippet)
    found = []
    for loader in (yaml_files.LOADER, _pure_python_loader()):
        monkeypatch.setattr(yaml_files, "LOADER", loader)
        with pytest.raises(GroupError) as caught:
            load_group(file)
        found.append([(p.line, p.path, p.message if p.path != "(yaml)" else "")
                      for p in caught.value.problems])
    assert found[0] == found[1]


def test_a_big_group_loads_with_its_lines(tmp_path: Path) -> None:
    """Thousands of functions and subscriptions (the size of a 3.9 MB file, scaled down):
    every problem still names its line, and lists of known names stay short."""
    functions = "".join(f"  - name: f{n}\n    module: f\n" for n in range(3000))
    subscriptions = "".join(
        f"  - source: cloud\n    subject: t/{n}\n    target: function:f{n}\n"
        for n in range(3000))
    bad = "  - source: cloud\n    subject: t/x\n    target: function:nope  # <-\n"
    text = HEAD + "functions:\n" + functions + "subscriptions:\n" + subscriptions + bad
    with pytest.raises(GroupError) as caught:
        load_group(write(tmp_path, text))
    (problem,) = caught.value.problems
    assert (problem.line, problem.path) == (marked_line(text), "subscriptions.3000.target")
    assert "no function 'nope' in the group (functions: f0, f1, f10," in problem.message
    assert problem.message.endswith("and 2,990 more)")
