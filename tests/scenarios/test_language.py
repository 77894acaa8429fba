"""The richer scenario language on the sim rig: conditions (``where:`` and Shadow checks),
``always``/``never`` over a window, ``never`` with any check, named shadows, payload bytes,
counts per window and times on the core's clock; each met where it must be and failed
where it must fail, and refused at load (file:line) when no run could pass it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from harness.clock import DEFAULT_EPOCH
from harness.rigs.base import RigSession
from harness.scenarios import ScenarioError, load_scenario
from harness.scenarios.expectations import monitor
from harness.scenarios.runner import ScenarioResult, run_scenario
from harness.scenarios.schema import Expectation, Scenario

AIR = {"temperature": 15.0, "pressure": 1010.0, "humidity": 50.0}


def _run(expectations: list[dict[str, Any]], *, duration: float = 30, stimuli: Any = (),
         points: list[dict[str, Any]] | None = None, observers: Any = ()) -> ScenarioResult:
    environment = {"points": points} if points else {"profile": {"steady": AIR}}
    scenario = Scenario.model_validate({
        "name": "language", "duration": duration, "environment": environment,
        "device": {"thing": "bme680-sensor", "period": 5}, "stimuli": list(stimuli),
        "expectations": expectations})
    return run_scenario(scenario, observers=observers)


def _verdicts(result: ScenarioResult) -> list[bool]:
    return [outcome.met for outcome in result.outcomes]


# the air: 15 degrees until 30 s, then 30 degrees
STEP_UP = [{"at": 0, **AIR}, {"at": 30, **AIR}, {"at": 31, **AIR, "temperature": 30.0},
           {"at": 60, **AIR, "temperature": 30.0}]
TEMPERATURE = "state.reported.temperature"


def test_always_and_never_are_judged_in_their_window_only() -> None:
    cool = {"shadow": {"path": TEMPERATURE, "approx": 15, "tolerance": 1}}
    warm = {"shadow": {"path": TEMPERATURE, "gt": 25}}
    result = _run([
        {"always": cool, "until": 25},                 # met: the step up comes later
        {"always": cool},                              # fails after the step up
        {"never": warm, "until": 25},                  # met
        {"never": warm},                               # fails after the step up
        {"always": {"shadow": {"path": TEMPERATURE, "ge": 29}}, "after": 50, "until": 60},
    ], duration=60, points=STEP_UP)
    assert _verdicts(result) == [True, False, True, False, True]
    always, never = result.outcomes[1], result.outcomes[3]
    assert always.failed_at is not None and 30 < always.failed_at <= 60
    assert never.failed_at == always.failed_at and never.value > 25
    assert result.outcomes[4].label == ("always from 50 s to 60 s: weather-station's Shadow "
                                        "has state.reported.temperature at least 29")


def test_counts_per_window_hold_in_every_window_and_the_last_short_one_by_max() -> None:
    # a reading every 5 s from 0: two in each 10 s window; [20, 22] holds one (at 20)
    every = {"messages": {"topic": "bme680/readings", "count": {"min": 2, "max": 2},
                          "per": 10}}
    too_many = {"messages": {"topic": "bme680/readings", "count": {"max": 1}, "per": 10}}
    too_few = {"messages": {"topic": "bme680/readings", "count": {"min": 3}, "per": 10}}
    result = _run([every, too_many, too_few], duration=22)
    assert _verdicts(result) == [True, False, False]
    assert result.outcomes[0].value == {"windows": 3, "fewest": 2, "most": 2}
    assert (result.outcomes[1].failed_at, result.outcomes[1].value) == \
        (10, {"window": [0, 10], "count": 2})
    assert result.outcomes[2].failed_at == 10
    assert result.outcomes[0].label == \
        "at the end: messages on bme680/readings: 2 to 2 in every 10 s"


def test_conditions_on_message_payloads() -> None:
    readings = "bme680/readings"
    result = _run([
        {"messages": {"topic": readings, "count": 7, "where": [
            {"path": "message", "matches": "^Succ"}, {"path": "sequence", "ge": 1, "le": 7},
            {"path": "pressure", "approx": 1010, "tolerance": 2}]}},
        {"messages": {"topic": readings, "count": 3, "where": {"path": "sequence", "gt": 4}}},
        {"messages": {"topic": readings, "count": 7, "where": {"path": "boot_id",
                                                               "matches": "^[0-9a-f]{32}$"}}},
        {"messages": {"topic": readings, "count": {"min": 1},
                      "where": {"path": "message", "contains": "Fail"}}},  # none failed
    ])
    assert _verdicts(result) == [True, True, True, False]
    assert result.outcomes[3].value == 0


def test_binary_payloads_arrive_intact_and_are_checked_by_their_bytes() -> None:
    binary = {"at": 2, "publish": {"source": "bme680-sensor", "topic": "bme680/readings",
                                   "payload_hex": "00 ff 10 80"}}
    readings = "bme680/readings"
    result = _run([
        {"messages": {"topic": readings, "count": 1, "payload": {"hex": "00ff1080"}}},
        {"messages": {"topic": readings, "count": 1, "payload": {"base64": "AP8QgA=="}}},
        {"messages": {"topic": readings, "count": 1,
                      "payload": {"contains_hex": "ff10", "length": 4}}},
        {"messages": {"topic": readings, "count": 1, "payload": {"contains_hex": "ff11"}}},
        {"never": {"messages": {"topic": readings, "count": {"min": 1},
                                "payload": {"length": {"max": 4}}}}},
    ], stimuli=[binary])
    assert _verdicts(result) == [True, True, True, False, False]
    assert result.outcomes[3].value == 0
    assert result.outcomes[4].failed_at == 2


def test_times_on_the_core_clock_are_compared_as_scenario_times() -> None:
    stamp = "metadata.reported.temperature.timestamp"
    result = _run([
        {"shadow": {"path": "state.reported.timestamp", "within_seconds_of_now": 15}},
        {"shadow": {"path": stamp, "after_start": True, "le": {"since_start": 30}}},
        {"always": {"shadow": {"path": stamp, "ge": {"since_start": 0}}}},
        {"shadow": {"path": "state.reported.timestamp", "lt": {"since_start": 0}}},
        {"shadow": {"path": "state.reported.timestamp", "within_seconds_of_now": 1}},
    ])
    assert _verdicts(result) == [True, True, True, False, False]
    # the reading's time is the core clock's: the sim rig's starts at 2026-01-01
    assert DEFAULT_EPOCH <= result.outcomes[3].value <= DEFAULT_EPOCH + 30


class _NamedShadowWriter:
    """At 3 s, writes weather-station's named shadow ``config`` on the simulated core."""

    def __call__(self, session: Any, now: float) -> None:
        if now >= 3 and session.sim.shadow("weather-station", "config") is None:
            session.sim.shadow_service.update(
                "weather-station", {"state": {"reported": {"mode": "eco"}}}, "config")

    def finish(self, session: Any) -> None:
        pass


def test_named_shadows_are_read_by_name() -> None:
    result = _run([
        {"shadow": {"name": "config", "path": "state.reported.mode", "equals": "eco"}},
        {"shadow": {"path": "state.reported.mode", "absent": True}},  # the classic Shadow
        {"within": 2, "shadow": {"name": "config", "path": "state.reported.mode",
                                 "present": True}},
        {"never": {"shadow": {"name": "config", "path": "state.reported.mode",
                              "matches": "eco"}}, "after": 10},
    ], observers=[_NamedShadowWriter()])
    assert _verdicts(result) == [True, True, False, False]
    assert result.outcomes[3].failed_at == 10
    assert "named shadow 'config'" in result.outcomes[0].label


# ------------------------------------------------------------------ refused at load

GOOD = {"name": "bad", "duration": 60,
        "stimuli": [{"at": 1, "publish": {"source": "cloud", "topic": "a/b", "payload": 1}}]}


@pytest.mark.parametrize(("expectation", "message"), [
    ({"shadow": {"path": "x", "ge": 5, "lt": 3}}, "no value passes"),
    ({"shadow": {"path": "x", "gt": 3, "le": 3}}, "no value passes"),
    ({"shadow": {"path": "x", "approx": 10, "tolerance": 1, "gt": 20}}, "no value passes"),
    ({"shadow": {"path": "x", "ge": {"since_start": 30}, "lt": {"since_start": 10}}},
     "nothing between 30 s since the start and 10 s since the start"),
    ({"shadow": {"path": "x", "matches": "a", "gt": 1}}, "no value is both"),
    ({"shadow": {"path": "x", "absent": True, "equals": 1}}, "stands alone"),
    ({"shadow": {"path": "x", "equals": 1, "lt": 3}}, "equals stands alone"),
    ({"shadow": {"path": "x"}}, "a shadow check needs a test"),
    ({"shadow": {"path": "x", "matches": "a(b"}}, "is not a regular expression"),
    ({"shadow": {"path": "x", "name": "cfg", "side": "cloud", "present": True}},
     "classic Shadows only"),
    ({"shadow": {"path": "x", "name": "a b", "present": True}}, "not a valid shadow name"),
    ({"messages": {"topic": "a/b", "count": 1, "where": []}}, "at least 1 item"),
    ({"messages": {"topic": "a/b", "count": 1, "where": {"path": "x"}}}, "needs a test"),
    ({"messages": {"topic": "a/b", "count": 1, "payload": {}}}, "needs one or more of"),
    ({"messages": {"topic": "a/b", "count": 1, "payload": {"hex": "0g"}}}, "is not hex"),
    ({"messages": {"topic": "a/b", "count": 1, "payload": {"base64": "@@"}}},
     "is not base64"),
    ({"messages": {"topic": "a/b", "count": 1, "payload": {"hex": "00ff", "length": 3}}},
     "is 2 bytes"),
    ({"messages": {"topic": "a/b", "count": 1, "payload": {"hex": "00",
                                                           "contains_hex": "ff"}}},
     "contains_hex is not in the payload"),
    ({"messages": {"topic": "a/b", "count": 1, "per": 120}}, "longer than the run"),
    ({"within": 5, "messages": {"topic": "a/b", "count": 1, "per": 10}}, "per judges"),
    ({"always": {"messages": {"topic": "a/b", "count": 1}}, "until": 70}, "after the end"),
    ({"always": {"messages": {"topic": "a/b", "count": 1}}, "after": 20, "until": 10},
     "later than until"),
    ({"never": {"messages": {"topic": "a/b", "count": 1}}, "within": 10}, "stands alone"),
    ({"always": "version grows", "until": 10}, "judged over the whole run"),
    ({"shadow": {"path": "x", "present": True}, "until": 10}, "until goes with always"),
    ({"never": {"shadow": {"path": "x", "present": True}, "shadow_path": "y"}},
     "not both"),
])
def test_a_condition_no_run_could_pass_is_refused_at_its_line(
        tmp_path: Path, expectation: dict[str, Any], message: str) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump({**GOOD, "expectations": [expectation]},
                                   sort_keys=False))
    with pytest.raises(ScenarioError) as caught:
        load_scenario(path)
    text = str(caught.value)
    assert f"{path}:" in text and message in text, text


def test_a_publish_takes_exactly_one_payload(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    publish = {"source": "cloud", "topic": "a/b", "payload": 1, "payload_hex": "00"}
    path.write_text(yaml.safe_dump({**GOOD, "stimuli": [{"at": 1, "publish": publish}],
                                    "expectations": [{"always": "version grows"}]}))
    with pytest.raises(ScenarioError, match="exactly one of payload, payload_hex"):
        load_scenario(path)


# ------------------------------------------------------------------ an invariant


class _Values:
    """A session whose Shadow holds ``x`` = the value given for the current step."""

    epoch = DEFAULT_EPOCH

    def __init__(self) -> None:
        self.now = 0.0
        self.x: float = 0.0

    def shadow(self, thing: str, name: str | None = None) -> dict[str, Any]:
        return {"state": {"reported": {"x": self.x}}}


@given(values=st.lists(st.integers(-5, 5), min_size=1, max_size=20),
       threshold=st.integers(-5, 5), start=st.integers(0, 20), length=st.integers(0, 20))
def test_always_a_condition_over_a_window_is_never_its_opposite(
        values: list[int], threshold: int, start: int, length: int) -> None:
    """``always: x >= t`` over [a, b] is met exactly when ``never: x < t`` over [a, b] is,
    and both fail at the same step."""
    window = {"after": start, "until": start + length}
    always = monitor(0, Expectation.model_validate(
        {"always": {"shadow": {"path": "state.reported.x", "ge": threshold}}, **window}), "t")
    never = monitor(1, Expectation.model_validate(
        {"never": {"shadow": {"path": "state.reported.x", "lt": threshold}}, **window}), "t")
    session = _Values()
    for step, value in enumerate(values):
        session.now, session.x = float(step), float(value)
        for each in (always, never):
            each.observe(session, session.now)  # type: ignore[arg-type]
    ends = [each.finish(session, session.now) for each in (always, never)]  # type: ignore[arg-type]
    assert ends[0].met == ends[1].met
    assert ends[0].failed_at == ends[1].failed_at
    judged = values[start:start + length + 1]
    assert ends[0].met == all(value >= threshold for value in judged)


def test_the_fake_session_reads_like_a_rig() -> None:
    session: RigSession = _Values()  # type: ignore[assignment]
    assert session.shadow("t") == {"state": {"reported": {"x": 0.0}}}
