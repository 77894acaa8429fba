"""Merge, delta and metadata rules of an accepted update (shared/specs/shadow.md 1.3-1.5)."""

from __future__ import annotations

from tests.shadow.conftest import T0, make_service, update


def state(service, thing="thing", shadow=None):
    return service.document(thing, shadow)["state"]


def test_partial_update_keeps_other_fields(service):
    update(service, {"state": {"reported": {"a": 1, "b": {"c": 2, "d": 3}}}})
    update(service, {"state": {"reported": {"b": {"c": 20}}}})
    assert state(service) == {"reported": {"a": 1, "b": {"c": 20, "d": 3}}}


def test_null_deletes_a_key(service):
    update(service, {"state": {"reported": {"a": 1, "b": 2}}})
    replies = update(service, {"state": {"reported": {"a": None}}})
    assert state(service) == {"reported": {"b": 2}}
    # the accepted message echoes the request as sent, nulls included
    assert replies["update/accepted"]["state"] == {"reported": {"a": None}}
    assert replies["update/accepted"]["metadata"] == {"reported": {"a": {"timestamp": T0}}}


def test_section_null_removes_the_section(service):
    update(service, {"state": {"desired": {"x": 1}, "reported": {"y": 2}}})
    update(service, {"state": {"desired": None}})
    doc = service.document("thing")
    assert doc["state"] == {"reported": {"y": 2}}
    assert "desired" not in doc["metadata"]


def test_removing_last_key_drops_the_section(service):
    update(service, {"state": {"desired": {"x": 1}, "reported": {"y": 2}}})
    update(service, {"state": {"desired": {"x": None}}})
    assert state(service) == {"reported": {"y": 2}}


def test_state_null_clears_but_keeps_the_shadow(service):
    update(service, {"state": {"desired": {"x": 1}, "reported": {"y": 2}}})
    replies = update(service, {"state": None})
    assert replies["update/accepted"]["version"] == 2
    doc = service.document("thing")
    assert doc["state"] == {} and doc["metadata"] == {} and doc["version"] == 2


def test_arrays_replace_whole(service):
    update(service, {"state": {"reported": {"rgb": [255, 0, 0], "k": 1}}})
    update(service, {"state": {"reported": {"rgb": [0]}}})
    assert state(service)["reported"]["rgb"] == [0]


def test_new_object_drops_null_children_and_all_null_object_is_not_created(service):
    update(service, {"state": {"reported": {"a": {"b": None, "c": 1}, "z": {"q": None}}}})
    assert state(service) == {"reported": {"a": {"c": 1}}}


def test_emptying_a_nested_object_leaves_it_empty(service):
    update(service, {"state": {"reported": {"a": {"b": 1}, "k": 0}}})
    update(service, {"state": {"reported": {"a": {"b": None}}}})
    assert state(service) == {"reported": {"a": {}, "k": 0}}


def test_object_replaces_scalar_and_scalar_replaces_object(service):
    update(service, {"state": {"reported": {"a": 1, "b": {"c": 1}}}})
    update(service, {"state": {"reported": {"a": {"x": 1}, "b": 5}}})
    doc = service.document("thing")
    assert doc["state"]["reported"] == {"a": {"x": 1}, "b": 5}
    assert doc["metadata"]["reported"] == {
        "a": {"x": {"timestamp": T0}},
        "b": {"timestamp": T0},
    }


def test_unknown_top_level_keys_are_ignored(service):
    replies = update(service, {"state": {"reported": {"a": 1}}, "extra": {"x": 1}})
    assert "update/accepted" in replies
    assert set(service.document("thing")) == {"state", "metadata", "version", "timestamp"}


# -- delta ---------------------------------------------------------------------------------


def test_delta_holds_only_differing_desired_leaves_with_their_paths(service):
    update(service, {"state": {
        "desired": {"lights": {"color": {"r": 255, "g": 255, "b": 0}}, "on": True, "mode": "x"},
        "reported": {"lights": {"color": {"r": 255, "g": 0, "b": 0}}, "on": True, "extra": 1},
    }})
    assert service.document("thing")["state"]["delta"] == {
        "lights": {"color": {"g": 255}},
        "mode": "x",
    }


def test_delta_is_json_typed(service):
    replies = update(service, {"state": {
        "desired": {"flag": True, "zero": 0, "n": 1, "f": 2},
        "reported": {"flag": 1, "zero": False, "n": 1.0, "f": 2},
    }})
    assert replies["update/delta"]["state"] == {"flag": True, "zero": 0}


def test_nested_object_equal_on_reported_side_with_extra_keys_gives_no_delta(service):
    update(service, {"state": {"desired": {"a": {"b": 1}}, "reported": {"a": {"b": 1, "c": 2}}}})
    assert "delta" not in service.document("thing")["state"]


def test_arrays_compare_whole_and_type_change_shows_desired(service):
    update(service, {"state": {
        "desired": {"rgb": [1, 2, 3], "same": [1, {"a": 1}], "obj": {"x": 1}},
        "reported": {"rgb": [1, 2], "same": [1.0, {"a": 1}], "obj": 7},
    }})
    assert service.document("thing")["state"]["delta"] == {"rgb": [1, 2, 3], "obj": {"x": 1}}


def test_delta_message_carries_all_differences_and_desired_metadata(service, clock):
    update(service, {"state": {"desired": {"a": 1}}})
    clock.advance(10)
    replies = update(service, {"state": {"desired": {"b": 2}}, "clientToken": "t"})
    delta = replies["update/delta"]
    assert delta == {
        "version": 2,
        "timestamp": T0 + 10,
        "state": {"a": 1, "b": 2},
        "metadata": {"a": {"timestamp": T0}, "b": {"timestamp": T0 + 10}},
        "clientToken": "t",
    }
    assert replies["update/accepted"]["version"] == delta["version"]


def test_delta_republished_on_reported_update_that_leaves_a_difference(service):
    update(service, {"state": {"desired": {"a": 1, "b": 2}}})
    assert update(service, {"state": {"reported": {"a": 1}}})["update/delta"]["state"] == {"b": 2}
    assert "update/delta" not in update(service, {"state": {"reported": {"b": 2}}})


def test_delta_republish_on_reported_only_updates_is_configurable():
    service = make_service(delta_on_reported_only_update=False)
    update(service, {"state": {"desired": {"a": 1, "b": 2}}})
    assert "update/delta" not in update(service, {"state": {"reported": {"a": 1}}})
    assert "update/delta" in update(service, {"state": {"desired": {"c": 3}}})


def test_no_desired_no_delta(service):
    replies = update(service, {"state": {"reported": {"a": 1}}})
    assert "update/delta" not in replies
    assert "delta" not in service.document("thing")["state"]


# -- metadata ------------------------------------------------------------------------------


def test_untouched_leaves_keep_their_timestamps(service, clock):
    update(service, {"state": {"reported": {"ID": "x", "ColorRGB": [1, 2, 3]}}})
    clock.advance(2230)
    update(service, {"state": {"reported": {"ColorRGB": [4, 5, 6]}}})
    meta = service.document("thing")["metadata"]["reported"]
    assert meta["ID"] == {"timestamp": T0}
    assert meta["ColorRGB"] == [{"timestamp": T0 + 2230}] * 3


def test_array_of_objects_gets_metadata_per_element(service):
    update(service, {"state": {"reported": {"list": [{"a": 1}, 2]}}})
    meta = service.document("thing")["metadata"]["reported"]["list"]
    assert meta == [{"a": {"timestamp": T0}}, {"timestamp": T0}]


def test_object_with_key_named_timestamp_keeps_its_shape(service, clock):
    update(service, {"state": {"reported": {"o": {"timestamp": 5, "x": 1}}}})
    clock.advance(1)
    update(service, {"state": {"reported": {"o": {"x": 2}}}})
    meta = service.document("thing")["metadata"]["reported"]["o"]
    assert meta == {"timestamp": {"timestamp": T0}, "x": {"timestamp": T0 + 1}}


def test_documents_message_has_previous_and_current(service, clock):
    first = update(service, {"state": {"reported": {"a": 1}}, "clientToken": "c1"})
    assert first["update/documents"]["previous"] is None
    clock.advance(1)
    second = update(service, {"state": {"reported": {"a": 2}}})["update/documents"]
    assert second["previous"] == {
        "state": {"reported": {"a": 1}},
        "metadata": {"reported": {"a": {"timestamp": T0}}},
        "version": 1,
    }
    assert second["current"]["state"] == {"reported": {"a": 2}}
    assert second["current"]["version"] == 2
    assert second["timestamp"] == T0 + 1
    assert first["update/documents"]["clientToken"] == "c1"


def test_documents_previous_for_new_shadow_is_configurable():
    service = make_service(documents_previous_for_new_shadow="empty")
    documents = update(service, {"state": {"reported": {"a": 1}}})["update/documents"]
    assert documents["previous"] == {"state": {}, "metadata": {}, "version": 0}
    service = make_service(documents_previous_for_new_shadow="omit")
    assert "previous" not in update(service, {"state": {"reported": {"a": 1}}})["update/documents"]


def test_empty_state_is_a_versioned_no_op(service):
    update(service, {"state": {"reported": {"a": 1}}})
    replies = update(service, {"state": {}})
    assert replies["update/accepted"]["version"] == 2
    assert state(service) == {"reported": {"a": 1}}


# -- empty objects (ShadowManager's rule, configurable) ----------------------------------


def test_empty_object_removes_a_key_and_never_creates_one(service):
    update(service, {"state": {"reported": {"a": {"b": 1}, "s": 1, "k": 0}}})
    update(service, {"state": {"reported": {"a": {}, "s": {}, "new": {}, "n2": {"x": {}}}}})
    assert state(service) == {"reported": {"k": 0}}


def test_empty_desired_section_removes_it(service):
    update(service, {"state": {"desired": {"a": 1}, "reported": {"b": 1}}})
    update(service, {"state": {"desired": {}}})
    doc = service.document("thing")
    assert doc["state"] == {"reported": {"b": 1}}
    assert set(doc["metadata"]) == {"reported"}


def test_empty_objects_can_be_kept_instead():
    service = make_service(empty_object_removes=False)
    update(service, {"state": {"reported": {"a": {"b": 1}}, "desired": {"n": {}}}})
    update(service, {"state": {"reported": {"a": {}}}})
    doc = service.document("thing")
    assert doc["state"] == {"reported": {"a": {"b": 1}}, "desired": {"n": {}}}
    assert doc["metadata"]["desired"] == {"n": {}}


def test_all_null_object_over_a_scalar_changes_nothing(service, clock):
    update(service, {"state": {"reported": {"a": 5}}})
    clock.advance(3)
    update(service, {"state": {"reported": {"a": {"b": None}}}})
    doc = service.document("thing")
    assert doc["state"]["reported"] == {"a": 5}
    assert doc["metadata"]["reported"] == {"a": {"timestamp": T0}}
