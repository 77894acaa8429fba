"""``monotonic:``: a number in the Shadow (the reported sequence) never goes back within a
``per`` value (the device program's boot id), judged on every step's Shadow and on the
``/update/documents`` stream."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from harness.scenarios.expectations import MISSING, monitor
from harness.scenarios.loading import ScenarioError, load_scenario
from harness.scenarios.schema import Expectation

ROOT = Path(__file__).resolve().parents[2]
DOCUMENTS = "$aws/things/weather-station/shadow/update/documents"
SEQUENCE = {"monotonic": {"path": "state.reported.sequence", "per": "state.reported.boot_id"}}


@dataclass(frozen=True)
class Seen:
    time: float
    topic: str
    payload: bytes


class Session:
    """What a monitor reads of a rig: the Shadow now, and the messages seen so far."""

    def __init__(self) -> None:
        self.document: dict[str, Any] | None = None
        self.seen: list[Seen] = []

    def report(self, now: float, sequence: int | None, boot: str | None = "a",
               published: bool = True) -> None:
        reported: dict[str, Any] = {"message": "Success"}
        if sequence is not None:
            reported["sequence"] = sequence
        if boot is not None:
            reported["boot_id"] = boot
        self.document = {"state": {"reported": reported}, "version": len(self.seen) + 1}
        if published:
            self.seen.append(Seen(now, DOCUMENTS, json.dumps(
                {"current": self.document, "timestamp": int(now)}).encode()))

    def shadow(self, thing: str) -> dict[str, Any] | None:
        return self.document

    def messages(self, topic: str | None = None) -> list[Seen]:
        return [m for m in self.seen if topic is None or m.topic == topic]


def judge(steps: list[tuple[float, int | None, str | None]], expectation: dict = SEQUENCE,
          between: list[tuple[float, int, str]] = ()) -> Any:
    """Run a monitor over reports made at steps (and ``between`` steps: seen only as
    update documents, overwritten before the next step)."""
    sim = Session()
    watch = monitor(0, Expectation.model_validate(expectation), "weather-station")
    pending = sorted(between)
    for now, sequence, boot in steps:
        while pending and pending[0][0] < now:
            at, hidden, hidden_boot = pending.pop(0)
            sim.report(at, hidden, hidden_boot)
        sim.report(now, sequence, boot)
        watch.observe(sim, now)
    return watch.finish(sim, steps[-1][0])


def test_a_growing_or_staying_sequence_is_met() -> None:
    outcome = judge([(1, 1, "a"), (2, 2, "a"), (3, 2, "a"), (4, 5, "a")])
    assert outcome.met and outcome.value == 5


def test_a_step_back_fails_when_it_is_first_seen() -> None:
    outcome = judge([(1, 6, "a"), (2, 7, "a"), (3, 6, "a"), (4, 8, "a")])
    assert not outcome.met
    assert (outcome.failed_at, outcome.value) == (3, {"value": 6, "before": 7, "per": "a"})


def test_a_new_boot_counts_again_but_an_old_one_never_comes_back() -> None:
    restart = [(1, 40, "a"), (2, 41, "a"), (3, 1, "b"), (4, 2, "b")]
    assert judge(restart).met
    late = judge([*restart, (5, 42, "a")])
    assert not late.met
    assert (late.failed_at, late.value) == (5, {"value": 42, "back to": "a"})


def test_readings_without_a_boot_id_belong_to_no_run() -> None:
    # an injected reading without a boot id lands between two of the device's readings
    assert judge([(1, 5, "a"), (2, 880001, None), (3, 6, "a"), (4, 880002, None)]).met
    outcome = judge([(1, 5, "a"), (2, 880001, None), (3, 6, "a"), (4, 3, None)])
    assert (outcome.failed_at, outcome.value) == (4, {"value": 3, "before": 880001,
                                                      "per": None})


def test_without_per_a_restart_is_a_step_back() -> None:
    outcome = judge([(1, 40, "a"), (2, 1, "b")],
                    {"monotonic": {"path": "state.reported.sequence"}})
    assert (outcome.met, outcome.failed_at) == (False, 2)
    assert outcome.value == {"value": 1, "before": 40, "per": None}


def test_a_step_back_between_steps_is_caught_in_the_update_documents() -> None:
    # sampled: 6, 8 (fine); in between, 7 then 6 again were reported for a moment
    outcome = judge([(1, 6, "a"), (3, 8, "a")], between=[(1.5, 7, "a"), (2.5, 6, "a")])
    assert (outcome.met, outcome.failed_at) == (False, 2.5)
    assert outcome.value == {"value": 6, "before": 7, "per": "a"}


def test_missing_values_are_skipped_but_never_seeing_one_fails() -> None:
    assert judge([(1, None, None), (2, 3, "a"), (3, None, "a"), (4, 3, "a")]).met
    never = judge([(1, None, None), (2, None, "a")])
    assert (never.met, never.failed_at, never.value) == (False, 2, MISSING)


def test_a_value_that_is_not_a_number_fails() -> None:
    sim = Session()
    sim.document = {"state": {"reported": {"sequence": "7"}}}
    watch = monitor(0, Expectation.model_validate(SEQUENCE), "weather-station")
    watch.observe(sim, 1.0)
    outcome = watch.finish(sim, 2.0)
    assert (outcome.met, outcome.failed_at, outcome.value) == (False, 1.0,
                                                               {"not a number": "7"})


@pytest.mark.parametrize(("extra", "message"), [
    ({"within": 10}, "monotonic stands alone"),
    ({"never": {"shadow_path": "state", "is_null": True}}, "stands alone"),
    ({"monotonic": {"per": "state.reported.boot_id"}}, "path"),
    ({"monotonic": {"path": "x", "within": "state.reported.boot_id"}}, "within"),
])
def test_the_schema_checks_a_monotonic_expectation(tmp_path: Path, extra: dict,
                                                    message: str) -> None:
    expectation = {**SEQUENCE, **extra}
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump({"name": "bad", "duration": 10,
                                    "expectations": [expectation]}))
    with pytest.raises(ScenarioError, match=message):
        load_scenario(path)


def test_every_shipped_scenario_with_readings_checks_the_sequence_never_goes_back() -> None:
    """Readings flow wherever a device program runs or a scenario publishes readings (unless
    the scenario is about their being refused before the Shadow)."""
    for path in sorted((ROOT / "scenarios").glob("*.yaml")):
        scenario = load_scenario(path)
        readings = scenario.device is not None or any(
            s.publish is not None and s.publish.topic == "bme680/readings"
            for s in scenario.stimuli)
        # a scenario whose readings never reach the Shadow (refused on the way, and it says
        # so with an absent sequence at the end) has no sequence to check
        refused = any(e.shadow is not None and e.shadow.path == "state.reported.sequence"
                      and e.shadow.absent for e in scenario.expectations)
        if not readings or refused:
            continue
        kinds = [e.monotonic for e in scenario.expectations if e.monotonic is not None]
        assert [(m.path, m.per) for m in kinds] == [
            ("state.reported.sequence", "state.reported.boot_id")], path.name
