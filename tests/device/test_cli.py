"""``python -m device``: arguments, environment variables, --dry-run and the connected run."""

from __future__ import annotations

import io
import json
import logging
from pathlib import Path

import pytest
import smbus2

from device.__main__ import Config, main, parse_args
from device.greengrass_connect import DiscoveryRequestError
from device.loop import Counters
from device.recorder import read_trace
from tests.device.doubles import EIO, NO_DATA, OK, FakeClock, ScriptedWorld

CONNECT_ARGS = [
    "--endpoint", "greengrass-ats.iot.us-east-1.amazonaws.com",
    "--thing", "bme680-sensor",
    "--cert", "/etc/bme680/device.pem.crt",
    "--key", "/etc/bme680/device.pem.key",
    "--root-ca", "/etc/bme680/AmazonRootCA1.pem",
]  # fmt: skip
CONNECT_ENV = {
    "BME680_ENDPOINT": "greengrass-ats.iot.us-east-1.amazonaws.com",
    "BME680_THING": "bme680-sensor",
    "BME680_CERT": "/etc/bme680/device.pem.crt",
    "BME680_KEY": "/etc/bme680/device.pem.key",
    "BME680_ROOT_CA": "/etc/bme680/AmazonRootCA1.pem",
}


def test_command_line() -> None:
    config = parse_args(
        [*CONNECT_ARGS, "--period", "2.5", "--count", "10", "--record", "t.csv", "--i2c-bus",
         "3", "--discovery-port", "443", "--ca-dir", "/var/lib/bme680", "--log-level", "debug"],
        environ={},
    )  # fmt: skip
    assert config == Config(
        endpoint="greengrass-ats.iot.us-east-1.amazonaws.com",
        discovery_port=443,
        thing="bme680-sensor",
        cert="/etc/bme680/device.pem.crt",
        key="/etc/bme680/device.pem.key",
        root_ca="/etc/bme680/AmazonRootCA1.pem",
        ca_dir="/var/lib/bme680",
        period=2.5,
        count=10,
        record="t.csv",
        i2c_bus=3,
        dry_run=False,
        log_level="DEBUG",
    )


def test_defaults() -> None:
    config = parse_args(CONNECT_ARGS, environ={})
    assert (config.period, config.count, config.record, config.i2c_bus) == (5.0, None, None, 1)
    assert (config.discovery_port, config.ca_dir, config.dry_run) == (8443, ".", False)


def test_environment_alone_is_enough() -> None:
    environ = {**CONNECT_ENV, "BME680_PERIOD": "7", "BME680_COUNT": "3",
               "BME680_RECORD": "trace.jsonl", "BME680_I2C_BUS": "0"}  # fmt: skip
    expected = {**vars(parse_args(CONNECT_ARGS, environ={})), "period": 7.0, "count": 3}
    expected.update(record="trace.jsonl", i2c_bus=0)
    assert parse_args([], environ) == Config(**expected)


def test_the_command_line_wins_over_the_environment() -> None:
    environ = {**CONNECT_ENV, "BME680_PERIOD": "7", "BME680_THING": "other"}
    config = parse_args(["--period", "1", "--thing", "bme680-sensor"], environ)
    assert (config.period, config.thing) == (1.0, "bme680-sensor")


def test_ca_dir_defaults_to_systemd_state_directory() -> None:
    environ = {**CONNECT_ENV, "STATE_DIRECTORY": "/var/lib/bme680-device:/var/lib/other"}
    assert parse_args([], environ).ca_dir == "/var/lib/bme680-device"
    assert parse_args([], {**environ, "BME680_CA_DIR": "/opt/ca"}).ca_dir == "/opt/ca"


@pytest.mark.parametrize("word", ["1", "true", "YES", "on"])
def test_dry_run_from_the_environment(word: str) -> None:
    assert parse_args([], {"BME680_DRY_RUN": word}).dry_run is True


def test_missing_settings_are_listed_with_their_variables(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit) as caught:
        parse_args(["--endpoint", "e", "--thing", "t"], environ={})
    assert caught.value.code == 2
    error = capsys.readouterr().err
    assert "--cert (BME680_CERT), --key (BME680_KEY), --root-ca (BME680_ROOT_CA)" in error
    assert "--endpoint" not in error.split("error:")[1]


@pytest.mark.parametrize(
    ("argv", "environ", "message"),
    [
        (["--period", "0"], {}, "not a positive number"),
        (["--period", "soon"], {}, "not a number"),
        (["--count", "0"], {}, "less than 1"),
        (["--record", "trace.txt"], {}, "unknown trace format '.txt'"),
        (["--log-level", "loud"], {}, "not one of DEBUG"),
        ([], {"BME680_PERIOD": "-5"}, "BME680_PERIOD='-5': '-5' is not a positive number"),
        ([], {"BME680_COUNT": "many"}, "BME680_COUNT='many'"),
        ([], {"BME680_DRY_RUN": "maybe"}, "BME680_DRY_RUN='maybe'"),
        ([], {"BME680_DISCOVERY_PORT": "70000"}, "not a port number"),
    ],
)
def test_bad_values_are_usage_errors(
    capsys: pytest.CaptureFixture[str], argv: list[str], environ: dict[str, str], message: str
) -> None:
    dry_run = [] if "BME680_DRY_RUN" in environ else ["--dry-run"]  # the command line wins
    with pytest.raises(SystemExit) as caught:
        parse_args([*argv, *dry_run], environ)
    assert caught.value.code == 2
    assert message in capsys.readouterr().err


def test_dry_run_prints_the_messages(tmp_path: Path) -> None:
    clock = FakeClock()
    world = ScriptedWorld([OK, EIO, NO_DATA, OK], clock)
    out = io.StringIO()
    trace = tmp_path / "trace.jsonl"
    status = main(
        ["--dry-run", "--count", "4", "--period", "2", "--record", str(trace)],
        world.factory,
        clock=clock,
        stdout=out,
        environ={},
    )
    assert status == 0
    lines = out.getvalue().splitlines()
    topics = [line.split(" ", 1)[0] for line in lines]
    messages = [json.loads(line.split(" ", 1)[1]) for line in lines]
    assert topics == ["bme680/readings"] * 4
    assert [m["sequence"] for m in messages] == [1, 2, 3, 4]
    assert [m["message"] for m in messages] == ["Success", "Fail", "Fail", "Success"]
    assert messages[1]["temperature"] is None
    assert clock.sleeps == [2.0, 2.0, 2.0]
    assert [r.status for r in read_trace(trace)] == ["Success", "Fail", "Fail", "Success"]


def test_dry_run_uses_the_chosen_i2c_bus(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def smbus(number: int) -> None:
        raise FileNotFoundError(2, "No such file or directory", f"/dev/i2c-{number}")

    monkeypatch.setattr(smbus2, "SMBus", smbus)
    out = io.StringIO()
    with caplog.at_level(logging.WARNING):
        status = main(["--dry-run", "--count", "1", "--i2c-bus", "4"], clock=FakeClock(),
                      stdout=out, environ={})  # fmt: skip
    assert status == 0
    assert json.loads(out.getvalue().split(" ", 1)[1])["message"] == "Fail"
    assert "no I2C bus /dev/i2c-4" in caplog.text


class FakePublisher:
    def __init__(self) -> None:
        self.messages: list[tuple[str, bytes]] = []
        self.closed = False

    def publish(self, topic: str, payload: bytes) -> None:
        self.messages.append((topic, payload))

    def close(self) -> None:
        self.closed = True


def test_connected_run_publishes_through_what_connect_returns() -> None:
    clock = FakeClock()
    world = ScriptedWorld([OK, OK, OK], clock)
    publisher = FakePublisher()
    given: list[Config] = []

    def connect(config: Config) -> FakePublisher:
        given.append(config)
        return publisher

    counters = Counters()
    status = main(["--count", "3"], world.factory, clock=clock, environ=CONNECT_ENV,
                  connect=connect, counters=counters)  # fmt: skip
    assert status == 0
    assert given[0].thing == "bme680-sensor" and given[0].endpoint == CONNECT_ENV["BME680_ENDPOINT"]
    assert [json.loads(p)["sequence"] for _, p in publisher.messages] == [1, 2, 3]
    assert publisher.closed
    assert counters.published == 3


def test_a_failed_discovery_exits_with_1(caplog: pytest.LogCaptureFixture) -> None:
    clock = FakeClock()
    world = ScriptedWorld([], clock)

    def connect(config: Config) -> FakePublisher:
        raise DiscoveryRequestError("discovery answered HTTP 403 Forbidden", status=403)

    status = main([], world.factory, clock=clock, environ=CONNECT_ENV, connect=connect)
    assert status == 1
    assert world.factory_calls == 0  # the sensor is not touched
    assert "cannot reach the Greengrass core: discovery answered HTTP 403" in caplog.text


def test_an_interrupt_ends_the_run_cleanly(tmp_path: Path) -> None:
    clock = FakeClock()
    world = ScriptedWorld([OK, OK, OK], clock)
    publisher = FakePublisher()

    def interrupting_sleep(seconds: float) -> None:
        raise KeyboardInterrupt  # Ctrl+C, or SIGTERM from systemd

    clock.sleep = interrupting_sleep  # type: ignore[method-assign]
    trace = tmp_path / "trace.csv"
    status = main(["--record", str(trace)], world.factory, clock=clock, environ=CONNECT_ENV,
                  connect=lambda config: publisher)  # fmt: skip
    assert status == 0
    assert len(publisher.messages) == 1 and publisher.closed
    assert len(list(read_trace(trace))) == 1
    assert world.sensors[0].closed


def test_an_unwritable_trace_file_exits_with_1_before_connecting(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    clock = FakeClock()
    world = ScriptedWorld([], clock)
    connected: list[Config] = []
    trace = tmp_path / "missing-folder" / "trace.csv"
    status = main(["--record", str(trace)], world.factory, clock=clock, environ=CONNECT_ENV,
                  connect=connected.append)  # fmt: skip
    assert status == 1
    assert connected == [] and world.factory_calls == 0
    assert "cannot open the trace file" in caplog.text
