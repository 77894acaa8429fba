"""The real republish and hello_world Lambdas on the simulated core, through the router."""

from __future__ import annotations

import json
import platform
import shutil

import pytest
import yaml

from harness.demo_day import simulate_day
from harness.simulation import DEFAULT_GROUP

SENSOR, TOPIC, THING = "bme680-sensor", "bme680/readings", "weather-station"
GOOD = {"sequence": 1, "temperature": 30.0, "pressure": 1013.25, "humidity": 45.5,
        "message": "Success"}


def reported(sim):
    document = sim.shadow(THING)
    return None if document is None else document["state"].get("reported")


def send(sim, reading, seconds=10.0):
    assert sim.publish(SENSOR, TOPIC, reading) == ("function:republish",)
    sim.run(seconds)


def test_a_good_reading_is_compensated_with_the_cpu_average(simulation):
    simulation.set_cpu_temperature(lambda t: 40.0 + t)  # 40, 41, ... 47 over the 8 samples
    send(simulation, GOOD)
    state = {k: v for k, v in reported(simulation).items() if not k.startswith("rain_")}
    assert state == {
        "temperature": 2 * 30.0 - 43.5, "pressure": 1013.25, "humidity": 45.5,
        "message": "Success", "sequence": 1, "compensation": "cpu", "cpu_temperature": 43.5,
    }
    assert simulation.stats("republish").completed == 1


def test_sampling_takes_virtual_time(simulation):
    send(simulation, GOOD, seconds=6.5)
    assert reported(simulation) is None  # seven 1 s sleeps between eight samples
    simulation.run(1)
    assert reported(simulation)["sequence"] == 1


@pytest.mark.parametrize(("bad", "error_part"), [
    ({**GOOD, "temperature": None}, "temperature"),
    ({**GOOD, "humidity": 101.0}, "humidity"),
    ({**GOOD, "pressure": 250.0}, "pressure"),
    ({**GOOD, "temperature": "30"}, "temperature"),
    ({**GOOD, "temperature": True}, "temperature"),
    ({k: v for k, v in GOOD.items() if k != "message"}, "message"),
    ({**GOOD, "message": "Fail"}, "Fail"),
    ({}, "sequence"),
    ([1, 2, 3], "object"),
])
def test_bad_readings_never_overwrite_good_values(simulation, bad, error_part):
    send(simulation, GOOD)
    good = reported(simulation)
    send(simulation, bad)
    after = reported(simulation)
    assert after["message"] == "Fail"
    assert error_part in after["error"]
    for field in ("temperature", "pressure", "humidity", "compensation", "cpu_temperature"):
        assert after[field] == good[field], field
    assert any("[ERROR]" in line for line in simulation.logs("republish"))


def test_malformed_json_fails_the_invocation_and_leaves_the_shadow(simulation):
    send(simulation, GOOD)
    before = simulation.shadow(THING)
    with simulation.expect_failures("republish", kind="handler_error") as caught:
        send(simulation, b"{not json")
    assert [failure.message.split(":")[0] for failure in caught] == ["JSONDecodeError"]
    assert simulation.shadow(THING)["state"] == before["state"]
    assert simulation.stats("republish").errors == 1
    assert any("JSONDecodeError" in line for line in simulation.logs("republish"))


def test_without_cpu_temperature_the_reading_is_reported_uncompensated(simulation):
    simulation.set_cpu_temperature(None)
    send(simulation, GOOD)
    state = reported(simulation)
    assert (state["temperature"], state["compensation"]) == (30.0, "none")
    assert "cpu_temperature" not in state  # its null removed the key
    assert any("WARNING" in line or "WARN" in line for line in simulation.logs("republish"))


def test_a_good_reading_after_a_failure_clears_the_error(simulation):
    send(simulation, {**GOOD, "humidity": None})
    assert reported(simulation)["error"]
    send(simulation, {**GOOD, "sequence": 2})
    state = reported(simulation)
    assert state["message"] == "Success" and "error" not in state


def test_missing_thing_name_logs_and_sends_nothing(simulation_factory, tmp_path):
    group = yaml.safe_load(DEFAULT_GROUP.read_text())
    for function in group["functions"]:
        function.get("environment", {}).pop("THING_NAME", None)
    path = tmp_path / "group.yaml"
    path.write_text(yaml.safe_dump(group))
    sim = simulation_factory(path, code_dir=DEFAULT_GROUP.parent)
    send(sim, GOOD)
    assert sim.shadow_service.shadows() == []
    assert any("THING_NAME" in line and "[ERROR]" in line for line in sim.logs("republish"))


def test_burst_above_the_queue_is_counted_not_silent(simulation):
    for sequence in range(1, 1101):
        simulation.publish(SENSOR, TOPIC, {**GOOD, "sequence": sequence})
    simulation.run(30 * 60)
    stats = simulation.stats("republish")
    # ten containers take ten readings at once, 1000 wait in the queue, 90 are dropped
    assert stats.dropped_queue_full == 90
    assert stats.completed == 1010
    assert sum("queue is full" in line for line in simulation.core_log()) == 90
    # every accepted reading is one version; the inference Lambda adds one per prediction
    predictions = sum("rain_prediction" in m.json()["state"].get("reported", {})
                      for m in simulation.messages(f"$aws/things/{THING}/shadow/update/accepted"))
    assert simulation.shadow(THING)["version"] == 1010 + predictions


def test_hello_world_publishes_every_five_seconds(simulation):
    simulation.run(60)
    messages = simulation.core.delivered_to("cloud")
    assert [m.time for m in messages] == [5.0 * n for n in range(13)]
    assert messages[0].payload.decode() == (
        f"Hello world! Sent from Greengrass Core running on platform: {platform.platform()}")


def test_republish_runs_as_shipped_after_a_copy(simulation_factory, tmp_path):
    # the Lambda files are plain modules: a copied group with its code works the same way
    # (all of it: a function whose module is missing fails to import, which fails the test)
    for path in [DEFAULT_GROUP, *DEFAULT_GROUP.parent.glob("*.py")]:
        shutil.copy(path, tmp_path / path.name)
    sim = simulation_factory(tmp_path / "group.yaml")
    send(sim, GOOD)
    assert reported(sim)["sequence"] == 1


def test_half_an_hour_of_the_demo_day_adds_up():
    summary = simulate_day(hours=0.5, seed=1)
    assert summary.readings == 360
    assert summary.completed == summary.readings
    assert summary.predictions > 0
    assert summary.shadow_version == summary.readings + summary.predictions
    assert (summary.errors, summary.timeouts, summary.dropped) == (0, 0, 0)
    # compensation recovers the air temperature the device model started from (about 8 C
    # at midnight), not the sensor's reading halfway to the CPU
    assert 5 < summary.reported["temperature"] < 11
    assert summary.hello_messages == 360 + 13  # every 5 s, plus the final minute
    lines = "\n".join(summary.lines())
    assert "360 completed" in lines


def test_naive_update_from_an_undefined_message_is_refused(simulation):
    send(simulation, GOOD)
    send(simulation, {"sequence": 2})  # nothing but a sequence: the naive Lambda sent nulls
    state = reported(simulation)
    assert state["temperature"] == 2 * 30.0 - 45.0  # the good value survived
    assert state["message"] == "Fail" and state["sequence"] == 2
    assert json.dumps(state)  # still a valid document
