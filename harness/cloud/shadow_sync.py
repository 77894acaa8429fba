"""Shadow sync: the core's local Shadows kept in step with the cloud's (moto iot-data).

The rule the harness assumes (Greengrass V1 documents no conflict rules, so these are the
Greengrass V2 ShadowManager's documented ones, ``betweenDeviceAndCloud``; see
``shared/specs/shadow.md`` section 2):

- every change on either side is merged into the other, field by field, against the last
  document both sides agreed on (a three-way merge);
- when both sides changed the same field since then, **desired: the cloud wins; reported:
  the local side wins**;
- local and cloud versions are independent: the sync remembers the last version it saw on
  each side, sends each update with the version it expects there, and a version conflict
  (409) turns that update into a full sync;
- real time while connected; while the cloud is unreachable local work goes on, both sides
  are marked as changed, and the reconnection runs a full sync of every synced Shadow, so
  both converge and nothing is lost.

Only classic Shadows of things with ``shadow_sync: true`` are synced. The cloud is reached
through :class:`CloudShadows` (boto3 ``iot-data``; in the harness, moto). moto's known
deviations (spec section 3.2) are normalised here rather than inherited: things are
registered before their Shadow is used (#1), a removed section is sent as per-key nulls
(``"desired": null`` is ignored by moto, #7), the cloud's delta and metadata are never read
(#5, #6, #11), and versions are read back from the documents rather than from delete
replies (#25).
"""

from __future__ import annotations

import contextlib
import json
import logging
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from fakes.shadow import ShadowService
from fakes.shadow.document import json_equal

logger = logging.getLogger(__name__)

Tree = dict[str, Any]
SECTIONS = ("desired", "reported")
#: which side wins a conflict, per section
WINNER = {"desired": "cloud", "reported": "local"}


class CloudShadows:
    """The cloud's Shadows through a boto3 ``iot-data`` client (moto in the harness).
    ``iot`` (a boto3 ``iot`` client) registers things first, as moto requires."""

    def __init__(self, iot_data: Any, iot: Any | None = None) -> None:
        self.iot_data = iot_data
        self.iot = iot
        self._registered: set[str] = set()

    def _register(self, thing: str) -> None:
        if self.iot is None or thing in self._registered:
            return
        try:
            self.iot.describe_thing(thingName=thing)
        except self.iot.exceptions.ResourceNotFoundException:
            self.iot.create_thing(thingName=thing)
        self._registered.add(thing)

    def document(self, thing: str) -> Tree | None:
        """The cloud document as GetThingShadow returns it, or None when there is none."""
        self._register(thing)
        try:
            reply = self.iot_data.get_thing_shadow(thingName=thing)
        except self.iot_data.exceptions.ResourceNotFoundException:
            return None
        return json.loads(reply["payload"].read())

    def get(self, thing: str) -> Tree | None:
        """The cloud document's desired and reported state and its version, or None."""
        document = self.document(thing)
        if document is None:
            return None
        return {"state": shadow_sections(document.get("state")),
                "version": document["version"]}

    def send(self, thing: str, payload: bytes) -> None:
        """An UpdateThingShadow as any cloud client sends it (the sync is not told)."""
        self._register(thing)
        self.iot_data.update_thing_shadow(thingName=thing, payload=payload)

    def update(self, thing: str, state: Tree, version: int | None) -> Tree | None:
        """Send ``{"state": state}`` (with the expected ``version``); the new document, or
        None on a version conflict."""
        self._register(thing)
        body: Tree = {"state": state}
        if version is not None:
            body["version"] = version
        try:
            self.iot_data.update_thing_shadow(thingName=thing, payload=json.dumps(body))
        except self.iot_data.exceptions.ConflictException:
            return None
        return self.get(thing)

    def delete(self, thing: str) -> None:
        self._register(thing)
        with contextlib.suppress(self.iot_data.exceptions.ResourceNotFoundException):
            self.iot_data.delete_thing_shadow(thingName=thing)


# ------------------------------------------------------------------ merging


class _Absent:
    def __repr__(self) -> str:
        return "<absent>"


ABSENT: Any = _Absent()


def merge3(base: Tree, local: Tree, cloud: Tree, winner: str) -> Tree:
    """Field-by-field three-way merge of one section: a side that changed a field since
    ``base`` brings its change; when both changed it differently, ``winner``'s stays."""
    merged: Tree = {}
    for key in sorted(set(base) | set(local) | set(cloud)):
        b, here, c = base.get(key, ABSENT), local.get(key, ABSENT), cloud.get(key, ABSENT)
        if all(isinstance(v, dict) for v in (here, c)) and isinstance(b, dict | _Absent):
            value: Any = merge3(b if isinstance(b, dict) else {}, here, c, winner)
        elif _same(here, b):
            value = c
        elif _same(c, b) or _same(here, c):
            value = here
        else:
            value = c if winner == "cloud" else here
        if value is not ABSENT:
            merged[key] = value
    return merged


def _same(a: Any, b: Any) -> bool:
    if a is ABSENT or b is ABSENT:
        return a is b
    return json_equal(a, b)


def changes(current: Tree, target: Tree) -> Tree:
    """The update that turns section ``current`` into ``target``: new and changed values,
    and ``null`` for every key ``target`` lacks (nested objects recursively)."""
    update: Tree = {}
    for key in set(current) | set(target):
        if key not in target:
            update[key] = None
        elif key not in current:
            update[key] = target[key]
        elif isinstance(current[key], dict) and isinstance(target[key], dict):
            inner = changes(current[key], target[key])
            if inner:
                update[key] = inner
        elif not json_equal(current[key], target[key]):
            update[key] = target[key]
    return update


def _state_update(current: Tree, target: Tree) -> Tree:
    """Per-section changes; a removed section is sent as per-key nulls (moto deviation #7:
    it ignores ``"desired": null``)."""
    update: Tree = {}
    for section in SECTIONS:
        inner = changes(current.get(section) or {}, target.get(section) or {})
        if inner:
            update[section] = inner
    return update


def shadow_sections(state: Tree | None) -> Tree:
    """The desired and reported sections of a document's ``state`` that are not empty
    (what sync compares: delta and metadata are each side's own)."""
    state = state or {}
    return {section: state[section] for section in SECTIONS if state.get(section)}


# ------------------------------------------------------------------ the sync manager


@dataclass
class SyncRecord:
    """What the sync knows of one Shadow: the last state both sides agreed on and the
    version it last saw on each side."""

    base: Tree = field(default_factory=dict)
    local_version: int | None = None
    cloud_version: int | None = None
    local_dirty: bool = False
    cloud_dirty: bool = False
    full_syncs: int = 0
    conflicts: int = 0


class ShadowSync:
    """Keeps the classic Shadows of ``things`` in step between ``local`` (the core's Shadow
    service) and ``cloud``. ``defer(callback)`` runs sync work soon (the simulated core's
    scheduler), so a Lambda's update returns before its sync happens, as on a core."""

    def __init__(self, local: ShadowService, cloud: CloudShadows, things: Iterable[str],
                 defer: Callable[[Callable[[], None]], Any] = lambda work: work()) -> None:
        self.cloud = cloud
        self.things = tuple(things)
        self.records = {thing: SyncRecord() for thing in self.things}
        self.online = True
        self.pushed = 0  # updates sent to the cloud
        self.pulled = 0  # updates applied locally
        self._defer = defer
        self._applying = False
        self._pending: set[str] = set()
        self.local = local
        local.observers.append(self._local_changed)

    def attach(self, local: ShadowService) -> None:
        """Follow another local Shadow service (the core restarted and reopened its DB)."""
        if self._local_changed in self.local.observers:
            self.local.observers.remove(self._local_changed)
        self.local = local
        local.observers.append(self._local_changed)

    def start(self) -> None:
        """The core came up: a full sync of every synced Shadow."""
        for thing in self.things:
            self.full_sync(thing)

    # -- events ------------------------------------------------------------------------

    def _local_changed(self, thing: str, shadow: str | None, operation: str) -> None:
        if self._applying or shadow is not None or thing not in self.records:
            return
        self.records[thing].local_dirty = True
        self._schedule(thing)

    def cloud_changed(self, thing: str) -> None:
        """The cloud's Shadow of ``thing`` changed (its ``/update/accepted``)."""
        if thing in self.records:
            self.records[thing].cloud_dirty = True
            self._schedule(thing)

    def _schedule(self, thing: str) -> None:
        if not self.online or thing in self._pending:
            return  # queued: the reconnection's full sync takes it
        self._pending.add(thing)

        def work() -> None:
            self._pending.discard(thing)
            if self.online:
                self.sync(thing)

        self._defer(work)

    def set_online(self, online: bool) -> None:
        """Lose or regain the cloud; regaining it runs a full sync of every synced Shadow."""
        was, self.online = self.online, online
        if online and not was:
            for thing in self.things:
                self.full_sync(thing)

    # -- syncing -----------------------------------------------------------------------

    def sync(self, thing: str) -> None:
        """Bring across whatever changed since the last sync (a full sync when both
        sides changed or a version conflict says the sync's picture is stale)."""
        record = self.records[thing]
        if record.local_dirty and record.cloud_dirty:
            self.full_sync(thing)
        elif record.local_dirty:
            self._push(thing, record)
        elif record.cloud_dirty:
            self._pull(thing, record)

    def _local_document(self, thing: str) -> Tree | None:
        document = self.local.document(thing)
        if document is None:
            return None
        return {"state": shadow_sections(document["state"]), "version": document["version"]}

    def _push(self, thing: str, record: SyncRecord) -> None:
        local = self._local_document(thing)
        record.local_dirty = False
        if local is None:  # deleted on the core: deleted in the cloud too
            self.cloud.delete(thing)
            self.pushed += 1
            record.base, record.cloud_version = {}, None
            return
        target = local["state"]
        update = _state_update(record.base, target)
        if update:
            reply = self.cloud.update(thing, update, record.cloud_version)
            if reply is None:
                record.conflicts += 1
                self.full_sync(thing)
                return
            self.pushed += 1
            record.cloud_version = reply["version"]
        record.base = target
        record.local_version = local["version"]

    def _pull(self, thing: str, record: SyncRecord) -> None:
        cloud = self.cloud.get(thing)
        record.cloud_dirty = False
        if cloud is None:  # deleted in the cloud: deleted on the core too
            if self.local.document(thing) is not None:
                with self._from_sync():
                    self.local.delete(thing)
                self.pulled += 1
            record.base, record.local_version = {}, None
            return
        target = cloud["state"]
        update = _state_update(record.base, target)
        if update and not self._apply_locally(thing, update, record.local_version):
            record.conflicts += 1
            self.full_sync(thing)
            return
        record.base = target
        record.cloud_version = cloud["version"]

    @contextlib.contextmanager
    def _from_sync(self) -> Iterator[None]:
        """Local changes made by the sync itself: the observer must not push them back."""
        self._applying = True
        try:
            yield
        finally:
            self._applying = False

    def _apply_locally(self, thing: str, update: Tree, version: int | None) -> bool:
        body: Tree = {"state": update}
        if version is not None:
            body["version"] = version
        with self._from_sync():
            outcome = self.local.update(thing, json.dumps(body).encode())
        if not outcome.accepted:
            return False
        self.pulled += 1
        self.records[thing].local_version = self.local.version(thing)
        return True

    def full_sync(self, thing: str) -> None:
        """Merge both sides against the last agreed state (desired: cloud wins; reported:
        local wins) and write the result to whichever side differs from it."""
        record = self.records[thing]
        record.full_syncs += 1
        record.local_dirty = record.cloud_dirty = False
        local, cloud = self._local_document(thing), self.cloud.get(thing)
        local_state = local["state"] if local else {}
        cloud_state = cloud["state"] if cloud else {}
        merged = {section: merge3(record.base.get(section) or {},
                                  local_state.get(section) or {},
                                  cloud_state.get(section) or {}, WINNER[section])
                  for section in SECTIONS}
        merged = {section: value for section, value in merged.items() if value}
        to_local = _state_update(local_state, merged)
        if to_local:
            self._apply_locally(thing, to_local, None)
        to_cloud = _state_update(cloud_state, merged)
        cloud_version = cloud["version"] if cloud else None
        if to_cloud:
            reply = self.cloud.update(thing, to_cloud, None)
            assert reply is not None
            self.pushed += 1
            cloud_version = reply["version"]
        record.base = merged
        record.local_version = self.local.version(thing)
        record.cloud_version = cloud_version
        logger.info("full sync of %s: %d field change(s) to local, %d to cloud", thing,
                    len(to_local), len(to_cloud))
