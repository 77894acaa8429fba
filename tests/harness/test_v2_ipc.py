"""The simulated V2 core serves the nucleus IPC to its Lambdas: the real, unmodified
awsiotsdk clients in Lambda code, on virtual time, deterministically."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from harness.simulation import Simulation
from tests.harness.sim_helpers import simulate, write_group

ROOT = Path(__file__).resolve().parents[2]
SHADOW_OPS = ["aws.greengrass#GetThingShadow", "aws.greengrass#UpdateThingShadow",
              "aws.greengrass#DeleteThingShadow", "aws.greengrass#ListNamedShadowsForThing"]


def _access(name: str, shadow_things: tuple[str, ...] = ("station",)) -> dict[str, Any]:
    return {
        "aws.greengrass.ShadowManager": {f"test-group.{name}:shadow:1": {
            "operations": SHADOW_OPS,
            "resources": [f"$aws/things/{t}/shadow" for t in shadow_things] + list(shadow_things),
        }},
        "aws.greengrass.ipc.pubsub": {f"test-group.{name}:pubsub:1": {
            "operations": ["*"], "resources": ["chat/*"]}},
        "aws.greengrass.ipc.mqttproxy": {f"test-group.{name}:mqtt:1": {
            "operations": ["aws.greengrass#PublishToIoTCore"], "resources": ["up/#"]}},
    }


# A pinned Lambda doing every kind of call with the V2 client, logging what it sees.
WORKER = '''
import json, logging, os, time
from awsiot.greengrasscoreipc.clientv2 import GreengrassCoreIPCClientV2
from awsiot.greengrasscoreipc.model import (BinaryMessage, JsonMessage, PublishMessage,
                                           QOS, ReportedLifecycleState)

log = logging.getLogger("worker")
seen = []

def on_event(event):
    message = event.json_message.message if event.json_message else \\
        event.binary_message.message.decode()
    seen.append(message)
    log.info("event %s at %.3f in %s", message, time.time(), os.environ["AWS_LAMBDA_FUNCTION_NAME"])

def run():
    ipc = GreengrassCoreIPCClientV2()
    ipc.subscribe_to_topic(topic="chat/room", on_stream_event=on_event)
    ipc.update_state(state=ReportedLifecycleState.RUNNING)
    config = ipc.get_configuration(key_path=["accessControl"]).value
    log.info("configured for %s", sorted(config))
    for i in range(3):
        before = time.monotonic()
        answer = ipc.update_thing_shadow(thing_name="station",
            payload=json.dumps({"state": {"reported": {"i": i}}}).encode())
        document = json.loads(ipc.get_thing_shadow(thing_name="station").payload)
        log.info("version %s reported %s after %.3f s", json.loads(answer.payload)["version"],
                 document["state"]["reported"], time.monotonic() - before)
        ipc.publish_to_topic(topic="chat/room",
            publish_message=PublishMessage(json_message=JsonMessage(message={"n": i})))
        ipc.publish_to_iot_core(topic_name="up/" + str(i), qos=QOS.AT_LEAST_ONCE, payload=b"x")
        try:
            ipc.get_thing_shadow(thing_name="elsewhere")
        except Exception as error:
            log.info("%s: %s", type(error).__name__, error.message)
        time.sleep(5)
    names = ipc.list_named_shadows_for_thing(thing_name="station").results
    log.info("named shadows %s; events so far %s", names, seen)

if os.environ.get("MY_FUNCTION_ARN"):
    run()

def function_handler(event, context):
    return None
'''

# An on-demand Lambda with the older client, answering an invocation.
OLD_CLIENT = '''
import json, logging
from awsiot import greengrasscoreipc
from awsiot.greengrasscoreipc.model import GetThingShadowRequest

log = logging.getLogger("old")

def function_handler(event, context):
    ipc = greengrasscoreipc.connect()
    request = GetThingShadowRequest(thing_name="station")
    operation = ipc.new_get_thing_shadow()
    operation.activate(request)
    document = json.loads(operation.get_response().result().payload)
    log.info("old client read version %s", document["version"])
    return None
'''


def _group(**functions: dict[str, Any]) -> dict[str, Any]:
    return {"functions": [{"name": n, **f} for n, f in functions.items()],
            "devices": [{"thing": "sensor"}],
            "subscriptions": [{"source": "device:sensor", "subject": "go",
                               "target": "function:old"}]}


def _worker_group() -> dict[str, Any]:
    return _group(
        worker={"module": "worker", "pinned": True, "timeout": 60,
                "access_control": _access("worker")},
        old={"module": "old", "timeout": 10, "max_idle_time": 30,
             "access_control": _access("old")},
    )


@pytest.fixture
def worker_sim(tmp_path: Path):
    sim = simulate(tmp_path, _worker_group(), {"worker": WORKER, "old": OLD_CLIENT}, seed=3)
    yield sim
    sim.close()


def test_every_container_gets_the_nucleus_variables(worker_sim: Simulation) -> None:
    nucleus = worker_sim.core.nucleus
    assert nucleus is not None
    (container,) = worker_sim.core.functions["worker"].containers
    env = container.task.environ
    assert env["AWS_GG_NUCLEUS_DOMAIN_SOCKET_FILEPATH_FOR_COMPONENT"] == nucleus.server.socket_path
    assert env["AWS_GG_NUCLEUS_DOMAIN_SOCKET_FILEPATH"] == nucleus.server.socket_path
    token = env["SVCUID"]
    assert len(token) == 16 and token == token.upper() and token.isalnum()
    assert env["AWS_CONTAINER_AUTHORIZATION_TOKEN"] == token
    assert nucleus.server.tokens.component_for(token) == "test-group.worker"


def test_v1_containers_get_no_socket(tmp_path: Path) -> None:
    with simulate(tmp_path, _worker_group(), {"worker": WORKER, "old": OLD_CLIENT},
                  mode="v1") as sim:
        (container,) = sim.core.functions["worker"].containers
        assert "SVCUID" not in container.task.environ
        assert sim.core.nucleus is None


def test_the_real_v2_client_works_from_a_lambda(worker_sim: Simulation) -> None:
    worker_sim.run(20)
    lines = worker_sim.logs("worker")
    text = "\n".join(lines)
    assert "configured for ['aws.greengrass.ShadowManager', 'aws.greengrass.ipc.mqttproxy', " \
           "'aws.greengrass.ipc.pubsub']" in text
    for i in range(3):
        assert f"version {i + 1} reported {{'i': {i}}} after 0.000 s" in text
    assert text.count(
        "UnauthorizedError: Principal test-group.worker is not authorized to perform "
        "aws.greengrass.ShadowManager:aws.greengrass#GetThingShadow on resource "
        "$aws/things/elsewhere/shadow") == 3
    assert "named shadows []" in text
    assert worker_sim.shadow("station")["state"]["reported"] == {"i": 2}
    assert [m.topic for m in worker_sim.messages() if m.targets == ("cloud",)] == \
        ["up/0", "up/1", "up/2"]
    assert worker_sim.core.nucleus.configurations.state("test-group.worker") == "RUNNING"


def test_subscription_events_run_in_the_container_on_virtual_time(worker_sim: Simulation
                                                                  ) -> None:
    worker_sim.run(20)
    events = [line for line in worker_sim.logs("worker") if ",event {" in line]
    # delivered after the stretch that published, at the same virtual instant, in order,
    # with the container's environment
    assert events == [
        f"[2026-01-01T00:00:{s:02d}.000Z][INFO]-worker.py:14,event {{'n': {float(i)}}} at "
        f"{1767225600 + s:.3f} in worker"
        for i, s in enumerate((0, 5, 10))
    ]
    assert "events so far [{'n': 0.0}, {'n': 1.0}, {'n': 2.0}]" in worker_sim.logs("worker")[-1]


def test_the_older_client_works_too(worker_sim: Simulation) -> None:
    worker_sim.run(1)
    worker_sim.publish("sensor", "go", {})
    worker_sim.run(1)
    assert any("old client read version 1" in line for line in worker_sim.logs("old"))
    assert worker_sim.stats("old").completed == 1


def test_a_stopped_container_loses_its_connections_and_token(worker_sim: Simulation) -> None:
    server = worker_sim.core.nucleus.server
    worker_sim.run(1)
    worker_sim.publish("sensor", "go", {})
    worker_sim.run(1)
    (container,) = worker_sim.core.functions["old"].containers
    token = container.token
    assert server.tokens.component_for(token) == "test-group.old"
    assert [c.token for c in server.connections("test-group.old")] == [token]
    worker_sim.run(40)  # idle for max_idle_time: the container ends
    assert worker_sim.core.functions["old"].containers == []
    assert server.connections("test-group.old") == []
    assert server.tokens.component_for(token) is None
    assert len(server.connections("test-group.worker")) == 1  # the pinned one lives on


HAMMER = '''
import json, logging, os, time
from awsiot.greengrasscoreipc.clientv2 import GreengrassCoreIPCClientV2
from awsiot.greengrasscoreipc.model import ServiceError

log = logging.getLogger("hammer")

def function_handler(event, context):
    ipc = GreengrassCoreIPCClientV2()
    start, throttled = time.time(), 0
    for i in range(100):
        try:
            ipc.update_thing_shadow(thing_name="station",
                payload=json.dumps({"state": {"reported": {"n": event["n"], "i": i}}}).encode())
        except ServiceError as error:
            assert error.message == "Too Many Requests", error.message
            throttled += 1
    log.info("100 calls in %.6f virtual seconds", time.time() - start)
    return throttled
'''


def test_many_blocking_calls_from_many_containers_never_deadlock(tmp_path: Path) -> None:
    group = _group(hammer={"module": "hammer", "timeout": 3, "max_instances": 4,
                           "access_control": _access("hammer")})
    group["subscriptions"][0]["target"] = "function:hammer"
    with simulate(tmp_path, group, {"hammer": HAMMER}, seed=1) as sim:
        for n in range(8):
            sim.publish("sensor", "go", {"n": n})
        sim.run(5)
        assert sim.stats("hammer").completed == 8
        assert sim.stats("hammer").timeouts == 0
        assert sim.logs("hammer").count(
            "[2026-01-01T00:00:00.000Z][INFO]-hammer.py:18,100 calls in 0.000000 virtual seconds"
        ) == 8
        # 20 updates a second per thing is ShadowManager's limit, on the virtual clock: of
        # the 800 calls made at one virtual instant, 20 pass
        assert sim.shadow("station")["version"] == 20


def run_digest(folder: Path, seed: int) -> str:
    """Everything a run produces (logs, messages, Shadow), hashed."""
    with Simulation.from_group(folder / "group.yaml", seed=seed) as sim:
        sim.run(1)
        for _ in range(3):
            sim.publish("sensor", "go", {})
            sim.run(7)
        record = {
            "logs": {name: sim.logs(name) for name in sim.core.functions},
            "core": sim.core_log(),
            "messages": [(m.time, m.source, m.topic, m.payload.hex(), m.targets)
                         for m in sim.messages()],
            "shadow": sim.shadow("station"),
        }
    return hashlib.sha256(json.dumps(record, sort_keys=True).encode()).hexdigest()


def test_the_same_seed_gives_byte_identical_results(tmp_path: Path) -> None:
    write_group(tmp_path, _worker_group(), {"worker": WORKER, "old": OLD_CLIENT})
    first, second = run_digest(tmp_path, 7), run_digest(tmp_path, 7)
    assert first == second
    # ... and in another process, as under pytest -n 2
    other = subprocess.run(
        [sys.executable, "-c", "import sys; from pathlib import Path; "
         "from tests.harness.test_v2_ipc import run_digest; "
         f"print(run_digest(Path({str(tmp_path)!r}), 7))"],
        cwd=ROOT, capture_output=True, text=True, timeout=120, check=True)
    assert other.stdout.strip() == first
