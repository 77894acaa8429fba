"""A scenario run's results: the verdicts and what happened over time, as one JSON file.

:class:`RunRecorder` watches a run (the runner calls it after every stop) and collects, per
stop, the air the scenario gave the sensor (the truth), what the main local Shadow reported
(temperature, pressure, humidity, rain probability and prediction, message, sequence) and its
version, and, for every Shadow the scenario touches (named in its expectations or stimuli, or
updated during the run), its numeric reported fields and version over time; at the end, every
reading published on ``bme680/readings``, the message count per topic and the last lines of
each function's log (and the core's and the device's). :class:`RunResult` is that record
with the expectations' outcomes (each with a readable sentence, see
:mod:`harness.report.sentences`); it is what the report, the JUnit file and
``harness compare`` read (``results.json``).
"""

from __future__ import annotations

import dataclasses
import json
import re
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from harness.function_failures import FunctionFailure
from harness.rigs.base import Rig, RigSession, RigUnavailable
from harness.scenarios.environment import air_source
from harness.scenarios.schema import DEFAULT_THING, Scenario

FORMAT = "gg-harness-results/1"
REPORTED_FIELDS = ("temperature", "pressure", "humidity", "rain_probability",
                   "rain_prediction", "message", "sequence")
READINGS_TOPIC = "bme680/readings"  # where the scenario's device program publishes
#: numeric (or true/false) reported fields kept per touched Shadow; the rest are left out
MAX_SHADOW_FIELDS = 12
#: the stretches of a run its message traffic is counted in, per topic
TRAFFIC_BINS = 120
#: log lines kept per function (the last ones)
MAX_LOG_LINES = 400
#: a Shadow's topics: ``$aws/things/<thing>/shadow[/name/<name>]/<operation>``
SHADOW_TOPIC = re.compile(r"^\$aws/things/([^/]+)/shadow(?:/name/([^/]+))?/(.+)$")


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
class ShadowSample:
    """A touched Shadow at one time: its numeric and true/false reported fields (dotted
    paths below ``state.reported``) and its version (None: no Shadow then)."""

    t: float
    reported: dict[str, float | int | bool]
    version: int | None


@dataclass
class ShadowTrack:
    """A Shadow the run touched (``name``: a named Shadow's, None for the classic one) and
    its :class:`ShadowSample` list (at every stop, or at every update the rig saw)."""

    thing: str
    name: str | None = None
    samples: list[ShadowSample] = field(default_factory=list)

    @property
    def key(self) -> str:
        """``thing`` or ``thing/name``."""
        return self.thing if self.name is None else f"{self.thing}/{self.name}"

    @property
    def title(self) -> str:
        """How a report names it: ``the greenhouse Shadow``, ``the "config" Shadow of
        greenhouse``."""
        if self.name is None:
            return f"the {self.thing} Shadow"
        return f'the "{self.name}" Shadow of {self.thing}'

    @property
    def fields(self) -> list[str]:
        """Its reported fields, in the order they first appeared."""
        seen: dict[str, None] = {}
        for sample in self.samples:
            seen.update(dict.fromkeys(sample.reported))
        return list(seen)


@dataclass
class LogRecord:
    """The last lines of a log: a function's (``kind`` ``function``), the core's own
    (``core``) or the scenario device program's (``device``); ``total``: its length."""

    name: str
    kind: str
    total: int
    lines: list[str]


@dataclass
class OutcomeRecord:
    index: int
    label: str
    met: bool
    failed_at: float | None
    value: Any
    #: the expectation as a sentence ("Within 30 s, the weather-station Shadow's reported
    #: temperature is 15 ± 0.1."); empty when no sentence could be made
    sentence: str = ""


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
    #: per topic, its messages in each of :data:`TRAFFIC_BINS` equal stretches of the run
    traffic: dict[str, list[int]] = field(default_factory=dict)
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
    #: the Shadow whose reported values and version ``samples`` hold
    thing: str = DEFAULT_THING
    #: every Shadow the scenario touched (its expectations and stimuli name it, or the run
    #: updated it), with its reported values over time
    shadows: list[ShadowTrack] = field(default_factory=list)
    #: the last lines of each function's log, the core's and the device's
    logs: list[LogRecord] = field(default_factory=list)
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
            traffic={str(k): [int(n) for n in v] for k, v in (data.get("traffic") or {}).items()},
            rain=[(float(a), float(b)) for a, b in data.get("rain", [])],
            wall_seconds=data.get("wall_seconds", 0.0),
            problems={str(k): int(v) for k, v in (data.get("problems") or {}).items()},
            delivery={str(k): int(v) for k, v in (data.get("delivery") or {}).items()},
            thing=data.get("thing", DEFAULT_THING),
            shadows=[ShadowTrack(track["thing"], track.get("name"),
                                 [ShadowSample(**s) for s in track["samples"]])
                     for track in data.get("shadows") or []],
            logs=[LogRecord(**log) for log in data.get("logs") or []],
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
    """Collects a run's :class:`Sample` list and the touched Shadows' samples (call it after
    each stop) and, at :meth:`finish`, the readings, message counts and logs.

    ``shadows``: the Shadows (thing, name) to sample at every stop (by default those the
    scenario names, :func:`touched_shadows`); Shadows found updated only at the end are
    followed through their ``update/documents`` messages. ``thing``: whose Shadow
    ``samples`` hold (by default the station's when the scenario names it or names none,
    else the first it names). ``logs``: the functions whose logs to keep."""

    def __init__(self, scenario: Scenario, folder: Path, thing: str | None = None, *,
                 shadows: Iterable[tuple[str, str | None]] | None = None,
                 logs: Iterable[str] = ()) -> None:
        self.scenario = scenario
        named = touched_shadows(scenario) if shadows is None else list(shadows)
        if thing is None:
            classic = [t for t, name in named if name is None]
            thing = DEFAULT_THING if not classic or DEFAULT_THING in classic else classic[0]
        self.thing = thing
        self.tracks: dict[tuple[str, str | None], ShadowTrack] = {
            key: ShadowTrack(*key) for key in dict.fromkeys(named)}
        self.functions = list(logs)
        self.samples: list[Sample] = []
        self.readings_seen: list[Reading] = []
        self.counts: dict[str, int] = {}
        self.problems: dict[str, int] = {}
        self.delivery: dict[str, int] = {}
        self.traffic: dict[str, list[int]] = {}
        self.logs: list[LogRecord] = []
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
        for (thing, name), track in self.tracks.items():
            found = document if (thing, name) == (self.thing, None) \
                else _shadow_document(session, thing, name)
            track.samples.append(shadow_sample(now, found))

    def finish(self, session: RigSession) -> None:
        """The end of the run: take the readings, message counts, logs and the Shadows
        updated but not followed."""
        self.readings_seen = self.readings(session)
        self.counts = self.message_counts(session)
        self.traffic = traffic(session.messages(), self.scenario.duration)
        self.problems = platform_problems(session)
        self.logs = self.collect_logs(session)
        for (thing, name), samples in updated_shadows(session.messages()).items():
            track = self.tracks.get((thing, name))
            if track is None:
                self.tracks[(thing, name)] = ShadowTrack(thing, name, samples)
            elif samples and all(sample.version is None for sample in track.samples):
                track.samples = samples  # updated, but the session could not read it

    def closed(self, session: RigSession) -> None:
        """After the session closed: the final delivery counts (what closing dropped too)."""
        self.delivery = delivery_counts(session)

    @property
    def shadows(self) -> list[ShadowTrack]:
        """The touched Shadows, those the scenario names first."""
        return list(self.tracks.values())

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

    def collect_logs(self, session: RigSession) -> list[LogRecord]:
        """The last :data:`MAX_LOG_LINES` lines of each function's log, then the device
        program's (when the scenario has one) and the core's own."""
        functions = self.functions
        if not functions:  # a simulated core knows its functions
            sim = getattr(session, "sim", None)
            functions = list(getattr(getattr(sim, "core", None), "functions", {}))
        sources = [(name, "function") for name in functions]
        if self.scenario.device is not None:
            sources.append((f"device:{self.scenario.device.thing}", "device"))
        records = []
        for name, kind in sources:
            try:
                lines = list(session.logs(name))
            except (RigUnavailable, LookupError, OSError):  # a log this rig cannot read
                continue
            records.append(LogRecord(name, kind, len(lines), lines[-MAX_LOG_LINES:]))
        try:
            core = list(session.core_log())
        except (RigUnavailable, OSError):
            core = None
        if core is not None:
            records.append(LogRecord("core", "core", len(core), core[-MAX_LOG_LINES:]))
        return records


def traffic(messages: Iterable[Any], duration: float) -> dict[str, list[int]]:
    """Per topic (sorted), how many messages came in each of :data:`TRAFFIC_BINS` equal
    stretches of a run of ``duration`` seconds (the last one takes the end itself)."""
    found: dict[str, list[int]] = {}
    width = duration / TRAFFIC_BINS if duration > 0 else 1.0
    for message in messages:
        counts = found.setdefault(message.topic, [0] * TRAFFIC_BINS)
        counts[min(max(int(message.time // width), 0), TRAFFIC_BINS - 1)] += 1
    return dict(sorted(found.items()))


def touched_shadows(scenario: Scenario) -> list[tuple[str, str | None]]:
    """The Shadows (thing, name or None) the scenario's expectations and Shadow stimuli
    name, in the order they are named: every part of them with a ``thing`` (a Shadow check,
    ``never``, ``monotonic``, ``in_sync``, a desired-state change, a delete; a ``name`` beside
    it is a named Shadow's), whatever kind it is."""
    found: dict[tuple[str, str | None], None] = {}
    parts: list[Any] = list(scenario.expectations)
    parts += [s.desired or s.delete_shadow for s in scenario.stimuli
              if s.desired is not None or s.delete_shadow is not None]
    for part in parts:
        for model in _models(part):
            thing = getattr(model, "thing", None)
            if isinstance(thing, str) and thing:
                name = getattr(model, "name", None)
                found[(thing, name if isinstance(name, str) and name else None)] = None
    return list(found)


def _models(model: Any) -> Iterable[BaseModel]:
    """``model`` and every model inside it (fields, lists, dicts)."""
    if isinstance(model, BaseModel):
        yield model
        for name in type(model).model_fields:
            yield from _models(getattr(model, name))
    elif isinstance(model, list | tuple):
        for item in model:
            yield from _models(item)
    elif isinstance(model, dict):
        for item in model.values():
            yield from _models(item)


def _shadow_document(session: RigSession, thing: str, name: str | None
                     ) -> dict[str, Any] | None:
    """A Shadow as the session reads it (None when it has none, or cannot read a named
    Shadow)."""
    if name is None:
        return session.shadow(thing)
    try:
        return session.shadow(thing, name)  # type: ignore[call-arg]
    except TypeError:  # a session that reads classic Shadows only: its core's, if simulated
        sim = getattr(session, "sim", None)
        return None if sim is None else sim.shadow(thing, name)


def shadow_sample(t: float, document: dict[str, Any] | None) -> ShadowSample:
    """A :class:`ShadowSample` of ``document`` (None: no Shadow) at ``t``."""
    if document is None:
        return ShadowSample(round(t, 6), {}, None)
    reported = ((document.get("state") or {}).get("reported")) or {}
    version = document.get("version")
    return ShadowSample(round(t, 6), _plottable(reported),
                        version if isinstance(version, int) else None)


def _plottable(reported: Any, prefix: str = "", depth: int = 3) -> dict[str, float | int | bool]:
    """The numbers and true/false values in ``reported`` by dotted path (at most
    :data:`MAX_SHADOW_FIELDS`, ``depth`` levels down)."""
    found: dict[str, float | int | bool] = {}
    if not isinstance(reported, dict):
        return found
    for key, value in reported.items():
        if len(found) >= MAX_SHADOW_FIELDS:
            break
        path = f"{prefix}{key}"
        if isinstance(value, bool) or (isinstance(value, int | float)
                                       and _number(value) is not None):
            found[path] = value
        elif isinstance(value, dict) and depth > 1:
            inner = _plottable(value, f"{path}.", depth - 1)
            found.update(list(inner.items())[:MAX_SHADOW_FIELDS - len(found)])
    return found


def updated_shadows(messages: Iterable[Any]) -> dict[tuple[str, str | None], list[ShadowSample]]:
    """The Shadows the messages show updated or deleted, each with a sample per
    ``update/documents`` message (its new state) and per accepted delete (no Shadow)."""
    found: dict[tuple[str, str | None], list[ShadowSample]] = {}
    for message in messages:
        match = SHADOW_TOPIC.match(message.topic)
        if match is None:
            continue
        thing, name, operation = match.groups()
        if operation not in ("update/accepted", "update/documents", "delete/accepted"):
            continue
        samples = found.setdefault((thing, name), [])
        if operation == "update/documents":
            try:
                current = json.loads(message.payload).get("current")
            except (ValueError, AttributeError):
                continue
            if isinstance(current, dict):
                samples.append(shadow_sample(message.time, current))
        elif operation == "delete/accepted":
            samples.append(ShadowSample(round(message.time, 6), {}, None))
    return found


def function_names(group: Any) -> list[str]:
    """The functions of a group (a file or a loaded group); none when it cannot be read."""
    from harness.group import Group, load_group

    if isinstance(group, str | Path):
        try:
            group = load_group(group)
        except (OSError, ValueError):  # a bad group file: the run itself says what is wrong
            return []
    return [function.name for function in group.functions] if isinstance(group, Group) else []


def record_run(path: str | Path, *, rig: Rig | None = None,
               group: str | Path | None = None, observers: Sequence[Any] = (),
               scenario: Scenario | None = None) -> RunResult:
    """Run the scenario file at ``path`` on ``rig`` (sim by default, of ``group``: the
    station's by default) and return its :class:`RunResult` (verdicts and everything
    recorded on the way). ``scenario``: the file already loaded, when the caller has it."""
    from harness.report.sentences import sentence
    from harness.scenarios.loading import load_scenario
    from harness.scenarios.runner import run_scenario
    from harness.simulation import DEFAULT_GROUP

    path = Path(path)
    if scenario is None:
        scenario = load_scenario(path)
    group = group or DEFAULT_GROUP
    recorder = RunRecorder(scenario, path.parent,
                           logs=function_names(getattr(rig, "group", group)))
    started = time.perf_counter()
    result = run_scenario(scenario, group, folder=path.parent, rig=rig,
                          observers=[recorder, *observers])
    return RunResult(
        scenario=scenario.name, file=str(path), rig=result.rig, seed=scenario.seed,
        duration=scenario.duration, passed=result.passed,
        outcomes=[OutcomeRecord(o.index, o.label, o.met, o.failed_at, _plain(o.value),
                                sentence(scenario.expectations[o.index])
                                if o.index < len(scenario.expectations) else "")
                  for o in result.outcomes],
        samples=recorder.samples, readings=recorder.readings_seen, messages=recorder.counts,
        traffic=recorder.traffic,
        problems=recorder.problems, delivery=recorder.delivery,
        function_failures=list(result.function_failures),
        rain=[(interval.start, interval.end) for interval in scenario.truth.rain]
        if scenario.truth else [],
        wall_seconds=round(time.perf_counter() - started, 3),
        thing=recorder.thing, shadows=recorder.shadows, logs=recorder.logs)


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
