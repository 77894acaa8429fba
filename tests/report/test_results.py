"""What a run's results hold beyond the verdicts: the Shadows it touched, the traffic per
topic, the functions' logs; and that results.json keeps them."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from harness.report.plots import render_plots
from harness.report.results import (
    TRAFFIC_BINS,
    RunResult,
    record_run,
    shadow_sample,
    touched_shadows,
    traffic,
    updated_shadows,
)
from harness.rigs.sim import SimRig
from harness.scenarios.schema import Scenario
from tests.report.real_runs import USER_GROUP, USER_LAMBDA, RealReport, user_project


@dataclass
class _Message:
    time: float
    topic: str
    payload: bytes = b""


def test_traffic_is_counted_per_topic_and_stretch() -> None:
    messages = [_Message(0.0, "b"), _Message(0.9, "b"), _Message(1.0, "a"),
                _Message(119.5, "a"), _Message(120.0, "a")]
    counts = traffic(messages, 120.0)
    assert list(counts) == ["a", "b"]
    assert len(counts["a"]) == TRAFFIC_BINS
    assert counts["b"][0] == 2 and sum(counts["b"]) == 2
    assert counts["a"][1] == 1 and counts["a"][-1] == 2  # the end falls in the last stretch


def test_the_shadows_a_scenario_names_are_touched() -> None:
    scenario = Scenario.model_validate({
        "name": "s", "duration": 10,
        "stimuli": [{"at": 1, "desired": {"thing": "lamp", "state": {"on": True}}},
                    {"at": 2, "delete_shadow": {"thing": "door"}}],
        "expectations": [
            {"shadow": {"thing": "lamp", "path": "state.reported.on", "equals": True}},
            {"never": {"thing": "fan", "shadow_path": "state.reported.x", "is_null": True}},
            {"monotonic": {"thing": "fan", "path": "state.reported.n"}},
            {"messages": {"topic": "t", "count": 1}},
        ]}, strict=False)
    assert touched_shadows(scenario) == [("lamp", None), ("fan", None), ("door", None)]


def test_updated_shadows_are_found_in_their_messages() -> None:
    document = {"current": {"state": {"reported": {"on": True, "level": 3, "name": "x",
                                                  "inner": {"v": 1.5}}}, "version": 4}}
    messages = [
        _Message(5.0, "$aws/things/lamp/shadow/name/night/update/documents",
                 json.dumps(document).encode()),
        _Message(6.0, "$aws/things/lamp/shadow/delete/accepted", b"{}"),
        _Message(7.0, "$aws/things/lamp/shadow/get/accepted", b"{}"),
        _Message(8.0, "lamp/on", b"{}"),
    ]
    found = updated_shadows(messages)
    assert list(found) == [("lamp", "night"), ("lamp", None)]
    sample, = found[("lamp", "night")]
    assert (sample.t, sample.version) == (5.0, 4)
    assert sample.reported == {"on": True, "level": 3, "inner.v": 1.5}  # numbers, flags
    assert found[("lamp", None)][0].version is None  # deleted
    assert shadow_sample(1.0, None).version is None


def test_results_json_keeps_shadows_logs_traffic_and_sentences(
        user_report: RealReport, tmp_path: Path) -> None:
    result = user_report.result
    again = RunResult.read(result.write(tmp_path / "results.json"))
    assert again == result
    assert again.thing == "greenhouse"
    assert [track.key for track in again.shadows] == ["greenhouse"]
    assert again.shadows[0].fields == ["humidity", "humidity_alert"]
    log, = [log for log in again.logs if log.name == "humidity_alert"]
    assert log.kind == "function" and log.total == len(log.lines)
    said = [line.split(",", 1)[1] for line in log.lines if "humidity_alert.py" in line]
    assert said == ["humidity 60.0 %: alert False", "humidity 70.0 %: alert False",
                    "humidity 90.0 %: alert True", "humidity 85.0 %: alert True"]
    assert sum(again.traffic["greenhouse/alerts"]) == 2
    assert again.outcomes[0].sentence == (
        "Within 30 s, the greenhouse Shadow's reported humidity_alert is false.")


def test_an_older_results_file_still_reads(user_report: RealReport) -> None:
    data = json.loads(user_report.result.to_json())
    for key in ("thing", "shadows", "logs", "traffic"):
        del data[key]
    for outcome in data["outcomes"]:
        del outcome["sentence"]
    old = RunResult.from_dict(data)
    assert old.shadows == [] and old.logs == [] and old.traffic == {}
    assert old.outcomes[0].sentence == ""


def test_a_named_shadow_the_lambda_updates_gets_its_own_plot(tmp_path: Path) -> None:
    """The greenhouse Lambda also reports its limit in a named Shadow, ``limits``: the run
    finds it in the Shadow's update messages and the report plots it."""
    group, scenario = user_project(tmp_path / "greenhouse")
    named = "$aws/things/greenhouse/shadow/name/limits"
    group.write_text(USER_GROUP.replace("resources: [$aws/things/greenhouse/shadow]",
                                        f"resources: [$aws/things/greenhouse/shadow, {named}]"))
    (group.parent / "humidity_alert.py").write_text(USER_LAMBDA.replace("    log.info(", """\
    ipc.update_thing_shadow(thing_name="greenhouse", shadow_name="limits", payload=json.dumps(
        {"state": {"reported": {"limit": LIMIT}}}).encode())
    log.info(""", 1))
    result = record_run(scenario, rig=SimRig(group))
    assert result.passed
    limits = result.shadows[1]
    assert (limits.key, limits.fields) == ("greenhouse/limits", ["limit"])
    assert [(s.t, s.version, s.reported) for s in limits.samples] == [
        (t, version, {"limit": 80.0}) for version, t in enumerate((10.0, 40.0, 70.0, 100.0), 1)]
    drawn = render_plots(result, tmp_path / "report")
    assert list(drawn) == ["shadow-greenhouse", "shadow-greenhouse-limits", "traffic",
                           "messages"]
    assert drawn["shadow-greenhouse-limits"].series["reported limit"] == 5  # and at the end
    assert 'the "limits" Shadow of greenhouse' in drawn["shadow-greenhouse-limits"].caption
