"""The V2 core's message path, built from the deployment the group compiles to: client
device auth, the local broker, the MQTT bridge, local pub/sub, Lambda event sources,
ShadowManager and the legacy subscription router (greengrass-v2-topology.md §1-§3, §5.5)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from harness.simulation import DEFAULT_GROUP, Simulation
from harness.v2.deployment import compile_group

LAMBDAS = DEFAULT_GROUP.parent
READING = {"temperature": 21.5, "pressure": 1012.0, "humidity": 48.0, "message": "Success",
           "sequence": 1}


def station(tmp_path: Path, change: Any = None, **options: Any) -> Simulation:
    """The weather station's own group, optionally changed (a function of its dict)."""
    group = yaml.safe_load(DEFAULT_GROUP.read_text())
    if change is not None:
        change(group)
    path = tmp_path / "group.yaml"
    path.write_text(yaml.safe_dump(group, sort_keys=False))
    options.setdefault("cpu_temperature", 45.0)
    return Simulation.from_group(path, code_dir=LAMBDAS, **options)


def test_a_reading_reaches_republish_through_the_bridge(tmp_path: Path) -> None:
    with station(tmp_path) as sim:
        assert sim.publish("bme680-sensor", "bme680/readings", READING) == ("function:republish",)
        sim.run(30)
        assert sim.stats("republish").completed == 1
        reported = sim.shadow("weather-station")["state"]["reported"]
        assert reported["sequence"] == 1
        message = sim.messages("bme680/readings")[0]
        assert message.source == "device:bme680-sensor" and message.note == ""


def test_client_device_auth_drops_an_unauthorized_publish(tmp_path: Path) -> None:
    with station(tmp_path) as sim:
        assert sim.publish("bme680-sensor", "bme680/other", READING) == ()
        sim.run(30)
        assert sim.stats("republish").received == 0
        [message] = sim.messages("bme680/other")
        assert "client device auth" in message.note
        assert any("MQTT client: bme680-sensor is not authorized to publish on topic: "
                   "bme680/other" in line for line in sim.core_log())


def test_without_a_bridge_mapping_the_reading_stops_at_the_broker(tmp_path: Path) -> None:
    def no_mapping(group: dict[str, Any]) -> None:
        group.setdefault("client_devices", {})["bridge"] = {"mqttTopicMapping": {}}

    with station(tmp_path, no_mapping) as sim:
        assert sim.publish("bme680-sensor", "bme680/readings", READING) == ()
        sim.run(30)
        assert sim.stats("republish").received == 0
        [message] = sim.messages("bme680/readings")
        assert "no bridge mapping" in message.note and "LocalMqtt" in message.note
        assert sim.shadow("weather-station") is None


def test_the_console_reaches_its_shadow_through_the_bridge(tmp_path: Path) -> None:
    with station(tmp_path) as sim:
        update = {"state": {"desired": {"led": "on"}}}
        targets = sim.publish("weather-station", "$aws/things/weather-station/shadow/update",
                              update)
        # the console is subscribed to shadow/#, and MQTT 3.1.1 has no no-local: the broker
        # hands the console its own request too
        assert targets == ("device:weather-station", "ShadowManager")
        assert sim.shadow("weather-station")["state"]["desired"] == {"led": "on"}
        replies = [m for m in sim.messages() if m.source == "ShadowManager"]
        topics = [m.topic for m in replies]
        assert "$aws/things/weather-station/shadow/update/accepted" in topics
        for reply in replies:  # the bridge carries every reply back to the console
            assert reply.targets == ("device:weather-station",), reply


def test_a_shadow_reply_topic_from_a_device_is_ignored_by_shadow_manager(tmp_path: Path
                                                                         ) -> None:
    def console_may_publish_everything(group: dict[str, Any]) -> None:
        group["client_devices"] = {"bridge": {"mqttTopicMapping": {
            "All": {"topic": "$aws/things/weather-station/shadow/update/accepted",
                    "source": "LocalMqtt", "target": "Pubsub"}}},
            "auth": _auth({"weather-station": ["$aws/things/weather-station/shadow/#"]})}

    with station(tmp_path, console_may_publish_everything) as sim:
        targets = sim.publish("weather-station",
                              "$aws/things/weather-station/shadow/update/accepted", {"x": 1})
        assert "ShadowManager" not in targets
        assert sim.shadow("weather-station") is None


def test_hello_world_reaches_the_cloud_through_the_legacy_router(tmp_path: Path) -> None:
    with station(tmp_path) as sim:
        sim.run(10)
        sent = [m for m in sim.messages("hello/world") if m.source == "function:hello_world"]
        assert sent and all(m.targets == ("cloud",) for m in sent)


def test_a_device_outside_every_device_group_cannot_connect(tmp_path: Path) -> None:
    def only_the_console(group: dict[str, Any]) -> None:
        group["client_devices"] = {"auth": _auth({"weather-station": []})}

    with station(tmp_path, only_the_console) as sim:
        sim.add_device("bme680-sensor", count=2)
        sim.run(30)
        log = sim.logs("device:bme680-sensor")
        assert any("refused" in line and "4" in line for line in log), log
        assert sim.stats("republish").received == 0


@pytest.mark.parametrize(("trust", "admitted"), [(1, False), (1440, True)])
def test_a_reconnect_during_a_cloud_outage_needs_the_trust_duration(
        tmp_path: Path, trust: int, admitted: bool) -> None:
    def trust_for(group: dict[str, Any]) -> None:
        group.setdefault("client_devices", {})["trust_duration_minutes"] = trust

    with station(tmp_path, trust_for, cloud=True) as sim:
        device = sim.add_device("bme680-sensor", period=5)
        sim.run(10)
        sim.disconnect_cloud(3600)
        sim.run(110)  # two minutes into the outage
        sim.disconnect_broker(5)
        sim.run(60)
        assert device.offline is not admitted
        refused = [line for line in sim.logs("device:bme680-sensor") if "refused" in line]
        assert bool(refused) is not admitted
        sim.run(3600)  # the cloud is back: client device auth verifies the device again
        assert not device.offline


def test_the_core_built_from_the_plans_own_requests_behaves_the_same(tmp_path: Path) -> None:
    from harness.deploy.v2 import deployment_of, plan_v2
    from harness.group import load_group

    group = load_group(DEFAULT_GROUP)
    deployment = deployment_of(plan_v2(group))
    assert deployment == compile_group(group)
    with Simulation(group, code_dir=LAMBDAS, deployment=deployment,
                    cpu_temperature=45.0) as sim:
        assert sim.publish("bme680-sensor", "bme680/readings", READING) == ("function:republish",)


def _auth(things: dict[str, list[str]]) -> dict[str, Any]:
    """A CDA configuration: each thing may connect, publish and subscribe on its topics."""
    definitions, policies = {}, {}
    for number, (thing, topics) in enumerate(things.items()):
        definitions[f"G{number}"] = {"selectionRule": f"thingName: {thing}",
                                     "policyName": f"P{number}"}
        statements: dict[str, Any] = {
            "Connect": {"operations": ["mqtt:connect"], "resources": [f"mqtt:clientId:{thing}"]}}
        if topics:
            statements["Publish"] = {"operations": ["mqtt:publish"],
                                     "resources": [f"mqtt:topic:{t}" for t in topics]}
        policies[f"P{number}"] = statements
    return {"deviceGroups": {"formatVersion": "2021-03-05", "definitions": definitions,
                             "policies": policies}}


def _json(payload: bytes) -> Any:
    return json.loads(payload)
