"""ShadowManager over IPC with the real client: shapes, order of checks, exact texts."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from awsiot.greengrasscoreipc import model as ipc
from awsiot.greengrasscoreipc.clientv2 import GreengrassCoreIPCClientV2

from fakes.nucleus_ipc.services import PubSubMessage, RateLimits, shadow_manager_config
from fakes.nucleus_ipc.services.pubsub import RECEIVE_ALL
from fakes.shadow import ShadowService
from tests.nucleus_ipc.helpers import SHADOW, T0, FakeCore, P, T

THING = "weather-station"
CLASSIC = f"$aws/things/{THING}/shadow"
READ_WRITE = [P + "GetThingShadow", P + "UpdateThingShadow", P + "DeleteThingShadow"]


def shadow_policy(resources: list[str], operations: list[str] = READ_WRITE) -> dict:
    return {SHADOW: {"c:shadow:1": {"operations": operations, "resources": resources}}}


@pytest.fixture
def client(core: FakeCore) -> GreengrassCoreIPCClientV2:
    core.allow(
        "c",
        shadow_policy(
            [CLASSIC, CLASSIC + "/name/*", THING], [*READ_WRITE, P + "ListNamedShadowsForThing"]
        ),
    )
    return core.client("c")


@pytest.fixture
def published(core: FakeCore) -> Iterator[list[PubSubMessage]]:
    """What ShadowManager publishes on local pub/sub."""
    seen: list[PubSubMessage] = []
    unsubscribe = core.router.subscribe("$aws/things/#", "observer", RECEIVE_ALL, seen.append)
    yield seen
    unsubscribe()


def update(client: GreengrassCoreIPCClientV2, document: object, shadow: str | None = None) -> dict:
    payload = document if isinstance(document, bytes) else json.dumps(document).encode()
    response = client.update_thing_shadow_async(
        thing_name=THING, shadow_name=shadow, payload=payload
    ).result(T)
    return json.loads(response.payload)


def error_of(future) -> Exception:
    with pytest.raises(Exception) as caught:
        future.result(T)
    return caught.value


# -- the happy path ----------------------------------------------------------------------


def test_update_get_delete_round_trip(core: FakeCore, client: GreengrassCoreIPCClientV2) -> None:
    accepted = update(client, {"state": {"reported": {"t": 21}}, "clientToken": "tok"})
    assert accepted == {
        "state": {"reported": {"t": 21}},
        "metadata": {"reported": {"t": {"timestamp": T0}}},
        "version": 1,
        "timestamp": T0,
        "clientToken": "tok",
    }
    core.clock.advance(10)
    update(client, {"state": {"desired": {"t": 25}}})
    document = json.loads(client.get_thing_shadow_async(thing_name=THING).result(T).payload)
    assert document["state"] == {"desired": {"t": 25}, "reported": {"t": 21}, "delta": {"t": 25}}
    assert document["version"] == 2 and document["timestamp"] == T0 + 10
    deleted = client.delete_thing_shadow_async(thing_name=THING).result(T)
    assert deleted.payload == b""
    assert core.shadow.version(THING) is None


def test_empty_shadow_name_is_the_classic_shadow(
    core: FakeCore, client: GreengrassCoreIPCClientV2
) -> None:
    update(client, {"state": {"reported": {"a": 1}}}, shadow="")
    assert core.shadow.version(THING, None) == 1


def test_named_shadow(core: FakeCore, client: GreengrassCoreIPCClientV2) -> None:
    update(client, {"state": {"reported": {"a": 1}}}, shadow="config")
    assert core.shadow.version(THING, "config") == 1
    assert core.shadow.version(THING) is None


def test_old_style_client_works_on_the_same_server(core: FakeCore) -> None:
    core.access.set_component("old", shadow_policy([CLASSIC]))
    client = core.old_client("old")
    operation = client.new_update_thing_shadow()
    operation.activate(
        ipc.UpdateThingShadowRequest(thing_name=THING, payload=b'{"state": {"reported": {"x": 1}}}')
    )
    assert json.loads(operation.get_response().result(T).payload)["version"] == 1
    get = client.new_get_thing_shadow()
    get.activate(ipc.GetThingShadowRequest(thing_name=THING))
    assert json.loads(get.get_response().result(T).payload)["state"] == {"reported": {"x": 1}}


def test_calls_from_a_greenlet_are_answered(
    core: FakeCore, client: GreengrassCoreIPCClientV2
) -> None:
    greenlet = pytest.importorskip("greenlet")
    result = greenlet.greenlet(lambda: update(client, {"state": {"reported": {"g": 1}}})).switch()
    assert result["version"] == 1


def test_responses_are_published_on_local_pubsub_in_shadow_managers_order(
    core: FakeCore, client: GreengrassCoreIPCClientV2, published: list[PubSubMessage]
) -> None:
    update(client, {"state": {"desired": {"on": True}}})
    assert [m.topic for m in published] == [
        CLASSIC + "/update/delta",
        CLASSIC + "/update/documents",
        CLASSIC + "/update/accepted",
    ]
    assert {m.source for m in published} == {SHADOW}
    assert all(m.binary is not None and m.json is None for m in published)
    published.clear()
    client.get_thing_shadow_async(thing_name=THING).result(T)
    client.delete_thing_shadow_async(thing_name=THING).result(T)
    assert [m.topic for m in published] == [CLASSIC + "/get/accepted", CLASSIC + "/delete/accepted"]


# -- errors: classes and texts -----------------------------------------------------------


def test_missing_shadow_is_resource_not_found(
    core: FakeCore, client: GreengrassCoreIPCClientV2, published: list[PubSubMessage]
) -> None:
    error = error_of(client.get_thing_shadow_async(thing_name=THING))
    assert isinstance(error, ipc.ResourceNotFoundError)
    assert (error.message, error.resource_type, error.resource_name) == (
        "No shadow found",
        "shadow",
        None,
    )
    assert str(error) == ""
    (rejected,) = published
    assert rejected.topic == CLASSIC + "/get/rejected"
    assert json.loads(rejected.binary) == {
        "timestamp": T0,
        "code": 404,
        "message": "No shadow exists with name: Unnamed Shadow",
    }
    error = error_of(client.delete_thing_shadow_async(thing_name=THING, shadow_name="cfg"))
    assert isinstance(error, ipc.ResourceNotFoundError) and error.message == "No shadow found"
    assert json.loads(published[-1].binary)["message"] == "No shadow exists with name: cfg"


def test_unauthorized_has_the_nucleus_text(core: FakeCore, published: list[PubSubMessage]) -> None:
    core.access.set_component("other", shadow_policy([CLASSIC], [P + "GetThingShadow"]))
    client = core.client("other")
    error = error_of(client.update_thing_shadow_async(thing_name=THING, payload=b'{"state": {}}'))
    assert isinstance(error, ipc.UnauthorizedError)
    assert error.message == (
        "Principal other is not authorized to perform aws.greengrass.ShadowManager:"
        "aws.greengrass#UpdateThingShadow on resource $aws/things/weather-station/shadow"
    )
    assert json.loads(published[-1].binary) == {
        "timestamp": T0,
        "code": 401,
        "message": "Unauthorized",
    }


def test_uncovered_named_shadow_is_unauthorized_not_missing(core: FakeCore) -> None:
    core.access.set_component("narrow", shadow_policy([CLASSIC]))
    client = core.client("narrow")
    error = error_of(client.get_thing_shadow_async(thing_name=THING, shadow_name="other"))
    assert isinstance(error, ipc.UnauthorizedError)
    assert error.message.endswith("on resource $aws/things/weather-station/shadow/name/other")


@pytest.mark.parametrize(
    ("thing", "shadow", "text"),
    [
        ("", None, "ThingName is missing"),
        ("t" * 129, None, "ThingName has a maximum length of 128"),
        ("bad name", None, "ThingName must match pattern [a-zA-Z0-9:_-]+"),
        ("ok", "s" * 65, "ShadowName has a maximum length of 64"),
        ("ok", "$cloud-allows-this", "ShadowName must match pattern [a-zA-Z0-9:_-]+"),
    ],
)
def test_names_are_checked_before_authorization(
    core: FakeCore, thing: str, shadow: str | None, text: str
) -> None:
    client = core.client("nobody")  # no policy at all
    for call in (client.get_thing_shadow_async, client.delete_thing_shadow_async):
        error = error_of(call(thing_name=thing, shadow_name=shadow))
        assert isinstance(error, ipc.InvalidArgumentsError) and error.message == text
    error = error_of(
        client.update_thing_shadow_async(thing_name=thing, shadow_name=shadow, payload=b"{}")
    )
    assert isinstance(error, ipc.InvalidArgumentsError) and error.message == text


def test_empty_payload_is_refused_before_authorization(core: FakeCore) -> None:
    client = core.client("nobody")
    error = error_of(client.update_thing_shadow_async(thing_name=THING, payload=b""))
    assert (
        isinstance(error, ipc.InvalidArgumentsError) and error.message == "Missing update payload"
    )


def test_malformed_json_is_checked_after_authorization(
    core: FakeCore, client: GreengrassCoreIPCClientV2
) -> None:
    nobody = core.client("nobody")
    assert isinstance(
        error_of(nobody.update_thing_shadow_async(thing_name=THING, payload=b"{oops")),
        ipc.UnauthorizedError,
    )
    error = error_of(client.update_thing_shadow_async(thing_name=THING, payload=b"{oops"))
    assert isinstance(
        error, ipc.ServiceError
    )  # ShadowManager's code, not the docs' InvalidArguments
    assert error.message


@pytest.mark.parametrize(
    ("document", "text"),
    [
        ({}, "Invalid JSON: "),
        (None, "Invalid JSON: "),
        ({"version": 1}, "Invalid JSON: state: is missing but it is required"),
        ({"state": {}, "version": None}, "Invalid JSON: version: null found, number expected"),
        ({"state": {}, "version": "2"}, "Invalid JSON: version: string found, number expected"),
        ({"state": {}, "version": -1}, "Invalid JSON: version: must have a minimum value of 0"),
        ({"state": "on"}, "Invalid JSON: state: string found, but [object, null] is required"),
        (
            {"state": {"desired": [1]}},
            "Invalid JSON: state.desired: array found, but [object, null] is required",
        ),
        (
            {"state": {}, "clientToken": "x" * 65},
            "Invalid JSON: clientToken: may only be 64 characters long",
        ),
        (
            {"clientToken": 7},
            "Invalid JSON: state: is missing but it is required. "
            "clientToken: integer found, string expected",
        ),
        (
            {"state": {"color": 1}},
            "Invalid JSON: state.reported: is missing but it is required. "
            "state.desired: is missing but it is required. "
            "state.color: is not defined in the schema and the schema does not allow "
            "additional properties",
        ),
        ([1], "Invalid JSON: $: array found, object expected"),
        (
            {"state": {"reported": {"a": {"b": {"c": {"d": {"e": {"f": {"g": 1}}}}}}}}},
            "JSON contains too many levels of nesting; maximum is 6",
        ),
    ],
)
def test_payload_checks_have_shadow_managers_texts(
    client: GreengrassCoreIPCClientV2, document: object, text: str
) -> None:
    error = error_of(
        client.update_thing_shadow_async(thing_name=THING, payload=json.dumps(document).encode())
    )
    assert isinstance(error, ipc.InvalidArgumentsError)
    assert error.message == text


def test_integers_beyond_64_bits_stay_exact(client: GreengrassCoreIPCClientV2) -> None:
    big = 2**70 + 1
    assert update(client, {"state": {"reported": {"big": big}}})["state"]["reported"]["big"] == big
    stored = json.loads(client.get_thing_shadow_async(thing_name=THING).result(T).payload)
    assert stored["state"]["reported"]["big"] == big


def test_six_levels_are_allowed(client: GreengrassCoreIPCClientV2) -> None:
    assert (
        update(client, {"state": {"reported": {"a": {"b": {"c": {"d": {"e": {"f": 1}}}}}}}})[
            "version"
        ]
        == 1
    )


def test_versions_new_shadow_needs_one_existing_needs_current(
    client: GreengrassCoreIPCClientV2, published: list[PubSubMessage]
) -> None:
    error = error_of(
        client.update_thing_shadow_async(
            thing_name=THING, payload=b'{"state": {}, "version": 2, "clientToken": "k"}'
        )
    )
    assert isinstance(error, ipc.InvalidArgumentsError) and error.message == "Invalid version"
    assert json.loads(published[-1].binary) == {
        "timestamp": T0,
        "clientToken": "k",
        "code": 400,
        "message": "Invalid version",
    }
    assert update(client, {"state": {"reported": {"a": 1}}, "version": 1})["version"] == 1
    error = error_of(
        client.update_thing_shadow_async(
            thing_name=THING, payload=b'{"state": {"reported": {"a": 2}}, "version": 5}'
        )
    )
    assert isinstance(error, ipc.ConflictError) and error.message == "Version conflict"
    assert not error.is_retryable()
    assert update(client, {"state": {"reported": {"a": 2}}, "version": 1})["version"] == 2


def test_too_large_shadow_is_invalid_arguments(client: GreengrassCoreIPCClientV2) -> None:
    error = error_of(
        client.update_thing_shadow_async(
            thing_name=THING,
            payload=json.dumps({"state": {"reported": {"k": "x" * 8200}}}).encode(),
        )
    )
    assert isinstance(error, ipc.InvalidArgumentsError)
    assert error.message == "The payload exceeds the maximum size allowed"


def test_delta_in_a_request_is_dropped_silently(
    core: FakeCore, client: GreengrassCoreIPCClientV2
) -> None:
    accepted = update(client, {"state": {"desired": {"a": 1}, "delta": {"b": 2}}})
    assert accepted["state"] == {"desired": {"a": 1}}


def test_other_state_members_are_echoed_but_not_stored(
    core: FakeCore, client: GreengrassCoreIPCClientV2
) -> None:
    accepted = update(client, {"state": {"desired": {"a": 1}, "color": "red"}})
    assert accepted["state"] == {"desired": {"a": 1}, "color": "red"}
    assert core.shadow.document(THING)["state"] == {"desired": {"a": 1}, "delta": {"a": 1}}


def test_shadow_manager_not_deployed_means_not_supported() -> None:
    core = FakeCore(shadow_manager=False).start()
    try:
        client = core.client("c")
        for name, future in [
            ("GetThingShadow", client.get_thing_shadow_async(thing_name=THING)),
            (
                "UpdateThingShadow",
                client.update_thing_shadow_async(thing_name=THING, payload=b"{}"),
            ),
            ("DeleteThingShadow", client.delete_thing_shadow_async(thing_name=THING)),
            (
                "ListNamedShadowsForThing",
                client.list_named_shadows_for_thing_async(thing_name=THING),
            ),
        ]:
            error = error_of(future)
            assert isinstance(error, ipc.ServiceError)
            assert (
                error.message == f"Operation aws.greengrass#{name} is not supported by Greengrass"
            )
            assert error.is_retryable()
    finally:
        core.stop()


def test_rate_limits_use_the_injected_clock() -> None:
    core = FakeCore(rate_limits=RateLimits(total_per_second=3, per_thing_per_second=2)).start()
    try:
        core.access.set_component("c", shadow_policy(["*"]))
        client = core.client("c")
        get = lambda thing: client.get_thing_shadow_async(thing_name=thing)  # noqa: E731
        assert isinstance(error_of(get("a")), ipc.ResourceNotFoundError)
        assert isinstance(error_of(get("a")), ipc.ResourceNotFoundError)
        throttled = error_of(get("a"))
        assert isinstance(throttled, ipc.ServiceError) and throttled.message == "Too Many Requests"
        total = error_of(get("b"))  # the fourth request this second, on another thing
        assert isinstance(total, ipc.ServiceError) and total.message == "Too Many Requests"
        core.clock.advance(1.0)
        assert isinstance(error_of(get("a")), ipc.ResourceNotFoundError)
        # the limit comes before the name check, and an empty name is not limited
        core.clock.advance(1.0)
        for _ in range(3):
            error_of(get("x"))
        assert error_of(get("bad name")).message == "Too Many Requests"
        assert error_of(get("")).message == "ThingName is missing"
    finally:
        core.stop()


def test_timestamps_follow_the_injected_clock(
    core: FakeCore, client: GreengrassCoreIPCClientV2
) -> None:
    core.clock.advance(3600)
    assert update(client, {"state": {"reported": {"a": 1}}})["timestamp"] == T0 + 3600


# -- ListNamedShadowsForThing ------------------------------------------------------------


def test_list_named_shadows_pages_with_tokens(
    core: FakeCore, client: GreengrassCoreIPCClientV2
) -> None:
    for name in ("c", "a", "b"):
        update(client, {"state": {"reported": {"n": name}}}, shadow=name)
    update(client, {"state": {"reported": {}}})  # classic: never listed
    first = client.list_named_shadows_for_thing_async(thing_name=THING, page_size=2).result(T)
    assert first.results == ["a", "b"] and first.next_token
    assert first.timestamp.timestamp() == T0
    second = client.list_named_shadows_for_thing_async(
        thing_name=THING, page_size=2, next_token=first.next_token
    ).result(T)
    assert second.results == ["c"] and second.next_token is None
    full = client.list_named_shadows_for_thing_async(thing_name=THING, page_size=3).result(T)
    assert full.next_token  # a full page always carries a token
    after = client.list_named_shadows_for_thing_async(
        thing_name=THING, page_size=3, next_token=full.next_token
    ).result(T)
    assert after.results == [] and after.next_token is None


def test_list_named_shadows_errors(core: FakeCore, client: GreengrassCoreIPCClientV2) -> None:
    def fails(**kwargs: object) -> Exception:
        return error_of(client.list_named_shadows_for_thing_async(**kwargs))

    error = fails(thing_name=THING, page_size=101)
    assert isinstance(error, ipc.InvalidArgumentsError)
    assert error.message == "pageSize argument must be between 1 and 100"
    assert fails(thing_name=THING, next_token="not-base64").message == "Illegal base64 character 2d"
    assert fails(thing_name=THING, next_token="QUJDRA==").message == "Invalid nextToken argument"
    assert fails(thing_name="bad name").message == "ThingName must match pattern [a-zA-Z0-9:_-]+"
    core.access.set_component("d", {SHADOW: {"d:1": {"operations": ["*"], "resources": ["*"]}}})
    other = core.client("d")
    update(client, {"state": {"reported": {}}}, shadow="x")
    # a token made for another component
    theirs = (
        other.list_named_shadows_for_thing_async(thing_name=THING, page_size=1).result(T).next_token
    )
    assert (
        theirs
        and fails(thing_name=THING, next_token=theirs).message == "Invalid nextToken argument"
    )
    denied = error_of(core.client("nobody").list_named_shadows_for_thing_async(thing_name=THING))
    assert isinstance(denied, ipc.UnauthorizedError)
    assert denied.message.endswith(
        ":aws.greengrass#ListNamedShadowsForThing on resource weather-station"
    )


def test_shadow_manager_config_restarts_versions_after_delete() -> None:
    service = ShadowService(config=shadow_manager_config())
    service.update(THING, {"state": {"reported": {"a": 1}}})
    service.update(THING, {"state": {"reported": {"a": 2}}})
    deleted = service.delete(THING)
    assert deleted.response["version"] == 2
    assert service.update(THING, {"state": {"reported": {"a": 3}}}).response["version"] == 1


@pytest.mark.parametrize(
    "payload",
    [
        # seven levels of arrays under reported
        b'{"state": {"reported": {"a": [[[[[[1]]]]]]}}}',
        # seven levels, in UTF-16 (Jackson and the fake read it)
        json.dumps({"state": {"desired": {"a": {"b": {"c": {"d": {"e": {"f": {"g": 1}}}}}}}}}
                   ).encode("utf-16"),
    ],
)
def test_nesting_is_counted_in_arrays_and_other_encodings(
    client: GreengrassCoreIPCClientV2, payload: bytes
) -> None:
    error = error_of(client.update_thing_shadow_async(thing_name=THING, payload=payload))
    assert isinstance(error, ipc.InvalidArgumentsError)
    assert error.message == "JSON contains too many levels of nesting; maximum is 6"


def test_names_are_checked_every_time(core: FakeCore, client: GreengrassCoreIPCClientV2) -> None:
    # Good names are remembered; bad ones must still fail on every request, and a name of
    # another JSON type must not be mistaken for a remembered one.
    update(client, {"state": {"reported": {"n": 1}}}, shadow="ok")
    for _ in range(2):
        error = error_of(client.get_thing_shadow_async(thing_name=THING, shadow_name="b@d"))
        assert isinstance(error, ipc.InvalidArgumentsError)
        assert error.message == "ShadowName must match pattern [a-zA-Z0-9:_-]+"
        assert json.loads(client.get_thing_shadow(thing_name=THING, shadow_name="ok").payload)[
            "state"] == {"reported": {"n": 1}}
