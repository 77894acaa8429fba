"""``python -m harness record``: a recording on a simulated chip gives a valid trace and a
scenario that loads and passes on the sim rig; off the Pi it stops at once, saying what to
do; nothing it did not write is overwritten."""

from __future__ import annotations

import itertools
import time
from pathlib import Path

import pytest

from device.readings import FAIL, SUCCESS, Measurement
from device.recorder import read_trace
from device.sensor import open_sensor
from fakes.bme680 import SimulatedBME680
from harness.commands import record
from harness.report.results import record_run
from harness.scenarios.loading import load_scenario
from harness.scenarios.schema import VERSION_GROWS

from .helpers import harness


class _InstantClock:
    """The device loop's clock, moving only when the loop sleeps (no real waiting)."""

    def __init__(self) -> None:
        self.elapsed = 0.0

    def now(self) -> float:
        return self.elapsed

    def sleep(self, seconds: float) -> None:
        self.elapsed += max(seconds, 0.0)


def test_a_simulated_recording_gives_a_trace_and_a_scenario_that_passes(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "traces" / "day.jsonl"
    started = time.monotonic()
    assert harness("record", "--simulated", "--period", "5", "--count", "30",
                   "--out", out) == 0
    assert time.monotonic() - started < 30  # 145 s recorded without waiting for them

    records = list(read_trace(out))  # read_trace checks every field of every record
    assert [r.sequence for r in records] == list(range(1, 31))
    assert all(r.status == SUCCESS for r in records)
    assert [b.time - a.time for a, b in itertools.pairwise(records)] == [5.0] * 29
    assert all(20 < r.temperature < 35 and 990 < r.pressure < 1030 and 30 < r.humidity < 100
               for r in records if r.temperature and r.pressure and r.humidity)

    scenario_path = out.with_suffix(".yaml")  # next to the trace by default
    scenario = load_scenario(scenario_path)
    assert scenario_path.read_text().startswith(record.GENERATED)
    assert scenario.environment is not None and scenario.environment.trace == "day.jsonl"
    assert scenario.device is not None and scenario.device.period == 5
    assert scenario.duration == 145 + 5 + record.LAST_READING_GRACE  # span + period + 10 s
    assert scenario.cpu_temperature == 45  # what the simulated CPU was
    kinds = [(e.always, e.never is not None, e.within, e.stats is not None)
             for e in scenario.expectations]
    assert kinds == [(VERSION_GROWS, False, None, False), (None, True, None, False),
                     (None, False, 160, False), (None, False, None, True)]
    last = scenario.expectations[2]
    assert last.after == 145 and last.shadow is not None
    assert last.shadow.approx == pytest.approx(2 * records[-1].temperature - 45, abs=0.01)
    assert scenario.expectations[3].stats.field == "errors"  # type: ignore[union-attr]
    assert scenario.expectations[3].stats.equals == 0  # type: ignore[union-attr]
    output = capsys.readouterr()
    assert f"recorded 30 readings, 0 failed, into {out}" in output.out
    assert "reading 30/30" in output.err

    result = record_run(scenario_path)  # the written scenario itself, on sim
    assert result.passed, [str(o) for o in result.outcomes]
    assert harness("replay", out) == 0  # and replay's own scenario of the trace
    assert "passed (4/4 expectations met)" in capsys.readouterr().out


def test_hours_sets_the_number_of_readings(tmp_path: Path) -> None:
    out = tmp_path / "short.csv"  # the CSV format works the same
    assert harness("record", "--simulated", "--hours", "0.01", "--period", "5",
                   "--out", out) == 0
    assert len(list(read_trace(out))) == 8  # 36 s: readings at 0, 5, ... 35
    assert load_scenario(tmp_path / "short.yaml").device.period == 5  # type: ignore[union-attr]


def test_the_record_function_takes_any_sensor_and_keeps_failed_reads(tmp_path: Path) -> None:
    chip = SimulatedBME680()
    chip.set_environment(temperature=30.0, pressure=1005.0, humidity=60.0)
    reads = 0

    class Flaky:
        """Fails its second read the way an I2C error does."""

        def __init__(self) -> None:
            self.sensor = open_sensor(bus=chip)

        def read(self) -> Measurement:
            nonlocal reads
            reads += 1
            if reads == 2:
                raise OSError(121, "Remote I/O error")
            return self.sensor.read()

    clock = _InstantClock()
    recording = record.record(tmp_path / "t.jsonl", period=2.0, count=4, sensor_factory=Flaky,
                              clock=clock, wall_time=lambda: 1_700_000_000 + clock.elapsed,
                              cpu_temperature=lambda: 50.0)
    assert recording.counters.cycles == 4 and recording.counters.failed_reads == 1
    assert recording.cpu_temperature == 50.0 and not recording.interrupted
    records = list(read_trace(tmp_path / "t.jsonl"))
    assert [r.status for r in records] == [SUCCESS, FAIL, SUCCESS, SUCCESS]
    assert [r.time for r in records] == [1_700_000_000 + 2 * n for n in range(4)]

    scenario_path = record.write_scenario(tmp_path / "t.jsonl", tmp_path / "t.yaml",
                                          cpu_temperature=recording.cpu_temperature)
    scenario = load_scenario(scenario_path)
    assert scenario.cpu_temperature == 50 and scenario.device.period == 2  # type: ignore[union-attr]
    assert "4 readings every 2 s" in scenario.description
    assert "1 failed read(s)" in scenario.description
    assert scenario.expectations[2].shadow.approx == pytest.approx(10.0)  # type: ignore[union-attr]
    assert record_run(scenario_path).passed


def test_off_the_pi_it_stops_at_once_saying_what_to_do(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(record, "I2C_DEVICE", str(tmp_path / "i2c-{bus}"))
    out = tmp_path / "day.jsonl"
    started = time.monotonic()
    assert harness("record", "--out", out) == 2
    assert time.monotonic() - started < 5
    error = capsys.readouterr().err
    assert (f"no I2C bus at {tmp_path / 'i2c-1'}: run this on the Raspberry Pi with I2C "
            "enabled (raspi-config), or pass --i2c-bus N") in error
    assert not out.exists() and not out.with_suffix(".yaml").exists()
    assert harness("record", "--out", out, "--i2c-bus", "3") == 2
    assert f"no I2C bus at {tmp_path / 'i2c-3'}:" in capsys.readouterr().err


def test_the_message_names_the_real_device_path(tmp_path: Path) -> None:
    if Path("/dev/i2c-1").exists():
        pytest.skip("this machine has /dev/i2c-1")
    with pytest.raises(record.NoI2CBus, match=r"^no I2C bus at /dev/i2c-1: run this on the "
                       r"Raspberry Pi with I2C enabled \(raspi-config\), or pass --i2c-bus N$"):
        record.check_i2c_bus(1)


def test_it_overwrites_nothing_it_did_not_write(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "day.jsonl"
    out.write_text('{"earlier": "recording"}\n')
    assert harness("record", "--simulated", "--count", "2", "--out", out) == 2
    assert "exists already" in capsys.readouterr().err
    assert out.read_text() == '{"earlier": "recording"}\n'

    mine = tmp_path / "mine.yaml"
    mine.write_text("# written by hand\nname: mine\n")
    assert harness("record", "--simulated", "--count", "2", "--out", tmp_path / "new.jsonl",
                   "--scenario", mine) == 2
    assert "was not generated from a trace" in capsys.readouterr().err
    assert mine.read_text() == "# written by hand\nname: mine\n"
    assert not (tmp_path / "new.jsonl").exists()  # refused before recording anything

    assert harness("record", "--simulated", "--count", "2", "--out", tmp_path / "a.jsonl",
                   "--scenario", tmp_path / "gen.yaml") == 0
    assert harness("record", "--simulated", "--count", "3", "--out", tmp_path / "b.jsonl",
                   "--scenario", tmp_path / "gen.yaml") == 0  # a generated one is replaced
    assert load_scenario(tmp_path / "gen.yaml").environment.trace == "b.jsonl"  # type: ignore[union-attr]


def test_usage_errors(tmp_path: Path) -> None:
    for argv in (["--period", "0"], ["--count", "0"], ["--hours", "1", "--count", "3"],
                 ["--out", str(tmp_path / "x.txt")]):
        try:
            status = harness("record", "--simulated", *argv)
        except SystemExit as stop:
            status = int(stop.code or 0)
        assert status == 2, argv
