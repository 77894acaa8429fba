"""CDA configuration: what the component refuses, with its text, and what it only lets pass."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fakes.client_devices import ClientDeviceAuth, ClientDeviceAuthConfigError
from tests.client_devices.helpers import allow, cda_5_3, groups


def load(config: Any, **options: Any) -> ClientDeviceAuth:
    return ClientDeviceAuth.from_configuration(config, **options)


def refused(config: Any, **options: Any) -> ClientDeviceAuthConfigError:
    with pytest.raises(ClientDeviceAuthConfigError) as caught:
        load(config, **options)
    return caught.value


def one_group(statements: dict[str, Any], rule: str = "thingName: t") -> dict[str, Any]:
    return groups({"G": (rule, "P")}, {"P": statements})


def test_the_worked_example_loads() -> None:
    cda = load(cda_5_3())
    assert [(g.name, g.policy_name) for g in cda.groups] == [
        ("Bme680Sensors", "SensorPolicy"),
        ("StationConsole", "StationShadowPolicy"),
    ]
    assert cda.trust_duration_minutes == 1440
    assert cda.warnings == ()
    assert cda.performance.max_active_auth_tokens == 2500


def test_defaults() -> None:
    cda = load({})
    assert cda.groups == ()
    assert cda.trust_duration_minutes == 1
    assert cda.performance.cloud_request_queue_size == 100
    assert cda.performance.max_concurrent_cloud_requests == 1
    # formatVersion defaults to 2021-03-05 when absent
    config = one_group(allow(["mqtt:connect"], ["mqtt:clientId:t"]))
    del config["deviceGroups"]["formatVersion"]
    assert load(config).can_connect("t")


def test_unknown_format_version() -> None:
    config = cda_5_3()
    config["deviceGroups"]["formatVersion"] = "2023-01-01"
    error = refused(config)
    assert error.path == "deviceGroups.formatVersion"
    assert "not one of the values accepted for Enum class: [2021-03-05]" in str(error)


@pytest.mark.parametrize(
    ("version", "text"),
    [
        ("2.5.2", "Policy definition Missing does not have a corresponding policy"),
        ("2.4.5", "Policies doesn't have policy named Missing"),
    ],
)
def test_policy_name_without_policy(version: str, text: str) -> None:
    config = cda_5_3()
    config["deviceGroups"]["definitions"]["Bme680Sensors"]["policyName"] = "Missing"
    error = refused(config, version=version)
    assert error.path == "deviceGroups.definitions.Bme680Sensors.policyName"
    assert text in str(error)


@pytest.mark.parametrize(
    "rule", ["thingName: a b", "thingName: thing*2", "thingName bme", "thingName: a:b", ""]
)
def test_bad_selection_rule(rule: str) -> None:
    config = cda_5_3()
    config["deviceGroups"]["definitions"]["StationConsole"]["selectionRule"] = rule
    error = refused(config)
    assert error.path == "deviceGroups.definitions.StationConsole.selectionRule"
    assert repr(rule) in str(error)


def test_leading_star_needs_2_4_5() -> None:
    config = one_group(allow(["*"], ["*"]), rule="thingName: *-sensor")
    assert load(config, version="2.4.5").authorize(
        "bme-sensor", "mqtt:connect", "mqtt:clientId:bme-sensor"
    )
    assert "selectionRule" in refused(config, version="2.4.4").path


@pytest.mark.parametrize("field", ["selectionRule", "policyName"])
def test_definition_fields_are_required(field: str) -> None:
    config = cda_5_3()
    del config["deviceGroups"]["definitions"]["Bme680Sensors"][field]
    error = refused(config)
    assert error.path == f"deviceGroups.definitions.Bme680Sensors.{field}"
    assert "non-null" in str(error)


@pytest.mark.parametrize("effect", ["DENY", "deny", "", 0, ["ALLOW"]])
def test_effect_other_than_allow(effect: Any) -> None:
    config = one_group({"S": {"effect": effect, "operations": ["*"], "resources": ["*"]}})
    error = refused(config)
    assert error.path == "deviceGroups.policies.P.S.effect"
    assert "[ALLOW]" in str(error)


def test_effect_allow_in_any_case_and_null_skips_the_statement() -> None:
    lower = one_group({"S": {"effect": "allow", "operations": ["*"], "resources": ["*"]}})
    assert load(lower).can_connect("t")
    null = one_group({"S": {"effect": None, "operations": ["*"], "resources": ["*"]}})
    cda = load(null)
    assert not cda.can_connect("t")
    assert any("effect null" in w for w in cda.warnings)


@pytest.mark.parametrize(
    ("resource", "unknown"),
    [
        ("mqtt:topic:${iot:ClientId}", "${iot:ClientId}"),
        ("mqtt:topic:a/${iot:Connection.Thing.ThingName}/${x}", "${x}"),
        ("mqtt:topic:${*}", "${*}"),  # the nucleus escape is a variable to CDA
    ],
)
def test_unknown_policy_variables(resource: str, unknown: str) -> None:
    error = refused(one_group(allow(["mqtt:publish"], [resource])))
    assert error.path == "deviceGroups.policies.P.S.resources[0]"
    assert "Policy contains unknown variables" in str(error)
    assert unknown in str(error)


def test_unknown_variables_only_where_cda_makes_permissions() -> None:
    # CDA checks the variables of the permissions it builds: a statement without
    # operations, an unreferenced policy, or CDA before 2.5.0 let them through.
    no_ops = one_group({"S": {"resources": ["mqtt:topic:${x}"]}})
    assert load(no_ops).groups[0].statements[0].resources == ("mqtt:topic:${x}",)
    unreferenced = one_group(allow(["*"], ["*"]))
    unreferenced["deviceGroups"]["policies"]["Other"] = allow(["*"], ["mqtt:topic:${x}"])
    load(unreferenced)
    old = load(one_group(allow(["mqtt:publish"], ["mqtt:topic:${x}"])), version="2.4.5")
    assert any("policy variables need CDA 2.5.0" in w for w in old.warnings)


@pytest.mark.parametrize(
    ("statement", "path"),
    [
        ({"operations": "mqtt:connect", "resources": ["*"]}, "operations"),
        ({"operations": ["*"], "resources": {"a": 1}}, "resources"),
        ({"operations": [["mqtt:connect"]], "resources": ["*"]}, "operations[0]"),
        ({"operations": None, "resources": ["*"]}, "operations"),
        (
            {"operations": ["*"], "resources": ["*"], "statementDescription": {"x": 1}},
            "statementDescription",
        ),
    ],
)
def test_statement_shapes(statement: dict[str, Any], path: str) -> None:
    error = refused(one_group({"S": statement}))
    assert error.path == f"deviceGroups.policies.P.S.{path}"


@pytest.mark.parametrize(
    "config",
    [
        [],
        {"deviceGroups": []},
        {"deviceGroups": {"definitions": ["G"]}},
        {"deviceGroups": {"definitions": {"G": "thingName: t"}}},
        {"deviceGroups": {"definitions": {}, "policies": {"P": ["S"]}}},
        {"deviceGroups": {"definitions": {}, "policies": {"P": {"S": "allow"}}}},
        groups({"G": ("thingName: t", "P")}, {"P": None}),
    ],
)
def test_odd_shapes_are_config_errors(config: Any) -> None:
    refused(config)


def test_keys_are_case_insensitive() -> None:
    config = {
        "DeviceGroups": {
            "FormatVersion": "2021-03-05",
            "Definitions": {"G": {"SelectionRule": "thingName: t", "POLICYNAME": "P"}},
            "policies": {"P": {"S": {"Operations": ["mqtt:connect"], "RESOURCES": ["*"]}}},
        },
        "Security": {"ClientDeviceTrustDurationMinutes": "60"},
    }
    cda = load(config)
    assert cda.can_connect("t")
    assert cda.trust_duration_minutes == 60


def test_unknown_fields_ignored_from_2_5_refused_before() -> None:
    config = one_group({"S": {"operations": ["*"], "resources": ["*"], "comment": "x"}})
    assert load(config).can_connect("t")
    error = refused(config, version="2.4.5")
    assert error.path == "deviceGroups.policies.P.S.comment"
    assert 'Unrecognized field "comment"' in str(error)


@pytest.mark.parametrize(
    ("value", "minutes"),
    [(0, 1), (-5, 1), ("abc", 1), (None, 1), (2.9, 2), ("0x10", 16), (True, 1), (1440, 1440)],
)
def test_trust_duration_below_one_is_raised_to_one_not_refused(value: Any, minutes: int) -> None:
    # SecurityConfiguration: Coerce.toInt, then "Illegal value ... Using minimum value 1"
    cda = load({"security": {"clientDeviceTrustDurationMinutes": value}})
    assert cda.trust_duration_minutes == minutes
    low = [w for w in cda.warnings if "Illegal value" in w]
    if minutes == 1 and value not in (True,):
        assert low == [
            "security.clientDeviceTrustDurationMinutes: Illegal value "
            f"{0 if value in ('abc', None) else value} for configuration "
            "clientDeviceTrustDurationMinutes. Using minimum value 1"
        ]
    else:
        assert low == []


def test_strict_refuses_what_cda_lets_pass() -> None:
    lenient = [
        ({"security": {"clientDeviceTrustDurationMinutes": 0}}, "2.5.2"),
        (one_group(allow(["mqtt:Publish"], ["*"])), "2.5.2"),  # never matches
        (one_group(allow(["mqtt:publish"], ["mqtt:topic:a/+/b"])), "2.5.2"),
        (one_group(allow(["mqtt:connect"], ["mqtt:clientId:bme*"])), "2.4.5"),
        (one_group(allow(["*"], ["*"]), rule="thingName: a\\:b"), "2.5.2"),
    ]
    for config, version in lenient:
        cda = load(config, version=version)
        assert len(cda.warnings) == 1, cda.warnings
        error = refused(config, version=version, strict=True)
        assert "strict=True" in str(error)


def test_bad_operation_is_accepted_and_never_matches() -> None:
    cda = load(one_group(allow(["mqtt:Publish", "iot:publish"], ["*"])))
    assert not cda.can_publish("t", "a")
    assert [w.split(": ", 1)[0] for w in cda.warnings] == [
        "deviceGroups.policies.P.S.operations[0]",
        "deviceGroups.policies.P.S.operations[1]",
    ]


def test_version_must_be_a_version() -> None:
    with pytest.raises(ValueError, match=r"major\.minor\.patch"):
        load({}, version="latest")


def test_reconfigure_keeps_the_old_configuration_on_error() -> None:
    cda = load(cda_5_3())
    broken = cda_5_3()
    broken["deviceGroups"]["formatVersion"] = "x"
    with pytest.raises(ClientDeviceAuthConfigError):
        cda.reconfigure(broken)
    assert cda.can_publish("bme680-sensor", "bme680/readings")
    cda.reconfigure({})
    assert not cda.can_publish("bme680-sensor", "bme680/readings")


_json = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-3, 3)
    | st.sampled_from(
        ["", "*", "ALLOW", "mqtt:connect", "thingName: t", "P", "2021-03-05", "mqtt:topic:${x}"]
    ),
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(
            st.sampled_from(
                [
                    "deviceGroups",
                    "definitions",
                    "policies",
                    "G",
                    "P",
                    "S",
                    "selectionRule",
                    "policyName",
                    "operations",
                    "resources",
                    "effect",
                    "formatVersion",
                    "security",
                    "clientDeviceTrustDurationMinutes",
                ]
            ),
            inner,
            max_size=4,
        )
    ),
    max_leaves=12,
)


@settings(max_examples=300)
@given(_json, st.sampled_from(["2.5.2", "2.4.5", "2.2.0"]))
def test_any_input_loads_or_raises_the_config_error(config: Any, version: str) -> None:
    try:
        cda = load(config, version=version)
    except ClientDeviceAuthConfigError as error:
        assert str(error)
        return
    # whatever loaded can be asked
    assert isinstance(cda.authorize("t", "mqtt:connect", "mqtt:clientId:t"), bool)
