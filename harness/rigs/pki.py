"""The certificates of one broker-rig run, made fresh with ``cryptography``.

Two certificate authorities, as on a real Greengrass deployment:

- the **root CA** stands in for the Amazon root CA: it signs the discovery endpoint's server
  certificate and every client certificate (the devices' and the core's), so the broker and
  the discovery endpoint verify clients against it;
- the **group CA** signs the core broker's server certificate, exactly as Greengrass's group CA
  does; devices learn it from discovery and trust the broker through it.

Keys are EC P-256 (quick to make), certificates are valid from an hour ago to a day from now,
and keys are written with mode 0o600. Each client certificate's CN is its thing name, which the
broker uses as the identity, and the MQTT client id must be that name
(:mod:`harness.rigs.client_id_plugin`).

Each thing (and the core) also gets a **helper certificate**: the same CN, with the
organizational unit :data:`~harness.rigs.client_id_plugin.HELPER_UNIT`. Only the harness's own
clients use these (the core's bridge, clients that inject messages as a device while the device
program runs); they connect with client ids like ``<thing>-harness``, which the broker refuses
for a thing certificate and never lets collide with a thing's own connection.
"""

from __future__ import annotations

import datetime
import ipaddress
import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from harness.rigs.client_id_plugin import HELPER_UNIT

__all__ = ["RunPki"]

_THING_NAME = re.compile(r"[A-Za-z0-9:_-]{1,128}")  # AWS IoT thing names
_VALID_BEFORE = datetime.timedelta(hours=1)  # tolerate a clock a little behind
_VALID_FOR = datetime.timedelta(days=1)


@dataclass(frozen=True)
class _Issuer:
    name: x509.Name
    key: ec.EllipticCurvePrivateKey


def _new_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def _name(common_name: str, unit: str | None = None) -> x509.Name:
    attributes = [x509.NameAttribute(NameOID.ORGANIZATION_NAME, "gg-edge-harness broker rig")]
    if unit is not None:
        attributes.append(x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, unit))
    attributes.append(x509.NameAttribute(NameOID.COMMON_NAME, common_name))
    return x509.Name(attributes)


def _key_usage(*, ca: bool) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=True,
        content_commitment=False,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=ca,
        crl_sign=ca,
        encipher_only=False,
        decipher_only=False,
    )


def _san(host: str) -> x509.GeneralName:
    try:
        return x509.IPAddress(ipaddress.ip_address(host))
    except ValueError:
        return x509.DNSName(host)


def _certificate(
    subject: x509.Name,
    key: ec.EllipticCurvePrivateKey,
    issuer: _Issuer | None,
    *,
    usage: x509.ObjectIdentifier | None = None,
    hosts: Iterable[str] = (),
) -> x509.Certificate:
    """A CA certificate when ``usage`` is None (self-signed when ``issuer`` is None too), else
    an end-entity certificate for ``usage`` (serverAuth or clientAuth) signed by ``issuer``."""
    now = datetime.datetime.now(datetime.UTC)
    signer = issuer or _Issuer(subject, key)
    ca = usage is None
    public = key.public_key()
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(signer.name)
        .public_key(public)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - _VALID_BEFORE)
        .not_valid_after(now + _VALID_FOR)
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        .add_extension(_key_usage(ca=ca), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(signer.key.public_key()),
            critical=False,
        )
    )
    if usage is not None:
        builder = builder.add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
    sans = [_san(host) for host in hosts]
    if sans:
        builder = builder.add_extension(x509.SubjectAlternativeName(sans), critical=False)
    return builder.sign(signer.key, hashes.SHA256())


def _write_certificate(path: Path, certificate: x509.Certificate) -> Path:
    path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    return path


def _write_key(path: Path, key: ec.EllipticCurvePrivateKey) -> Path:
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "wb") as file:
        os.fchmod(file.fileno(), 0o600)  # also when the file was already there
        file.write(pem)
    return path


@dataclass(frozen=True)
class RunPki:
    """The PEM files of one run (all under ``directory``); make it with :meth:`create`."""

    directory: Path
    root_ca: Path  #: stands in for the Amazon root CA; clients are verified against it
    root_ca_key: Path
    group_ca: Path  #: the Greengrass group CA; signs the broker's server certificate
    group_ca_key: Path
    discovery_cert: Path  #: the discovery endpoint's server certificate (root CA)
    discovery_key: Path
    broker_cert: Path  #: the core broker's server certificate (group CA)
    broker_key: Path
    core_thing: str
    things: tuple[str, ...]  #: the device things, in the order given
    clients: Mapping[str, tuple[Path, Path]]  #: thing (devices and core) -> (cert, key)
    helpers: Mapping[str, tuple[Path, Path]]  #: thing -> the harness's helper (cert, key)

    @classmethod
    def create(
        cls,
        directory: Path,
        *,
        things: Iterable[str],
        core_thing: str,
        hosts: Iterable[str] = ("localhost", "127.0.0.1"),
    ) -> RunPki:
        """Make both CAs, the two server certificates (their SANs are ``hosts``: DNS names or
        IP addresses) and a client certificate for each thing and for the core, in
        ``directory`` (created if needed)."""
        things = tuple(things)
        hosts = tuple(hosts)
        for thing in (*things, core_thing):
            if not _THING_NAME.fullmatch(thing):
                raise ValueError(f"{thing!r} is not a thing name: 1-128 of [A-Za-z0-9:_-]")
        if len(set(things)) != len(things):
            raise ValueError(f"a thing is listed twice in {things}")
        if core_thing in things:
            raise ValueError(f"{core_thing!r} is the core's thing; the core is not a device")
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)

        def authority(stem: str, common_name: str) -> tuple[_Issuer, Path, Path]:
            key = _new_key()
            name = _name(common_name)
            certificate = _certificate(name, key, None)
            cert_path = _write_certificate(directory / f"{stem}.pem", certificate)
            return _Issuer(name, key), cert_path, _write_key(directory / f"{stem}.key", key)

        def issue(
            stem: str,
            common_name: str,
            issuer: _Issuer,
            usage: x509.ObjectIdentifier,
            unit: str | None = None,
        ) -> tuple[Path, Path]:
            key = _new_key()
            server = usage == ExtendedKeyUsageOID.SERVER_AUTH
            certificate = _certificate(
                _name(common_name, unit), key, issuer, usage=usage, hosts=hosts if server else ()
            )
            cert_path = _write_certificate(directory / f"{stem}.pem", certificate)
            return cert_path, _write_key(directory / f"{stem}.key", key)

        root, root_ca, root_ca_key = authority("root-ca", "Broker rig root CA (Amazon root CA)")
        group, group_ca, group_ca_key = authority("group-ca", "Broker rig Greengrass group CA")
        server = ExtendedKeyUsageOID.SERVER_AUTH
        discovery_cert, discovery_key = issue("discovery", "greengrass-discovery", root, server)
        broker_cert, broker_key = issue("broker", core_thing, group, server)
        clients = {
            thing: issue(f"thing-{thing}", thing, root, ExtendedKeyUsageOID.CLIENT_AUTH)
            for thing in (*things, core_thing)
        }
        helpers = {
            thing: issue(
                f"helper-{thing}", thing, root, ExtendedKeyUsageOID.CLIENT_AUTH, HELPER_UNIT
            )
            for thing in (*things, core_thing)
        }
        return cls(
            directory=directory,
            root_ca=root_ca,
            root_ca_key=root_ca_key,
            group_ca=group_ca,
            group_ca_key=group_ca_key,
            discovery_cert=discovery_cert,
            discovery_key=discovery_key,
            broker_cert=broker_cert,
            broker_key=broker_key,
            core_thing=core_thing,
            things=things,
            clients=MappingProxyType(clients),
            helpers=MappingProxyType(helpers),
        )

    def client(self, thing: str) -> tuple[Path, Path]:
        """The client certificate and key of a device thing or of the core."""
        try:
            return self.clients[thing]
        except KeyError:
            known = ", ".join(self.clients)
            raise KeyError(f"no client certificate for thing {thing!r} (known: {known})") from None

    def helper(self, thing: str) -> tuple[Path, Path]:
        """The harness's helper certificate and key for a device thing or the core."""
        try:
            return self.helpers[thing]
        except KeyError:
            known = ", ".join(self.helpers)
            raise KeyError(f"no helper certificate for thing {thing!r} (known: {known})") from None

    @property
    def group_ca_pem(self) -> str:
        """The group CA certificate as PEM text, as discovery hands it to devices."""
        return self.group_ca.read_text(encoding="ascii")
