"""The rigs' MQTT helpers where paho's threads meet the caller's."""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any

import pytest
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.reasoncodes import ReasonCode

from harness.rigs.mqtt_client import (
    MQTT3,
    MQTT5,
    MqttError,
    MqttIdentity,
    ShadowClient,
    ThingConnection,
    filter_covers,
    publish_acknowledged,
)

TIMEOUT = 5.0  # seconds; the call ends at once unless it deadlocks


class _Info:
    def __init__(self, mid: int) -> None:
        self.mid = mid


class _PahoLocking:
    """A stand-in for a paho 2.2 client with its locking: ``publish`` takes the outgoing
    message lock, and the network thread calls ``on_publish`` holding that lock. Here the
    PUBACK is handled while ``publish`` has not returned yet (the network thread holds the
    lock first), as happens with TCP_NODELAY on loopback."""

    def __init__(self) -> None:
        self.on_publish: Any = None
        self._out_message_mutex = threading.Lock()
        self._network: threading.Thread | None = None

    def publish(self, topic: str, payload: bytes, qos: int) -> _Info:
        puback_handled = threading.Event()
        holding = threading.Event()

        def network_thread() -> None:
            with self._out_message_mutex:
                holding.set()
                self.on_publish(self, None, 1, ReasonCode(PacketTypes.PUBACK, identifier=0), None)
            puback_handled.set()

        self._network = threading.Thread(target=network_thread, daemon=True)
        self._network.start()
        holding.wait(TIMEOUT)
        with self._out_message_mutex:  # paho: queueing the message under this lock
            pass
        return _Info(1)


def test_a_puback_handled_before_publish_returns_does_not_deadlock() -> None:
    client = _PahoLocking()
    result: list[int] = []
    caller = threading.Thread(
        target=lambda: result.append(publish_acknowledged(client, "t", b"x", timeout=TIMEOUT)),
        daemon=True)
    caller.start()
    caller.join(TIMEOUT)
    assert not caller.is_alive(), "publish_acknowledged deadlocked with paho's network thread"
    assert result == [0]
    assert client.on_publish is None  # the caller's callback is put back


# ---------------------------------------------------------------- one connection per thing


def test_which_topic_filters_cover_which() -> None:
    covered = [("#", "bme680/readings"), ("#", "#"), ("$aws/things/#",
               "$aws/things/weather-station/shadow/get/accepted"),
               ("+/readings", "bme680/readings"), ("a/#", "a"), ("a/#", "a/+/c"),
               ("a/b", "a/b"), ("+/+", "a/+")]
    not_covered = [("#", "$aws/things/weather-station/shadow/get/accepted"),  # $ topics
                   ("+/shadow", "$aws/shadow"), ("a/+", "a/b/c"), ("a/+", "a/#"),
                   ("+/+", "+/#"), ("a/b", "a/c"), ("a/b/c", "a/b"), ("a/b", "a/b/c")]
    assert [pair for pair in covered if not filter_covers(*pair)] == []
    assert [pair for pair in not_covered if filter_covers(*pair)] == []


class _FakeClient:
    """What ThingConnection uses of a connected paho client; SUBACKs come from another thread,
    granting QoS 1 or refusing (0x80) the filters in ``refuse``."""

    def __init__(self, refuse: frozenset[str] = frozenset()) -> None:
        self.on_connect: Any = lambda *args: None
        self.on_subscribe: Any = None
        self.on_message: Any = None
        self.refuse = refuse
        self.subscriptions: list[list[Any]] = []
        self.disconnected = False

    def subscribe(self, topics: list[Any]) -> tuple[int, int]:
        self.subscriptions.append(topics)
        mid = len(self.subscriptions)
        reasons = [ReasonCode(PacketTypes.SUBACK, identifier=0x80 if topic in self.refuse else 1)
                   for topic, _ in topics]
        threading.Thread(target=self.on_subscribe, args=(self, None, mid, reasons, None),
                         daemon=True).start()
        return 0, mid

    def disconnect(self) -> None:
        self.disconnected = True

    def loop_stop(self) -> None: ...


class _Message:
    def __init__(self, topic: str, payload: bytes) -> None:
        self.topic, self.payload = topic, payload


@pytest.fixture
def connections(monkeypatch: pytest.MonkeyPatch) -> list[tuple[dict[str, Any], _FakeClient]]:
    """connect_client replaced: each call is recorded with the fake client it returned."""
    made: list[tuple[dict[str, Any], _FakeClient]] = []

    def fake_connect(identity: MqttIdentity, **options: Any) -> _FakeClient:
        client = _FakeClient(frozenset({"$aws/rules/forbidden"}))
        client.on_message = options["on_message"]  # as paho calls it
        made.append(({"identity": identity, **options}, client))
        return client

    monkeypatch.setattr("harness.rigs.mqtt_client.connect_client", fake_connect)
    return made


IDENTITY = MqttIdentity("weather-station", Path("ws.pem"), Path("ws.key"), Path("ca.pem"),
                        "192.168.1.20")


def test_a_thing_connection_uses_the_thing_name_and_subscribes_each_filter_once(
        connections: list[tuple[dict[str, Any], _FakeClient]]) -> None:
    seen: list[str] = []
    connection = ThingConnection(IDENTITY, subscribe=["#", "$aws/things/#"],
                                 handlers=[lambda c, u, m: seen.append(m.topic)],
                                 protocol=MQTT3)
    [(options, client)] = connections
    assert options["client_id"] == "weather-station"
    assert (options["subscribe"], options["protocol"]) == (["#", "$aws/things/#"], MQTT3)
    # a Shadow client on the same connection: its reply topics are covered already
    shadow = ShadowClient(IDENTITY, "weather-station", connection=connection)
    assert client.subscriptions == []
    assert shadow.client is client
    # another thing's Shadow on it: covered by $aws/things/# as well; an uncovered filter is
    # subscribed (MQTT 3.1.1 form: topic, QoS) and waited for
    connection.subscribe(["bme680/readings", "$SYS/broker/uptime", "$SYS/broker/uptime"],
                         timeout=TIMEOUT)
    assert client.subscriptions == [[("$SYS/broker/uptime", 1)]]
    assert connection.filters == ["#", "$aws/things/#", "$SYS/broker/uptime"]
    with pytest.raises(MqttError, match=r"refused weather-station's subscriptions:"
                       r" \$aws/rules/forbidden \(Unspecified error\)"):
        connection.subscribe(["$aws/rules/forbidden"], timeout=TIMEOUT)
    assert "$aws/rules/forbidden" not in connection.filters
    # every handler gets every message; the Shadow client keeps only its thing's replies
    reply = json.dumps({"clientToken": "harness-1", "state": {}}).encode()
    topics = ["$aws/things/weather-station/shadow/get",  # its own request, echoed (MQTT 3)
              "$aws/things/weather-station/shadow/get/accepted",
              "$aws/things/other/shadow/get/accepted", "bme680/readings"]
    for topic in topics:
        client.on_message(client, None, _Message(topic, reply))
    assert seen == topics
    assert [topic for topic, _ in shadow._replies.messages] == [
        "$aws/things/weather-station/shadow/get/accepted"]
    shadow.close()  # stops listening, leaves the shared connection open
    assert not client.disconnected
    client.on_message(client, None, _Message("$aws/things/weather-station/shadow/get/accepted",
                                             reply))
    assert len(shadow._replies.messages) == 1
    connection.close()
    assert client.disconnected


def test_filters_added_later_are_subscribed_again_after_a_reconnection(
        connections: list[tuple[dict[str, Any], _FakeClient]]) -> None:
    connection = ThingConnection(IDENTITY, subscribe=["bme680/readings"], protocol=MQTT5)
    [(_, client)] = connections
    connection.subscribe(["$aws/things/weather-station/shadow/#"], timeout=TIMEOUT)
    client.subscriptions.clear()
    client.on_connect(client, None, None, ReasonCode(PacketTypes.CONNACK, identifier=0), None)
    [later] = client.subscriptions  # the first filters are connect_client's to renew
    assert [topic for topic, _ in later] == ["$aws/things/weather-station/shadow/#"]
    assert later[0][1].QoS == 1  # MQTT v5: subscribe options
