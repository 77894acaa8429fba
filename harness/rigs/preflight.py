"""The pi rig's preflight: is this Pi ready to run the scenarios, and if not, exactly why.

:func:`preflight` runs every check and returns one :class:`Check` per thing checked, passed or
not, so a session can log them all and skip with :func:`skip_reason`:

- ``file <field>``: each certificate, key and CA the config names exists, is readable and holds
  PEM data of the right kind;
- ``core``: the core's broker accepts an MQTT connection over TLS with the client certificate
  (CONNACK within the timeout), at the configured address or at the addresses the Greengrass
  discovery service gives;
- ``sensor``: the BME680 answers on the configured bus and address with chip id 0x61;
- ``lambda <name>``: for each function of ``lambdas/group.yaml``, the file deployed on the Pi is
  byte for byte the ``lambdas/<module>.py`` under test (sha256).

Everything that touches the outside is injectable (``bus_factory``, ``connect``, ``discover``,
``read_file``), so the checks and their messages are tested without a Pi.
"""

from __future__ import annotations

import errno
import hashlib
import os
import ssl
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from harness.group import Group, load_group
from harness.rigs.pi_config import DEFAULT_DEPLOYED_GLOB, PiConfig

__all__ = [
    "BME680_CHIP_ID",
    "CHIP_ID_REGISTER",
    "Check",
    "CoreTarget",
    "check_core",
    "check_files",
    "check_lambdas",
    "check_sensor",
    "default_bus_factory",
    "discover_cores",
    "mqtt_connect",
    "preflight",
    "skip_reason",
]

CHIP_ID_REGISTER = 0xD0
BME680_CHIP_ID = 0x61  # BME680 and BME688 alike
# What other Bosch chips answer at 0xD0, for the hint when the id is not 0x61.
_OTHER_CHIPS = {
    0x60: "a BME280",
    0x58: "a BMP280",
    0x57: "a BMP280 (sample)",
    0x56: "a BMP280 (sample)",
    0x55: "a BMP180 or BMP085",
}
DEFAULT_TIMEOUT = 10.0
REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_GROUP = REPO_ROOT / "lambdas" / "group.yaml"


@dataclass(frozen=True)
class Check:
    """The outcome of one preflight check: ``reason`` says what was found, and when ``ok`` is
    false, what is wrong and what to do about it."""

    name: str
    ok: bool
    reason: str

    def __str__(self) -> str:
        return f"{'ok' if self.ok else 'FAILED'} {self.name}: {self.reason}"


@dataclass(frozen=True)
class CoreTarget:
    """One address to try for the core's broker, and the CA file its certificate is checked by."""

    host: str
    port: int
    ca: Path

    def __str__(self) -> str:
        return f"{self.host}:{self.port}"


class SMBusLike(Protocol):
    """The part of ``smbus2.SMBus`` the sensor check uses."""

    def read_byte_data(self, i2c_addr: int, register: int) -> int: ...

    def close(self) -> None: ...


BusFactory = Callable[[int], SMBusLike]
"""Opens I2C bus number ``n`` (``smbus2.SMBus(n)`` on the Pi)."""
Connect = Callable[[CoreTarget, PiConfig, float], None]
"""Connects to the core's broker as the config's client within the timeout, then disconnects;
raises (OSError, ssl.SSLError, TimeoutError, ConnectionRefusedError...) when it cannot."""
Discover = Callable[[PiConfig, Path, float], list[CoreTarget]]
"""Asks the discovery service where the core is; group CA files are written to the folder."""
ReadFile = Callable[[Path], bytes]


# ---------------------------------------------------------------- (a) files


_PEM_KINDS = {
    "cert": ("CERTIFICATE", "a PEM certificate"),
    "key": ("PRIVATE KEY", "a PEM private key"),
    "ca": ("CERTIFICATE", "a PEM CA certificate"),
    "root_ca": ("CERTIFICATE", "a PEM CA certificate"),
}


def check_files(config: PiConfig, read_file: ReadFile = Path.read_bytes) -> list[Check]:
    """One check per certificate, key and CA file: it exists, can be read, and is PEM."""
    checks = []
    for field, path in config.files().items():
        name = f"file {field}"
        try:
            content = read_file(path)
        except FileNotFoundError:
            checks.append(Check(name, False, f"{field} {path} does not exist: copy it there or"
                                f" fix {field} in {_config_name(config)}"))
            continue
        except PermissionError as error:
            checks.append(Check(name, False, f"{field} {path} cannot be read ({error}): make it"
                                " readable by the user running the tests"))
            continue
        except OSError as error:
            checks.append(Check(name, False, f"{field} {path} cannot be read: {error}"))
            continue
        marker, what = _PEM_KINDS[field.rsplit(".", 1)[-1]]
        if f"-----BEGIN {marker}-----".encode() not in content and not (
            marker == "PRIVATE KEY" and b"PRIVATE KEY-----" in content
        ):
            checks.append(Check(name, False, f"{field} {path} is not {what} (no '-----BEGIN"
                                f" {marker}-----' line)"))
            continue
        checks.append(Check(name, True, f"{path} is {what}"))
    return checks


# ---------------------------------------------------------------- (b) the core


def mqtt_connect(target: CoreTarget, config: PiConfig, timeout: float) -> None:
    """Connect to the core's broker over TLS as ``config.client`` (paho-mqtt 2.x, the client id
    is the thing name), wait for the CONNACK, and disconnect."""
    from device.greengrass_connect import mqtt_connector

    client = config.client
    connect = mqtt_connector(client.thing, str(client.cert), str(client.key), timeout=timeout)
    connect(target.host, target.port, str(target.ca)).close()


def discover_cores(config: PiConfig, ca_directory: Path, timeout: float) -> list[CoreTarget]:
    """The core addresses the Greengrass discovery service gives for ``config.client.thing``,
    in its order, each with its group's CA written into ``ca_directory``."""
    from device.greengrass_connect import discover, write_group_ca

    assert config.discovery is not None
    client, service = config.client, config.discovery
    info = discover(service.endpoint, client.thing, str(client.cert), str(client.key),
                    str(service.root_ca), port=service.port, timeout=timeout)
    cas: dict[str, Path] = {}
    targets = []
    for group, _core, entry in info.candidates():
        if group.group_id not in cas:
            cas[group.group_id] = write_group_ca(group, ca_directory)
        targets.append(CoreTarget(entry.host, entry.port, cas[group.group_id]))
    return targets


def check_core(
    config: PiConfig,
    *,
    connect: Connect = mqtt_connect,
    discover: Discover = discover_cores,
    timeout: float = DEFAULT_TIMEOUT,
) -> Check:
    """Whether the core's broker accepts the client (trying each discovered address in turn)."""
    with tempfile.TemporaryDirectory(prefix="gg-preflight-") as folder:
        if config.core is not None:
            targets = [CoreTarget(config.core.host, config.core.port, config.core.ca)]
        else:
            assert config.discovery is not None
            where = f"https://{config.discovery.endpoint}:{config.discovery.port}"
            try:
                targets = discover(config, Path(folder), timeout)
            except Exception as error:  # the discovery module's errors name the cause
                return Check("core", False, f"discovery at {where} for thing"
                             f" {config.client.thing!r} failed: {error}")
            if not targets:
                return Check("core", False, f"discovery at {where} lists no core for thing"
                             f" {config.client.thing!r}: associate it with the core")
        failures = []
        for target in targets:
            try:
                connect(target, config, timeout)
            except Exception as error:
                failures.append(f"no core at {target}: {_connection_problem(error, target)}")
                continue
            return Check("core", True, f"the core at {target} accepted {config.client.thing!r}"
                         " (MQTT over TLS)")
    return Check("core", False, "; ".join(failures))


def _connection_problem(error: Exception, target: CoreTarget) -> str:
    text = str(error) or type(error).__name__
    if isinstance(error, ssl.SSLCertVerificationError):
        if "Hostname mismatch" in text or "IP address mismatch" in text:
            return (f"{text}: the core's server certificate does not name {target.host}; use"
                    " an address from its connectivity information")
        return f"{text}: is {target.ca} the CA of this core's group (client device auth)?"
    if isinstance(error, ssl.SSLError):
        return (f"{text}: the core rejected the TLS handshake; is the client certificate"
                " registered and associated with the core?")
    if isinstance(error, ConnectionRefusedError) and error.errno == errno.ECONNREFUSED:
        return (f"{text}: is Greengrass running there, with its MQTT broker on port"
                f" {target.port}?")
    return text


# ---------------------------------------------------------------- (c) the sensor


def default_bus_factory(bus: int) -> SMBusLike:
    """``smbus2.SMBus(bus)``: the real I2C bus."""
    from smbus2 import SMBus

    return SMBus(bus)


def check_sensor(config: PiConfig, bus_factory: BusFactory = default_bus_factory) -> Check:
    """Whether the BME680 answers at the configured bus and address with chip id 0x61."""
    device, address = config.sensor.device, config.sensor.address
    where = f"sensor at {device} address {address:#04x}"
    try:
        bus = bus_factory(config.sensor.bus)
    except ImportError as error:
        return Check("sensor", False, f"cannot open {device}: {error} (pip install smbus2)")
    except FileNotFoundError:
        return Check("sensor", False, f"no I2C bus {device}: turn I2C on (sudo raspi-config"
                     " nonint do_i2c 0, then reboot) or fix sensor.bus in"
                     f" {_config_name(config)}")
    except PermissionError as error:
        return Check("sensor", False, f"cannot open {device} ({error}): add the user to the"
                     " i2c group (sudo adduser $USER i2c, then log in again)")
    except OSError as error:
        return Check("sensor", False, f"cannot open {device}: {error}")
    try:
        chip_id = bus.read_byte_data(address, CHIP_ID_REGISTER)
    except OSError as error:
        other = 0x77 if address == 0x76 else 0x76
        hint = (f"nothing acknowledges there: check the wiring and power, and whether the chip"
                f" is at {other:#04x} (i2cdetect -y {config.sensor.bus})")
        if error.errno != errno.EREMOTEIO:
            hint = "the bus failed"
        return Check("sensor", False, f"{where} did not answer: {error}: {hint}")
    finally:
        bus.close()
    if chip_id != BME680_CHIP_ID:
        reason = (f"{where} answered chip id {chip_id:#04x}, expected {BME680_CHIP_ID:#04x}"
                  " (BME680)")
        if chip_id in _OTHER_CHIPS:
            reason += f": is this {_OTHER_CHIPS[chip_id]}?"
        return Check("sensor", False, reason)
    return Check("sensor", True, f"{where} answered chip id 0x61 (BME680)")


# ---------------------------------------------------------------- (d) the deployed Lambdas


def check_lambdas(
    config: PiConfig,
    group: Group,
    lambdas_dir: Path,
    read_file: ReadFile = Path.read_bytes,
) -> list[Check]:
    """One check per function of the group: its deployed file has the same sha256 as
    ``lambdas_dir/<module>.py``. Functions named in ``config.lambdas`` but not in the group
    fail too (a typo would otherwise go unchecked)."""
    checks = []
    names = {function.name for function in group.functions}
    for name in config.lambdas:
        if name not in names:
            known = ", ".join(sorted(names)) or "none"
            checks.append(Check(f"lambda {name}", False, f"lambdas.{name} in"
                                f" {_config_name(config)} names no function of the group"
                                f" (functions: {known})"))
    for function in group.functions:
        checks.append(_check_lambda(config, function.name, function.module, lambdas_dir,
                                    read_file))
    return checks


def _check_lambda(
    config: PiConfig, name: str, module: str, lambdas_dir: Path, read_file: ReadFile
) -> Check:
    check_name = f"lambda {name}"
    local = lambdas_dir / f"{module}.py"
    local_name = _shown(local)
    try:
        expected = _sha256(read_file(local))
    except OSError as error:
        return Check(check_name, False, f"cannot read the code under test {local_name}: {error}")
    deployed = config.lambdas.get(name)
    if deployed is not None:
        candidates = [deployed]
    else:
        pattern = DEFAULT_DEPLOYED_GLOB.format(module=module)
        unsearchable = _unsearchable(config.greengrass_root / pattern.split("*", 1)[0])
        if unsearchable is not None:
            return Check(check_name, False, f"cannot look for the deployed {module}.py:"
                         f" {unsearchable} is not readable by this user; run as a user who may"
                         f" read it, or name a readable copy as lambdas.{name} in"
                         f" {_config_name(config)}")
        candidates = sorted(config.greengrass_root.glob(pattern))
        if not candidates:
            return Check(check_name, False, f"no deployed {module}.py under"
                         f" {config.greengrass_root / pattern}: deploy {name}, or name its file"
                         f" as lambdas.{name} in {_config_name(config)}")
    hashes: dict[Path, str] = {}
    for path in candidates:
        try:
            hashes[path] = _sha256(read_file(path))
        except OSError as error:
            return Check(check_name, False, f"cannot read deployed {name} ({path}): {error}")
    if len(set(hashes.values())) > 1:
        listed = ", ".join(f"{path} (sha256 {digest[:12]})" for path, digest in hashes.items())
        return Check(check_name, False, f"{len(hashes)} deployed copies of {module}.py differ:"
                     f" {listed}; name the one the core runs as lambdas.{name} in"
                     f" {_config_name(config)}")
    path, digest = next(iter(hashes.items()))
    if digest != expected:
        return Check(check_name, False, f"deployed {name} ({path}) differs from {local_name}"
                     f" (sha256 {digest[:12]}.. vs {expected[:12]}..): deploy the code under"
                     " test")
    return Check(check_name, True, f"deployed {name} ({path}) is {local_name}"
                 f" (sha256 {digest[:12]}..)")


def _unsearchable(folder: Path) -> Path | None:
    """The first folder on the way to ``folder`` that exists but cannot be listed, if any
    (a glob silently skips those, which would read as "not deployed")."""
    for part in [*reversed(folder.parents), folder]:
        if not part.exists():
            return None
        if not os.access(part, os.R_OK | os.X_OK):
            return part
    return None


def _sha256(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()


# ---------------------------------------------------------------- all of it


def preflight(
    config: PiConfig,
    *,
    bus_factory: BusFactory = default_bus_factory,
    connect: Connect = mqtt_connect,
    discover: Discover = discover_cores,
    read_file: ReadFile = Path.read_bytes,
    group: Group | str | Path = DEFAULT_GROUP,
    lambdas_dir: str | Path | None = None,
    timeout: float = DEFAULT_TIMEOUT,
) -> list[Check]:
    """Every check of the pi rig, in order: files, core, sensor, deployed Lambdas.

    :param group: the group (or its file) whose functions must be deployed.
    :param lambdas_dir: where ``<module>.py`` of the code under test is; by default the group
        file's folder (``lambdas/``).
    :param timeout: seconds for the core to answer (discovery, TCP, TLS, CONNACK).
    """
    group_file = None if isinstance(group, Group) else Path(group)
    if lambdas_dir is None:
        lambdas_dir = group_file.parent if group_file is not None else DEFAULT_GROUP.parent
    checks = check_files(config, read_file)
    unusable = [check.name.removeprefix("file ") for check in checks if not check.ok]
    if unusable:
        checks.append(Check("core", False, f"not tried: {', '.join(unusable)} unusable"))
    else:
        checks.append(check_core(config, connect=connect, discover=discover, timeout=timeout))
    checks.append(check_sensor(config, bus_factory))
    if group_file is not None:
        try:
            group = load_group(group_file)
        except (OSError, ValueError) as error:
            checks.append(Check("lambdas", False, f"cannot load {group_file}: {error}"))
            return checks
    assert isinstance(group, Group)
    checks.extend(check_lambdas(config, group, Path(lambdas_dir), read_file))
    return checks


def skip_reason(checks: Sequence[Check]) -> str | None:
    """Why the rig cannot run, joining every failed check (``name: reason; ...``), or None."""
    failed = [f"{check.name}: {check.reason}" for check in checks if not check.ok]
    return "pi rig preflight failed: " + "; ".join(failed) if failed else None


def _config_name(config: PiConfig) -> str:
    return _shown(config.source) if config.source is not None else "the pi config"


def _shown(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)
