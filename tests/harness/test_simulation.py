"""The simulated core running real Lambda modules with the real greengrasssdk."""

from __future__ import annotations

import json
import re

import pytest

from harness.simulation import Simulation
from tests.harness.sim_helpers import simulate

ECHO = """
import json, logging, os, time
import greengrasssdk

logger = logging.getLogger(__name__)
client = greengrasssdk.client("iot-data")
calls = 0

def function_handler(event, context):
    global calls
    calls += 1
    logger.info("event %s subject %s calls %d", event, context.client_context.custom["subject"],
                calls)
    started = time.time()
    time.sleep(float(os.environ.get("WORK_SECONDS", "2")))
    client.update_thing_shadow(thingName=os.environ["THING_NAME"], payload=json.dumps(
        {"state": {"reported": {"v": event.get("v"), "took": time.time() - started,
                                "calls": calls, "function": context.function_name}}}))
    client.publish(topic="out/" + context.function_name, payload=json.dumps(event))
    return {"ok": True}
"""

TICKER = """
import time
import greengrasssdk

client = greengrasssdk.client("iot-data")
count = 0
while True:
    count += 1
    client.publish(topic="tick", payload=str(count))
    time.sleep(5)

def function_handler(event, context):
    pass
"""


def echo_group(**function: object) -> dict:
    return {
        "functions": [{"name": "echo", "module": "echo_fn", "timeout": 10,
                       "environment": {"THING_NAME": "thing-a"}, **function}],
        "devices": [{"thing": "sensor"}, {"thing": "thing-a"}],
        "subscriptions": [
            {"source": "device:sensor", "subject": "in/#", "target": "function:echo"},
            {"source": "function:echo", "subject": "out/echo", "target": "cloud"},
        ],
    }


@pytest.fixture
def echo(tmp_path):
    with simulate(tmp_path, echo_group(), {"echo_fn": ECHO}) as sim:
        yield sim


def test_a_device_message_invokes_the_lambda_through_its_subscription(echo):
    assert echo.publish("sensor", "in/room/1", {"v": 7}) == ("function:echo",)
    echo.run(1)
    assert echo.shadow("thing-a") is None  # still sleeping in virtual time
    echo.run(1)
    reported = echo.shadow("thing-a")["state"]["reported"]
    assert reported == {"v": 7, "took": 2.0, "calls": 1, "function": "echo"}
    assert [m.json() for m in echo.core.delivered_to("cloud")] == [{"v": 7}]
    assert any("event {'v': 7} subject in/room/1 calls 1" in line for line in echo.logs("echo"))


def test_unmatched_topics_reach_nobody(echo):
    assert echo.publish("sensor", "elsewhere", {"v": 1}) == ()
    echo.run(5)
    assert echo.stats("echo").received == 0


def test_lambda_logs_look_like_the_core_s(echo):
    echo.publish("sensor", "in/x", {"v": 1})
    echo.run(3)
    pattern = re.compile(r"^\[2026-01-01T00:00:0\d\.\d{3}Z\]\[(INFO|WARN|ERROR)\]-\S+\.py:\d+,")
    lines = echo.logs("echo")
    assert lines and all(pattern.match(line) for line in lines), lines
    # the IPC client's own lines, as seen in real core logs
    assert any("Posting work for function [arn:aws:lambda:::function:GGShadowService]" in line
               for line in lines)


def test_virtual_time_inside_lambdas(echo):
    echo.run(100)
    echo.publish("sensor", "in/x", {"v": 1})
    echo.run(10)
    metadata = echo.shadow("thing-a")["metadata"]["reported"]["v"]["timestamp"]
    assert metadata == int(echo.clock.epoch) + 102


def test_same_seed_same_run(tmp_path):
    def run(folder):
        folder.mkdir()
        with simulate(folder, echo_group(), {"echo_fn": ECHO}, seed=3) as sim:
            for n in range(5):
                sim.publish("sensor", "in/x", {"v": n})
                sim.run(1)
            sim.run(20)
            return sim.logs("echo"), [(m.time, m.topic, m.payload) for m in sim.messages()]
    assert run(tmp_path / "a") == run(tmp_path / "b")


def test_on_demand_containers_scale_up_to_max_instances_then_queue(tmp_path):
    with simulate(tmp_path, echo_group(max_instances=2), {"echo_fn": ECHO}) as sim:
        for n in range(3):
            sim.publish("sensor", "in/x", {"v": n})
        sim.run(2)  # two ran in parallel; the third waited for a free container
        assert sim.stats("echo").completed == 2
        assert sim.stats("echo").cold_starts == 2
        sim.run(2)
        assert sim.stats("echo").completed == 3
        assert sim.stats("echo").cold_starts == 2
        # each container keeps its own module state: calls counted per container
        calls = [json.loads(m.payload) for m in sim.messages("out/echo")]
        assert len(calls) == 3


def test_idle_containers_expire_and_the_next_message_cold_starts(tmp_path):
    with simulate(tmp_path, echo_group(max_idle_time=30), {"echo_fn": ECHO}) as sim:
        sim.publish("sensor", "in/x", {"v": 1})
        sim.run(10)
        sim.publish("sensor", "in/x", {"v": 2})
        sim.run(10)
        assert sim.stats("echo").cold_starts == 1
        assert sim.shadow("thing-a")["state"]["reported"]["calls"] == 2  # same container
        sim.run(60)
        sim.publish("sensor", "in/x", {"v": 3})
        sim.run(10)
        assert sim.stats("echo").cold_starts == 2
        assert sim.shadow("thing-a")["state"]["reported"]["calls"] == 1  # a fresh import


def test_a_timed_out_invocation_is_ended_and_logged(tmp_path):
    group = echo_group(timeout=1)
    with simulate(tmp_path, group, {"echo_fn": ECHO}) as sim:
        sim.publish("sensor", "in/x", {"v": 1})
        sim.run(5)
        stats = sim.stats("echo")
        assert (stats.timeouts, stats.completed) == (1, 0)
        assert sim.shadow("thing-a") is None  # the update after the sleep never ran
        assert any("Task timed out after 1.00 seconds" in line for line in sim.logs("echo"))
        assert sim.core.functions["echo"].containers == []  # the container was ended
        sim.publish("sensor", "in/x", {"v": 2})
        sim.run(1)
        assert sim.stats("echo").cold_starts == 2


def test_a_full_queue_is_counted_and_logged(tmp_path):
    group = echo_group(max_instances=1, max_queue_size=2)
    with simulate(tmp_path, group, {"echo_fn": ECHO}) as sim:
        for n in range(6):
            sim.publish("sensor", "in/x", {"v": n})
        sim.run(60)
        stats = sim.stats("echo")
        assert stats.received == 6
        assert stats.dropped_queue_full == 3  # one running, two queued, three dropped
        assert stats.completed == 3
        assert sum("queue is full" in line for line in sim.core_log()) == 3


def test_handler_exceptions_are_logged_and_the_container_lives_on(tmp_path):
    failing = ECHO.replace("    calls += 1\n", "    calls += 1\n    if event.get('v') == 0:\n"
                                                "        raise ValueError('bad v')\n")
    with simulate(tmp_path, echo_group(), {"echo_fn": failing}) as sim:
        sim.publish("sensor", "in/x", {"v": 0})
        sim.publish("sensor", "in/x", {"v": 1})
        sim.run(10)
        assert sim.stats("echo").errors == 1 and sim.stats("echo").completed == 1
        log = "\n".join(sim.logs("echo"))
        assert "Unhandled exception in handler" in log and "ValueError: bad v" in log


def test_a_module_that_fails_to_import_fails_its_invocation(tmp_path):
    with simulate(tmp_path, echo_group(), {"echo_fn": "raise ImportError('no numpy here')"}) \
            as sim:
        sim.publish("sensor", "in/x", {"v": 1})
        sim.run(1)
        assert sim.stats("echo").errors == 1
        assert any("Failed to import the handler" in line for line in sim.logs("echo"))


def test_pinned_function_starts_with_the_core_and_loops_on_virtual_time(tmp_path):
    group = {
        "functions": [{"name": "ticker", "module": "ticker_fn", "pinned": True}],
        "subscriptions": [{"source": "function:ticker", "subject": "tick", "target": "cloud"}],
    }
    with simulate(tmp_path, group, {"ticker_fn": TICKER}) as sim:
        sim.run(24 * 3600)
        ticks = sim.messages("tick")
        assert len(ticks) == 24 * 3600 // 5 + 1
        assert [m.payload for m in ticks[:3]] == [b"1", b"2", b"3"]
        assert [m.time for m in ticks[:3]] == [0.0, 5.0, 10.0]


def test_pinned_invocations_run_one_at_a_time_in_order(tmp_path):
    group = echo_group(pinned=True)
    with simulate(tmp_path, group, {"echo_fn": ECHO}) as sim:
        for n in range(4):
            sim.publish("sensor", "in/x", {"v": n})
        sim.run(7)
        assert sim.stats("echo").completed == 3
        sim.run(2)
        assert [json.loads(m.payload)["v"] for m in sim.messages("out/echo")] == [0, 1, 2, 3]
        assert sim.shadow("thing-a")["state"]["reported"]["calls"] == 4
        assert sim.stats("echo").cold_starts == 1


@pytest.mark.parametrize(("mode", "raises"), [("v2", True), ("v1", False)])
def test_publishing_without_a_subscription(tmp_path, mode, raises):
    lonely = ECHO.replace('topic="out/" + context.function_name', 'topic="nowhere"')
    with simulate(tmp_path, echo_group(), {"echo_fn": lonely}, mode=mode) as sim:
        sim.publish("sensor", "in/x", {"v": 1})
        sim.run(5)
        log = "\n".join(sim.logs("echo"))
        expected = ("No subscription exists for the source "
                    "arn:aws:lambda:us-east-1:123456789012:function:echo:1 and subject nowhere. "
                    "Deploy and configure aws.greengrass.LegacySubscriptionRouter component to "
                    "support publishing from Lambdas.")
        if raises:
            assert sim.stats("echo").errors == 1
            assert expected in "\n".join(sim.core_log())
            assert "HTTP Error 400" in log
        else:
            assert sim.stats("echo").completed == 1
            assert any("message dropped" in line for line in sim.core_log())


def test_each_function_sees_only_its_own_environment(tmp_path):
    group = {
        "functions": [
            {"name": "one", "module": "echo_fn", "environment": {"THING_NAME": "thing-1"}},
            {"name": "two", "module": "echo_fn", "environment": {"THING_NAME": "thing-2"}},
        ],
        "devices": [{"thing": "sensor"}],
        "subscriptions": [
            {"source": "device:sensor", "subject": "in", "target": "function:one"},
            {"source": "device:sensor", "subject": "in", "target": "function:two"},
            {"source": "function:one", "subject": "out/one", "target": "cloud"},
            {"source": "function:two", "subject": "out/two", "target": "cloud"},
        ],
    }
    import os

    with simulate(tmp_path, group, {"echo_fn": ECHO}) as sim:
        sim.publish("sensor", "in", {"v": 5})
        sim.run(5)
        assert sim.shadow("thing-1")["state"]["reported"]["function"] == "one"
        assert sim.shadow("thing-2")["state"]["reported"]["function"] == "two"
        assert "THING_NAME" not in os.environ  # the test process never saw either


def test_cpu_temperature_file_follows_the_simulation(tmp_path):
    reader = """
import os, time
import greengrasssdk
client = greengrasssdk.client("iot-data")

def function_handler(event, context):
    try:
        with open(os.environ["CPU_TEMP_PATH"]) as f:
            value = f.read().strip()
    except OSError as error:
        value = type(error).__name__
    client.publish(topic="out/echo", payload=value)
"""
    with simulate(tmp_path, echo_group(sys_access=True), {"echo_fn": reader},
                  cpu_temperature=lambda t: 40 + t / 100) as sim:
        sim.run(100)
        sim.publish("sensor", "in/x", {})
        sim.run(1)
        assert sim.messages("out/echo")[-1].payload == b"41000"
    (tmp_path / "b").mkdir()
    with simulate(tmp_path / "b", echo_group(sys_access=False), {"echo_fn": reader}) as sim:
        sim.publish("sensor", "in/x", {})
        sim.run(1)
        assert sim.messages("out/echo")[-1].payload == b"FileNotFoundError"


def test_lambdas_invoke_each_other(tmp_path):
    caller = """
import base64, json
import greengrasssdk
client = greengrasssdk.client("lambda")
iot = greengrasssdk.client("iot-data")

def function_handler(event, context):
    answer = client.invoke(FunctionName=event["target"], InvocationType="RequestResponse",
                           Payload=json.dumps({"n": 20}))
    iot.publish(topic="out/caller", payload=answer["Payload"].read())
"""
    doubler = """
import time
def function_handler(event, context):
    time.sleep(3)
    return {"doubled": event["n"] * 2}
"""
    group = {
        "functions": [{"name": "caller", "module": "caller_fn", "timeout": 10},
                      {"name": "doubler", "module": "doubler_fn", "timeout": 10}],
        "devices": [{"thing": "sensor"}],
        "subscriptions": [
            {"source": "device:sensor", "subject": "go", "target": "function:caller"},
            {"source": "function:caller", "subject": "out/caller", "target": "cloud"},
        ],
    }
    with simulate(tmp_path, group, {"caller_fn": caller, "doubler_fn": doubler}) as sim:
        target = sim.core.functions["doubler"].arn
        sim.publish("sensor", "go", {"target": target})
        sim.run(2)
        assert sim.messages("out/caller") == []
        sim.run(2)
        assert [m.json() for m in sim.messages("out/caller")] == [{"doubled": 40}]


def test_shadow_rejections_reach_the_lambda_as_shadow_error(tmp_path):
    bad = ECHO.replace('{"state": {"reported":', '{"state": {"delta":')
    with simulate(tmp_path, echo_group(), {"echo_fn": bad}) as sim:
        sim.publish("sensor", "in/x", {"v": 1})
        sim.run(5)
        log = "\n".join(sim.logs("echo"))
        assert ('ShadowError: Request for shadow state returned error code 400 with message '
                '"State contains an invalid node: \'delta\'"') in log


def test_one_simulation_at_a_time(echo, tmp_path):
    with pytest.raises(RuntimeError, match="another Simulation is open"):
        Simulation.from_group(tmp_path / "group.yaml")


def test_closing_restores_the_process(tmp_path):
    import os
    import sys
    import time

    from fakes import ipc_backend

    sleep, environ = time.sleep, os.environ
    with simulate(tmp_path, echo_group(), {"echo_fn": ECHO}) as sim:
        assert time.sleep is not sleep
        sim.run(1)
    assert time.sleep is sleep and os.environ is environ
    assert str(tmp_path) not in sys.path
    with pytest.raises(RuntimeError, match="No IPC backend"):
        ipc_backend.current_backend()


SECRET_READER = """
import greengrasssdk
from greengrasssdk.SecretsManager import SecretsManagerError
secrets = greengrasssdk.client("secretsmanager")
iot = greengrasssdk.client("iot-data")

def function_handler(event, context):
    try:
        value = secrets.get_secret_value(SecretId=event["id"])
        text = value["SecretString"] + " " + value["CreatedDate"].isoformat()
    except SecretsManagerError as error:
        text = str(error)
    iot.publish(topic="out/echo", payload=text)
"""


@pytest.mark.parametrize(("secret_id", "granted", "expected"), [
    ("api-key", True, "s3cret 20"),
    ("api-key", False, "error code 403"),
    ("other", True, "error code 404"),
])
def test_secrets_reach_functions_that_declare_them(tmp_path, secret_id, granted, expected):
    group = echo_group(secrets=["api-key"] if granted else [])
    group["secrets"] = [{"name": "api-key"}]
    with simulate(tmp_path, group, {"echo_fn": SECRET_READER},
                  secrets={"api-key": "s3cret"}) as sim:
        sim.publish("sensor", "in/x", {"id": secret_id})
        sim.run(1)
        assert expected in sim.messages("out/echo")[-1].payload.decode()


def test_logs_are_written_where_a_core_keeps_them(echo, tmp_path):
    echo.publish("sensor", "in/x", {"v": 1})
    echo.run(3)
    files = echo.write_logs(tmp_path / "log")
    user_log = tmp_path / "log" / "user" / "us-east-1" / "123456789012" / "echo.log"
    assert user_log in files
    assert user_log.read_text().splitlines() == echo.logs("echo")
    assert (tmp_path / "log" / "system" / "runtime.log").exists()


def test_the_package_exports_the_entry_point():
    import harness

    assert harness.Simulation is Simulation
