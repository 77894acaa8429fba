"""Trace files: both formats round-trip exactly, and bad files are refused with file:line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from device.readings import Measurement
from device.recorder import (
    TraceFormatError,
    TraceRecord,
    TraceWriter,
    read_trace,
    trace_format,
    write_trace,
)

RECORDS = [
    TraceRecord.of(1_700_000_000.125, 1, Measurement(21.37, 1013.25, 45.123, 123456.789, True)),
    TraceRecord.of(1_700_000_005.125, 2, None),
    # gas measured but the heater not stable: not recorded
    TraceRecord.of(1_700_000_010.125, 3, Measurement(-12.5, 300.0, 0.0, 99.0, False)),
    TraceRecord.of(1_700_000_015.1, 4, Measurement(0.1 + 0.2, 1099.99, 100.0, None, False)),
]


@pytest.mark.parametrize("suffix", [".csv", ".jsonl", ".ndjson"])
def test_round_trip(tmp_path: Path, suffix: str) -> None:
    path = tmp_path / f"trace{suffix}"
    assert write_trace(path, RECORDS) == len(RECORDS)
    assert list(read_trace(path)) == RECORDS  # floats exactly, None stays None


def test_records_of_measurements_and_failures() -> None:
    assert RECORDS[1] == TraceRecord(1_700_000_005.125, 2, None, None, None, None, "Fail")
    assert RECORDS[0].gas_resistance == 123456.789 and RECORDS[0].status == "Success"
    assert RECORDS[2].gas_resistance is None


@pytest.mark.parametrize("suffix", [".csv", ".jsonl"])
def test_appending_continues_the_file(tmp_path: Path, suffix: str) -> None:
    path = tmp_path / f"trace{suffix}"
    write_trace(path, RECORDS[:2])
    write_trace(path, RECORDS[2:])
    assert list(read_trace(path)) == RECORDS
    if suffix == ".csv":
        assert path.read_text().count("time,sequence") == 1  # one header


def test_csv_layout(tmp_path: Path) -> None:
    path = tmp_path / "trace.csv"
    write_trace(path, RECORDS[:2])
    lines = path.read_text().splitlines()
    assert lines == [
        "time,sequence,temperature,pressure,humidity,gas_resistance,status",
        "1700000000.125,1,21.37,1013.25,45.123,123456.789,Success",
        "1700000005.125,2,,,,,Fail",
    ]


def test_jsonl_layout(tmp_path: Path) -> None:
    path = tmp_path / "trace.jsonl"
    write_trace(path, RECORDS[1:2])
    assert json.loads(path.read_text()) == {
        "time": 1_700_000_005.125,
        "sequence": 2,
        "temperature": None,
        "pressure": None,
        "humidity": None,
        "gas_resistance": None,
        "status": "Fail",
    }


def test_each_record_is_on_disk_once_written(tmp_path: Path) -> None:
    path = tmp_path / "trace.jsonl"
    with TraceWriter(path) as writer:
        writer.write(RECORDS[0])
        assert list(read_trace(path)) == RECORDS[:1]  # flushed, before the writer closes


def test_unknown_suffix_is_refused(tmp_path: Path) -> None:
    with pytest.raises(TraceFormatError, match=r"\.txt"):
        TraceWriter(tmp_path / "trace.txt")
    assert trace_format("a/B.CSV") == "csv"


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        ('{"time": 1, "sequence": 1}\n', "missing field"),
        ("not json\n", "not JSON"),
        ("[1, 2]\n", "JSON object"),
        (
            '{"time": 1, "sequence": 1, "temperature": 20, "pressure": null, "humidity": 40,'
            ' "gas_resistance": null, "status": "Success"}\n',
            "needs all three",
        ),
        (
            '{"time": 1, "sequence": 1, "temperature": 20, "pressure": null, "humidity": null,'
            ' "gas_resistance": null, "status": "Fail"}\n',
            "has no values",
        ),
        (
            '{"time": 1, "sequence": true, "temperature": null, "pressure": null,'
            ' "humidity": null, "gas_resistance": null, "status": "Fail"}\n',
            "'sequence' must be an integer",
        ),
        (
            '{"time": "soon", "sequence": 1, "temperature": null, "pressure": null,'
            ' "humidity": null, "gas_resistance": null, "status": "Fail"}\n',
            "'time' must be a number",
        ),
        (
            '{"time": 1, "sequence": 1, "temperature": null, "pressure": null,'
            ' "humidity": null, "gas_resistance": null, "status": "OK"}\n',
            "'status' must be",
        ),
    ],
)
def test_bad_jsonl_names_file_and_line(tmp_path: Path, content: str, problem: str) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text("\n" + content)  # blank first line: the problem is on line 2
    with pytest.raises(TraceFormatError) as caught:
        list(read_trace(path))
    assert f"{path}:2" in str(caught.value) and problem in str(caught.value)


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        ("time,temperature\n", "header"),
        (
            "time,sequence,temperature,pressure,humidity,gas_resistance,status\n1,1,20,1000\n",
            "4 cells",
        ),
        (
            "time,sequence,temperature,pressure,humidity,gas_resistance,status\n"
            "1,1,warm,1000,40,,Success\n",
            "'temperature' must be a number",
        ),
        (
            "time,sequence,temperature,pressure,humidity,gas_resistance,status\n"
            "1,1,nan,1000,40,,Success\n",
            "finite",
        ),
    ],
)
def test_bad_csv_is_refused(tmp_path: Path, content: str, problem: str) -> None:
    path = tmp_path / "bad.csv"
    path.write_text(content)
    with pytest.raises(TraceFormatError, match=problem):
        list(read_trace(path))


def test_empty_files_have_no_records(tmp_path: Path) -> None:
    for name in ("empty.csv", "empty.jsonl"):
        (tmp_path / name).write_text("")
        assert list(read_trace(tmp_path / name)) == []
