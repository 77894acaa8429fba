"""Where the Shadow service keeps its documents: in memory, or in an SQLite file that outlives
the process (a simulated core restart keeps every shadow, as a real core's disk does)."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass, field
from os import PathLike
from typing import Any, Protocol

#: (thing name, shadow name or ``None`` for the classic shadow)
ShadowKey = tuple[str, str | None]


@dataclass(slots=True)
class ShadowRecord:
    """One shadow as stored. ``state`` and ``metadata`` hold only non-empty ``desired`` /
    ``reported`` sections. A deleted shadow stays as a tombstone (``deleted_at`` set) so that
    a shadow re-created soon after continues its version."""

    version: int
    state: dict[str, Any] = field(default_factory=dict)
    metadata: dict[str, Any] = field(default_factory=dict)
    deleted_at: float | None = None
    #: The encoded ``{"state", "metadata", "version"}`` snapshot, once computed (it is the
    #: ``current`` of one ``/update/documents`` message and the ``previous`` of the next).
    snapshot_json: bytes | None = field(default=None, compare=False, repr=False)

    @property
    def live(self) -> bool:
        return self.deleted_at is None


class ShadowStore(Protocol):
    def get(self, key: ShadowKey) -> ShadowRecord | None: ...
    def put(self, key: ShadowKey, record: ShadowRecord) -> None: ...
    def list_keys(self) -> Iterator[ShadowKey]: ...


class MemoryStore:
    """Documents in a dict; the default."""

    def __init__(self) -> None:
        self._records: dict[ShadowKey, ShadowRecord] = {}

    def get(self, key: ShadowKey) -> ShadowRecord | None:
        return self._records.get(key)

    def put(self, key: ShadowKey, record: ShadowRecord) -> None:
        self._records[key] = record

    def list_keys(self) -> Iterator[ShadowKey]:
        return iter(list(self._records))


class SQLiteStore:
    """Documents in an SQLite file, written through on every accepted request (one
    transaction each, committed before the request is answered).

    The file is in WAL mode with ``synchronous=NORMAL``: a commit appends to the write-ahead
    log without an fsync (the log is synced at checkpoints), where the default rollback
    journal fsyncs several times per commit, more than half of the core's time per reading
    on the broker rig. What that keeps: a process killed at any point (SIGKILL, a crashed
    core) loses no committed update, since the log is in the operating system's cache;
    ``tests/shadow/test_sqlite_durability.py`` kills a writer at random points and checks
    it. What it does not keep: after a power cut or kernel crash the last commits since the
    previous checkpoint may be gone (the file stays consistent, versions just end earlier).
    """

    def __init__(self, path: str | PathLike[str]) -> None:
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        mode = self._db.execute("PRAGMA journal_mode=WAL").fetchone()[0]
        if mode != "wal":  # e.g. a file system without shared memory for the WAL index
            raise sqlite3.OperationalError(f"{path}: SQLite cannot use WAL here ({mode})")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._cache: dict[ShadowKey, ShadowRecord | None] = {}
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS shadows ("
            " thing TEXT NOT NULL, name TEXT NOT NULL, version INTEGER NOT NULL,"
            " state TEXT NOT NULL, metadata TEXT NOT NULL, deleted_at REAL,"
            " PRIMARY KEY (thing, name))"
        )

    def get(self, key: ShadowKey) -> ShadowRecord | None:
        """From memory once read or written: this store is the file's only writer while it
        is open (a restarted core opens a new one), so what it wrote is what the file
        holds, and a request reads without a query."""
        if key in self._cache:
            return self._cache[key]
        row = self._db.execute(
            "SELECT version, state, metadata, deleted_at FROM shadows"
            " WHERE thing = ? AND name = ?",
            (key[0], key[1] or ""),
        ).fetchone()
        record = None
        if row is not None:
            version, state, metadata, deleted_at = row
            record = ShadowRecord(version, json.loads(state), json.loads(metadata), deleted_at)
        self._cache[key] = record
        return record

    def put(self, key: ShadowKey, record: ShadowRecord) -> None:
        self._db.execute(
            "INSERT OR REPLACE INTO shadows VALUES (?, ?, ?, ?, ?, ?)",
            (
                key[0],
                key[1] or "",
                record.version,
                json.dumps(record.state),
                json.dumps(record.metadata),
                record.deleted_at,
            ),
        )
        self._cache[key] = record  # after the commit: a failed write leaves the cache as is

    def list_keys(self) -> Iterator[ShadowKey]:
        rows = self._db.execute("SELECT thing, name FROM shadows ORDER BY thing, name")
        return iter([(thing, name or None) for thing, name in rows.fetchall()])

    def close(self) -> None:
        self._db.close()
