"""The hardware suite: the weather station on a rig, reached only the way a device reaches
it — MQTT over TLS with a thing's certificate, through the core's broker.

``pytest -m hil --rig broker`` runs it against an emulated Pi (Mosquitto on loopback, the
harness core, the real device program on a simulated chip; CI does this on every landing);
``pytest -m hil`` on the Raspberry Pi runs it against the real Greengrass core, the deployed
Lambdas and the physical BME680. Waits are in scenario seconds, stretched on hardware.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
from paho.mqtt.client import MQTTv5

from device.readings import Measurement, encode, reading_message
from harness.rigs.base import RigUnavailable
from harness.rigs.mqtt_client import MqttError, publish_acknowledged

pytestmark = pytest.mark.hil

THING = "weather-station"
SENSOR_THING = "bme680-sensor"
NOT_AUTHORIZED = 135  # MQTT v5 reason code


def _client(station: Any, thing: str) -> Any:
    """A connected MQTT client as ``thing``; skips when the rig has no identity for it."""
    try:
        return station.client(thing)
    except RigUnavailable as error:
        pytest.skip(str(error))


def _reported(shadow: Any) -> dict[str, Any]:
    outcome, document = shadow.get()
    return document.get("state", {}).get("reported", {}) if outcome == "accepted" else {}


def _wait_for_reported(station: Any, shadow: Any, holds: Any, seconds: float) -> dict[str, Any]:
    """Poll the Shadow over MQTT until ``holds(reported)``; the last reported state."""
    seen: dict[str, Any] = {}

    def check() -> bool:
        nonlocal seen
        seen = _reported(shadow)
        return bool(holds(seen))

    assert station.wait_until(check, timeout=seconds * station.timing_factor), \
        f"not within {seconds} s: the Shadow reported {seen}"
    return seen


def test_an_injected_reading_reaches_the_shadow_and_the_prediction(station: Any,
                                                                   shadow: Any) -> None:
    """A reading published as the sensor device goes through republish into the Shadow,
    compensated, and the inference Lambda predicts after it. The station's own device keeps
    publishing, so the evidence is the update documents the core sends out, not a GET that
    a newer reading may already have overwritten."""
    device = _client(station, SENSOR_THING)
    # no boot_id/timestamp: an old-style reading, which republish writes as it comes (one
    # with a run of its own would have to carry a timestamp later than the device's last)
    sequence = 900_000 + uuid.uuid4().int % 90_000
    reading = reading_message(sequence, Measurement(temperature=21.0, pressure=1003.5,
                                                    humidity=88.0))
    assert publish_acknowledged(device, "bme680/readings", encode(reading)) == 0

    def ours() -> dict[str, Any] | None:
        return next((u["state"]["reported"] for u in shadow.accepted_updates()
                     if u.get("state", {}).get("reported", {}).get("sequence") == sequence),
                    None)

    assert station.wait_until(lambda: ours() is not None, timeout=30 * station.timing_factor)
    reported = ours()
    assert reported is not None
    assert reported["pressure"] == pytest.approx(1003.5)
    assert reported["humidity"] == pytest.approx(88.0)
    # compensated with the CPU temperature the Lambda read: 2 * sensor - cpu
    assert reported["temperature"] == pytest.approx(2 * 21.0 - reported["cpu_temperature"],
                                                    abs=0.01)

    def predicted_after() -> list[dict[str, Any]]:
        updates = shadow.accepted_updates()
        index = next(i for i, u in enumerate(updates)
                     if u.get("state", {}).get("reported", {}).get("sequence") == sequence)
        return [u["state"]["reported"] for u in updates[index + 1:]
                if "rain_prediction" in u.get("state", {}).get("reported", {})]

    assert station.wait_until(lambda: bool(predicted_after()),
                              timeout=30 * station.timing_factor), "no prediction followed"
    prediction = predicted_after()[0]
    assert prediction["rain_prediction"] in (0, 1)
    assert 0.0 <= prediction["rain_probability"] <= 1.0


def test_live_readings_are_plausible_and_track_the_sensor(station: Any, shadow: Any,
                                                          sensor: Any) -> None:
    """What the device program reports matches what the sensor measures now."""
    reported = _wait_for_reported(station, shadow,
                                  lambda r: r.get("message") == "Success", 30)
    assert -40.0 <= reported["temperature"] <= 85.0  # the BME680's operating range
    assert 300.0 <= reported["pressure"] <= 1100.0
    assert 0.0 <= reported["humidity"] <= 100.0
    measured = sensor.read()
    assert reported["pressure"] == pytest.approx(measured.pressure, abs=1.0)
    assert reported["humidity"] == pytest.approx(measured.humidity, abs=3.0)
    air = 2 * measured.temperature - reported["cpu_temperature"]
    assert reported["temperature"] == pytest.approx(air, abs=1.5)


def test_shadow_get_update_delete_round_trip_over_mqtt(shadow: Any) -> None:
    token = uuid.uuid4().hex[:12]
    outcome, accepted = shadow.update({"desired": {"hil_probe": token}})
    assert outcome == "accepted", accepted
    version = accepted["version"]
    outcome, document = shadow.get()
    assert outcome == "accepted"
    assert document["state"]["desired"]["hil_probe"] == token
    assert document["version"] >= version
    outcome, deleted = shadow.delete()
    assert outcome == "accepted", deleted
    outcome, after = shadow.get()
    if outcome == "accepted":  # the live device's next reading already made a new document
        assert "hil_probe" not in after["state"].get("desired", {}), after
    else:
        assert after["code"] == 404, after
    # a stale version is refused once the Shadow exists again
    assert shadow.update({"desired": {"hil_probe": token}})[0] == "accepted"
    outcome, conflict = shadow.update({"desired": {"hil_probe": "stale"}}, version=1)
    assert (outcome, conflict["code"]) == ("rejected", 409), conflict


def test_a_publish_without_a_subscription_is_refused(station: Any) -> None:
    """bme680-sensor may publish only where the group subscribes it; elsewhere the broker
    refuses the message and nothing receives it. Over MQTT v5 the refusal is the PUBACK's
    reason code; a Greengrass V2 core's Moquette (MQTT 3.1.1, the pi rig's protocol) drops the
    message and sends no PUBACK."""
    topic = "bme680/unsubscribed"
    device = _client(station, SENSOR_THING)
    payload = json.dumps({"sequence": 1}).encode()
    if device.protocol == MQTTv5:
        assert publish_acknowledged(device, topic, payload) == NOT_AUTHORIZED
    else:
        with pytest.raises(MqttError, match="no PUBACK"):
            publish_acknowledged(device, topic, payload, timeout=5 * station.timing_factor)
    station.wait_until(lambda: bool(station.routed(topic)), timeout=5 * station.timing_factor)
    assert station.routed(topic) == []
    # the same device may publish where the group subscribes it
    reading = reading_message(1, Measurement(temperature=20.0, pressure=1000.0, humidity=50.0))
    assert publish_acknowledged(device, "bme680/readings", encode(reading)) == 0


def test_a_core_restart_keeps_the_shadow(station: Any, shadow: Any) -> None:
    token = uuid.uuid4().hex[:12]
    outcome, accepted = shadow.update({"desired": {"hil_restart": token}})
    assert outcome == "accepted", accepted
    station.restart_core(downtime=2.0)
    kept: dict[str, Any] = {}

    def back() -> bool:
        nonlocal kept
        try:
            outcome, kept = shadow.get(wait=2.0)
        except Exception:  # the core is still starting
            return False
        return outcome == "accepted"

    assert station.wait_until(back, timeout=60 * station.timing_factor), \
        "the core did not come back"
    assert kept["state"]["desired"]["hil_restart"] == token
    assert kept["version"] >= accepted["version"]
