"""The pi rig's preflight on a Greengrass V2 core, without a Pi: the nucleus and the components
as the Greengrass CLI lists them (its output injected), the devices' own connections (client id
= thing name), and discovery's V2 answer."""

from __future__ import annotations

import subprocess
import tempfile
import textwrap
from pathlib import Path
from typing import ClassVar

import pytest
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.reasoncodes import ReasonCode

from device.greengrass_connect import mqtt_connector
from fakes.bme680 import SimulatedBME680
from harness.group import Group, load_group
from harness.rigs.pi_config import PiConfig
from harness.rigs.preflight import (
    Check,
    CommandResult,
    Component,
    CoreTarget,
    NucleusUnreachable,
    check_components,
    check_core,
    check_devices,
    check_nucleus,
    discover_cores,
    nucleus_minimum,
    parse_component_list,
    preflight,
    read_components,
    required_components,
    skip_reason,
)
from harness.simulation import DEFAULT_GROUP
from tests.rigs.test_preflight import CERT, KEY, Cli, Connections, config_in

# The example of the AWS docs (gg-cli-component.html, "component list"), verbatim.
DOC_EXAMPLE = """\
Components currently running in Greengrass:
Component Name: FleetStatusService
Version: 0.0.0
State: RUNNING
Configuration: {"periodicUpdateIntervalSec":86400.0}
Component Name: UpdateSystemPolicyService
Version: 0.0.0
State: RUNNING
Configuration: null
Component Name: aws.greengrass.Nucleus
Version: 2.0.0
State: FINISHED
Configuration: {"awsRegion":"region","runWithDefault":{"posixUser":"ggc_user:ggc_group"},\
"telemetry":{}}
Component Name: DeploymentService
Version: 0.0.0
State: RUNNING
Configuration: null
Component Name: TelemetryAgent
Version: 0.0.0
State: RUNNING
Configuration: null
Component Name: aws.greengrass.Cli
Version: 2.0.0
State: RUNNING
Configuration: {"AuthorizedPosixGroups":"ggc_user"}
"""

# The weather station deployed on a V2 core (greengrass-v2-topology.md §5.2), as the CLI
# lists it: name, version, state.
STATION = {
    "aws.greengrass.Nucleus": ("2.12.1", "FINISHED"),
    "DeploymentService": ("0.0.0", "RUNNING"),
    "aws.greengrass.clientdevices.Auth": ("2.5.2", "RUNNING"),
    "aws.greengrass.clientdevices.mqtt.Moquette": ("2.3.7", "RUNNING"),
    "aws.greengrass.clientdevices.mqtt.Bridge": ("2.3.2", "RUNNING"),
    "aws.greengrass.clientdevices.IPDetector": ("2.2.3", "RUNNING"),
    "aws.greengrass.ShadowManager": ("2.3.12", "RUNNING"),
    "aws.greengrass.LegacySubscriptionRouter": ("2.1.14", "RUNNING"),
    "aws.greengrass.LambdaLauncher": ("2.0.13", "FINISHED"),
    "aws.greengrass.LambdaManager": ("2.3.4", "RUNNING"),
    "aws.greengrass.LambdaRuntimes": ("2.0.8", "FINISHED"),
    "weather-station.MLResources": ("1.0.0", "FINISHED"),
    "weather-station.republish": ("1.0.0", "FINISHED"),
    "weather-station.inference": ("1.0.0", "RUNNING"),
    "weather-station.hello_world": ("1.0.0", "RUNNING"),
    "aws.greengrass.Cli": ("2.12.1", "RUNNING"),
}


def listing(components: dict[str, tuple[str, str]]) -> str:
    """``greengrass-cli component list`` output, as the CLI prints it
    (``ComponentCommand.printComponentDetails``)."""
    lines = ["Components currently running in Greengrass:"]
    for name, (version, state) in components.items():
        lines += [f"Component Name: {name}", f"    Version: {version}", f"    State: {state}",
                  "    Configuration: null"]
    return "\n".join(lines) + "\n"


def station(changes: dict[str, tuple[str, str] | None] | None = None) -> dict[str, Component]:
    """The station's components with some changed (a value of None: not deployed)."""
    components = dict(STATION)
    for name, value in (changes or {}).items():
        if value is None:
            components.pop(name)
        else:
            components[name] = value
    return parse_component_list(listing(components))


@pytest.fixture(scope="module")
def weather_station() -> Group:
    return load_group(DEFAULT_GROUP)


def group_of(text: str) -> Group:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "group.yaml"
        path.write_text(textwrap.dedent(text), encoding="utf-8")
        return load_group(path)


@pytest.fixture
def config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> PiConfig:
    """A pi config in the working directory, so reasons name it ``pi.yaml``."""
    monkeypatch.chdir(tmp_path)
    return config_in(tmp_path)


def by_name(checks: list[Check]) -> dict[str, Check]:
    return {check.name: check for check in checks}


# ---------------------------------------------------------------- the CLI's output


def test_the_list_as_documented_and_as_newer_clis_indent_it():
    documented = parse_component_list(DOC_EXAMPLE)
    assert list(documented) == ["FleetStatusService", "UpdateSystemPolicyService",
                                "aws.greengrass.Nucleus", "DeploymentService", "TelemetryAgent",
                                "aws.greengrass.Cli"]
    assert documented["aws.greengrass.Nucleus"] == Component(
        "aws.greengrass.Nucleus", "2.0.0", "FINISHED",
        '{"awsRegion":"region","runWithDefault":{"posixUser":"ggc_user:ggc_group"},'
        '"telemetry":{}}')
    assert documented["aws.greengrass.Cli"].configuration == '{"AuthorizedPosixGroups":"ggc_user"}'
    indented = "\n".join(line if line.startswith(("Component", "Components")) else f"    {line}"
                         for line in DOC_EXAMPLE.splitlines())
    assert parse_component_list(indented) == documented
    # `component details --name X` prints one entry the same way
    assert parse_component_list("Component Name: MyComponent \nVersion: 1.0.0\nState: RUNNING\n"
                                "Configuration: null\n") == {
        "MyComponent": Component("MyComponent", "1.0.0", "RUNNING", "null")}


def test_text_without_a_component_is_not_a_list():
    with pytest.raises(ValueError, match="no 'Component Name:' line"):
        parse_component_list("Components currently running in Greengrass:\n")


# ---------------------------------------------------------------- running the CLI


def test_the_cli_runs_as_the_config_says(config, tmp_path):
    cli = Cli(listing(STATION))
    assert read_components(config, cli, 12.0) == station()
    assert cli.calls == [(["sudo", "-n", str(tmp_path / "gg/bin/greengrass-cli"), "component",
                           "list"], 12.0)]
    over_ssh = config_in(tmp_path, "greengrass_cli: ssh pi@gg-core.local sudo -n"
                                   " /greengrass/v2/bin/greengrass-cli\n")
    cli = Cli(listing(STATION))
    read_components(over_ssh, cli)
    assert cli.calls[0][0] == ["ssh", "pi@gg-core.local", "sudo", "-n",
                               "/greengrass/v2/bin/greengrass-cli", "component", "list"]


def unreachable(config: PiConfig, run) -> str:
    with pytest.raises(NucleusUnreachable) as caught:
        read_components(config, run, 60.0)
    return str(caught.value)


def test_the_cli_not_installed(config, tmp_path):
    cli = str(tmp_path / "gg/bin/greengrass-cli")

    def missing(argv, timeout):
        raise FileNotFoundError(2, "No such file or directory", argv[0])

    # sudo itself is missing (the default command starts with it)
    assert unreachable(config, missing) == (
        "cannot run sudo: it is not installed here; install it, or fix greengrass_cli in"
        " pi.yaml")
    direct = config_in(tmp_path, f"greengrass_cli: {cli}\n")
    assert unreachable(direct, missing) == (
        f"the Greengrass CLI is not installed at {cli}: deploy aws.greengrass.Cli to the core"
        ' (hil/README.md, "The Greengrass CLI"), or fix greengrass_cli in pi.yaml')
    # through sudo: sudo says so on stderr, exit status 1
    sudo = Cli("", 1, f"sudo: {cli}: command not found\n")
    assert unreachable(config, sudo) == unreachable(direct, missing)


def test_sudo_asks_for_a_password(config, tmp_path, monkeypatch):
    monkeypatch.setattr("harness.rigs.preflight.getpass.getuser", lambda: "pi")
    cli = str(tmp_path / "gg/bin/greengrass-cli")
    reason = unreachable(config, Cli("", 1, "sudo: a password is required\n"))
    assert reason == (
        "sudo asks pi for a password to run the Greengrass CLI: allow it without one (sudoers:"
        f" pi ALL=(root) NOPASSWD: {cli}), or add pi to a group named in aws.greengrass.Cli's"
        f" AuthorizedPosixGroups and set greengrass_cli to {cli} in pi.yaml")


# What the CLI writes when it cannot reach the nucleus, and when this user may not use it
# (aws-greengrass-cli NucleusAdapterIpcClientImpl; the stack frames are abridged, and the
# CRT error text of a refused socket is [unverified]).
NUCLEUS_DOWN = "\n".join([
    "java.lang.RuntimeException: Unable to create ipc client",
    "\tat com.aws.greengrass.cli.adapter.impl.NucleusAdapterIpcClientImpl.getIpcClient("
    "NucleusAdapterIpcClientImpl.java:296)",
    "\tat com.aws.greengrass.cli.commands.ComponentCommand.list(ComponentCommand.java:57)",
    "Caused by: java.lang.RuntimeException: java.util.concurrent.ExecutionException:"
    " software.amazon.awssdk.crt.CrtRuntimeException: socket connection refused"
    " (AWS_IO_SOCKET_CONNECTION_REFUSED)",
    "\tat com.aws.greengrass.cli.adapter.impl.NucleusAdapterIpcClientImpl"
    ".connectToGGCOverEventStreamIPC(NucleusAdapterIpcClientImpl.java:336)",
    ""])
NOT_AUTHORIZED = "\n".join([
    "java.lang.RuntimeException: Unable to create ipc client",
    "Caused by: java.io.IOException: Not able to find auth information in directory:"
    " /greengrass/v2/cli_ipc_info. Please run CLI as authorized user or group.",
    ""])


def test_the_nucleus_does_not_answer(config, tmp_path):
    reason = unreachable(config, Cli("", 1, NUCLEUS_DOWN))
    assert reason == (
        "the Greengrass nucleus does not answer the Greengrass CLI (Caused by:"
        " java.lang.RuntimeException: java.util.concurrent.ExecutionException:"
        " software.amazon.awssdk.crt.CrtRuntimeException: socket connection refused"
        " (AWS_IO_SOCKET_CONNECTION_REFUSED)): is Greengrass running? (sudo systemctl status"
        f" greengrass; its log: {tmp_path / 'gg/logs/greengrass.log'})")


def test_this_user_may_not_use_the_cli(config):
    reason = unreachable(config, Cli("", 1, NOT_AUTHORIZED))
    assert reason.startswith(
        "this user may not use the Greengrass CLI (Caused by: java.io.IOException: Not able to"
        " find auth information in directory: /greengrass/v2/cli_ipc_info.")
    assert reason.endswith("run it with sudo (greengrass_cli: sudo -n ...), or add the user to a"
                           " group named in aws.greengrass.Cli's AuthorizedPosixGroups")


def test_the_cli_takes_too_long_fails_otherwise_or_prints_nothing_useful(config, tmp_path):
    def slow(argv, timeout):
        raise subprocess.TimeoutExpired(argv, timeout)

    assert unreachable(config, slow) == (
        f"`sudo -n {tmp_path / 'gg/bin/greengrass-cli'} component list` did not answer within"
        " 60 s: is the Pi overloaded? (the CLI starts a Java VM; top shows what runs)")
    assert unreachable(config, Cli("", 2, "Error: JAVA_HOME is not set\n")) == (
        f"`sudo -n {tmp_path / 'gg/bin/greengrass-cli'} component list` failed (exit status 2):"
        " Error: JAVA_HOME is not set")
    assert unreachable(config, Cli("Usage: greengrass-cli [-hV]\n")) == (
        f"`sudo -n {tmp_path / 'gg/bin/greengrass-cli'} component list` printed no component"
        " (it printed: Usage: greengrass-cli [-hV]): is this a Greengrass V2 core?")


# ---------------------------------------------------------------- what the station needs


def test_the_weather_station_needs_these_components(weather_station):
    needed = [(r.name, r.states, r.version, r.minimum)
              for r in required_components(weather_station)]
    assert needed == [
        ("aws.greengrass.clientdevices.Auth", ("RUNNING",), None, None),
        ("aws.greengrass.clientdevices.mqtt.Moquette", ("RUNNING",), None, None),
        ("aws.greengrass.clientdevices.mqtt.Bridge", ("RUNNING",), None, "2.2.0"),
        ("aws.greengrass.ShadowManager", ("RUNNING",), None, "2.2.0"),
        ("aws.greengrass.LegacySubscriptionRouter", ("RUNNING",), None, None),
        # on demand: RUNNING while it has work, else FINISHED; pinned: RUNNING
        ("weather-station.republish", ("RUNNING", "FINISHED"), "1.0.0", None),
        ("weather-station.hello_world", ("RUNNING",), "1.0.0", None),
        ("weather-station.inference", ("RUNNING",), "1.0.0", None),
    ]
    assert nucleus_minimum(weather_station) == (
        "2.6.0", "client device shadows (device:weather-station -> GGShadowService)")


BARE = """\
name: bare
core: {thing: bare-core}
functions:
  - {name: counter, module: counter}
devices:
  - {thing: probe}
subscriptions:
  - {source: "device:probe", subject: counts/+, target: "function:counter"}
"""


def test_a_group_without_sdk_publishes_or_device_shadows_needs_less():
    bare = group_of(BARE)
    names = [r.name for r in required_components(bare)]
    assert "aws.greengrass.LegacySubscriptionRouter" not in names
    assert names[-1] == "bare.counter"
    assert [r.minimum for r in required_components(bare)][:4] == [None] * 4
    # a device topic filter with a wildcard is a PUB_SUB wildcard event source
    assert nucleus_minimum(bare) == (
        "2.6.0", "PUB_SUB event sources with wildcards (device:probe -> function:counter on"
        " counts/+)")
    exact = group_of(BARE.replace("counts/+", "counts/now"))
    assert nucleus_minimum(exact) == ("2.2.0", "client devices")


def test_the_station_on_a_healthy_core(config, weather_station):
    components = station()
    nucleus = check_nucleus(config, weather_station, components)
    assert nucleus == Check("nucleus", True, "Greengrass nucleus 2.12.1 answers (2.6.0 or newer"
                            " for client device shadows (device:weather-station ->"
                            " GGShadowService))")
    checks = check_components(config, weather_station, components)
    assert all(check.ok for check in checks), checks
    assert by_name(checks)["component weather-station.republish"].reason == (
        "weather-station.republish 1.0.0 is FINISHED")
    assert by_name(checks)["component aws.greengrass.clientdevices.mqtt.Moquette"].reason == (
        "aws.greengrass.clientdevices.mqtt.Moquette 2.3.7 is RUNNING")


# ---------------------------------------------------------------- the nucleus


def test_a_nucleus_too_old_for_the_group(config, weather_station):
    check = check_nucleus(config, weather_station,
                          station({"aws.greengrass.Nucleus": ("2.5.6", "FINISHED")}))
    assert check == Check("nucleus", False, "the Greengrass nucleus is 2.5.6; client device"
                          " shadows (device:weather-station -> GGShadowService) need 2.6.0 or"
                          " newer: deploy a newer aws.greengrass.Nucleus (python -m harness"
                          " deploy --nucleus-version ...)")
    exact = group_of(BARE.replace("counts/+", "counts/now"))
    old = station({"aws.greengrass.Nucleus": ("2.1.0", "FINISHED")})
    assert check_nucleus(config, exact, old).reason == (
        "the Greengrass nucleus is 2.1.0; client devices need 2.2.0 or newer: deploy a newer"
        " aws.greengrass.Nucleus (python -m harness deploy --nucleus-version ...)")
    # versions compare as numbers, not text
    assert check_nucleus(config, exact,
                         station({"aws.greengrass.Nucleus": ("2.10.0", "FINISHED")})).ok


def test_no_nucleus_or_a_broken_one(config, weather_station, tmp_path):
    check = check_nucleus(config, weather_station, station({"aws.greengrass.Nucleus": None}))
    assert check.reason == (f"the Greengrass CLI lists no aws.greengrass.Nucleus: is"
                            f" {tmp_path / 'gg'} a Greengrass V2 core? (greengrass_root in"
                            " pi.yaml)")
    check = check_nucleus(config, weather_station,
                          station({"aws.greengrass.Nucleus": ("2.12.1", "BROKEN")}))
    assert not check.ok
    assert check.reason.startswith("aws.greengrass.Nucleus 2.12.1 is BROKEN (it failed three"
                                   f" times): read why in {tmp_path / 'gg/logs/greengrass.log'}")


# ---------------------------------------------------------------- components


def test_a_component_that_is_not_deployed(config, weather_station):
    checks = by_name(check_components(config, weather_station, station({
        "aws.greengrass.clientdevices.Auth": None,
        "aws.greengrass.LegacySubscriptionRouter": None})))
    assert checks["component aws.greengrass.clientdevices.Auth"] == Check(
        "component aws.greengrass.clientdevices.Auth", False,
        "aws.greengrass.clientdevices.Auth is not deployed on the core (it admits the rig's"
        " clients and the group's devices): deploy the group (python -m harness deploy"
        " --apply)")
    assert checks["component aws.greengrass.LegacySubscriptionRouter"].reason == (
        "aws.greengrass.LegacySubscriptionRouter is not deployed on the core"
        " (greengrasssdk.publish needs it (function:hello_world -> cloud)): deploy the group"
        " (python -m harness deploy --apply)")
    assert [name for name, check in checks.items() if not check.ok] == [
        "component aws.greengrass.clientdevices.Auth",
        "component aws.greengrass.LegacySubscriptionRouter"]


def test_errored_and_broken_components_name_their_state_and_log(config, weather_station,
                                                                tmp_path):
    checks = by_name(check_components(config, weather_station, station({
        "aws.greengrass.clientdevices.mqtt.Moquette": ("2.3.7", "ERRORED"),
        "weather-station.inference": ("1.0.0", "BROKEN")})))
    logs = tmp_path / "gg/logs"
    assert checks["component aws.greengrass.clientdevices.mqtt.Moquette"].reason == (
        "aws.greengrass.clientdevices.mqtt.Moquette 2.3.7 is ERRORED (the nucleus is restarting"
        f" it): read why in {logs / 'greengrass.log'}")  # a plugin: the nucleus's log
    assert checks["component weather-station.inference"].reason == (
        "weather-station.inference 1.0.0 is BROKEN (it failed three times): read why in"
        f" {logs / 'weather-station.inference.log'}, fix it, and deploy again (only a new"
        " deployment restarts a BROKEN component)")


def test_a_pinned_lambda_must_run_an_on_demand_one_may_have_finished(config, weather_station,
                                                                     tmp_path):
    checks = by_name(check_components(config, weather_station, station({
        "weather-station.inference": ("1.0.0", "FINISHED"),
        "weather-station.republish": ("1.0.0", "RUNNING"),
        "weather-station.hello_world": ("1.0.0", "STARTING")})))
    assert checks["component weather-station.republish"].ok
    assert checks["component weather-station.inference"].reason == (
        "weather-station.inference 1.0.0 is FINISHED, not RUNNING: a deployment may still be"
        " under way (greengrass-cli deployment list); if not, its log says why:"
        f" {tmp_path / 'gg/logs/weather-station.inference.log'}")
    assert checks["component weather-station.hello_world"].reason.startswith(
        "weather-station.hello_world 1.0.0 is STARTING, not RUNNING: ")
    on_demand = by_name(check_components(config, weather_station, station({
        "weather-station.republish": ("1.0.0", "INSTALLED")})))
    assert on_demand["component weather-station.republish"].reason.startswith(
        "weather-station.republish 1.0.0 is INSTALLED, not RUNNING or FINISHED: ")


def test_the_deployed_lambda_version_is_the_groups(config, weather_station):
    checks = by_name(check_components(config, weather_station, station({
        "weather-station.republish": ("2.0.0", "RUNNING")})))
    assert checks["component weather-station.republish"] == Check(
        "component weather-station.republish", False,
        "weather-station.republish is version 2.0.0 on the core, but function republish of the"
        " group compiles to 1.0.0 (Lambda version 1): deploy the group (python -m harness"
        " deploy --apply), or set the function's version in the group file to the one"
        " deployed")
    aliased = group_of(BARE.replace("{name: counter, module: counter}",
                                    "{name: counter, module: counter, version: live}"))
    check = by_name(check_components(config, aliased, station()))["component bare.counter"]
    assert check.reason == ("function counter has version 'live', an alias: a Greengrass V2"
                            " component is imported from a published version number; give its"
                            " number as version in the group file")


def test_client_device_shadows_need_a_recent_shadow_manager_and_bridge(config,
                                                                       weather_station):
    checks = by_name(check_components(config, weather_station, station({
        "aws.greengrass.ShadowManager": ("2.1.1", "RUNNING")})))
    assert checks["component aws.greengrass.ShadowManager"].reason == (
        "aws.greengrass.ShadowManager is 2.1.1; client device shadows (device:weather-station"
        " -> GGShadowService) need 2.2.0 or newer: deploy a newer one (python -m harness"
        " deploy --apply --component-version aws.greengrass.ShadowManager=<version>)")
    assert checks["component aws.greengrass.clientdevices.mqtt.Bridge"].ok


# ---------------------------------------------------------------- in the whole preflight


@pytest.fixture
def station_rig(tmp_path, monkeypatch) -> Path:
    monkeypatch.chdir(tmp_path)
    for name, content in [("certs/ca.pem", CERT), ("certs/client.pem", CERT),
                          ("certs/client.key", KEY), ("certs/rig.pem", CERT),
                          ("certs/rig.key", KEY)]:
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_bytes(content)
    return tmp_path


def station_preflight(rig: Path, *, cli: Cli, connect: Connections | None = None,
                      extra: str = "") -> dict[str, Check]:
    return by_name(preflight(config_in(rig, extra), bus_factory=lambda bus: SimulatedBME680(),
                             connect=connect or Connections(), run=cli))


def test_when_the_nucleus_does_not_answer_its_components_are_not_listed(station_rig):
    checks = station_preflight(station_rig, cli=Cli("", 1, NUCLEUS_DOWN))
    assert not checks["nucleus"].ok
    assert not [name for name in checks if name.startswith("component ")]
    assert "lambda republish" in checks  # the deployed code is checked all the same
    assert "nucleus: the Greengrass nucleus does not answer the Greengrass CLI" in skip_reason(
        list(checks.values()))


def test_the_station_preflight_lists_each_component(station_rig):
    checks = station_preflight(station_rig, cli=Cli(listing(STATION)))
    components = [name for name in checks if name.startswith("component ")]
    assert components == [f"component {r.name}"
                          for r in required_components(load_group(DEFAULT_GROUP))]
    assert all(checks[name].ok for name in [*components, "nucleus"]), checks


# ---------------------------------------------------------------- devices: client id = thing


DEVICES = """\
devices:
  bme680-sensor: {thing: bme680-sensor-rig, cert: certs/rig.pem, key: certs/rig.key}
"""


def test_each_device_connects_with_its_thing_name_where_the_client_got_in(station_rig):
    connect = Connections()
    checks = station_preflight(station_rig, cli=Cli(listing(STATION)), connect=connect,
                               extra=DEVICES)
    assert [(str(target), thing) for target, thing, _ in connect.calls] == [
        ("192.168.1.20:8883", "weather-station"), ("192.168.1.20:8883", "bme680-sensor-rig")]
    assert checks["device bme680-sensor"] == Check(
        "device bme680-sensor", True,
        "the core at 192.168.1.20:8883 accepted 'bme680-sensor-rig' (MQTT over TLS)")
    # no core, no device checks: the core check says why
    refused = ConnectionRefusedError(111, "Connection refused")
    checks = station_preflight(station_rig, cli=Cli(listing(STATION)), extra=DEVICES,
                               connect=Connections({"192.168.1.20:8883": refused}))
    assert "device bme680-sensor" not in checks and not checks["core"].ok


class RefusingClient:
    """A paho client whose broker answers CONNACK ``code`` (MQTT 3.1.1: 4 is 134 "Bad user
    name or password" in paho's reason codes): what a V2 core answers a client id that is
    not the certificate's thing."""

    ids: ClassVar[list[str]] = []

    def __init__(self, api, client_id: str, code: int = 134) -> None:
        RefusingClient.ids.append(client_id)
        self.code = code
        self.on_connect = self.on_disconnect = None

    def tls_set(self, **options) -> None: ...

    def max_queued_messages_set(self, count: int) -> None: ...

    def connect(self, host: str, port: int, keepalive: int) -> None: ...

    def loop_start(self) -> None:
        self.on_connect(self, None, None, ReasonCode(PacketTypes.CONNACK, identifier=self.code),
                        None)

    def disconnect(self) -> None: ...

    def loop_stop(self) -> None: ...


def refusing_connect(target: CoreTarget, config: PiConfig, timeout: float) -> None:
    """The preflight's connect (device.greengrass_connect's connector) against a broker that
    refuses every CONNECT."""
    client = config.client
    connect = mqtt_connector(client.thing, str(client.cert), str(client.key), timeout=timeout,
                             client_class=RefusingClient)
    connect(target.host, target.port, str(target.ca))


def test_a_core_that_refuses_the_client_id_says_what_to_attach(station_rig):
    RefusingClient.ids = []
    config = config_in(station_rig, DEVICES)
    check = check_core(config, connect=refusing_connect)
    assert check == Check("core", False, (
        "no core at 192.168.1.20:8883: 192.168.1.20:8883 refused the connection: Bad user name"
        " or password: a Greengrass V2 core admits a client only when its client id is the"
        " name of the thing its certificate is attached to: attach the certificate"
        f" {station_rig / 'certs/client.pem'} to thing 'weather-station' (or fix"
        " client.thing), and let the client device auth policy allow mqtt:connect on"
        " mqtt:clientId:weather-station"))
    target = CoreTarget("192.168.1.20", 8883, station_rig / "certs/ca.pem")
    [device] = check_devices(config, target, connect=refusing_connect)
    assert device.name == "device bme680-sensor" and not device.ok
    assert device.reason.startswith(
        "the core at 192.168.1.20:8883 did not accept 'bme680-sensor-rig': 192.168.1.20:8883"
        " refused the connection: Bad user name or password: a Greengrass V2 core admits")
    assert device.reason.endswith(
        f"attach the certificate {station_rig / 'certs/rig.pem'} to thing 'bme680-sensor-rig'"
        " (or fix devices.bme680-sensor.thing), and let the client device auth policy allow"
        " mqtt:connect on mqtt:clientId:bme680-sensor-rig")
    assert RefusingClient.ids == ["weather-station", "bme680-sensor-rig"]  # the thing names


# ---------------------------------------------------------------- discovery's V2 answer


def test_discovery_of_a_v2_core_device(tmp_path):
    """On V2 each core device is its own group, ``greengrassV2-coreDevice-<core thing>``
    (greengrass-v2-topology.md §1.5): the preflight's discovery takes its address and CA."""
    pytest.importorskip("cryptography")
    from harness.rigs.discovery import DiscoveryEndpoint
    from harness.rigs.pki import RunPki

    pki = RunPki.create(tmp_path / "pki", things=["weather-station"],
                        core_thing="weather-station-core")
    cert, key = pki.client("weather-station")
    with DiscoveryEndpoint(
        pki, group_id="greengrassV2-coreDevice-weather-station-core",
        core_thing_arn="arn:aws:iot:us-east-1:123456789012:thing/weather-station-core",
        connectivity=[("192.168.1.20", 8883), ("gg-core.local", 8883)],
        things=["weather-station"],
    ) as endpoint:
        config = config_in(tmp_path, (
            f"discovery: {{endpoint: {endpoint.host}, port: {endpoint.port},"
            f" root_ca: {pki.root_ca}}}\n"),
            **{"core: {host: 192.168.1.20, ca: certs/ca.pem}\n": "",
               "certs/client.pem": str(cert), "certs/client.key": str(key)})
        folder = tmp_path / "cas"
        folder.mkdir()
        targets = discover_cores(config, folder, 5.0)
        assert [str(target) for target in targets] == ["192.168.1.20:8883",
                                                       "gg-core.local:8883"]
        assert targets[0].ca == targets[1].ca
        assert targets[0].ca.read_text() == pki.group_ca_pem
        assert "greengrassV2-coreDevice-weather-station-core" in targets[0].ca.name
        check = check_core(config, connect=Connections(), timeout=5.0)
        assert check == Check("core", True, "the core at 192.168.1.20:8883 accepted"
                              " 'weather-station' (MQTT over TLS)")
        assert endpoint.requests == [("weather-station", 200)] * 2


def test_run_command_runs_without_a_shell(tmp_path):
    from harness.rigs.preflight import run_command

    result = run_command(["sh", "-c", "echo out; echo err >&2; exit 3"], 10.0)
    assert result == CommandResult(3, "out\n", "err\n")
    with pytest.raises(FileNotFoundError):
        run_command([str(tmp_path / "no-such-cli"), "component", "list"], 10.0)
