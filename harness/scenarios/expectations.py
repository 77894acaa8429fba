"""Judging a scenario's expectations against a running simulation.

Each expectation becomes a :class:`Monitor`: the runner calls :meth:`Monitor.observe` after
every step (and at every ``within`` deadline) and :meth:`Monitor.finish` at the end, which
gives an :class:`Outcome`: met or failed, and for a failure the first simulated time it was
known to fail and the value seen then.
"""

from __future__ import annotations

import json
import math
import operator
from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any

from fakes.shadow.document import json_equal  # equality as JSON sees it: true is not 1
from harness.cloud.shadow_sync import shadow_sections
from harness.rigs.base import RigSession as Simulation  # what monitors read
from harness.scenarios.field_types import compiled
from harness.scenarios.schema import (
    VERSION_GROWS,
    Check,
    Condition,
    Count,
    Expectation,
    InSyncCheck,
    LogCheck,
    MessagesCheck,
    Monotonic,
    PayloadBytes,
    ShadowCheck,
    SinceStart,
    StatsCheck,
)
from harness.scenarios.wording import is_richer, older_label, sentence

SYSTEM_LOG = "system"  # LogCheck.function naming the core's own log


class _Missing:
    def __repr__(self) -> str:
        return "<missing>"


MISSING: Any = _Missing()


@dataclass(frozen=True)
class Outcome:
    """What became of one expectation. ``failed_at`` (seconds of simulated time) and
    ``value`` tell when it first failed and what was seen; for a met one, ``value`` is what
    met it."""

    index: int
    label: str
    met: bool
    failed_at: float | None = None
    value: Any = None

    def __str__(self) -> str:
        if self.met:
            return f"[{self.index}] met: {self.label}"
        return f"[{self.index}] FAILED at {self.failed_at:g} s (saw {self.value!r}): {self.label}"


# ------------------------------------------------------------------ reading the simulation


def at_path(document: Any, path: str) -> Any:
    """The value at a dotted ``path`` (list positions as numbers), or :data:`MISSING`."""
    value = document
    for part in path.split("."):
        if isinstance(value, dict) and part in value:
            value = value[part]
        elif isinstance(value, list) and part.isdigit() and int(part) < len(value):
            value = value[int(part)]
        else:
            return MISSING
    return value


def _in_count(n: int, count: Count | int) -> bool:
    if isinstance(count, int):
        return n == count
    return (count.min is None or n >= count.min) and (count.max is None or n <= count.max)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _resolve(bound: float | SinceStart, sim: Simulation) -> float:
    """A bound as a number: a ``since_start`` time on the rig's core clock."""
    if isinstance(bound, SinceStart):
        return sim.epoch + bound.since_start
    return bound


def _contains(value: Any, part: Any) -> bool:
    if isinstance(value, str):
        return isinstance(part, str) and part in value
    if isinstance(value, list):
        return any(json_equal(item, part) for item in value)
    if isinstance(value, dict):
        return isinstance(part, str) and part in value
    return False


def holds(condition: Condition, value: Any, sim: Simulation) -> bool:
    """Whether ``value`` (:data:`MISSING` when the path leads nowhere) passes every test of
    ``condition``; ``sim`` gives the rig's clock for the time tests."""
    given = condition.model_fields_set
    if condition.absent:
        return value is MISSING
    if condition.is_null:
        return value is MISSING or value is None
    if value is MISSING:
        return False
    if "equals" in given and not json_equal(value, condition.equals):
        return False
    if "contains" in given and not _contains(value, condition.contains):
        return False
    if condition.matches is not None and not (
            isinstance(value, str) and compiled(condition.matches).search(value)):
        return False
    numeric = [name for name in ("approx", "gt", "ge", "lt", "le", "within_seconds_of_now",
                                 "after_start") if getattr(condition, name) is not None]
    if not numeric:
        return True
    if not _is_number(value) or not math.isfinite(value):
        return False
    if condition.approx is not None and \
            abs(value - _resolve(condition.approx, sim)) > condition.tolerance:
        return False
    for name, passes in (("gt", operator.gt), ("ge", operator.ge), ("lt", operator.lt),
                         ("le", operator.le)):
        bound = getattr(condition, name)
        if bound is not None and not passes(value, _resolve(bound, sim)):
            return False
    if condition.within_seconds_of_now is not None and \
            abs(value - (sim.epoch + sim.now)) > condition.within_seconds_of_now:
        return False
    # the Shadow stamps whole seconds: its first stamps may be the start's second, truncated
    return not (condition.after_start and value < math.floor(sim.epoch))


def shadow_document(sim: Simulation, thing: str, name: str | None = None,
                    side: str = "local") -> dict[str, Any] | None:
    """``thing``'s Shadow document (its named shadow ``name``; the cloud's for ``side:
    cloud``), or None when there is none."""
    if side == "cloud":
        return sim.cloud_shadow(thing)
    return sim.shadow(thing) if name is None else sim.shadow(thing, name)


def _shadow(check: ShadowCheck, sim: Simulation) -> tuple[bool, Any]:
    value = at_path(shadow_document(sim, check.thing, check.name, check.side), check.path)
    return holds(check, value, sim), value


def payload_passes(check: PayloadBytes, payload: bytes) -> bool:
    """Whether the bytes of a payload pass a payload check."""
    exact = check.exact
    if exact is not None and payload != exact:
        return False
    if check.contains_hex is not None and bytes.fromhex(check.contains_hex) not in payload:
        return False
    return check.length is None or _in_count(len(payload), check.length)


def matching_messages(check: MessagesCheck, sim: Simulation) -> list[Any]:
    """The messages on the check's topic that pass its ``where`` and ``payload``."""
    messages = list(sim.messages(check.topic))
    if check.where is not None:
        conditions = check.where
        kept = []
        for message in messages:
            body = _json(message.payload)
            if all(holds(c, at_path(body, c.path), sim) for c in conditions):
                kept.append(message)
        messages = kept
    if check.payload is not None:
        messages = [m for m in messages if payload_passes(check.payload, bytes(m.payload))]
    return messages


def _messages(check: MessagesCheck, sim: Simulation) -> tuple[bool, Any]:
    messages = matching_messages(check, sim)
    return _in_count(len(messages), check.count), len(messages)


def _json(payload: bytes) -> Any:
    try:
        return json.loads(payload)
    except ValueError:
        return None


def _log(check: LogCheck, sim: Simulation) -> tuple[bool, Any]:
    lines = sim.core_log() if check.function == SYSTEM_LOG else sim.logs(check.function)
    n = sum(1 for line in lines if check.contains in line)
    if check.count is None:
        return n >= 1, n
    if isinstance(check.count, int):
        return n == check.count, n
    return _in_count(n, check.count), n


def _stats(check: StatsCheck, sim: Simulation) -> tuple[bool, Any]:
    value = getattr(sim.stats(check.function), check.field)
    ok = ((check.equals is None or value == check.equals)
          and (check.min is None or value >= check.min)
          and (check.max is None or value <= check.max))
    return ok, value


def _in_sync(check: InSyncCheck, sim: Simulation) -> tuple[bool, Any]:
    local = shadow_sections((sim.shadow(check.thing) or {}).get("state"))
    cloud = shadow_sections((sim.cloud_shadow(check.thing) or {}).get("state"))
    if json_equal(local, cloud):
        return True, local
    differing = sorted({f"{section}.{key}" for section in ("desired", "reported")
                        for key in set(local.get(section, {})) | set(cloud.get(section, {}))
                        if not json_equal(local.get(section, {}).get(key, MISSING),
                                          cloud.get(section, {}).get(key, MISSING))})
    return False, {"differ": differing}


def evaluate(check: Check, sim: Simulation) -> tuple[bool, Any]:
    """Whether ``check`` holds now, and the value it looked at."""
    if check.in_sync is not None:
        return _in_sync(check.in_sync, sim)
    if check.shadow is not None:
        return _shadow(check.shadow, sim)
    if check.messages is not None:
        return _messages(check.messages, sim)
    if check.log is not None:
        return _log(check.log, sim)
    assert check.stats is not None
    return _stats(check.stats, sim)


# ------------------------------------------------------------------ monitors


class Monitor(ABC):
    def __init__(self, index: int, label: str) -> None:
        self.index = index
        self.label = label
        self.failed_at: float | None = None
        self.value: Any = None

    def fail(self, now: float, value: Any) -> None:
        if self.failed_at is None:
            self.failed_at, self.value = now, value

    def observe(self, sim: Simulation, now: float) -> None:  # noqa: B027 (optional hook)
        """Look at the simulation after a step ending at ``now``."""

    @abstractmethod
    def finish(self, sim: Simulation, now: float) -> Outcome: ...

    def outcome(self, met: bool) -> Outcome:
        return Outcome(self.index, self.label, met, None if met else self.failed_at, self.value)


class Within(Monitor):
    """Met when the check holds at some step at or before ``limit``."""

    def __init__(self, index: int, label: str, check: Check, limit: float,
                 after: float = 0.0) -> None:
        super().__init__(index, label)
        self.check, self.limit, self.after, self.met = check, limit, after, False

    def observe(self, sim: Simulation, now: float) -> None:
        if self.met or self.failed_at is not None:
            return
        if now > self.limit:
            self.fail(self.limit, self.value)
            return
        if now < self.after:
            return
        self.met, self.value = evaluate(self.check, sim)

    def finish(self, sim: Simulation, now: float) -> Outcome:
        if not self.met:
            self.fail(min(now, self.limit), self.value)
        return self.outcome(self.met)


def _shadow_missing(check: Check, sim: Simulation) -> bool:
    """Whether ``check`` reads a Shadow that does not exist now (always/never skip those
    steps: a Shadow check speaks of the Shadow while there is one)."""
    shadow = check.shadow
    return shadow is not None and shadow_document(sim, shadow.thing, shadow.name,
                                                  shadow.side) is None


class Always(Monitor):
    """Met when the check holds at every step from ``start`` to ``end`` (a Shadow check:
    every such step where the Shadow exists)."""

    def __init__(self, index: int, label: str, check: Check, start: float = 0.0,
                 end: float = math.inf) -> None:
        super().__init__(index, label)
        self.check, self.start, self.end = check, start, end

    def observe(self, sim: Simulation, now: float) -> None:
        if not self.start <= now <= self.end or _shadow_missing(self.check, sim):
            return
        ok, value = evaluate(self.check, sim)
        if not ok:
            self.fail(now, value)

    def finish(self, sim: Simulation, now: float) -> Outcome:
        self.observe(sim, now)
        return self.outcome(self.failed_at is None)


class NeverMonitor(Always):
    """Met when the check holds at no step from ``start`` to ``end`` (a Shadow check: no
    such step where the Shadow exists)."""

    def observe(self, sim: Simulation, now: float) -> None:
        if not self.start <= now <= self.end or _shadow_missing(self.check, sim):
            return
        ok, value = evaluate(self.check, sim)
        if ok:
            self.fail(now, value)


class PerWindow(Monitor):
    """A ``messages`` check with ``per``, judged at the end in every window of ``per``
    seconds from the start (the last closed at the end of the run; a last, shorter window
    judged by the count's maximum only). Fails at the end of the first window that breaks
    the count."""

    def __init__(self, index: int, label: str, check: MessagesCheck) -> None:
        super().__init__(index, label)
        self.check = check

    def finish(self, sim: Simulation, now: float) -> Outcome:
        per = self.check.per
        assert per is not None
        whole = max(1, math.floor(now / per + 1e-9))  # a run shorter than per is refused
        partial = now - whole * per > 1e-9
        counts = [0] * (whole + partial)
        for message in matching_messages(self.check, sim):
            counts[min(len(counts) - 1, max(0, math.floor(message.time / per + 1e-9)))] += 1
        count = self.check.count
        for window, n in enumerate(counts):
            start, end = window * per, min(now, (window + 1) * per)
            if window < whole:
                ok = _in_count(n, count)
            else:  # the shorter last window: only too many is known
                ceiling = count if isinstance(count, int) else count.max
                ok = ceiling is None or n <= ceiling
            if not ok:
                self.fail(end, {"window": [start, end], "count": n})
                return self.outcome(False)
        self.value = {"windows": len(counts), "fewest": min(counts[:whole]),
                      "most": max(counts)}
        return self.outcome(True)


class VersionGrows(Monitor):
    """The Shadow's version never goes back, and ends higher than it was first seen."""

    def __init__(self, index: int, label: str, thing: str) -> None:
        super().__init__(index, label)
        self.thing = thing
        self.first: int | None = None
        self.last: int | None = None

    def _version(self, sim: Simulation) -> int | None:
        document = sim.shadow(self.thing)
        return None if document is None else int(document["version"])

    def observe(self, sim: Simulation, now: float) -> None:
        version = self._version(sim)
        if version is None:
            return
        if self.last is not None and version < self.last:
            self.fail(now, {"version": version, "before": self.last})
        if self.first is None:
            self.first = version
        self.last = version

    def finish(self, sim: Simulation, now: float) -> Outcome:
        self.observe(sim, now)
        if self.first is None or self.last is None or self.last <= self.first:
            self.fail(now, {"first": self.first, "last": self.last})
        return self.outcome(self.failed_at is None)


class _Run:
    """One ordered stream of observations for a :class:`MonotonicMonitor`: the last number
    seen for each ``per`` value, the ``per`` values already left, and the first violation
    (when, and what was seen)."""

    def __init__(self) -> None:
        self.last: dict[str, Any] = {}  # per value (as canonical JSON) -> last number
        self.current: str | None = None
        self.left: set[str] = set()
        self.latest: Any = MISSING
        self.violation: tuple[float, Any] | None = None

    def see(self, now: float, value: Any, per: Any) -> None:
        if value is MISSING or self.violation is not None:
            return
        if isinstance(value, bool) or not isinstance(value, int | float):
            self.violation = (now, {"not a number": value})
            return
        # no per value: outside every run (a reading without a boot id), judged on its own
        key = "" if per is MISSING else json.dumps(per, sort_keys=True)
        shown = None if per is MISSING else per
        if key and key != self.current:
            if key in self.left:
                self.violation = (now, {"value": value, "back to": shown})
                return
            if self.current is not None:
                self.left.add(self.current)
            self.current = key
        before = self.last.get(key)
        if before is not None and value < before:
            self.violation = (now, {"value": value, "before": before, "per": shown})
            return
        self.last[key] = self.latest = value


class MonotonicMonitor(Monitor):
    """A number in the Shadow never goes back (:class:`~harness.scenarios.schema.Monotonic`).
    Two streams are judged, each in its own order: the Shadow as read at every step (every
    rig can), and at the end every ``/update/documents`` message the rig saw (each update's
    whole new state, so a step back shorter than a step is caught wherever those messages
    are visible). The earlier violation is the one reported."""

    def __init__(self, index: int, label: str, monotonic: Monotonic) -> None:
        super().__init__(index, label)
        self.monotonic = monotonic
        named = f"/name/{monotonic.name}" if monotonic.name else ""
        self.topic = f"$aws/things/{monotonic.thing}/shadow{named}/update/documents"
        self.steps = _Run()

    def _see(self, run: _Run, now: float, document: Any) -> None:
        per = self.monotonic.per
        run.see(now, at_path(document, self.monotonic.path),
                MISSING if per is None else at_path(document, per))

    def observe(self, sim: Simulation, now: float) -> None:
        document = shadow_document(sim, self.monotonic.thing, self.monotonic.name)
        if document is not None:
            self._see(self.steps, now, document)

    def finish(self, sim: Simulation, now: float) -> Outcome:
        self.observe(sim, now)
        updates = _Run()
        for message in sim.messages(self.topic):
            current = _json(message.payload)
            if isinstance(current, dict) and isinstance(current.get("current"), dict):
                self._see(updates, message.time, current["current"])
        violations = [run.violation for run in (self.steps, updates) if run.violation]
        if violations:
            self.fail(*min(violations, key=lambda violation: violation[0]))
        elif self.steps.latest is MISSING and updates.latest is MISSING:
            self.fail(now, MISSING)  # never seen: nothing was judged
        else:
            self.value = self.steps.latest if self.steps.latest is not MISSING \
                else updates.latest
        return self.outcome(self.failed_at is None)


class AtEnd(Monitor):
    def __init__(self, index: int, label: str, check: Check) -> None:
        super().__init__(index, label)
        self.check = check

    def finish(self, sim: Simulation, now: float) -> Outcome:
        ok, self.value = evaluate(self.check, sim)
        if not ok:
            self.fail(now, self.value)
        return self.outcome(ok)


def label(expectation: Expectation) -> str:
    """What an outcome calls its expectation: the ``description`` if it has one; in words
    for the richer forms (:mod:`harness.scenarios.wording`); else its JSON."""
    if expectation.description:
        return expectation.description
    return sentence(expectation) if is_richer(expectation) else older_label(expectation)


def monitor(index: int, expectation: Expectation, thing: str, factor: float = 1.0) -> Monitor:
    """The monitor of one expectation (``thing``: whose Shadow ``version grows`` watches;
    ``factor`` stretches ``within`` deadlines on slower rigs)."""
    text = label(expectation)
    if expectation.never is not None:
        return NeverMonitor(index, text, expectation.never.check, *expectation.window)
    if expectation.monotonic is not None:
        return MonotonicMonitor(index, text, expectation.monotonic)
    if expectation.always == VERSION_GROWS:
        return VersionGrows(index, text, thing)
    if isinstance(expectation.always, Check):
        return Always(index, text, expectation.always, *expectation.window)
    check = expectation.check
    assert check is not None
    if expectation.within is not None:
        return Within(index, text, check, expectation.within * factor, expectation.after or 0.0)
    if check.messages is not None and check.messages.per is not None:
        return PerWindow(index, text, check.messages)
    return AtEnd(index, text, check)
