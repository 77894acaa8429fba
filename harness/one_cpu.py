"""Keep the threads of a simulated V2 core on one CPU.

An IPC call on the simulated V2 core is a relay of threads, each waiting for the one before:
the Lambda's thread (the scheduler's) hands the request to the ``awsiotsdk`` client's
event-loop thread, which writes it to the socket; the nucleus's connection thread answers;
the event-loop thread reads the answer and wakes the Lambda's thread. Only one of them runs
at a time, so a second CPU adds nothing, but it costs: when the relay spreads over CPUs,
every hand-off wakes an idle CPU, and in a virtual machine that is an inter-processor
interrupt through the hypervisor, tens of microseconds each, several times a call. On one
CPU a hand-off is a context switch. Measured on this project's 2-vCPU machine
(``bench/ipc_round_trip.py``, GetThingShadow): the median round trip of a raw eventstream
echo with the same client drops from about 190 us to about 130 us, the simulated core's
from about 270 us to about 160 us.

:func:`pin_to_current_cpu` pins the calling thread to the CPU it runs on. Threads and
processes it starts from then on inherit the pinning (the IPC server's threads, the
clients' event-loop threads made by Lambda code, and whatever those start); :func:`unpin`
gives the calling thread back its CPUs. Linux only: elsewhere, or when the process may use a
single CPU anyway, both do nothing.
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Iterator
from dataclasses import dataclass

__all__ = ["CpuPin", "one_cpu", "pin_to_current_cpu", "unpin"]


@dataclass(frozen=True, slots=True)
class CpuPin:
    """A thread pinned to ``cpu``, and the CPUs it may use again when unpinned."""

    thread: int  # the native (kernel) thread id
    cpu: int
    previous: frozenset[int]


def _current_cpu() -> int | None:
    """The CPU the calling thread last ran on (field 39 of ``/proc/thread-self/stat``)."""
    try:
        with open("/proc/thread-self/stat", "rb") as stat:
            fields = stat.read().rsplit(b")", 1)[1].split()
        return int(fields[36])
    except (OSError, IndexError, ValueError):
        return None


def pin_to_current_cpu() -> CpuPin | None:
    """Pin the calling thread to the CPU it runs on; ``None`` when that is not possible
    or changes nothing."""
    if not hasattr(os, "sched_setaffinity"):
        return None
    try:
        allowed = frozenset(os.sched_getaffinity(0))
    except OSError:
        return None
    if len(allowed) < 2:
        return None
    cpu = _current_cpu()
    if cpu not in allowed:
        cpu = min(allowed)
    thread = threading.get_native_id()
    try:
        os.sched_setaffinity(thread, {cpu})
    except OSError:
        return None
    return CpuPin(thread, cpu, allowed)


def unpin(pin: CpuPin | None) -> None:
    """Give the pinned thread its CPUs back (threads started meanwhile keep the pinning)."""
    if pin is None:
        return
    with contextlib.suppress(OSError):  # the thread has ended
        os.sched_setaffinity(pin.thread, pin.previous)


@contextlib.contextmanager
def one_cpu(enabled: bool = True) -> Iterator[CpuPin | None]:
    """The calling thread on one CPU for the ``with`` block (when ``enabled``)."""
    pin = pin_to_current_cpu() if enabled else None
    try:
        yield pin
    finally:
        unpin(pin)
