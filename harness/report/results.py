"""A scenario run's results: the verdicts and what happened over time, as one JSON file.

:class:`RunRecorder` watches a run (the runner calls it after every stop) and collects, per
stop, the air the scenario gave the sensor (the truth), what the local Shadow reported
(temperature, pressure, humidity, rain probability and prediction, message, sequence) and the
Shadow's version; at the end, every reading the device published and the message count per
topic. :class:`RunResult` is that record with the expectations' outcomes; it is what the
report, the JUnit file and ``harness compare`` read (``results.json``).
"""

from __future__ import annotations

import dataclasses
import json
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.function_failures import FunctionFailure
from harness.rigs.base import Rig, RigSession
from harness.scenarios.environment import air_source
from harness.scenarios.schema import DEFAULT_THING, Scenario

FORMAT = "gg-harness-results/1"
REPORTED_FIELDS = ("temperature", "pressure", "humidity", "rain_probability",
                   "rain_prediction", "message", "sequence")
READINGS_TOPIC = "bme680/readings"


@dataclass
class Sample:
    """The state at one stop of the run (``t``: scenario seconds)."""

    t: float
    air: dict[str, float] | None  # what the scenario says the air is (the truth)
    reported: dict[str, Any]  # the local Shadow's reported fields (REPORTED_FIELDS)
    version: int | None  # the local Shadow's version (None: no Shadow)


@dataclass
class Reading:
    """A reading the device published on ``bme680/readings`` (values as the sensor read
    them, next to the CPU; ``None`` for a failed read)."""

    t: float
    sequence: int | None
    temperature: float | None
    pressure: float | None
    humidity: float | None
    message: str | None


@dataclass
class OutcomeRecord:
    index: int
    label: str
    met: bool
    failed_at: float | None
    value: Any


@dataclass
class RunResult:
    scenario: str
    file: str | None
    rig: str
    seed: int
    duration: float
    passed: bool
    outcomes: list[OutcomeRecord]
    samples: list[Sample] = field(default_factory=list)
    readings: list[Reading] = field(default_factory=list)
    messages: dict[str, int] = field(default_factory=dict)  # topic -> count
    rain: list[tuple[float, float]] = field(default_factory=list)  # truth: rainy intervals
    wall_seconds: float = 0.0
    #: what the core refused or could not deliver, with how often: messages that stopped on
    #: the way (client device auth, no bridge mapping, no router subscription) and the core's
    #: own ERROR lines (a greengrasssdk local Shadow call on a V2 core, ...)
    problems: dict[str, int] = field(default_factory=dict)
    #: where every message went, counted after the session closed: on the broker rig what
    #: devices published (received, delivered to the core, dropped by where); per function
    #: the core's counters (received, completed, errors, timeouts, dropped because the queue
    #: was full or the core stopped)
    delivery: dict[str, int] = field(default_factory=dict)
    #: the Lambda failures the scenario did not expect (each fails the run), with the
    #: function's last log lines
    function_failures: list[FunctionFailure] = field(default_factory=list)
    format: str = FORMAT

    def to_json(self) -> str:
        return json.dumps(dataclasses.asdict(self), indent=1, default=repr) + "\n"

    def write(self, path: str | Path) -> Path:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(self.to_json())
        return path

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RunResult:
        if data.get("format") != FORMAT:
            raise ValueError(f"not a harness results file (format {data.get('format')!r}, "
                             f"expected {FORMAT!r})")
        return cls(
            scenario=data["scenario"], file=data.get("file"), rig=data["rig"],
            seed=data["seed"], duration=data["duration"], passed=data["passed"],
            outcomes=[OutcomeRecord(**o) for o in data["outcomes"]],
            samples=[Sample(**s) for s in data["samples"]],
            readings=[Reading(**r) for r in data["readings"]],
            messages=dict(data["messages"]),
            rain=[(float(a), float(b)) for a, b in data.get("rain", [])],
            wall_seconds=data.get("wall_seconds", 0.0),
            problems={str(k): int(v) for k, v in (data.get("problems") or {}).items()},
            delivery={str(k): int(v) for k, v in (data.get("delivery") or {}).items()},
            function_failures=[
                FunctionFailure(**{**f, "log_tail": tuple(f.get("log_tail") or ())})
                for f in data.get("function_failures") or []])

    @classmethod
    def read(cls, path: str | Path) -> RunResult:
        """A results file, or the ``results.json`` in a report folder."""
        path = Path(path)
        if path.is_dir():
            path = path / "results.json"
        try:
            return cls.from_dict(json.loads(path.read_text()))
        except FileNotFoundError:
            raise FileNotFoundError(f"no results at {path}: write them with "
                                    "python -m harness run ... --report DIR") from None

    @property
    def failures(self) -> list[OutcomeRecord]:
        return [outcome for outcome in self.outcomes if not outcome.met]


class RunRecorder:
    """Collects a run's :class:`Sample` list (call it after each stop) and, at
    :meth:`finish`, the readings and message counts."""

    def __init__(self, scenario: Scenario, folder: Path, thing: str = DEFAULT_THING) -> None:
        self.scenario = scenario
        self.thing = thing
        self.samples: list[Sample] = []
        self.readings_seen: list[Reading] = []
        self.counts: dict[str, int] = {}
        self.problems: dict[str, int] = {}
        self.delivery: dict[str, int] = {}
        self._air = None
        if scenario.environment is not None and scenario.device is not None:
            self._air = air_source(scenario.environment,
                                   cpu_temperature=scenario.cpu_temperature, folder=folder)

    def __call__(self, session: RigSession, now: float) -> None:
        document = session.shadow(self.thing)
        reported = ((document or {}).get("state") or {}).get("reported") or {}
        air = None
        if self._air is not None:
            air = {k: round(float(v), 4) for k, v in self._air(now).items()
                   if k in ("temperature", "pressure", "humidity")}
        self.samples.append(Sample(
            t=round(now, 6), air=air,
            reported={k: reported[k] for k in REPORTED_FIELDS if k in reported},
            version=None if document is None else int(document["version"])))

    def finish(self, session: RigSession) -> None:
        """The end of the run: take the readings and message counts."""
        self.readings_seen = self.readings(session)
        self.counts = self.message_counts(session)
        self.problems = platform_problems(session)

    def closed(self, session: RigSession) -> None:
        """After the session closed: the final delivery counts (what closing dropped too)."""
        self.delivery = delivery_counts(session)

    def readings(self, session: RigSession) -> list[Reading]:
        found = []
        for message in session.messages(READINGS_TOPIC):
            try:
                body = json.loads(message.payload)
            except ValueError:
                continue
            if not isinstance(body, dict):
                continue
            found.append(Reading(
                t=round(message.time, 6), sequence=_number(body.get("sequence"), int),
                temperature=_number(body.get("temperature")),
                pressure=_number(body.get("pressure")),
                humidity=_number(body.get("humidity")),
                message=body.get("message") if isinstance(body.get("message"), str) else None))
        return found

    def message_counts(self, session: RigSession) -> dict[str, int]:
        counts: dict[str, int] = {}
        for message in session.messages():
            counts[message.topic] = counts.get(message.topic, 0) + 1
        return dict(sorted(counts.items()))


def record_run(path: str | Path, *, rig: Rig | None = None,
               group: str | Path | None = None, observers: Sequence[Any] = (),
               scenario: Scenario | None = None) -> RunResult:
    """Run the scenario file at ``path`` on ``rig`` (sim by default) and return its
    :class:`RunResult` (verdicts and everything recorded on the way). ``scenario``: the
    file already loaded, when the caller has it."""
    from harness.scenarios.loading import load_scenario
    from harness.scenarios.runner import run_scenario
    from harness.simulation import DEFAULT_GROUP

    path = Path(path)
    if scenario is None:
        scenario = load_scenario(path)
    recorder = RunRecorder(scenario, path.parent)
    started = time.perf_counter()
    result = run_scenario(scenario, group or DEFAULT_GROUP, folder=path.parent, rig=rig,
                          observers=[recorder, *observers])
    return RunResult(
        scenario=scenario.name, file=str(path), rig=result.rig, seed=scenario.seed,
        duration=scenario.duration, passed=result.passed,
        outcomes=[OutcomeRecord(o.index, o.label, o.met, o.failed_at, _plain(o.value))
                  for o in result.outcomes],
        samples=recorder.samples, readings=recorder.readings_seen, messages=recorder.counts,
        problems=recorder.problems, delivery=recorder.delivery,
        function_failures=list(result.function_failures),
        rain=[(interval.start, interval.end) for interval in scenario.truth.rain]
        if scenario.truth else [],
        wall_seconds=round(time.perf_counter() - started, 3))


#: distinct problems a results file keeps (the rest are counted under one line)
MAX_PROBLEMS = 50


#: the core's per-function counters a run's delivery counts keep
_FUNCTION_COUNTERS = ("received", "completed", "errors", "timeouts", "dropped_queue_full",
                      "dropped_at_stop")


def delivery_counts(session: RigSession) -> dict[str, int]:
    """Where messages went (see :attr:`RunResult.delivery`): the broker rig's
    ``message_counts()`` when the session has one, and each function's counters when the
    session's core is a simulation."""
    counts: dict[str, int] = {}
    message_counts = getattr(session, "message_counts", None)
    if message_counts is not None:
        found = message_counts()
        counts["device messages received"] = found.received
        counts["delivered to the core"] = found.delivered
        for where, dropped in found.dropped.items():
            counts[f"dropped: {where}"] = dropped
        counts["core backlog peak"] = found.backlog_peak
    sim = getattr(session, "sim", None)
    for name in getattr(getattr(sim, "core", None), "functions", {}):
        stats = session.stats(name)
        for counter in _FUNCTION_COUNTERS:
            counts[f"{name}: {counter.replace('_', ' ')}"] = int(getattr(stats, counter))
    return counts


def platform_problems(session: RigSession) -> dict[str, int]:
    """What the core refused or could not deliver during a run, by reason, with counts:
    each message that stopped on the way (its ``note``: ``<source> on <topic>: <where>``)
    and each distinct ERROR line of the core's log (its text without the time stamp)."""
    counts: dict[str, int] = {}
    for message in session.messages():
        note = getattr(message, "note", "")
        if note:
            key = f"{message.source} on {message.topic}: {note}"
            counts[key] = counts.get(key, 0) + 1
    for line in session.core_log():
        _, marker, text = line.partition("[ERROR]-")
        if marker:
            counts[text] = counts.get(text, 0) + 1
    if len(counts) > MAX_PROBLEMS:
        kept = dict(sorted(counts.items(), key=lambda item: -item[1])[:MAX_PROBLEMS - 1])
        rest = sum(counts.values()) - sum(kept.values())
        kept[f"{len(counts) - len(kept)} other problems"] = rest
        counts = kept
    return counts


def _plain(value: Any) -> Any:
    """A JSON-able copy of an outcome's value (``<missing>`` for a missing one)."""
    try:
        return json.loads(json.dumps(value, default=repr))
    except (TypeError, ValueError):
        return repr(value)


def _number(value: Any, kind: type = float) -> Any:
    """A reading's field as ``kind``, or None when it is not a number ``kind`` can hold (a
    published reading may say anything: ``Infinity``, NaN, a 400-digit integer)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    try:
        return kind(value)
    except (OverflowError, ValueError):
        return None
