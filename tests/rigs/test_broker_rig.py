"""The broker rig as sessions use it: the core's bridge keeps its client id against other
certificates, and a session never receives what an earlier one left retained."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from device.readings import Measurement, encode, reading_message
from harness.rigs.base import RigUnavailable
from harness.rigs.broker import BrokerRig, BrokerSession
from harness.rigs.mqtt_client import MqttError, MqttIdentity, close_client, connect_client

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

