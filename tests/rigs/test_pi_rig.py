"""The pi rig off the Pi: what makes it unavailable is said exactly; what it can do decides
which scenarios skip there, and why."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.rigs.base import RigUnavailable
from harness.rigs.pi import PiRig
from harness.rigs.pi_config import load_pi_config
from harness.scenarios import load_scenario
from harness.scenarios.needs import missing

ROOT = Path(__file__).resolve().parents[2]

CONFIG = """\
core: {{host: 127.0.0.1, port: 1, ca: ca.pem}}
client: {{thing: weather-station, cert: ws.pem, key: ws.key}}
lock_file: {lock}
restart_command: {restart}
greengrass_cli: {cli}
"""


def _config(tmp_path: Path, restart: str = "sudo systemctl restart greengrass") -> Path:
    """A config for no Pi: its Greengrass CLI is not there (the preflight runs no sudo)."""
    path = tmp_path / "pi.yaml"
    path.write_text(CONFIG.format(lock=tmp_path / "pi.lock", restart=restart,
                                  cli=tmp_path / "no-greengrass-cli"))
    return path


def test_a_missing_config_makes_the_rig_unavailable_and_says_where_it_looked(
        tmp_path: Path) -> None:
    with pytest.raises(RigUnavailable, match=r"pi\.yaml"):
        PiRig.from_config(tmp_path / "pi.yaml")


def test_a_failed_preflight_is_the_skip_reason(tmp_path: Path) -> None:
    with pytest.raises(RigUnavailable) as raised:
        PiRig.from_config(_config(tmp_path))
    message = str(raised.value)
    assert message.startswith("pi rig preflight failed")
    assert "ws.pem" in message  # the certificate that is not there
    assert (f"nucleus: the Greengrass CLI is not installed at {tmp_path / 'no-greengrass-cli'}"
            in message)


def test_the_lock_is_released_when_the_preflight_fails(tmp_path: Path) -> None:
    for _ in range(2):  # a second attempt does not wait for the first one's lock
        with pytest.raises(RigUnavailable, match="preflight"):
            PiRig.from_config(_config(tmp_path))


def test_scenarios_that_set_the_air_or_inject_faults_skip_on_the_pi(tmp_path: Path) -> None:
    rig = PiRig(load_pi_config(_config(tmp_path)))
    assert "core_restart" in rig.capabilities
    burst = load_scenario(ROOT / "scenarios" / "i2c_fault_burst.yaml")
    reasons = missing(burst, rig.capabilities)
    assert "it injects sensor faults (sensor_faults)" in reasons
    assert "it sets the air the sensor sees (set_environment)" in reasons
    no_restart = PiRig(load_pi_config(_config(tmp_path, restart="null")))
    restart = load_scenario(ROOT / "scenarios" / "core_restart.yaml")
    assert "it restarts the Greengrass core (core_restart)" in missing(restart,
                                                                      no_restart.capabilities)


def test_an_identity_the_config_lacks_is_named(tmp_path: Path) -> None:
    rig = PiRig(load_pi_config(_config(tmp_path)))
    with pytest.raises(RigUnavailable, match="no identity for 'bme680-sensor'"):
        rig.identity("bme680-sensor")


def test_a_functions_log_is_its_v2_components(tmp_path: Path) -> None:
    """On a V2 core a Lambda logs to <root>/logs/<group>.<function>.log."""
    from types import SimpleNamespace

    from harness.rigs.pi import PiSession

    path = _config(tmp_path)
    path.write_text(path.read_text() + f"greengrass_root: {tmp_path / 'gg'}\n")
    config = load_pi_config(path)
    rig = PiRig(config)
    assert rig.log_name("republish") == "weather-station.republish"
    assert rig.log_name("greengrass") == "greengrass"  # not a function: as it is
    logs = config.greengrass_root / "logs"
    assert logs == tmp_path / "gg/logs"
    logs.mkdir(parents=True)
    (logs / "weather-station.republish.log").write_text("first\nsecond\n")
    (logs / "republish.log").write_text("a V1 core's\n")
    session = SimpleNamespace(rig=rig)
    assert PiSession.logs(session, "republish") == ["first", "second"]  # type: ignore[arg-type]
    assert PiSession.logs(session, "inference") == []  # type: ignore[arg-type]
