"""Trace files: the readings taken, one record per cycle, for replay by a simulated chip.

The format follows the file's suffix: ``.csv`` (a header row, empty cells for missing values)
or ``.jsonl`` / ``.ndjson`` (one JSON object a line, ``null`` for missing values). Each record
has ``time`` (epoch seconds), ``sequence``, ``temperature`` (degrees C), ``pressure`` (hPa),
``humidity`` (%RH), ``gas_resistance`` (ohms, missing unless the heater was stable) and
``status`` (``"Success"`` or ``"Fail"``; a failed read has no values).

Writing appends (a CSV header only goes into an empty file) and flushes every record, so a
crash or power cut loses at most the record being written. :func:`read_trace` gives back the
same records, checking every field and naming ``file:line`` when one is wrong.
"""

from __future__ import annotations

import csv
import json
import math
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, TextIO, Union

from device.readings import FAIL, SUCCESS, Measurement

FIELDS = ("time", "sequence", "temperature", "pressure", "humidity", "gas_resistance", "status")
CSV_SUFFIXES = (".csv",)
JSONL_SUFFIXES = (".jsonl", ".ndjson")
_VALUES = ("temperature", "pressure", "humidity")

PathLike = Union[str, Path]


class TraceFormatError(ValueError):
    """A trace file or record is not what this module writes."""


@dataclass(frozen=True)
class TraceRecord:
    """One cycle: what was read (or ``None`` values and ``"Fail"`` when the read failed)."""

    time: float
    sequence: int
    temperature: float | None
    pressure: float | None
    humidity: float | None
    gas_resistance: float | None
    status: str

    @classmethod
    def of(cls, time: float, sequence: int, measurement: Measurement | None) -> TraceRecord:
        """The record of a cycle: a measurement, or ``None`` for a failed read."""
        if measurement is None:
            return cls(time, sequence, None, None, None, None, FAIL)
        return cls(
            time,
            sequence,
            measurement.temperature,
            measurement.pressure,
            measurement.humidity,
            measurement.gas_resistance if measurement.heat_stable else None,
            SUCCESS,
        )


def trace_format(path: PathLike) -> str:
    """``"csv"`` or ``"jsonl"`` from the file's suffix; ``TraceFormatError`` for anything else."""
    suffix = Path(path).suffix.lower()
    if suffix in CSV_SUFFIXES:
        return "csv"
    if suffix in JSONL_SUFFIXES:
        return "jsonl"
    known = ", ".join(CSV_SUFFIXES + JSONL_SUFFIXES)
    raise TraceFormatError(f"{path}: unknown trace format {suffix!r}; use one of {known}")


def _number(value: float) -> str:
    return repr(float(value))  # repr round-trips a float exactly


class TraceWriter:
    """Appends records to a trace file; use as a context manager or call :meth:`close`."""

    def __init__(self, path: PathLike) -> None:
        self.path = Path(path)
        self.format = trace_format(self.path)
        self._file: TextIO = open(  # noqa: SIM115 (kept open across cycles)
            self.path, "a", encoding="utf-8", newline=""
        )
        self._csv: Any = None
        if self.format == "csv":
            self._csv = csv.writer(self._file, lineterminator="\n")
            if self._file.tell() == 0:
                self._csv.writerow(FIELDS)
                self._file.flush()

    def write(self, record: TraceRecord) -> None:
        """Write one record and flush it to the file."""
        if self.format == "csv":
            self._csv.writerow(["" if value is None else _cell(value) for value in _row(record)])
        else:
            self._file.write(json.dumps(asdict(record), allow_nan=False) + "\n")
        self._file.flush()

    __call__ = write

    def close(self) -> None:
        self._file.close()

    def __enter__(self) -> TraceWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _row(record: TraceRecord) -> list[Any]:
    return [getattr(record, name) for name in FIELDS]


def _cell(value: Any) -> str:
    if isinstance(value, float):
        return _number(value)
    return str(value)


def write_trace(path: PathLike, records: Iterable[TraceRecord]) -> int:
    """Append all records to ``path``; return how many were written."""
    written = 0
    with TraceWriter(path) as writer:
        for record in records:
            writer.write(record)
            written += 1
    return written


def _optional_float(where: str, name: str, value: Any) -> float | None:
    if value is None or value == "":
        return None
    return _float(where, name, value)


def _float(where: str, name: str, value: Any) -> float:
    if value is None or value == "":
        raise TraceFormatError(f"{where}: {name!r} is missing")
    if isinstance(value, bool):
        raise TraceFormatError(f"{where}: {name!r} must be a number, got {value!r}")
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise TraceFormatError(f"{where}: {name!r} must be a number, got {value!r}") from None
    if not math.isfinite(number):
        raise TraceFormatError(f"{where}: {name!r} must be finite, got {value!r}")
    return number


def _record(where: str, raw: dict[str, Any]) -> TraceRecord:
    missing = [name for name in FIELDS if name not in raw]
    if missing:
        raise TraceFormatError(f"{where}: missing field(s) {', '.join(missing)}")
    status = raw["status"]
    if status not in (SUCCESS, FAIL):
        raise TraceFormatError(f"{where}: 'status' must be {SUCCESS!r} or {FAIL!r}, got {status!r}")
    sequence = raw["sequence"]
    if isinstance(sequence, str) and sequence.strip().lstrip("-").isdigit():
        sequence = int(sequence)
    if isinstance(sequence, bool) or not isinstance(sequence, int):
        raise TraceFormatError(f"{where}: 'sequence' must be an integer, got {raw['sequence']!r}")
    time = _float(where, "time", raw["time"])
    values = {name: _optional_float(where, name, raw[name]) for name in _VALUES}
    gas = _optional_float(where, "gas_resistance", raw["gas_resistance"])
    if status == SUCCESS and any(value is None for value in values.values()):
        raise TraceFormatError(f"{where}: a {SUCCESS!r} record needs all three values")
    if status == FAIL and (gas is not None or any(v is not None for v in values.values())):
        raise TraceFormatError(f"{where}: a {FAIL!r} record has no values")
    return TraceRecord(time, sequence, gas_resistance=gas, status=status, **values)


def _read_csv(path: Path, file: TextIO) -> Iterator[TraceRecord]:
    reader = csv.reader(file)
    header = next(reader, None)
    if header is None:
        return
    if tuple(header) != FIELDS:
        raise TraceFormatError(f"{path}:1: header {header} is not {list(FIELDS)}")
    for row in reader:
        where = f"{path}:{reader.line_num}"
        if not row:
            continue
        if len(row) != len(FIELDS):
            raise TraceFormatError(f"{where}: {len(row)} cells, expected {len(FIELDS)}")
        yield _record(where, dict(zip(FIELDS, row)))


def _read_jsonl(path: Path, file: TextIO) -> Iterator[TraceRecord]:
    for number, line in enumerate(file, start=1):
        where = f"{path}:{number}"
        if not line.strip():
            continue
        try:
            raw = json.loads(line)
        except ValueError as error:
            raise TraceFormatError(f"{where}: not JSON: {error}") from None
        if not isinstance(raw, dict):
            raise TraceFormatError(f"{where}: a record must be a JSON object")
        yield _record(where, raw)


def read_trace(path: PathLike) -> Iterator[TraceRecord]:
    """The records of a trace file, in order (format by suffix, like :class:`TraceWriter`)."""
    path = Path(path)
    kind = trace_format(path)
    with open(path, encoding="utf-8", newline="") as file:
        if kind == "csv":
            yield from _read_csv(path, file)
        else:
            yield from _read_jsonl(path, file)
