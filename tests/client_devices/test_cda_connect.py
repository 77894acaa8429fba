"""The connect decision (§1.3.1, §1.3.4): TLS failure, CONNACK 0x02/0x04, offline trust."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fakes.client_devices import (
    ACCEPTED_LOG,
    CONNACK_ACCEPTED,
    CONNACK_BAD_USER_NAME_OR_PASSWORD,
    CONNACK_IDENTIFIER_REJECTED,
    CONNECT_DENIED_LOG,
    CONNECT_ERROR_LOG,
    DUPLICATE_CLIENT_ID_LOG,
    SESSION_FAILED_LOG,
    SUBACK_FAILURE,
    TLS_FAILED_LOG,
    ClientDeviceAuth,
    empty_client_id_log,
    publish_denied_log,
    subscribe_denied_log,
)
from tests.client_devices.helpers import allow, cda_5_3, groups

SENSOR = "bme680-sensor"
MINUTE = 60.0


def station(trust_minutes: int | None = 1440, version: str = "2.5.2") -> ClientDeviceAuth:
    config = cda_5_3()
    if trust_minutes is None:
        del config["security"]
    else:
        config["security"]["clientDeviceTrustDurationMinutes"] = trust_minutes
    return ClientDeviceAuth.from_configuration(config, version=version)


def test_texts_are_the_cores() -> None:
    assert TLS_FAILED_LOG == "Unable to authenticate client device"
    assert SESSION_FAILED_LOG == (
        "Can't create auth session. Check that the thing connects using its thing name as "
        "the client ID and has a valid AWS IoT client certificate."
    )
    assert CONNECT_DENIED_LOG == "Device isn't authorized to connect"
    assert DUPLICATE_CLIENT_ID_LOG == "Duplicate client ID detected. Closing old auth session."
    assert publish_denied_log("a/b", qos=0, client_id="c") == (
        "client is not authorized to publish on topic: a/b"
    )
    assert publish_denied_log("a/b", qos=1, client_id="c") == (
        "MQTT client: c is not authorized to publish on topic: a/b"
    )
    assert publish_denied_log("a/b", qos=2, client_id="c") == (
        "MQTT client is not authorized to publish on topic: a/b"
    )
    assert subscribe_denied_log("a/#", username="PEM", message_id=7) == (
        "Client does not have read permissions on the topic username: PEM, messageId: 7, topic: a/#"
    )
    assert SUBACK_FAILURE == 0x80


def test_sensor_connects_with_its_thing_name() -> None:
    result = station().connect(SENSOR, SENSOR, now=0, cloud_online=True)
    assert result.accepted
    assert (result.outcome, result.connack, result.log) == (
        "accepted",
        CONNACK_ACCEPTED,
        ACCEPTED_LOG,
    )
    assert result.verified_by == "cloud"


def test_certificate_not_active_fails_the_handshake() -> None:
    auth = station()
    result = auth.connect(SENSOR, None, now=0, cloud_online=True)
    assert (result.outcome, result.connack, result.log) == ("tls_failure", None, TLS_FAILED_LOG)
    assert "not an active AWS IoT certificate" in result.reason
    revoked = auth.connect(SENSOR, SENSOR, now=0, cloud_online=True, certificate_active=False)
    assert (revoked.outcome, revoked.log) == ("tls_failure", TLS_FAILED_LOG)
    assert "is not active in AWS IoT" in revoked.reason


def test_empty_client_id_is_identifier_rejected() -> None:
    result = station().connect("", SENSOR, now=0, cloud_online=True)
    assert (result.outcome, result.connack) == ("refused", CONNACK_IDENTIFIER_REJECTED)
    assert result.log == empty_client_id_log(f"<certificate of {SENSOR}>")
    assert result.log.startswith("Broker doesn't permit MQTT empty client ID. Username: ")
    # the handshake comes first: a bad certificate with an empty client ID is a TLS error
    assert station().connect("", None, now=0, cloud_online=True).outcome == "tls_failure"


def test_client_id_other_than_the_certificates_thing_is_refused() -> None:
    auth = station()
    result = auth.connect("weather-station", SENSOR, now=0, cloud_online=True)
    assert (result.outcome, result.connack, result.log) == (
        "refused",
        CONNACK_BAD_USER_NAME_OR_PASSWORD,
        SESSION_FAILED_LOG,
    )
    assert "not attached" in result.reason


def test_thing_outside_the_groups_or_without_connect_permission() -> None:
    auth = station()
    outside = auth.connect("bme-680", "bme-680", now=0, cloud_online=True)
    assert (outside.connack, outside.log) == (CONNACK_BAD_USER_NAME_OR_PASSWORD, CONNECT_DENIED_LOG)
    assert outside.reason == "denied by CDA: no device group selects bme-680"
    in_group = auth.connect("bme680-x", "bme680-x", now=0, cloud_online=True)
    assert (in_group.connack, in_group.log) == (
        CONNACK_BAD_USER_NAME_OR_PASSWORD,
        CONNECT_DENIED_LOG,
    )


def test_thing_name_longer_than_128() -> None:
    name = "a" * 129
    auth = ClientDeviceAuth.from_configuration(
        groups({"G": ("thingName: *", "P")}, {"P": allow(["*"], ["*"])})
    )
    result = auth.connect(name, name, now=0, cloud_online=True)
    assert (result.connack, result.log) == (CONNACK_BAD_USER_NAME_OR_PASSWORD, SESSION_FAILED_LOG)
    assert auth.connect("a" * 128, "a" * 128, now=0, cloud_online=True).accepted


def test_client_id_that_is_no_thing_name_closes_the_connection() -> None:
    auth = ClientDeviceAuth.from_configuration(
        groups({"G": ("thingName: *", "P")}, {"P": allow(["*"], ["*"])})
    )
    result = auth.connect("bme680.sensor", "bme680.sensor", now=0, cloud_online=True)
    assert (result.outcome, result.connack, result.log) == ("closed", None, CONNECT_ERROR_LOG)
    assert auth.connect("team:sensor_1-a", "team:sensor_1-a", now=0, cloud_online=True).accepted


def test_duplicate_client_id_closes_the_old_session() -> None:
    auth = station()
    assert not auth.connect(SENSOR, SENSOR, now=0, cloud_online=True).replaced_session
    again = auth.connect(SENSOR, SENSOR, now=1, cloud_online=True)
    assert again.replaced_session
    assert again.logs == (ACCEPTED_LOG, DUPLICATE_CLIENT_ID_LOG)
    auth.disconnect(SENSOR)
    assert SENSOR not in auth.sessions
    assert auth.connect(SENSOR, SENSOR, now=2, cloud_online=True).logs == (ACCEPTED_LOG,)


# -- offline ------------------------------------------------------------------------------


def test_default_trust_is_one_minute() -> None:
    auth = station(trust_minutes=None)
    assert auth.trust_duration_minutes == 1
    assert auth.connect(SENSOR, SENSOR, now=1000, cloud_online=True).accepted
    within = auth.connect(SENSOR, SENSOR, now=1000 + 59, cloud_online=False)
    assert within.accepted and within.verified_by == "local"
    # exactly one minute later the verdict has expired (Instant.isAfter is strict)
    late = auth.connect(SENSOR, SENSOR, now=1000 + MINUTE, cloud_online=False)
    assert (late.outcome, late.connack, late.log) == ("tls_failure", None, TLS_FAILED_LOG)
    assert "last verified 60 s ago, trust duration 1 min" in late.reason


def test_a_longer_trust_survives_the_cloud_offline_hour() -> None:
    auth = station(trust_minutes=1440)
    assert auth.connect(SENSOR, SENSOR, now=0, cloud_online=True).accepted
    assert auth.connect(SENSOR, SENSOR, now=3600, cloud_online=False).accepted
    assert auth.connect(SENSOR, SENSOR, now=1440 * MINUTE - 1, cloud_online=False).accepted
    assert not auth.connect(SENSOR, SENSOR, now=1440 * MINUTE, cloud_online=False).accepted


def test_offline_without_any_verification() -> None:
    result = station().connect(SENSOR, SENSOR, now=0, cloud_online=False)
    assert result.outcome == "tls_failure"
    assert "never verified online" in result.reason


def test_stale_attachment_with_a_fresh_certificate_gets_connack_4() -> None:
    auth = station(trust_minutes=10)
    auth.connect(SENSOR, SENSOR, now=0, cloud_online=True)
    # another thing's connect refreshes only that certificate; here the sensor's certificate
    # is refreshed by a connect under a wrong client ID, whose attachment check fails
    auth.connect("bme680-other", SENSOR, now=9 * MINUTE, cloud_online=True)
    result = auth.connect(SENSOR, SENSOR, now=11 * MINUTE, cloud_online=False)
    assert (result.outcome, result.connack, result.log) == (
        "refused",
        CONNACK_BAD_USER_NAME_OR_PASSWORD,
        SESSION_FAILED_LOG,
    )
    assert "attachment" in result.reason


def test_revoked_online_is_remembered_offline() -> None:
    auth = station()
    auth.connect(SENSOR, SENSOR, now=0, cloud_online=True)
    auth.connect(SENSOR, SENSOR, now=10, cloud_online=True, certificate_active=False)
    assert not auth.connect(SENSOR, SENSOR, now=20, cloud_online=False).accepted


def test_connected_sessions_are_not_reverified() -> None:
    auth = station(trust_minutes=None)
    assert auth.connect(SENSOR, SENSOR, now=0, cloud_online=True).accepted
    # an hour into an outage the session stays, and its requests are still decided
    assert SENSOR in auth.sessions
    assert auth.can_publish(SENSOR, "bme680/readings")
    assert not auth.connect(SENSOR, SENSOR, now=3600, cloud_online=False).accepted


def test_refresh_and_forget() -> None:
    auth = station(trust_minutes=None)
    auth.refresh([SENSOR], now=500)
    assert auth.last_verified(SENSOR) == 500
    assert auth.connect(SENSOR, SENSOR, now=530, cloud_online=False).accepted
    auth.forget(SENSOR)
    assert auth.last_verified(SENSOR) is None
    assert not auth.connect(SENSOR, SENSOR, now=531, cloud_online=False).accepted


def test_offline_authentication_needs_cda_2_3() -> None:
    auth = station(version="2.2.0")
    assert auth.connect(SENSOR, SENSOR, now=0, cloud_online=True).accepted
    assert not auth.connect(SENSOR, SENSOR, now=1, cloud_online=False).accepted


def test_reconfigure_keeps_the_registry() -> None:
    auth = station(trust_minutes=None)
    auth.connect(SENSOR, SENSOR, now=0, cloud_online=True)
    config = cda_5_3()
    config["security"]["clientDeviceTrustDurationMinutes"] = 120
    auth.reconfigure(config)
    # the new trust duration applies to verdicts already in the registry
    assert auth.connect(SENSOR, SENSOR, now=100 * MINUTE, cloud_online=False).accepted


@given(st.integers(1, 2000), st.floats(0, 1e6), st.floats(0, 2e5))
def test_offline_verdict_is_exactly_the_trust_window(minutes: int, start: float, gap: float):
    config = cda_5_3()
    config["security"]["clientDeviceTrustDurationMinutes"] = minutes
    auth = ClientDeviceAuth.from_configuration(config)
    assert auth.connect(SENSOR, SENSOR, now=start, cloud_online=True).accepted
    later = auth.connect(SENSOR, SENSOR, now=start + gap, cloud_online=False)
    assert later.accepted is (start + minutes * MINUTE > start + gap)
    assert later.outcome in ("accepted", "tls_failure")


@pytest.mark.parametrize("online", [True, False])
def test_certificate_of_another_thing_never_connects(online: bool) -> None:
    auth = station()
    auth.connect("weather-station", "weather-station", now=0, cloud_online=True)
    result = auth.connect(SENSOR, "weather-station", now=1, cloud_online=online)
    assert result.connack == CONNACK_BAD_USER_NAME_OR_PASSWORD
