"""Shadow sync between the core's Shadow service and moto's cloud Shadows: the rules the
harness assumes (Greengrass V2 ShadowManager's: desired -> cloud wins, reported -> local
wins, versions independent, a full sync on reconnect and on a version conflict)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from hypothesis import given
from hypothesis import strategies as st
from moto import mock_aws

from fakes.shadow import ShadowService
from fakes.shadow.document import json_equal
from harness.cloud.shadow_sync import CloudShadows, ShadowSync, changes, merge3

THING = "weather-station"


@pytest.fixture
def cloud() -> Iterator[CloudShadows]:
    with mock_aws():
        yield CloudShadows(boto3.client("iot-data", region_name="us-east-1"),
                           boto3.client("iot", region_name="us-east-1"))


@pytest.fixture
def local() -> ShadowService:
    return ShadowService(clock=lambda: 1_767_225_600.0)


@pytest.fixture
def sync(local: ShadowService, cloud: CloudShadows) -> ShadowSync:
    return ShadowSync(local, cloud, [THING])  # work runs at once (no scheduler)


def _update(service: ShadowService, state: dict[str, Any]) -> None:
    assert service.update(THING, json.dumps({"state": state}).encode()).accepted


def _state(document: dict[str, Any] | None) -> dict[str, Any]:
    state = (document or {}).get("state", {})
    return {k: v for k, v in state.items() if k in ("desired", "reported")}


def test_a_local_report_reaches_the_cloud(local: ShadowService, cloud: CloudShadows,
                                          sync: ShadowSync) -> None:
    _update(local, {"reported": {"temperature": 15.0}})
    assert _state(cloud.get(THING)) == {"reported": {"temperature": 15.0}}
    assert sync.pushed == 1


def test_a_cloud_desired_change_reaches_the_core(local: ShadowService, cloud: CloudShadows,
                                                 sync: ShadowSync) -> None:
    _update(local, {"reported": {"temperature": 15.0}})
    cloud.update(THING, {"desired": {"period": 10}}, None)
    sync.cloud_changed(THING)
    assert _state(local.document(THING)) == {"desired": {"period": 10},
                                             "reported": {"temperature": 15.0}}
    # versions are each side's own: the sync changed neither side twice
    assert local.version(THING) == 2


def test_offline_conflicts_follow_the_rule_and_nothing_is_lost(
        local: ShadowService, cloud: CloudShadows, sync: ShadowSync) -> None:
    _update(local, {"desired": {"period": 5, "mode": "a"}, "reported": {"t": 1, "h": 50}})
    sync.set_online(False)
    _update(local, {"desired": {"period": 6}, "reported": {"t": 2}})  # core, offline
    cloud.update(THING, {"desired": {"period": 60, "mode": "b"}, "reported": {"t": 99}}, None)
    sync.cloud_changed(THING)  # queued: offline
    assert _state(local.document(THING))["desired"]["period"] == 6
    sync.set_online(True)
    expected = {"desired": {"period": 60, "mode": "b"},  # desired: the cloud wins
                "reported": {"t": 2, "h": 50}}  # reported: the core wins
    assert _state(local.document(THING)) == expected
    assert _state(cloud.get(THING)) == expected
    assert sync.records[THING].full_syncs == 1  # the reconnection's


def test_a_stale_cloud_version_turns_into_a_full_sync(local: ShadowService,
                                                      cloud: CloudShadows,
                                                      sync: ShadowSync) -> None:
    _update(local, {"reported": {"t": 1}})
    cloud.update(THING, {"desired": {"x": 1}}, None)  # the sync was not told
    _update(local, {"reported": {"t": 2}})  # pushed with the version it last saw: 409
    record = sync.records[THING]
    assert record.conflicts == 1 and record.full_syncs >= 1
    both = {"desired": {"x": 1}, "reported": {"t": 2}}
    assert _state(cloud.get(THING)) == both
    assert _state(local.document(THING)) == both


def test_deletes_sync_both_ways(local: ShadowService, cloud: CloudShadows,
                                sync: ShadowSync) -> None:
    _update(local, {"reported": {"t": 1}})
    assert local.delete(THING).accepted
    assert cloud.get(THING) is None
    _update(local, {"reported": {"t": 2}})
    cloud.delete(THING)
    sync.cloud_changed(THING)
    assert local.document(THING) is None


def test_a_removed_section_is_sent_as_nulls_not_inherited_from_moto(
        local: ShadowService, cloud: CloudShadows, sync: ShadowSync) -> None:
    _update(local, {"desired": {"a": 1}, "reported": {"t": 1}})
    _update(local, {"desired": None})  # the core removes the whole section
    assert _state(cloud.get(THING)) == {"reported": {"t": 1}}  # moto ignores desired: null


leaves = st.one_of(st.integers(-3, 3), st.booleans(), st.text("ab", max_size=2))
sections = st.dictionaries(st.sampled_from("abcd"), leaves, max_size=4)


@given(sections, sections)
def test_merge_takes_the_only_side_that_changed(base: dict, changed: dict) -> None:
    assert merge3(base, changed, base, "cloud") == changed
    assert merge3(base, base, changed, "local") == changed


@given(sections, sections, sections, st.sampled_from(["local", "cloud"]))
def test_merge_keeps_the_winner_on_every_conflict(base: dict, here: dict, there: dict,
                                                  winner: str) -> None:
    merged = merge3(base, here, there, winner)
    mine, theirs = (there, here) if winner == "cloud" else (here, there)
    for key in set(base) | set(here) | set(there):
        if not _same(mine, base, key):  # the winner changed it: its value (or removal) stands
            assert _same(merged, mine, key)
        else:  # only the other side may have changed it
            assert _same(merged, theirs, key)


def _same(a: dict, b: dict, key: str) -> bool:
    if (key in a) != (key in b):
        return False
    return key not in a or json_equal(a[key], b[key])


@given(sections, sections)
def test_changes_turn_one_section_into_another(current: dict, target: dict) -> None:
    update = changes(current, target)
    applied = {**current, **update}
    assert {k: v for k, v in applied.items() if v is not None} == target
