"""The pi rig's preflight: is this Pi ready to run the scenarios, and if not, exactly why.

:func:`preflight` runs every check and returns one :class:`Check` per thing checked, passed or
not, so a session can log them all and skip with :func:`skip_reason`:

- ``file <field>``: each certificate, key and CA the config names exists, is readable and holds
  PEM data of the right kind;
- ``core``: the core's broker accepts an MQTT connection over TLS with the client certificate
  and the client's thing name as client id (CONNACK within the timeout), at the configured
  address or at the addresses the Greengrass discovery service gives;
- ``device <name>``: the same for each identity under ``devices`` (client id: its ``thing``);
  a Greengrass V2 core answers CONNACK 0x04 when the client id is not the name of a thing
  attached to the certificate, or the client device auth policy does not let it connect;
- ``sensor``: the BME680 answers on the configured bus and address with chip id 0x61;
- ``nucleus``: the Greengrass V2 nucleus answers the Greengrass CLI (``greengrass-cli
  component list``, run as ``greengrass_cli`` says: locally with sudo by default, or over
  ssh) and is at least the version the group needs: 2.2.0 for client devices at all, 2.6.0
  when a device uses a shadow through the core or a Lambda a ``PUB_SUB`` wildcard
  (``greengrass-v2-topology.md`` §1.1, §2.1);
- ``component <name>``: each component the station needs is deployed and running: client
  device auth, the Moquette broker, the MQTT bridge, ShadowManager, the legacy subscription
  router when a Lambda publishes with ``greengrasssdk``, and ``<group>.<function>`` for each
  function at the component version its Lambda version compiles to (``<version>.0.0``).
  ``RUNNING``, or for an on-demand Lambda also ``FINISHED`` (it runs only while it has work);
  ``ERRORED``, ``BROKEN`` or any other state fails with the state in the reason;
- ``lambda <name>``: for each function of ``lambdas/group.yaml``, the file deployed on the Pi is
  byte for byte the ``lambdas/<module>.py`` under test (sha256).

Everything that touches the outside is injectable (``bus_factory``, ``connect``, ``discover``,
``read_file``, ``run``), so the checks and their messages are tested without a Pi.
"""

from __future__ import annotations

import errno
import getpass
import hashlib
import os
import re
import shlex
import ssl
import subprocess
import tempfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from harness.deploy.plan import DeployError
from harness.deploy.v2 import component_name, component_version
from harness.group import Function, Group, load_group
from harness.rigs.pi_config import ClientIdentity, PiConfig

__all__ = [
    "BME680_CHIP_ID",
    "CHIP_ID_REGISTER",
    "Check",
    "CommandResult",
    "Component",
    "CoreTarget",
    "NucleusUnreachable",
    "Requirement",
    "check_component",
    "check_components",
    "check_core",
    "check_devices",
    "check_files",
    "check_lambdas",
    "check_nucleus",
    "check_sensor",
    "default_bus_factory",
    "deployed_pattern",
    "discover_cores",
    "mqtt_connect",
    "nucleus_minimum",
    "parse_component_list",
    "preflight",
    "read_components",
    "required_components",
    "run_command",
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
CLI_TIMEOUT = 120.0
"""Seconds for ``greengrass-cli component list``: it starts a JVM, which takes tens of seconds
on a Raspberry Pi."""
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
"""Connects to the core's broker as the config's client (client id: its thing name) within
the timeout, then disconnects; raises (OSError, ssl.SSLError, TimeoutError,
ConnectionRefusedError...) when it cannot. The ``device`` checks call it with a copy of the
config whose ``client`` is the device's identity."""
Discover = Callable[[PiConfig, Path, float], list[CoreTarget]]
"""Asks the discovery service where the core is; group CA files are written to the folder."""
ReadFile = Callable[[Path], bytes]


@dataclass(frozen=True)
class CommandResult:
    """How a command ended: its exit status and what it wrote."""

    returncode: int
    stdout: str
    stderr: str


RunCommand = Callable[[Sequence[str], float], CommandResult]
"""Runs ``argv`` (no shell) and waits at most the timeout; raises ``FileNotFoundError`` when
the program is not there and ``subprocess.TimeoutExpired`` when it takes too long."""


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
        return _reach_core(config, connect, discover, timeout, Path(folder))[0]


def _reach_core(config: PiConfig, connect: Connect, discover: Discover, timeout: float,
                folder: Path) -> tuple[Check, CoreTarget | None]:
    """The ``core`` check, and the address that accepted the client (its CA in ``folder``
    when discovery gave it)."""
    if config.core is not None:
        targets = [CoreTarget(config.core.host, config.core.port, config.core.ca)]
    else:
        assert config.discovery is not None
        where = f"https://{config.discovery.endpoint}:{config.discovery.port}"
        try:
            targets = discover(config, folder, timeout)
        except Exception as error:  # the discovery module's errors name the cause
            return Check("core", False, f"discovery at {where} for thing"
                         f" {config.client.thing!r} failed: {error}"), None
        if not targets:
            return Check("core", False, f"discovery at {where} lists no core for thing"
                         f" {config.client.thing!r}: associate it with the core"), None
    failures = []
    for target in targets:
        try:
            connect(target, config, timeout)
        except Exception as error:
            problem = _connection_problem(error, target, config.client, "client")
            failures.append(f"no core at {target}: {problem}")
            continue
        return Check("core", True, f"the core at {target} accepted {config.client.thing!r}"
                     " (MQTT over TLS)"), target
    return Check("core", False, "; ".join(failures)), None


def check_devices(
    config: PiConfig,
    target: CoreTarget,
    *,
    connect: Connect = mqtt_connect,
    timeout: float = DEFAULT_TIMEOUT,
) -> list[Check]:
    """One check per identity under ``devices``: the core at ``target`` (the address that
    accepted the client) accepts it too, its thing name as client id."""
    checks = []
    for name, identity in config.devices.items():
        as_device = config.model_copy(update={"client": identity})
        try:
            connect(target, as_device, timeout)
        except Exception as error:
            problem = _connection_problem(error, target, identity, f"devices.{name}")
            checks.append(Check(f"device {name}", False, f"the core at {target} did not"
                                f" accept {identity.thing!r}: {problem}"))
            continue
        checks.append(Check(f"device {name}", True, f"the core at {target} accepted"
                            f" {identity.thing!r} (MQTT over TLS)"))
    return checks


def _connection_problem(error: Exception, target: CoreTarget,
                        identity: ClientIdentity | None = None, field: str = "client") -> str:
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
    if (isinstance(error, ConnectionRefusedError) and error.errno is None
            and identity is not None):  # a CONNACK that refuses (device.greengrass_connect)
        thing = identity.thing
        return (f"{text}: a Greengrass V2 core admits a client only when its client id is the"
                f" name of the thing its certificate is attached to: attach the certificate"
                f" {identity.cert} to thing {thing!r} (or fix {field}.thing), and let the"
                f" client device auth policy allow mqtt:connect on mqtt:clientId:{thing}")
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


# ---------------------------------------------------------------- (d) the nucleus and components


NUCLEUS = "aws.greengrass.Nucleus"
CLIENT_DEVICE_AUTH = "aws.greengrass.clientdevices.Auth"
MOQUETTE = "aws.greengrass.clientdevices.mqtt.Moquette"
BRIDGE = "aws.greengrass.clientdevices.mqtt.Bridge"
SHADOW_MANAGER = "aws.greengrass.ShadowManager"
ROUTER = "aws.greengrass.LegacySubscriptionRouter"
PLUGINS = frozenset({CLIENT_DEVICE_AUTH, MOQUETTE, BRIDGE, SHADOW_MANAGER})
"""Components that run inside the nucleus and log to its ``greengrass.log``."""
CLIENT_DEVICES_NUCLEUS = "2.2.0"
SHADOWS_NUCLEUS = "2.6.0"
SHADOWS_COMPONENTS = "2.2.0"  # ShadowManager and the bridge, for client device shadows
FAILED_STATES = frozenset({"ERRORED", "BROKEN"})


@dataclass(frozen=True)
class Component:
    """One component as ``greengrass-cli component list`` shows it."""

    name: str
    version: str
    state: str
    configuration: str = "null"  # JSON, as the CLI prints it


class NucleusUnreachable(RuntimeError):
    """The Greengrass CLI did not list the components; the message says why and what to do."""


def run_command(argv: Sequence[str], timeout: float) -> CommandResult:
    """Run ``argv`` without a shell or input, and collect what it writes."""
    completed = subprocess.run(list(argv), capture_output=True, text=True, errors="replace",
                               stdin=subprocess.DEVNULL, timeout=timeout, check=False)
    return CommandResult(completed.returncode, completed.stdout, completed.stderr)


_FIELD = re.compile(r"^\s*(Component Name|Version|State|Configuration):\s?(.*?)\s*$")


def parse_component_list(text: str) -> dict[str, Component]:
    """The components in the output of ``greengrass-cli component list`` (or ``component
    details``), by name.

    The format, from the AWS docs (gg-cli-component.html) and the CLI's source
    (``ComponentCommand.printComponentDetails``), where newer CLIs indent the lines after
    the name by four spaces::

        Components currently running in Greengrass:
        Component Name: aws.greengrass.Nucleus
            Version: 2.12.1
            State: FINISHED
            Configuration: {"awsRegion":"us-east-1", ...}

    Raises ``ValueError`` when the text holds no component at all.
    """
    found: dict[str, Component] = {}
    fields: dict[str, str] = {}

    def keep() -> None:
        if "Component Name" in fields:
            name = fields["Component Name"]
            found[name] = Component(name, fields.get("Version", ""),
                                    fields.get("State", "").upper(),
                                    fields.get("Configuration", "null"))

    for line in text.splitlines():
        match = _FIELD.match(line)
        if match is None:
            continue
        key, value = match.groups()
        if key == "Component Name":
            keep()
            fields = {}
        fields[key] = value
    keep()
    if not found:
        raise ValueError("no 'Component Name:' line")
    return found


def read_components(config: PiConfig, run: RunCommand = run_command,
                    timeout: float = CLI_TIMEOUT) -> dict[str, Component]:
    """Every component on the core, as the Greengrass CLI lists it (``component list``, run
    the way ``greengrass_cli`` in the pi config says). Raises :class:`NucleusUnreachable`
    saying why not and what to do."""
    argv = [*config.greengrass_cli_argv, "component", "list"]
    shown = shlex.join(argv)
    try:
        result = run(argv, timeout)
    except FileNotFoundError:
        raise NucleusUnreachable(_cli_missing(config, argv[0])) from None
    except PermissionError as error:
        raise NucleusUnreachable(f"cannot run {argv[0]} ({error}): fix greengrass_cli in"
                                 f" {_config_name(config)}") from None
    except subprocess.TimeoutExpired:
        raise NucleusUnreachable(
            f"`{shown}` did not answer within {timeout:g} s: is the Pi overloaded? (the"
            " CLI starts a Java VM; top shows what runs)") from None
    if result.returncode == 0:
        try:
            return parse_component_list(result.stdout)
        except ValueError:
            if not result.stderr.strip():
                first = (result.stdout.strip().splitlines() or ["nothing"])[0][:120]
                raise NucleusUnreachable(f"`{shown}` printed no component (it printed:"
                                         f" {first}): is this a Greengrass V2 core?") from None
    raise NucleusUnreachable(_cli_problem(config, argv, result))


def _cli_path(config: PiConfig) -> str:
    """The Greengrass CLI's own path in the command (after sudo, ssh and their options)."""
    argv = config.greengrass_cli_argv
    return next((arg for arg in reversed(argv) if "greengrass-cli" in arg), argv[-1])


def _cli_missing(config: PiConfig, program: str) -> str:
    cli = _cli_path(config)
    if program == cli:
        return (f"the Greengrass CLI is not installed at {cli}: deploy aws.greengrass.Cli to"
                " the core (hil/README.md, \"The Greengrass CLI\"), or fix greengrass_cli in"
                f" {_config_name(config)}")
    return (f"cannot run {program}: it is not installed here; install it, or fix"
            f" greengrass_cli in {_config_name(config)}")


def _cli_problem(config: PiConfig, argv: Sequence[str], result: CommandResult) -> str:
    """Why the CLI failed and what to do, from what it wrote. The texts are the ones of sudo
    and of the CLI's ``NucleusAdapterIpcClientImpl`` (aws-greengrass-cli)."""
    cli, shown, where = _cli_path(config), shlex.join(argv), _config_name(config)
    text = f"{result.stderr}\n{result.stdout}"
    log = config.greengrass_root / "logs" / "greengrass.log"
    if "a password is required" in text:
        user = getpass.getuser()
        return (f"sudo asks {user} for a password to run the Greengrass CLI: allow it without"
                f" one (sudoers: {user} ALL=(root) NOPASSWD: {cli}), or add {user} to a group"
                " named in aws.greengrass.Cli's AuthorizedPosixGroups and set greengrass_cli"
                f" to {cli} in {where}")
    if "Not able to find auth information" in text:
        return (f"this user may not use the Greengrass CLI ({_detail(text)}): run it with sudo"
                " (greengrass_cli: sudo -n ...), or add the user to a group named in"
                " aws.greengrass.Cli's AuthorizedPosixGroups")
    if "command not found" in text or (cli in text and "No such file" in text):
        return _cli_missing(config, cli)
    if "Unable to create ipc client" in text or "GGC root path not configured" in text:
        return (f"the Greengrass nucleus does not answer the Greengrass CLI ({_detail(text)}):"
                " is Greengrass running? (sudo systemctl status greengrass; its log:"
                f" {log})")
    return f"`{shown}` failed (exit status {result.returncode}): {_detail(text)}"


def _detail(text: str) -> str:
    """The most telling line of a command's complaint: the last Java ``Caused by:``, else
    the first line that is not a stack frame."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    causes = [line for line in lines if line.startswith("Caused by:")]
    if causes:
        return causes[-1][:200]
    plain = [line for line in lines if not line.startswith("at ")]
    return (plain[0] if plain else "no output")[:200]


@dataclass(frozen=True)
class Requirement:
    """A component the station needs on the core, and what state and version it must have."""

    name: str
    why: str
    states: tuple[str, ...] = ("RUNNING",)
    version: str | None = None  # exactly this version
    minimum: str | None = None  # at least this version ...
    minimum_why: str = ""  # ... for this
    problem: str | None = None  # why it cannot be checked (a function version that is an alias)

    @property
    def log(self) -> str:
        """Its log file under ``<greengrass_root>/logs``: plugins log to the nucleus's."""
        return "greengrass.log" if self.name in PLUGINS else f"{self.name}.log"


def _client_device_shadows(group: Group) -> list[str]:
    """The subscriptions through which a device uses a shadow on the core."""
    return [f"{s.source} -> {s.target}" for s in group.subscriptions
            if {s.source_kind, s.target_kind} == {"device", "GGShadowService"}]


def _pubsub_wildcards(group: Group) -> list[str]:
    """The ``PUB_SUB`` event sources with wildcards (a device or the shadow service to a
    Lambda, on a topic filter with ``+`` or ``#``)."""
    return [f"{s.source} -> {s.target} on {s.subject}" for s in group.subscriptions
            if s.target_kind == "function" and s.source_kind in ("device", "GGShadowService")
            and ("+" in s.subject or "#" in s.subject)]


def nucleus_minimum(group: Group) -> tuple[str, str]:
    """The oldest nucleus the group runs on, and why (``greengrass-v2-topology.md`` §1.1,
    §2.1): 2.6.0 for client device shadows or ``PUB_SUB`` wildcards, else 2.2.0 for client
    devices (the rig's own clients are client devices)."""
    shadows, wildcards = _client_device_shadows(group), _pubsub_wildcards(group)
    if shadows:
        return SHADOWS_NUCLEUS, f"client device shadows ({shadows[0]})"
    if wildcards:
        return SHADOWS_NUCLEUS, f"PUB_SUB event sources with wildcards ({wildcards[0]})"
    return CLIENT_DEVICES_NUCLEUS, "client devices"


def _uses_router(group: Group) -> list[str]:
    """The subscriptions a Lambda's ``greengrasssdk.publish`` goes through (to the cloud or
    to another Lambda): on V2 only the legacy subscription router carries them."""
    return [f"{s.source} -> {s.target}" for s in group.subscriptions
            if s.source_kind == "function" and s.target_kind in ("cloud", "function")]


def required_components(group: Group) -> list[Requirement]:
    """The components the station needs on the core, in deployment order."""
    shadows = _client_device_shadows(group)
    shadow_minimum = SHADOWS_COMPONENTS if shadows else None
    shadow_why = f"client device shadows ({shadows[0]})" if shadows else ""
    needed = [
        Requirement(CLIENT_DEVICE_AUTH, "it admits the rig's clients and the group's devices"),
        Requirement(MOQUETTE, "the core's MQTT broker the devices and the rig connect to"),
        Requirement(BRIDGE, "it relays device messages to the Lambdas and the shadow topics",
                    minimum=shadow_minimum, minimum_why=shadow_why),
        Requirement(SHADOW_MANAGER, "it keeps the local shadows the station and the rig use",
                    minimum=shadow_minimum, minimum_why=shadow_why),
    ]
    routed = _uses_router(group)
    if routed:
        needed.append(Requirement(ROUTER, f"greengrasssdk.publish needs it ({routed[0]})"))
    for function in group.functions:
        needed.append(_lambda_requirement(group, function))
    return needed


def _lambda_requirement(group: Group, function: Function) -> Requirement:
    name = component_name(group, function)
    why = f"function {function.name} of the group"
    # A pinned Lambda runs all the time; an on-demand one only while it has work, so its
    # component may be FINISHED between invocations [unverified on a device].
    states = ("RUNNING",) if function.pinned else ("RUNNING", "FINISHED")
    try:
        version = component_version(function)
    except DeployError:
        return Requirement(name, why, states, problem=(
            f"function {function.name} has version {function.version!r}, an alias: a"
            " Greengrass V2 component is imported from a published version number; give"
            " its number as version in the group file"))
    return Requirement(name, why, states, version=version)


def check_nucleus(config: PiConfig, group: Group, components: Mapping[str, Component]) -> Check:
    """The nucleus is listed, not failed, and new enough for the group."""
    minimum, why = nucleus_minimum(group)
    nucleus = components.get(NUCLEUS)
    if nucleus is None:
        return Check("nucleus", False, f"the Greengrass CLI lists no {NUCLEUS}: is"
                     f" {config.greengrass_root} a Greengrass V2 core? (greengrass_root in"
                     f" {_config_name(config)})")
    if nucleus.state in FAILED_STATES:
        return Check("nucleus", False, _failed_state(config, NUCLEUS, nucleus,
                                                     "greengrass.log"))
    if _version_key(nucleus.version) < _version_key(minimum):
        return Check("nucleus", False, f"the Greengrass nucleus is {nucleus.version}; {why}"
                     f" need {minimum} or newer: deploy a newer {NUCLEUS} (python -m harness"
                     " deploy --nucleus-version ...)")
    return Check("nucleus", True, f"Greengrass nucleus {nucleus.version} answers ({minimum} or"
                 f" newer for {why})")


def check_component(config: PiConfig, requirement: Requirement,
                    components: Mapping[str, Component]) -> Check:
    """One component: present, in an accepted state, at the right version."""
    name = f"component {requirement.name}"
    if requirement.problem is not None:
        return Check(name, False, requirement.problem)
    found = components.get(requirement.name)
    if found is None:
        return Check(name, False, f"{requirement.name} is not deployed on the core"
                     f" ({requirement.why}): deploy the group (python -m harness deploy"
                     " --apply)")
    if found.state in FAILED_STATES:
        return Check(name, False, _failed_state(config, requirement.name, found,
                                                requirement.log))
    if found.state not in requirement.states:
        accepted = " or ".join(requirement.states)
        log = config.greengrass_root / "logs" / requirement.log
        return Check(name, False, f"{requirement.name} {found.version} is {found.state}, not"
                     f" {accepted}: a deployment may still be under way (greengrass-cli"
                     f" deployment list); if not, its log says why: {log}")
    if requirement.version is not None and found.version != requirement.version:
        return Check(name, False, f"{requirement.name} is version {found.version} on the core,"
                     f" but {requirement.why} compiles to {requirement.version} (Lambda version"
                     f" {requirement.version.split('.')[0]}): deploy the group (python -m"
                     " harness deploy --apply), or set the function's version in the group"
                     " file to the one deployed")
    if (requirement.minimum is not None
            and _version_key(found.version) < _version_key(requirement.minimum)):
        return Check(name, False, f"{requirement.name} is {found.version};"
                     f" {requirement.minimum_why} need {requirement.minimum} or newer: deploy a"
                     " newer one (python -m harness deploy --apply --component-version"
                     f" {requirement.name}=<version>)")
    return Check(name, True, f"{requirement.name} {found.version} is {found.state}")


def check_components(config: PiConfig, group: Group,
                     components: Mapping[str, Component]) -> list[Check]:
    """One check per component the station needs (:func:`required_components`)."""
    return [check_component(config, requirement, components)
            for requirement in required_components(group)]


def _failed_state(config: PiConfig, name: str, found: Component, log: str) -> str:
    where = config.greengrass_root / "logs" / log
    if found.state == "BROKEN":
        return (f"{name} {found.version} is BROKEN (it failed three times): read why in"
                f" {where}, fix it, and deploy again (only a new deployment restarts a BROKEN"
                " component)")
    return (f"{name} {found.version} is ERRORED (the nucleus is restarting it): read why in"
            f" {where}")


def _version_key(version: str) -> tuple[int, ...]:
    """``2.12.1`` as (2, 12, 1), for comparing; what follows the digits of a part (``-rc1``)
    is ignored."""
    key = []
    for part in version.split("."):
        digits = re.match(r"\d+", part)
        key.append(int(digits.group()) if digits else 0)
    return tuple(key)


# ---------------------------------------------------------------- (e) the deployed Lambdas


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
        checks.append(_check_lambda(config, group, function, lambdas_dir, read_file))
    return checks


def deployed_pattern(config: PiConfig, group: Group, function: Function) -> str:
    """``deployed_glob`` for ``function``: its component, the component version its Lambda
    version compiles to (any version when it is an alias), its module."""
    try:
        version = component_version(function)
    except DeployError:
        version = "*"
    return config.deployed_glob.format(component=component_name(group, function),
                                       version=version, module=function.module)


def _check_lambda(
    config: PiConfig, group: Group, function: Function, lambdas_dir: Path, read_file: ReadFile
) -> Check:
    name, module = function.name, function.module
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
        pattern = deployed_pattern(config, group, function)
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
    run: RunCommand = run_command,
    group: Group | str | Path = DEFAULT_GROUP,
    lambdas_dir: str | Path | None = None,
    timeout: float = DEFAULT_TIMEOUT,
    cli_timeout: float = CLI_TIMEOUT,
) -> list[Check]:
    """Every check of the pi rig, in order: files, core, devices, sensor, nucleus, components,
    deployed Lambdas.

    :param run: runs the Greengrass CLI (:func:`run_command`).
    :param group: the group (or its file) whose functions must be deployed.
    :param lambdas_dir: where ``<module>.py`` of the code under test is; by default the group
        file's folder (``lambdas/``).
    :param timeout: seconds for the core to answer (discovery, TCP, TLS, CONNACK).
    :param cli_timeout: seconds for ``greengrass-cli component list``.
    """
    group_file = None if isinstance(group, Group) else Path(group)
    if lambdas_dir is None:
        lambdas_dir = group_file.parent if group_file is not None else DEFAULT_GROUP.parent
    checks = check_files(config, read_file)
    unusable = [check.name.removeprefix("file ") for check in checks if not check.ok]
    if unusable:
        checks.append(Check("core", False, f"not tried: {', '.join(unusable)} unusable"))
    else:
        with tempfile.TemporaryDirectory(prefix="gg-preflight-") as folder:
            core, target = _reach_core(config, connect, discover, timeout, Path(folder))
            checks.append(core)
            if target is not None:  # the devices where the client got in
                checks.extend(check_devices(config, target, connect=connect,
                                            timeout=timeout))
    checks.append(check_sensor(config, bus_factory))
    if group_file is not None:
        try:
            group = load_group(group_file)
        except (OSError, ValueError) as error:
            checks.append(Check("group", False, f"cannot load {group_file}: {error}"))
            return checks
    assert isinstance(group, Group)
    try:
        components = read_components(config, run, cli_timeout)
    except NucleusUnreachable as error:
        checks.append(Check("nucleus", False, str(error)))
    else:
        checks.append(check_nucleus(config, group, components))
        checks.extend(check_components(config, group, components))
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
