"""The hardware lock excludes other processes, names its holder, and frees itself when the
holder dies. The other holder is a real process (file locks are per process, so a second
thread of this one would prove nothing)."""

from __future__ import annotations

import os
import select
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from harness.rigs.hardware_lock import (
    HardwareBusy,
    hardware_lock,
    owner_file,
    read_owner,
)

REPO = Path(__file__).resolve().parents[2]
WAIT = 20.0  # the most any step here may wait for the other process
HOLDER = """
import sys
from harness.rigs.hardware_lock import hardware_lock
with hardware_lock(sys.argv[1], timeout=float(sys.argv[2])):
    print("held", flush=True)
    sys.stdin.readline()
print("released", flush=True)
"""


class Holder:
    """Another process holding the lock until told to let go."""

    def __init__(self, path: Path, timeout: float = 10.0) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-c", HOLDER, str(path), str(timeout)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=REPO,
        )
        assert self.line() == "held"

    @property
    def pid(self) -> int:
        return self.process.pid

    def line(self) -> str:
        assert self.process.stdout is not None
        ready, _, _ = select.select([self.process.stdout], [], [], WAIT)
        assert ready, f"the holder said nothing within {WAIT} s"
        return self.process.stdout.readline().strip()

    def release(self) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write("\n")
        self.process.stdin.flush()
        assert self.line() == "released"
        assert self.process.wait(timeout=WAIT) == 0

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait(timeout=WAIT)
        for stream in (self.process.stdin, self.process.stdout):
            if stream is not None:
                stream.close()


@pytest.fixture
def holder(tmp_path) -> Iterator[Holder]:
    other = Holder(tmp_path / "pi.lock")
    yield other
    other.stop()


def test_another_process_holding_the_lock_is_named(tmp_path, holder):
    lock = tmp_path / "pi.lock"
    owner = read_owner(lock)
    assert owner is not None
    assert (owner.pid, owner.host) == (holder.pid, socket.gethostname())
    assert owner.command.endswith(f"{lock} 10.0")  # the holder's command line
    started = time.monotonic()
    with pytest.raises(HardwareBusy) as caught, hardware_lock(lock, timeout=0.3):
        pytest.fail("acquired a lock another process holds")
    assert time.monotonic() - started >= 0.3
    busy = caught.value
    assert busy.path == lock and busy.owner is not None and busy.owner.pid == holder.pid
    message = str(busy)
    assert message.startswith(f"the Pi is in use: lock {lock} is held by pid {holder.pid} on"
                              f" {socket.gethostname()} since ")
    assert "waited 0.3 s" in message


def test_the_lock_is_free_once_the_holder_lets_go(tmp_path, holder):
    lock = tmp_path / "pi.lock"
    holder.release()
    assert not owner_file(lock).exists()  # the holder removed its record
    with hardware_lock(lock, timeout=0) as me:
        assert me.pid == os.getpid()
        assert read_owner(lock) == me
    assert not owner_file(lock).exists()


def test_a_waiting_session_gets_the_lock_when_the_holder_ends(tmp_path, holder):
    lock = tmp_path / "pi.lock"
    letting_go = threading.Timer(0.3, holder.release)
    letting_go.start()
    try:
        started = time.monotonic()
        with hardware_lock(lock, timeout=WAIT) as me:
            waited = time.monotonic() - started
            assert read_owner(lock) == me
    finally:
        letting_go.join(WAIT)
    assert 0.2 <= waited < WAIT


def test_a_holder_that_dies_frees_the_lock(tmp_path, holder):
    lock = tmp_path / "pi.lock"
    holder.process.kill()
    holder.process.wait(timeout=WAIT)
    assert read_owner(lock).pid == holder.pid  # a stale record: it could not clean up
    with hardware_lock(lock, timeout=5.0) as me:
        assert read_owner(lock) == me  # the record now names this process


def test_this_process_holding_it_excludes_another_process(tmp_path):
    lock = tmp_path / "pi.lock"
    with hardware_lock(lock, timeout=0):
        other = subprocess.run(
            [sys.executable, "-c", HOLDER, str(lock), "0.2"], input="\n",
            capture_output=True, text=True, cwd=REPO, timeout=WAIT,
        )
    assert other.returncode == 1
    assert f"HardwareBusy: the Pi is in use: lock {lock} is held by pid {os.getpid()}" in (
        other.stderr)


def test_not_reentrant_even_in_the_same_process(tmp_path):
    lock = tmp_path / "pi.lock"
    with (
        hardware_lock(lock, timeout=0),
        pytest.raises(HardwareBusy, match=f"pid {os.getpid()}"),
        hardware_lock(lock, timeout=0),
    ):
        pytest.fail("a second hold of the same lock")


def test_a_holder_without_a_record(tmp_path, holder):
    lock = tmp_path / "pi.lock"
    owner_file(lock).unlink()
    with pytest.raises(HardwareBusy) as caught, hardware_lock(lock, timeout=0):
        pass
    assert caught.value.owner is None
    assert f"is held, by whom unknown (no {owner_file(lock)})" in str(caught.value)


def test_the_lock_folder_is_made(tmp_path):
    lock = tmp_path / "run" / "rigs" / "pi.lock"
    with hardware_lock(lock, timeout=0):
        assert owner_file(lock).parent.is_dir()
