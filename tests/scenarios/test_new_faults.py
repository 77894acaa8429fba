"""The fault and stimulus scenarios can fail: each is run against a core with the bug it
guards against, and the expectation that should catch it does."""

from __future__ import annotations

from pathlib import Path

import pytest

from fakes.shadow import ShadowService
from harness.functions import FunctionRuntime
from harness.scenarios import run_scenario
from harness.simulation import Simulation

SCENARIOS = Path(__file__).resolve().parents[2] / "scenarios"


def _failed(result: object) -> set[str]:
    return {outcome.label for outcome in result.failures}  # type: ignore[attr-defined]


def test_a_core_restart_that_lost_the_shadow_is_caught(monkeypatch: pytest.MonkeyPatch) -> None:
    original = Simulation.restart_core

    def forgetful(self: Simulation, downtime: float = 0.0) -> None:
        original(self, downtime)
        self.shadow_service = ShadowService(clock=self.clock.time)  # an empty store
        self.core.shadow = self.shadow_service

    monkeypatch.setattr(Simulation, "restart_core", forgetful)
    result = run_scenario(SCENARIOS / "core_restart.yaml")
    assert not result.passed
    assert "the Shadow is still there while the core is down, values intact" in _failed(result)
    assert '{"always": "version grows"}' in _failed(result)


def test_held_readings_that_are_dropped_are_caught(monkeypatch: pytest.MonkeyPatch) -> None:
    from harness import devices

    monkeypatch.setattr(devices, "MAX_HELD", 0)  # a client that keeps nothing offline
    result = run_scenario(SCENARIOS / "broker_disconnect.yaml")
    assert _failed(result) == {"every reading reached the core (none lost to the outage)"}


def test_a_core_without_timeouts_is_caught(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(FunctionRuntime, "stall_next",
                        lambda self, invocations=1, seconds=None: None)
    result = run_scenario(SCENARIOS / "lambda_timeout.yaml")
    assert len(result.failures) == 2  # the timeout count and the log lines


def test_a_delete_that_is_ignored_is_caught(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(Simulation, "delete_shadow", lambda self, thing, source="cloud": {})
    result = run_scenario(SCENARIOS / "shadow_deleted.yaml")
    assert _failed(result) == {"the delete is accepted",
                               "right after the delete there is no Shadow"}


def test_a_sync_that_never_comes_back_is_caught(monkeypatch: pytest.MonkeyPatch) -> None:
    # (one that merely forgets its queue is rescued by the version check: its next push
    # gets a 409 and turns into a full sync, which tests/cloud covers)
    from harness.cloud.shadow_sync import ShadowSync

    def stays_offline(self: ShadowSync, online: bool) -> None:
        self.online = False

    monkeypatch.setattr(ShadowSync, "set_online", stays_offline)
    result = run_scenario(SCENARIOS / "cloud_offline_hour.yaml")
    assert {"after the reconnection the core has the cloud's desired change",
            "and both Shadows hold the same state again"} <= _failed(result)
