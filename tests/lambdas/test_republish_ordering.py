# ruff: noqa: F811 (the unit tests' fixtures are imported by name and requested as arguments)
"""lambdas/republish.py keeps the Shadow from going back in time.

Republish is on demand (several instances at once) and a good reading spends seconds sampling
the CPU temperature while a failed one is written at once, so reports land out of order.
Within a run of the device program (its ``boot_id``) the higher ``sequence`` is the newer
reading; between runs the later ``timestamp``. An older reading is not written (logged and
counted); the write is conditional on the Shadow's ``version`` read just before, and a 409
is retried, judged again. Its own Fail report always fits the Shadow's 8 KB.

Unit tests run the handler on the real greengrasssdk against a real ``ShadowService``
(:class:`tests.lambdas.conftest.ShadowCore`); the burst and restart tests run the shipped
group on the simulated core.
"""

from __future__ import annotations

import json
import logging
import random
from types import ModuleType
from typing import Any

import pytest

from fakes.shadow import ShadowService
from harness.simulation import Simulation
from tests.lambdas.conftest import ShadowCore
from tests.lambdas.test_republish_unit import (  # noqa: F401 (fixtures used by name)
    CONTEXT,
    THING,
    reported,
    republish,
    thermal,
    thermal_path,
)

T = 1_700_000_000.0
BOOT_A, BOOT_B = "a1b2c3d4e5f60718a1b2c3d4e5f60718", "0f0e0d0c0b0a09080706050403020100"


def reading(sequence: int, boot: str | None = BOOT_A, at: float | None = None,
            failed: bool = False) -> dict[str, Any]:
    message: dict[str, Any] = {"sequence": sequence}
    if boot is not None:
        message.update(boot_id=boot, timestamp=T + 5 * sequence if at is None else at)
    values = (None, None, None) if failed else (20.0 + sequence / 100, 1010.0, 50.0)
    message.update(zip(("temperature", "pressure", "humidity"), values, strict=True))
    message["message"] = "Fail" if failed else "Success"
    return message


def warnings(caplog: pytest.LogCaptureFixture, module: ModuleType) -> list[str]:
    return [r.getMessage() for r in caplog.records
            if r.name == module.__name__ and r.levelno == logging.WARNING]


# --- the order of readings ------------------------------------------------------------------


def test_an_older_success_does_not_bury_a_newer_fail(
    republish: ModuleType, shadows: ShadowService, caplog: pytest.LogCaptureFixture
) -> None:
    republish.function_handler(reading(5), CONTEXT)
    republish.function_handler(reading(7, failed=True), CONTEXT)  # written at once
    caplog.set_level(logging.INFO, logger=republish.__name__)

    assert republish.function_handler(reading(6), CONTEXT) is None  # sampled, landed late

    after = reported(shadows)
    assert (after["message"], after["sequence"], after["boot_id"]) == ("Fail", 7, BOOT_A)
    assert after["temperature"] == pytest.approx(2 * 20.05 - 50.0)  # reading 5's values kept
    (warning,) = warnings(caplog, republish)
    assert "reading 6 of boot a1b2c3d4" in warning and "not written" in warning
    assert republish.counts.older_dropped == 1


def test_an_older_fail_does_not_bury_a_newer_success(
    republish: ModuleType, shadows: ShadowService
) -> None:
    republish.function_handler(reading(8), CONTEXT)
    assert republish.function_handler(reading(7, failed=True), CONTEXT) is None
    assert republish.function_handler(reading(8), CONTEXT) is None  # the same reading again
    after = reported(shadows)
    assert (after["message"], after["sequence"]) == ("Success", 8)
    assert "error" not in after
    assert republish.counts.older_dropped == 2


def test_a_restarted_device_counts_from_one_and_is_written(
    republish: ModuleType, shadows: ShadowService
) -> None:
    republish.function_handler(reading(40), CONTEXT)
    republish.function_handler(reading(1, BOOT_B, at=T + 5 * 40 + 30), CONTEXT)
    after = reported(shadows)
    assert (after["sequence"], after["boot_id"], after["timestamp"]) == (1, BOOT_B,
                                                                         T + 230)
    # the old run's last reading, landing late, is older than the new run's first
    assert republish.function_handler(reading(41), CONTEXT) is None
    assert reported(shadows)["boot_id"] == BOOT_B


def test_readings_of_older_devices_are_written_as_they_come(
    republish: ModuleType, core: ShadowCore, shadows: ShadowService
) -> None:
    """Without a boot id a restart cannot be told from a late reading: the old behaviour."""
    republish.function_handler(reading(40), CONTEXT)
    sent = republish.function_handler(reading(3, boot=None), CONTEXT)
    after = reported(shadows)
    assert after["sequence"] == 3
    assert "boot_id" not in after and "timestamp" not in after  # the nulls delete them
    assert sent is not None and "version" not in sent  # unconditional, as before
    assert sent["state"]["reported"]["boot_id"] is None
    # ...and a device of this contract takes over again from there
    republish.function_handler(reading(41), CONTEXT)
    assert reported(shadows)["sequence"] == 41


# --- the conditional write ------------------------------------------------------------------


def interfere(shadows: ShadowService, writes: list[dict[str, Any]]) -> list[str]:
    """Before each of the next updates, another writer's update lands first (a concurrent
    instance). Returns the operations seen, in order."""
    request = shadows.request
    seen: list[str] = []

    def racing(operation: str, thing: str, payload: Any = b"", shadow: Any = None) -> Any:
        seen.append(operation)
        if operation == "update" and writes:
            request("update", thing, json.dumps(writes.pop(0)).encode())
        return request(operation, thing, payload, shadow)

    shadows.request = racing  # type: ignore[method-assign]
    return seen


def test_the_update_carries_the_version_it_read_and_a_conflict_is_retried(
    republish: ModuleType, core: ShadowCore, shadows: ShadowService,
    caplog: pytest.LogCaptureFixture,
) -> None:
    republish.function_handler(reading(5), CONTEXT)
    version = shadows.version(THING)
    seen = interfere(shadows, [{"state": {"reported": {"rain_prediction": 1}}}])
    caplog.set_level(logging.INFO, logger=republish.__name__)

    sent = republish.function_handler(reading(6), CONTEXT)

    assert seen == ["get", "update", "get", "update"]
    first, second = (payload for _, payload in core.shadow_updates()[-2:])
    assert first["version"] == version and second["version"] == version + 1
    assert sent == second
    after = reported(shadows)
    assert (after["sequence"], after["rain_prediction"]) == (6, 1)
    assert republish.counts.conflicts == 1
    assert any("version conflict" in line for line in warnings(caplog, republish))


def test_a_retry_is_judged_again(republish: ModuleType, shadows: ShadowService) -> None:
    republish.function_handler(reading(5), CONTEXT)
    newer = {"state": {"reported": {**reading(7, failed=True), "message": "Fail",
                                    "error": "another instance"}}}
    interfere(shadows, [newer])
    assert republish.function_handler(reading(6), CONTEXT) is None  # 7 landed meanwhile
    assert reported(shadows)["sequence"] == 7


def test_retries_are_bounded(
    republish: ModuleType, shadows: ShadowService, caplog: pytest.LogCaptureFixture
) -> None:
    from greengrasssdk.IoTDataPlane import ShadowError

    republish.function_handler(reading(5), CONTEXT)
    busy = [{"state": {"reported": {"rain_prediction": n % 2}}} for n in range(20)]
    seen = interfere(shadows, busy)
    caplog.set_level(logging.INFO, logger=republish.__name__)

    with pytest.raises(ShadowError, match="409"):
        republish.function_handler(reading(6), CONTEXT)

    assert seen.count("update") == republish.MAX_ATTEMPTS
    assert reported(shadows)["sequence"] == 5
    assert any("kept changing" in r.getMessage() for r in caplog.records
               if r.levelno == logging.ERROR)


# --- the run and time fields ----------------------------------------------------------------


@pytest.mark.parametrize(("change", "fragment"), [
    ({"timestamp": None}, "'timestamp' must be epoch seconds"),
    ({"timestamp": "soon"}, "'timestamp' must be epoch seconds"),
    ({"timestamp": -5}, "'timestamp' must be epoch seconds"),
    ({"boot_id": 7}, "'boot_id' must be 1 to 64 letters"),
    ({"boot_id": "x" * 65}, "'boot_id' must be 1 to 64 letters"),
    ({"boot_id": "has space"}, "'boot_id' must be 1 to 64 letters"),
], ids=["null-time", "str-time", "negative-time", "int-boot", "long-boot", "space-boot"])
def test_bad_run_or_time_fields_are_a_fail_that_leaves_the_order_alone(
    republish: ModuleType, shadows: ShadowService, change: dict, fragment: str
) -> None:
    republish.function_handler(reading(5), CONTEXT)
    republish.function_handler({**reading(9), **change}, CONTEXT)
    after = reported(shadows)
    assert after["message"] == "Fail" and fragment in after["error"]
    assert (after["sequence"], after["boot_id"]) == (5, BOOT_A)  # not placed in the order


@pytest.mark.parametrize("missing", ["boot_id", "timestamp"])
def test_boot_id_and_timestamp_go_together(
    republish: ModuleType, shadows: ShadowService, missing: str
) -> None:
    event = {k: v for k, v in reading(9).items() if k != missing}
    with pytest.raises(republish.InvalidReading, match=f"'{missing}' is missing"):
        republish.parse_reading(event)


def test_a_valid_reading_knows_its_place(republish: ModuleType) -> None:
    parsed = republish.parse_reading(reading(9))
    assert (parsed.boot_id, parsed.timestamp) == (BOOT_A, T + 45)
    assert republish.parse_reading(reading(9, boot=None)).boot_id is None
    with pytest.raises(republish.InvalidReading, match="'sequence' must be an integer"):
        republish.parse_reading({**reading(9), "sequence": -1})
    with pytest.raises(republish.InvalidReading, match="'sequence' must be an integer"):
        republish.parse_reading({**reading(9), "sequence": 2**53})


# --- hostile readings -----------------------------------------------------------------------


def _nested(depth: int) -> Any:
    value: Any = 1
    for _ in range(depth):
        value = [value]
    return value


HOSTILE: list[tuple[str, Any]] = [
    ("huge-strings", {k: "x" * 200_000 for k in ("temperature", "pressure", "humidity",
                                                 "message")} | {"sequence": 1}),
    ("huge-unicode", {"sequence": 1, "temperature": "\U0001f600" * 50_000,
                      "pressure": "\u00e9" * 50_000, "humidity": "\x00" * 50_000,
                      "message": "\u2603" * 50_000}),
    ("deep-values", {"sequence": 1, "temperature": _nested(800), "pressure": _nested(800),
                     "humidity": {"a": _nested(500)}, "message": _nested(800)}),
    ("deep-json", b'{"sequence": 1, "temperature": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"),
    ("huge-numbers", {"sequence": 10**5000, "temperature": 10**5000, "pressure": -(10**400),
                      "humidity": 1e308 * 10, "message": 10**5000}),
    ("many-fields", {**{f"field{n}": "y" * 100 for n in range(20_000)}, "sequence": 1}),
    ("hostile-run", {**reading(1), "boot_id": "b" * 100_000, "timestamp": "t" * 100_000}),
    ("huge-text-event", "z" * 500_000),
    ("huge-bytes-event", b"\xff" * 500_000),
    ("everything-wrong", {"sequence": "s" * 10_000, "boot_id": ["x"] * 10_000,
                          "timestamp": {"t": "x" * 10_000}, "temperature": ["t"] * 10_000,
                          "pressure": {"p" * 1000: 1}, "humidity": b"h" * 10_000,
                          "message": "m" * 10_000}),
]


@pytest.mark.parametrize("event", [case[1] for case in HOSTILE], ids=[c[0] for c in HOSTILE])
def test_a_hostile_reading_is_always_reported_as_fail(
    republish: ModuleType, core: ShadowCore, shadows: ShadowService, event: Any
) -> None:
    # a Shadow already holding a full report, an error and the inference Lambda's fields
    republish.function_handler(reading(5), CONTEXT)
    shadows.update(THING, json.dumps({"state": {"reported": {
        "rain_prediction": 1, "rain_probability": 0.8123, "error": "e" * 1000}}}))

    sent = republish.function_handler(event, CONTEXT)

    assert sent is not None
    after = reported(shadows)
    assert after["message"] == "Fail"
    assert after["error"] == sent["state"]["reported"]["error"]
    encoded = json.dumps(sent["state"]["reported"]["error"])
    assert len(encoded.encode()) <= republish.MAX_ERROR_BYTES
    assert len(json.dumps(sent).encode()) <= 1500
    assert after["temperature"] == pytest.approx(2 * 20.05 - 50.0)  # the good values kept


# --- on the simulated core ------------------------------------------------------------------


def burst(sim: Simulation, rng: random.Random, first: int, count: int,
          boot: str = BOOT_A) -> dict[str, Any]:
    """``count`` readings 1 s apart, a fifth of them failed; returns the last one."""
    last: dict[str, Any] = {}
    for sequence in range(first, first + count):
        last = reading(sequence, boot, at=round(sim.clock.time(), 3),
                       failed=rng.random() < 0.2)
        sim.publish("bme680-sensor", "bme680/readings", last)
        sim.run(1)
    return last


def sequence_steps(sim: Simulation) -> list[tuple[Any, Any]]:
    """(boot, sequence) after each update that moved the reported sequence."""
    steps = []
    for message in sim.messages("$aws/things/weather-station/shadow/update/documents"):
        current = json.loads(message.payload)["current"]["state"].get("reported", {})
        step = (current.get("boot_id"), current.get("sequence"))
        if not steps or steps[-1] != step:
            steps.append(step)
    return steps


def test_bursts_of_readings_never_go_back_and_end_on_their_last(simulation_factory) -> None:
    sim = simulation_factory(seed=5)
    rng = random.Random(5)
    sequence = 1
    for _ in range(5):
        last = burst(sim, rng, sequence, 12)
        sequence += 12
        sim.run(40)
        now = sim.shadow("weather-station")["state"]["reported"]
        assert (now["sequence"], now["message"]) == (last["sequence"], last["message"])
    sequences = [s for _, s in sequence_steps(sim)]
    assert sequences == sorted(sequences) and len(sequences) >= 20
    assert any("not written" in line for line in sim.logs("republish"))  # there were races
    assert sim.stats("republish").errors == 0


def test_a_restarted_device_program_takes_over_and_its_old_run_never_returns(
    simulation_factory,
) -> None:
    sim = simulation_factory(seed=2)
    air = {"temperature": 15.0, "pressure": 1010.0, "humidity": 50.0}
    first = sim.add_device("bme680-sensor", environment=lambda t: air)
    sim.run(31)  # readings 1..7 published; 7 still sampling
    first.stop()
    second = sim.add_device("bme680-sensor", environment=lambda t: air)
    sim.run(30)
    assert first.boot_id != second.boot_id
    steps = sequence_steps(sim)
    boots = [boot for boot, _ in steps]
    assert boots[0] == first.boot_id and boots[-1] == second.boot_id
    assert boots == sorted(boots, key=[first.boot_id, second.boot_id].index)  # A..., B...
    for boot in (first.boot_id, second.boot_id):
        sequences = [s for b, s in steps if b == boot]
        assert sequences == sorted(sequences)
    assert next(s for b, s in steps if b == second.boot_id) == 1
