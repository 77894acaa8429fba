"""The Shadow store on disk: WAL with ``synchronous=NORMAL`` (no fsync per update), and no
acknowledged update lost when the process writing it is killed at a random point."""

from __future__ import annotations

import os
import random
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

from fakes.shadow import ShadowService, SQLiteStore

THING = "weather-station"
TIMEOUT = 30.0  # seconds a writer may take to start and acknowledge; each ends much sooner

# A writer: updates the Shadow as fast as it can; after each accepted update it prints the
# version the reply carried (the acknowledgement) and flushes, so every printed version was
# committed before the parent read it.
WRITER = """
import json, sys
from fakes.shadow import ShadowService
service = ShadowService(path=sys.argv[1], clock=lambda: 1_700_000_000.0)
sequence = int(sys.argv[2])
while True:
    sequence += 1
    outcome = service.update(sys.argv[3], json.dumps(
        {"state": {"reported": {"sequence": sequence, "pad": "x" * (sequence % 700)}}}))
    assert outcome.accepted, outcome.response
    print(outcome.response["version"], sequence, flush=True)
"""


def test_the_store_uses_wal_without_an_fsync_per_commit(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "shadow.db")
    try:
        db = store._db
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert db.execute("PRAGMA synchronous").fetchone()[0] == 1  # NORMAL
    finally:
        store.close()


def stored(path: Path) -> tuple[int, int]:
    """(version, reported sequence) of the stored Shadow, read as a restarted core would."""
    service = ShadowService(path=path)
    try:
        document = service.document(THING)
        assert document is not None
        return document["version"], document["state"]["reported"]["sequence"]
    finally:
        service.close()


def test_killed_at_random_no_acknowledged_update_is_lost(tmp_path: Path) -> None:
    """Ten writers in turn on one file, each killed (SIGKILL) after a random number of
    acknowledged updates: the stored version is never below the last one acknowledged, the
    stored document is the one of that version, and versions never go back."""
    path = tmp_path / "shadow.db"
    rng = random.Random(17)
    root = Path(__file__).resolve().parents[2]
    environment = {**os.environ, "PYTHONPATH": str(root)}
    last_version, last_sequence = 0, 0
    for _ in range(10):
        writer = subprocess.Popen(
            [sys.executable, "-c", WRITER, str(path), str(last_sequence), THING],
            stdout=subprocess.PIPE, text=True, env=environment, cwd=root)
        assert writer.stdout is not None
        try:
            acknowledged = None
            for _ in range(rng.randint(1, 400)):
                line = writer.stdout.readline()
                assert line, f"the writer ended early (status {writer.wait(TIMEOUT)})"
                acknowledged = tuple(map(int, line.split()))
        finally:
            writer.send_signal(signal.SIGKILL)
            writer.wait(TIMEOUT)
            writer.stdout.close()
        assert acknowledged is not None
        version, sequence = stored(path)
        assert version >= acknowledged[0] > last_version
        # the stored document matches its version: updates are numbered one by one
        assert sequence - last_sequence == version - last_version
        last_version, last_sequence = version, sequence
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


def test_requests_read_the_shadow_from_memory_and_write_it_through(tmp_path: Path) -> None:
    """One query per shadow at most (its first read); every accepted update is one write."""
    service = ShadowService(path=tmp_path / "shadow.db", clock=lambda: 1_700_000_000.0)
    statements: list[str] = []
    service._store._db.set_trace_callback(statements.append)  # type: ignore[attr-defined]
    try:
        for sequence in range(1, 21):
            outcome = service.update(THING, f'{{"state": {{"reported": {{"n": {sequence}}}}}}}')
            assert outcome.accepted
            assert service.document(THING)["state"]["reported"]["n"] == sequence
        selects = [s for s in statements if s.lstrip().upper().startswith("SELECT")]
        writes = [s for s in statements if s.lstrip().upper().startswith("INSERT")]
        assert (len(selects), len(writes)) == (1, 20)
    finally:
        service.close()
    assert stored_reported(tmp_path / "shadow.db") == {"n": 20}


def stored_reported(path: Path) -> dict:
    service = ShadowService(path=path)
    try:
        document = service.document(THING)
        assert document is not None
        return document["state"]["reported"]
    finally:
        service.close()
