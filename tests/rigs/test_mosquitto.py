"""The broker rig's Mosquitto as a V2 core's broker: what the real broker does with real paho
clients (and raw MQTT 3.1.1 packets) over TLS when client device auth decides (allowed and
denied publishes, subscribes and connects, the rules changing while it runs, the model's
decisions for any topic), refused certificates, client ids tied to certificates, restarts, up
to a device that finds the broker through discovery and connects with the group CA."""

from __future__ import annotations

import ctypes
import errno
import itertools
import logging
import os
import queue
import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.reasoncodes import ReasonCode

from device.greengrass_connect import connect_to_core, discover, mqtt_connector
from fakes.client_devices import SUBACK_FAILURE, ClientDeviceAuth, publish_denied_log
from harness.group import Group, load_group
from harness.rigs import mosquitto as mosquitto_module
from harness.rigs.client_device_rules import AuthRules, client_device_auth
from harness.rigs.discovery import DiscoveryEndpoint
from harness.rigs.mosquitto import NOT_INSTALLED, Mosquitto, find_mosquitto
from harness.rigs.pki import RunPki
from harness.v2.deployment import compile_group
from tests.rigs.raw_mqtt import Raw311

GROUP_FILE = Path(__file__).resolve().parents[2] / "lambdas" / "group.yaml"
TIMEOUT = 5.0  # the longest any single wait may take; they all end on an event much sooner
NOT_AUTHORIZED = 135


@pytest.fixture(scope="module")
def group() -> Group:
    return load_group(GROUP_FILE)


def rules_for(group: Group, pki: RunPki, auth: dict[str, Any] | None = None) -> str:
    """The broker's rules for ``group``'s compiled client device auth (or ``auth``)."""
    model = (client_device_auth(compile_group(group)) if auth is None
             else ClientDeviceAuth.from_configuration(auth))
    return AuthRules.from_auth(model, pki.things, pki.core_thing).text()


def test_find_mosquitto_names_the_package_when_absent(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setattr(mosquitto_module, "_FALLBACK", tmp_path / "mosquitto")
    with pytest.raises(FileNotFoundError) as raised:
        find_mosquitto()
    assert str(raised.value) == NOT_INSTALLED
    assert NOT_INSTALLED == (
        "Mosquitto is not installed: apt-get install mosquitto (Debian/Ubuntu/Raspberry Pi OS)"
    )


# ---------------------------------------------------------------- the broker, for real


def require_mosquitto() -> str:
    try:
        return find_mosquitto()
    except FileNotFoundError as error:
        pytest.skip(str(error))


@pytest.fixture(scope="module")
def pki(group: Group, tmp_path_factory: pytest.TempPathFactory) -> RunPki:
    things = [device.thing for device in group.devices]
    return RunPki.create(tmp_path_factory.mktemp("pki"), things=things, core_thing=group.core.thing)


@pytest.fixture(scope="module")
def broker(
    group: Group, pki: RunPki, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Mosquitto]:
    require_mosquitto()
    with Mosquitto(tmp_path_factory.mktemp("broker"), pki, rules_for(group, pki)) as broker:
        yield broker


class Client:
    """A paho client over TLS with a thing's certificate; every wait ends on its event."""

    def __init__(
        self,
        port: int,
        ca: Path,
        cert: Path | None,
        key: Path | None,
        client_id: str,
        protocol: int = mqtt.MQTTv5,
    ) -> None:
        self.port = port
        self.client_id = client_id
        self.client = mqtt.Client(
            mqtt.CallbackAPIVersion.VERSION2, client_id=client_id, protocol=protocol
        )
        self.client.tls_set(ca_certs=str(ca), certfile=cert and str(cert), keyfile=key and str(key))
        self._changed = threading.Condition()
        self.connacks: list[ReasonCode] = []
        self.disconnects: list[ReasonCode] = []
        self.pubacks: dict[int, ReasonCode] = {}
        self.subacks: dict[int, list[ReasonCode]] = {}
        self.messages: queue.Queue[mqtt.MQTTMessage] = queue.Queue()
        self.client.on_connect = self._record(lambda flags, reason: self.connacks.append(reason))
        self.client.on_disconnect = self._record(
            lambda flags, reason: self.disconnects.append(reason)
        )
        self.client.on_publish = self._record(self.pubacks.__setitem__)
        self.client.on_subscribe = self._record(self.subacks.__setitem__)
        self.client.on_message = lambda client, userdata, message: self.messages.put(message)

    def _record(self, store: Callable[[Any, Any], object]) -> Callable[..., None]:
        """A paho VERSION2 callback ``(client, userdata, a, b, properties)`` calling
        ``store(a, b)`` and waking the waiters."""

        def callback(client: Any, userdata: Any, first: Any, second: Any, props: Any) -> None:
            with self._changed:
                store(first, second)
                self._changed.notify_all()

        return callback

    def wait(self, done: Callable[[], object], what: str) -> None:
        with self._changed:
            assert self._changed.wait_for(done, TIMEOUT), f"no {what} within {TIMEOUT}s"

    def connect(self) -> Client:
        self.client.connect("127.0.0.1", self.port)
        self.client.loop_start()
        self.wait(lambda: self.connacks, "CONNACK")
        assert not self.connacks[0].is_failure, self.connacks[0]
        return self

    def connect_refused(self) -> str:
        """Connect without the network thread (whose retries would outlive the test); what the
        client saw instead of a successful CONNACK."""
        try:
            self.client.connect("127.0.0.1", self.port)
        except (ssl.SSLError, OSError) as error:
            return f"connect raised {error}"
        for _ in range(int(TIMEOUT / 0.05)):  # each loop() waits for the network, 0.05 s at most
            if self.connacks or self.disconnects:
                break
            self.client.loop(timeout=0.05)
        assert not [reason for reason in self.connacks if not reason.is_failure]
        assert self.disconnects or self.connacks, "the connection neither failed nor succeeded"
        return f"disconnected: {self.disconnects}, CONNACK: {self.connacks}"

    def subscribe(self, *topics: str) -> None:
        for topic in topics:
            assert self.subscribe_codes(topic) == [1]

    def subscribe_codes(self, *filters: str) -> list[int]:
        """SUBSCRIBE ``filters`` at QoS 1 in one packet: the SUBACK's code for each."""
        _, mid = self.client.subscribe([(f, 1) for f in filters])
        self.wait(lambda: mid in self.subacks, f"SUBACK for {filters}")
        return [reason.value for reason in self.subacks[mid]]

    def publish(self, topic: str, payload: bytes) -> ReasonCode:
        """Publish with QoS 1; the PUBACK's reason code."""
        info = self.client.publish(topic, payload, qos=1)
        self.wait(lambda: info.mid in self.pubacks, f"PUBACK for {topic}")
        return self.pubacks[info.mid]

    def next_message(self) -> mqtt.MQTTMessage:
        return self.messages.get(timeout=TIMEOUT)

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


class Clients:
    """``clients(broker, thing, ...)`` makes a client whose identity is ``thing`` (connected
    unless ``connect=False``); :meth:`close` closes them all. Close them before their broker
    stops: a client that lost its broker takes up to a second (paho's retry pause) to stop."""

    def __init__(self, pki: RunPki) -> None:
        self.pki = pki
        self.made: list[Client] = []
        self._numbers = itertools.count()

    def __call__(
        self,
        broker: Mosquitto,
        thing: str,
        *,
        protocol: int = mqtt.MQTTv5,
        issuer: RunPki | None = None,
        connect: bool = True,
    ) -> Client:
        cert, key = (issuer or self.pki).helper(thing)  # helper ids: <thing>-<n>
        client_id = f"{thing}-{next(self._numbers)}"
        client = Client(broker.port, self.pki.group_ca, cert, key, client_id, protocol)
        self.made.append(client)
        return client.connect() if connect else client

    def close(self) -> None:
        while self.made:
            self.made.pop().close()


@pytest.fixture
def clients(pki: RunPki) -> Iterator[Clients]:
    made = Clients(pki)
    yield made
    made.close()


PROTOCOLS = [pytest.param(mqtt.MQTTv5, id="v5"), pytest.param(mqtt.MQTTv311, id="v3.1.1")]


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_a_device_publishes_where_client_device_auth_allows(
    broker: Mosquitto, clients: Clients, protocol: int
) -> None:
    core = clients(broker, "weather-station-core", protocol=protocol)
    core.subscribe("bme680/readings")
    sensor = clients(broker, "bme680-sensor", protocol=protocol)
    assert sensor.publish("bme680/readings", b'{"sequence": 1}').value == 0
    message = core.next_message()
    assert (message.topic, message.payload) == ("bme680/readings", b'{"sequence": 1}')


def test_a_denied_publish_gets_not_authorized_over_mqtt5(
    broker: Mosquitto, clients: Clients
) -> None:
    core = clients(broker, "weather-station-core")
    core.subscribe("#")
    sensor = clients(broker, "bme680-sensor")
    station = clients(broker, "weather-station")  # may publish its Shadow requests only
    denied = [
        sensor.publish("hello/world", b"denied"),
        station.publish("bme680/readings", b"denied"),
    ]
    assert [(reason.value, str(reason)) for reason in denied] == [
        (NOT_AUTHORIZED, "Not authorized")
    ] * 2
    assert sensor.publish("bme680/readings", b"allowed").value == 0
    message = core.next_message()  # in order from the broker: nothing denied came before
    assert message.payload == b"allowed"
    assert core.messages.empty()


def test_a_denied_publish_is_dropped_silently_over_mqtt311(
    broker: Mosquitto, clients: Clients
) -> None:
    core = clients(broker, "weather-station-core", protocol=mqtt.MQTTv311)
    core.subscribe("#")
    sensor = clients(broker, "bme680-sensor", protocol=mqtt.MQTTv311)
    assert sensor.publish("hello/world", b"denied").value == 0  # a plain PUBACK
    assert sensor.publish("bme680/readings", b"allowed").value == 0
    assert core.next_message().payload == b"allowed"
    assert core.messages.empty()
    assert any(
        f"Denied PUBLISH from {sensor.client_id} " in line and "'hello/world'" in line
        for line in broker.log_lines()
    )
    # Moquette's line for a QoS 1 publish (publish_denied_log), from the plugin
    assert _logged(broker, "client-device-auth: " + publish_denied_log(
        "hello/world", qos=1, client_id=sensor.client_id))


def test_the_core_may_do_everything_but_needs_aws_besides_hash(
    broker: Mosquitto, clients: Clients
) -> None:
    core = clients(broker, "weather-station-core")
    core.subscribe("#", "$aws/#")  # '#' alone does not see $aws/... topics
    topic = "$aws/things/weather-station/shadow/update"
    assert core.publish(topic, b"{}").value == 0
    assert core.next_message().topic == topic
    assert core.messages.empty()


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_a_client_without_a_certificate_is_refused(
    broker: Mosquitto, pki: RunPki, protocol: int
) -> None:
    client = Client(broker.port, pki.group_ca, None, None, "anonymous", protocol)
    client.connect_refused()
    assert _logged(broker, "peer did not return a certificate")


def test_a_certificate_from_another_ca_is_refused(
    broker: Mosquitto, clients: Clients, tmp_path: Path
) -> None:
    foreign = RunPki.create(tmp_path, things=["bme680-sensor"], core_thing="weather-station-core")
    client = clients(broker, "bme680-sensor", issuer=foreign, connect=False)
    client.connect_refused()
    assert _logged(broker, "certificate verify failed")


def _logged(broker: Mosquitto, text: str, within: float = 5.0) -> bool:
    """Whether the broker's log has a line with ``text``, waiting up to ``within`` s: the
    broker may write it a moment after the client has seen the refusal."""
    deadline = time.monotonic() + within
    while not any(text in line for line in broker.log_lines()):
        if time.monotonic() > deadline:
            return False
        threading.Event().wait(0.02)
    return True


class EventOnLog(logging.Handler):
    """Sets an event when a log record's message contains ``text``."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.text = text
        self.event = threading.Event()

    def emit(self, record: logging.LogRecord) -> None:
        if self.text in record.getMessage():
            self.event.set()


def test_a_restart_keeps_the_port_and_the_device_reconnects(
    group: Group, pki: RunPki, clients: Clients, tmp_path: Path
) -> None:
    require_mosquitto()
    log = logging.getLogger("tests.rigs.reconnect")
    log.setLevel(logging.INFO)
    reconnected = EventOnLog("reconnected to")
    log.addHandler(reconnected)
    with Mosquitto(tmp_path, pki, rules_for(group, pki)) as broker:
        port = broker.port
        connect = mqtt_connector("bme680-sensor", *map(str, pki.client("bme680-sensor")), log=log)
        device = connect(broker.host, port, str(pki.group_ca))
        try:
            broker.restart()
            assert broker.running
            assert broker.port == port
            # paho's own reconnection, after its one-second minimum delay
            assert reconnected.event.wait(TIMEOUT)
            core = clients(broker, "weather-station-core")
            core.subscribe("bme680/readings")
            device.publish("bme680/readings", b"after the restart")
            assert core.next_message().payload == b"after the restart"
        finally:
            clients.close()
            device.close()
            log.removeHandler(reconnected)
    assert not broker.running
    assert sum(" running" in line for line in broker.log_lines()) == 2


def test_a_broker_that_cannot_listen_reports_its_log(pki: RunPki, tmp_path: Path) -> None:
    require_mosquitto()
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        broker = Mosquitto(tmp_path, pki, rules_for(load_group(GROUP_FILE), pki),
                           port=taken.getsockname()[1])
        with pytest.raises(RuntimeError, match="exited with status") as raised:
            broker.start()
    assert "Error: Address already in use" in str(raised.value)
    assert not broker.running


def test_a_device_discovers_the_broker_and_its_readings_reach_the_core(
    broker: Mosquitto, pki: RunPki, clients: Clients, tmp_path: Path
) -> None:
    """The whole path: discovery over mutual TLS, the group CA written from the reply, the
    first connectivity entry refused (nothing listens there), the broker accepted."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        dead_port = probe.getsockname()[1]
    cert, key = map(str, pki.client("bme680-sensor"))
    with DiscoveryEndpoint(
        pki,
        group_id="weather-station-group",
        core_thing_arn="arn:aws:iot:us-east-1:123456789012:thing/weather-station-core",
        connectivity=[("127.0.0.1", dead_port), (broker.host, broker.port)],
    ) as endpoint:
        info = discover(
            endpoint.host, "bme680-sensor", cert, key, str(pki.root_ca), port=endpoint.port,
            timeout=TIMEOUT,
        )
    core = clients(broker, "weather-station-core")
    core.subscribe("bme680/readings")
    connected = connect_to_core(
        info, mqtt_connector("bme680-sensor", cert, key, timeout=TIMEOUT), tmp_path / "ca"
    )
    try:
        assert connected.connectivity.port == broker.port
        assert connected.ca_path.read_text().strip() == pki.group_ca_pem.strip()
        connected.client.publish("bme680/readings", b'{"sequence": 7}')
        assert core.next_message().payload == b'{"sequence": 7}'
    finally:
        connected.client.close()


# ---------------------------------------------------------------- client ids and certificates


def thing_client(broker: Mosquitto, pki: RunPki, thing: str, client_id: str,
                 protocol: int = mqtt.MQTTv5) -> Client:
    """A client with ``thing``'s own certificate (as a device program has) and ``client_id``."""
    cert, key = pki.client(thing)
    return Client(broker.port, pki.group_ca, cert, key, client_id, protocol)


@pytest.mark.parametrize("protocol", PROTOCOLS)
@pytest.mark.parametrize("taken", ["weather-station", "weather-station-core"])
def test_a_certificate_cannot_take_another_things_client_id(
    broker: Mosquitto, pki: RunPki, protocol: int, taken: str
) -> None:
    """On a V2 core the client id must be the certificate's thing name (CONNACK refusal);
    the connection that legitimately holds the id is not knocked off."""
    holder = thing_client(broker, pki, taken, taken, protocol).connect()
    topic = f"$aws/things/{taken}/shadow/get"  # the holder may publish it ...
    try:
        holder.subscribe(f"$aws/things/{taken}/shadow/#")  # ... and subscribe to this filter
        intruder = thing_client(broker, pki, "bme680-sensor", taken, protocol)
        intruder.connect_refused()
        assert [reason.value for reason in intruder.connacks] == [NOT_AUTHORIZED]
        assert _logged(broker, f"client id '{taken}' refused for the certificate of thing "
                               "'bme680-sensor'")
        assert holder.publish(topic, b"still here").value == 0
        assert holder.next_message().payload == b"still here"
        assert holder.disconnects == []
        assert not any(f"Client {taken} already connected" in line
                       for line in broker.log_lines())
    finally:
        holder.close()


@pytest.mark.parametrize("client_id", ["bme680-sensor-2", "BME680-SENSOR", "weather-station"])
def test_a_device_connects_only_with_its_thing_name(
    broker: Mosquitto, pki: RunPki, client_id: str
) -> None:
    thing_client(broker, pki, "bme680-sensor", client_id).connect_refused()
    device = thing_client(broker, pki, "bme680-sensor", "bme680-sensor").connect()
    device.close()


def raw_connack(broker: Mosquitto, pki: RunPki, thing: str, client_id: str) -> bytes:
    """The broker's answer to an MQTT 3.1.1 CONNECT (clean session) with ``thing``'s
    certificate: the four CONNACK bytes, or b"" when the connection closed first."""
    connection = Raw311(broker, pki, thing, client_id)
    connection.close()
    return connection.connack


def test_the_connack_codes_on_the_wire(broker: Mosquitto, pki: RunPki) -> None:
    """MQTT 3.1.1: 0 for the thing name; 5 (not authorized) for another client id, where
    Greengrass V2 answers 4 (Mosquitto cannot send 4 from an auth plugin); 2 (identifier
    rejected) for an empty client id, as Greengrass V2 answers."""
    assert raw_connack(broker, pki, "bme680-sensor", "bme680-sensor") == b"\x20\x02\x00\x00"
    assert raw_connack(broker, pki, "bme680-sensor", "weather-station") == b"\x20\x02\x00\x05"
    assert raw_connack(broker, pki, "bme680-sensor", "") == b"\x20\x02\x00\x02"


@pytest.mark.parametrize(
    ("thing", "client_id", "accepted"),
    [
        ("weather-station-core", "weather-station-core-bridge-1", True),
        ("bme680-sensor", "bme680-sensor-harness", True),
        ("bme680-sensor", "bme680-sensor@shadow", True),
        ("bme680-sensor", "bme680-sensor", True),  # its own thing name, as the thing may
        ("weather-station-core", "bme680-sensor", False),
        ("weather-station", "weather-station-core-bridge-1", False),  # the core's, not its
        ("weather-station", "weather-station-core", False),
        ("bme680-sensor", "weather-station-listener", False),
        ("bme680-sensor", "bme680-sensorX", False),
        ("bme680-sensor", "bme680-sensor-", False),  # nothing after the separator
    ],
)
def test_helper_certificates_use_their_own_client_ids(
    broker: Mosquitto, pki: RunPki, thing: str, client_id: str, accepted: bool
) -> None:
    """The harness's helper certificates (same CN, their own OU) may connect alongside the
    thing's own connection, under ids that belong to their thing and are no other thing's
    name (or as the thing itself)."""
    cert, key = pki.helper(thing)
    client = Client(broker.port, pki.group_ca, cert, key, client_id)
    if accepted:
        client.connect().close()
    else:
        client.connect_refused()
        assert [reason.value for reason in client.connacks] == [NOT_AUTHORIZED]


def test_a_restart_keeps_retained_messages_and_a_reset_drops_them(
    group: Group, pki: RunPki, clients: Clients, tmp_path: Path
) -> None:
    """Persistence is on so that a core restart keeps sessions and messages; a reset (a new
    test run) starts with none."""
    require_mosquitto()
    with Mosquitto(tmp_path, pki, rules_for(group, pki)) as broker:
        core = clients(broker, "weather-station-core")
        core.client.publish("bme680/readings", b"kept", qos=1, retain=True).wait_for_publish(
            TIMEOUT
        )
        clients.close()
        broker.restart()
        after_restart = clients(broker, "weather-station-core")
        after_restart.subscribe("bme680/readings")
        message = after_restart.next_message()
        assert (message.payload, message.retain) == (b"kept", True)
        clients.close()
        broker.reset()
        after_reset = clients(broker, "weather-station-core")
        after_reset.subscribe("bme680/readings")
        assert after_reset.publish("bme680/readings", b"marker").value == 0
        assert after_reset.next_message().payload == b"marker"  # nothing retained came first
        clients.close()


# ---------------------------------------------------------------- client device auth

#: A pasted client device auth configuration with what the compiled ones never have: globs,
#: the thing name variable, filters with wildcards, a thing allowed to connect only.
PASTED: dict[str, Any] = {"deviceGroups": {
    "formatVersion": "2021-03-05",
    "definitions": {
        "sensors": {"selectionRule": "thingName: bme680-*", "policyName": "sensors"},
        "station": {"selectionRule": "thingName: weather-station", "policyName": "station"},
    },
    "policies": {
        "sensors": {
            "connect": {"operations": ["mqtt:connect"],
                        "resources": ["mqtt:clientId:${iot:Connection.Thing.ThingName}"]},
            "publish": {"operations": ["mqtt:publish"],
                        "resources": ["mqtt:topic:bme680/*", "mqtt:topic:exact/topic",
                                      "mqtt:topic:$aws/things/${iot:Connection.Thing.ThingName}"
                                      "/shadow/*", "mqtt:topic:café/*"]},
            "subscribe": {"operations": ["mqtt:subscribe"],
                          "resources": ["mqtt:topicfilter:bme680/+/status",
                                        "mqtt:topicfilter:glob/*", "mqtt:topicfilter:*/end"]},
        },
        # everything but connect: mqtt:clientId:... matches none of its resources
        "station": {"all": {"operations": ["mqtt:*"],
                            "resources": ["mqtt:topic:*", "mqtt:topicfilter:*"]}},
    },
}}
#: topic names to publish and filters to subscribe, allowed or not by PASTED
TOPICS = ["bme680/readings", "bme680/a/b", "bme680", "bme680/é", "bme680/°", "exact/topic",
          "exact/topic/x", "$aws/things/bme680-sensor/shadow/update",
          "$aws/things/weather-station/shadow/update", "café/x", "café", "other"]
FILTERS = ["bme680/+/status", "bme680/x/status", "bme680/#", "glob/#", "glob/+", "glob",
           "glob/é", "glob/°", "a/end", "+/end", "end", "#", "$aws/#"]


@pytest.fixture(scope="module")
def pasted_broker(
    group: Group, pki: RunPki, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Mosquitto]:
    require_mosquitto()
    with Mosquitto(tmp_path_factory.mktemp("pasted"), pki, rules_for(group, pki, PASTED)) as b:
        yield b


def test_the_broker_decides_every_publish_and_subscribe_as_the_model(
    pasted_broker: Mosquitto, clients: Clients
) -> None:
    """Over MQTT 5 each PUBACK and each SUBACK code says the decision: the broker's are the
    CDA model's (globs, the thing name variable, filters compared as written, CDA's
    character check), and only what was allowed reaches a subscriber."""
    model = ClientDeviceAuth.from_configuration(PASTED)
    core = clients(pasted_broker, "weather-station-core")
    core.subscribe("#", "$aws/#")
    sensor = clients(pasted_broker, "bme680-sensor")
    published = {topic: sensor.publish(topic, topic.encode()).value for topic in TOPICS}
    expected = {topic: 0 if model.can_publish("bme680-sensor", topic) else NOT_AUTHORIZED
                for topic in TOPICS}
    assert published == expected
    assert set(published.values()) == {0, NOT_AUTHORIZED}
    delivered = [core.next_message().topic for _ in range(list(published.values()).count(0))]
    assert delivered == [topic for topic in TOPICS if expected[topic] == 0]
    assert core.messages.empty()
    granted = sensor.subscribe_codes(*FILTERS)
    assert granted == [1 if model.can_subscribe("bme680-sensor", f) else NOT_AUTHORIZED
                       for f in FILTERS]
    assert set(granted) == {1, NOT_AUTHORIZED}


def test_a_denied_subscribe_gets_0x80_over_mqtt311(broker: Mosquitto, pki: RunPki) -> None:
    """The station's compiled policy names one filter: that one is granted, a narrower one
    (MQTT would cover it) and '#' get 0x80, as on the core; the connection stays open."""
    station = Raw311(broker, pki, "weather-station")
    try:
        assert station.connack == b"\x20\x02\x00\x00"
        assert station.subscribe(1, "$aws/things/weather-station/shadow/#",
                                 "$aws/things/weather-station/shadow/get/accepted", "#") \
            == [0x01, SUBACK_FAILURE, SUBACK_FAILURE]
        assert station.still_open()
    finally:
        station.close()
    assert _logged(broker, "client-device-auth: Client does not have read permissions on the "
                           "topic username: weather-station, topic: #")


def test_a_denied_subscribe_gets_not_authorized_over_mqtt5(
    broker: Mosquitto, clients: Clients
) -> None:
    station = clients(broker, "weather-station")
    assert station.subscribe_codes("$aws/things/weather-station/shadow/#", "#") \
        == [1, NOT_AUTHORIZED]


def test_a_denied_qos1_publish_still_gets_a_puback_over_mqtt311(
    broker: Mosquitto, pki: RunPki, clients: Clients
) -> None:
    """The difference from the core: CDA drops a denied QoS 1 publish without a PUBACK (and a
    QoS 2 one without a PUBREC); Mosquitto acknowledges both. As on the core the message is
    dropped, nothing receives it, and the connection stays open."""
    core = clients(broker, "weather-station-core")
    core.subscribe("#")
    sensor = Raw311(broker, pki, "bme680-sensor")
    try:
        sensor.publish("hello/world", b"denied", qos=1, mid=7)
        assert sensor.read() == b"\x40\x02\x00\x07"  # PUBACK (CDA: none)
        sensor.publish("hello/world", b"denied", qos=2, mid=8)
        assert sensor.read() == b"\x50\x02\x00\x08"  # PUBREC (CDA: none)
        sensor.publish("hello/world", b"denied", qos=0)
        assert sensor.still_open()
        sensor.publish("bme680/readings", b"allowed", qos=1, mid=9)
        assert sensor.read() == b"\x40\x02\x00\x09"
    finally:
        sensor.close()
    assert core.next_message().payload == b"allowed"
    assert core.messages.empty()
    for qos in (0, 1, 2):
        assert _logged(broker, "client-device-auth: " + publish_denied_log(
            "hello/world", qos=qos, client_id="bme680-sensor"))


@pytest.mark.parametrize("helper", [False, True], ids=["thing", "helper"])
def test_a_thing_whose_policy_denies_connect_is_refused(
    pasted_broker: Mosquitto, pki: RunPki, helper: bool
) -> None:
    """weather-station's pasted policy allows every publish and subscribe but not
    mqtt:connect: CONNACK 5 (CDA: 4), then the connection is closed. Its helper certificate is
    held to the same policy."""
    assert not ClientDeviceAuth.from_configuration(PASTED).can_connect("weather-station")
    client_id = "weather-station-harness" if helper else "weather-station"
    station = Raw311(pasted_broker, pki, "weather-station", client_id, helper=helper)
    try:
        assert station.connack == b"\x20\x02\x00\x05"
        assert station.read() is None  # closed
    finally:
        station.close()
    assert _logged(pasted_broker, "client-device-auth: Device isn't authorized to connect "
                                  f"(thing 'weather-station', client id '{client_id}'")
    sensor = Raw311(pasted_broker, pki, "bme680-sensor")  # its policy allows it
    sensor.close()
    assert sensor.connack == b"\x20\x02\x00\x00"


def test_new_rules_apply_to_the_next_request_without_a_reconnect(
    group: Group, pki: RunPki, clients: Clients, tmp_path: Path
) -> None:
    """As CDA re-reads its policies on every request: the broker's plugin reads the rules
    file again when it changed; a file it cannot read keeps the rules it has."""
    require_mosquitto()
    with Mosquitto(tmp_path, pki, rules_for(group, pki)) as broker:
        clients(broker, "weather-station-core").subscribe("#")  # PUBACK 0, not "no subscribers"
        sensor = clients(broker, "bme680-sensor")
        assert sensor.publish("bme680/status", b"x").value == NOT_AUTHORIZED
        assert sensor.subscribe_codes("bme680/+/status") == [NOT_AUTHORIZED]
        broker.set_rules(rules_for(group, pki, PASTED))
        assert broker.rules_path.read_text() == broker.rules
        assert sensor.publish("bme680/status", b"x").value == 0
        assert sensor.subscribe_codes("bme680/+/status") == [1]
        broker.set_rules("not rules\n")
        assert sensor.publish("bme680/status", b"x").value == 0  # the pasted rules still
        assert _logged(broker, "client-device-auth: cannot read the rules in "
                               f"{broker.rules_path}; keeping the previous ones")
        broker.set_rules(rules_for(group, pki))
        assert sensor.publish("bme680/status", b"x").value == NOT_AUTHORIZED
        clients.close()


def test_a_broker_without_readable_rules_does_not_start(pki: RunPki, tmp_path: Path) -> None:
    require_mosquitto()
    broker = Mosquitto(tmp_path, pki, "thing x 1 0\n")  # no character ranges: refused
    with pytest.raises(RuntimeError, match="exited with status") as raised:
        broker.start()
    assert "cannot read the rules in" in str(raised.value)
    assert not broker.running


# ---------------------------------------------------------------- Nagle's algorithm off


def _peer_socket_option(pid: int, peer_port: int, level: int, option: int) -> int:
    """``getsockopt(level, option)`` on process ``pid``'s TCP socket whose peer port is
    ``peer_port``: each of its socket descriptors is copied in with ``pidfd_getfd`` (Linux
    5.6+, allowed on a child process) and asked for its peer."""
    libc = ctypes.CDLL(None, use_errno=True)
    pidfd_getfd = 438  # the same number on every architecture (a syscall newer than 5.0)
    pidfd = os.pidfd_open(pid)
    try:
        for name in os.listdir(f"/proc/{pid}/fd"):
            try:
                if not os.readlink(f"/proc/{pid}/fd/{name}").startswith("socket:"):
                    continue
            except FileNotFoundError:
                continue
            copied = libc.syscall(pidfd_getfd, pidfd, int(name), 0)
            if copied < 0:
                error = ctypes.get_errno()
                if error == errno.EBADF:  # closed meanwhile
                    continue
                pytest.skip(f"pidfd_getfd is not allowed here: {os.strerror(error)}")
            with socket.socket(fileno=copied) as sock:
                if sock.type != socket.SOCK_STREAM or sock.family != socket.AF_INET:
                    continue
                try:
                    if sock.getpeername()[1] == peer_port:
                        return sock.getsockopt(level, option)
                except OSError:  # the listening socket has no peer
                    continue
    finally:
        os.close(pidfd)
    raise AssertionError(f"process {pid} has no TCP connection from port {peer_port}")


def test_the_broker_and_the_harness_clients_send_without_nagle_delays(
    broker: Mosquitto, pki: RunPki
) -> None:
    """TCP_NODELAY on the broker's side of a client's connection (``set_tcp_nodelay``, as
    the core's Moquette has it: Netty's ``tcp_nodelay`` defaults to true) and on the
    harness's own clients (paho 2.2 leaves Nagle on; ``on_socket_open`` sets it at each
    connection)."""
    from harness.rigs.mqtt_client import MqttIdentity, close_client, connect_client

    cert, key = pki.helper("weather-station-core")
    identity = MqttIdentity(thing="weather-station-core", cert=cert, key=key, ca=pki.group_ca,
                            host=broker.host, port=broker.port)
    client = connect_client(identity, client_id="weather-station-core-nagle")
    try:
        sock = client.socket()
        assert sock is not None
        assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) != 0
        local_port = sock.getsockname()[1]
        assert broker.pid is not None
        assert _peer_socket_option(broker.pid, local_port, socket.IPPROTO_TCP,
                                   socket.TCP_NODELAY) != 0
    finally:
        close_client(client)
