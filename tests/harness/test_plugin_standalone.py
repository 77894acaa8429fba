"""The pytest plugin in a user's own project: no conftest of ours, ``--strict-markers``.

Each test writes a small project with pytester (a group file, a Lambda, tests, a scenario)
and runs pytest on it in a subprocess, where the plugin comes in through its ``pytest11``
entry point as it would for a user.
"""

from __future__ import annotations

import textwrap

import pytest
import yaml

GROUP = {
    "name": "humidity-alerts",
    "core": {"thing": "alerts-core"},
    "functions": [{"name": "alert", "module": "alert", "timeout": 3}],
    "devices": [{"thing": "hygrometer"}],
    "subscriptions": [
        {"source": "device:hygrometer", "subject": "humidity", "target": "function:alert"},
        {"source": "function:alert", "subject": "alerts", "target": "cloud"},
    ],
}

ALERT = """
import json
import greengrasssdk

client = greengrasssdk.client("iot-data")

def function_handler(event, context):
    if event["humidity"] > 80:
        client.publish(topic="alerts", payload=json.dumps({"humidity": event["humidity"]}))
"""

SCENARIO = {
    "name": "a humid hour",
    "duration": 10,
    "stimuli": [{"at": 1, "publish": {"source": "hygrometer", "topic": "humidity",
                                      "payload": {"humidity": 90}}}],
    "expectations": [{"messages": {"topic": "alerts", "count": 1}}],
}


def _project(pytester: pytest.Pytester, ini: str = "", *, group_at: str = "group.yaml"
             ) -> None:
    group_path = pytester.path / group_at
    group_path.parent.mkdir(parents=True, exist_ok=True)
    group_path.write_text(yaml.safe_dump(GROUP, sort_keys=False))
    (group_path.parent / "alert.py").write_text(textwrap.dedent(ALERT))
    pytester.makeini("[pytest]\naddopts = --strict-markers -p no:cacheprovider\n" + ini)


def _run(pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
    return pytester.runpytest_subprocess("-n", "0", *args)


def test_markers_are_known_and_hil_items_are_left_out(pytester: pytest.Pytester) -> None:
    _project(pytester)
    pytester.makepyfile(test_marks="""
        import pytest

        @pytest.mark.hil
        def test_on_the_pi():
            pass

        @pytest.mark.gg_allow_failures("alert", kind="timeout")
        def test_plain():
            pass
    """)
    result = _run(pytester)
    result.assert_outcomes(passed=1, deselected=1)
    chosen = _run(pytester, "-m", "hil")
    chosen.assert_outcomes(passed=1, deselected=1)


def test_the_simulation_fixture_runs_the_projects_group(pytester: pytest.Pytester) -> None:
    _project(pytester)
    pytester.makepyfile(test_alert="""
        def test_a_humid_reading_raises_an_alert(simulation):
            assert simulation.group.name == "humidity-alerts"
            simulation.publish("hygrometer", "humidity", {"humidity": 91})
            simulation.run(1)
            assert [m.json() for m in simulation.messages("alerts")] == [{"humidity": 91}]
    """)
    _run(pytester).assert_outcomes(passed=1)


def test_the_group_comes_from_the_ini_option(pytester: pytest.Pytester) -> None:
    _project(pytester, "gg_group = edge/functions/group.yaml\n",
             group_at="edge/functions/group.yaml")
    pytester.makepyfile(test_group="""
        def test_group(simulation):
            assert simulation.group.name == "humidity-alerts"
    """)
    _run(pytester).assert_outcomes(passed=1)


def test_a_group_option_naming_no_file_is_a_usage_error(pytester: pytest.Pytester) -> None:
    _project(pytester, "gg_group = nowhere/group.yaml\n")
    pytester.makepyfile(test_x="def test_x():\n    pass\n")
    result = _run(pytester)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*gg_group in *: no group file at nowhere/group.yaml*"])
    assert "Traceback" not in result.stderr.str()


def test_scenarios_are_collected_where_the_ini_option_says(pytester: pytest.Pytester) -> None:
    _project(pytester, "gg_scenarios = checks/**/*.scenario.yaml\n")
    folder = pytester.path / "checks" / "humidity"
    folder.mkdir(parents=True)
    (folder / "humid.scenario.yaml").write_text(yaml.safe_dump(SCENARIO))
    (pytester.path / "checks" / "other.yaml").write_text("name: not a scenario\n")
    result = _run(pytester, "-v")
    result.stdout.fnmatch_lines(["*checks/humidity/humid.scenario.yaml::humid PASSED*"])
    result.assert_outcomes(passed=1)


def test_the_default_globs_take_scenarios_folders_but_not_group_files(
        pytester: pytest.Pytester) -> None:
    _project(pytester, group_at="scenarios/group.yaml")  # a group file among the scenarios
    (pytester.path / "scenarios" / "humid.yaml").write_text(yaml.safe_dump(SCENARIO))
    (pytester.path / "config.yaml").write_text(yaml.safe_dump(SCENARIO))  # not in scenarios/
    result = _run(pytester, "--gg-group", "scenarios/group.yaml", "-v")
    result.stdout.fnmatch_lines(["*scenarios/humid.yaml::humid PASSED*"])
    result.assert_outcomes(passed=1)


def test_fixtures_show_their_docstrings(pytester: pytest.Pytester) -> None:
    _project(pytester)
    result = _run(pytester, "--fixtures", "-v")
    text = result.stdout.str()
    result.stdout.fnmatch_lines_random([
        "simulation -- *", "*The project's group on a simulated core*",
        "simulation_factory -- *", "*Opens simulations*", "*gg_allow_failures*",
        "rig *-- *", "station -- *", "shadow -- *", "sensor -- *"])
    assert "no docstring available" not in text


def test_help_lists_the_options_and_ini_settings(pytester: pytest.Pytester) -> None:
    _project(pytester)
    result = _run(pytester, "--help")
    result.stdout.fnmatch_lines_random([
        "*Greengrass harness*", "*--gg-group=PATH*", "*--rig=*", "*--gg-scenarios=GLOB*",
        "*--gg-results=DIR*", "*gg_group (string)*", "*gg_scenarios (args)*",
        "*gg_results (string)*"])
    markers = _run(pytester, "--markers")
    markers.stdout.fnmatch_lines_random(["@pytest.mark.hil:*", "@pytest.mark.scenario:*",
                                         "@pytest.mark.gg_allow_failures(*"])


def test_the_command_line_globs_replace_the_ini_ones_and_named_files_always_count(
        pytester: pytest.Pytester) -> None:
    _project(pytester, "gg_scenarios = nowhere/*.yaml\n")
    (pytester.path / "checks").mkdir()
    (pytester.path / "checks" / "humid.scenario.yaml").write_text(yaml.safe_dump(SCENARIO))
    (pytester.path / "dry.yaml").write_text(yaml.safe_dump(SCENARIO))
    _run(pytester).assert_outcomes()  # nothing matches the ini's glob
    _run(pytester, "--gg-scenarios", "checks/*.scenario.yaml").assert_outcomes(passed=1)
    _run(pytester, "dry.yaml").assert_outcomes(passed=1)  # named: a scenario whatever its name


@pytest.mark.parametrize(("pattern", "path", "matched"), [
    ("**/scenarios/*.yaml", "scenarios/a.yaml", True),
    ("**/scenarios/*.yaml", "x/y/scenarios/a.yaml", True),
    ("**/scenarios/*.yaml", "scenarios/sub/a.yaml", False),
    ("**/scenarios/*.yaml", "myscenarios/a.yaml", False),
    ("tests/**/*.scenario.yaml", "tests/a.scenario.yaml", True),
    ("tests/**/*.scenario.yaml", "tests/x/y/a.scenario.yaml", True),
    ("tests/**/*.scenario.yaml", "tests/x/a.yaml", False),
    ("checks/[!_]*.yml", "checks/a.yml", True),
    ("checks/[!_]*.yml", "checks/_a.yml", False),
    ("checks/?.yml", "checks/ab.yml", False),
])
def test_scenario_globs(pattern: str, path: str, matched: bool) -> None:
    from harness.scenarios.collect import glob_regex

    assert bool(glob_regex(pattern).match(path)) is matched
