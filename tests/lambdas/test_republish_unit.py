"""lambdas/republish.py: its pure helpers, and its handler on the real greengrasssdk.

The handler runs against :class:`tests.lambdas.conftest.ShadowCore`, whose Shadow function is a
real ``ShadowService``: an update that would wipe readings (nulls, an empty ``reported``) really
wipes them there, so "the last good values survive" is a check that can fail.
"""

from __future__ import annotations

import ast
import json
import logging
import math
from collections.abc import Callable
from pathlib import Path
from types import ModuleType, SimpleNamespace
from typing import Any

import pytest

from fakes.shadow import ShadowService
from tests.lambdas.conftest import ShadowCore, import_lambda

THING = "weather-pi"
LAMBDAS = Path(__file__).resolve().parents[2] / "lambdas"
CONTEXT = SimpleNamespace(
    function_name="republish",
    client_context=SimpleNamespace(custom={"subject": "bme680/readings"}),
)
GOOD = {"sequence": 1, "temperature": 30.0, "pressure": 1013.25, "humidity": 45.5,
        "message": "Success"}  # fmt: skip
READINGS = ("temperature", "pressure", "humidity")


class Thermal:
    """A thermal-zone file whose value moves on every (recorded, never real) sleep."""

    def __init__(self, path: Path, millidegrees: list[int]) -> None:
        self.path = path
        self.upcoming = list(millidegrees)
        self.sleeps: list[float] = []
        self.path.write_text(f"{self.upcoming.pop(0)}\n")

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        if self.upcoming:
            self.path.write_text(f"{self.upcoming.pop(0)}\n")


@pytest.fixture
def thermal_path(tmp_path: Path) -> Path:
    return tmp_path / "thermal_zone0" / "temp"


@pytest.fixture
def thermal(thermal_path: Path, monkeypatch: pytest.MonkeyPatch) -> Thermal:
    """CPU at 50 degrees C; ``time.sleep`` records the intervals instead of sleeping."""
    thermal_path.parent.mkdir()
    fake = Thermal(thermal_path, [50_000])
    monkeypatch.setattr("time.sleep", fake.sleep)
    return fake


@pytest.fixture
def republish(
    lambdas_on_core: None, thermal: Thermal, monkeypatch: pytest.MonkeyPatch
) -> ModuleType:
    """The Lambda, loaded fresh on the simulated core with THING_NAME and CPU_TEMP_PATH set."""
    monkeypatch.setenv("THING_NAME", THING)
    monkeypatch.setenv("CPU_TEMP_PATH", str(thermal.path))
    for name in ("CPU_SAMPLES", "CPU_SAMPLE_INTERVAL"):
        monkeypatch.delenv(name, raising=False)
    return import_lambda("republish")


def reported(shadows: ShadowService) -> dict[str, Any]:
    document = shadows.document(THING)
    assert document is not None, f"{THING} has no shadow"
    return document["state"].get("reported", {})


def errors_logged(caplog: pytest.LogCaptureFixture, module: ModuleType) -> list[str]:
    return [
        record.getMessage()
        for record in caplog.records
        if record.name == module.__name__ and record.levelno == logging.ERROR
    ]


# --- the source itself --------------------------------------------------------------------


@pytest.mark.parametrize("name", ["republish.py", "hello_world.py"])
def test_lambda_source_parses_as_python_3_9(name: str) -> None:
    source = (LAMBDAS / name).read_text()
    ast.parse(source, filename=name, feature_version=(3, 9))
    assert not any(isinstance(node, ast.Match) for node in ast.walk(ast.parse(source)))


# --- parse_reading ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("event", "expected"),
    [
        (GOOD, (1, 30.0, 1013.25, 45.5)),
        ({**GOOD, "temperature": 21, "pressure": 990, "humidity": 0}, (1, 21.0, 990.0, 0.0)),
        (
            {**GOOD, "temperature": -40, "pressure": 300, "humidity": 100, "sequence": 0},
            (0, -40.0, 300.0, 100.0),
        ),
        ({**GOOD, "temperature": 85.0, "pressure": 1100.0}, (1, 85.0, 1100.0, 45.5)),
        ({**GOOD, "gas_resistance": 12000, "sequence": 99}, (99, 30.0, 1013.25, 45.5)),
        (json.dumps(GOOD), (1, 30.0, 1013.25, 45.5)),
        (json.dumps(GOOD).encode(), (1, 30.0, 1013.25, 45.5)),
        (bytearray(json.dumps(GOOD).encode()), (1, 30.0, 1013.25, 45.5)),
    ],
    ids=[
        "floats",
        "ints",
        "lower-bounds",
        "upper-bounds",
        "extra-field",
        "str",
        "bytes",
        "bytearray",
    ],
)
def test_parse_reading_accepts(republish: ModuleType, event: Any, expected: tuple) -> None:
    reading = republish.parse_reading(event)

    assert (reading.sequence, reading.temperature, reading.pressure, reading.humidity) == expected
    assert reading.message == "Success"
    assert all(type(value) is float for value in reading[1:4])


# (event, a fragment the error must hold, the sequence the error keeps)
REJECTED: list[tuple[str, Any, str, int | None]] = [
    ("malformed-bytes", b'{"sequence": 3, "temperature": ', "not valid JSON", None),
    ("malformed-str", "{sequence: 3}", "not valid JSON", None),
    ("empty-bytes", b"", "not valid JSON", None),
    ("not-utf8", b"\xff\xfe{}", "not UTF-8", None),
    ("list", [GOOD], "must be a JSON object, got list", None),
    ("number", 42, "must be a JSON object, got int", None),
    ("json-string", b'"Success"', "must be a JSON object, got str", None),
    ("null", None, "must be a JSON object, got NoneType", None),
    ("empty-object", {}, "'sequence' is missing", None),
    ("no-temperature", {k: v for k, v in GOOD.items() if k != "temperature"},
     "'temperature' is missing", 1),
    ("no-message", {k: v for k, v in GOOD.items() if k != "message"}, "'message' is missing", 1),
    ("null-humidity", {**GOOD, "humidity": None}, "'humidity' is null", 1),
    ("sensor-failed", {"sequence": 7, "temperature": None, "pressure": None, "humidity": None,
                       "message": "Fail"}, "'temperature' is null", 7),
    ("device-fail", {**GOOD, "message": "Fail"}, "device reported a sensor failure", 1),
    ("unknown-message", {**GOOD, "message": "OK"}, "'message' must be 'Success' or 'Fail'", 1),
    ("bool-temperature", {**GOOD, "temperature": True}, "'temperature' must be a number", 1),
    ("str-pressure", {**GOOD, "pressure": "1013"}, "'pressure' must be a number, got str", 1),
    ("list-humidity", {**GOOD, "humidity": [40]}, "'humidity' must be a number", 1),
    ("bool-sequence", {**GOOD, "sequence": True}, "'sequence' must be an integer", None),
    ("float-sequence", {**GOOD, "sequence": 4.0}, "'sequence' must be an integer", None),
    ("str-sequence", {**GOOD, "sequence": "4"}, "'sequence' must be an integer", None),
    ("null-sequence", {**GOOD, "sequence": None}, "'sequence' must be an integer", None),
    ("too-hot", {**GOOD, "temperature": 85.01}, "'temperature' 85.01 is outside", 1),
    ("too-cold", {**GOOD, "temperature": -40.5}, "range -40..85 degrees C", 1),
    ("humidity-high", {**GOOD, "humidity": 100.1}, "'humidity' 100.1 is outside", 1),
    ("humidity-negative", {**GOOD, "humidity": -0.5}, "range 0..100 %RH", 1),
    ("pressure-low", {**GOOD, "pressure": 299.9}, "range 300..1100 hPa", 1),
    ("pressure-high", {**GOOD, "pressure": 1100.5}, "'pressure' 1100.5 is outside", 1),
    ("nan", {**GOOD, "temperature": math.nan}, "'temperature' must be finite", 1),
    ("inf", {**GOOD, "pressure": math.inf}, "'pressure' must be finite", 1),
    ("minus-inf", {**GOOD, "humidity": -math.inf}, "'humidity' must be finite", 1),
    ("nan-in-json", b'{"sequence": 2, "temperature": NaN, "pressure": 1000, "humidity": 40,'
                    b' "message": "Success"}', "'temperature' must be finite", 2),
    ("huge-int", {**GOOD, "temperature": 10**400}, "'temperature' must be finite", 1),
]  # fmt: skip


@pytest.mark.parametrize(
    ("event", "fragment", "sequence"),
    [case[1:] for case in REJECTED],
    ids=[case[0] for case in REJECTED],
)
def test_parse_reading_rejects(
    republish: ModuleType, event: Any, fragment: str, sequence: int | None
) -> None:
    with pytest.raises(republish.InvalidReading) as raised:
        republish.parse_reading(event)

    assert fragment in str(raised.value)
    assert raised.value.sequence == sequence


def test_parse_reading_names_every_problem(republish: ModuleType) -> None:
    event = {"sequence": 5, "temperature": None, "pressure": 5000, "humidity": "wet"}

    with pytest.raises(republish.InvalidReading) as raised:
        republish.parse_reading(event)

    assert raised.value.problems == [
        "'temperature' is null",
        "'pressure' 5000 is outside the BME680 range 300..1100 hPa",
        "'humidity' must be a number, got str 'wet'",
        "'message' is missing",
    ]
    assert str(raised.value) == "; ".join(raised.value.problems)


# --- compensate, read_cpu_temperature, cpu_average ----------------------------------------


@pytest.mark.parametrize(
    ("temperature", "cpu", "expected"),
    [(30.0, 50.0, 10.0), (25.0, 25.0, 25.0), (20.5, 45.25, -4.25), (-10.0, 40.0, -60.0)],
)
def test_compensate(republish: ModuleType, temperature: float, cpu: float, expected: float) -> None:
    assert republish.compensate(temperature, cpu) == expected


@pytest.mark.parametrize(
    ("text", "celsius"), [("48312\n", 48.312), ("50000", 50.0), ("-5000\n", -5.0), (" 0 ", 0.0)]
)
def test_read_cpu_temperature(
    republish: ModuleType, thermal: Thermal, text: str, celsius: float
) -> None:
    thermal.path.write_text(text)
    assert republish.read_cpu_temperature(str(thermal.path)) == celsius


@pytest.mark.parametrize("text", ["", "hot\n", "48.3", "\x00\x01"])
def test_read_cpu_temperature_rejects_junk(
    republish: ModuleType, thermal: Thermal, text: str
) -> None:
    thermal.path.write_text(text)
    with pytest.raises(ValueError, match="not millidegrees C"):
        republish.read_cpu_temperature(str(thermal.path))


def test_read_cpu_temperature_missing_file(republish: ModuleType, tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        republish.read_cpu_temperature(str(tmp_path / "absent"))


def test_cpu_average_samples_apart_and_averages(
    republish: ModuleType, thermal_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    thermal_path.parent.mkdir(exist_ok=True)
    moving = Thermal(thermal_path, [40_000, 50_000, 60_000, 70_500])
    monkeypatch.setattr("time.sleep", moving.sleep)

    assert republish.cpu_average(str(thermal_path), 4, 0.25) == pytest.approx(55.125)
    assert moving.sleeps == [0.25, 0.25, 0.25]


def test_cpu_average_one_sample_never_sleeps(republish: ModuleType, thermal: Thermal) -> None:
    assert republish.cpu_average(str(thermal.path), 1, 5.0) == 50.0
    assert thermal.sleeps == []


def test_cpu_average_needs_a_sample(republish: ModuleType, thermal: Thermal) -> None:
    with pytest.raises(ValueError, match="at least one CPU sample"):
        republish.cpu_average(str(thermal.path), 0, 1.0)


def test_cpu_average_stops_at_the_first_failed_read(
    republish: ModuleType, thermal: Thermal, tmp_path: Path
) -> None:
    with pytest.raises(FileNotFoundError):
        republish.cpu_average(str(tmp_path / "absent"), 8, 1.0)
    assert thermal.sleeps == []


# --- function_handler on the simulated core -----------------------------------------------


def test_good_reading_lands_in_the_shadow_compensated(
    republish: ModuleType, core: ShadowCore, shadows: ShadowService, thermal: Thermal
) -> None:
    sent = republish.function_handler(dict(GOOD), CONTEXT)

    expected = {
        "temperature": 10.0,  # 2 * 30.0 - 50.0
        "pressure": 1013.25,
        "humidity": 45.5,
        "message": "Success",
        "sequence": 1,
        "compensation": "cpu",
        "cpu_temperature": 50.0,
    }
    assert reported(shadows) == expected
    assert thermal.sleeps == [1.0] * 7  # CPU_SAMPLES=8 readings, CPU_SAMPLE_INTERVAL=1 apart
    ((subject, payload),) = core.shadow_updates()
    assert subject == f"$aws/things/{THING}/shadow/update"
    # an old-style reading (no boot_id/timestamp): the nulls delete a stale run's
    assert payload == sent == {"state": {"reported": {**expected, "error": None,
                                                      "boot_id": None, "timestamp": None}}}


def test_good_reading_as_binary_event(
    republish: ModuleType, shadows: ShadowService, thermal: Thermal
) -> None:
    republish.function_handler(json.dumps({**GOOD, "temperature": 41.0}).encode(), CONTEXT)
    assert reported(shadows)["temperature"] == 32.0


def test_cpu_samples_follow_the_environment_per_invocation(
    republish: ModuleType,
    shadows: ShadowService,
    thermal: Thermal,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("CPU_SAMPLES", "3")
    monkeypatch.setenv("CPU_SAMPLE_INTERVAL", "0.5")
    thermal.upcoming = [40_000, 60_000]  # the file now reads 50, then 40, then 60
    republish.function_handler(dict(GOOD), CONTEXT)
    assert thermal.sleeps == [0.5, 0.5]
    assert reported(shadows)["cpu_temperature"] == 50.0

    monkeypatch.setenv("CPU_SAMPLES", "2")
    republish.function_handler({**GOOD, "sequence": 2}, CONTEXT)
    assert thermal.sleeps == [0.5, 0.5, 0.5]
    assert reported(shadows)["cpu_temperature"] == 60.0


@pytest.mark.parametrize(
    ("name", "value"),
    [("CPU_SAMPLES", "0"), ("CPU_SAMPLES", "many"), ("CPU_SAMPLES", "2.5"),
     ("CPU_SAMPLE_INTERVAL", "-1"), ("CPU_SAMPLE_INTERVAL", "nan"), ("CPU_SAMPLE_INTERVAL", "x")],
)  # fmt: skip
def test_invalid_sampling_settings_fall_back_to_defaults(
    republish: ModuleType,
    shadows: ShadowService,
    thermal: Thermal,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    name: str,
    value: str,
) -> None:
    monkeypatch.setenv(name, value)
    caplog.set_level(logging.WARNING, logger=republish.__name__)

    republish.function_handler(dict(GOOD), CONTEXT)

    assert thermal.sleeps == [1.0] * 7
    assert reported(shadows)["compensation"] == "cpu"
    assert any(name in record.getMessage() for record in caplog.records)


@pytest.mark.parametrize(
    ("event", "fragment", "sequence"),
    [case[1:] for case in REJECTED],
    ids=[case[0] for case in REJECTED],
)
def test_bad_input_keeps_the_last_good_readings(
    republish: ModuleType,
    core: ShadowCore,
    shadows: ShadowService,
    thermal: Thermal,
    caplog: pytest.LogCaptureFixture,
    event: Any,
    fragment: str,
    sequence: int | None,
) -> None:
    republish.function_handler({**GOOD, "sequence": 100}, CONTEXT)
    good = reported(shadows)
    sleeps = list(thermal.sleeps)
    caplog.set_level(logging.INFO, logger=republish.__name__)

    sent = republish.function_handler(event, CONTEXT)

    after = reported(shadows)
    assert {key: after[key] for key in READINGS} == {key: good[key] for key in READINGS}
    assert after["compensation"] == good["compensation"] == "cpu"
    assert after["message"] == "Fail"
    assert fragment in after["error"]
    assert after["sequence"] == (100 if sequence is None else sequence)
    expected = {"message": "Fail", "error": after["error"]}
    if sequence is not None:  # an old-style reading: written as it comes, stale run cleared
        expected.update(sequence=sequence, boot_id=None, timestamp=None)
    assert sent == core.shadow_updates()[-1][1] == {"state": {"reported": expected}}
    assert thermal.sleeps == sleeps  # no CPU sampling for a reading that is not used
    (logged,) = errors_logged(caplog, republish)
    assert fragment in logged


def test_a_good_reading_after_a_failure_clears_the_error(
    republish: ModuleType, shadows: ShadowService, thermal: Thermal
) -> None:
    republish.function_handler({**GOOD, "humidity": None}, CONTEXT)
    assert reported(shadows) == {"message": "Fail", "sequence": 1, "error": "'humidity' is null"}

    republish.function_handler({**GOOD, "sequence": 2}, CONTEXT)

    after = reported(shadows)
    assert "error" not in after
    assert (after["message"], after["sequence"], after["humidity"]) == ("Success", 2, 45.5)


@pytest.mark.parametrize("problem", ["missing", "unparsable", "directory"])
def test_without_cpu_temperature_the_reading_is_uncompensated(
    republish: ModuleType,
    shadows: ShadowService,
    thermal: Thermal,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    problem: str,
) -> None:
    republish.function_handler(dict(GOOD), CONTEXT)  # compensated, with a cpu_temperature
    if problem == "missing":
        thermal.path.unlink()
    elif problem == "unparsable":
        thermal.path.write_text("unknown\n")
    else:
        monkeypatch.setenv("CPU_TEMP_PATH", str(thermal.path.parent))
    caplog.set_level(logging.WARNING, logger=republish.__name__)

    sent = republish.function_handler({**GOOD, "sequence": 2, "temperature": 22.5}, CONTEXT)

    assert reported(shadows) == {
        "temperature": 22.5,
        "pressure": 1013.25,
        "humidity": 45.5,
        "message": "Success",
        "sequence": 2,
        "compensation": "none",
    }
    assert sent["state"]["reported"]["cpu_temperature"] is None  # deletes the stale average
    (warning,) = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert "CPU temperature unavailable" in warning
    assert "uncompensated temperature 22.5" in warning


def test_cpu_temp_path_defaults_to_the_thermal_zone(
    republish: ModuleType, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    opened: list[str] = []

    def refuse(path: str, *args: Any, **kwargs: Any) -> Any:
        opened.append(path)
        raise PermissionError(13, "Permission denied", path)

    monkeypatch.delenv("CPU_TEMP_PATH")
    monkeypatch.setattr("builtins.open", refuse)
    sent = republish.function_handler(dict(GOOD), CONTEXT)

    assert opened == ["/sys/class/thermal/thermal_zone0/temp"]
    assert sent["state"]["reported"]["compensation"] == "none"


@pytest.mark.parametrize("value", [None, "", "   "])
def test_without_thing_name_nothing_is_sent(
    republish: ModuleType,
    core: ShadowCore,
    thermal: Thermal,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    value: str | None,
) -> None:
    if value is None:
        monkeypatch.delenv("THING_NAME")
    else:
        monkeypatch.setenv("THING_NAME", value)
    caplog.set_level(logging.INFO, logger=republish.__name__)

    assert republish.function_handler(dict(GOOD), CONTEXT) is None

    assert core.requests == []
    assert thermal.sleeps == []
    (logged,) = errors_logged(caplog, republish)
    assert "THING_NAME is not set" in logged


def test_a_refused_update_is_logged_and_fails_the_invocation(
    republish: ModuleType,
    core: ShadowCore,
    shadows: ShadowService,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    from greengrasssdk.IoTDataPlane import ShadowError

    monkeypatch.setenv("THING_NAME", "weather pi!")  # the Shadow service refuses this name
    caplog.set_level(logging.INFO, logger=republish.__name__)

    with pytest.raises(ShadowError, match='error code 400 with message "ThingName must match'):
        republish.function_handler(dict(GOOD), CONTEXT)

    assert len(core.shadow_updates()) == 1
    assert shadows.shadows() == []
    (logged,) = errors_logged(caplog, republish)
    assert logged.startswith("Shadow update of weather pi! was refused: Request for shadow state")


# --- the naive failure modes, and proof that the backend would expose them ----------------

SENSOR_FAILED = {"sequence": 2, "temperature": None, "pressure": None, "humidity": None,
                 "message": "Fail"}  # fmt: skip
NO_MESSAGE = {"sequence": 2, "temperature": 31.0, "pressure": 1000.0, "humidity": 50.0}

# (event, the update a naive Lambda builds from it, a good value that update would wipe)
NAIVE = [
    pytest.param(
        SENSOR_FAILED, lambda event: {"state": {"reported": dict(event)}}, "temperature",
        id="reading-with-nulls",
    ),
    pytest.param(
        NO_MESSAGE,
        lambda event: {"state": {"reported": {**event, "message": event.get("message")}}},
        "message",
        id="undefined-message",
    ),
    pytest.param(
        {},
        lambda event: {"state": {"reported": {k: event[k] for k in READINGS if k in event}}},
        "humidity",
        id="empty-update",
    ),
]  # fmt: skip


@pytest.fixture
def sdk_client(lambdas_on_core: None) -> Any:
    import greengrasssdk

    return greengrasssdk.client("iot-data")


@pytest.mark.parametrize(("event", "naive", "key"), NAIVE)
def test_naive_updates_would_wipe_good_values_on_this_backend(
    sdk_client: Any,
    shadows: ShadowService,
    event: dict,
    naive: Callable[[dict], dict],
    key: str,
) -> None:
    good = {"state": {"reported": {**GOOD, "compensation": "cpu"}}}
    sdk_client.update_thing_shadow(thingName=THING, payload=json.dumps(good))
    assert key in reported(shadows)

    sdk_client.update_thing_shadow(thingName=THING, payload=json.dumps(naive(event)))

    assert key not in reported(shadows)


@pytest.mark.parametrize(("event", "naive", "key"), NAIVE)
def test_the_handler_avoids_the_naive_failure_modes(
    republish: ModuleType,
    core: ShadowCore,
    shadows: ShadowService,
    event: dict,
    naive: Callable[[dict], dict],
    key: str,
) -> None:
    republish.function_handler(dict(GOOD), CONTEXT)
    good = reported(shadows)

    republish.function_handler(event, CONTEXT)

    ((_, sent),) = core.shadow_updates()[1:]
    assert sent != naive(event)
    assert sent["state"]["reported"]  # never an empty reported object
    # no nulls but the run fields, which an old-style reading clears on purpose
    assert all(value is not None for key, value in sent["state"]["reported"].items()
               if key not in ("boot_id", "timestamp"))
    after = reported(shadows)
    assert key in after
    assert {k: after[k] for k in READINGS} == {k: good[k] for k in READINGS}
    assert after["message"] == "Fail"
    assert after["error"]
