"""A scenario's names checked against its group before anything runs: functions, devices,
and the things whose Shadows it changes or checks, each at its line with the closest name."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.group import Group
from harness.scenarios.loading import ScenarioError, load_scenario
from harness.scenarios.runner import check_against_group

GROUP = {
    "name": "greenhouse",
    "core": {"thing": "greenhouse-core"},
    "functions": [{"name": "humidity_alert", "module": "humidity_alert"}],
    "devices": [{"thing": "hygrometer"}],
}


def _problems(tmp_path: Path, text: str, group: dict | None = None) -> str:
    path = tmp_path / "s.yaml"
    path.write_text(text)
    try:
        check_against_group(load_scenario(path), Group.model_validate(group or GROUP))
    except ScenarioError as error:
        return str(error)
    return ""


HEAD = "name: s\nduration: 10\n"


@pytest.mark.parametrize(("body", "said"), [
    ("stimuli:\n  - {at: 1, desired: {thing: hygrometr, state: {a: 1}}}\n"
     "expectations:\n  - messages: {topic: t, count: 0}\n",
     "s.yaml:4: stimuli.0.desired.thing: no thing 'hygrometr' in group 'greenhouse' "
     "(did you mean 'hygrometer'?)"),
    ("stimuli:\n  - {at: 1, delete_shadow: {thing: greenhouse-cor}}\n"
     "expectations:\n  - messages: {topic: t, count: 0}\n",
     "s.yaml:4: stimuli.0.delete_shadow.thing: no thing 'greenhouse-cor'"),
    ("faults:\n  - {at: 1, lambda_timeout: {function: humidity_alrt}}\n"
     "expectations:\n  - messages: {topic: t, count: 0}\n",
     "s.yaml:4: faults.0.lambda_timeout.function: no function 'humidity_alrt' in group "
     "'greenhouse' (did you mean 'humidity_alert'?)"),
    ("expectations:\n  - stats: {function: humidity, field: errors, equals: 0}\n",
     "s.yaml:4: expectations.0.stats.function: no function 'humidity'"),
    ("expectations:\n  - within: 5\n    shadow: {thing: hygro, path: a, present: true}\n",
     "s.yaml:5: expectations.0.shadow.thing: no thing 'hygro'"),
    ("expectations:\n  - shadow: {path: a, present: true}\n",
     "no thing 'weather-station' in group 'greenhouse' (things: greenhouse-core, hygrometer);"
     " 'weather-station' is the default: say which thing with thing:"),
    ("expectations:\n  - never: {thing: x, shadow_path: a, is_null: true}\n",
     "s.yaml:4: expectations.0.never.thing: no thing 'x'"),
    ("expectations:\n  - monotonic: {thing: x, path: a}\n",
     "s.yaml:4: expectations.0.monotonic.thing: no thing 'x'"),
    ("expectations:\n  - always: {in_sync: {thing: x}}\n",
     "s.yaml:4: expectations.0.always.in_sync.thing: no thing 'x'"),
    ("expectations:\n  - log: {function: 'device:hygrometre', contains: x}\n",
     "expectations.0.log.function: no device 'hygrometre' in group 'greenhouse' (did you "
     "mean 'hygrometer'?)"),
    ("stimuli:\n  - {at: 1, publish: {source: 'function:alert', topic: t, payload: {}}}\n"
     "expectations:\n  - messages: {topic: t, count: 0}\n",
     "s.yaml:4: stimuli.0.publish.source: no function 'alert'"),
])
def test_a_name_the_group_lacks_is_said_at_its_line(tmp_path: Path, body: str,
                                                    said: str) -> None:
    assert said in _problems(tmp_path, HEAD + body)


def test_the_groups_own_names_pass(tmp_path: Path) -> None:
    body = ("stimuli:\n  - {at: 1, publish: {source: hygrometer, topic: t, payload: {}}}\n"
            "  - {at: 2, desired: {thing: greenhouse-core, state: {a: 1}}}\n"
            "faults:\n  - {at: 1, lambda_timeout: {function: humidity_alert}}\n"
            "expectations:\n  - shadow: {thing: hygrometer, path: a, present: true}\n"
            "  - log: {function: humidity_alert, contains: x}\n")
    assert _problems(tmp_path, HEAD + body) == ""


def _with_access(resource: str) -> dict:
    function = {**GROUP["functions"][0], "access_control": {
        "aws.greengrass.ShadowManager": {"p": {
            "operations": ["aws.greengrass#GetThingShadow"], "resources": [resource]}}}}
    return {**GROUP, "functions": [function]}


def test_a_thing_a_function_may_reach_by_its_access_control_is_known(tmp_path: Path) -> None:
    body = "expectations:\n  - shadow: {thing: greenhouse-room, path: a, present: true}\n"
    assert "no thing 'greenhouse-room'" in _problems(tmp_path, HEAD + body)
    allowed = _with_access("$aws/things/greenhouse-room/shadow")
    assert _problems(tmp_path, HEAD + body, allowed) == ""
    anything = _with_access("$aws/things/*/shadow")
    other = body.replace("greenhouse-room", "any-thing")
    assert _problems(tmp_path, HEAD + other, anything) == ""
