"""The report's plots show what the run recorded: series, point counts and pixels."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest

from harness.report import plots
from harness.report.html import write_html
from harness.report.plots import PlotInfo, make_plots, render_plots, time_axis
from harness.report.results import RunResult, record_run
from tests.report.conftest import Report
from tests.report.sample import (
    DURATION,
    FAILED_AT,
    MESSAGES,
    NO_SHADOW,
    RAIN,
    box,
    matches,
    pixels,
    rain_mask,
    synthetic_result,
)

REPO = Path(__file__).resolve().parents[2]
QUANTITIES = ("temperature", "pressure", "humidity")


@pytest.fixture
def result(report: Report) -> RunResult:
    """The made-up run (see :func:`tests.report.sample.synthetic_result`)."""
    return report.result


@pytest.fixture
def drawn(report: Report) -> dict[str, PlotInfo]:
    """Its plots, drawn once for the session."""
    return report.plots


def _count(values: list) -> int:
    return sum(1 for v in values if v is not None)


def test_the_five_pngs_are_written(drawn: dict[str, PlotInfo]) -> None:
    assert list(drawn) == ["sensor", "shadow", "rain", "version", "messages"]
    for name, info in drawn.items():
        assert info.path.name == f"{name}.png"
        assert info.path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert pixels(info.path).shape[:2] == (info.size[1], info.size[0])


def test_make_plots_gives_the_paths_and_the_same_bytes(
        result: RunResult, drawn: dict[str, PlotInfo], tmp_path: Path) -> None:
    paths = make_plots(result, tmp_path / "again")
    assert paths == {name: tmp_path / "again" / f"{name}.png" for name in plots.PLOTS}
    for name, path in paths.items():  # deterministic: drawn twice, the same file
        data = path.read_bytes()
        assert data == drawn[name].path.read_bytes(), name
        assert b"matplotlib" not in data.lower()  # no Software text chunk


def test_only_some_plots(result: RunResult, tmp_path: Path) -> None:
    assert list(render_plots(result, tmp_path, only=["version"])) == ["version"]
    assert [p.name for p in tmp_path.iterdir()] == ["version.png"]
    with pytest.raises(ValueError, match="no such plot: bogus"):
        render_plots(result, tmp_path, only=["bogus"])


def test_series_point_counts_match_the_result(result: RunResult,
                                              drawn: dict[str, PlotInfo]) -> None:
    truth = len(result.samples)  # every sample has the air
    sensor = drawn["sensor"].series
    for key in QUANTITIES:
        assert sensor[f"{key} reading"] == _count([getattr(r, key) for r in result.readings])
        assert sensor[f"{key} reading"] == len(result.readings) - len(FAILED_AT)
        assert sensor[f"{key} truth"] == truth
    assert sensor["failed read"] == len(FAILED_AT)

    reported = sum(1 for s in result.samples if s.version is not None)
    shadow = drawn["shadow"].series
    for key in QUANTITIES:
        assert shadow[f"reported {key}"] == reported
        assert shadow[f"{key} truth"] == truth

    assert drawn["rain"].series == {"rainy (truth)": len(RAIN), "rain probability": reported,
                                    "rain prediction": reported}
    assert drawn["version"].series == {"version": reported, "no Shadow": len(NO_SHADOW)}
    assert drawn["messages"].series == MESSAGES


def test_titles_and_axis_labels(drawn: dict[str, PlotInfo]) -> None:
    assert drawn["sensor"].ylabels == ["Temperature (°C)", "Pressure (hPa)", "Humidity (%RH)"]
    assert drawn["shadow"].ylabels == drawn["sensor"].ylabels
    for name in ("sensor", "shadow", "rain", "version"):
        assert drawn[name].xlabel == "Time (min)"  # a 20-minute run
        assert drawn[name].xlim == (0.0, DURATION / 60)
        assert "made-up <front> & co" in drawn[name].title
    assert "against the truth" in drawn["rain"].title
    assert drawn["messages"].title.startswith(f"Messages per topic ({sum(MESSAGES.values())}")


@pytest.mark.parametrize(("duration", "unit"), [
    (90, "s"), (300, "s"), (301, "min"), (5400, "min"), (3 * 3600, "min"), (4 * 3600, "h")])
def test_the_time_unit_follows_the_duration(duration: float, unit: str) -> None:
    assert time_axis(duration).unit == unit


def test_sensor_plot_shows_readings_truth_and_failed_reads(drawn: dict[str, PlotInfo]) -> None:
    info = drawn["sensor"]
    image = pixels(info.path)
    for i, area in enumerate(info.axes):
        inside = box(image, area)
        assert (inside.sum(axis=-1) < 3 * 250).mean() > 0.01, f"axes {i} is blank"
        assert matches(inside, plots.READING_COLOR, tolerance=4).sum() > 300
        assert matches(inside, plots.TRUTH_COLOR).sum() > 100
        for t in FAILED_AT:  # a red dotted line at each failed read
            column = round(info.x_pixel(t / 60, i))
            band = image[area[1] + 2:area[3] - 1, column - 2:column + 3]
            dots = matches(band, plots.FAIL_COLOR, tolerance=40).any(axis=1)
            assert dots.mean() > 0.15  # dotted: about a third of the height
    # no red where nothing failed
    middle = round(info.x_pixel(15.0))
    assert not matches(image[:, middle - 2:middle + 3], plots.FAIL_COLOR, tolerance=40).any()


def test_shadow_plot_shows_reported_values(drawn: dict[str, PlotInfo]) -> None:
    info = drawn["shadow"]
    image = pixels(info.path)
    for area in info.axes:
        assert matches(box(image, area), plots.REPORTED_COLOR, tolerance=4).sum() > 300
    # the Shadow is deleted from 10 to 10.67 min: no reported line in the middle of the gap
    gap = round(info.x_pixel(10.33))
    for area in info.axes:
        column = image[area[1] + 2:area[3] - 1, gap - 1:gap + 2]
        assert not matches(column, plots.REPORTED_COLOR, tolerance=30).any()


def _shaded_columns(info: PlotInfo, color: str) -> np.ndarray:
    """The columns of the plot area that are mostly ``color`` (for the rain's shade: or its
    dashed edges), in image x."""
    left, top, right, bottom = info.axes[0]
    inside = pixels(info.path)[top + 2:bottom - 1, left:right]
    mask = rain_mask(inside) if color == plots.RAIN_SHADE_COLOR \
        else matches(inside, color, tolerance=2)
    return np.flatnonzero(mask.mean(axis=0) > 0.5) + left


def test_rain_plot_shades_the_rainy_truth(drawn: dict[str, PlotInfo]) -> None:
    info = drawn["rain"]
    columns = _shaded_columns(info, plots.RAIN_SHADE_COLOR)
    (start, end), = RAIN
    assert columns.size
    assert abs(columns.min() - info.x_pixel(start / 60)) <= 2
    assert abs(columns.max() - info.x_pixel(end / 60)) <= 2
    assert columns.size > 0.9 * (columns.max() - columns.min())  # one block
    image = pixels(info.path)
    assert matches(image, plots.PROBABILITY_COLOR, tolerance=4).sum() > 300
    assert matches(image, plots.PREDICTION_COLOR, tolerance=4).sum() > 300


def test_rain_plot_without_truth_says_so(tmp_path: Path) -> None:
    info = render_plots(synthetic_result(rain=[]), tmp_path, only=["rain"])["rain"]
    assert "no rain truth in the scenario" in info.title
    assert info.series["rainy (truth)"] == 0
    assert not matches(pixels(info.path), plots.RAIN_SHADE_COLOR, tolerance=2).any()


def test_version_plot_has_gaps_without_a_shadow(drawn: dict[str, PlotInfo]) -> None:
    info = drawn["version"]
    image = pixels(info.path)
    assert matches(image, plots.VERSION_COLOR, tolerance=4).sum() > 300
    shaded = _shaded_columns(info, plots.NO_SHADOW_COLOR)
    for start, end in NO_SHADOW:
        middle = round(info.x_pixel((start + end) / 2 / 60))
        assert middle in shaded
        _, top, _, bottom = info.axes[0]
        column = image[top + 2:bottom - 1, middle - 1:middle + 2]
        assert not matches(column, plots.VERSION_COLOR, tolerance=30).any()
    assert round(info.x_pixel(5.0)) not in shaded


def test_message_bars_are_as_long_as_the_counts(drawn: dict[str, PlotInfo]) -> None:
    info = drawn["messages"]
    left, top, right, bottom = info.axes[0]
    bars = matches(pixels(info.path)[top:bottom, left:right], plots.BAR_COLOR, tolerance=2)
    rows = np.flatnonzero(bars.any(axis=1))
    runs = np.split(rows, np.flatnonzero(np.diff(rows) > 1) + 1)
    assert len(runs) == len(MESSAGES)  # one bar per topic, top to bottom in order
    lengths = [bars[run].sum(axis=1).max() for run in runs]
    counts = list(MESSAGES.values())
    scale = lengths[0] / counts[0]
    for length, count in zip(lengths, counts, strict=True):
        assert length == pytest.approx(count * scale, abs=2)


def test_an_empty_run_still_draws(tmp_path: Path) -> None:
    empty = dataclasses.replace(synthetic_result(), samples=[], readings=[], messages={},
                                rain=[], outcomes=[])
    path = write_html(empty, tmp_path)  # no plots given: drawn first, into the same folder
    # nothing was recorded but the (empty) message counts: their plot, and no other
    assert sorted(p.name for p in tmp_path.iterdir()) == ["messages.png", "report.html"]
    for name in plots.PLOTS:  # each plot still draws (frame, labels, a note) when asked
        info = render_plots(empty, tmp_path / "all", only=[name])[name]
        image = pixels(info.path)
        assert (image.sum(axis=-1) < 3 * 200).mean() > 0.005, name
    text = path.read_text()
    assert "The scenario has no expectations." in text
    assert "No messages were published." in text


def test_the_plot_colours_differ() -> None:
    colours = [value for name, value in vars(plots).items() if name.endswith("_COLOR")]
    assert len(colours) == len(set(colours))


@pytest.fixture(scope="module")
def rain_front() -> RunResult:
    """The rain front scenario, run on the simulator, with a rainy stretch as its truth."""
    ran = record_run(REPO / "scenarios" / "rain_front.yaml")
    return dataclasses.replace(ran, rain=[(3000.0, 5400.0)])


def test_a_real_run_is_plotted_point_for_point(rain_front: RunResult, tmp_path: Path) -> None:
    drawn = render_plots(rain_front, tmp_path)
    readings = rain_front.readings
    for key in QUANTITIES:
        assert drawn["sensor"].series[f"{key} reading"] == _count(
            [getattr(r, key) for r in readings]) > 0
        assert drawn["shadow"].series[f"reported {key}"] == _count(
            [s.reported.get(key) for s in rain_front.samples]) > 0
        assert drawn["shadow"].series[f"{key} truth"] == len(rain_front.samples)
    assert drawn["rain"].series["rain prediction"] == _count(
        [s.reported.get("rain_prediction") for s in rain_front.samples])
    assert drawn["version"].series["version"] == _count(
        [s.version for s in rain_front.samples])
    assert drawn["messages"].series == rain_front.messages
    info = drawn["rain"]
    assert info.xlabel == "Time (min)"
    columns = _shaded_columns(info, plots.RAIN_SHADE_COLOR)
    assert abs(columns.min() - info.x_pixel(50.0)) <= 2  # 3000 s
    assert abs(columns.max() - info.x_pixel(90.0)) <= 2  # 5400 s, the end
