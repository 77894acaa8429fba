"""The server around the protocol: the core lock, tokens, connections."""

from __future__ import annotations

import random
import threading

from awsiot.greengrasscoreipc import model as ipc

from fakes.nucleus_ipc import NucleusIpcServer, TokenRegistry
from fakes.nucleus_ipc.rpc import Call
from tests.nucleus_ipc.helpers import PUBSUB, Collector, FakeCore, T


class LockProbe:
    """Answers GetConfiguration with whether the core lock is held by the answering thread,
    and records the same for stream-close callbacks of SubscribeToTopic."""

    def __init__(self, lock: threading.RLock) -> None:
        self.lock = lock
        self.closed_under_lock: list[bool] = []
        self.threads: list[str] = []

    def handlers(self) -> dict:
        return {
            "aws.greengrass#GetConfiguration": self.probe,
            "aws.greengrass#SubscribeToTopic": self.subscribe,
        }

    def probe(self, call: Call) -> dict:
        self.threads.append(threading.current_thread().name)
        return {"componentName": call.component, "value": {"held": self.lock._is_owned()}}  # type: ignore[attr-defined]

    def subscribe(self, call: Call) -> dict:
        call.stream.on_close(lambda: self.closed_under_lock.append(self.lock._is_owned()))  # type: ignore[attr-defined]
        return {}


def test_handlers_and_close_callbacks_run_inside_the_injected_lock_on_server_threads() -> None:
    lock = threading.RLock()
    probe = LockProbe(lock)
    core = FakeCore()
    core.server = NucleusIpcServer([probe], lock=lock, reject_grace=0.2)
    core.start()
    try:
        client = core.client("c")
        assert client.get_configuration_async().result(T).value == {"held": True}
        assert probe.threads == ["gg-ipc-connection"]
        events = Collector()
        future, operation = client.subscribe_to_topic_async(
            topic="t", on_stream_closed=events.on_closed
        )
        future.result(T)
        operation.close().result(T)
        client.get_configuration_async().result(T)  # the close has been handled
        assert probe.closed_under_lock == [True]
        assert not lock._is_owned()  # type: ignore[attr-defined]
    finally:
        core.stop()


def test_tokens_are_repeatable_and_older_ones_stay_valid() -> None:
    first, second = TokenRegistry(random.Random(7)), TokenRegistry(random.Random(7))
    tokens = [first.issue("a"), first.issue("a")]
    assert tokens == [second.issue("a"), second.issue("a")]
    assert tokens[0] != tokens[1]
    assert [first.component_for(t) for t in tokens] == ["a", "a"]


def test_shadow_manager_itself_is_always_authorized(core: FakeCore) -> None:
    client = core.client("aws.greengrass.ShadowManager")
    client.update_thing_shadow_async(thing_name="t", payload=b'{"state": {"reported": {}}}').result(
        T
    )
    assert core.shadow.version("t") == 1


def test_close_connections_of_one_component_only(core: FakeCore) -> None:
    core.allow("a", {PUBSUB: {"p": {"operations": ["*"], "resources": ["*"]}}})
    core.allow("b", {PUBSUB: {"p": {"operations": ["*"], "resources": ["*"]}}})
    a, b = core.client("a"), core.client("b")
    a_events, b_events = Collector(), Collector()
    for client, events in ((a, a_events), (b, b_events)):
        client.subscribe_to_topic_async(topic="t", on_stream_closed=events.on_closed)[0].result(T)
    assert core.server.close_connections("a") == 1
    assert a_events.closed.wait(T)
    b.publish_to_topic_async(
        topic="t",
        publish_message=ipc.PublishMessage(binary_message=ipc.BinaryMessage(message=b"x")),
    ).result(T)
    assert not b_events.closed.is_set()
    assert [c.component for c in core.server.connections()] == ["b"]
