"""The pi rig's config file: defaults, relative paths, and file:line errors."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from harness.rigs.pi_config import (
    CONFIG_ENV,
    DEFAULT_CONFIG,
    EXAMPLE_CONFIG,
    PiConfig,
    PiConfigError,
    PiConfigNotFound,
    load_pi_config,
    locate_pi_config,
)

MINIMAL = """\
core:
  host: 192.168.1.20
  ca: certs/group-ca.pem
client:
  cert: certs/client.pem
  key: certs/client.key
"""


def write(folder: Path, text: str, name: str = "pi.yaml") -> Path:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def problems(path: Path) -> list[str]:
    with pytest.raises(PiConfigError) as caught:
        load_pi_config(path)
    return [f"{problem.line}: {problem.path}: {problem.message}"
            for problem in caught.value.problems]


def test_the_defaults_fit_the_weather_station(tmp_path):
    config = load_pi_config(write(tmp_path, MINIMAL))
    assert config.core is not None and config.discovery is None
    assert (config.core.host, config.core.port) == ("192.168.1.20", 8883)
    assert config.client.thing == "weather-station"
    assert config.shadow_thing == "weather-station"
    assert (config.sensor.bus, config.sensor.address, config.sensor.device) == (
        1, 0x76, "/dev/i2c-1")
    assert config.greengrass_root == Path("/greengrass/v2")
    assert config.lambdas == {}
    assert config.restart_command == "sudo systemctl restart greengrass"
    assert config.restart_argv == ["sudo", "systemctl", "restart", "greengrass"]
    assert config.timing_factor == 3.0
    assert config.lock_file == Path("/tmp/gg-harness-pi.lock")
    assert config.source == tmp_path / "pi.yaml"
    # a Greengrass V2 core: its CLI run locally with sudo, its Moquette broker on MQTT 3.1.1
    assert config.greengrass_cli is None
    assert config.greengrass_cli_argv == ["sudo", "-n", "/greengrass/v2/bin/greengrass-cli"]
    assert config.mqtt_protocol == "mqtt3"
    assert config.deployed_glob == (
        "packages/artifacts-unarchived/{component}/{version}/**/{module}.py")


def test_relative_paths_are_taken_from_the_files_folder_not_the_working_directory(
    tmp_path, monkeypatch
):
    write(tmp_path / "rig", MINIMAL + textwrap.dedent("""\
        greengrass_root: gg
        lambdas:
          republish: deployed/republish.py
          hello_world: /opt/hello_world.py
          inference: null
        lock_file: run/pi.lock
        """))
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    config = load_pi_config(Path("..") / "rig" / "pi.yaml")
    rig = (tmp_path / "rig").resolve()
    assert config.core is not None and config.core.ca == rig / "certs/group-ca.pem"
    assert config.client.cert == rig / "certs/client.pem"
    assert config.client.key == rig / "certs/client.key"
    assert config.greengrass_root == rig / "gg"
    assert config.lambdas == {"republish": rig / "deployed/republish.py",
                              "hello_world": Path("/opt/hello_world.py"), "inference": None}
    assert config.lock_file == rig / "run/pi.lock"
    assert config.files() == {"client.cert": rig / "certs/client.pem",
                              "client.key": rig / "certs/client.key",
                              "core.ca": rig / "certs/group-ca.pem"}


def test_home_is_expanded(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    config = load_pi_config(write(tmp_path, MINIMAL.replace("certs/client.key", "~/k.pem")))
    assert config.client.key == tmp_path / "home" / "k.pem"


def test_discovery_instead_of_a_known_core(tmp_path):
    config = load_pi_config(write(tmp_path, """\
        discovery:
          endpoint: greengrass-ats.iot.eu-west-1.amazonaws.com
          root_ca: AmazonRootCA1.pem
        client: {thing: tester, cert: c.pem, key: k.pem}
        sensor: {bus: 3, address: 0x77}
        restart_command: null
        timing_factor: 5
        """))
    assert config.core is None and config.discovery is not None
    assert config.discovery.port == 8443
    assert config.discovery.root_ca == tmp_path / "AmazonRootCA1.pem"
    assert config.files()["discovery.root_ca"] == tmp_path / "AmazonRootCA1.pem"
    assert (config.sensor.device, config.sensor.address) == ("/dev/i2c-3", 0x77)
    assert config.restart_command is None and config.restart_argv is None
    assert config.timing_factor == 5.0


def test_neither_core_nor_discovery_is_an_error_at_the_top(tmp_path):
    path = write(tmp_path, """\
        # no way to the core
        client: {cert: c.pem, key: k.pem}
        """)
    assert problems(path) == [
        "2: (pi config): say how to reach the core: either core (host, port, ca) or discovery"
        " (endpoint, port, root_ca)"
    ]


def test_core_and_discovery_together_is_an_error_at_discovery(tmp_path):
    path = write(tmp_path, MINIMAL + textwrap.dedent("""\
        discovery:
          endpoint: greengrass-ats.iot.us-east-1.amazonaws.com
          root_ca: AmazonRootCA1.pem
        """))
    assert problems(path) == [
        "7: discovery: core and discovery are both given: keep one (core: the core's known"
        " address; discovery: ask the discovery service for it)"
    ]


def test_every_problem_is_reported_with_its_line(tmp_path):
    path = write(tmp_path, """\
        core:
          host: 192.168.1.20:8883
          port: "8883"
          ca: 5
        client:
          cert: c.pem
          kee: k.pem
        sensor:
          bus: -1
          address: 0x78
        timing_factor: 0.5
        restart_command: ""
        lambdas: {"not a name": x.py}
        frobnicate: 1
        """)
    assert problems(path) == [
        "2: core.host: '192.168.1.20:8883': give the port in the 'port' field, not in the host",
        "3: core.port: must be a valid integer, not the string '8883'",
        "4: core.ca: must be a path (text), not the number 5",
        "5: client.key: required field is missing",
        "7: client.kee: unknown field (did you mean 'key'?) (allowed here: thing, cert, key)",
        "9: sensor.bus: must be greater than or equal to 0 (got -1)",
        "10: sensor.address: 0x78 is not a BME680 address: 0x76 (SDO to GND) or 0x77"
        " (SDO to VDDIO)",
        "11: timing_factor: must be greater than or equal to 1 (got 0.5)",
        "12: restart_command: must not be empty: give the command, or null when the rig may"
        " not restart the core",
        "13: lambdas.not a name: key 'not a name' is not a valid Lambda function name: 1-64"
        " letters, digits, '-' or '_'",
        "14: frobnicate: unknown field (allowed here: core, discovery, client, devices,"
        " shadow_thing, sensor, greengrass_root, lambdas, deployed_glob, greengrass_cli,"
        " mqtt_protocol, restart_command, timing_factor, lock_file)",
    ]


def test_the_message_names_the_file_and_line(tmp_path):
    path = write(tmp_path, MINIMAL + "timing_factor: yes\n")
    with pytest.raises(PiConfigError) as caught:
        load_pi_config(path)
    assert str(caught.value) == (
        f"{path}:7: timing_factor: must be a valid number, not the boolean True"
    )


def test_a_discovery_endpoint_is_a_host_name(tmp_path):
    path = write(tmp_path, """\
        discovery:
          endpoint: https://greengrass-ats.iot.us-east-1.amazonaws.com
          root_ca: ca.pem
        client: {cert: c.pem, key: k.pem}
        """)
    assert problems(path) == [
        "2: discovery.endpoint: 'https://greengrass-ats.iot.us-east-1.amazonaws.com': give the"
        " discovery endpoint alone, without scheme or path (e.g."
        " greengrass-ats.iot.us-east-1.amazonaws.com)"
    ]


def test_duplicate_keys_and_invalid_yaml_are_reported(tmp_path):
    assert problems(write(tmp_path, MINIMAL + "shadow_thing: a\nshadow_thing: b\n")) == [
        "8: shadow_thing: duplicate key (first on line 7): YAML keeps the last"
    ]
    # libyaml's wording ("did not find expected ',' or ']'") or PyYAML's ("expected ',' or
    # ']', but got '<stream end>'"): the loader uses libyaml where PyYAML has it
    (unclosed,) = problems(write(tmp_path, "core: [unclosed\n"))
    assert unclosed.startswith("2: (yaml): invalid YAML: ") and "expected ',' or ']'" in unclosed
    assert problems(write(tmp_path, "- a list\n")) == [
        "1: (pi config): the file must hold a mapping of pi config fields, not a list"
    ]


def test_a_missing_file_says_where_it_looked_and_points_to_the_example(tmp_path, monkeypatch):
    missing = tmp_path / "nowhere" / "pi.yaml"
    with pytest.raises(PiConfigNotFound) as caught:
        load_pi_config(missing)
    message = str(caught.value)
    assert message.startswith(f"no pi rig config at {missing}: copy ")
    assert "pi.example.yaml to " in message and "HIL_PI_CONFIG" in message

    monkeypatch.setenv(CONFIG_ENV, str(missing))
    with pytest.raises(PiConfigNotFound, match=r"pi\.yaml \(from HIL_PI_CONFIG\): copy "):
        load_pi_config()

    monkeypatch.delenv(CONFIG_ENV)
    monkeypatch.setattr("harness.rigs.pi_config.DEFAULT_CONFIG", missing)
    with pytest.raises(PiConfigNotFound, match=r"\(the default: neither --pi-config nor"
                       r" HIL_PI_CONFIG names a file\)"):
        load_pi_config()


def test_the_option_wins_over_the_environment_which_wins_over_the_default():
    env = {CONFIG_ENV: "/etc/pi.yaml"}
    assert locate_pi_config("mine.yaml", env) == (Path("mine.yaml"), "--pi-config")
    assert locate_pi_config(None, env) == (Path("/etc/pi.yaml"), CONFIG_ENV)
    assert locate_pi_config(None, {}) == (DEFAULT_CONFIG, "the default")
    assert DEFAULT_CONFIG.parent == EXAMPLE_CONFIG.parent and DEFAULT_CONFIG.name == "pi.yaml"


def test_the_shipped_example_is_valid():
    config = load_pi_config(EXAMPLE_CONFIG)
    hil = EXAMPLE_CONFIG.parent
    assert config.core is not None and config.core.ca == hil / "certs" / "group-ca.pem"
    assert config.client.key == hil / "certs" / "weather-station.private.key"
    assert config.lambdas == {"republish": None}


def test_built_in_python_without_a_file():
    config = PiConfig.model_validate({
        "core": {"host": "gg-core.local", "ca": Path("/certs/ca.pem")},
        "client": {"cert": "relative.pem", "key": "/k.pem"},
    })
    assert config.client.cert == Path("relative.pem")  # no file: nothing to resolve against
    assert config.source is None


def test_the_greengrass_cli_follows_the_root_or_is_given_as_a_command(tmp_path):
    config = load_pi_config(write(tmp_path, MINIMAL + "greengrass_root: /opt/gg\n"))
    assert config.greengrass_cli_argv == ["sudo", "-n", "/opt/gg/bin/greengrass-cli"]
    config = load_pi_config(write(tmp_path, MINIMAL + textwrap.dedent("""\
        greengrass_cli: ssh -o BatchMode=yes 'pi@gg core' sudo -n /greengrass/v2/bin/greengrass-cli
        mqtt_protocol: mqtt5
        """)))
    assert config.greengrass_cli_argv == ["ssh", "-o", "BatchMode=yes", "pi@gg core", "sudo",
                                          "-n", "/greengrass/v2/bin/greengrass-cli"]
    assert config.mqtt_protocol == "mqtt5"


def test_v2_settings_that_cannot_work_are_reported(tmp_path):
    path = write(tmp_path, MINIMAL + textwrap.dedent("""\
        greengrass_cli: "sudo 'unclosed"
        mqtt_protocol: 5
        deployed_glob: packages/{component}/{name}.py
        """))
    found = problems(path)
    assert found[0] == ("7: greengrass_cli: cannot be split into arguments as a shell would:"
                        " No closing quotation")
    assert found[1].startswith("8: mqtt_protocol: ")
    assert "'mqtt3'" in found[1] and "'mqtt5'" in found[1]
    assert found[2] == ("9: deployed_glob: 'packages/{component}/{name}.py' names {name}: only"
                        " {component}, {version} and {module} are filled in")
    for glob, message in [
        ("packages/{component}/x.py", "does not name the file: it must hold {module}"),
        ("/greengrass/v2/{module}.py", "is taken from greengrass_root: give it without the"
                                       " leading / or ~"),
        ("packages/{module.py", "is not a template"),
    ]:
        found = problems(write(tmp_path, MINIMAL + f"deployed_glob: '{glob}'\n"))
        assert len(found) == 1 and found[0].startswith("7: deployed_glob: "), found
        assert message in found[0], found
