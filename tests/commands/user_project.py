"""A user's own tiny project, written into a folder: a group of one Lambda (written next to
its group file, as the harness expects), one device, and scenarios for it. Nothing of the
weather station: a run that used the station's group instead could not pass."""

from __future__ import annotations

from pathlib import Path

GROUP = """\
name: greenhouse
core: {thing: greenhouse-core}
functions:
  - name: humidity_alert
    module: humidity_alert
    encoding: json
devices:
  - thing: hygrometer
subscriptions:
  - source: device:hygrometer
    subject: greenhouse/humidity
    target: function:humidity_alert
  - source: function:humidity_alert
    subject: greenhouse/alerts
    target: cloud
"""

LAMBDA = '''\
"""The user's Lambda: an alert to the cloud when the humidity is above 80 %RH."""
import json
import logging

import greengrasssdk

logger = logging.getLogger(__name__)
iot_data = greengrasssdk.client("iot-data")


def function_handler(event, context):
    if event.get("humidity", 0) > 80:
        logger.info("humidity alert: %s", event["humidity"])
        iot_data.publish(topic="greenhouse/alerts",
                         payload=json.dumps({"alert": event["humidity"]}))
'''

#: passes only when the user's Lambda ran: its log line and its message to the cloud
WET = """\
name: wet greenhouse
duration: 10
stimuli:
  - at: 1
    publish: {source: hygrometer, topic: greenhouse/humidity, payload: {humidity: 91}}
expectations:
  - within: 5
    messages: {topic: greenhouse/alerts, count: 1}
  - log: {function: humidity_alert, contains: "humidity alert: 91"}
"""


def own_group(scenario: str, group: str = "../greenhouse/group.yaml") -> str:
    """``scenario`` naming its group file (relative to the scenario's folder)."""
    first, rest = scenario.split("\n", 1)
    return f"{first}\ngroup: {group}\n{rest}"


def write_project(root: Path) -> dict[str, Path]:
    """The project under ``root``: ``greenhouse/group.yaml`` with ``humidity_alert.py``
    beside it, and ``checks/wet.yaml`` (no group: of its own) and ``checks/own.yaml``
    (``group: ../greenhouse/group.yaml``)."""
    group = root / "greenhouse" / "group.yaml"
    group.parent.mkdir(parents=True, exist_ok=True)
    group.write_text(GROUP)
    (group.parent / "humidity_alert.py").write_text(LAMBDA)
    checks = root / "checks"
    checks.mkdir(exist_ok=True)
    wet = checks / "wet.yaml"
    wet.write_text(WET)
    own = checks / "own.yaml"
    own.write_text(own_group(WET.replace("wet greenhouse", "wet greenhouse, own group")))
    return {"group": group, "wet": wet, "own": own, "root": root}
