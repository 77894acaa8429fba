"""The broker rig under load: every message the broker accepted from a device is delivered
to the core or counted as dropped, with where (``BrokerSession.message_counts``), past each
limit: the broker's queue, its message size, the bridge's backlog, and closing."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest

from bench.broker_latency import Readings, single_sample_group
from harness.rigs.base import RigUnavailable
from harness.rigs.broker import BrokerRig, BrokerSession
from harness.rigs.mosquitto import BrokerLimits
from harness.rigs.mqtt_client import publish_acknowledged
from harness.simulation import DEFAULT_GROUP

DEVICE = "bme680-sensor"
TOPIC = "bme680/readings"
TIMEOUT = 10.0  # wall seconds any single wait may take; each ends on its event sooner
LIMITS = BrokerLimits(max_queued_messages=10, max_inflight_messages=5)
BACKLOG = 50


@pytest.fixture(scope="module")
def rig(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BrokerRig]:
    folder = tmp_path_factory.mktemp("broker-load")
    group = single_sample_group(folder)  # republish without its 8 s of CPU sampling
    try:
        rig = BrokerRig.start(group, directory=folder / "rig", limits=LIMITS,
                              backlog=BACKLOG)
    except RigUnavailable as error:
        pytest.skip(str(error))
    yield rig
    rig.close()


@pytest.fixture
def session(rig: BrokerRig) -> Iterator[BrokerSession]:
    session = rig.session(code_dir=DEFAULT_GROUP.parent)
    yield session
    session.close()


def burst(session: BrokerSession, count: int) -> int:
    """Publish ``count`` readings as the device, QoS 1, without waiting for each PUBACK
    (but for all of them at the end); how many the broker acknowledged with success."""
    client = session.client(DEVICE)
    readings = Readings()
    infos = [client.publish(TOPIC, readings.next(), qos=1) for _ in range(count)]
    for info in infos:
        info.wait_for_publish(TIMEOUT)
    return sum(info.is_published() for info in infos)


def test_the_broker_limits_are_in_its_configuration(rig: BrokerRig) -> None:
    config = rig.mosquitto.config_path.read_text().splitlines()
    assert "message_size_limit 131072" in config  # the core's Moquette (spec §1.2)
    assert "max_queued_messages 10" in config
    assert "max_inflight_messages 5" in config
    assert "set_tcp_nodelay true" in config
    assert "message_size_limit 131072" in BrokerLimits().config_lines()


def test_past_the_broker_queue_every_message_is_delivered_or_counted(
        session: BrokerSession) -> None:
    with session.stall_bridge():
        sent = burst(session, 200)
        assert sent == 200  # the broker acknowledged every one, then dropped some
    assert session.settle(TIMEOUT)
    session.close()
    counts = session.message_counts()
    kept = LIMITS.max_queued_messages + LIMITS.max_inflight_messages
    assert counts.received <= kept + 1  # + the one the stalled bridge held
    assert counts.dropped["broker queue"] >= sent - kept - 1
    assert counts.delivered + counts.dropped_total == sent, counts
    assert any("-bridge-" in client for client in counts.broker_dropping_for)
    assert session.stats("republish").completed == counts.delivered


def test_past_the_core_backlog_every_message_is_delivered_or_counted(
        session: BrokerSession) -> None:
    """The core is not run while the burst arrives: the bridge's backlog fills to its
    limit and the rest is dropped there, counted and logged in the core's log."""
    sent, readings = 0, Readings()
    for _ in range(150):  # one at a time: the broker's queue never fills
        sent += publish_acknowledged(session.client(DEVICE), TOPIC, readings.next()) == 0
    assert session.settle(TIMEOUT)
    counts = session.message_counts()
    # on a loaded machine the bridge's network thread may lag and the broker drop some for
    # it (its queue holds 10 here): counted as "broker queue", never lost uncounted
    queue = counts.dropped.get("broker queue", 0)
    assert counts.received + queue == 150
    assert (counts.backlog, counts.backlog_peak) == (BACKLOG, BACKLOG)
    assert counts.dropped.get("core backlog") == counts.received - BACKLOG
    session.close()
    counts = session.message_counts()
    assert counts.delivered == BACKLOG and counts.backlog == 0
    assert counts.delivered + counts.dropped_total == sent == 150
    assert any("bridge backlog full (50 messages)" in line for line in session.core_log())


def test_a_message_over_the_core_brokers_size_limit_is_refused_and_counted(
        rig: BrokerRig, session: BrokerSession) -> None:
    """Over MQTT 3.1.1, as the device program publishes, the broker acknowledges a message
    larger than the core's broker takes and drops it: counted, once."""
    cert, key = rig.pki.helper(DEVICE)
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"{DEVICE}-v311",
                         protocol=mqtt.MQTTv311)
    client.tls_set(ca_certs=str(rig.pki.group_ca), certfile=str(cert), keyfile=str(key))
    client.connect(rig.mosquitto.host, rig.mosquitto.port)
    client.loop_start()
    try:
        too_large = b'{"pad": "' + b"x" * 131_072 + b'"}'
        big = client.publish(TOPIC, too_large, qos=1)
        small = client.publish(TOPIC, Readings().next(), qos=1)
        big.wait_for_publish(TIMEOUT)
        small.wait_for_publish(TIMEOUT)
        assert big.is_published() and small.is_published()
    finally:
        client.disconnect()
        client.loop_stop()
    assert session.settle(TIMEOUT)
    session.close()
    counts = session.message_counts()
    assert counts.dropped == {"broker too large": 1}
    assert counts.delivered == 1


def test_closing_drains_what_is_queued(session: BrokerSession) -> None:
    readings = Readings()
    sent = sum(publish_acknowledged(session.client(DEVICE), TOPIC, readings.next()) == 0
               for _ in range(40))
    session.close()  # the core never ran: closing hands everything over and works it off
    counts = session.message_counts()
    # all delivered, unless the broker dropped some for a lagging bridge (counted)
    assert counts.delivered + counts.dropped_total == sent == 40
    assert set(counts.dropped) <= {"broker queue"}
    stats = session.stats("republish")
    # Every reading ran, none lost. On the V2 core the 40 all run at one virtual instant, so
    # ShadowManager's per-thing limit (20 IPC requests a second) refuses some updates with
    # 429, as a real core would: those invocations end in errors, and are counted there.
    assert (stats.received, stats.completed + stats.errors, stats.dropped_at_stop) == (
        counts.delivered, counts.delivered, 0)
    refused = [line for line in session.logs("republish") if "was refused" in line]
    assert stats.errors == len(refused) and all("Too Many Requests" in line for line in refused)


def test_closing_without_time_to_drain_counts_what_it_discards(tmp_path: Path) -> None:
    group = single_sample_group(tmp_path)
    try:
        rig = BrokerRig.start(group, directory=tmp_path / "rig", drain=0.0)
    except RigUnavailable as error:
        pytest.skip(str(error))
    try:
        session = rig.session(code_dir=DEFAULT_GROUP.parent)
        try:
            sent = burst(session, 40)
            assert session.settle(TIMEOUT)
        finally:
            session.close()
        counts = session.message_counts()
        stats = session.stats("republish")
        assert counts.delivered + counts.dropped_total == sent == 40
        assert stats.dropped_at_stop > 0  # the Lambda's queue, dropped when the core stopped
        assert stats.completed + stats.dropped_at_stop + stats.dropped_queue_full \
            + stats.errors + stats.timeouts == counts.delivered
    finally:
        rig.close()


def test_the_default_backlog_is_above_every_lambda_queue_of_the_shipped_group() -> None:
    """The bridge backlog is the rig's own limit: a burst must meet the Lambdas' queues
    (the real core's limit) first (``scenarios/burst_above_queue.yaml``)."""
    from harness.group import load_group
    from harness.rigs.broker import DEFAULT_BACKLOG

    group = load_group(DEFAULT_GROUP)
    held = sum(function.max_queue_size + function.max_instances
               for function in group.functions)
    assert held < DEFAULT_BACKLOG
