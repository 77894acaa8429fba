"""``access_control`` in the group file: the V2 accessControl object, checked when the
group loads and enforced on every IPC call with the nucleus's rules."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.group import GroupError, load_group
from tests.harness.sim_helpers import simulate

GROUP = """\
name: g
core:
  thing: c
functions:
  - name: f
    module: f
    access_control:
      aws.greengrass.ShadowManager:
        "g.f:shadow:1":
          policyDescription: read the station
          operations:
            - aws.greengrass#GetThingShadow
            - aws.greengrass#PublishToTopic
          resources:
            - $aws/things/station?/shadow
          colour: blue
      aws.greengrass.Nope:
        x: {}
      aws.greengrass.ipc.pubsub:
        "g.f:pubsub:1":
          operations: []
"""


def test_bad_policies_are_reported_with_file_and_line(tmp_path: Path) -> None:
    file = tmp_path / "group.yaml"
    file.write_text(GROUP)
    with pytest.raises(GroupError) as caught:
        load_group(file)
    lines = str(caught.value).splitlines()
    assert lines == [
        f"{file}:13: functions.0.access_control.aws.greengrass.ShadowManager.g.f:shadow:1."
        "operations.1: 'aws.greengrass#PublishToTopic' is not an operation of "
        "aws.greengrass.ShadowManager; one of *, aws.greengrass#DeleteThingShadow, "
        "aws.greengrass#GetThingShadow, aws.greengrass#ListNamedShadowsForThing, "
        "aws.greengrass#UpdateThingShadow",
        f"{file}:15: functions.0.access_control.aws.greengrass.ShadowManager.g.f:shadow:1."
        "resources.0: Resource contains invalid character: '?'. Use an escape sequence: ${?}. "
        "The '?' character isn't supported as a wildcard",
        f"{file}:16: functions.0.access_control.aws.greengrass.ShadowManager.g.f:shadow:1."
        "colour: unknown field; a policy has policyDescription, operations, resources",
        f"{file}:17: functions.0.access_control.aws.greengrass.Nope: is not an IPC service "
        "that takes policies; one of " + lines[3].split("one of ", 1)[1],
        f"{file}:20: functions.0.access_control.aws.greengrass.ipc.pubsub.g.f:pubsub:1."
        "resources: must be a non-empty list (without it the nucleus ignores the policy and "
        "denies)",
        f"{file}:21: functions.0.access_control.aws.greengrass.ipc.pubsub.g.f:pubsub:1."
        "operations: must be a non-empty list (without it the nucleus ignores the policy and "
        "denies)",
    ]
    assert "aws.greengrass.ipc.mqttproxy" in lines[3]


CALLER = '''
import logging, os
from awsiot.greengrasscoreipc.clientv2 import GreengrassCoreIPCClientV2
from awsiot.greengrasscoreipc.model import BinaryMessage, PublishMessage

log = logging.getLogger("caller")

def function_handler(event, context):
    ipc = GreengrassCoreIPCClientV2()
    for call in (lambda: ipc.get_thing_shadow(thing_name="station"),
                 lambda: ipc.get_thing_shadow(thing_name="station", shadow_name="config"),
                 lambda: ipc.update_thing_shadow(thing_name="station", payload=b'{"state":{}}'),
                 lambda: ipc.publish_to_topic(topic="a/b", publish_message=PublishMessage(
                     binary_message=BinaryMessage(message=b"x")))):
        try:
            call()
            log.info("allowed")
        except Exception as error:
            log.info("%s: %s", type(error).__name__, error.message)
'''


@pytest.mark.parametrize("access, expected", [
    (None, ["denied GetThingShadow $aws/things/station/shadow",
            "denied GetThingShadow $aws/things/station/shadow/name/config",
            "denied UpdateThingShadow $aws/things/station/shadow",
            "denied pubsub"]),
    ({"aws.greengrass.ShadowManager": {"p": {
        "operations": ["aws.greengrass#GetThingShadow"],
        "resources": ["$aws/things/station/shadow*"]}}},
     ["ResourceNotFoundError: No shadow found", "ResourceNotFoundError: No shadow found",
      "denied UpdateThingShadow $aws/things/station/shadow", "denied pubsub"]),
    ({"aws.greengrass.ShadowManager": {"p": {"operations": ["*"], "resources": ["*"]}},
      "aws.greengrass.ipc.pubsub": {"q": {"operations": ["aws.greengrass#PublishToTopic"],
                                          "resources": ["a/*"]}}},
     ["ResourceNotFoundError: No shadow found", "ResourceNotFoundError: No shadow found",
      "allowed", "allowed"]),
])
def test_every_call_is_authorized_with_the_nucleus_rules(tmp_path: Path, access, expected
                                                        ) -> None:
    function = {"name": "caller", "module": "caller"}
    if access is not None:
        function["access_control"] = access
    group = {"functions": [function], "devices": [{"thing": "s"}],
             "subscriptions": [{"source": "device:s", "subject": "go",
                                "target": "function:caller"}]}
    with simulate(tmp_path, group, {"caller": CALLER}) as sim:
        sim.publish("s", "go", {})
        sim.run(1)
        seen = [line.split(",", 1)[1] for line in sim.logs("caller")]
    principal = "Principal test-group.caller is not authorized to perform "
    wanted = []
    for line in expected:
        if line == "denied pubsub":
            line = (f"UnauthorizedError: {principal}aws.greengrass.ipc.pubsub:"
                    "aws.greengrass#PublishToTopic on resource a/b")
        elif line.startswith("denied "):
            _, operation, resource = line.split(" ")
            line = (f"UnauthorizedError: {principal}aws.greengrass.ShadowManager:"
                    f"aws.greengrass#{operation} on resource {resource}")
        wanted.append(line)
    assert seen == wanted
