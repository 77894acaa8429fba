"""AWS's own device clients against the broker rig: both Greengrass discovery clients
(AWSIoTPythonSDK 1.6.2's ``DiscoveryInfoProvider`` and awsiotsdk's ``DiscoveryClient``, on
awscrt) read the rig's discovery endpoint, and the v1 SDK's MQTT client connects to the rig's
Mosquitto with the CA that discovery handed it."""

from __future__ import annotations

import queue
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from awscrt import io
from awsiot.greengrass_discovery import DiscoverResponse, DiscoveryClient, DiscoveryException
from AWSIoTPythonSDK.core.greengrass.discovery.providers import DiscoveryInfoProvider
from AWSIoTPythonSDK.exception.AWSIoTExceptions import (
    DiscoveryDataNotFoundException,
    DiscoveryFailure,
)
from AWSIoTPythonSDK.MQTTLib import AWSIoTMQTTClient

from harness.group import Group, load_group
from harness.rigs.client_device_rules import AuthRules, client_device_auth
from harness.rigs.discovery import DiscoveryEndpoint
from harness.rigs.mosquitto import Mosquitto, find_mosquitto
from harness.rigs.mqtt_client import MqttIdentity, close_client, connect_client
from harness.rigs.pki import RunPki
from harness.v2.deployment import compile_group

GROUP_FILE = Path(__file__).resolve().parents[2] / "lambdas" / "group.yaml"
CORE_ARN = "arn:aws:iot:us-east-1:123456789012:thing/weather-station-core"
TIMEOUT = 5.0  # the longest any single wait may take; they all end much sooner

# the v1 SDK makes its TLS contexts with ssl.PROTOCOL_TLS (its code, not ours)
pytestmark = pytest.mark.filterwarnings("ignore:ssl.PROTOCOL_TLS is deprecated:DeprecationWarning")


@pytest.fixture(scope="module")
def group() -> Group:
    return load_group(GROUP_FILE)


@pytest.fixture(scope="module")
def pki(group: Group, tmp_path_factory: pytest.TempPathFactory) -> RunPki:
    return RunPki.create(
        tmp_path_factory.mktemp("pki"),
        things=[*(device.thing for device in group.devices), "rain-gauge"],
        core_thing=group.core.thing,
    )


@pytest.fixture
def endpoint(group: Group, pki: RunPki) -> Iterator[DiscoveryEndpoint]:
    """The group's devices may discover; rain-gauge has a certificate but is not in it."""
    with DiscoveryEndpoint(
        pki,
        group_id=group.name,
        core_thing_arn=CORE_ARN,
        connectivity=[("127.0.0.1", 8883), ("localhost", 8884)],
        things=[device.thing for device in group.devices],
    ) as endpoint:
        yield endpoint


# ---------------------------------------------------------------- AWSIoTPythonSDK 1.6.2


def v1_provider(endpoint: DiscoveryEndpoint, pki: RunPki, thing: str) -> DiscoveryInfoProvider:
    cert, key = pki.client(thing)
    provider = DiscoveryInfoProvider()
    provider.configureEndpoint("localhost", endpoint.port)
    provider.configureCredentials(str(pki.root_ca), str(cert), str(key))
    provider.configureTimeout(TIMEOUT)
    return provider


def test_the_v1_sdk_discovers_the_core_and_the_group_ca(
    endpoint: DiscoveryEndpoint, pki: RunPki, group: Group
) -> None:
    info = v1_provider(endpoint, pki, "bme680-sensor").discover("bme680-sensor")
    assert info.getAllCas() == [(group.name, pki.group_ca_pem)]
    [core] = info.getAllCores()
    assert (core.coreThingArn, core.groupId) == (CORE_ARN, group.name)
    assert [(c.id, c.host, c.port, c.metadata) for c in core.connectivityInfoList] == [
        ("AUTOIP_127.0.0.1_0", "127.0.0.1", 8883, ""),
        ("AUTOIP_localhost_1", "localhost", 8884, ""),
    ]
    assert endpoint.requests == [("bme680-sensor", 200)]


def test_the_v1_sdk_reads_the_error_statuses(endpoint: DiscoveryEndpoint, pki: RunPki) -> None:
    """403 is not in the SDK's table: a DiscoveryFailure carrying the body; 404 is its
    DiscoveryDataNotFoundException."""
    with pytest.raises(DiscoveryFailure) as forbidden:
        v1_provider(endpoint, pki, "bme680-sensor").discover("weather-station")
    assert '"message": null' in forbidden.value.message
    with pytest.raises(DiscoveryDataNotFoundException):
        v1_provider(endpoint, pki, "rain-gauge").discover("rain-gauge")
    assert endpoint.requests == [("weather-station", 403), ("rain-gauge", 404)]


# ---------------------------------------------------------------- awsiotsdk 1.31.0 (awscrt)


def crt_client(endpoint: DiscoveryEndpoint, pki: RunPki, thing: str) -> DiscoveryClient:
    cert, key = pki.client(thing)
    options = io.TlsContextOptions.create_client_with_mtls_from_path(str(cert), str(key))
    options.override_default_trust_store_from_path(None, str(pki.root_ca))
    client = DiscoveryClient(
        io.ClientBootstrap.get_or_create_static_default(),
        io.SocketOptions(),
        io.ClientTlsContext(options),
        "us-east-1",
        gg_server_name="localhost",
    )
    client.port = endpoint.port  # 8443 on AWS (443 with ALPN); the rig's port here
    return client


def test_the_crt_sdk_discovers_the_core_and_the_group_ca(
    endpoint: DiscoveryEndpoint, pki: RunPki, group: Group
) -> None:
    response = crt_client(endpoint, pki, "weather-station").discover("weather-station")
    reply: DiscoverResponse = response.result(TIMEOUT)
    [gg_group] = reply.gg_groups
    assert gg_group.gg_group_id == group.name
    assert gg_group.certificate_authorities == [pki.group_ca_pem]
    [core] = gg_group.cores
    assert core.thing_arn == CORE_ARN
    assert [(c.id, c.host_address, c.port, c.metadata) for c in core.connectivity] == [
        ("AUTOIP_127.0.0.1_0", "127.0.0.1", 8883, ""),
        ("AUTOIP_localhost_1", "localhost", 8884, ""),
    ]
    assert endpoint.requests == [("weather-station", 200)]


@pytest.mark.parametrize(
    ("as_thing", "thing", "status"),
    [("bme680-sensor", "weather-station", 403), ("rain-gauge", "rain-gauge", 404)],
)
def test_the_crt_sdk_reads_the_error_statuses(
    endpoint: DiscoveryEndpoint, pki: RunPki, as_thing: str, thing: str, status: int
) -> None:
    with pytest.raises(DiscoveryException) as raised:
        crt_client(endpoint, pki, as_thing).discover(thing).result(TIMEOUT)
    assert raised.value.http_response_code == status
    assert endpoint.requests == [(thing, status)]


# ---------------------------------------------------------------- v1 discovery, then MQTT


@pytest.fixture
def broker(group: Group, pki: RunPki, tmp_path: Path) -> Iterator[Mosquitto]:
    try:
        find_mosquitto()
    except FileNotFoundError as error:
        pytest.skip(str(error))
    rules = AuthRules.from_auth(client_device_auth(compile_group(group)), pki.things,
                                pki.core_thing)
    with Mosquitto(tmp_path / "broker", pki, rules.text()) as broker:
        yield broker


def test_the_v1_sdk_connects_with_the_discovered_ca_and_publishes(
    group: Group, pki: RunPki, broker: Mosquitto, tmp_path: Path
) -> None:
    """The v1 SDK's own flow: discover, write the group CA, connect to the first core entry
    with the thing name as client id, subscribe and publish once; a core client sees the
    sensor's reading, and the station receives its own Shadow-topic message back."""
    cert, key = map(str, pki.client("weather-station"))
    with DiscoveryEndpoint(
        pki,
        group_id=group.name,
        core_thing_arn=CORE_ARN,
        connectivity=[(broker.host, broker.port)],
    ) as endpoint:
        info = v1_provider(endpoint, pki, "weather-station").discover("weather-station")
    [(_, ca)] = info.getAllCas()
    ca_path = tmp_path / "group-ca.pem"
    ca_path.write_text(ca, encoding="ascii")
    [core] = info.getAllCores()
    [entry] = core.connectivityInfoList

    received: queue.Queue[tuple[str, bytes]] = queue.Queue()
    station = AWSIoTMQTTClient("weather-station")
    station.configureEndpoint(entry.host, entry.port)
    station.configureCredentials(str(ca_path), key, cert)
    station.configureConnectDisconnectTimeout(TIMEOUT)
    station.configureMQTTOperationTimeout(TIMEOUT)
    core_client = connect_client(
        helper_identity(broker, pki, pki.core_thing), subscribe=["bme680/readings"],
        on_message=lambda client, userdata, message: received.put(
            (message.topic, bytes(message.payload))),
        client_id=f"{pki.core_thing}-test",
    )
    try:
        assert station.connect(keepAliveIntervalSecond=30)
        topic = "$aws/things/weather-station/shadow/get"

        def on_message(client: Any, userdata: Any, message: Any) -> None:
            received.put((message.topic, bytes(message.payload)))

        assert station.subscribe("$aws/things/weather-station/shadow/#", 1, on_message)
        assert station.publish(topic, b"{}", 1)
        assert received.get(timeout=TIMEOUT) == (topic, b"{}")
    finally:
        station.disconnect()
        close_client(core_client)
    assert any("New client connected" in line and " as weather-station " in line
               for line in broker.log_lines())


def helper_identity(broker: Mosquitto, pki: RunPki, thing: str) -> MqttIdentity:
    """How a harness helper client of ``thing`` connects (client ids ``<thing>-...``)."""
    cert, key = pki.helper(thing)
    return MqttIdentity(thing, cert, key, pki.group_ca, broker.host, broker.port)
