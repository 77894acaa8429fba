"""A scenario's ``group_changes:`` changes, and what a run says about messages that stopped."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.group import load_group
from harness.report.results import RunResult, record_run
from harness.rigs.broker import BrokerRig
from harness.rigs.sim import SimRig
from harness.scenarios.group_changes import GroupChangeError, changed_group
from harness.scenarios.loading import ScenarioError, load_scenario
from harness.scenarios.needs import missing
from harness.scenarios.runner import check_against_rig
from harness.scenarios.schema import GroupChanges
from harness.simulation import DEFAULT_GROUP

SCENARIOS = Path(__file__).resolve().parents[2] / "scenarios"


def test_a_function_field_set_to_null_is_removed() -> None:
    group = load_group(DEFAULT_GROUP)
    changed = changed_group(group, GroupChanges(functions={"republish": {"access_control": None,
                                                                         "timeout": 5}}))
    republish = changed.function("republish")
    assert republish.access_control is None and republish.timeout == 5
    assert group.function("republish").access_control is not None  # the original is intact
    assert changed.function("inference").access_control is not None


def test_client_devices_are_replaced_whole() -> None:
    group = load_group(DEFAULT_GROUP)
    changed = changed_group(group, GroupChanges(client_devices={"trust_duration_minutes": 1}))
    assert changed.client_devices.trust_duration_minutes == 1
    assert group.client_devices.trust_duration_minutes == 1440


@pytest.mark.parametrize(("changes", "message"), [
    (GroupChanges(functions={"nope": {"timeout": 3}}), "no function 'nope'"),
    (GroupChanges(functions={"republish": {"name": "other"}}), "cannot be changed"),
    (GroupChanges(functions={"republish": {"timeout": "soon"}}),
     "the changed group's functions.republish.timeout"),
    (GroupChanges(client_devices={"trust_duration_minutes": 0}),
     "the changed group's client_devices.trust_duration_minutes"),
])
def test_a_bad_change_is_named(changes: GroupChanges, message: str) -> None:
    with pytest.raises(GroupChangeError, match=message):
        changed_group(load_group(DEFAULT_GROUP), changes)


def test_a_bad_change_is_reported_at_the_scenarios_line(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text("name: bad\nduration: 5\ngroup_changes:\n  functions:\n    nope: {timeout: 3}\n"
                    "expectations:\n  - stats: {function: republish, field: errors, equals: 0}\n")
    scenario = load_scenario(path)
    with pytest.raises(ScenarioError) as caught:
        check_against_rig(scenario, SimRig(DEFAULT_GROUP))
    assert f"{path}:5:" in str(caught.value) and "no function 'nope'" in str(caught.value)


def test_only_the_sim_rig_runs_a_changed_group() -> None:
    scenario = load_scenario(SCENARIOS / "v2_missing_bridge_mapping.yaml")
    assert missing(scenario, SimRig.capabilities) == []
    assert any("group_changes:" in reason for reason in missing(scenario, BrokerRig.capabilities))


def test_the_run_says_where_the_readings_stopped(tmp_path: Path) -> None:
    result = record_run(SCENARIOS / "v2_missing_bridge_mapping.yaml")
    assert result.passed
    [(text, count)] = [(t, c) for t, c in result.problems.items() if "bme680/readings" in t]
    assert "no bridge mapping relays bme680/readings from LocalMqtt" in text
    assert count == result.messages["bme680/readings"]
    path = result.write(tmp_path / "results.json")
    assert RunResult.read(path).problems == result.problems


def test_a_refused_legacy_shadow_call_is_in_the_runs_problems(tmp_path: Path) -> None:
    """greengrasssdk's local Shadow on a V2 core: refused, and the summary says why."""
    from harness.report.results import platform_problems
    from harness.rigs.sim import SimulationBacked
    from harness.simulation import Simulation
    from tests.harness.sim_helpers import write_group

    module = """
import greengrasssdk
client = greengrasssdk.client("iot-data")
def function_handler(event, context):
    client.get_thing_shadow(thingName="t")
"""
    path = write_group(tmp_path, {
        "functions": [{"name": "old", "module": "old_fn"}], "devices": [{"thing": "d"}],
        "subscriptions": [{"source": "device:d", "subject": "go", "target": "function:old"}]},
        {"old_fn": module})
    session = SimulationBacked()
    with Simulation.from_group(path) as session.sim:
        session.sim.publish("d", "go", {})
        session.sim.run(5)
        problems = platform_problems(session)  # type: ignore[arg-type]
    [text] = [t for t in problems if "greengrasssdk's local shadow" in t]
    assert "must use the AWS IoT Device SDK V2 shadow IPC" in text
