"""One test session at a time on a Pi: an exclusive lock on a file, held for the session.

Two sessions on the same Pi (two people, or a farm run and a local run) would restart the same
core, publish into the same Shadow and read the same sensor; their results would mean nothing.
:func:`hardware_lock` takes an OS file lock (``flock`` through the ``filelock`` library) on the
rig's ``lock_file``; the kernel drops it when the holding process ends, however it ends, so a
crashed session never leaves the Pi locked.

While held, ``<lock>.owner`` records who holds it (pid, host, since when, command line), so a
session that gives up waiting can say who is in the way::

    with hardware_lock(config.lock_file, timeout=600):
        ...  # this session owns the Pi

The lock is not re-entrant: a second :func:`hardware_lock` on the same file waits for the first,
even in the same process.
"""

from __future__ import annotations

import json
import os
import socket
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

from filelock import FileLock, Timeout

__all__ = ["HardwareBusy", "LockOwner", "hardware_lock", "owner_file", "read_owner"]


@dataclass(frozen=True)
class LockOwner:
    """Who holds (or last held) a hardware lock, as recorded in its owner file."""

    pid: int
    host: str
    since: str = ""
    command: str = ""

    def __str__(self) -> str:
        text = f"pid {self.pid} on {self.host}"
        if self.since:
            text += f" since {self.since}"
        if self.command:
            text += f" ({self.command})"
        return text


class HardwareBusy(TimeoutError):
    """The hardware lock was not free within the timeout; ``owner`` is who holds it, if known."""

    def __init__(self, path: Path, timeout: float, owner: LockOwner | None) -> None:
        self.path = path
        self.timeout = timeout
        self.owner = owner
        holder = f"held by {owner}" if owner else f"held, by whom unknown (no {owner_file(path)})"
        super().__init__(
            f"the Pi is in use: lock {path} is {holder}; waited {timeout:g} s. Wait for that"
            " session to end, or pass a longer timeout"
        )


def owner_file(path: str | Path) -> Path:
    """The side file recording who holds the lock at ``path``: ``<path>.owner``."""
    path = Path(path)
    return path.with_name(path.name + ".owner")


def read_owner(path: str | Path) -> LockOwner | None:
    """Who the owner file of the lock at ``path`` names, or None (no file, or unreadable)."""
    try:
        data = json.loads(owner_file(path).read_text(encoding="utf-8"))
        return LockOwner(int(data["pid"]), str(data["host"]), str(data.get("since", "")),
                         str(data.get("command", "")))
    except (OSError, ValueError, KeyError, TypeError):
        return None


@contextmanager
def hardware_lock(path: str | Path, *, timeout: float) -> Iterator[LockOwner]:
    """Hold the exclusive lock on ``path`` for the ``with`` block, waiting at most ``timeout``
    seconds for it (0: try once). Yields the owner record written for this holder.

    :raises HardwareBusy: the lock stayed taken; the message names the file and its holder.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    lock = FileLock(str(path), timeout=max(timeout, 0.0))
    try:
        lock.acquire()
    except Timeout:
        raise HardwareBusy(path, timeout, read_owner(path)) from None
    try:
        me = LockOwner(
            pid=os.getpid(),
            host=socket.gethostname(),
            since=time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            command=" ".join(sys.argv)[:200],
        )
        with suppress(OSError):  # the record only informs; the lock itself is held
            _write_owner(path, me)
        yield me
    finally:
        if read_owner(path) == me:
            with suppress(OSError):
                owner_file(path).unlink()
        lock.release()


def _write_owner(path: Path, owner: LockOwner) -> None:
    """Replace the owner file atomically, so a reader never sees half of it."""
    target = owner_file(path)
    content = json.dumps({"pid": owner.pid, "host": owner.host, "since": owner.since,
                          "command": owner.command})
    handle, temporary = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as file:
            file.write(content + "\n")
        os.chmod(temporary, 0o644)
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
