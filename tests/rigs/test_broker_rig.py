"""The broker rig as sessions use it: a Greengrass V2 core. Client device auth decides every
connect, publish and subscribe of a device (the CDA model's decisions, following the pasted
configuration), the core's bridge subscribes as the deployed V2 bridge and relays to devices
as it does, discovery answers as the V2 service; the core's bridge keeps its client id against
other certificates, and a session never receives what an earlier one left retained."""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import pytest
import yaml

from device.greengrass_connect import DiscoveryRequestError, discover
from device.readings import Measurement, encode, reading_message
from fakes.client_devices import LOCAL_MQTT, SUBACK_FAILURE
from harness.rigs.base import RigUnavailable
from harness.rigs.broker import BrokerRig, BrokerSession
from harness.rigs.mosquitto import DROPPED_TOPIC
from harness.rigs.mqtt_client import (
    MQTT3,
    MqttError,
    MqttIdentity,
    close_client,
    connect_client,
    publish_acknowledged,
)
from harness.simulation import DEFAULT_GROUP
from harness.v2.deployment import CLIENT_DEVICE_AUTH, compile_group
from tests.rigs.raw_mqtt import Raw311

TIMEOUT = 5.0  # wall seconds any single wait may take; each ends on its event much sooner


@pytest.fixture(scope="module")
def rig(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BrokerRig]:
    try:
        rig = BrokerRig.start(directory=tmp_path_factory.mktemp("broker-rig"))
    except RigUnavailable as error:
        pytest.skip(str(error))
    yield rig
    rig.close()


@pytest.fixture
def session(rig: BrokerRig) -> Iterator[BrokerSession]:
    session = rig.session()
    yield session
    session.close()


def reading(sequence: int) -> bytes:
    return encode(reading_message(sequence, Measurement(temperature=20.0, pressure=1001.0,
                                                         humidity=60.0)))


def routed_sequences(session: BrokerSession) -> list[int]:
    return [message.json()["sequence"] for message in session.routed("bme680/readings")]


def wait_routed(session: BrokerSession, sequence: int) -> None:
    assert session.wait_until(lambda: sequence in routed_sequences(session),
                              timeout=TIMEOUT * session.scale), routed_sequences(session)


def bridge_client_id(rig: BrokerRig) -> str:
    """The client id of the newest bridge, from the broker's log."""
    found = [match.group(1) for line in rig.mosquitto.log_lines()
             if (match := re.search(r"New client connected from \S+ as (\S+-bridge-\d+) ",
                                    line))]
    assert found, "no bridge connected"
    return found[-1]


def refused(identity: MqttIdentity, client_id: str) -> str:
    """What the broker answered ``identity`` connecting with ``client_id``."""
    try:
        client = connect_client(identity, client_id=client_id, timeout=TIMEOUT)
    except MqttError as error:
        return str(error)
    close_client(client)
    return "accepted"


@pytest.mark.parametrize("who", ["device certificate", "helper certificate"])
def test_no_other_certificate_takes_the_bridge_client_id(
    rig: BrokerRig, session: BrokerSession, who: str
) -> None:
    bridge = bridge_client_id(rig)
    identity = (rig.thing_identity("bme680-sensor") if who == "device certificate"
                else rig.identity("weather-station"))  # weather-station-... is no help
    assert refused(identity, bridge).endswith("Not authorized")
    # the bridge was not knocked off: a reading still reaches the core through it
    session.publish("device:bme680-sensor", "bme680/readings", reading(41))
    wait_routed(session, 41)
    assert not any(f"Client {bridge} already connected" in line
                   for line in rig.mosquitto.log_lines())


def test_the_device_program_identity_is_its_thing_name(rig: BrokerRig,
                                                       session: BrokerSession) -> None:
    """The device's own certificate is accepted with its thing name only; the harness's
    client for the same thing connects next to it."""
    device = connect_client(rig.thing_identity("bme680-sensor"), timeout=TIMEOUT)
    try:
        assert refused(rig.thing_identity("bme680-sensor"), "bme680-sensor-harness") \
            .endswith("Not authorized")
        session.publish("device:bme680-sensor", "bme680/readings", reading(42))
        wait_routed(session, 42)
        assert device.is_connected()
    finally:
        close_client(device)


def test_retained_readings_do_not_reach_the_next_session(rig: BrokerRig) -> None:
    first = rig.session()
    try:
        info = first.client("bme680-sensor").publish("bme680/readings", reading(1), qos=1,
                                                     retain=True)
        info.wait_for_publish(TIMEOUT)
        wait_routed(first, 1)
    finally:
        first.close()
    second = rig.session()
    try:
        second.publish("device:bme680-sensor", "bme680/readings", reading(2))
        wait_routed(second, 2)  # a retained message would have come before it
        assert routed_sequences(second) == [2]
    finally:
        second.close()


def test_a_hostile_shadow_update_over_the_broker_is_refused_and_the_session_runs_on(
        session: BrokerSession) -> None:
    """A device's update nested a thousand levels deep once crashed the session's run loop
    (RecursionError in the Shadow fake); now it is refused and routing goes on."""
    topic = "$aws/things/weather-station/shadow/update"
    deep = '{"state":{"reported":' + '{"a":' * 1000 + "1" + "}" * 1000 + "}}"
    session.publish("device:weather-station", topic, deep.encode())
    assert session.wait_until(lambda: bool(session.routed(topic)),
                              timeout=TIMEOUT * session.scale)
    session.publish("device:bme680-sensor", "bme680/readings", reading(43))
    wait_routed(session, 43)
    shadow = session.sim.shadow("weather-station") or {}
    assert "a" not in shadow.get("state", {}).get("reported", {})


def test_a_kept_directory_does_not_replay_an_earlier_run(tmp_path: Path) -> None:
    """A rig started on a directory an earlier run kept starts without its broker state."""
    for run, sequence in enumerate((1, 2)):
        try:
            rig = BrokerRig.start(directory=tmp_path)
        except RigUnavailable as error:
            pytest.skip(str(error))
        try:
            session = rig.session()
            try:
                if run == 0:
                    session.client("bme680-sensor").publish(
                        "bme680/readings", reading(sequence), qos=1, retain=True
                    ).wait_for_publish(TIMEOUT)
                else:
                    session.publish("device:bme680-sensor", "bme680/readings",
                                    reading(sequence))
                wait_routed(session, sequence)
                assert routed_sequences(session) == [sequence]
            finally:
                session.close()
        finally:
            rig.close()



# ---------------------------------------------------------------- a V2 core


NOT_AUTHORIZED = 135  # MQTT 5


def sensor_v311(rig: BrokerRig) -> Any:
    """A client as the device program connects: the sensor's own certificate, its thing name
    as client id, MQTT 3.1.1."""
    return connect_client(rig.thing_identity("bme680-sensor"), protocol=MQTT3)


def test_a_reading_from_the_sensors_certificate_reaches_the_lambda(
        rig: BrokerRig, session: BrokerSession) -> None:
    sensor = sensor_v311(rig)
    try:
        assert publish_acknowledged(sensor, "bme680/readings", reading(51)) == 0
        wait_routed(session, 51)
    finally:
        close_client(sensor)
    [message] = [m for m in session.routed("bme680/readings") if m.json()["sequence"] == 51]
    assert message.source == "device:bme680-sensor"
    assert "function:republish" in message.targets
    assert session.ambiguous == 0


def test_a_publish_client_device_auth_denies_is_dropped_and_counted(
        rig: BrokerRig, session: BrokerSession) -> None:
    """The sensor's policy allows bme680/readings only: another topic is dropped by the
    broker (over MQTT 3.1.1 still acknowledged: the difference from the core, which sends no
    PUBACK), reaches nothing, and is counted from the broker's log."""
    sensor = sensor_v311(rig)
    try:
        assert publish_acknowledged(sensor, "bme680/calibration", reading(52)) == 0
        assert publish_acknowledged(sensor, "bme680/readings", reading(53)) == 0
        wait_routed(session, 53)
    finally:
        close_client(sensor)
    assert session.routed("bme680/calibration") == []
    assert session.settle(TIMEOUT)
    counts = session.message_counts()
    assert counts.dropped == {"client device auth": 1}
    assert counts.delivered == counts.received == 1
    assert any("client-device-auth: MQTT client: bme680-sensor is not authorized to publish "
               "on topic: bme680/calibration" in line for line in rig.mosquitto.log_lines())


def test_a_denied_subscribe_gets_0x80(rig: BrokerRig, session: BrokerSession) -> None:
    """The station may subscribe to the filter its compiled policy names, as written: a
    narrower filter is refused, as on the core (CDA compares filters literally)."""
    station = Raw311(rig.mosquitto, rig.pki, "weather-station")
    try:
        assert station.connack == b"\x20\x02\x00\x00"
        assert station.subscribe(3, "$aws/things/weather-station/shadow/#",
                                 "$aws/things/weather-station/shadow/update/accepted") \
            == [0x01, SUBACK_FAILURE]
    finally:
        station.close()


def test_the_broker_follows_the_session_cores_client_device_auth(
        rig: BrokerRig, session: BrokerSession) -> None:
    """The rules come from the simulated core's CDA model; a new configuration applies to
    both at once, to the next publish of a connection that stays open."""
    assert rig.mosquitto.rules == rig.rules_for(session.fabric.auth).text()
    client = session.client("bme680-sensor")  # a helper: held to bme680-sensor's policy
    assert publish_acknowledged(client, "bme680/calibration", b"{}") == NOT_AUTHORIZED
    config = compile_group(rig.group).configuration(CLIENT_DEVICE_AUTH)
    config["deviceGroups"]["policies"]["bme680-sensor-policy"]["Publish"]["resources"] \
        .append("mqtt:topic:bme680/*")
    session.configure_client_device_auth(config)
    assert session.fabric.auth.can_publish("bme680-sensor", "bme680/calibration")
    assert publish_acknowledged(client, "bme680/calibration", b"{}") != NOT_AUTHORIZED
    assert rig.mosquitto.rules == rig.rules_for(session.fabric.auth).text()


def test_the_bridge_subscribes_as_the_deployed_v2_bridge(
        rig: BrokerRig, session: BrokerSession) -> None:
    """Its topics on the broker are the bridge's LocalMqtt mapping topics (and the rig's
    own: the broker's drop count and the fence), not the V1 subscription subjects."""
    bridge = bridge_client_id(rig)
    lines = rig.mosquitto.log_lines()
    start = max(i for i, line in enumerate(lines)
                if line.endswith(f"Received SUBSCRIBE from {bridge}"))
    topics = []
    for line in lines[start + 1:]:
        if line.endswith(f"Sending SUBACK to {bridge}"):
            break
        match = re.search(r": \t(.*) \(QoS 1\)$", line)  # one line per filter
        if match is not None:
            topics.append(match.group(1))
    assert topics == [*session.fabric.bridge.subscriptions(LOCAL_MQTT), DROPPED_TOPIC,
                      f"harness/fence/{bridge}"]
    assert "$aws/things/weather-station/shadow/#" not in topics  # the V1 subject


def test_what_the_bridge_relays_reaches_devices_at_qos1_without_retain(
        rig: BrokerRig, session: BrokerSession) -> None:
    """ShadowManager's answer goes to the local broker through the bridge's Pubsub ->
    LocalMqtt mapping: published once, QoS 1, retain cleared."""
    received: list[mqtt.MQTTMessage] = []
    arrived = threading.Event()

    def on_message(client: Any, userdata: Any, message: mqtt.MQTTMessage) -> None:
        if message.topic.endswith("/update/accepted"):
            received.append(message)
            arrived.set()

    station = connect_client(rig.identity("weather-station"),
                             subscribe=["$aws/things/weather-station/shadow/#"],
                             on_message=on_message, client_id="weather-station-listener")
    try:
        body = json.dumps({"state": {"reported": {"probe": 1}}}).encode()
        station.publish("$aws/things/weather-station/shadow/update", body, qos=1)
        assert session.wait_until(arrived.is_set, timeout=TIMEOUT * session.scale)
        session.wait_until(lambda: False, timeout=0.2 * session.scale)  # a second one?
    finally:
        close_client(station)
    [message] = received
    assert (message.qos, message.retain) == (1, False)
    assert json.loads(message.payload)["state"]["reported"]["probe"] == 1


def test_discovery_answers_as_the_v2_service(rig: BrokerRig) -> None:
    assert rig.discovery is not None
    cert, key = map(str, rig.pki.client("bme680-sensor"))
    info = discover(rig.discovery.host, "bme680-sensor", cert, key, str(rig.pki.root_ca),
                    port=rig.discovery.port, timeout=TIMEOUT)
    [group] = info.groups
    assert group.group_id == "greengrassV2-coreDevice-weather-station-core"
    assert group.cas == (rig.pki.group_ca_pem,)  # the core's CA: it signed the broker's
    [core] = group.cores
    assert core.thing_arn == rig.deployment.target_arn
    assert [(c.host, c.port) for c in core.connectivity] == \
        [(rig.mosquitto.host, rig.mosquitto.port)]
    assert rig.discovery.things == frozenset(rig.deployment.client_devices)
    # the core's own thing has a certificate but is not one of its client devices
    cert, key = map(str, rig.pki.client("weather-station-core"))
    with pytest.raises(DiscoveryRequestError) as raised:
        discover(rig.discovery.host, "weather-station-core", cert, key,
                 str(rig.pki.root_ca), port=rig.discovery.port, timeout=TIMEOUT)
    assert raised.value.status == 404
    assert '"errorMessage": "The thing provided for discovery was not found"' in \
        str(raised.value)


def test_a_v1_session_is_refused(rig: BrokerRig) -> None:
    with pytest.raises(ValueError, match="the broker rig is a Greengrass V2 core"):
        rig.session(mode="v1")


# ---------------------------------------------------------------- a pasted configuration


def pasted_group(folder: Path, auth: dict[str, Any]) -> Path:
    """The shipped group with ``client_devices.auth`` pasted."""
    document = yaml.safe_load(DEFAULT_GROUP.read_text())
    document["client_devices"]["auth"] = auth
    path = folder / "group.yaml"
    path.write_text(yaml.safe_dump(document))
    return path


#: both devices may publish the readings (and the station its Shadow requests); the station
#: may not connect, until the second version
SHARED = {"deviceGroups": {
    "formatVersion": "2021-03-05",
    "definitions": {"devices": {"selectionRule": "thingName: *", "policyName": "devices"},
                    "sensor": {"selectionRule": "thingName: bme680-sensor",
                               "policyName": "connect"}},
    "policies": {
        "devices": {"publish": {"operations": ["mqtt:publish"],
                                "resources": ["mqtt:topic:bme680/readings",
                                              "mqtt:topic:$aws/things/weather-station/shadow/*"]}},
        "connect": {"connect": {"operations": ["mqtt:connect"],
                                "resources": ["mqtt:clientId:*"]}},
    },
}}


@pytest.fixture(scope="module")
def pasted(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BrokerRig]:
    folder = tmp_path_factory.mktemp("pasted")
    try:
        rig = BrokerRig.start(pasted_group(folder, SHARED), directory=folder / "rig",
                              code_dir=DEFAULT_GROUP.parent)
    except RigUnavailable as error:
        pytest.skip(str(error))
    yield rig
    rig.close()


def test_a_thing_whose_policy_denies_connect_is_refused(pasted: BrokerRig) -> None:
    session = pasted.session()
    try:
        assert not session.fabric.auth.can_connect("weather-station")
        for helper, client_id in ((False, "weather-station"),
                                  (True, "weather-station-harness")):
            station = Raw311(pasted.mosquitto, pasted.pki, "weather-station", client_id,
                             helper=helper)
            station.close()
            assert station.connack == b"\x20\x02\x00\x05"  # CDA: 0x04
        with pytest.raises(MqttError, match="Not authorized"):
            connect_client(pasted.identity("weather-station"), client_id="weather-station-x")
        sensor = Raw311(pasted.mosquitto, pasted.pki, "bme680-sensor")
        sensor.close()
        assert sensor.connack == b"\x20\x02\x00\x00"
    finally:
        session.close()


def test_a_topic_two_devices_may_publish_is_credited_to_the_first_and_counted(
        pasted: BrokerRig) -> None:
    session = pasted.session()
    try:
        session.publish("device:bme680-sensor", "bme680/readings", reading(61))
        wait_routed(session, 61)
        [message] = session.routed("bme680/readings")
        assert message.source == "device:bme680-sensor"  # the first in the group's order
        assert session.ambiguous == 1
    finally:
        session.close()


def test_a_changed_pasted_configuration_is_the_next_sessions(pasted: BrokerRig) -> None:
    """The group file's client_devices.auth changes between sessions: the next session's
    core and broker both follow it (here: the station may connect now)."""
    shared = json.loads(json.dumps(SHARED))
    shared["deviceGroups"]["definitions"]["sensor"]["selectionRule"] = "thingName: *"
    original = pasted.group_path.read_text()
    pasted_group(pasted.group_path.parent, shared)
    try:
        session = pasted.session()
        try:
            assert session.fabric.auth.can_connect("weather-station")
            station = Raw311(pasted.mosquitto, pasted.pki, "weather-station")
            station.close()
            assert station.connack == b"\x20\x02\x00\x00"
        finally:
            session.close()
    finally:
        pasted.group_path.write_text(original)
