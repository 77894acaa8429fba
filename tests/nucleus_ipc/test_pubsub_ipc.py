"""Local pub/sub over IPC with the real client, and the nucleus's matching rules."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator

import pytest
from awsiot.eventstreamrpc import StreamClosedError
from awsiot.greengrasscoreipc import model as ipc

from fakes.nucleus_ipc.rpc import Call, Stream
from fakes.nucleus_ipc.services import PubSubMessage
from fakes.nucleus_ipc.services.pubsub import (
    RECEIVE_ALL,
    InMemoryPubSub,
    is_wildcard,
    java_split,
    trie_matches,
)
from tests.nucleus_ipc.helpers import PUBSUB, Collector, FakeCore, P, T

EVERYTHING = {PUBSUB: {"all": {"operations": ["*"], "resources": ["*"]}}}


def json_message(message: object) -> ipc.PublishMessage:
    return ipc.PublishMessage(json_message=ipc.JsonMessage(message=message))


def binary_message(data: bytes) -> ipc.PublishMessage:
    return ipc.PublishMessage(binary_message=ipc.BinaryMessage(message=data))


def subscribe(client, topic: str, receive_mode: str | None = None) -> tuple[Collector, object]:
    collector = Collector()
    future, operation = client.subscribe_to_topic_async(
        topic=topic,
        receive_mode=receive_mode,
        on_stream_event=collector.on_event,
        on_stream_closed=collector.on_closed,
    )
    assert isinstance(future.result(T), ipc.SubscribeToTopicResponse)
    return collector, operation


def barrier(client) -> None:
    """A round trip on the client's connection: the server has handled everything before it."""
    client.publish_to_topic_async(topic="barrier", publish_message=json_message({})).result(T)


@pytest.fixture
def pair(core: FakeCore):
    core.allow("pub", EVERYTHING)
    core.allow("sub", EVERYTHING)
    return core.client("pub"), core.client("sub")


def test_json_and_binary_messages_reach_a_wildcard_subscriber(pair) -> None:
    publisher, subscriber = pair
    events, _ = subscribe(subscriber, "bme680/#")
    publisher.publish_to_topic_async(
        topic="bme680/readings", publish_message=json_message({"t": "x"})
    ).result(T)
    publisher.publish_to_topic_async(
        topic="bme680/raw", publish_message=binary_message(b"\x00\x01")
    ).result(T)
    first, second = events.wait_for(2)
    assert first.json_message.message == {"t": "x"}
    assert first.json_message.context.topic == "bme680/readings"
    assert first.binary_message is None
    assert second.binary_message.message == b"\x00\x01"
    assert second.binary_message.context.topic == "bme680/raw"


def test_json_numbers_arrive_as_doubles_and_null_members_vanish(pair) -> None:
    publisher, subscriber = pair
    events, _ = subscribe(subscriber, "n")
    publisher.publish_to_topic_async(
        topic="n", publish_message=json_message({"i": 1, "gone": None, "list": [2, None]})
    ).result(T)
    (event,) = events.wait_for(1)
    message = event.json_message.message
    assert message == {"i": 1.0, "list": [2.0, None]}
    assert isinstance(message["i"], float)


def test_publish_with_no_subscriber_succeeds(pair) -> None:
    publisher, _ = pair
    assert isinstance(
        publisher.publish_to_topic_async(
            topic="nobody/listens", publish_message=json_message({})
        ).result(T),
        ipc.PublishToTopicResponse,
    )


def test_receive_modes(core: FakeCore) -> None:
    core.allow("me", EVERYTHING)
    client = core.client("me")
    wildcard_default, _ = subscribe(client, "a/+")
    exact_default, _ = subscribe(client, "a/b")
    wildcard_all, _ = subscribe(client, "a/#", receive_mode=ipc.ReceiveMode.RECEIVE_ALL_MESSAGES)
    exact_others, _ = subscribe(
        client, "a/b", receive_mode=ipc.ReceiveMode.RECEIVE_MESSAGES_FROM_OTHERS
    )
    client.publish_to_topic_async(topic="a/b", publish_message=json_message({"n": 1})).result(T)
    assert len(exact_default.wait_for(1)) == 1
    assert len(wildcard_all.wait_for(1)) == 1
    barrier(client)
    assert wildcard_default.events == [] and exact_others.events == []
    core.router.publish(PubSubMessage("a/b", "someone.else", binary=b"x"))  # from the core side
    assert len(wildcard_default.wait_for(1)) == 1 and len(exact_others.wait_for(1)) == 1


def test_client_close_ends_the_subscription(core: FakeCore, pair) -> None:
    _, subscriber = pair
    events, operation = subscribe(subscriber, "t")
    assert core.router.subscriptions() == [("t", "sub", RECEIVE_ALL)]
    operation.close().result(T)
    assert events.closed.wait(T)
    barrier(subscriber)
    assert core.router.subscriptions() == []


def test_server_closing_the_connection_ends_subscriptions(core: FakeCore, pair) -> None:
    _, subscriber = pair
    events, _ = subscribe(subscriber, "t")
    core.server.close_connections("sub")
    assert events.closed.wait(T)
    assert core.router.subscriptions() == []


@pytest.mark.parametrize(
    ("topic", "text"),
    [
        ("a/+/b", "Publish topic must not contain a wildcard."),
        ("a/#", "Publish topic must not contain a wildcard."),
        ("a*", "Publish topic must not contain a wildcard."),
    ],
)
def test_wildcard_publish_is_invalid(pair, topic: str, text: str) -> None:
    publisher, _ = pair
    with pytest.raises(ipc.InvalidArgumentsError) as error:
        publisher.publish_to_topic_async(topic=topic, publish_message=json_message({})).result(T)
    assert error.value.message == text


def test_authorization_comes_before_validation(core: FakeCore) -> None:
    client = core.client("nobody")
    with pytest.raises(ipc.UnauthorizedError) as error:
        client.publish_to_topic_async(topic="a/#", publish_message=json_message({})).result(T)
    assert error.value.message == (
        "Principal nobody is not authorized to perform aws.greengrass.ipc.pubsub:"
        "aws.greengrass#PublishToTopic on resource a/#"
    )
    with pytest.raises(ipc.UnauthorizedError) as error:
        client.subscribe_to_topic_async(topic="")[0].result(T)
    assert error.value.message == "Resource cannot be empty"


def test_missing_topic_after_authorization(pair) -> None:
    publisher, _ = pair
    with pytest.raises(ipc.InvalidArgumentsError) as error:
        publisher.publish_to_topic_async(publish_message=json_message({})).result(T)
    assert error.value.message == "Publish topic must not be null"
    with pytest.raises(ipc.InvalidArgumentsError) as error:
        publisher.subscribe_to_topic_async()[0].result(T)
    assert error.value.message == "Subscribe topic must not be empty"


def test_mqtt_wildcards_in_pubsub_policies_are_literal(core: FakeCore) -> None:
    core.allow(
        "c",
        {
            PUBSUB: {
                "p": {
                    "operations": [P + "SubscribeToTopic", P + "PublishToTopic"],
                    "resources": ["test/topic/#", "glob/*"],
                }
            }
        },
    )
    client = core.client("c")
    subscribe(client, "test/topic/#")
    with pytest.raises(ipc.UnauthorizedError):
        client.subscribe_to_topic_async(topic="test/topic/x")[0].result(T)
    with pytest.raises(ipc.UnauthorizedError):
        client.publish_to_topic_async(
            topic="test/topic/x", publish_message=json_message({})
        ).result(T)
    client.publish_to_topic_async(topic="glob/any/depth", publish_message=json_message({})).result(
        T
    )


def test_json_message_that_is_not_an_object_gets_the_bare_internal_error(pair) -> None:
    publisher, _ = pair
    with pytest.raises(StreamClosedError):
        publisher.publish_to_topic_async(topic="t", publish_message=json_message([1, 2, 3])).result(
            T
        )


def test_topic_of_only_slashes(pair) -> None:
    publisher, _ = pair
    with pytest.raises(ipc.ServiceError) as error:
        publisher.publish_to_topic_async(topic="/", publish_message=json_message({})).result(T)
    assert error.value.message == "Index 0 out of bounds for length 0"


def test_nucleus_trie_quirks_through_ipc(pair) -> None:
    publisher, subscriber = pair
    parent, _ = subscribe(subscriber, "a/#", ipc.ReceiveMode.RECEIVE_ALL_MESSAGES)
    trailing, _ = subscribe(subscriber, "x/y/")
    for topic in ("a", "x/y"):
        publisher.publish_to_topic_async(topic=topic, publish_message=json_message({})).result(T)
    barrier(subscriber)
    assert parent.events == []  # "a/#" does not match "a" on the nucleus
    assert len(trailing.wait_for(1)) == 1  # "x/y/" is "x/y"


@pytest.mark.parametrize(
    ("topic_filter", "topic", "matches"),
    [
        ("a/b", "a/b", True),
        ("a/+", "a/b", True),
        ("a/+", "a/b/c", False),
        ("a/#", "a/b/c", True),
        ("a/#", "a", False),
        ("#", "anything/at/all", True),
        ("a/#/c", "a/b/c", True),
        ("a/#/c", "a/b/b/c", False),
        ("a/b/", "a/b", True),
        ("/a", "a", False),
        ("/a", "/a", True),
        ("a//b", "a/x/b", False),
        ("a/+b", "a/xb", False),
    ],
)
def test_subscription_trie_matching(topic_filter: str, topic: str, matches: bool) -> None:
    assert trie_matches(java_split(topic_filter), java_split(topic)) is matches


def test_java_split_and_wildcard_detection() -> None:
    assert java_split("") == [""] and java_split("a//") == ["a"] and java_split("/") == []
    assert is_wildcard("a/+/b") and is_wildcard("a/#") and not is_wildcard("a/#/b")
    assert not is_wildcard("a+/b")


# -- stream ordering and server-side close -----------------------------------------------


class EagerRouter(InMemoryPubSub):
    """Delivers a retained-style message inside subscribe(), before the response exists."""

    def subscribe(self, topic_filter, component, receive_mode, deliver):
        unsubscribe = super().subscribe(topic_filter, component, receive_mode, deliver)
        deliver(PubSubMessage(topic_filter, "core", binary=b"early"))
        return unsubscribe


def test_events_offered_before_the_response_wait_for_it() -> None:
    core = FakeCore()
    core.router.__class__ = EagerRouter
    core.start()
    try:
        core.allow("c", EVERYTHING)
        events, _ = subscribe(core.client("c"), "t")  # the response came first: no error
        (event,) = events.wait_for(1)
        assert event.binary_message.message == b"early"
    finally:
        core.stop()


class Holder:
    """A SubscribeToTopic that keeps its stream for the test to close."""

    def __init__(self) -> None:
        self.streams: list[Stream] = []
        self.ready = threading.Event()

    def handlers(self) -> dict[str, Callable[[Call], dict]]:
        return {P + "SubscribeToTopic": self.keep}

    def keep(self, call: Call) -> dict:
        self.streams.append(call.stream)
        call.stream.on_close(self.ready.set)
        return {}


@pytest.fixture
def holder() -> Iterator[tuple[FakeCore, Holder]]:
    core = FakeCore()
    held = Holder()
    core.server.add_service(held)
    core.start()
    yield core, held
    core.stop()


def test_server_closes_one_stream(holder) -> None:
    core, held = holder
    client = core.client("c")
    events, _ = subscribe(client, "t")
    (stream,) = held.streams
    assert stream.send_event({"binaryMessage": {"message": "aGk=", "context": {"topic": "t"}}})
    assert events.wait_for(1)[0].binary_message.message == b"hi"
    stream.close()
    assert held.ready.is_set()
    assert events.closed.wait(T)
    assert not stream.send_event({"jsonMessage": {"message": {}}})
    subscribe(client, "u")  # the connection still serves new streams
    assert len(held.streams) == 2 and not held.streams[1].closed


def test_old_style_client_subscribes_publishes_and_closes(core: FakeCore) -> None:
    from awsiot.greengrasscoreipc.client import SubscribeToTopicStreamHandler

    core.allow("old", EVERYTHING)
    client = core.old_client("old")
    events = Collector()

    class Handler(SubscribeToTopicStreamHandler):
        def on_stream_event(self, event: ipc.SubscriptionResponseMessage) -> None:
            events.on_event(event)

        def on_stream_closed(self) -> None:
            events.on_closed()

    operation = client.new_subscribe_to_topic(Handler())
    operation.activate(
        ipc.SubscribeToTopicRequest(
            topic="old/t", receive_mode=ipc.ReceiveMode.RECEIVE_ALL_MESSAGES
        )
    )
    operation.get_response().result(T)
    publish = client.new_publish_to_topic()
    publish.activate(
        ipc.PublishToTopicRequest(topic="old/t", publish_message=binary_message(b"v1"))
    )
    publish.get_response().result(T)
    (event,) = events.wait_for(1)
    assert event.binary_message.message == b"v1"
    operation.close().result(T)
    assert events.closed.wait(T)
