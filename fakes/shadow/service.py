"""The Shadow service: requests in, the messages they cause out.

The service holds a model of every shadow (:mod:`fakes.shadow.store`) and applies the rules
of :mod:`fakes.shadow.document`; this module adds the wire format: request topics and
payloads in, ``/accepted``, ``/rejected``, ``/delta`` and ``/documents`` messages out.

Stored records are never changed in place: an update builds new dicts (sharing untouched
subtrees with the old record) and replaces the record, and everything handed to callers is
encoded JSON, so no caller can reach into the store.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from os import PathLike
from typing import Any

from fakes.shadow import document, errors, validation
from fakes.shadow.config import ShadowConfig
from fakes.shadow.errors import ShadowRejection
from fakes.shadow.store import MemoryStore, ShadowKey, ShadowRecord, ShadowStore, SQLiteStore
from fakes.shadow.topics import ShadowTopic, parse_request_topic, request_topic

Message = tuple[str, bytes]
#: What an operation did: accepted or not, and the messages it published (reply first).
Result = tuple[bool, tuple[Message, ...]]
Payload = bytes | str | dict[str, Any] | None


#: JSON as the service sends it: compact, UTF-8.
encode = document.to_json


def _as_bytes(payload: Payload) -> bytes:
    """A request payload as the bytes a client would send: a dict as ``json.dumps`` writes
    it (``NaN``, ``Infinity`` and lone surrogates included, so the service refuses them as
    AWS would, instead of orjson quietly writing ``null``); a str as UTF-8, its lone
    surrogates as the bytes they would be (not UTF-8, so 415)."""
    if payload is None:
        return b""
    if isinstance(payload, bytes):
        return payload
    if isinstance(payload, str):
        return payload.encode("utf-8", "surrogatepass")
    return json.dumps(payload, separators=(",", ":")).encode("ascii")


@dataclass(frozen=True, slots=True)
class Outcome:
    """What one request did: ``messages`` is everything published, in order; the first is
    the ``/accepted`` or ``/rejected`` reply."""

    topic: ShadowTopic
    accepted: bool
    messages: tuple[Message, ...]

    @property
    def response(self) -> dict[str, Any]:
        """The ``/accepted`` or ``/rejected`` document (the body the REST API returns),
        decoded afresh on each access, so callers may change it freely."""
        return json.loads(self.messages[0][1])

    @property
    def code(self) -> int:
        """200 for an accepted request, else the rejection's HTTP status."""
        return 200 if self.accepted else int(self.response["code"])


class ShadowService:
    """A local Device Shadow service that follows AWS IoT's rules.

    ``clock`` returns epoch seconds (inject the simulation's virtual clock); ``path`` keeps
    the shadows in an SQLite file so that a new service on the same file (a core restart)
    finds them all.
    """

    def __init__(
        self,
        *,
        clock: Callable[[], float] = time.time,
        config: ShadowConfig | None = None,
        path: str | PathLike[str] | None = None,
        store: ShadowStore | None = None,
    ) -> None:
        if path is not None and store is not None:
            raise ValueError("give either path or store, not both")
        self.clock = clock
        self.config = config or ShadowConfig()
        #: called with (thing, shadow name or None, "update" | "delete") after every
        #: accepted change (a shadow sync manager listens here)
        self.observers: list[Callable[[str, str | None, str], None]] = []
        self._store: ShadowStore = store or (SQLiteStore(path) if path else MemoryStore())
        self._lock = threading.RLock()
        self._handlers = {"get": self._get, "update": self._update, "delete": self._delete}

    # -- the MQTT face -------------------------------------------------------------------

    def handle(self, topic: str, payload: bytes) -> list[Message]:
        """Process one request published on ``topic``; return the messages it causes."""
        parsed = parse_request_topic(topic)
        if parsed is None:
            raise ValueError(
                f"{topic!r} is not a shadow request topic"
                " ($aws/things/<thing>/shadow[/name/<shadow>]/get|update|delete)"
            )
        return list(self._dispatch(parsed, payload)[1])

    # -- operations ----------------------------------------------------------------------

    def request(
        self, operation: str, thing: str, payload: Payload = b"", shadow: str | None = None
    ) -> Outcome:
        """Run ``get``, ``update`` or ``delete`` on a shadow."""
        if type(thing) is str and (shadow is None or type(shadow) is str):
            parsed = _shadow_topic(thing, shadow, operation)
        else:
            parsed = _make_shadow_topic(thing, shadow, operation)
        accepted, messages = self._dispatch(parsed, _as_bytes(payload))
        return Outcome(parsed, accepted, messages)

    def update(self, thing: str, payload: Payload, shadow: str | None = None) -> Outcome:
        return self.request("update", thing, payload, shadow)

    def get(self, thing: str, shadow: str | None = None, payload: Payload = b"") -> Outcome:
        return self.request("get", thing, payload, shadow)

    def delete(self, thing: str, shadow: str | None = None, payload: Payload = b"") -> Outcome:
        return self.request("delete", thing, payload, shadow)

    def list_named_shadows(
        self, thing: str, page_size: int | None = None, next_token: str | None = None
    ) -> dict[str, Any]:
        """Names of the thing's live named shadows (the classic shadow is never listed);
        an unknown thing gives an empty list."""
        with self._lock:
            names = sorted(
                name
                for key_thing, name in self._store.list_keys()
                if key_thing == thing and name is not None and self._live((thing, name))
            )
        start = int(next_token) if next_token else 0
        end = len(names) if page_size is None else start + page_size
        result: dict[str, Any] = {"results": names[start:end], "timestamp": self._now()}
        if end < len(names):
            result["nextToken"] = str(end)
        return result

    # -- inspection, for tests -----------------------------------------------------------

    def document(self, thing: str, shadow: str | None = None) -> dict[str, Any] | None:
        """The document a GET would return now, or ``None`` when there is no shadow."""
        outcome = self.get(thing, shadow)
        return outcome.response if outcome.accepted else None

    def version(self, thing: str, shadow: str | None = None) -> int | None:
        """The version of a live shadow, or ``None``."""
        record = self._live((thing, shadow))
        return record.version if record else None

    def shadows(self) -> list[ShadowKey]:
        """Every live shadow as ``(thing, shadow name or None)``."""
        with self._lock:
            return [key for key in self._store.list_keys() if self._live(key)]

    def close(self) -> None:
        """Close the store's database file, if it has one (the documents stay in it)."""
        close = getattr(self._store, "close", None)
        if close is not None:
            with self._lock:
                close()

    # -- internals -----------------------------------------------------------------------

    def _now(self) -> int:
        return int(self.clock())

    def _live(self, key: ShadowKey) -> ShadowRecord | None:
        record = self._store.get(key)
        return record if record is not None and record.live else None

    def _dispatch(self, topic: ShadowTopic, payload: bytes) -> Result:
        handler = self._handlers
        with self._lock:
            now = self._now()
            try:
                validation.check_names(topic.thing, topic.shadow)
                result = handler[topic.operation](topic, payload, now)
            except ShadowRejection as rejection:
                return self._rejected(topic, payload, rejection, now)
        if self.observers and result[0] and topic.operation != "get":
            for observer in list(self.observers):
                observer(topic.thing, topic.shadow, topic.operation)
        return result

    def _rejected(
        self, topic: ShadowTopic, payload: bytes, rejection: ShadowRejection, now: int
    ) -> Result:
        body: dict[str, Any] = {"code": rejection.code, "message": rejection.message}
        if rejection.code != 404:
            # AWS's documented error documents carry a timestamp; the live-observed 404
            # payload has none.
            body["timestamp"] = now
        token = validation.echo_token(payload, self.config)
        if token is not None:
            body["clientToken"] = token
        return False, ((topic.reply("rejected"), encode(body)),)

    def _not_found(self, topic: ShadowTopic) -> ShadowRejection:
        if topic.shadow is None:
            name = topic.thing
        elif self.config.named_not_found_style == "shadow":
            name = topic.shadow
        else:
            name = f"{topic.thing}~{topic.shadow}"
        return ShadowRejection(404, errors.no_shadow(name))

    def _get(self, topic: ShadowTopic, payload: bytes, now: int) -> Result:
        record = self._live((topic.thing, topic.shadow))
        if record is None:
            raise self._not_found(topic)
        state = dict(record.state)
        delta = document.delta(state.get("desired", {}), state.get("reported", {}))
        if delta:
            state["delta"] = delta
        body = {
            "state": state,
            "metadata": record.metadata,
            "version": record.version,
            "timestamp": now,
        }
        _add_token(body, validation.echo_token(payload, self.config))
        return True, ((topic.reply("accepted"), encode(body)),)

    def _delete(self, topic: ShadowTopic, payload: bytes, now: int) -> Result:
        key = (topic.thing, topic.shadow)
        record = self._live(key)
        if record is None:
            raise self._not_found(topic)
        version = record.version + (1 if self.config.delete_increments_version else 0)
        self._store.put(key, ShadowRecord(version, deleted_at=now))
        body: dict[str, Any] = {"version": version, "timestamp": now}
        _add_token(body, validation.echo_token(payload, self.config))
        return True, ((topic.reply("accepted"), encode(body)),)

    def _update(self, topic: ShadowTopic, payload: bytes, now: int) -> Result:
        config = self.config
        request = validation.check_update(payload, config)
        key = (topic.thing, topic.shadow)
        stored = self._store.get(key)
        live = stored if stored is not None and stored.live else None

        if request.version is not None:
            if live is None:
                expected = config.new_shadow_version
                if expected is not None and request.version != expected:
                    raise ShadowRejection(400, errors.INVALID_VERSION)
            elif request.version != live.version:
                raise ShadowRejection(409, errors.VERSION_CONFLICT)

        state, metadata, request_metadata = _apply(
            live, request.state, now, config.empty_object_removes
        )
        if document.state_size(state) > config.max_state_bytes:
            raise ShadowRejection(413, errors.PAYLOAD_TOO_LARGE)

        if live is not None:
            version = live.version + 1
        elif stored is not None and now - stored.deleted_at < config.version_retention_seconds:
            version = stored.version + 1  # re-created soon after a delete: keep counting
        else:
            version = 1
        record = ShadowRecord(version, state, metadata)
        self._store.put(key, record)

        token = request.client_token
        accepted = {
            "state": request.state,
            "metadata": request_metadata,
            "version": version,
            "timestamp": now,
        }
        _add_token(accepted, token)
        messages = [(topic.reply("accepted"), encode(accepted))]

        delta = document.delta(state.get("desired", {}), state.get("reported", {}))
        touched_desired = request.state is not None and "desired" in request.state
        if delta and (touched_desired or config.delta_on_reported_only_update):
            delta_message = {
                "version": version,
                "timestamp": now,
                "state": delta,
                "metadata": document.restrict(metadata.get("desired", {}), delta),
            }
            _add_token(delta_message, token)
            messages.append((topic.reply("delta"), encode(delta_message)))

        if live is not None:
            previous = _snapshot_json(live)
        elif config.documents_previous_for_new_shadow == "null":
            previous = b"null"
        elif config.documents_previous_for_new_shadow == "empty":
            previous = b'{"state":{},"metadata":{},"version":0}'
        else:
            previous = None
        # Assembled from the snapshots' encodings: each is encoded once, as "current", and
        # reused as "previous" by the next update.
        documents = b"".join((
            b'{"previous":' + previous + b"," if previous is not None else b"{",
            b'"current":', _snapshot_json(record),
            b',"timestamp":', str(now).encode(),
            b',"clientToken":' + encode(token) if token is not None else b"",
            b"}",
        ))
        messages.append((topic.reply("documents"), documents))
        return True, tuple(messages)


def _make_shadow_topic(thing: str, shadow: str | None, operation: str) -> ShadowTopic:
    parsed = parse_request_topic(request_topic(thing, operation, shadow))
    if parsed is None or (parsed.thing, parsed.shadow) != (thing, shadow):
        # Names holding '/' cannot be carried by a topic; check them all the same.
        parsed = ShadowTopic(thing, shadow, operation)
    return parsed


#: The request of a (thing, shadow, operation): names repeat, so made once.
_shadow_topic = lru_cache(maxsize=4096)(_make_shadow_topic)


def _apply(
    live: ShadowRecord | None, patch: dict[str, Any] | None, now: int, empty_removes: bool
) -> tuple[dict[str, Any], dict[str, Any], Any]:
    """The stored state and metadata after merging a checked request's ``state``, and the
    request's own metadata (for ``/update/accepted``)."""
    if patch is validation.CLEAR:
        return {}, {}, document.stamp(None, now)
    old_state = live.state if live else _EMPTY
    old_metadata = live.metadata if live else _EMPTY
    state: dict[str, Any] = {}
    metadata: dict[str, Any] = {}
    request_metadata: dict[str, Any] = {}
    for section in validation.SECTIONS:
        if section not in patch:
            section_state = old_state.get(section, _EMPTY)
            section_metadata = old_metadata.get(section, _EMPTY)
        elif patch[section] is None or (empty_removes and patch[section] == {}):
            # "desired": null (or {}) removes the section
            request_metadata[section] = document.stamp(patch[section], now)
            continue
        else:
            section_state, section_metadata, request_metadata[section] = document.merge(
                old_state.get(section, _EMPTY),
                old_metadata.get(section, _EMPTY),
                patch[section],
                now,
                empty_removes,
            )
        if section_state:
            state[section] = section_state
            metadata[section] = section_metadata
    return state, metadata, request_metadata


_EMPTY: dict[str, Any] = {}  # read-only stand-in for a missing document or section


def _snapshot_json(record: ShadowRecord) -> bytes:
    if record.snapshot_json is None:
        record.snapshot_json = encode(
            {"state": record.state, "metadata": record.metadata, "version": record.version}
        )
    return record.snapshot_json


def _add_token(body: dict[str, Any], token: str | None) -> None:
    if token is not None:
        body["clientToken"] = token
