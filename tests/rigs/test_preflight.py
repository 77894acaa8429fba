"""The pi rig's preflight, without a Pi: the simulated BME680 on the bus, connections,
discovery and the Greengrass CLI injected, deployed Lambdas as files under a temporary
greengrass root. The nucleus and component checks in detail: test_preflight_v2.py."""

from __future__ import annotations

import hashlib
import os
import socket
import textwrap
from pathlib import Path

import pytest

from fakes.bme680 import NoDevice, SimulatedBME680, WrongChipId
from harness.group import load_group
from harness.rigs.pi_config import PiConfig, load_pi_config
from harness.rigs.preflight import (
    Check,
    CommandResult,
    CoreTarget,
    check_core,
    check_sensor,
    mqtt_connect,
    preflight,
    skip_reason,
)
from harness.simulation import DEFAULT_GROUP

CERT = b"-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"
KEY = b"-----BEGIN RSA PRIVATE KEY-----\nMIIE\n-----END RSA PRIVATE KEY-----\n"
GROUP = """\
name: test-group
core: {thing: test-core}
functions:
  - name: republish
    module: republish
  - name: greeter
    module: hello
"""
REPUBLISH = b"def function_handler(event, context):\n    return event\n"
HELLO = b"def function_handler(event, context):\n    return 'hello'\n"
# Where the nucleus unpacks a Lambda component's code: <component>/<version>/, then the zip's
# folder ([unverified] name; the glob's ** finds the module at any depth).
DEPLOYED = "gg/packages/artifacts-unarchived/{component}/1.0.0/lambda/{module}.py"
# What `greengrass-cli component list` prints on a healthy core for the test group: the format
# of the AWS docs (gg-cli-component.html), lines after the name indented as the CLI's source
# prints them (ComponentCommand.printComponentDetails).
HEALTHY = """\
Components currently running in Greengrass:
Component Name: aws.greengrass.Nucleus
    Version: 2.12.1
    State: FINISHED
    Configuration: {"awsRegion":"us-east-1","runWithDefault":{"posixUser":"ggc_user:ggc_group"}}
Component Name: aws.greengrass.clientdevices.Auth
    Version: 2.5.2
    State: RUNNING
    Configuration: {"security":{"clientDeviceTrustDurationMinutes":1440.0}}
Component Name: aws.greengrass.clientdevices.mqtt.Moquette
    Version: 2.3.7
    State: RUNNING
    Configuration: {"moquette":{"ssl_port":"8883"}}
Component Name: aws.greengrass.clientdevices.mqtt.Bridge
    Version: 2.3.2
    State: RUNNING
    Configuration: {"mqttTopicMapping":{}}
Component Name: aws.greengrass.ShadowManager
    Version: 2.3.12
    State: RUNNING
    Configuration: {"strategy":{"type":"realTime"}}
Component Name: test-group.republish
    Version: 1.0.0
    State: RUNNING
    Configuration: {"lambdaExecutionParameters":{"EnvironmentVariables":{}}}
Component Name: test-group.greeter
    Version: 1.0.0
    State: FINISHED
    Configuration: null
Component Name: aws.greengrass.Cli
    Version: 2.12.1
    State: RUNNING
    Configuration: {"AuthorizedPosixGroups":null}
"""


class Cli:
    """Stands in for running the Greengrass CLI: records the command, answers ``output``."""

    def __init__(self, output: str = HEALTHY, returncode: int = 0, stderr: str = "") -> None:
        self.result = CommandResult(returncode, output, stderr)
        self.calls: list[tuple[list[str], float]] = []

    def __call__(self, argv, timeout: float) -> CommandResult:
        self.calls.append((list(argv), timeout))
        return self.result


@pytest.fixture
def rig(tmp_path, monkeypatch):
    """A rig folder: config, certificates, the code under test, and a greengrass root where
    both functions are deployed as they are under test. The working directory is the rig, so
    messages name ``lambdas/<module>.py`` as they do from the repository's root."""
    monkeypatch.chdir(tmp_path)
    for name, content in [("certs/ca.pem", CERT), ("certs/client.pem", CERT),
                          ("certs/client.key", KEY), ("lambdas/republish.py", REPUBLISH),
                          ("lambdas/hello.py", HELLO),
                          (DEPLOYED.format(component="test-group.republish",
                                           module="republish"), REPUBLISH),
                          (DEPLOYED.format(component="test-group.greeter", module="hello"),
                           HELLO)]:
        target = tmp_path / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(content)
    (tmp_path / "lambdas" / "group.yaml").write_text(GROUP, encoding="utf-8")
    return tmp_path


def config_in(folder: Path, extra: str = "", **replace: str) -> PiConfig:
    text = textwrap.dedent("""\
        core: {host: 192.168.1.20, ca: certs/ca.pem}
        client: {cert: certs/client.pem, key: certs/client.key}
        greengrass_root: gg
        """) + textwrap.dedent(extra)
    for old, new in replace.items():
        text = text.replace(old, new)
    path = folder / "pi.yaml"
    path.write_text(text, encoding="utf-8")
    return load_pi_config(path)


class Connections:
    """A connect function that records its calls and fails for the addresses told to."""

    def __init__(self, failures: dict[str, Exception] | None = None) -> None:
        self.calls: list[tuple[CoreTarget, str, float]] = []
        self.failures = failures or {}

    def __call__(self, target: CoreTarget, config: PiConfig, timeout: float) -> None:
        self.calls.append((target, config.client.thing, timeout))
        if str(target) in self.failures:
            raise self.failures[str(target)]


def run(rig: Path, config: PiConfig | None = None, *, chip: SimulatedBME680 | None = None,
        connect: Connections | None = None, cli: Cli | None = None,
        **options) -> dict[str, Check]:
    chip = chip or SimulatedBME680()
    checks = preflight(config or config_in(rig), bus_factory=lambda bus: chip,
                       connect=connect or Connections(), run=cli or Cli(),
                       group=rig / "lambdas" / "group.yaml", **options)
    return {check.name: check for check in checks}


# ---------------------------------------------------------------- all well


def test_a_healthy_rig_passes_every_check(rig):
    connect, cli = Connections(), Cli()
    checks = run(rig, connect=connect, cli=cli, timeout=4.0, cli_timeout=30.0)
    assert list(checks) == ["file client.cert", "file client.key", "file core.ca", "core",
                            "sensor", "nucleus",
                            "component aws.greengrass.clientdevices.Auth",
                            "component aws.greengrass.clientdevices.mqtt.Moquette",
                            "component aws.greengrass.clientdevices.mqtt.Bridge",
                            "component aws.greengrass.ShadowManager",
                            "component test-group.republish", "component test-group.greeter",
                            "lambda republish", "lambda greeter"]
    assert all(check.ok for check in checks.values()), checks
    assert skip_reason(list(checks.values())) is None
    assert connect.calls == [(CoreTarget("192.168.1.20", 8883, rig / "certs/ca.pem"),
                              "weather-station", 4.0)]
    # the Greengrass CLI, run once, locally with sudo, under the configured root
    assert cli.calls == [(["sudo", "-n", str(rig / "gg/bin/greengrass-cli"), "component",
                           "list"], 30.0)]
    assert checks["nucleus"].reason == ("Greengrass nucleus 2.12.1 answers (2.2.0 or newer for"
                                        " client devices)")
    assert checks["component test-group.greeter"].reason == ("test-group.greeter 1.0.0 is"
                                                             " FINISHED")
    assert checks["core"].reason == ("the core at 192.168.1.20:8883 accepted 'weather-station'"
                                     " (MQTT over TLS)")
    assert checks["sensor"].reason == "sensor at /dev/i2c-1 address 0x76 answered chip id 0x61"\
        " (BME680)"
    deployed = rig / DEPLOYED.format(component="test-group.republish", module="republish")
    assert checks["lambda republish"].reason.startswith(
        f"deployed republish ({deployed}) is lambdas/republish.py (sha256 ")


def test_the_bus_number_and_address_come_from_the_config(rig):
    opened = []
    chip = SimulatedBME680(address=0x77)

    def bus_factory(bus: int) -> SimulatedBME680:
        opened.append(bus)
        return chip

    config = config_in(rig, "sensor: {bus: 3, address: 0x77}\n")
    check = check_sensor(config, bus_factory)
    assert check.ok and opened == [3]
    assert check.reason == "sensor at /dev/i2c-3 address 0x77 answered chip id 0x61 (BME680)"
    with pytest.raises(TypeError):  # the check closed the bus it opened
        chip.read_byte_data(0x77, 0xD0)


# ---------------------------------------------------------------- the sensor


def test_a_wrong_chip_id_names_the_chip_it_probably_is(rig):
    chip = SimulatedBME680()
    chip.inject(WrongChipId(0x60))
    check = run(rig, chip=chip)["sensor"]
    assert not check.ok
    assert check.reason == ("sensor at /dev/i2c-1 address 0x76 answered chip id 0x60, expected"
                            " 0x61 (BME680): is this a BME280?")
    chip = SimulatedBME680()
    chip.inject(WrongChipId(0x12))
    assert run(rig, chip=chip)["sensor"].reason == (
        "sensor at /dev/i2c-1 address 0x76 answered chip id 0x12, expected 0x61 (BME680)")


def test_no_device_at_the_address(rig):
    chip = SimulatedBME680()
    chip.inject(NoDevice())
    check = run(rig, chip=chip)["sensor"]
    assert not check.ok
    assert check.reason == (
        "sensor at /dev/i2c-1 address 0x76 did not answer: [Errno 121] Remote I/O error:"
        " nothing acknowledges there: check the wiring and power, and whether the chip is at"
        " 0x77 (i2cdetect -y 1)")


def test_the_chip_at_the_other_address(rig):
    check = run(rig, chip=SimulatedBME680(address=0x77))["sensor"]
    assert not check.ok and "address 0x76 did not answer: [Errno 121]" in check.reason


def test_no_i2c_bus(rig):
    def no_bus(bus: int) -> SimulatedBME680:
        raise FileNotFoundError(2, "No such file or directory", f"/dev/i2c-{bus}")

    check = check_sensor(config_in(rig), no_bus)
    assert not check.ok
    assert check.reason.startswith("no I2C bus /dev/i2c-1: turn I2C on (sudo raspi-config")
    assert check.reason.endswith("or fix sensor.bus in pi.yaml")


def test_the_bus_is_not_ours_to_open(rig):
    def denied(bus: int) -> SimulatedBME680:
        raise PermissionError(13, "Permission denied", f"/dev/i2c-{bus}")

    assert check_sensor(config_in(rig), denied).reason == (
        "cannot open /dev/i2c-1 ([Errno 13] Permission denied: '/dev/i2c-1'): add the user to"
        " the i2c group (sudo adduser $USER i2c, then log in again)")


# ---------------------------------------------------------------- the core


def test_a_core_that_refuses_the_connection(rig):
    refused = ConnectionRefusedError(111, "Connection refused")
    checks = run(rig, connect=Connections({"192.168.1.20:8883": refused}))
    assert not checks["core"].ok
    assert checks["core"].reason == (
        "no core at 192.168.1.20:8883: [Errno 111] Connection refused: is Greengrass running"
        " there, with its MQTT broker on port 8883?")
    assert skip_reason(list(checks.values())) == (
        "pi rig preflight failed: core: " + checks["core"].reason)


def test_a_core_that_does_not_answer_in_time(rig):
    silent = TimeoutError("no CONNACK from 192.168.1.20:8883 within 10s")
    check = check_core(config_in(rig), connect=Connections({"192.168.1.20:8883": silent}))
    assert check.reason == ("no core at 192.168.1.20:8883: no CONNACK from 192.168.1.20:8883"
                            " within 10s")


def test_discovery_tries_each_core_address_in_order(rig):
    config = config_in(rig, "discovery: {endpoint: greengrass-ats.example.com,"
                       " root_ca: certs/ca.pem}\n",
                       **{"core: {host: 192.168.1.20, ca: certs/ca.pem}\n": ""})
    asked = []

    def discover(config: PiConfig, folder: Path, timeout: float) -> list[CoreTarget]:
        asked.append((config.discovery.endpoint, config.client.thing, timeout))
        ca = folder / "group-ca.pem"
        ca.write_bytes(CERT)
        return [CoreTarget("10.0.0.5", 8883, ca), CoreTarget("gg-core.local", 8883, ca)]

    connect = Connections({"10.0.0.5:8883": OSError(113, "No route to host")})
    check = check_core(config, connect=connect, discover=discover, timeout=2.0)
    assert check == Check("core", True, "the core at gg-core.local:8883 accepted"
                          " 'weather-station' (MQTT over TLS)")
    assert asked == [("greengrass-ats.example.com", "weather-station", 2.0)]
    assert [str(target) for target, _, _ in connect.calls] == ["10.0.0.5:8883",
                                                                 "gg-core.local:8883"]

    connect = Connections({"10.0.0.5:8883": OSError(113, "No route to host"),
                           "gg-core.local:8883": ConnectionRefusedError(111, "Connection"
                                                                         " refused")})
    check = check_core(config, connect=connect, discover=discover)
    assert not check.ok
    assert check.reason.startswith("no core at 10.0.0.5:8883: [Errno 113] No route to host;"
                                   " no core at gg-core.local:8883: [Errno 111] Connection"
                                   " refused")


def test_discovery_failing_or_finding_nothing(rig):
    config = config_in(rig, "discovery: {endpoint: greengrass-ats.example.com,"
                       " root_ca: certs/ca.pem}\n",
                       **{"core: {host: 192.168.1.20, ca: certs/ca.pem}\n": ""})

    def forbidden(config: PiConfig, folder: Path, timeout: float) -> list[CoreTarget]:
        raise RuntimeError("HTTP 403 Forbidden")

    check = check_core(config, connect=Connections(), discover=forbidden)
    assert check.reason == ("discovery at https://greengrass-ats.example.com:8443 for thing"
                            " 'weather-station' failed: HTTP 403 Forbidden")
    check = check_core(config, connect=Connections(), discover=lambda *_: [])
    assert check.reason == ("discovery at https://greengrass-ats.example.com:8443 lists no core"
                            " for thing 'weather-station': associate it with the core")


def test_the_real_connect_reports_a_refused_connection(rig):
    """The default connect (paho-mqtt over TLS) against a port nobody listens on."""
    crypto = pytest.importorskip("cryptography.x509")
    from datetime import UTC, datetime, timedelta

    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    key = ec.generate_private_key(ec.SECP256R1())
    name = crypto.Name([crypto.NameAttribute(crypto.oid.NameOID.COMMON_NAME, "test")])
    now = datetime.now(UTC)
    cert = (crypto.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(1)
            .not_valid_before(now - timedelta(days=1)).not_valid_after(now + timedelta(days=1))
            .add_extension(crypto.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    (rig / "certs/ca.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (rig / "certs/client.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (rig / "certs/client.key").write_bytes(key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption()))
    with socket.socket() as probe:  # a port that was free a moment ago
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    config = config_in(rig, **{"192.168.1.20": "127.0.0.1", "ca: ": f"port: {port}, ca: "})
    check = check_core(config, connect=mqtt_connect, timeout=5.0)
    assert not check.ok
    assert check.reason.startswith(f"no core at 127.0.0.1:{port}: [Errno 111] Connection"
                                   " refused")


# ---------------------------------------------------------------- files


def test_a_missing_certificate_is_named_and_the_core_not_tried(rig):
    (rig / "certs/client.pem").unlink()
    connect = Connections()
    checks = run(rig, connect=connect)
    assert checks["file client.cert"] == Check(
        "file client.cert", False,
        f"client.cert {rig / 'certs/client.pem'} does not exist: copy it there or fix"
        " client.cert in pi.yaml")
    assert checks["core"] == Check("core", False, "not tried: client.cert unusable")
    assert connect.calls == []


def test_unreadable_and_non_pem_files(rig):
    (rig / "certs/ca.pem").write_text("not a certificate\n")
    key = rig / "certs/client.key"

    def read_file(path: Path) -> bytes:
        if path == key:
            raise PermissionError(13, "Permission denied", str(path))
        return path.read_bytes()

    checks = run(rig, read_file=read_file)
    assert checks["file client.key"].reason == (
        f"client.key {key} cannot be read ([Errno 13] Permission denied: '{key}'): make it"
        " readable by the user running the tests")
    assert checks["file core.ca"].reason == (
        f"core.ca {rig / 'certs/ca.pem'} is not a PEM CA certificate (no '-----BEGIN"
        " CERTIFICATE-----' line)")
    assert checks["core"].reason == "not tried: client.key, core.ca unusable"
    assert skip_reason(list(checks.values())).count("; ") == 2


# ---------------------------------------------------------------- deployed Lambdas


def test_a_deployed_lambda_that_differs_from_the_code_under_test(rig):
    deployed = rig / DEPLOYED.format(component="test-group.republish", module="republish")
    deployed.write_bytes(REPUBLISH + b"# edited on the Pi\n")
    check = run(rig)["lambda republish"]
    assert not check.ok
    ours = hashlib.sha256(REPUBLISH).hexdigest()[:12]
    theirs = hashlib.sha256(REPUBLISH + b"# edited on the Pi\n").hexdigest()[:12]
    assert check.reason == (f"deployed republish ({deployed}) differs from lambdas/republish.py"
                            f" (sha256 {theirs}.. vs {ours}..): deploy the code under test")


def test_the_config_names_the_deployed_file(rig):
    elsewhere = rig / "elsewhere" / "republish.py"
    elsewhere.parent.mkdir()
    elsewhere.write_bytes(REPUBLISH)
    (rig / DEPLOYED.format(component="test-group.republish", module="republish")
     ).write_bytes(b"old")
    checks = run(rig, config_in(rig, "lambdas: {republish: elsewhere/republish.py}\n"))
    assert checks["lambda republish"].ok
    assert f"({elsewhere})" in checks["lambda republish"].reason


def test_a_lambda_that_is_not_deployed(rig):
    deployed = rig / DEPLOYED.format(component="test-group.greeter", module="hello")
    deployed.unlink()
    check = run(rig)["lambda greeter"]
    assert check.reason == (
        f"no deployed hello.py under {rig / 'gg'}/packages/artifacts-unarchived/"
        "test-group.greeter/1.0.0/**/hello.py: deploy greeter, or name its file as"
        " lambdas.greeter in pi.yaml")


def test_only_the_component_version_the_function_compiles_to_is_looked_at(rig):
    """An older component version kept beside the deployed one is not the code the core
    runs for the group's version (1 -> 1.0.0)."""
    older = rig / "gg/packages/artifacts-unarchived/test-group.republish/0.9.0/lambda/republish.py"
    older.parent.mkdir(parents=True)
    older.write_bytes(b"previous version")
    assert run(rig)["lambda republish"].ok
    (rig / "lambdas/group.yaml").write_text(GROUP.replace(
        "module: republish", "module: republish\n    version: '9'"), encoding="utf-8")
    check = run(rig)["lambda republish"]
    assert not check.ok
    assert "artifacts-unarchived/test-group.republish/9.0.0/**/republish.py" in check.reason


def test_several_deployed_copies(rig):
    other = rig / "gg/packages/artifacts-unarchived/test-group.republish/1.0.0/old/republish.py"
    other.parent.mkdir(parents=True)
    other.write_bytes(REPUBLISH)
    assert run(rig)["lambda republish"].ok  # two copies, the same bytes
    other.write_bytes(b"previous version")
    check = run(rig)["lambda republish"]
    assert not check.ok
    assert check.reason.startswith("2 deployed copies of republish.py differ: ")
    assert check.reason.endswith("name the one the core runs as lambdas.republish in pi.yaml")


def test_the_deployed_glob_is_a_setting(rig):
    """Where a core keeps a Lambda's code is [unverified] for Lambda components: the pi
    config can say where else to look."""
    elsewhere = rig / "gg/work/test-group.greeter/work/worker/1/lambda/hello.py"
    elsewhere.parent.mkdir(parents=True)
    elsewhere.write_bytes(HELLO)
    (rig / DEPLOYED.format(component="test-group.greeter", module="hello")).unlink()
    config = config_in(rig, "deployed_glob: 'work/{component}/**/{module}.py'\n")
    checks = run(rig, config)
    assert checks["lambda greeter"].ok
    assert f"({elsewhere})" in checks["lambda greeter"].reason
    assert checks["lambda republish"].reason.startswith(
        f"no deployed republish.py under {rig / 'gg'}/work/test-group.republish/**/republish.py")


def test_a_lambda_named_in_the_config_but_not_in_the_group(rig):
    checks = run(rig, config_in(rig, "lambdas: {republsh: x.py}\n"))
    assert checks["lambda republsh"] == Check(
        "lambda republsh", False,
        "lambdas.republsh in pi.yaml names no function of the group (functions: greeter,"
        " republish)")


def test_the_weather_stations_group_checks_every_function(rig):
    """With the repository's group every function is checked against lambdas/<module>.py."""
    deployed = rig / DEPLOYED.format(component="weather-station.republish", module="republish")
    deployed.parent.mkdir(parents=True)
    deployed.write_bytes(REPUBLISH)
    config = config_in(rig)
    checks = preflight(config, bus_factory=lambda bus: SimulatedBME680(),
                       connect=Connections(), run=Cli())
    group = load_group(DEFAULT_GROUP)  # the installed package's (tox installs a copy)
    assert [c.name for c in checks if c.name.startswith("lambda ")] == [
        f"lambda {function.name}" for function in group.functions]
    lambdas = {c.name: c for c in checks if c.name.startswith("lambda ")}
    assert lambdas["lambda republish"].reason.startswith(f"deployed republish ({deployed})")
    repository_file = DEFAULT_GROUP.parent / "republish.py"
    assert f" differs from {repository_file} " in lambdas["lambda republish"].reason
    assert lambdas["lambda hello_world"].reason.startswith("no deployed hello_world.py under ")


def test_skip_reason_joins_every_failure():
    checks = [Check("a", True, "fine"), Check("b", False, "broken"), Check("c", False, "gone")]
    assert skip_reason(checks) == "pi rig preflight failed: b: broken; c: gone"
    assert skip_reason(checks[:1]) is None
    assert str(checks[1]) == "FAILED b: broken"


def test_a_folder_this_user_cannot_read_is_named_not_taken_for_no_deployment(rig, monkeypatch):
    packages = rig / "gg" / "packages"
    real_access = os.access
    monkeypatch.setattr("harness.rigs.preflight.os.access",
                        lambda path, mode: Path(path) != packages and real_access(path, mode))
    check = run(rig)["lambda republish"]
    assert check.reason == (
        f"cannot look for the deployed republish.py: {packages} is not readable by this user;"
        " run as a user who may read it, or name a readable copy as lambdas.republish in"
        " pi.yaml")
