"""What the core's Shadow service publishes, by who asked: V1's GGShadowService (these groups
route devices to it with subscriptions, which is V1 configuration; the V2 path, ShadowManager
behind the bridge, is in ``test_v2_fabric.py``).

A request published over MQTT (a device on ``$aws/things/<thing>/shadow/<op>``) gets its
replies on the reply topics. A Lambda's ``get/update/delete_thing_shadow`` is a synchronous
call answered to its caller: like the REST API (``shared/specs/shadow.md`` §1.1) a GET and a
rejection publish nothing, while an accepted update or delete still publishes the change.
"""

from __future__ import annotations

import json

from harness.simulation import Simulation
from tests.harness.sim_helpers import simulate

SHADOW_CALLS = """
import json, logging
import greengrasssdk
from greengrasssdk.IoTDataPlane import ShadowError

logger = logging.getLogger(__name__)
client = greengrasssdk.client("iot-data")

def _try(call, **arguments):
    try:
        answer = json.loads(call(**arguments)["payload"])
        logger.info("answer %s", json.dumps(answer, sort_keys=True))
    except ShadowError as error:
        logger.info("refused %s", error)

def function_handler(event, context):
    thing = "thing-a"
    _try(client.get_thing_shadow, thingName=thing)                       # 404
    _try(client.update_thing_shadow, thingName=thing,
         payload=json.dumps({"state": {"desired": {"period": 5}}}))      # accepted, delta
    _try(client.get_thing_shadow, thingName=thing)                       # accepted
    _try(client.update_thing_shadow, thingName=thing,
         payload=json.dumps({"state": {"delta": {}}}))                   # 400
    _try(client.update_thing_shadow, thingName=thing,
         payload=json.dumps({"state": {"reported": {"x": 1}}, "version": 99}))  # 409
    _try(client.delete_thing_shadow, thingName=thing)                    # accepted
    _try(client.delete_thing_shadow, thingName=thing)                    # 404
"""


def _group() -> dict:
    return {
        "functions": [{"name": "caller", "module": "caller_fn", "timeout": 10}],
        "devices": [{"thing": "sensor"}, {"thing": "thing-a"}],
        "subscriptions": [
            {"source": "device:sensor", "subject": "go", "target": "function:caller"},
            {"source": "device:thing-a", "subject": "$aws/things/thing-a/shadow/#",
             "target": "GGShadowService"},
            {"source": "GGShadowService", "subject": "$aws/things/thing-a/shadow/#",
             "target": "device:thing-a"},
        ],
    }


def _received(sim: Simulation, thing: str) -> list[str]:
    prefix = f"$aws/things/{thing}/shadow/"
    return [m.topic.removeprefix(prefix) for m in sim.core.delivered_to(f"device:{thing}")]


def test_a_lambdas_synchronous_calls_publish_only_the_changes(tmp_path):
    with simulate(tmp_path, _group(), {"caller_fn": SHADOW_CALLS}, mode="v1") as sim:
        sim.publish("sensor", "go", {})
        sim.run(5)
        log = "\n".join(sim.logs("caller"))
        # the caller got every answer...
        assert log.count("refused") == 4, log
        assert "error code 404" in log and "error code 400" in log and "error code 409" in log
        assert '"desired": {"period": 5}' in log  # the GET's answer
        # ...and a device subscribed to the Shadow's topics saw only the changes
        assert _received(sim, "thing-a") == [
            "update/accepted", "update/delta", "update/documents", "delete/accepted"]


def test_device_requests_still_get_every_reply(tmp_path):
    with simulate(tmp_path, _group(), {"caller_fn": SHADOW_CALLS}, mode="v1") as sim:
        sim.publish("thing-a", "$aws/things/thing-a/shadow/get", b"")
        sim.publish("thing-a", "$aws/things/thing-a/shadow/update",
                    {"state": {"reported": {"x": 1}}})
        sim.publish("thing-a", "$aws/things/thing-a/shadow/get", b"")
        sim.publish("thing-a", "$aws/things/thing-a/shadow/update", {"state": {"delta": {}}})
        sim.run(1)
        assert _received(sim, "thing-a") == [
            "get/rejected", "update/accepted", "update/documents", "get/accepted",
            "update/rejected"]


def test_the_inference_lambdas_reads_are_not_published_to_the_station(simulation_factory):
    """The shipped group: inference GETs the Shadow every 10 s; the weather station's own
    console, subscribed to the Shadow's topics, must not receive answers to requests it
    never made."""
    sim = simulation_factory(seed=3, mode="v1")
    reading = {"sequence": 1, "temperature": 20.0, "pressure": 1010.0, "humidity": 50.0,
               "message": "Success"}
    sim.publish("bme680-sensor", "bme680/readings", reading)
    sim.run(55)
    received = _received(sim, "weather-station")
    assert [topic for topic in received if topic.startswith("get/")] == []
    # the updates still reach it: republish's report and inference's prediction
    updates = [json.loads(m.payload) for m in sim.core.delivered_to("device:weather-station")
               if m.topic.endswith("/update/accepted")]
    kinds = ["sequence" if "sequence" in u["state"]["reported"] else
             "prediction" if "rain_prediction" in u["state"]["reported"] else "other"
             for u in updates]
    assert kinds[:2] == ["sequence", "prediction"]


def test_on_v2_the_console_also_sees_shadow_managers_echo_of_inferences_reads(
        simulation_factory):
    """V2's ShadowManager publishes the outcome of every IPC call on local pub/sub, GETs
    included, and the group's bridge carries ``$aws/things/weather-station/shadow/#`` to the
    console: unlike V1, a device subscribed to the Shadow's topics sees other clients' reads."""
    sim = simulation_factory(seed=3)
    reading = {"sequence": 1, "temperature": 20.0, "pressure": 1010.0, "humidity": 50.0,
               "message": "Success"}
    sim.publish("bme680-sensor", "bme680/readings", reading)
    sim.run(55)
    gets = [m for m in sim.core.delivered_to("device:weather-station")
            if m.topic.endswith("/get/accepted")]
    assert gets and all(m.source == "ShadowManager" for m in gets)
