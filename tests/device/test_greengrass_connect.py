"""Discovery parsing, the discovery request, the group CA file and the connection fallback.

No network: the HTTPS connection and the MQTT connector are small fakes.
"""

from __future__ import annotations

import copy
import datetime
import json
import ssl
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.reasoncodes import ReasonCode

from device.greengrass_connect import (
    CoreConnectionError,
    DiscoveryError,
    DiscoveryRequestError,
    MqttPublisher,
    PublishError,
    connect_to_core,
    discovery_path,
    mqtt_connector,
    parse_discovery,
    request_discovery,
    write_group_ca,
)

CORE_ARN = "arn:aws:iot:us-east-1:123456789012:thing/weather-station-core"
GROUP_ID = "5c6a1d2e-7f3b-4c1a-9e0d-2b8f6a4c3d10"


def make_ca(common_name: str) -> str:
    """A real self-signed CA certificate, PEM, as a group CA would be."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    return certificate.public_bytes(serialization.Encoding.PEM).decode("ascii")


@pytest.fixture(scope="module")
def group_ca() -> str:
    return make_ca("Greengrass group CA")


def sample_reply(ca: str) -> dict[str, Any]:
    """A discovery reply as the service describes it: one group, its core, four ways to it."""
    return {
        "GGGroups": [
            {
                "GGGroupId": GROUP_ID,
                "Cores": [
                    {
                        "thingArn": CORE_ARN,
                        "Connectivity": [
                            {
                                "Id": "AUTOIP_192.168.1.20_0",
                                "HostAddress": "192.168.1.20",
                                "PortNumber": 8883,
                                "Metadata": "",
                            },
                            {
                                "Id": "AUTOIP_127.0.0.1_1",
                                "HostAddress": "127.0.0.1",
                                "PortNumber": 8883,
                                "Metadata": "",
                            },
                            {
                                "Id": "AUTOIP_::1_2",
                                "HostAddress": "::1",
                                "PortNumber": 8883,
                                "Metadata": "",
                            },
                            {
                                "Id": "station-dns",
                                "HostAddress": "weather-station.local",
                                "PortNumber": 443,
                                "Metadata": "mDNS name of the Pi",
                            },
                        ],
                    }
                ],
                "CAs": [ca],
            }
        ]
    }


# --- the parser ---------------------------------------------------------------------------


def test_parses_the_sample(group_ca: str) -> None:
    info = parse_discovery(json.dumps(sample_reply(group_ca)).encode())
    (group,) = info.groups
    assert group.group_id == GROUP_ID
    assert group.cas == (group_ca,)
    (core,) = group.cores
    assert core.thing_arn == CORE_ARN
    assert [(c.id, c.host, c.port) for c in core.connectivity] == [
        ("AUTOIP_192.168.1.20_0", "192.168.1.20", 8883),
        ("AUTOIP_127.0.0.1_1", "127.0.0.1", 8883),
        ("AUTOIP_::1_2", "::1", 8883),
        ("station-dns", "weather-station.local", 443),
    ]
    assert core.connectivity[3].metadata == "mDNS name of the Pi"
    assert [entry.id for _, _, entry in info.candidates()] == [c.id for c in core.connectivity]


def test_accepts_text_and_objects_and_optional_metadata(group_ca: str) -> None:
    reply = sample_reply(group_ca)
    del reply["GGGroups"][0]["Cores"][0]["Connectivity"][0]["Metadata"]
    reply["GGGroups"][0]["Cores"][0]["Connectivity"][1]["Metadata"] = None
    from_object = parse_discovery(reply)
    assert parse_discovery(json.dumps(reply)) == from_object
    assert from_object.groups[0].cores[0].connectivity[0].metadata == ""
    assert from_object.groups[0].cores[0].connectivity[1].metadata == ""


def _mutated(ca: str, path: tuple[Any, ...], value: Any = ...) -> dict[str, Any]:
    """The sample with the item at ``path`` replaced by ``value`` (removed for ``...``)."""
    reply = copy.deepcopy(sample_reply(ca))
    parent = reply
    for key in path[:-1]:
        parent = parent[key]
    if value is ...:
        del parent[path[-1]]
    else:
        parent[path[-1]] = value
    return reply


G0 = ("GGGroups", 0)
C0 = (*G0, "Cores", 0)
E1 = (*C0, "Connectivity", 1)
BAD_SHAPES = [
    (("GGGroups",), ..., "reply.GGGroups is missing"),
    (("GGGroups",), {}, "reply.GGGroups must be a list"),
    (("GGGroups",), [], "reply.GGGroups is empty"),
    (G0, "group", "reply.GGGroups[0] must be an object"),
    ((*G0, "GGGroupId"), ..., "reply.GGGroups[0].GGGroupId is missing"),
    ((*G0, "GGGroupId"), "", "reply.GGGroups[0].GGGroupId must be a non-empty string"),
    ((*G0, "Cores"), ..., "reply.GGGroups[0].Cores is missing"),
    ((*G0, "Cores"), [], "no core connectivity entry"),
    ((*G0, "CAs"), ..., "reply.GGGroups[0].CAs is missing"),
    ((*G0, "CAs"), [], "reply.GGGroups[0].CAs is empty"),
    ((*G0, "CAs", 0), "not a certificate", "reply.GGGroups[0].CAs[0] is not a PEM certificate"),
    ((*C0, "thingArn"), ..., "reply.GGGroups[0].Cores[0].thingArn is missing"),
    ((*C0, "Connectivity"), ..., "reply.GGGroups[0].Cores[0].Connectivity is missing"),
    ((*C0, "Connectivity"), "192.168.1.20", "Cores[0].Connectivity must be a list"),
    ((*C0, "Connectivity"), [], "no core connectivity entry"),
    (E1, None, "reply.GGGroups[0].Cores[0].Connectivity[1] must be an object"),
    ((*E1, "Id"), ..., "reply.GGGroups[0].Cores[0].Connectivity[1].Id is missing"),
    ((*E1, "HostAddress"), ..., "Connectivity[1].HostAddress is missing"),
    ((*E1, "HostAddress"), " ", "Connectivity[1].HostAddress must be a non-empty string"),
    ((*E1, "PortNumber"), ..., "reply.GGGroups[0].Cores[0].Connectivity[1].PortNumber is missing"),
    ((*E1, "PortNumber"), "8883", "Connectivity[1].PortNumber must be a port number"),
    ((*E1, "PortNumber"), True, "Connectivity[1].PortNumber must be a port number"),
    ((*E1, "PortNumber"), 0, "Connectivity[1].PortNumber must be a port number"),
    ((*E1, "PortNumber"), 65536, "Connectivity[1].PortNumber must be a port number"),
]


@pytest.mark.parametrize(("path", "value", "message"), BAD_SHAPES)
def test_each_bad_shape_names_the_field(
    group_ca: str, path: tuple[Any, ...], value: Any, message: str
) -> None:
    with pytest.raises(DiscoveryError) as caught:
        parse_discovery(_mutated(group_ca, path, value))
    assert message in str(caught.value)


@pytest.mark.parametrize(
    ("reply", "message"),
    [
        (b"\xff\xfe", "not UTF-8"),
        ("<html>Forbidden</html>", "not JSON"),
        ("[]", "reply must be an object"),
    ],
)
def test_replies_that_are_not_json_objects(reply: Any, message: str) -> None:
    with pytest.raises(DiscoveryError, match=message):
        parse_discovery(reply)


# --- the request --------------------------------------------------------------------------


class FakeResponse:
    def __init__(self, status: int, reason: str, body: bytes) -> None:
        self.status, self.reason, self._body = status, reason, body

    def read(self) -> bytes:
        return self._body


class FakeHTTPS:
    """Stands in for http.client.HTTPSConnection; remembers what it was asked."""

    def __init__(self, response: FakeResponse | Exception) -> None:
        self.response = response
        self.requests: list[tuple[str, str, dict[str, str]]] = []
        self.closed = False

    def __call__(self, host: str, port: int, context: Any, timeout: float) -> FakeHTTPS:
        self.host, self.port, self.context, self.timeout = host, port, context, timeout
        return self

    def request(self, method: str, path: str, headers: dict[str, str]) -> None:
        self.requests.append((method, path, headers))

    def getresponse(self) -> FakeResponse:
        if isinstance(self.response, Exception):
            raise self.response
        return self.response

    def close(self) -> None:
        self.closed = True


ENDPOINT = "greengrass-ats.iot.us-east-1.amazonaws.com"


def test_request_goes_to_the_discovery_path_on_8443(group_ca: str) -> None:
    body = json.dumps(sample_reply(group_ca)).encode()
    connection = FakeHTTPS(FakeResponse(200, "OK", body))
    context = ssl.create_default_context()
    got = request_discovery(ENDPOINT, "bme680-sensor", context, connection_factory=connection)
    assert got == body
    assert (connection.host, connection.port, connection.context) == (ENDPOINT, 8443, context)
    assert connection.requests == [
        ("GET", "/greengrass/discover/thing/bme680-sensor", {"Accept": "application/json"})
    ]
    assert connection.closed


def test_thing_names_are_quoted_in_the_path() -> None:
    assert discovery_path("my thing/1") == "/greengrass/discover/thing/my%20thing%2F1"
    with pytest.raises(ValueError):
        discovery_path("")


@pytest.mark.parametrize(
    ("status", "hint"),
    [(403, "greengrass:Discover"), (404, "not associated"), (500, "HTTP 500")],
)
def test_http_errors_are_explained(status: int, hint: str) -> None:
    connection = FakeHTTPS(FakeResponse(status, "Error", b'{"message": "nope"}'))
    with pytest.raises(DiscoveryRequestError) as caught:
        request_discovery(ENDPOINT, "bme680-sensor", ssl.create_default_context(),
                          connection_factory=connection)  # fmt: skip
    assert caught.value.status == status
    assert hint in str(caught.value) and "nope" in str(caught.value)
    assert connection.closed


def test_tls_and_network_errors_are_discovery_request_errors() -> None:
    connection = FakeHTTPS(ssl.SSLError(1, "CERTIFICATE_VERIFY_FAILED"))
    with pytest.raises(DiscoveryRequestError, match="CERTIFICATE_VERIFY_FAILED"):
        request_discovery(ENDPOINT, "bme680-sensor", ssl.create_default_context(),
                          connection_factory=connection)  # fmt: skip
    assert connection.closed


# --- the group CA and the fallback order ----------------------------------------------------


def test_group_ca_file_is_usable_by_ssl(tmp_path: Path, group_ca: str) -> None:
    group = parse_discovery(sample_reply(group_ca)).groups[0]
    path = write_group_ca(group, tmp_path / "state")
    assert path.parent == tmp_path / "state"
    assert path.read_text() == group_ca.strip() + "\n"
    context = ssl.create_default_context(cafile=str(path))
    assert context.cert_store_stats()["x509_ca"] == 1
    assert [p.name for p in path.parent.iterdir()] == [path.name]  # no temporary left


class Connector:
    """A fake ``(host, port, ca_path) -> client`` that refuses the first ``refuse`` calls."""

    def __init__(self, refuse: int) -> None:
        self.refuse = refuse
        self.calls: list[tuple[str, int, str]] = []

    def __call__(self, host: str, port: int, ca_path: str) -> str:
        self.calls.append((host, port, ca_path))
        if len(self.calls) <= self.refuse:
            raise ConnectionRefusedError(f"[Errno 111] Connection refused ({host})")
        return f"client@{host}:{port}"


def test_entries_are_tried_in_order_until_one_connects(tmp_path: Path, group_ca: str) -> None:
    info = parse_discovery(sample_reply(group_ca))
    connector = Connector(refuse=2)
    connected = connect_to_core(info, connector, tmp_path)
    assert [(host, port) for host, port, _ in connector.calls] == [
        ("192.168.1.20", 8883),
        ("127.0.0.1", 8883),
        ("::1", 8883),
    ]
    assert connected.client == "client@::1:8883"
    assert connected.connectivity.id == "AUTOIP_::1_2"
    assert connected.core.thing_arn == CORE_ARN
    assert {ca for _, _, ca in connector.calls} == {str(connected.ca_path)}
    assert connected.ca_path.read_text().strip() == group_ca.strip()


def test_when_every_entry_fails_the_error_lists_them_all(tmp_path: Path, group_ca: str) -> None:
    info = parse_discovery(sample_reply(group_ca))
    with pytest.raises(CoreConnectionError) as caught:
        connect_to_core(info, Connector(refuse=99), tmp_path)
    assert [entry.host for entry, _ in caught.value.attempts] == [
        "192.168.1.20",
        "127.0.0.1",
        "::1",
        "weather-station.local",
    ]
    assert "weather-station.local:443" in str(caught.value)


def test_each_group_is_tried_with_its_own_ca(tmp_path: Path, group_ca: str) -> None:
    other_ca = make_ca("second group CA")
    reply = sample_reply(group_ca)
    second = copy.deepcopy(reply["GGGroups"][0])
    second["GGGroupId"] = "second-group"
    second["CAs"] = [other_ca]
    second["Cores"][0]["Connectivity"] = [
        {"Id": "b", "HostAddress": "10.0.0.9", "PortNumber": 8883, "Metadata": ""}
    ]
    reply["GGGroups"].append(second)
    connector = Connector(refuse=4)  # every entry of the first group fails
    connected = connect_to_core(parse_discovery(reply), connector, tmp_path)
    assert connected.group.group_id == "second-group"
    assert connector.calls[-1][0] == "10.0.0.9"
    assert Path(connector.calls[-1][2]).read_text().strip() == other_ca.strip()
    assert Path(connector.calls[0][2]).read_text().strip() == group_ca.strip()


# --- the MQTT publisher ---------------------------------------------------------------------


class FakePahoClient:
    def __init__(self, rc: int) -> None:
        self.rc = rc
        self.published: list[tuple[str, bytes, int]] = []
        self.calls: list[str] = []

    def publish(self, topic: str, payload: bytes, qos: int) -> mqtt.MQTTMessageInfo:
        self.published.append((topic, payload, qos))
        info = mqtt.MQTTMessageInfo(len(self.published))
        info.rc = self.rc
        return info

    def disconnect(self) -> None:
        self.calls.append("disconnect")

    def loop_stop(self) -> None:
        self.calls.append("loop_stop")


def test_publisher_sends_with_qos_1() -> None:
    client = FakePahoClient(mqtt.MQTT_ERR_SUCCESS)
    MqttPublisher(client).publish("bme680/readings", b"{}")
    assert client.published == [("bme680/readings", b"{}", 1)]


def test_publisher_raises_when_paho_did_not_send() -> None:
    client = FakePahoClient(mqtt.MQTT_ERR_NO_CONN)
    with pytest.raises(PublishError, match=r"not currently connected.*after the reconnection"):
        MqttPublisher(client).publish("bme680/readings", b"{}")
    client.rc = mqtt.MQTT_ERR_QUEUE_SIZE
    with pytest.raises(PublishError, match="queue full"):
        MqttPublisher(client).publish("bme680/readings", b"{}")


def test_publisher_close_disconnects_and_stops_the_network_thread() -> None:
    client = FakePahoClient(mqtt.MQTT_ERR_SUCCESS)
    MqttPublisher(client).close()
    assert client.calls == ["disconnect", "loop_stop"]


SUCCESS = ReasonCode(PacketTypes.CONNACK, "Success")


class FakeBroker:
    """Makes stand-ins for paho's Client; they get CONNACK ``reason`` when their loop starts."""

    def __init__(self, reason: ReasonCode | None = SUCCESS) -> None:
        self.reason = reason  # None: the broker never answers
        self.clients: list[FakeBrokerClient] = []

    def client(self, api: mqtt.CallbackAPIVersion, client_id: str) -> FakeBrokerClient:
        self.clients.append(FakeBrokerClient(self, api, client_id))
        return self.clients[-1]


class FakeBrokerClient:
    def __init__(self, broker: FakeBroker, api: mqtt.CallbackAPIVersion, client_id: str) -> None:
        self.broker, self.api, self.client_id = broker, api, client_id
        self.calls: list[tuple[Any, ...]] = []
        self.on_connect: Any = None
        self.on_disconnect: Any = None

    def tls_set(self, **options: Any) -> None:
        self.calls.append(("tls_set", options))

    def max_queued_messages_set(self, count: int) -> None:
        self.calls.append(("max_queued", count))

    def connect(self, host: str, port: int, keepalive: int) -> None:
        self.calls.append(("connect", host, port, keepalive))

    def loop_start(self) -> None:
        self.calls.append(("loop_start",))
        if self.broker.reason is not None:
            self.on_connect(self, None, None, self.broker.reason, None)

    def disconnect(self) -> None:
        self.calls.append(("disconnect",))

    def loop_stop(self) -> None:
        self.calls.append(("loop_stop",))


def test_mqtt_connector_uses_tls_with_the_group_ca_and_version2_callbacks() -> None:
    broker = FakeBroker()
    connect = mqtt_connector("bme680-sensor", "d.crt", "d.key", client_class=broker.client)
    publisher = connect("192.168.1.20", 8883, "/var/lib/x/group-ca.pem")
    (client,) = broker.clients
    assert isinstance(publisher, MqttPublisher)
    assert (client.api, client.client_id) == (mqtt.CallbackAPIVersion.VERSION2, "bme680-sensor")
    assert client.calls[0] == (
        "tls_set",
        {"ca_certs": "/var/lib/x/group-ca.pem", "certfile": "d.crt", "keyfile": "d.key",
         "tls_version": ssl.PROTOCOL_TLS_CLIENT},
    )  # fmt: skip
    assert ("connect", "192.168.1.20", 8883, 60) in client.calls
    assert client.calls[-1] == ("loop_start",)  # left running: paho reconnects by itself


def test_mqtt_connector_refused_connack_stops_the_client() -> None:
    broker = FakeBroker(ReasonCode(PacketTypes.CONNACK, "Not authorized"))
    connect = mqtt_connector("bme680-sensor", "d.crt", "d.key", client_class=broker.client)
    with pytest.raises(ConnectionRefusedError, match="Not authorized"):
        connect("127.0.0.1", 8883, "ca.pem")
    assert broker.clients[0].calls[-2:] == [("disconnect",), ("loop_stop",)]


def test_mqtt_connector_gives_up_without_connack() -> None:
    broker = FakeBroker(reason=None)
    connect = mqtt_connector(
        "bme680-sensor", "d.crt", "d.key", timeout=0, client_class=broker.client
    )
    with pytest.raises(TimeoutError, match="no CONNACK from ::1:8883"):
        connect("::1", 8883, "ca.pem")
    assert broker.clients[0].calls[-2:] == [("disconnect",), ("loop_stop",)]
