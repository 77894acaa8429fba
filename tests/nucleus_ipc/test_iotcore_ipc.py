"""PublishToIoTCore / SubscribeToIoTCore with the real client."""

from __future__ import annotations

import pytest
from awsiot.greengrasscoreipc import model as ipc

from fakes.nucleus_ipc.services import MqttMessage
from fakes.nucleus_ipc.services.iotcore import IotCoreError
from tests.nucleus_ipc.helpers import IOT, Collector, FakeCore, T

AT_LEAST_ONCE = ipc.QOS.AT_LEAST_ONCE


@pytest.fixture
def client(core: FakeCore):
    core.allow(
        "c",
        {
            IOT: {
                "c:mqtt:1": {
                    "operations": ["*"],
                    "resources": ["hello/world", "sensors/+/temp", "cmd/#"],
                }
            }
        },
    )
    return core.client("c")


def test_publish_reaches_the_cloud_connection(core: FakeCore, client) -> None:
    response = client.publish_to_iot_core_async(
        topic_name="sensors/kitchen/temp", qos=AT_LEAST_ONCE, payload=b"21.5", retain=True
    ).result(T)
    assert isinstance(response, ipc.PublishToIoTCoreResponse)
    assert core.cloud.published == [MqttMessage("sensors/kitchen/temp", b"21.5", 1, True, "c")]


def test_unauthorized_topic_gets_not_authorized(client) -> None:
    with pytest.raises(ipc.UnauthorizedError) as error:
        client.publish_to_iot_core_async(
            topic_name="sensors/a/b/temp", qos="0", payload=b""
        ).result(T)
    assert error.value.message == "Not Authorized"


@pytest.mark.parametrize(
    ("kwargs", "text"),
    [
        ({"qos": "0", "payload": b"x"}, "Topic is required"),
        ({"topic_name": "hello/world", "qos": "0"}, "Payload is required"),
        ({"topic_name": "hello/world", "payload": b"x"}, "QoS is required"),
        ({"topic_name": "hello/world", "payload": b"x", "qos": "2"}, "Invalid QoS value: 2"),
    ],
)
def test_publish_argument_checks(client, kwargs: dict, text: str) -> None:
    with pytest.raises(ipc.InvalidArgumentsError) as error:
        client.publish_to_iot_core_async(**kwargs).result(T)
    assert error.value.message == text


def test_topic_check_comes_before_authorization(core: FakeCore) -> None:
    with pytest.raises(ipc.InvalidArgumentsError) as error:
        core.client("nobody").publish_to_iot_core_async(qos="0", payload=b"").result(T)
    assert error.value.message == "Topic is required"


def test_publish_failure_is_a_service_error(core: FakeCore, client) -> None:
    def refuse(message: MqttMessage) -> None:
        raise IotCoreError("spooler full")

    core.cloud.publish = refuse  # type: ignore[method-assign]
    with pytest.raises(ipc.ServiceError) as error:
        client.publish_to_iot_core_async(topic_name="hello/world", qos="1", payload=b"x").result(T)
    assert error.value.message == "Publish to topic hello/world failed: spooler full"


def test_subscription_receives_cloud_messages_and_ends_with_its_stream(
    core: FakeCore, client
) -> None:
    events = Collector()
    future, operation = client.subscribe_to_iot_core_async(
        topic_name="cmd/#",
        qos=AT_LEAST_ONCE,
        on_stream_event=events.on_event,
        on_stream_closed=events.on_closed,
    )
    assert isinstance(future.result(T), ipc.SubscribeToIoTCoreResponse)
    assert core.cloud.inject("cmd/reboot", b"now") == 1
    (event,) = events.wait_for(1)
    assert event.message.topic_name == "cmd/reboot" and event.message.payload == b"now"
    operation.close().result(T)
    assert events.closed.wait(T)
    client.publish_to_iot_core_async(topic_name="hello/world", qos="0", payload=b"").result(T)
    assert core.cloud.subscriptions() == []


def test_messages_before_the_subscription_answer_are_dropped(core: FakeCore, client) -> None:
    original = core.cloud.subscribe

    def eager(topic_filter, qos, deliver):
        unsubscribe = original(topic_filter, qos, deliver)
        deliver(MqttMessage("cmd/early", b"lost"))  # arrives before the response is written
        return unsubscribe

    core.cloud.subscribe = eager  # type: ignore[method-assign]
    events = Collector()
    future, _ = client.subscribe_to_iot_core_async(
        topic_name="cmd/#", qos="0", on_stream_event=events.on_event
    )
    future.result(T)
    core.cloud.inject("cmd/late", b"kept")
    (event,) = events.wait_for(1)
    assert event.message.payload == b"kept"
