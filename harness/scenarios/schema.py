"""The scenario file format: a pydantic model of ``scenarios/*.yaml``.

A scenario is what the sensor sees over time, what else happens (stimuli, faults) and what
must follow (expectations)::

    name: steady weather
    description: steady air; the Shadow reports it, compensated
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
    stimuli:
      - {at: 60, publish: {source: bme680-sensor, topic: bme680/readings, payload: "{"}}
      - {at: 70, desired: {thing: weather-station, state: {period: 10}}}
      - {at: 80, delete_shadow: {thing: weather-station}}
    expectations:
      - within: 30
        shadow: {path: state.reported.temperature, approx: 15, tolerance: 0.1}
      - always: version grows
      - never: {shadow_path: state.reported.temperature, is_null: true}
      - messages: {topic: hello/world, count: {min: 1}}
      - log: {function: republish, contains: Invalid reading, count: {min: 1}}
      - stats: {function: republish, field: dropped_queue_full, equals: 0}

Environment temperatures are the AIR's (see :mod:`harness.scenarios.environment` for how the
sensor, next to the CPU, sees them); a recorded trace is replayed as the sensor measured it.
Checks without ``within``/``always``/``never`` are judged once, at the end of the run.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, model_validator

from harness.group import _rule_error

NonNegative = Annotated[float, Field(ge=0)]
Positive = Annotated[float, Field(gt=0)]
DEFAULT_THING = "weather-station"


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


def _exactly_one(model: BaseModel, fields: tuple[str, ...], what: str) -> None:
    given = [name for name in fields if getattr(model, name) is not None]
    if len(given) != 1:
        found = f"found {', '.join(given)}" if given else "found none"
        raise _rule_error(f"{what} needs exactly one of {', '.join(fields)} ({found})")


# ------------------------------------------------------------------ environment


class Point(_Model):
    """The air at ``at`` seconds; between points it changes linearly."""

    at: NonNegative
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

    start: NonNegative = 0.0
    hours: Positive
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
    points: Annotated[list[Point], Field(min_length=1)] | None = None
    profile: Profile | None = None
    trace: str | None = None  # relative to the scenario file's folder

    @model_validator(mode="after")
    def _one(self) -> Environment:
        _exactly_one(self, ("points", "profile", "trace"), "the environment")
        if self.points is not None:
            times = [point.at for point in self.points]
            if times != sorted(times):
                raise _rule_error("points must be in time order (at)")
        return self


class Device(_Model):
    thing: str = "bme680-sensor"
    period: Positive = 5.0


# ------------------------------------------------------------------ stimuli and faults


class Publish(_Model):
    """A message published as ``source`` (a thing, ``device:<thing>`` or ``cloud``);
    ``payload`` is sent as JSON unless it is a string (sent as is). ``repeat`` sends it that
    many times at the same instant."""

    source: str
    topic: str
    payload: Any
    repeat: Annotated[int, Field(ge=1)] = 1


class DesiredState(_Model):
    """A desired-state change from the cloud: ``{"state": {"desired": state}}`` reaches the
    local Shadow of ``thing`` (as shadow sync delivers it)."""

    thing: str = DEFAULT_THING
    state: dict[str, Any]


class ShadowDelete(_Model):
    """``thing``'s local Shadow is deleted under the Lambdas' feet."""

    thing: str = DEFAULT_THING


class Stimulus(_Model):
    at: NonNegative
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
    errno: Annotated[int, Field(ge=1)] = 121


class WrongChipIdParameters(_Model):
    chip_id: Annotated[int, Field(ge=0, le=255)] = 0x60


class BrownOutParameters(_Model):
    unreachable: bool = False


class SelfHeatingParameters(_Model):
    offset_c: float = 3.0
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

    downtime: NonNegative = 5.0


class LambdaTimeout(_Model):
    """The next invocations of ``function`` hang past its timeout."""

    function: str


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

    at: NonNegative
    sensor: Annotated[SensorFault, BeforeValidator(_fault_shorthand)] | None = None
    broker_disconnect: _NoParameters | None = None
    core_restart: CoreRestart | None = None
    lambda_timeout: LambdaTimeout | None = None
    cloud_disconnect: _NoParameters | None = None
    duration: NonNegative | None = None
    transactions: Annotated[int, Field(ge=1)] | None = None
    invocations: Annotated[int, Field(ge=1)] | None = None

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
]


# ------------------------------------------------------------------ expectations


class Count(_Model):
    min: Annotated[int, Field(ge=0)] | None = None
    max: Annotated[int, Field(ge=0)] | None = None

    @model_validator(mode="after")
    def _some(self) -> Count:
        if self.min is None and self.max is None:
            raise _rule_error("a count needs min, max or both")
        if self.min is not None and self.max is not None and self.min > self.max:
            raise _rule_error(f"min {self.min} is above max {self.max}")
        return self


class ShadowCheck(_Model):
    """The value at ``path`` in ``thing``'s Shadow document (as a GET returns it), the
    core's local one or (``side: cloud``) the cloud's."""

    thing: str = DEFAULT_THING
    side: Literal["local", "cloud"] = "local"
    path: str
    equals: Any = None
    approx: float | None = None
    tolerance: NonNegative = 0.0
    present: Literal[True] | None = None
    absent: Literal[True] | None = None

    @model_validator(mode="after")
    def _one(self) -> ShadowCheck:
        tests = ("equals", "approx", "present", "absent")
        # side and thing are where to look, not what to test
        given = [name for name in tests if name in self.model_fields_set]
        if len(given) != 1:
            found = f"found {', '.join(given)}" if given else "found none"
            raise _rule_error(f"a shadow check needs exactly one of {', '.join(tests)} ({found})")
        if "tolerance" in self.model_fields_set and self.approx is None:
            raise _rule_error("tolerance goes with approx")
        return self


class Where(_Model):
    """Only messages whose JSON payload holds ``equals`` at ``path``."""

    path: str
    equals: Any


class MessagesCheck(_Model):
    """Messages on ``topic``; ``count`` is an exact number or a range."""

    topic: str
    count: Annotated[int, Field(ge=0)] | Count
    where: Where | None = None


class LogCheck(_Model):
    """Lines of a function's log (``device:<thing>`` for a device's, ``system`` for the
    core's own) containing ``contains``; at least one unless ``count`` says otherwise (an
    integer is an exact count)."""

    function: str
    contains: str
    count: Annotated[int, Field(ge=0)] | Count | None = None


class StatsCheck(_Model):
    """A field of ``sim.stats(function)`` (received, completed, errors, timeouts,
    dropped_queue_full, cold_starts)."""

    function: str
    field: Literal["received", "completed", "errors", "timeouts", "dropped_queue_full",
                   "cold_starts"]
    equals: int | None = None
    min: int | None = None
    max: int | None = None

    @model_validator(mode="after")
    def _some(self) -> StatsCheck:
        if self.equals is None and self.min is None and self.max is None:
            raise _rule_error("a stats check needs equals, min or max")
        return self


class InSyncCheck(_Model):
    """The cloud's Shadow of ``thing`` holds the same desired and reported state as the
    core's (metadata, versions and delta aside: they are each side's own)."""

    thing: str = DEFAULT_THING


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


class Never(_Model):
    """Violated at a step when ``thing``'s Shadow exists and the value at ``shadow_path`` is
    missing or null (``is_null``), or equals ``equals``."""

    thing: str = DEFAULT_THING
    shadow_path: str
    is_null: Literal[True] | None = None
    equals: Any = None

    @model_validator(mode="after")
    def _one(self) -> Never:
        if ("is_null" in self.model_fields_set) == ("equals" in self.model_fields_set):
            raise _rule_error("never needs exactly one of is_null, equals")
        return self


#: ``always: version grows``: the Shadow's version never goes back between steps, and is
#: higher at the end than at the start.
VERSION_GROWS = "version grows"


class Expectation(_Model):
    """One of: ``within: <s>`` with a check (met at some step at or before that time, and
    not before ``after`` if given);
    ``always: version grows`` or ``always: {<check>}`` (met at every step); ``never: {...}``;
    or a bare check (judged at the end of the run)."""

    description: str | None = None
    within: NonNegative | None = None
    after: NonNegative | None = None  # with within: only steps from this time count
    always: Literal["version grows"] | Check | None = None
    never: Never | None = None
    shadow: ShadowCheck | None = None
    messages: MessagesCheck | None = None
    log: LogCheck | None = None
    stats: StatsCheck | None = None
    in_sync: InSyncCheck | None = None

    @model_validator(mode="after")
    def _shape(self) -> Expectation:
        checks = [name for name in CHECKS if getattr(self, name) is not None]
        temporal = [name for name in ("always", "never") if getattr(self, name) is not None]
        if temporal:
            if checks or self.within is not None or len(temporal) > 1:
                raise _rule_error(f"{temporal[0]} stands alone: no within, always, never or "
                                  f"{', '.join(CHECKS)} beside it")
        elif self.after is not None and (self.within is None or self.after > self.within):
            raise _rule_error("after goes with within, and is not later than it")
        elif len(checks) != 1:
            found = f"found {', '.join(checks)}" if checks else "found none"
            raise _rule_error(f"an expectation needs exactly one check: {', '.join(CHECKS)}, "
                              f"or always/never ({found})")
        return self

    @property
    def check(self) -> Check | None:
        """The expectation's check as a :class:`Check` (None for always/never)."""
        for name in CHECKS:
            value = getattr(self, name)
            if value is not None:
                return Check(**{name: value})
        return None


class Interval(_Model):
    start: NonNegative
    end: NonNegative

    @model_validator(mode="after")
    def _ordered(self) -> Interval:
        if self.end < self.start:
            raise _rule_error(f"end {self.end} is before start {self.start}")
        return self


class Truth(_Model):
    """What really happened, for reports to plot predictions against: ``rain`` lists the
    rainy stretches (scenario seconds)."""

    rain: list[Interval] = []


class Scenario(_Model):
    name: str
    description: str = ""
    duration: Positive
    seed: int = 0
    step: Positive = 1.0  # seconds between expectation checks
    cpu_temperature: float = 45.0  # degrees C, steady
    environment: Environment | None = None
    device: Device | None = None
    cloud: bool = False  # a cloud side (moto): devices with shadow_sync sync their Shadows
    truth: Truth | None = None
    needs: list[Capability] = []  # beyond what the content implies
    stimuli: list[Stimulus] = []
    faults: list[FaultSpec] = []
    expectations: Annotated[list[Expectation], Field(min_length=1)]

    @model_validator(mode="after")
    def _consistent(self) -> Scenario:
        if self.device is not None and self.environment is None:
            raise _rule_error("a device needs an environment to measure")
        if any(f.sensor is not None for f in self.faults) and self.device is None:
            raise _rule_error("sensor faults need a device")
        if any(f.cloud_disconnect is not None for f in self.faults) and not self.cloud:
            raise _rule_error("cloud_disconnect needs cloud: true")
        return self
