"""The scenario file format: a pydantic model of ``scenarios/*.yaml``.

A scenario is what the sensor sees over time, what else happens (stimuli, faults) and what
must follow (expectations)::

    name: steady weather
    description: steady air; the Shadow reports it, compensated
    group: ../lambdas/group.yaml  # optional: the group it was written for (see below)
    duration: 120            # seconds of simulated time
    seed: 0
    environment:             # exactly one of points, profile, trace
      profile: {steady: {temperature: 15, pressure: 1010, humidity: 50}}
    device: {thing: bme680-sensor, period: 5}
    faults:
      - {at: 30, sensor: {bus_error: {errno: 121}}, transactions: 3}
      - {at: 40, broker_disconnect: {}, duration: 10}
      - {at: 50, core_restart: {downtime: 5}}
      - {at: 60, lambda_timeout: {function: republish}, invocations: 2}
    allow_failures:          # Lambda failures this scenario expects (any other fails it)
      - {function: republish, kind: handler_error}
    stimuli:
      - {at: 60, publish: {source: bme680-sensor, topic: bme680/readings, payload: "{"}}
      - {at: 70, desired: {thing: weather-station, state: {period: 10}}}
      - {at: 80, delete_shadow: {thing: weather-station}}
    expectations:
      - within: 30
        shadow: {path: state.reported.temperature, approx: 15, tolerance: 0.1}
      - always: version grows
      - never: {shadow_path: state.reported.temperature, is_null: true}
      - monotonic: {path: state.reported.sequence, per: state.reported.boot_id}
      - messages: {topic: hello/world, count: {min: 1}}
      - log: {function: republish, contains: Invalid reading, count: {min: 1}}
      - stats: {function: republish, field: dropped_queue_full, equals: 0}

``group:`` is the group file the scenario was written for, relative to the scenario file;
its Lambda modules are found next to that file. Without it, the scenario runs on the group
given on the command line (``--group``; ``--gg-group`` under pytest) or, failing that, the
weather station's ``lambdas/group.yaml``. Naming a different group there than the scenario
does is an error (:mod:`harness.scenarios.group_choice`).

Richer expectations::

      - always: {shadow: {path: state.reported.temperature, ge: 10, lt: 30}}
        after: 60                # only the steps from 60 s ...
        until: 300               # ... to 300 s (both included) are judged
      - never: {messages: {topic: alerts/humidity, count: {min: 1}}}
        until: 30
      - shadow: {thing: weather-station, name: config, path: state.reported.mode,
                 matches: "^(eco|full)$"}      # a named shadow (no name: the classic one)
      - messages:
          topic: bme680/readings
          count: {min: 1}
          per: 60                # in every 60 s window of the run
          where:                 # all of them hold; a single condition may be a mapping
            - {path: message, equals: Success}
            - {path: temperature, approx: 15, tolerance: 0.5}
            - {path: timestamp, ge: {since_start: 0}}
      - messages: {topic: raw/frames, count: 1, payload: {hex: "00 ff 10", length: 3}}

- ``always: {<check>}`` holds at every step, ``never: {<check>}`` at none (a Shadow check:
  at the steps where that Shadow exists); ``after``/``until`` limit both to a window of
  scenario seconds (the run stops at both). ``never`` also keeps its older form
  ``{shadow_path, is_null | equals}``.
- A condition (``where:``, a ``shadow:`` check) tests the value at a dotted ``path`` with
  ``equals`` (alone), ``approx`` (+ ``tolerance``), ``gt``/``ge``/``lt``/``le``,
  ``contains`` (text, list item or object key), ``matches`` (a regular expression,
  ``re.search``), ``is_null``, ``present``, ``absent``; several tests must all hold. A
  condition no value could pass (``ge: 5, lt: 3``, ``matches`` with a number test) or a bad
  pattern is refused when the file is loaded.
- ``payload:`` checks a message's bytes as they are (payloads that are not JSON): ``hex`` or
  ``base64`` (the whole payload), ``contains_hex``, ``length``. A stimulus sends such bytes
  with ``payload_hex`` or ``payload_base64`` instead of ``payload``.
- ``per: s`` on a bare ``messages`` check: the count holds in every window ``[0, s)``,
  ``[s, 2s)``, ... (the last closes at the end of the run). A last window shorter than
  ``s`` is judged by the count's maximum only (too many in less time is still too many).

Time on every rig: every time the harness records (``at``, ``within``, ``after``,
``until``, a message's time, the steps) is scenario seconds since the start. Times a Lambda
or the Shadow writes (``time.time()``, ``metadata`` stamps, a reading's ``timestamp``) are
the core clock's epoch seconds: the simulated clock on the sim rig (it starts at
2026-01-01T00:00:00Z), the wall clock at the session's start on the broker rig (then
running at the session's compressed pace; the device program stamps with the same clock),
the wall clock on the Pi. Compare them with the time tests, which each rig resolves
against its own clock: ``{since_start: s}`` as a bound of ``approx``/``gt``/``ge``/``lt``/
``le`` (the core clock's time ``s`` seconds into the scenario), ``within_seconds_of_now: n``
and ``after_start: true`` (not before the start, to the whole second, as Shadow stamps
are). Never write an epoch number in a scenario: it holds on one rig only.

Environment temperatures are the AIR's (see :mod:`harness.scenarios.environment` for how the
sensor, next to the CPU, sees them); a recorded trace is replayed as the sensor measured it.
Checks without ``within``/``always``/``never`` are judged once, at the end of the run.

Every number is finite and every field within the documented limits of
:mod:`harness.limits` (times at most a week, steps, readings and messages of a run bounded,
payloads at most 128 KiB), each stated in its type's description
(:mod:`harness.scenarios.field_types`); a file beyond them is refused when it is loaded.
"""

from __future__ import annotations

import json
import math
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Discriminator,
    Field,
    PrivateAttr,
    Tag,
    model_validator,
)

from harness.function_failures import FailureKind
from harness.group import _raise_problems, _rule_error
from harness.limits import (
    MAX_CONDITIONS,
    MAX_DURATION_S,
    MAX_EXPECTATIONS,
    MAX_FAULTS,
    MAX_INTERVALS,
    MAX_POINTS,
    MAX_STIMULI,
    MAX_TEXT,
)
from harness.scenarios.bounds import scenario_problems
from harness.scenarios.field_types import (
    Base64Bytes,
    CpuTemperature,
    DottedPath,
    Duration,
    Errno,
    FunctionName,
    HexBytes,
    Hours,
    Invocations,
    JsonValue,
    LogSource,
    NonNegativeCount,
    Payload,
    PayloadLength,
    Period,
    PublishSource,
    Regex,
    Repeat,
    Seconds,
    Seed,
    SelfHeatingOffset,
    ShadowName,
    ShadowState,
    SignedSeconds,
    Step,
    Text,
    ThingName,
    TopicName,
    Transactions,
    Window,
    decode_bytes,
)

# Numbers are finite everywhere (the models refuse inf and nan); the limits are in
# harness.limits, the field types that carry them in harness.scenarios.field_types.
NonNegative = Annotated[float, Field(ge=0)]
Positive = Annotated[float, Field(gt=0)]
DEFAULT_THING = "weather-station"


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True, allow_inf_nan=False)


def _exactly_one(model: BaseModel, fields: tuple[str, ...], what: str) -> None:
    given = [name for name in fields if getattr(model, name) is not None]
    if len(given) != 1:
        found = f"found {', '.join(given)}" if given else "found none"
        raise _rule_error(f"{what} needs exactly one of {', '.join(fields)} ({found})")


# ------------------------------------------------------------------ environment


class Point(_Model):
    """The air at ``at`` seconds; between points it changes linearly."""

    at: Seconds
    temperature: float
    pressure: Positive
    humidity: Annotated[float, Field(ge=0, le=100)]
    gas_resistance: Positive | None = None


class Steady(_Model):
    temperature: float
    pressure: Positive
    humidity: Annotated[float, Field(ge=0, le=100)]
    gas_resistance: Positive | None = None


class RainFront(_Model):
    """From ``start`` s for ``hours`` h humidity and pressure (and temperature) move linearly
    from their ``_from`` to their ``_to`` values; steady before and after."""

    start: Seconds = 0.0
    hours: Hours
    humidity_from: Annotated[float, Field(ge=0, le=100)]
    humidity_to: Annotated[float, Field(ge=0, le=100)]
    pressure_from: Positive
    pressure_to: Positive
    temperature_from: float = 15.0
    temperature_to: float | None = None  # default: temperature_from


class Profile(_Model):
    steady: Steady | None = None
    rain_front: RainFront | None = None

    @model_validator(mode="after")
    def _one(self) -> Profile:
        _exactly_one(self, ("steady", "rain_front"), "a profile")
        return self


class Environment(_Model):
    points: Annotated[list[Point], Field(min_length=1, max_length=MAX_POINTS)] | None = None
    profile: Profile | None = None
    # relative to the scenario file's folder; read and checked when the file is loaded
    trace: Annotated[str, Field(min_length=1, max_length=MAX_TEXT)] | None = None

    @model_validator(mode="after")
    def _one(self) -> Environment:
        _exactly_one(self, ("points", "profile", "trace"), "the environment")
        if self.points is not None:
            times = [point.at for point in self.points]
            if times != sorted(times):
                raise _rule_error("points must be in time order (at)")
        return self


class Device(_Model):
    thing: ThingName = "bme680-sensor"
    period: Period = 5.0


# ------------------------------------------------------------------ stimuli and faults


class Publish(_Model):
    """A message published as ``source`` (a thing, ``device:<thing>`` or ``cloud``);
    ``payload`` is sent as JSON unless it is a string (sent as is, UTF-8); bytes that are
    not text are given as ``payload_hex`` or ``payload_base64`` instead. ``repeat`` sends
    it that many times at the same instant."""

    source: PublishSource
    topic: TopicName
    payload: Payload = None
    payload_hex: HexBytes | None = None
    payload_base64: Base64Bytes | None = None
    repeat: Repeat = 1

    @model_validator(mode="after")
    def _one(self) -> Publish:
        given = [name for name in ("payload", "payload_hex", "payload_base64")
                 if name in self.model_fields_set]
        if len(given) != 1:
            found = f"found {', '.join(given)}" if given else "found none"
            raise _rule_error("a publish needs exactly one of payload, payload_hex, "
                              f"payload_base64 ({found})")
        return self

    def encoded(self) -> bytes:
        """The bytes sent: the payload as JSON (a string as UTF-8), or the bytes given."""
        if self.payload_hex is not None:
            return decode_bytes(self.payload_hex, "hex")
        if self.payload_base64 is not None:
            return decode_bytes(self.payload_base64, "base64")
        if isinstance(self.payload, str):
            return self.payload.encode()
        return json.dumps(self.payload).encode()


class DesiredState(_Model):
    """A desired-state change from the cloud: ``{"state": {"desired": state}}`` reaches the
    local Shadow of ``thing`` (as shadow sync delivers it)."""

    thing: ThingName = DEFAULT_THING
    state: ShadowState


class ShadowDelete(_Model):
    """``thing``'s local Shadow is deleted under the Lambdas' feet."""

    thing: ThingName = DEFAULT_THING


class Stimulus(_Model):
    at: Seconds
    publish: Publish | None = None
    desired: DesiredState | None = None
    delete_shadow: ShadowDelete | None = None

    @model_validator(mode="after")
    def _one(self) -> Stimulus:
        _exactly_one(self, ("publish", "desired", "delete_shadow"), "a stimulus")
        return self


class _NoParameters(_Model):
    pass


class BusErrorParameters(_Model):
    errno: Errno = 121


class WrongChipIdParameters(_Model):
    chip_id: Annotated[int, Field(ge=0, le=255)] = 0x60


class BrownOutParameters(_Model):
    unreachable: bool = False


class SelfHeatingParameters(_Model):
    offset_c: SelfHeatingOffset = 3.0
    humidity_follows: bool = True


def _fault_shorthand(value: Any) -> Any:
    """``sensor: brown_out`` is ``sensor: {brown_out: {}}``; ``{name: null}`` is ``{name: {}}``."""
    if isinstance(value, str):
        return {value: {}}
    if isinstance(value, dict):
        return {key: {} if params is None else params for key, params in value.items()}
    return value


class SensorFault(_Model):
    """One of the simulated BME680's faults (:mod:`fakes.bme680.faults`), with parameters."""

    no_device: _NoParameters | None = None
    bus_error: BusErrorParameters | None = None
    wrong_chip_id: WrongChipIdParameters | None = None
    brown_out: BrownOutParameters | None = None
    stuck_data: _NoParameters | None = None
    heater_unstable: _NoParameters | None = None
    self_heating: SelfHeatingParameters | None = None

    @model_validator(mode="after")
    def _one(self) -> SensorFault:
        _exactly_one(self, tuple(type(self).model_fields), "a sensor fault")
        return self

    @property
    def kind(self) -> str:
        return next(name for name in type(self).model_fields if getattr(self, name) is not None)


class CoreRestart(_Model):
    """The Greengrass core stops and starts again ``downtime`` s later."""

    downtime: Seconds = 5.0


class LambdaTimeout(_Model):
    """The next invocations of ``function`` hang past its timeout."""

    function: FunctionName


FAULT_KINDS = ("sensor", "broker_disconnect", "core_restart", "lambda_timeout",
               "cloud_disconnect")


class FaultSpec(_Model):
    """A fault at ``at`` s, one of:

    - ``sensor: <fault>`` on the chip, for ``duration`` s and/or ``transactions`` I2C
      transactions (open-ended when neither is given);
    - ``broker_disconnect: {}`` for ``duration`` s: the devices lose the core's broker;
    - ``core_restart: {downtime: 5}``: the core stops and starts again;
    - ``lambda_timeout: {function: republish}`` for the next ``invocations`` (1);
    - ``cloud_disconnect: {}`` for ``duration`` s: the core loses the cloud (shadow sync
      pauses; needs ``cloud: true``).
    """

    at: Seconds
    sensor: Annotated[SensorFault, BeforeValidator(_fault_shorthand)] | None = None
    broker_disconnect: _NoParameters | None = None
    core_restart: CoreRestart | None = None
    lambda_timeout: LambdaTimeout | None = None
    cloud_disconnect: _NoParameters | None = None
    duration: Seconds | None = None
    transactions: Transactions | None = None
    invocations: Invocations | None = None

    @model_validator(mode="after")
    def _shape(self) -> FaultSpec:
        _exactly_one(self, FAULT_KINDS, "a fault")
        if self.transactions is not None and self.sensor is None:
            raise _rule_error("transactions goes with a sensor fault")
        if self.invocations is not None and self.lambda_timeout is None:
            raise _rule_error("invocations goes with lambda_timeout")
        timed = self.broker_disconnect is not None or self.cloud_disconnect is not None
        if self.duration is not None and self.sensor is None and not timed:
            raise _rule_error("duration goes with a sensor fault, broker_disconnect or "
                              "cloud_disconnect")
        if timed and self.duration is None:
            raise _rule_error(f"{self.kind} needs a duration (seconds)")
        return self

    @property
    def kind(self) -> str:
        return next(name for name in FAULT_KINDS if getattr(self, name) is not None)


class AllowedFailure(_Model):
    """Lambda failures a scenario expects (see :mod:`harness.function_failures`): of
    ``function`` (any function when left out) and of ``kind`` (``import_error``,
    ``handler_error``, ``timeout``, ``refused``, or a list of them; any kind when left out).
    A run fails on every other failure, except the timeouts of a function the scenario
    itself stalls (``lambda_timeout``), which are expected without saying."""

    function: FunctionName | None = None
    kind: FailureKind | Annotated[list[FailureKind], Field(min_length=1, max_length=4)] \
        | None = None

    @model_validator(mode="after")
    def _shape(self) -> AllowedFailure:
        if self.function is None and self.kind is None:
            raise _rule_error("an allowed failure needs a function, a kind or both")
        return self

    @property
    def kinds(self) -> tuple[str, ...]:
        return () if self.kind is None else (self.kind,) if isinstance(self.kind, str) \
            else tuple(self.kind)


# ------------------------------------------------------------------ what a rig must offer

#: What a scenario may need of a rig. Most are implied by its content (see
#: :func:`harness.scenarios.needs.needs_of`); ``needs:`` in the file adds others.
Capability = Literal[
    "set_environment",     # drives the air the sensor sees (a simulated chip)
    "sensor_faults",       # injects faults on the chip
    "broker_disconnect",   # cuts the devices off the core's broker
    "core_restart",        # restarts the Greengrass core
    "lambda_timeout",      # makes invocations hang
    "function_stats",      # reads the core's per-function counters
    "function_logs",       # reads the Lambdas' logs
    "device_logs",         # reads the device program's log
    "core_log",            # reads the core's own log
    "exact_timing",        # judged on exact virtual time (for example exact message counts)
    "cloud",               # a cloud side (moto) whose Shadows sync with the core's
    "virtual_time",        # long runs (a simulated day) that only virtual time gets through
    "group_changes",       # runs a changed group (group_changes:), for this scenario only
    "greengrass_v2",       # exercises what only a Greengrass V2 core has (CDA, bridge, IPC)
]


# ------------------------------------------------------------------ expectations


class Count(_Model):
    min: NonNegativeCount | None = None
    max: NonNegativeCount | None = None

    @model_validator(mode="after")
    def _some(self) -> Count:
        if self.min is None and self.max is None:
            raise _rule_error("a count needs min, max or both")
        if self.min is not None and self.max is not None and self.min > self.max:
            raise _rule_error(f"min {self.min} is above max {self.max}")
        return self


class SinceStart(_Model):
    """A time as the rig's core clock reads it (epoch seconds: a Lambda's ``time.time()``, a
    Shadow's ``metadata`` timestamps) ``since_start`` seconds after the scenario started:
    the same moment of the scenario on every rig, whatever its clock says."""

    since_start: SignedSeconds


def _bound_kind(value: Any) -> str:
    return "Bound:time" if isinstance(value, dict | SinceStart) else "Bound:number"


#: A bound a value is compared with: a number, or ``{since_start: s}`` (a time). A tagged
#: union, so a mistake in either is told as that kind's (the loader drops the tags).
Bound = Annotated[Annotated[float, Tag("Bound:number")] | Annotated[SinceStart, Tag("Bound:time")],
                  Discriminator(_bound_kind)]

#: A condition's tests, in the order labels name them.
TESTS = ("equals", "approx", "gt", "ge", "lt", "le", "contains", "matches", "is_null",
         "present", "absent", "within_seconds_of_now", "after_start")
_NUMERIC = ("approx", "gt", "ge", "lt", "le", "within_seconds_of_now", "after_start")


def _interval(condition: Condition, kind: type) -> tuple[float, bool, float, bool]:
    """The range the order tests (and approx) allow, for bounds of one kind (plain numbers:
    ``float``; times: ``SinceStart``, as seconds since the start): low, low inclusive,
    high, high inclusive."""
    low, low_in, high, high_in = -math.inf, True, math.inf, True

    def value(bound: Bound | None) -> float | None:
        if bound is None or not isinstance(bound, kind):
            return None
        return bound.since_start if isinstance(bound, SinceStart) else float(bound)

    for bound, strict in ((condition.gt, True), (condition.ge, False)):
        number = value(bound)
        if number is not None and (number > low or (number == low and strict)):
            low, low_in = number, not strict
    for bound, strict in ((condition.lt, True), (condition.le, False)):
        number = value(bound)
        if number is not None and (number < high or (number == high and strict)):
            high, high_in = number, not strict
    centre = value(condition.approx)
    if centre is not None:
        if centre - condition.tolerance > low:
            low, low_in = centre - condition.tolerance, True
        if centre + condition.tolerance < high:
            high, high_in = centre + condition.tolerance, True
    return low, low_in, high, high_in


class Condition(_Model):
    """What the value at ``path`` must be; every test given must hold:

    - ``equals: v``: the value is ``v`` as JSON compares (``true`` is not ``1``); alone;
    - ``approx: x`` (``tolerance: t``, default 0): a number within ``t`` of ``x``;
    - ``gt``/``ge``/``lt``/``le: x``: a number above / at or above / below / at or below;
    - ``contains: v``: text holding the text ``v``, a list holding an item equal to ``v``,
      or an object with the key ``v``;
    - ``matches: regex``: text in which the regular expression (Python's ``re``) is found
      (``re.search``; anchor with ``^...$``); a bad pattern is refused when loaded;
    - ``is_null: true``: missing or ``null``; ``present: true``; ``absent: true``;
    - time tests, for a value that is a time on the core's clock (epoch seconds):
      ``within_seconds_of_now: n`` (within ``n`` s of the rig's time now) and
      ``after_start: true`` (not before the scenario started, to the whole second, as the
      Shadow's metadata stamps are); ``approx``, ``gt``, ``ge``, ``lt`` and ``le`` also take
      ``{since_start: s}``, the core clock's time ``s`` s into the scenario.

    A condition without tests, or whose tests no value can pass (``ge: 5, lt: 3``; ``matches``
    with a number test; ``absent`` with anything), is refused when the file is loaded."""

    path: DottedPath
    equals: JsonValue = None
    approx: Bound | None = None
    tolerance: NonNegative = 0.0
    gt: Bound | None = None
    ge: Bound | None = None
    lt: Bound | None = None
    le: Bound | None = None
    contains: JsonValue = None
    matches: Regex | None = None
    is_null: Literal[True] | None = None
    present: Literal[True] | None = None
    absent: Literal[True] | None = None
    within_seconds_of_now: Annotated[NonNegative, Field(le=MAX_DURATION_S)] | None = None
    after_start: Literal[True] | None = None

    @property
    def tests(self) -> tuple[str, ...]:
        """The tests given, in :data:`TESTS` order."""
        return tuple(name for name in TESTS if name in self.model_fields_set)

    @model_validator(mode="after")
    def _satisfiable(self) -> Condition:
        tests = self.tests
        what = "a shadow check" if type(self).__name__ == "ShadowCheck" else "a condition"
        if not tests:
            raise _rule_error(f"{what} needs a test: one or more of {', '.join(TESTS)}")
        if "tolerance" in self.model_fields_set and self.approx is None:
            raise _rule_error("tolerance goes with approx")
        for alone in ("equals", "absent", "is_null"):
            if alone in tests and len(tests) > 1:
                others = ", ".join(name for name in tests if name != alone)
                reason = {"equals": "it already says the whole value",
                          "absent": "a missing value has nothing to compare",
                          "is_null": "a missing or null value has nothing to compare"}[alone]
                raise _rule_error(f"{alone} stands alone ({reason}); found {others} beside it")
        numeric = [name for name in tests if name in _NUMERIC]
        textual = [name for name in tests if name in ("contains", "matches")]
        if numeric and textual:
            raise _rule_error(f"{', '.join(numeric)} test a number and {', '.join(textual)} "
                              "text or a list: no value is both")
        for kind in (float, SinceStart):
            low, low_in, high, high_in = _interval(self, kind)
            if low > high or (low == high and not (low_in and high_in)):
                unit = " s since the start" if kind is SinceStart else ""
                raise _rule_error(f"no value passes: the tests allow nothing between {low:g}"
                                  f"{unit} and {high:g}{unit}")
        return self


class ShadowCheck(Condition):
    """The value at ``path`` in a Shadow document (as a GET returns it): ``thing``'s
    classic Shadow, or its named shadow ``name``; the core's local one or (``side: cloud``)
    the cloud's (classic Shadows only). The tests are a :class:`Condition`'s."""

    thing: ThingName = DEFAULT_THING
    name: ShadowName | None = None
    side: Literal["local", "cloud"] = "local"

    @model_validator(mode="after")
    def _classic_in_the_cloud(self) -> ShadowCheck:
        if self.side == "cloud" and self.name is not None:
            raise _rule_error("side: cloud reads classic Shadows only: the harness's cloud "
                              "side syncs the classic Shadow of each synced thing, not named "
                              "shadows")
        return self


def _listed(value: Any) -> Any:
    """``where: {...}`` is ``where: [{...}]``."""
    return [value] if isinstance(value, dict) else value


class PayloadBytes(_Model):
    """The payload's bytes as they are (for payloads that are not JSON): exactly ``hex`` or
    ``base64``; holding ``contains_hex``; ``length`` bytes (a number or a range)."""

    hex: HexBytes | None = None
    base64: Base64Bytes | None = None
    contains_hex: HexBytes | None = None
    length: PayloadLength | Count | None = None

    @property
    def exact(self) -> bytes | None:
        """The bytes ``hex`` or ``base64`` stand for (None when neither is given)."""
        if self.hex is not None:
            return decode_bytes(self.hex, "hex")
        return None if self.base64 is None else decode_bytes(self.base64, "base64")

    @model_validator(mode="after")
    def _satisfiable(self) -> PayloadBytes:
        given = [name for name in ("hex", "base64", "contains_hex", "length")
                 if getattr(self, name) is not None]
        if not given:
            raise _rule_error("a payload check needs one or more of hex, base64, "
                              "contains_hex, length")
        if self.hex is not None and self.base64 is not None:
            raise _rule_error("hex and base64 both give the whole payload: give one")
        exact, part = self.exact, self.contains_hex
        needle = None if part is None else decode_bytes(part, "hex")
        if exact is not None and needle is not None and needle not in exact:
            raise _rule_error("contains_hex is not in the payload hex/base64 gives: no "
                              "message passes")
        length = self.length
        if length is not None:
            low, high = (length, length) if isinstance(length, int) else (length.min, length.max)
            if exact is not None and not ((low is None or len(exact) >= low)
                                          and (high is None or len(exact) <= high)):
                raise _rule_error(f"the payload hex/base64 gives is {len(exact)} bytes, not "
                                  "the length asked: no message passes")
            if needle is not None and high is not None and len(needle) > high:
                raise _rule_error(f"contains_hex is {len(needle)} bytes, more than the "
                                  f"length allows ({high}): no message passes")
        return self


class MessagesCheck(_Model):
    """Messages on ``topic``; ``count`` is an exact number or a range. ``where`` keeps the
    messages whose JSON payload passes the condition(s) (a list: all of them; ``path`` is
    a dotted path into the payload); ``payload`` those whose bytes pass (for payloads that
    are not JSON). ``per: s``: the count holds in every ``s``-second window of the run
    (see :class:`Expectation`)."""

    topic: TopicName
    count: NonNegativeCount | Count
    where: Annotated[list[Condition], BeforeValidator(_listed),
                     Field(min_length=1, max_length=MAX_CONDITIONS)] | None = None
    payload: PayloadBytes | None = None
    per: Window | None = None


class LogCheck(_Model):
    """Lines of a function's log (``device:<thing>`` for a device's, ``system`` for the
    core's own) containing ``contains``; at least one unless ``count`` says otherwise (an
    integer is an exact count)."""

    function: LogSource
    contains: Text
    count: NonNegativeCount | Count | None = None


class StatsCheck(_Model):
    """A field of ``sim.stats(function)`` (received, completed, errors, timeouts,
    dropped_queue_full, cold_starts)."""

    function: FunctionName
    field: Literal["received", "completed", "errors", "timeouts", "dropped_queue_full",
                   "cold_starts"]
    equals: NonNegativeCount | None = None
    min: NonNegativeCount | None = None
    max: NonNegativeCount | None = None

    @model_validator(mode="after")
    def _some(self) -> StatsCheck:
        if self.equals is None and self.min is None and self.max is None:
            raise _rule_error("a stats check needs equals, min or max")
        return self


class InSyncCheck(_Model):
    """The cloud's Shadow of ``thing`` holds the same desired and reported state as the
    core's (metadata, versions and delta aside: they are each side's own)."""

    thing: ThingName = DEFAULT_THING


CHECKS = ("shadow", "messages", "log", "stats", "in_sync")


class Check(_Model):
    shadow: ShadowCheck | None = None
    messages: MessagesCheck | None = None
    log: LogCheck | None = None
    stats: StatsCheck | None = None
    in_sync: InSyncCheck | None = None

    @model_validator(mode="after")
    def _one(self) -> Check:
        _exactly_one(self, CHECKS, "a check")
        return self

    @property
    def kind(self) -> str:
        return next(name for name in CHECKS if getattr(self, name) is not None)


class Never(_Model):
    """``never: {<check>}``: the check holds at no step (a Shadow check: at no step where
    the Shadow exists). Or the older form: violated at a step when ``thing``'s Shadow (its
    named shadow ``name``) exists and the value at ``shadow_path`` is missing or null
    (``is_null``), or equals ``equals``."""

    thing: ThingName | None = None
    name: ShadowName | None = None
    shadow_path: DottedPath | None = None
    is_null: Literal[True] | None = None
    equals: JsonValue = None
    shadow: ShadowCheck | None = None
    messages: MessagesCheck | None = None
    log: LogCheck | None = None
    stats: StatsCheck | None = None
    in_sync: InSyncCheck | None = None

    @model_validator(mode="after")
    def _one(self) -> Never:
        checks = [name for name in CHECKS if getattr(self, name) is not None]
        older = [name for name in ("thing", "name", "shadow_path", "is_null", "equals")
                 if name in self.model_fields_set]
        if checks:
            if older or len(checks) > 1:
                raise _rule_error(f"never takes one check ({', '.join(CHECKS)}) or the "
                                  "shadow_path form, not both")
            return self
        if self.shadow_path is None:
            raise _rule_error(f"never needs a check ({', '.join(CHECKS)}) or shadow_path")
        if ("is_null" in self.model_fields_set) == ("equals" in self.model_fields_set):
            raise _rule_error("never needs exactly one of is_null, equals")
        return self

    @property
    def check(self) -> Check:
        """What must never hold, as a :class:`Check` (the older form as a Shadow check)."""
        for name in CHECKS:
            value = getattr(self, name)
            if value is not None:
                return Check(**{name: value})
        assert self.shadow_path is not None
        test: dict[str, Any] = {"is_null": True} if self.is_null else {"equals": self.equals}
        return Check(shadow=ShadowCheck(thing=self.thing or DEFAULT_THING, name=self.name,
                                        path=self.shadow_path, **test))


class Monotonic(_Model):
    """The number at ``path`` in ``thing``'s Shadow (its named shadow ``name``) never goes
    down (it may stay), judged separately for each value at ``per`` (for example the
    reading's ``boot_id``: a device that restarts counts from 1 again), and a ``per`` value
    once left never comes back (where ``per`` is missing, the numbers are judged on their
    own, outside every run). Judged on the Shadow at every step and on every
    ``/update/documents`` message the rig sees; not met if the number is never seen."""

    thing: str = DEFAULT_THING
    name: ShadowName | None = None
    path: str
    per: str | None = None


#: ``always: version grows``: the Shadow's version never goes back between steps, and is
#: higher at the end than at the start.
VERSION_GROWS = "version grows"


class Expectation(_Model):
    """One of:

    - ``within: <s>`` with a check: met at some step at or before that time (and not before
      ``after``, if given);
    - ``always: {<check>}``: met at every step; ``never: {<check>}``: met at no step (see
      :class:`Never`); either may be limited to the steps from ``after`` to ``until``
      (scenario seconds, both included; the run stops at both);
    - ``always: version grows``; ``monotonic: {...}``;
    - a bare check, judged at the end of the run. A ``messages`` check with ``per: s`` is
      judged in every window of ``s`` seconds from the start (``[0, s)``, ``[s, 2s)``, ...;
      the last closes at the end of the run): ``count`` must hold in each. When the run is
      not a whole number of windows, the last, shorter one is judged by ``max`` only (too
      many in less time is still too many; too few is not known).
    """

    description: Text | None = None
    within: Seconds | None = None
    after: Seconds | None = None  # with within: only steps from this time count
    until: Seconds | None = None  # with always/never: only steps up to this time count
    always: Literal["version grows"] | Check | None = None
    never: Never | None = None
    monotonic: Monotonic | None = None
    shadow: ShadowCheck | None = None
    messages: MessagesCheck | None = None
    log: LogCheck | None = None
    stats: StatsCheck | None = None
    in_sync: InSyncCheck | None = None

    @model_validator(mode="after")
    def _shape(self) -> Expectation:
        checks = [name for name in CHECKS if getattr(self, name) is not None]
        temporal = [name for name in ("always", "never", "monotonic")
                    if getattr(self, name) is not None]
        windowed = temporal and temporal[0] in ("always", "never") \
            and self.always != VERSION_GROWS
        if temporal:
            if checks or self.within is not None or len(temporal) > 1:
                raise _rule_error(f"{temporal[0]} stands alone: no within, always, never, "
                                  f"monotonic or {', '.join(CHECKS)} beside it")
            if not windowed and (self.after is not None or self.until is not None):
                what = "always: version grows" if self.always == VERSION_GROWS \
                    else temporal[0]
                raise _rule_error(f"{what} is judged over the whole run: after and until go "
                                  "with always: {<check>} and never")
            if self.after is not None and self.until is not None and self.after > self.until:
                raise _rule_error(f"after {self.after:g} is later than until {self.until:g}: "
                                  "no step would be judged")
        elif self.until is not None:
            raise _rule_error("until goes with always: {<check>} and never (within is "
                              "itself a deadline)")
        elif self.after is not None and (self.within is None or self.after > self.within):
            raise _rule_error("after goes with within, and is not later than it")
        elif len(checks) != 1:
            found = f"found {', '.join(checks)}" if checks else "found none"
            raise _rule_error(f"an expectation needs exactly one check: {', '.join(CHECKS)}, "
                              f"or always/never/monotonic ({found})")
        nested = self.never.check if self.never is not None else \
            self.always if isinstance(self.always, Check) else None
        stepwise = nested if nested is not None else \
            (self.check if self.within is not None else None)
        if stepwise is not None and stepwise.messages is not None \
                and stepwise.messages.per is not None:
            raise _rule_error("per judges the whole run window by window: give the messages "
                              "check on its own (not with within, always or never)")
        return self

    @property
    def check(self) -> Check | None:
        """The expectation's check as a :class:`Check` (None for always/never)."""
        for name in CHECKS:
            value = getattr(self, name)
            if value is not None:
                return Check(**{name: value})
        return None

    @property
    def window(self) -> tuple[float, float]:
        """The steps an ``always``/``never`` judges: from ``after`` to ``until``."""
        return (self.after or 0.0, math.inf if self.until is None else self.until)


class Interval(_Model):
    start: Seconds
    end: Seconds

    @model_validator(mode="after")
    def _ordered(self) -> Interval:
        if self.end < self.start:
            raise _rule_error(f"end {self.end} is before start {self.start}")
        return self


class Truth(_Model):
    """What really happened, for reports to plot predictions against: ``rain`` lists the
    rainy stretches (scenario seconds)."""

    rain: Annotated[list[Interval], Field(max_length=MAX_INTERVALS)] = []


class GroupChanges(_Model):
    """How this scenario's group differs from the rig's (``group_changes:``): the group file as
    deployed, with ``client_devices`` replaced (client device auth, the bridge, the trust
    duration: see the group file's ``client_devices`` section) and, per function named in
    ``functions``, the given fields set (``null`` removes one, e.g. ``access_control``).
    The changed group is validated like a group file. Only a rig that can deploy a group
    per scenario runs these (the sim rig)."""

    client_devices: dict[str, Any] | None = None
    functions: Annotated[dict[str, dict[str, Any]], Field(max_length=64)] = {}


class Scenario(_Model):
    """A whole scenario file. Besides each field's own limits (see
    :mod:`harness.scenarios.field_types`), the run as a whole is bounded (steps, readings,
    messages: :mod:`harness.scenarios.bounds`), so a scenario that loads runs to its end."""

    name: Annotated[Text, Field(min_length=1)]
    description: Text = ""
    # the group file it was written for, relative to the scenario file (group_choice.py)
    group: Annotated[Text, Field(min_length=1)] | None = None
    duration: Duration
    seed: Seed = 0
    step: Step = 1.0  # seconds between expectation checks
    cpu_temperature: CpuTemperature = 45.0  # degrees C, steady
    environment: Environment | None = None
    device: Device | None = None
    cloud: bool = False  # a cloud side (moto): devices with shadow_sync sync their Shadows
    group_changes: GroupChanges | None = None  # this scenario's changes to the rig's group
    truth: Truth | None = None
    # beyond what the content implies
    needs: Annotated[list[Capability], Field(max_length=len(Capability.__args__))] = []
    stimuli: Annotated[list[Stimulus], Field(max_length=MAX_STIMULI)] = []
    faults: Annotated[list[FaultSpec], Field(max_length=MAX_FAULTS)] = []
    allow_failures: Annotated[list[AllowedFailure], Field(max_length=MAX_FAULTS)] = []
    expectations: Annotated[list[Expectation], Field(min_length=1, max_length=MAX_EXPECTATIONS)]

    #: The file it was loaded from and the line of each field (set by the loader), so
    #: problems found later (against a rig's group) still name ``file:line``.
    _source: Any = PrivateAttr(default=None)

    @model_validator(mode="after")
    def _consistent(self) -> Scenario:
        if self.device is not None and self.environment is None:
            raise _rule_error("a device needs an environment to measure")
        if any(f.sensor is not None for f in self.faults) and self.device is None:
            raise _rule_error("sensor faults need a device")
        if any(f.cloud_disconnect is not None for f in self.faults) and not self.cloud:
            raise _rule_error("cloud_disconnect needs cloud: true")
        _raise_problems("Scenario", scenario_problems(self))
        return self
