"""The broker rig's certificates: who signs what, for which use, and that TLS accepts them."""

from __future__ import annotations

import datetime
import ipaddress
import socket
import ssl
import stat
import threading
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from harness.rigs.client_id_plugin import HELPER_UNIT
from harness.rigs.pki import RunPki

THINGS = ("bme680-sensor", "weather-station")
CORE = "weather-station-core"


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> RunPki:
    return RunPki.create(tmp_path_factory.mktemp("pki"), things=THINGS, core_thing=CORE)


def load(path: Path) -> x509.Certificate:
    return x509.load_pem_x509_certificate(path.read_bytes())


def common_name(certificate: x509.Certificate) -> str:
    return str(certificate.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value)


def extension(certificate: x509.Certificate, kind: type[x509.ExtensionType]) -> x509.Extension:
    return certificate.extensions.get_extension_for_class(kind)


def test_the_two_cas_are_self_signed_certificate_authorities(pki: RunPki) -> None:
    for path in (pki.root_ca, pki.group_ca):
        ca = load(path)
        ca.verify_directly_issued_by(ca)
        assert extension(ca, x509.BasicConstraints).value.ca
        assert extension(ca, x509.BasicConstraints).critical
        assert extension(ca, x509.KeyUsage).value.key_cert_sign
    assert load(pki.root_ca).subject != load(pki.group_ca).subject


def test_every_client_certificate_is_signed_by_the_root_ca_with_the_thing_as_cn(
    pki: RunPki,
) -> None:
    root = load(pki.root_ca)
    assert set(pki.clients) == {*THINGS, CORE}
    for thing in (*THINGS, CORE):
        cert_path, key_path = pki.client(thing)
        certificate = load(cert_path)
        certificate.verify_directly_issued_by(root)
        assert common_name(certificate) == thing
        assert not extension(certificate, x509.BasicConstraints).value.ca
        usages = extension(certificate, x509.ExtendedKeyUsage).value
        assert list(usages) == [ExtendedKeyUsageOID.CLIENT_AUTH]
        assert key_path.exists()


def test_helper_certificates_have_the_thing_as_cn_and_the_helper_unit(pki: RunPki) -> None:
    """The broker lets a helper certificate use client ids ``<thing>-...``; a thing's own
    certificate has no organizational unit, so its client id must be the thing name."""
    root = load(pki.root_ca)
    assert set(pki.helpers) == {*THINGS, CORE}
    for thing in (*THINGS, CORE):
        helper = load(pki.helper(thing)[0])
        helper.verify_directly_issued_by(root)
        assert common_name(helper) == thing
        units = helper.subject.get_attributes_for_oid(NameOID.ORGANIZATIONAL_UNIT_NAME)
        assert [unit.value for unit in units] == [HELPER_UNIT]
        assert list(extension(helper, x509.ExtendedKeyUsage).value) == [
            ExtendedKeyUsageOID.CLIENT_AUTH
        ]
        own = load(pki.client(thing)[0])
        assert not own.subject.get_attributes_for_oid(NameOID.ORGANIZATIONAL_UNIT_NAME)
    with pytest.raises(KeyError, match="no helper certificate for thing 'rain-gauge'"):
        pki.helper("rain-gauge")


def test_server_certificates_name_loopback_and_have_the_right_issuers(pki: RunPki) -> None:
    issuers = {pki.broker_cert: pki.group_ca, pki.discovery_cert: pki.root_ca}
    for cert_path, issuer in issuers.items():
        certificate = load(cert_path)
        certificate.verify_directly_issued_by(load(issuer))
        names = extension(certificate, x509.SubjectAlternativeName).value
        assert names.get_values_for_type(x509.DNSName) == ["localhost"]
        assert names.get_values_for_type(x509.IPAddress) == [ipaddress.ip_address("127.0.0.1")]
        usages = extension(certificate, x509.ExtendedKeyUsage).value
        assert list(usages) == [ExtendedKeyUsageOID.SERVER_AUTH]


def test_validity_is_from_an_hour_ago_to_a_day_ahead(pki: RunPki) -> None:
    now = datetime.datetime.now(datetime.UTC)
    hour, minute = datetime.timedelta(hours=1), datetime.timedelta(minutes=1)
    certificate = load(pki.client("bme680-sensor")[0])
    start, end = certificate.not_valid_before_utc, certificate.not_valid_after_utc
    assert now - hour - minute < start < now - hour + minute
    assert now + 23 * hour < end <= now + 24 * hour


def test_keys_are_private_to_the_owner(pki: RunPki) -> None:
    keys = [pki.root_ca_key, pki.group_ca_key, pki.broker_key, pki.discovery_key]
    keys += [key for _, key in (*pki.clients.values(), *pki.helpers.values())]
    assert {stat.S_IMODE(key.stat().st_mode) for key in keys} == {0o600}


def test_an_unknown_thing_is_a_key_error_naming_it(pki: RunPki) -> None:
    with pytest.raises(KeyError, match="no client certificate for thing 'rain-gauge'"):
        pki.client("rain-gauge")


@pytest.mark.parametrize(
    ("things", "core", "message"),
    [
        (["sensor", "sensor"], CORE, "listed twice"),
        (["sensor", CORE], CORE, "the core is not a device"),
        (["bad name"], CORE, "not a thing name"),
        (["sensor"], "../core", "not a thing name"),
    ],
)
def test_bad_thing_lists_are_refused(
    tmp_path: Path, things: list[str], core: str, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        RunPki.create(tmp_path, things=things, core_thing=core)


def test_tls_accepts_the_chain_both_ways(pki: RunPki) -> None:
    """The broker's certificate is trusted through the group CA (host name checked); the
    broker verifies the client's certificate against the root CA."""
    server_context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_context.load_cert_chain(pki.broker_cert, pki.broker_key)
    server_context.load_verify_locations(pki.root_ca)
    server_context.verify_mode = ssl.CERT_REQUIRED
    client_context = ssl.create_default_context(cafile=pki.group_ca)
    client_context.load_cert_chain(*pki.client("bme680-sensor"))

    server_side, client_side = socket.socketpair()
    seen: dict[str, object] = {}

    def serve() -> None:
        with server_context.wrap_socket(server_side, server_side=True) as tls:
            seen["peer"] = tls.getpeercert()
            tls.sendall(b"ok")

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    client_side.settimeout(5)
    with client_context.wrap_socket(client_side, server_hostname="127.0.0.1") as tls:
        assert tls.recv(2) == b"ok"
    thread.join(5)
    peer = seen["peer"]
    assert isinstance(peer, dict)
    assert (("commonName", "bme680-sensor"),) in peer["subject"]
