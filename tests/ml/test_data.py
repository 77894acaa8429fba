from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from ml.data import Split, fahrenheit_to_celsius, load_split

HEADER = (
    "origin,year,month,day,hour,temp,dewp,humid,wind_dir,wind_speed,wind_gust,"
    "precip,pressure,visib,time_hour\n"
)


def _line(month: int, temp: str, humid: str, precip: str, pressure: str) -> str:
    return f"EWR,2013,{month},1,0,{temp},30,{humid},0,0,NA,{precip},{pressure},10,x\n"


def test_counts_match_the_documented_dataset(split: Split) -> None:
    assert split.counts() == {
        "rows_total": 26115,
        "rows_complete": 23386,
        "train_rows": 17565,
        "train_rain": 642,
        "test_rows": 5821,
        "test_rain": 175,
    }
    assert split.counts()["train_rain"] + split.counts()["test_rain"] == 817


def test_features_are_in_the_lambda_order_and_units(split: Split) -> None:
    # First row of the file: EWR 2013-01-01 01:00, 39.02 F, 59.37 %RH, 1012 hPa.
    np.testing.assert_allclose(split.x_train[0], [1012.0, 3.9, 59.37], rtol=1e-6)
    for x in (split.x_train, split.x_test):
        assert x.dtype == np.float32 and x.shape[1] == 3
        assert x[:, 0].min() > 980 and x[:, 0].max() < 1050  # hPa
        assert x[:, 1].min() > -20 and x[:, 1].max() < 40  # Celsius, not Fahrenheit
        assert x[:, 2].min() > 0 and x[:, 2].max() <= 100  # %RH
    # Autumn is colder than the January-September average: the split is by time.
    assert split.x_test[:, 1].mean() < split.x_train[:, 1].mean()


def test_fahrenheit_to_celsius() -> None:
    assert fahrenheit_to_celsius(32.0) == 0.0
    assert fahrenheit_to_celsius(212.0) == pytest.approx(100.0)
    assert fahrenheit_to_celsius(-40.0) == pytest.approx(-40.0)


def test_split_by_month_and_rows_with_na_dropped(tmp_path: Path) -> None:
    csv = tmp_path / "weather.csv"
    csv.write_text(
        HEADER
        + _line(1, "50", "80", "0.01", "1000")  # train, rain
        + _line(9, "50", "80", "0", "1001")  # train, dry
        + _line(10, "32", "90", "0.2", "1002")  # test, rain
        + _line(12, "NA", "90", "0", "1003")  # dropped: temp missing
        + _line(11, "40", "90", "NA", "1004")  # dropped: precip missing
        + _line(3, "40", "NA", "0", "1005")  # dropped: humidity missing
        + _line(4, "40", "50", "0", "NA")  # dropped: pressure missing
    )
    s = load_split(csv)
    assert (s.rows_total, s.rows_complete) == (7, 3)
    np.testing.assert_array_equal(s.y_train, [1, 0])
    np.testing.assert_array_equal(s.y_test, [1])
    np.testing.assert_allclose(s.x_train[:, 0], [1000, 1001])
    np.testing.assert_allclose(s.x_test, [[1002, 0.0, 90]])
