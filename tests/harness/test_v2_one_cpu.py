"""The simulated V2 core keeps its threads on one CPU while it runs (harness.one_cpu), and
gives the thread that started it its CPUs back when it stops."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest

from harness.nucleus import CoreNucleus
from harness.one_cpu import one_cpu, pin_to_current_cpu, unpin
from tests.harness.sim_helpers import simulate

CLIENT = '''
from awsiot.greengrasscoreipc.clientv2 import GreengrassCoreIPCClientV2

def function_handler(event, context):
    GreengrassCoreIPCClientV2().update_state(state="RUNNING")
'''

pytestmark = pytest.mark.skipif(
    not hasattr(os, "sched_getaffinity") or len(os.sched_getaffinity(0)) < 2,
    reason="needs Linux CPU affinity and at least two usable CPUs",
)


def _affinity(thread: int = 0) -> set[int]:
    return set(os.sched_getaffinity(thread))


def _live_affinity(thread: int) -> set[int] | None:
    try:
        return _affinity(thread)
    except ProcessLookupError:  # ended meanwhile
        return None


def test_pinning_holds_the_calling_thread_and_what_it_starts() -> None:
    before = _affinity()
    pin = pin_to_current_cpu()
    try:
        assert pin is not None and _affinity() == {pin.cpu} and pin.previous == before
        seen: list[set[int]] = []
        thread = threading.Thread(target=lambda: seen.append(_affinity()))
        thread.start()
        thread.join()
        assert seen == [{pin.cpu}]
    finally:
        unpin(pin)
    assert _affinity() == before
    with one_cpu(enabled=False) as nothing:
        assert nothing is None and _affinity() == before


def _group() -> dict:
    return {"functions": [{"name": "client", "module": "client", "access_control": {}}],
            "devices": [{"thing": "sensor"}],
            "subscriptions": [{"source": "device:sensor", "subject": "go",
                               "target": "function:client"}]}


def test_the_core_runs_on_one_cpu_and_gives_it_back(tmp_path: Path) -> None:
    before = _affinity()
    older = set(os.listdir("/proc/self/task"))
    with simulate(tmp_path, _group(), {"client": CLIENT}) as sim:
        assert sim.core.nucleus is not None
        pinned = _affinity()
        assert len(pinned) == 1 and pinned <= before
        sim.publish("sensor", "go", {})
        sim.run(1)
        assert sim.stats("client").completed == 1
        # the server's threads and the Lambda's IPC client's event loop share that CPU
        started = [_live_affinity(int(t)) for t in set(os.listdir("/proc/self/task")) - older]
        masks = [mask for mask in started if mask is not None]
        assert len(masks) >= 3 and all(mask == pinned for mask in masks)
    assert _affinity() == before


def test_the_core_may_spread(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(CoreNucleus, "one_cpu", False)
    before = _affinity()
    with simulate(tmp_path, _group(), {"client": CLIENT}) as sim:
        assert _affinity() == before
        sim.publish("sensor", "go", {})
        sim.run(1)
        assert sim.stats("client").completed == 1
    assert _affinity() == before
