"""Every documented rejection, with its exact code and message, and nothing changed after it."""

from __future__ import annotations

import json

import pytest

from fakes.shadow import ShadowService, request_topic
from tests.shadow.conftest import T0, make_service, send, update

DEEP_7 = {"a": {"b": {"c": {"d": {"e": {"f": {"g": 1}}}}}}}  # 7 levels counting desired
DEEP_6 = {"a": {"b": {"c": {"d": {"e": {"f": 1}}}}}}


def snapshot(service: ShadowService) -> dict:
    return {key: service.document(*key) for key in service.shadows()}


@pytest.mark.parametrize(
    ("payload", "code", "message"),
    [
        (b"{not json", 400, "Invalid JSON"),
        (b"", 400, "Invalid JSON"),
        (b"[1, 2]", 400, "Invalid JSON"),
        (b'{"state": {"reported": {"x": NaN}}}', 400, "Invalid JSON"),
        (b'{"clientToken": "x"}', 400, "Missing required node: state"),
        (b'{"state": "on"}', 400, "State node must be an object"),
        (b'{"state": [1]}', 400, "State node must be an object"),
        (b'{"state": {"desired": "on"}}', 400, "Desired node must be an object"),
        (b'{"state": {"desired": [1]}}', 400, "Desired node must be an object"),
        (b'{"state": {"reported": 5}}', 400, "Reported node must be an object"),
        (b'{"state": {"delta": {"a": 1}}}', 400, "State contains an invalid node: 'delta'"),
        (b'{"state": {"reported": {}, "other": 1}}', 400,
         "State contains an invalid node: 'other'"),
        (b'{"state": {"reported": {}}, "version": "abc"}', 400, "Invalid version"),
        (b'{"state": {"reported": {}}, "version": 1.5}', 400, "Invalid version"),
        (b'{"state": {"reported": {}}, "version": -1}', 400, "Invalid version"),
        (b'{"state": {"reported": {}}, "version": true}', 400, "Invalid version"),
        (b'{"state": {"reported": {}}, "version": null}', 400, "Invalid version"),
        (json.dumps({"state": {}, "clientToken": "x" * 65}).encode(), 400, "Invalid clientToken"),
        (json.dumps({"state": {}, "clientToken": "é" * 33}).encode(), 400, "Invalid clientToken"),
        (b'{"state": {}, "clientToken": 7}', 400, "Invalid clientToken"),
        (json.dumps({"state": {"desired": DEEP_7}}).encode(), 400,
         "JSON contains too many levels of nesting; maximum is 6"),
        (json.dumps({"state": {"reported": {"l": [[[[[[1]]]]]]}}}).encode(), 400,
         "JSON contains too many levels of nesting; maximum is 6"),
        (b'{"state": {"reported": {"rgb": [1, null]}}}', 400, "Invalid JSON"),
        ("{\"state\": {\"reported\": {\"a\": \"caf\xe9\"}}}".encode("latin-1"), 415,
         "Unsupported documented encoding; supported encoding is UTF-8"),
    ],
)
def test_update_rejections(service, payload, code, message):
    update(service, {"state": {"reported": {"keep": 1}}})
    before = snapshot(service)
    replies = send(service, request_topic("thing", "update"), payload)
    assert list(replies) == ["update/rejected"]
    rejected = replies["update/rejected"]
    assert (rejected["code"], rejected["message"]) == (code, message)
    assert rejected["timestamp"] == T0
    assert snapshot(service) == before


def test_depth_six_is_accepted(service):
    assert "update/accepted" in update(service, {"state": {"desired": DEEP_6}})
    # an empty object does not count as a level
    assert "update/accepted" in update(service, {"state": {"desired": {"x": {"a": {"b": {
        "c": {"d": {"e": {}}}}}}}}})


def test_depth_limit_is_configurable():
    service = make_service(max_depth=8)
    assert "update/accepted" in update(service, {"state": {"desired": DEEP_7}})


def test_version_conflict_echoes_client_token_and_changes_nothing(service):
    update(service, {"state": {"reported": {"a": 1}}})
    update(service, {"state": {"reported": {"a": 2}}})
    before = snapshot(service)
    replies = update(service, {"state": {"reported": {"a": 3}}, "version": 1, "clientToken": "t"})
    assert replies == {"update/rejected": {
        "code": 409, "message": "Version conflict", "timestamp": T0, "clientToken": "t"}}
    assert snapshot(service) == before
    # the current version is what the request must carry
    assert update(service, {"state": {"reported": {"a": 3}}, "version": 2})[
        "update/accepted"]["version"] == 3


def test_first_update_with_a_version_must_carry_one(service):
    replies = update(service, {"state": {"reported": {"a": 1}}, "version": 5})
    assert replies["update/rejected"]["message"] == "Invalid version"
    assert service.shadows() == []
    assert update(service, {"state": {"reported": {"a": 1}}, "version": 1})[
        "update/accepted"]["version"] == 1


def test_new_shadow_version_rule_is_configurable():
    service = make_service(new_shadow_version=None)
    assert "update/accepted" in update(service, {"state": {"reported": {}}, "version": 5})


def test_size_is_counted_on_the_merged_document(service):
    update(service, {"state": {"reported": {"big": "x" * 8150}}})
    before = snapshot(service)
    replies = update(service, {"state": {"desired": {"more": "y" * 60}}})
    assert replies["update/rejected"]["code"] == 413
    assert replies["update/rejected"]["message"] == "The payload exceeds the maximum size allowed"
    assert snapshot(service) == before


def test_size_limit_boundary_and_metadata_not_counted(service):
    # {"k":"..."} is 8 bytes of overhead; exactly 8192 bytes of state is allowed
    assert "update/accepted" in update(service, {"state": {"reported": {"k": "x" * 8184}}})
    assert "update/rejected" in update(service, {"state": {"reported": {"k": "x" * 8185}}})


def test_a_large_update_that_shrinks_the_document_is_accepted(service):
    update(service, {"state": {"reported": {"big": "x" * 8000}}})
    assert "update/accepted" in update(service, {"state": {"reported": {"big": None, "s": 1}}})


@pytest.mark.parametrize("op", ["get", "delete"])
def test_missing_classic_shadow_is_404_with_thing_name_quoted(service, op):
    replies = send(service, request_topic("MyThing", op))
    assert replies == {f"{op}/rejected": {
        "code": 404, "message": "No shadow exists with name: 'MyThing'"}}


def test_missing_named_shadow_404_names_the_shadow(service):
    replies = send(service, request_topic("MyThing", "get", "simShadow1"))
    assert replies["get/rejected"]["message"] == "No shadow exists with name: 'simShadow1'"
    other = make_service(named_not_found_style="thing~shadow")
    replies = send(other, request_topic("MyThing", "get", "simShadow1"))
    assert replies["get/rejected"]["message"] == "No shadow exists with name: 'MyThing~simShadow1'"


@pytest.mark.parametrize(
    ("thing", "shadow", "message"),
    [
        ("bad name!", None, "ThingName must match pattern [a-zA-Z0-9:_-]+"),
        ("x" * 129, None, "ThingName has a maximum length of 128"),
        ("ok", "bad.name", "ShadowName must match pattern [$a-zA-Z0-9:_-]+"),
        ("ok", "s" * 65, "ShadowName has a maximum length of 64"),
    ],
)
def test_invalid_names(service, thing, shadow, message):
    replies = send(service, request_topic(thing, "update", shadow), {"state": {}})
    assert replies["update/rejected"]["code"] == 400
    assert replies["update/rejected"]["message"] == message
    assert service.shadows() == []


def test_longest_valid_names_are_accepted(service):
    thing, shadow = "t" * 128, "$s" + "s" * 62
    assert "update/accepted" in send(service, request_topic(thing, "update", shadow), {"state": {}})


def test_rejection_via_outcome_reports_rest_code(service):
    outcome = service.update("thing", b'{"state": {"delta": {}}}')
    assert not outcome.accepted and outcome.code == 400
    from fakes.shadow import ShadowRejection

    assert ShadowRejection(409, "Version conflict").rest_error_code == "ConflictException"
