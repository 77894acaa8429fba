"""The rigs' MQTT helpers where paho's threads meet the caller's."""

from __future__ import annotations

import threading
from typing import Any

from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.reasoncodes import ReasonCode

from harness.rigs.mqtt_client import publish_acknowledged

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
