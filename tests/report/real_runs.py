"""Real runs for the report tests: the weather station's rainy day, squeezed into two
simulated hours, and a user's own project that has nothing of the station's.

The user's project is a folder of its own (a greenhouse): its group file, one Lambda that
reports ``humidity`` and ``humidity_alert`` in its own thing's Shadow over the Greengrass V2
IPC (``awsiot.greengrasscoreipc``, as our Lambdas reach ShadowManager) and publishes an alert
upstream when the air is too humid, and a scenario where a hygrometer's readings cross the
limit. It runs on :class:`~harness.rigs.sim.SimRig` of its own group.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from harness.report.html import write_html
from harness.report.plots import PlotInfo, render_plots
from harness.report.results import RunResult, record_run
from harness.rigs.sim import SimRig

REPO = Path(__file__).resolve().parents[2]
RAINY_DAY = REPO / "scenarios" / "rainy_day.yaml"
SHORT = 7200.0  # the rainy day's length here: two simulated hours (a few seconds to run)

USER_GROUP = """\
name: greenhouse
region: eu-west-1
account: "210987654321"
core:
  thing: greenhouse-core
functions:
  - name: humidity_alert
    module: humidity_alert
    timeout: 5
    memory_mb: 64
    encoding: json
    access_control:
      aws.greengrass.ShadowManager:
        "greenhouse.humidity_alert:shadow:1":
          operations: [aws.greengrass#GetThingShadow, aws.greengrass#UpdateThingShadow]
          resources: [$aws/things/greenhouse/shadow]
devices:
  - thing: hygrometer
  - thing: greenhouse
subscriptions:
  - source: device:hygrometer
    subject: greenhouse/humidity
    target: function:humidity_alert
  - source: function:humidity_alert
    subject: greenhouse/alerts
    target: cloud
"""

USER_LAMBDA = '''\
"""Says, in the greenhouse's Shadow, whether the air is too humid (Greengrass V2 IPC)."""
import json
import logging

import greengrasssdk
from awsiot.greengrasscoreipc.clientv2 import GreengrassCoreIPCClientV2

log = logging.getLogger(__name__)
LIMIT = 80.0
iot_data = greengrasssdk.client("iot-data")
ipc = None


def function_handler(event, context):
    global ipc
    if ipc is None:
        ipc = GreengrassCoreIPCClientV2()
    humidity = float(event["humidity"])
    alert = humidity > LIMIT
    ipc.update_thing_shadow(thing_name="greenhouse", payload=json.dumps(
        {"state": {"reported": {"humidity": humidity, "humidity_alert": alert}}}).encode())
    log.info("humidity %.1f %%: alert %s", humidity, alert)
    if alert:
        iot_data.publish(topic="greenhouse/alerts", payload=json.dumps({"humidity": humidity}))
'''

USER_SCENARIO = """\
name: humid afternoon
description: the hygrometer reads 60 %, then 90 %; the alert follows
duration: 120
stimuli:
  - {at: 10, publish: {source: hygrometer, topic: greenhouse/humidity, payload: {humidity: 60}}}
  - {at: 40, publish: {source: hygrometer, topic: greenhouse/humidity, payload: {humidity: 70}}}
  - {at: 70, publish: {source: hygrometer, topic: greenhouse/humidity, payload: {humidity: 90}}}
  - {at: 100, publish: {source: hygrometer, topic: greenhouse/humidity, payload: {humidity: 85}}}
expectations:
  - within: 30
    shadow: {thing: greenhouse, path: state.reported.humidity_alert, equals: false}
  - description: the alert is raised once the air is humid
    within: 80
    after: 70
    shadow: {thing: greenhouse, path: state.reported.humidity_alert, equals: true}
  - messages: {topic: greenhouse/alerts, count: {min: 1}}
  - stats: {function: humidity_alert, field: errors, equals: 0}
"""


def user_project(folder: Path) -> tuple[Path, Path]:
    """Write the greenhouse project into ``folder``: its group file and scenario paths."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "group.yaml").write_text(USER_GROUP)
    (folder / "humidity_alert.py").write_text(USER_LAMBDA)
    (folder / "humid_afternoon.yaml").write_text(USER_SCENARIO)
    return folder / "group.yaml", folder / "humid_afternoon.yaml"


def short_rainy_day(folder: Path, duration: float = SHORT) -> Path:
    """The rainy day with every time in it scaled to ``duration`` (its weather, faults,
    truth and deadlines alike), written as ``rainy_day.yaml`` into ``folder``."""
    data: dict[str, Any] = yaml.safe_load(RAINY_DAY.read_text())
    factor = duration / float(data["duration"])

    def scale(value: float) -> float:
        return round(float(value) * factor, 3)

    data["duration"] = float(duration)
    data["step"] = scale(data["step"])
    for point in data["environment"]["points"]:
        point["at"] = scale(point["at"])
    for interval in data["truth"]["rain"]:
        interval["start"], interval["end"] = scale(interval["start"]), scale(interval["end"])
    for fault in data["faults"]:
        fault["at"] = scale(fault["at"])
        if "duration" in fault:
            fault["duration"] = max(scale(fault["duration"]), 1.0)
    for expectation in data["expectations"]:
        for key in ("within", "after"):
            if key in expectation:
                expectation[key] = scale(expectation[key])
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "rainy_day.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


@dataclass
class RealReport:
    """A run and its report folder: the result, its plots and ``report.html``."""

    result: RunResult
    plots: dict[str, PlotInfo]
    path: Path

    @property
    def text(self) -> str:
        return self.path.read_text(encoding="utf-8")


def report_of(scenario: Path, folder: Path, group: Path | None = None) -> RealReport:
    """Run ``scenario`` on the sim rig (of ``group``, the station's by default) and write
    its report into ``folder``."""
    rig = SimRig(group) if group is not None else None
    result = record_run(scenario, rig=rig)
    plots = render_plots(result, folder)
    result.write(folder / "results.json")
    return RealReport(result, plots, write_html(result, folder, plots))
