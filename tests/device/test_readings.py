"""The reading message: the republish Lambda's contract, and the Lambda's own view of it."""

from __future__ import annotations

import json
import math
from typing import Any

import pytest

from device.loop import run
from device.readings import (
    TOPIC,
    Measurement,
    encode,
    fail_message,
    reading_message,
    success_message,
)
from tests.device.doubles import EIO, OK, FakeClock, ScriptedWorld


def test_success_message_has_exactly_the_contract_fields() -> None:
    message = success_message(7, Measurement(21.37, 1013.25, 45.1))
    assert message == {
        "sequence": 7,
        "temperature": 21.37,
        "pressure": 1013.25,
        "humidity": 45.1,
        "message": "Success",
    }


def test_gas_resistance_is_added_only_when_heat_stable() -> None:
    stable = success_message(1, Measurement(20.0, 1000.0, 50.0, 12345.5, heat_stable=True))
    unstable = success_message(1, Measurement(20.0, 1000.0, 50.0, 12345.5, heat_stable=False))
    assert stable["gas_resistance"] == 12345.5
    assert "gas_resistance" not in unstable


def test_fail_message_has_nulls() -> None:
    assert fail_message(3) == {
        "sequence": 3,
        "temperature": None,
        "pressure": None,
        "humidity": None,
        "message": "Fail",
    }
    assert reading_message(3, None) == fail_message(3)


def test_the_run_and_time_fields_come_after_the_sequence() -> None:
    message = success_message(7, Measurement(21.37, 1013.25, 45.1), boot_id="0f3a",
                              timestamp=1_700_000_000.12345)
    assert list(message) == ["sequence", "boot_id", "timestamp", "temperature", "pressure",
                             "humidity", "message"]
    assert (message["boot_id"], message["timestamp"]) == ("0f3a", 1_700_000_000.123)
    failed = fail_message(8, boot_id="0f3a", timestamp=1_700_000_005)
    assert encode(failed) == (
        b'{"sequence":8,"boot_id":"0f3a","timestamp":1700000005.0,"temperature":null,'
        b'"pressure":null,"humidity":null,"message":"Fail"}')
    assert reading_message(8, None, boot_id="0f3a", timestamp=1_700_000_005) == failed


@pytest.mark.parametrize(
    ("boot_id", "timestamp", "error"),
    [
        ("0f3a", None, ValueError),  # both or neither
        (None, 1_700_000_000.0, ValueError),
        ("", 1_700_000_000.0, ValueError),
        ("has space", 1_700_000_000.0, ValueError),
        ("x" * 65, 1_700_000_000.0, ValueError),
        ("0f3a", -1.0, ValueError),
        ("0f3a", math.inf, ValueError),
        ("0f3a", True, TypeError),
        ("0f3a", "1700000000", TypeError),
    ],
)
def test_bad_run_or_time_fields_are_refused(boot_id: Any, timestamp: Any, error: type) -> None:
    with pytest.raises(error):
        success_message(1, Measurement(20.0, 1000.0, 50.0), boot_id=boot_id,
                        timestamp=timestamp)


def test_encoding_is_compact_utf8_json() -> None:
    payload = encode(fail_message(1))
    assert payload == (
        b'{"sequence":1,"temperature":null,"pressure":null,"humidity":null,"message":"Fail"}'
    )


@pytest.mark.parametrize(
    ("sequence", "measurement", "error"),
    [
        (True, Measurement(20.0, 1000.0, 50.0), TypeError),
        (1.0, Measurement(20.0, 1000.0, 50.0), TypeError),
        (1, Measurement(math.nan, 1000.0, 50.0), ValueError),
        (1, Measurement(20.0, math.inf, 50.0), ValueError),
        (1, Measurement(20.0, 1000.0, "50"), TypeError),  # type: ignore[arg-type]
    ],
)
def test_bad_values_are_refused(sequence: Any, measurement: Measurement, error: type) -> None:
    with pytest.raises(error):
        success_message(sequence, measurement)


def test_the_topic_is_the_one_the_group_routes_to_republish() -> None:
    assert TOPIC == "bme680/readings"


def test_the_republish_lambda_accepts_the_device_messages(simulation: Any) -> None:
    """End to end: the loop's messages through the simulated core to the Shadow."""
    clock = FakeClock()
    world = ScriptedWorld([OK, EIO], clock)
    sent: list[bytes] = []

    def publish(topic: str, payload: bytes) -> None:
        sent.append(payload)
        simulation.publish("bme680-sensor", topic, payload)
        simulation.run(30)  # the Lambda samples the CPU temperature for a few seconds

    run(world.factory, publish, clock, count=1)
    first = json.loads(sent[0])
    reported = simulation.shadow("weather-station")["state"]["reported"]
    assert reported["message"] == "Success" and "error" not in reported  # null deletes it
    assert reported["sequence"] == first["sequence"] == 1
    assert (reported["pressure"], reported["humidity"]) == (first["pressure"], first["humidity"])

    run(world.factory, publish, clock, count=1)  # the scripted EIO: a Fail message
    reported = simulation.shadow("weather-station")["state"]["reported"]
    assert reported["message"] == "Fail"
    assert reported["pressure"] == first["pressure"]  # the last good values are kept


def test_the_republish_lambda_ignores_the_gas_field(simulation: Any) -> None:
    message = success_message(5, Measurement(20.0, 1000.0, 50.0, 54321.0, heat_stable=True))
    simulation.publish("bme680-sensor", TOPIC, encode(message))
    simulation.run(30)
    reported = simulation.shadow("weather-station")["state"]["reported"]
    assert reported["message"] == "Success" and reported["sequence"] == 5
    assert "gas_resistance" not in reported
