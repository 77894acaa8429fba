"""Times and bytes mean the same on every rig: a scenario that compares the core clock's times
(a reading's ``timestamp``, the Shadow's metadata stamps) in scenario seconds, and checks a
binary payload by its bytes, passes on the ``--rig`` it runs on (``pytest -m hil --rig
broker``; on the sim rig it runs too). A rig that cannot run it skips with the reason."""

from __future__ import annotations

from typing import Any

import pytest

from harness.rigs.base import RigCannotRun
from harness.scenarios.runner import run_scenario
from harness.scenarios.schema import Scenario

pytestmark = pytest.mark.hil

READINGS = "bme680/readings"
SCENARIO = {
    "name": "time on every rig", "duration": 60,
    "environment": {"profile": {"steady": {"temperature": 15, "pressure": 1010,
                                           "humidity": 50}}},
    "device": {"thing": "bme680-sensor", "period": 5},
    "stimuli": [{"at": 12, "publish": {"source": "bme680-sensor", "topic": READINGS,
                                       "payload_hex": "00 ff 10 80 c3"}}],
    # the bytes are not JSON: republish (json encoding) fails that invocation before its
    # handler runs, as the Lambda runtime does; expected here, so allowed
    "allow_failures": [{"function": "republish", "kind": "handler_error"}],
    "expectations": [
        # every reading is stamped by the core's clock within the run, in scenario seconds
        {"messages": {"topic": READINGS, "count": 0, "where": {"path": "timestamp",
                                                                "lt": {"since_start": -1}}}},
        {"messages": {"topic": READINGS, "count": 0, "where": {"path": "timestamp",
                                                                "gt": {"since_start": 61}}}},
        {"messages": {"topic": READINGS, "count": {"min": 8},
                      "where": {"path": "timestamp", "after_start": True}}},
        # the Shadow's reading is fresh by the core's clock (a reading every 5 s, written a
        # few seconds after it is taken)
        {"always": {"shadow": {"path": "state.reported.timestamp",
                               "within_seconds_of_now": 16}}, "after": 30, "until": 60},
        {"shadow": {"path": "metadata.reported.temperature.timestamp", "after_start": True,
                    "le": {"since_start": 61}}},
        # the bytes cross the broker intact
        {"messages": {"topic": READINGS, "count": 1, "payload": {"hex": "00ff1080c3"}}},
    ]}


def test_times_and_bytes_are_judged_alike_on_the_rig(rig: Any) -> None:
    try:
        result = run_scenario(Scenario.model_validate(SCENARIO), rig=rig)
    except RigCannotRun as error:
        pytest.skip(str(error))
    assert result.passed, result.report()
