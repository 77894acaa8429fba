"""The core loop with a fake clock and scripted sensors: failures, re-opens, the schedule."""

from __future__ import annotations

import json
import logging
import math

import pytest

from device.loop import Counters, RealClock, run
from device.readings import TOPIC, Measurement
from device.recorder import TraceRecord
from tests.device.doubles import (
    EIO,
    NO_DATA,
    OK,
    OPEN_FAILS,
    RUNTIME,
    FakeClock,
    Published,
    ScriptedWorld,
)

NULLS = {"temperature": None, "pressure": None, "humidity": None}


def decoded(published: Published) -> list[dict]:
    assert {topic for topic, _ in published.messages} <= {TOPIC}
    return [json.loads(payload) for _, payload in published.messages]


def test_every_failure_mode_is_survived_and_the_sequence_keeps_counting(
    caplog: pytest.LogCaptureFixture,
) -> None:
    script = [OPEN_FAILS, OK, EIO, OK, NO_DATA, OK, RUNTIME, EIO, OK]
    clock = FakeClock()
    world = ScriptedWorld(script, clock)
    published = Published()

    with caplog.at_level(logging.WARNING):
        counters = run(world.factory, published, clock, period=5.0, count=len(script))

    messages = decoded(published)
    assert [m["sequence"] for m in messages] == list(range(1, len(script) + 1))
    for step, message in zip(script, messages, strict=True):
        if step == OK:
            assert message["message"] == "Success"
            assert all(isinstance(message[k], float) for k in NULLS), message
        else:
            assert message["message"] == "Fail"
            assert {k: message[k] for k in NULLS} == NULLS
    # factory: first call fails; cycle 2 opens; the EIO (3) and RUNTIME (7), EIO (8) discard
    # the sensor; no-data (5) keeps it
    assert world.factory_calls == 5
    assert len(world.sensors) == 4
    assert [s.closed for s in world.sensors] == [True, True, True, True]  # last: at loop end
    assert counters == Counters(
        cycles=9,
        published=9,
        failed_reads=5,
        publish_errors=0,
        opened=4,
        reopened=4,
        open_failures=1,
        record_errors=0,
        skipped_slots=0,
    )
    text = caplog.text
    assert "Remote I/O error" in text and "Unable to identify BME680" in text
    assert "no new data" in text
    assert "Traceback" not in text  # expected failures are logged without one


def test_no_new_data_keeps_the_sensor_open() -> None:
    clock = FakeClock()
    world = ScriptedWorld([OK, NO_DATA, NO_DATA, OK], clock)
    counters = run(world.factory, Published(), clock, count=4)
    assert world.factory_calls == 1
    assert counters.failed_reads == 2
    assert counters.reopened == 0


def test_an_unexpected_error_is_logged_with_its_traceback_and_survived(
    caplog: pytest.LogCaptureFixture,
) -> None:
    class Broken:
        def read(self) -> Measurement:
            raise ZeroDivisionError("calibration all zero")

    clock = FakeClock()
    opened: list[Broken] = []

    def factory() -> Broken:
        opened.append(Broken())
        return opened[-1]

    published = Published()
    counters = run(factory, published, clock, count=3)
    assert [m["message"] for m in decoded(published)] == ["Fail"] * 3
    assert len(opened) == 3  # discarded after each failure, opened again
    assert counters.reopened == 2
    assert "Traceback" in caplog.text and "ZeroDivisionError" in caplog.text


def test_a_measurement_that_is_not_json_is_published_as_fail() -> None:
    class NaNSensor:
        def read(self) -> Measurement:
            return Measurement(math.nan, 1000.0, 50.0)

    published = Published()
    counters = run(NaNSensor, published, FakeClock(), count=1, boot_id="b1",
                   wall_time=lambda: 1_700_000_000.25)
    assert decoded(published) == [{"sequence": 1, "boot_id": "b1",
                                   "timestamp": 1_700_000_000.25, **NULLS, "message": "Fail"}]
    assert counters.failed_reads == 1


def test_every_message_names_the_run_and_when_its_reading_was_taken() -> None:
    clock = FakeClock()
    world = ScriptedWorld([OK, EIO, OK], clock)
    published = Published()
    wall = iter([1_700_000_000.0, 1_700_000_005.0004, 1_700_000_010.0])
    run(world.factory, published, clock, count=3, wall_time=lambda: next(wall))
    messages = decoded(published)
    assert [(m["sequence"], m["timestamp"], m["message"]) for m in messages] == [
        (1, 1_700_000_000.0, "Success"), (2, 1_700_000_005.0, "Fail"),
        (3, 1_700_000_010.0, "Success")]
    (boot,) = {m["boot_id"] for m in messages}
    assert len(boot) == 32 and int(boot, 16) >= 0
    # the next run of the program is another boot, and counts from 1 again
    again = Published()
    run(ScriptedWorld([OK], clock).factory, again, clock, count=1)
    (restarted,) = decoded(again)
    assert restarted["sequence"] == 1 and restarted["boot_id"] != boot


def test_a_given_boot_id_is_used_and_a_bad_one_refused() -> None:
    published = Published()
    run(ScriptedWorld([OK], FakeClock()).factory, published, FakeClock(), count=1,
        boot_id="sim-0-bme680")
    assert decoded(published)[0]["boot_id"] == "sim-0-bme680"
    for bad in ("", "a b", "x" * 65, 7):
        with pytest.raises(ValueError, match="boot_id"):
            run(ScriptedWorld([OK], FakeClock()).factory, Published(), FakeClock(), count=1,
                boot_id=bad)  # type: ignore[arg-type]


def test_a_broken_wall_clock_sends_the_reading_without_run_and_time(
    caplog: pytest.LogCaptureFixture,
) -> None:
    clock = FakeClock()
    published = Published()
    run(ScriptedWorld([OK], clock).factory, published, clock, count=1,
        wall_time=lambda: math.nan)
    (message,) = decoded(published)
    assert message["message"] == "Success"
    assert "boot_id" not in message and "timestamp" not in message
    assert "sent without boot id and timestamp" in caplog.text


def test_publish_failures_are_counted_not_fatal(caplog: pytest.LogCaptureFixture) -> None:
    clock = FakeClock()
    world = ScriptedWorld([OK] * 5, clock)
    published = Published(fail_on=[2, 3])
    counters = run(world.factory, published, clock, count=5)
    assert [m["sequence"] for m in decoded(published)] == [1, 4, 5]
    assert (counters.published, counters.publish_errors) == (3, 2)
    assert "publish failed: ConnectionError: broker gone" in caplog.text
    assert world.factory_calls == 1  # a publish failure does not touch the sensor


def test_schedule_is_drift_free_when_reads_take_time() -> None:
    clock = FakeClock(start=1000.0)
    world = ScriptedWorld([OK] * 6, clock, read_time=0.7)
    run(world.factory, Published(), clock, period=5.0, count=6)
    # each cycle starts on the grid start + n * period, not period after the previous one ended
    assert world.reads == [1000.0 + 5.0 * n for n in range(6)]
    assert clock.sleeps == pytest.approx([4.3] * 5)
    assert clock.time == pytest.approx(1025.7)  # no sleep after the last reading


def test_schedule_stays_on_the_grid_with_uneven_and_awkward_periods() -> None:
    clock = FakeClock(start=0.1)
    world = ScriptedWorld([OK] * 200, clock, read_time=0.013)
    run(world.factory, Published(), clock, period=0.3, count=200)
    # one float addition per cycle would accumulate error; start + n * period does not
    assert world.reads[-1] == pytest.approx(0.1 + 199 * 0.3, abs=1e-9)
    assert all(
        b - a == pytest.approx(0.3, abs=1e-9)
        for a, b in zip(world.reads, world.reads[1:], strict=False)
    )


def test_an_overrun_skips_the_missed_slots_instead_of_bursting(
    caplog: pytest.LogCaptureFixture,
) -> None:
    clock = FakeClock(start=0.0)
    world = ScriptedWorld([OK] * 4, clock, stalls={2: 12.0})  # reading 2 stalls for 12 s
    counters = run(world.factory, Published(), clock, period=5.0, count=4)
    # reading 2 (at 5) ends at 17: the slot at 10 is skipped, the one at 15 runs late at
    # once, and the next one is back on the grid at 20
    assert world.reads == [0.0, 5.0, 17.0, 20.0]
    assert counters.skipped_slots == 1
    assert counters.cycles == 4
    assert "1 slot(s)" in caplog.text


def test_a_slightly_late_cycle_runs_at_once_without_skipping() -> None:
    clock = FakeClock(start=0.0)
    world = ScriptedWorld([OK] * 3, clock, read_time=5.5)  # each read overruns by 0.5 s
    counters = run(world.factory, Published(), clock, period=5.0, count=3)
    assert world.reads == [0.0, 5.5, 11.0]
    assert clock.sleeps == []
    assert counters.skipped_slots == 0


def test_recorder_gets_one_record_per_cycle_with_wall_time() -> None:
    clock = FakeClock()
    world = ScriptedWorld([OK, EIO, OK], clock)
    records: list[TraceRecord] = []
    wall = iter([1_700_000_000.0, 1_700_000_005.0, 1_700_000_010.0])
    run(world.factory, Published(), clock, count=3, recorder=records.append,
        wall_time=lambda: next(wall))  # fmt: skip
    assert [(r.time, r.sequence, r.status) for r in records] == [
        (1_700_000_000.0, 1, "Success"),
        (1_700_000_005.0, 2, "Fail"),
        (1_700_000_010.0, 3, "Success"),
    ]
    assert records[1].temperature is None and records[0].temperature is not None


def test_a_failing_recorder_does_not_stop_publishing() -> None:
    clock = FakeClock()
    world = ScriptedWorld([OK, OK], clock)

    def recorder(record: TraceRecord) -> None:
        raise OSError(28, "No space left on device")

    published = Published()
    counters = run(world.factory, published, clock, count=2, recorder=recorder)
    assert counters.published == 2
    assert counters.record_errors == 2


def test_counters_passed_in_survive_an_interrupt() -> None:
    clock = FakeClock()
    world = ScriptedWorld([OK, OK, OK], clock)

    def publish(topic: str, payload: bytes) -> None:
        if json.loads(payload)["sequence"] == 2:
            raise KeyboardInterrupt

    counters = Counters()
    with pytest.raises(KeyboardInterrupt):
        run(world.factory, publish, clock, count=3, counters=counters)
    assert counters.cycles == 2
    assert world.sensors[0].closed  # the sensor is closed however the loop ends


@pytest.mark.parametrize(
    ("period", "count"),
    [(0, None), (-1.0, None), (math.inf, None), (math.nan, None), (5.0, -1), (5.0, 1.5)],
)
def test_bad_arguments_are_refused(period: float, count: object) -> None:
    clock = FakeClock()
    with pytest.raises(ValueError):
        run(ScriptedWorld([], clock).factory, Published(), clock, period=period, count=count)  # type: ignore[arg-type]


def test_count_zero_reads_nothing() -> None:
    clock = FakeClock()
    world = ScriptedWorld([], clock)
    assert run(world.factory, Published(), clock, count=0).cycles == 0
    assert world.factory_calls == 0


def test_real_clock_is_monotonic_and_ignores_non_positive_sleeps() -> None:
    clock = RealClock()
    before = clock.now()
    clock.sleep(0)
    clock.sleep(-3)
    assert 0 <= clock.now() - before < 1.0
