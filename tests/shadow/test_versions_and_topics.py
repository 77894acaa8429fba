"""Versions, delete and re-create, named shadows, the MQTT face, persistence."""

from __future__ import annotations

import pytest

from fakes.shadow import ShadowService, parse_request_topic, request_topic
from tests.shadow.conftest import T0, ManualClock, make_service, send, update


def test_version_grows_by_one_per_accepted_update(service):
    versions = [update(service, {"state": {"reported": {"n": n}}})["update/accepted"]["version"]
                for n in range(5)]
    assert versions == [1, 2, 3, 4, 5]


def test_delete_then_recreate_continues_the_version(service, clock):
    for n in range(3):
        update(service, {"state": {"reported": {"n": n}}})
    deleted = send(service, request_topic("thing", "delete"), {"clientToken": "d"})
    assert deleted == {"delete/accepted": {"version": 4, "timestamp": T0, "clientToken": "d"}}
    assert send(service, request_topic("thing", "get"))["get/rejected"]["code"] == 404
    assert send(service, request_topic("thing", "delete"))["delete/rejected"]["code"] == 404
    clock.advance(47 * 3600)
    assert update(service, {"state": {"reported": {"n": 9}}})["update/accepted"]["version"] == 5


def test_recreated_shadow_starts_over_after_48_hours(service, clock):
    update(service, {"state": {"reported": {"n": 1}}})
    update(service, {"state": {"reported": {"n": 2}}})
    send(service, request_topic("thing", "delete"))
    clock.advance(48 * 3600)
    assert update(service, {"state": {"reported": {"n": 3}}})["update/accepted"]["version"] == 1


def test_delete_version_policy_is_configurable():
    service = make_service(delete_increments_version=False)
    update(service, {"state": {"reported": {"n": 1}}})
    assert send(service, request_topic("thing", "delete"))["delete/accepted"]["version"] == 1
    assert update(service, {"state": {"reported": {"n": 1}}})["update/accepted"]["version"] == 2


def test_recreated_shadow_has_no_old_state(service):
    update(service, {"state": {"reported": {"a": 1}, "desired": {"b": 2}}})
    send(service, request_topic("thing", "delete"))
    update(service, {"state": {"reported": {"c": 3}}})
    assert service.document("thing")["state"] == {"reported": {"c": 3}}


def test_get_returns_state_delta_metadata_version_and_echoes_token(service, clock):
    update(service, {"state": {"desired": {"a": 1}, "reported": {"a": 0}}})
    clock.advance(7)
    got = send(service, request_topic("thing", "get"), {"clientToken": "g"})["get/accepted"]
    assert got == {
        "state": {"desired": {"a": 1}, "reported": {"a": 0}, "delta": {"a": 1}},
        "metadata": {"desired": {"a": {"timestamp": T0}}, "reported": {"a": {"timestamp": T0}}},
        "version": 1,
        "timestamp": T0 + 7,
        "clientToken": "g",
    }


def test_named_shadows_are_separate_from_classic_and_each_other(service):
    update(service, {"state": {"reported": {"c": 1}}})
    update(service, {"state": {"reported": {"n": 1}}}, shadow="config")
    update(service, {"state": {"reported": {"n": 2}}}, shadow="config")
    assert service.document("thing")["state"] == {"reported": {"c": 1}}
    assert service.document("thing", "config")["version"] == 2
    replies = update(service, {"state": {"desired": {"x": 1}}}, shadow="other")
    assert set(replies) == {"update/accepted", "update/delta", "update/documents"}
    topics = [t for t, _ in service.handle(request_topic("thing", "get", "other"), b"")]
    assert topics == ["$aws/things/thing/shadow/name/other/get/accepted"]


def test_list_named_shadows(service):
    for name in ["b", "a", "c"]:
        update(service, {"state": {"reported": {"x": 1}}}, shadow=name)
    update(service, {"state": {"reported": {"x": 1}}})  # classic: never listed
    send(service, request_topic("thing", "delete", "c"))
    assert service.list_named_shadows("thing") == {"results": ["a", "b"], "timestamp": T0}
    first = service.list_named_shadows("thing", page_size=1)
    assert first["results"] == ["a"]
    second = service.list_named_shadows("thing", page_size=1, next_token=first["nextToken"])
    assert second["results"] == ["b"] and "nextToken" not in second
    assert service.list_named_shadows("nobody")["results"] == []


def test_update_publishes_accepted_delta_documents_in_that_order(service):
    topics = [t for t, _ in service.handle(
        request_topic("thing", "update"), b'{"state": {"desired": {"a": 1}}}')]
    assert topics == [
        "$aws/things/thing/shadow/update/accepted",
        "$aws/things/thing/shadow/update/delta",
        "$aws/things/thing/shadow/update/documents",
    ]


@pytest.mark.parametrize("topic", [
    "$aws/things/thing/shadow/update/accepted",
    "$aws/things/thing/shadow/list",
    "$aws/things/thing/shadow/name/x",
    "bme680/readings",
])
def test_non_request_topics_are_refused_loudly(service, topic):
    assert parse_request_topic(topic) is None
    with pytest.raises(ValueError, match="not a shadow request topic"):
        service.handle(topic, b"{}")


def test_delete_payload_is_ignored_but_token_echoed(service):
    update(service, {"state": {"reported": {"a": 1}}})
    replies = send(service, request_topic("thing", "delete"), b"not json")
    assert replies["delete/accepted"]["version"] == 2


def test_rejection_of_invalid_client_token_does_not_echo_it(service):
    replies = update(service, {"state": {}, "clientToken": "x" * 65})
    assert "clientToken" not in replies["update/rejected"]


def test_injected_clock_drives_every_timestamp():
    clock = ManualClock(42)
    service = ShadowService(clock=clock)
    accepted = update(service, {"state": {"reported": {"a": 1}}})["update/accepted"]
    assert accepted["timestamp"] == 42 and accepted["metadata"]["reported"]["a"]["timestamp"] == 42


def test_sqlite_persistence_survives_a_restart(tmp_path, clock):
    path = tmp_path / "shadows.sqlite"
    first = ShadowService(clock=clock, path=path)
    update(first, {"state": {"desired": {"a": 1}, "reported": {"b": [1, 2]}}})
    update(first, {"state": {"reported": {"c": {"d": "é"}}}}, shadow="named")
    update(first, {"state": {"reported": {"x": 1}}}, thing="gone")
    send(first, request_topic("gone", "delete"))
    before = {key: first.document(*key) for key in first.shadows()}

    second = ShadowService(clock=clock, path=path)  # the core restarts
    assert {key: second.document(*key) for key in second.shadows()} == before
    assert set(second.shadows()) == {("thing", None), ("thing", "named")}
    # versions continue, including the deleted shadow's
    assert update(second, {"state": {"reported": {"b": 1}}})["update/accepted"]["version"] == 2
    assert update(second, {"state": {"reported": {"x": 1}}}, thing="gone")[
        "update/accepted"]["version"] == 3


def test_path_and_store_are_exclusive(tmp_path):
    from fakes.shadow import MemoryStore

    with pytest.raises(ValueError):
        ShadowService(path=tmp_path / "x", store=MemoryStore())
