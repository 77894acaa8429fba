"""Running a scenario on a rig (by default ``sim``: the simulated core under virtual time).

The rig opens a session for the scenario (the group's Lambdas, the device program on a
simulated BME680 with the scenario's air and sensor faults, or the real thing on the Pi);
the runner then advances time in steps of ``step`` seconds, also stopping at every stimulus,
fault and ``within`` deadline: stimuli and faults happen at their time, and after each stop
every expectation's monitor looks at the session. ``within`` deadlines are stretched by the
rig's ``timing_factor`` (1 in simulation, more on hardware).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from harness.function_failures import FunctionFailure
from harness.function_failures import report as failure_report
from harness.rigs.base import Rig, RigCannotRun, RigSession
from harness.rigs.chip import FAULTS, make_fault
from harness.scenarios.expectations import Outcome, monitor
from harness.scenarios.failures import session_failures, unexpected
from harness.scenarios.group_names import group_problems
from harness.scenarios.loading import load_scenario, scenario_error
from harness.scenarios.needs import missing
from harness.scenarios.schema import DEFAULT_THING, FaultSpec, Scenario, Stimulus
from harness.simulation import DEFAULT_GROUP

if TYPE_CHECKING:
    from harness.group import Group

__all__ = ["FAULTS", "ScenarioResult", "check_against_group", "check_against_rig", "make_fault",
           "run_scenario"]


@dataclass(frozen=True)
class ScenarioResult:
    name: str
    rig: str
    duration: float
    outcomes: tuple[Outcome, ...]
    #: the Lambda failures the scenario did not expect (:mod:`harness.scenarios.failures`)
    function_failures: tuple[FunctionFailure, ...] = ()

    @property
    def passed(self) -> bool:
        return all(outcome.met for outcome in self.outcomes) and not self.function_failures

    @property
    def failures(self) -> tuple[Outcome, ...]:
        return tuple(outcome for outcome in self.outcomes if not outcome.met)

    def report(self) -> str:
        verdicts = [f"{len(self.failures)} expectation(s) failed"] if self.failures else []
        if self.function_failures:
            verdicts.append(f"{len(self.function_failures)} Lambda failure(s)")
        verdict = ", ".join(verdicts) or "passed"
        lines = [f"scenario {self.name!r} on {self.rig}: {verdict}",
                 *(f"  {outcome}" for outcome in self.outcomes)]
        if self.function_failures:  # expected ones go in the scenario's allow_failures
            lines.append(failure_report(self.function_failures, "Lambda failure")
                         + "\n(expected? list it under allow_failures: in the scenario)")
        return "\n".join(lines)


def _stimulate(session: RigSession, stimulus: Stimulus, cloud: bool) -> None:
    if stimulus.publish is not None:
        publish = stimulus.publish
        payload = publish.encoded()
        for _ in range(publish.repeat):
            session.publish(publish.source, publish.topic, payload)
    elif stimulus.desired is not None:
        document = {"state": {"desired": stimulus.desired.state}}
        if cloud:  # made in the cloud; shadow sync brings it to the core
            session.cloud_update(stimulus.desired.thing, document)
        else:  # as shadow sync delivers it to the local Shadow
            session.update_shadow(stimulus.desired.thing, document)
    else:
        assert stimulus.delete_shadow is not None
        session.delete_shadow(stimulus.delete_shadow.thing)


def _fault(session: RigSession, fault: FaultSpec) -> None:
    """Faults other than the sensor's (those are on the chip from the start)."""
    if fault.core_restart is not None:
        session.restart_core(fault.core_restart.downtime)
    elif fault.broker_disconnect is not None:
        assert fault.duration is not None
        session.disconnect_broker(fault.duration)
    elif fault.lambda_timeout is not None:
        session.stall_function(fault.lambda_timeout.function, fault.invocations or 1)
    elif fault.cloud_disconnect is not None:
        assert fault.duration is not None
        session.disconnect_cloud(fault.duration)


def _stops(scenario: Scenario, factor: float) -> list[float]:
    """Where the run stops: every ``step``, every stimulus and fault, every deadline, the
    end."""
    stops = {scenario.duration, 0.0}
    n = 1
    while n * scenario.step < scenario.duration:
        stops.add(round(n * scenario.step, 9))
        n += 1
    stops.update(s.at for s in scenario.stimuli)
    stops.update(f.at for f in scenario.faults if f.sensor is None)
    stops.update(e.within * factor for e in scenario.expectations if e.within is not None)
    stops.update(e.after for e in scenario.expectations if e.after is not None)
    stops.update(e.until for e in scenario.expectations if e.until is not None)
    return sorted(stop for stop in stops if stop <= scenario.duration)


def check_against_rig(scenario: Scenario, rig: Rig) -> None:
    """Raise :class:`~harness.scenarios.loading.ScenarioError` (``file:line`` when the
    scenario came from a file) for each name of ``scenario`` the rig's group lacks: the
    device it drives, the things it publishes as, the functions it stalls or reads. A rig
    that does not say its group (``rig.group``: a file or a loaded group) is not checked."""
    group = getattr(rig, "group", None)
    if group is not None:
        check_against_group(scenario, group)


def check_against_group(scenario: Scenario, group: Group | str | Path) -> None:
    """As :func:`check_against_rig`, against ``group`` (a loaded group or its file: a broken
    file raises :class:`~harness.group.GroupError` with its own ``file:line`` problems)."""
    from harness.group import Group, load_group

    if isinstance(group, str | Path):
        group = load_group(group)
    if not isinstance(group, Group):
        return
    if scenario.group_changes is not None:
        from harness.scenarios.group_changes import GroupChangeError, changed_group

        try:
            group = changed_group(group, scenario.group_changes)
        except GroupChangeError as error:
            raise scenario_error(scenario, error.problems) from None
    problems = group_problems(scenario, group)
    if problems:
        raise scenario_error(scenario, problems)


class Observer(Protocol):
    """Watches a run: called after every stop, and once at the end before the session
    closes (a recorder collecting what a report plots)."""

    def __call__(self, session: RigSession, now: float) -> None: ...
    def finish(self, session: RigSession) -> None: ...


def run_scenario(scenario: Scenario | str | Path, group: str | Path = DEFAULT_GROUP,
                 *, folder: str | Path | None = None, rig: Rig | None = None,
                 observers: Sequence[Observer] = ()) -> ScenarioResult:
    """Run a scenario (a model or a file) on ``rig`` (default: the ``sim`` rig of
    ``group``). A trace environment is found relative to ``folder`` (by default the file's
    folder, or the working directory). Raises :class:`~harness.rigs.base.RigCannotRun` when
    the rig lacks what the scenario needs, and
    :class:`~harness.scenarios.loading.ScenarioError` when it names things or functions the
    rig's group lacks (:func:`check_against_rig`) or, given as a file, cannot be loaded."""
    if not isinstance(scenario, Scenario):
        path = Path(scenario)
        folder = path.parent if folder is None else folder
        scenario = load_scenario(path)
    if rig is None:
        from harness.rigs.sim import SimRig

        rig = SimRig(group)
    reasons = missing(scenario, rig.capabilities)
    if reasons:
        raise RigCannotRun(rig.name, scenario.name, reasons)
    check_against_rig(scenario, rig)
    factor = rig.timing_factor
    monitors = [monitor(i, e, DEFAULT_THING, factor) for i, e in enumerate(scenario.expectations)]
    events: list[tuple[float, int, Stimulus | FaultSpec]] = sorted(
        [(s.at, i, s) for i, s in enumerate(scenario.stimuli)]
        + [(f.at, len(scenario.stimuli) + i, f) for i, f in enumerate(scenario.faults)
           if f.sensor is None], key=lambda event: (event[0], event[1]))
    session = rig.open(scenario, Path(folder or "."))
    try:
        for stop in _stops(scenario, factor):
            session.advance_to(stop)
            while events and events[0][0] <= stop:
                event = events.pop(0)[2]
                if isinstance(event, Stimulus):
                    _stimulate(session, event, scenario.cloud)
                else:
                    _fault(session, event)
            now = session.now
            for each in monitors:
                each.observe(session, now)
            for observer in observers:
                observer(session, now)
        now = session.now
        outcomes = tuple(each.finish(session, now) for each in monitors)
        failures = unexpected(scenario, session_failures(session))
        for observer in observers:
            observer.finish(session)
    finally:
        session.close()
    for observer in observers:  # what only a closed session knows (what closing dropped)
        closed = getattr(observer, "closed", None)
        if closed is not None:
            closed(session)
    return ScenarioResult(scenario.name, rig.name, scenario.duration, outcomes, failures)
