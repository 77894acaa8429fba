"""The pi rig's code path against an emulated Pi: its config points at the broker rig's
Mosquitto (the harness core pumped in a thread of its own, the device program reading a
simulated chip), so everything the pi rig does over MQTT runs here as it would on a Pi.

The emulated core is a V2 core: its client device auth carries the policy hil/README.md
("Client devices") tells a Pi's deployment to give the rig's ``client`` thing, on top of the
group's compiled one: subscribe ``#`` and ``$aws/things/#``, filters CDA compares literally.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from device.readings import Measurement, encode, reading_message
from harness.group import load_group
from harness.rigs.base import RigUnavailable
from harness.rigs.mqtt_client import MQTT3
from harness.rigs.pi import LISTENER_TOPICS, PiRig, PiSession
from harness.rigs.pi_config import load_pi_config
from harness.rigs.preflight import check_core
from harness.simulation import DEFAULT_GROUP
from harness.v2.deployment import CLIENT_DEVICE_AUTH, compile_group

CONFIG = """\
core: {{host: {host}, port: {port}, ca: {ca}}}
client: {{thing: weather-station, cert: {ws_cert}, key: {ws_key}}}
devices:
  bme680-sensor: {{thing: bme680-sensor-rig, cert: {s_cert}, key: {s_key}}}
greengrass_root: {root}
restart_command: null
timing_factor: 1.0
lock_file: {lock}
"""


def pi_rig_group(folder: Path) -> Path:
    """The shipped group with its compiled client device auth pasted, plus what the pi
    rig's listener (as weather-station) subscribes to."""
    auth = compile_group(load_group(DEFAULT_GROUP)).configuration(CLIENT_DEVICE_AUTH)
    policy = auth["deviceGroups"]["policies"]["weather-station-policy"]
    policy["Listener"] = {"operations": ["mqtt:subscribe"],
                          "resources": [f"mqtt:topicfilter:{f}" for f in LISTENER_TOPICS]}
    document = yaml.safe_load(DEFAULT_GROUP.read_text())
    document["client_devices"]["auth"] = auth
    path = folder / "group.yaml"
    path.write_text(yaml.safe_dump(document))
    return path


@pytest.fixture(scope="module")
def emulated_pi(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    from harness.rigs.broker import BrokerRig

    group = pi_rig_group(tmp_path_factory.mktemp("pi-rig-group"))
    try:
        rig = BrokerRig.start(group, code_dir=DEFAULT_GROUP.parent)
    except RigUnavailable as error:
        pytest.skip(str(error))
    ready, stop = threading.Event(), threading.Event()
    failure: list[BaseException] = []

    def pump() -> None:  # the core's simulation lives and runs in this thread only
        try:
            session = rig.station()
        except BaseException as error:
            failure.append(error)
            ready.set()
            return
        ready.set()
        try:
            while not stop.is_set():
                session.wait_until(stop.is_set, timeout=0.2 * session.scale)
        finally:
            session.close()

    thread = threading.Thread(target=pump, name="emulated core", daemon=True)
    thread.start()
    assert ready.wait(60), "the emulated core did not start"
    if failure:
        raise failure[0]
    folder = tmp_path_factory.mktemp("pi")
    # As on a Greengrass V2 core, the pi rig connects once per thing, the thing name as client
    # id; it injects readings as a thing of its own (bme680-sensor-rig), since the station's
    # device program is connected as bme680-sensor. On the broker rig a helper certificate
    # for bme680-sensor stands in for that thing's (the broker knows the group's things only;
    # client device auth holds it to bme680-sensor's policy), and its client id is the thing
    # name the config gives.
    ws_cert, ws_key = rig.pki.helper("weather-station")
    s_cert, s_key = rig.pki.helper("bme680-sensor")
    config = folder / "pi.yaml"
    config.write_text(CONFIG.format(host=rig.mosquitto.host, port=rig.mosquitto.port,
                                    ca=rig.pki.group_ca, ws_cert=ws_cert, ws_key=ws_key,
                                    s_cert=s_cert, s_key=s_key, root=folder / "greengrass",
                                    lock=folder / "pi.lock"))
    yield load_pi_config(config)
    stop.set()
    thread.join(30)
    rig.close()


@pytest.fixture
def pi_session(emulated_pi: Any) -> Iterator[PiSession]:
    session = PiRig(emulated_pi).station()
    yield session
    session.close()


def test_the_preflight_finds_the_core_answering(emulated_pi: Any) -> None:
    check = check_core(emulated_pi, timeout=10.0)
    assert check.ok, check.reason


def test_the_pi_rig_reads_the_live_shadow_over_mqtt(pi_session: PiSession) -> None:
    assert pi_session.wait_until(
        lambda: (pi_session.shadow("weather-station") or {}).get("state", {})
        .get("reported", {}).get("message") == "Success", timeout=30)
    reported = pi_session.shadow("weather-station")["state"]["reported"]  # type: ignore[index]
    assert reported["pressure"] == pytest.approx(1012.5, abs=0.5)
    # what the weather-station identity may read was seen by the rig's listener: the
    # updates republish made (a Lambda's synchronous GET is answered to it alone)
    assert pi_session.messages("$aws/things/weather-station/shadow/update/accepted")


def test_the_pi_rig_injects_a_reading_as_the_sensor_device(pi_session: PiSession) -> None:
    reading = reading_message(777_001, Measurement(temperature=20.0, pressure=1001.0,
                                                   humidity=70.0))
    pi_session.publish("device:bme680-sensor", "bme680/readings", encode(reading))

    def reported() -> bool:  # the station's own device keeps publishing: look at the updates
        return any(json.loads(m.payload).get("state", {}).get("reported", {})
                   .get("sequence") == 777_001
                   for m in pi_session.messages(
                       "$aws/things/weather-station/shadow/update/accepted"))

    assert pi_session.wait_until(reported, timeout=30)
    # one connection per thing, client id = thing name, over MQTT 3.1.1 (the V2 core's
    # Moquette): the listener's and the sensor identity's
    client_ids = {thing: connection.client._client_id.decode()
                  for thing, connection in pi_session._connections.items()}
    assert client_ids == {"weather-station": "weather-station",
                          "bme680-sensor-rig": "bme680-sensor-rig"}
    assert {c.client.protocol for c in pi_session._connections.values()} == {MQTT3}


def test_the_pi_rig_round_trips_the_shadow_and_says_what_it_cannot_do(
        pi_session: PiSession) -> None:
    client = pi_session.shadow_client("weather-station")
    assert client.client is pi_session.client("weather-station")  # the listener's connection
    outcome, accepted = client.update({"desired": {"pi_rig": 1}})
    assert outcome == "accepted", accepted
    assert list(pi_session._connections) == ["weather-station"]
    assert client.get()[1]["state"]["desired"]["pi_rig"] == 1
    with pytest.raises(RigUnavailable, match="restart_command is null"):
        pi_session.restart_core(1.0)
    with pytest.raises(RigUnavailable, match="counters"):
        pi_session.stats("republish")
    assert pi_session.logs("republish") == []  # no core logs folder on this emulated Pi


def test_the_pi_rig_skips_scenarios_it_cannot_run(emulated_pi: Any) -> None:
    from harness.rigs.base import RigCannotRun
    from harness.scenarios import run_scenario

    with pytest.raises(RigCannotRun, match="it sets the air the sensor sees"):
        run_scenario(Path(__file__).resolve().parents[2] / "scenarios" / "steady_weather.yaml",
                     rig=PiRig(emulated_pi))


SHORT_INJECTION = """\
name: injected reading on the pi rig
duration: 5
step: 0.5
stimuli:
  - at: 0.5
    publish:
      source: bme680-sensor
      topic: bme680/readings
      payload: {sequence: 880101, temperature: 30.0, pressure: 1005.0, humidity: 60.0,
                message: Success}
expectations:
  - within: 4
    messages:
      topic: $aws/things/weather-station/shadow/update/accepted
      where: {path: state.reported.sequence, equals: 880101}
      count: 1
"""


def test_a_scenario_runs_on_the_pi_rig_in_real_time(emulated_pi: Any, tmp_path: Path) -> None:
    from harness.scenarios import run_scenario

    path = tmp_path / "short.yaml"
    path.write_text(SHORT_INJECTION)
    result = run_scenario(path, rig=PiRig(emulated_pi))
    assert result.rig == "pi"
    assert result.passed, result.report()
