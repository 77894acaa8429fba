"""The broker rig's discovery endpoint, through the device's own discovery client."""

from __future__ import annotations

import http.client
import json
import logging
import socket
import ssl
from collections.abc import Iterator

import pytest

from device.greengrass_connect import (
    DiscoveryInfo,
    DiscoveryRequestError,
    discover,
    parse_discovery,
    request_discovery,
    tls_context,
)
from harness.rigs.discovery import DiscoveryEndpoint
from harness.rigs.pki import RunPki

GROUP_ID = "weather-station-group"
CORE_ARN = "arn:aws:iot:us-east-1:123456789012:thing/weather-station-core"
BROKER = ("127.0.0.1", 8883)
TIMEOUT = 5.0


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> RunPki:
    return RunPki.create(
        tmp_path_factory.mktemp("pki"),
        things=["bme680-sensor", "weather-station", "rain-gauge"],
        core_thing="weather-station-core",
    )


@pytest.fixture
def endpoint(pki: RunPki) -> Iterator[DiscoveryEndpoint]:
    """Serving the group's devices except rain-gauge, which has a certificate but is not
    associated with the group."""
    with DiscoveryEndpoint(
        pki,
        group_id=GROUP_ID,
        core_thing_arn=CORE_ARN,
        connectivity=[BROKER],
        things=["bme680-sensor", "weather-station"],
    ) as endpoint:
        yield endpoint


def ask(
    endpoint: DiscoveryEndpoint, pki: RunPki, thing: str, as_thing: str | None = None
) -> DiscoveryInfo:
    """Discover ``thing`` with the certificate of ``as_thing`` (default: its own)."""
    cert, key = pki.client(as_thing or thing)
    return discover(
        endpoint.host, thing, str(cert), str(key), str(pki.root_ca), endpoint.port, TIMEOUT
    )


def test_a_device_discovers_its_core_and_the_group_ca(
    endpoint: DiscoveryEndpoint, pki: RunPki
) -> None:
    info = ask(endpoint, pki, "bme680-sensor")
    [group] = info.groups
    assert group.group_id == GROUP_ID
    assert group.cas == (pki.group_ca_pem,)
    [core] = group.cores
    assert core.thing_arn == CORE_ARN
    [(_, _, entry)] = info.candidates()
    assert (entry.host, entry.port, entry.metadata) == (*BROKER, "")
    assert entry.id == "AUTOIP_127.0.0.1_0"
    assert endpoint.requests == [("bme680-sensor", 200)]


def test_connectivity_changes_show_in_later_answers(
    endpoint: DiscoveryEndpoint, pki: RunPki
) -> None:
    endpoint.set_connectivity([("localhost", 1883), ("127.0.0.1", 8883)])
    info = ask(endpoint, pki, "weather-station")
    assert [(e.host, e.port) for _, _, e in info.candidates()] == [
        ("localhost", 1883),
        ("127.0.0.1", 8883),
    ]
    assert parse_discovery(endpoint.reply()) == info


def test_asking_for_another_thing_is_forbidden(endpoint: DiscoveryEndpoint, pki: RunPki) -> None:
    with pytest.raises(DiscoveryRequestError, match="HTTP 403") as raised:
        ask(endpoint, pki, "weather-station", as_thing="bme680-sensor")
    assert raised.value.status == 403
    assert '"message": null' in str(raised.value) and '"traceId"' in str(raised.value)
    assert endpoint.requests == [("weather-station", 403)]


@pytest.mark.parametrize("thing", ["rain-gauge", "weather-station-core"])
def test_a_thing_not_in_the_group_is_not_found(
    endpoint: DiscoveryEndpoint, pki: RunPki, thing: str
) -> None:
    with pytest.raises(DiscoveryRequestError, match="HTTP 404") as raised:
        ask(endpoint, pki, thing)
    assert raised.value.status == 404
    assert "The thing provided for discovery was not found" in str(raised.value)
    assert endpoint.requests == [(thing, 404)]


def test_other_paths_are_not_found(endpoint: DiscoveryEndpoint, pki: RunPki) -> None:
    context = tls_context(*map(str, pki.client("bme680-sensor")), str(pki.root_ca))
    connection = http.client.HTTPSConnection(
        endpoint.host, endpoint.port, context=context, timeout=TIMEOUT
    )
    try:
        for path in ("/", "/greengrass/discover/thing/bme680-sensor/extra", "/greengrass/x"):
            connection.request("GET", path)
            response = connection.getresponse()
            assert response.status == 404, path
            assert "errorMessage" in json.loads(response.read())
    finally:
        connection.close()
    assert endpoint.requests == []


def test_a_client_without_a_certificate_fails_the_handshake(
    endpoint: DiscoveryEndpoint, pki: RunPki
) -> None:
    context = ssl.create_default_context(cafile=pki.root_ca)  # trusts the server, no cert
    with pytest.raises(DiscoveryRequestError) as raised:
        request_discovery(endpoint.host, "bme680-sensor", context, endpoint.port, TIMEOUT)
    assert raised.value.status is None
    assert endpoint.requests == []


def test_a_certificate_from_another_ca_fails_the_handshake(
    endpoint: DiscoveryEndpoint, pki: RunPki, tmp_path_factory: pytest.TempPathFactory
) -> None:
    foreign = RunPki.create(
        tmp_path_factory.mktemp("foreign"), things=["bme680-sensor"], core_thing="core"
    )
    context = tls_context(*map(str, foreign.client("bme680-sensor")), str(pki.root_ca))
    with pytest.raises(DiscoveryRequestError) as raised:
        request_discovery(endpoint.host, "bme680-sensor", context, endpoint.port, TIMEOUT)
    assert raised.value.status is None
    assert endpoint.requests == []


def test_requests_are_logged(
    endpoint: DiscoveryEndpoint, pki: RunPki, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="harness.rigs.discovery"):
        ask(endpoint, pki, "bme680-sensor")
    assert any(
        "GET /greengrass/discover/thing/bme680-sensor" in record.getMessage()
        and record.name == "harness.rigs.discovery"
        for record in caplog.records
    )


def test_stop_frees_the_port_and_start_serves_it_again(pki: RunPki) -> None:
    endpoint = DiscoveryEndpoint(
        pki, group_id=GROUP_ID, core_thing_arn=CORE_ARN, connectivity=[BROKER]
    )
    with pytest.raises(RuntimeError, match="start"):
        _ = endpoint.port
    with endpoint:
        port = endpoint.port
    with pytest.raises(DiscoveryRequestError):
        ask(endpoint, pki, "bme680-sensor")
    with endpoint:
        assert endpoint.port == port
        assert ask(endpoint, pki, "rain-gauge").groups[0].group_id == GROUP_ID


def raw_exchange(endpoint: DiscoveryEndpoint, pki: RunPki, request: bytes) -> bytes:
    """Send ``request`` over mutual TLS as bme680-sensor; everything until the server closes."""
    context = tls_context(*map(str, pki.client("bme680-sensor")), str(pki.root_ca))
    with (
        socket.create_connection((endpoint.host, endpoint.port), timeout=TIMEOUT) as plain,
        context.wrap_socket(plain, server_hostname="localhost") as tls,
    ):
        tls.sendall(request)
        received = b""
        while chunk := tls.recv(4096):
            received += chunk
    return received


def test_the_reply_is_http_1_1_with_lower_case_headers_then_close(
    endpoint: DiscoveryEndpoint, pki: RunPki
) -> None:
    """As AWS's endpoint answers: AWSIoTPythonSDK 1.6.2 reads the raw bytes and only accepts
    a status line starting ``HTTP/1.1 `` and a ``content-length: `` header."""
    received = raw_exchange(
        endpoint, pki,
        b"GET /greengrass/discover/thing/bme680-sensor HTTP/1.1\r\nHost: localhost\r\n\r\n",
    )
    head, _, body = received.partition(b"\r\n\r\n")
    status, *lines = head.decode("latin-1").split("\r\n")
    assert status == "HTTP/1.1 200 OK"
    headers = dict(line.split(": ", 1) for line in lines)
    assert all(name == name.lower() for name in headers)
    assert headers["content-type"] == "application/json"
    assert headers["connection"] == "close"
    assert int(headers["content-length"]) == len(body)
    assert json.loads(body) == endpoint.reply()


def test_another_method_gets_501_in_the_same_form(
    endpoint: DiscoveryEndpoint, pki: RunPki
) -> None:
    received = raw_exchange(
        endpoint, pki,
        b"POST /greengrass/discover/thing/bme680-sensor HTTP/1.1\r\nHost: localhost\r\n"
        b"content-length: 0\r\n\r\n",
    )
    head, _, body = received.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 501 Not Implemented\r\n")
    assert f"\r\ncontent-length: {len(body)}".encode() in head
    assert "errorMessage" in json.loads(body)
    assert endpoint.requests == []
