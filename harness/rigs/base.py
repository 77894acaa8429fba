"""The small protocol every rig implements, so one scenario runs on any of them.

A :class:`Rig` (``sim``, ``broker`` or ``pi``) says what it can do (its capabilities, see
:data:`harness.scenarios.schema.Capability`) and opens a :class:`RigSession` for a scenario.
The scenario runner drives the session (advance time, stimuli, faults) and the expectations
read it (Shadow, messages, logs, counters) — the same reads a :class:`~harness.simulation.
Simulation` offers, so the monitors work on every rig.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from harness.scenarios.schema import Scenario


class Message(Protocol):
    """A message seen on a topic (a routed message on the sim rig, an MQTT one elsewhere)."""

    time: float
    topic: str
    payload: bytes


class RigSession(Protocol):
    """One scenario's run on a rig. Times are scenario seconds since the start (``now``, a
    message's ``time``); ``epoch`` ties them to the core's own clock, which a Lambda's
    ``time.time()`` and the Shadow's metadata read: the simulated clock on the sim rig (from
    2026-01-01), the wall clock when the session opened on the broker rig (then running at
    the session's scenario pace) and on the Pi."""

    @property
    def now(self) -> float: ...

    @property
    def epoch(self) -> float:
        """The core clock's epoch seconds at scenario time 0: a time ``t`` on that clock is
        ``t - epoch`` scenario seconds."""

    def advance_to(self, elapsed: float) -> None:
        """Let the rig run until ``elapsed`` scenario seconds (virtual or wall time)."""

    # -- stimuli and faults -------------------------------------------------------------
    def publish(self, source: str, topic: str, payload: bytes) -> None: ...
    def update_shadow(self, thing: str, document: dict[str, Any]) -> None: ...
    def delete_shadow(self, thing: str) -> None: ...
    def restart_core(self, downtime: float) -> None: ...
    def disconnect_broker(self, duration: float) -> None: ...
    def stall_function(self, function: str, invocations: int) -> None: ...
    def cloud_update(self, thing: str, document: dict[str, Any]) -> None: ...
    def disconnect_cloud(self, duration: float) -> None: ...

    # -- what expectations read -----------------------------------------------------------
    def shadow(self, thing: str, name: str | None = None) -> dict[str, Any] | None:
        """``thing``'s classic Shadow document as a GET returns it (its named shadow
        ``name``), or None when there is none."""
    def messages(self, topic: str | None = None) -> Sequence[Message]: ...
    def logs(self, name: str) -> list[str]: ...
    def core_log(self) -> list[str]: ...
    def stats(self, function: str) -> Any: ...
    def cloud_shadow(self, thing: str) -> dict[str, Any] | None: ...

    def close(self) -> None: ...


class Rig(Protocol):
    name: str
    capabilities: frozenset[str]
    #: how much longer than in simulation a ``within`` deadline may take on this rig
    timing_factor: float

    def open(self, scenario: Scenario, folder: Path) -> RigSession: ...


class RigUnavailable(RuntimeError):
    """The rig cannot be used here (no Mosquitto, no Pi, a failed preflight); the message
    is the exact reason, used as the skip reason of the tests that need it."""


class RigCannotRun(RuntimeError):
    """The rig lacks what a scenario needs; the message lists why."""

    def __init__(self, rig: str, scenario: str, reasons: list[str]) -> None:
        super().__init__(f"the {rig} rig cannot run {scenario!r}: {'; '.join(reasons)}")
        self.reasons = reasons
