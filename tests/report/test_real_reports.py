"""Real runs' reports in headless Chromium: the weather station's rainy day and a user's
own project (a greenhouse with its own group, Lambda and scenario). Each is opened once over
the DevTools protocol (:mod:`tests.report.cdp`): its DOM is read, its images are checked
decoded, and the whole page is captured as a PNG in the test's folder.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from harness.report import plots
from harness.report.plots import SHADOW_PLOT
from tests.report.cdp import Browser
from tests.report.real_runs import RealReport
from tests.report.sample import Page, matches, pixels, rain_mask, shaded

WIDTH = 1200

# what the page says of itself, read in the page
PAGE_FACTS = """(() => ({
  sections: [...document.querySelectorAll("[id]")].map(e => e.id),
  images: [...document.images].map(i => [i.complete, i.naturalWidth, i.naturalHeight,
                                         i.clientWidth]),
  details: [...document.querySelectorAll("details")].map(d => [d.id,
      d.querySelector("summary").textContent, d.open]),
  text: [...document.body.querySelectorAll(":scope > main > :not(details)")]
      .map(e => e.innerText).join("\\n"),
  height: document.documentElement.scrollHeight,
}))()"""


@dataclass
class Shown:
    """What Chromium made of a report: facts read in the page, its DOM, its screenshot."""

    report: RealReport
    facts: dict[str, Any]
    dom: Page
    screenshot: Path


@pytest.fixture(scope="session")
def chromium() -> str:
    binary = shutil.which("chromium")
    if binary is None:
        pytest.skip("chromium is not installed: apt-get install chromium")
    return binary


def _show(binary: str, report: RealReport, folder: Path) -> Shown:
    with Browser(binary, folder / "profile") as browser:
        browser.open(report.path.as_uri(), WIDTH, 1000)
        facts = browser.evaluate(PAGE_FACTS)
        html = browser.evaluate("document.documentElement.outerHTML")
        shot = browser.screenshot(folder / "report.png")
    return Shown(report, facts, Page(html), shot)


@pytest.fixture(scope="module")
def station(chromium: str, station_report: RealReport,
            tmp_path_factory: pytest.TempPathFactory) -> Shown:
    return _show(chromium, station_report, tmp_path_factory.mktemp("station-shown"))


@pytest.fixture(scope="module")
def user(chromium: str, user_report: RealReport,
         tmp_path_factory: pytest.TempPathFactory) -> Shown:
    return _show(chromium, user_report, tmp_path_factory.mktemp("user-shown"))


@pytest.fixture(scope="module")
def scaffold(chromium: str, scaffold_report: RealReport,
             tmp_path_factory: pytest.TempPathFactory) -> Shown:
    return _show(chromium, scaffold_report, tmp_path_factory.mktemp("scaffold-shown"))


@pytest.fixture(params=["station", "user", "scaffold"])
def shown(request: pytest.FixtureRequest) -> Shown:
    return request.getfixturevalue(request.param)


# -- both reports -------------------------------------------------------------------------

def test_every_section_is_there(shown: Shown) -> None:
    for section in ("scenario", "verdict", "summary", "expectations", "plots", "messages",
                    "logs"):
        assert section in shown.facts["sections"]
    for outcome in shown.report.result.outcomes:
        assert f"expectation-{outcome.index}" in shown.facts["sections"]


def test_every_plot_is_decoded_and_shown_unscaled(shown: Shown) -> None:
    images = shown.facts["images"]
    assert len(images) == len(shown.report.plots)
    for (complete, width, height, shown_width), info in zip(
            images, shown.report.plots.values(), strict=True):
        assert complete and (width, height) == info.size and width > 0
        assert shown_width == width  # the 1200 px window shows the 1000 px plot whole


def test_a_collapsed_log_section_per_function(shown: Shown) -> None:
    result = shown.report.result
    functions = [log for log in result.logs if log.kind == "function"]
    assert functions
    details = {ident: (summary, is_open) for ident, summary, is_open in shown.facts["details"]}
    for log in functions:
        summary, is_open = details[f"log-{log.name}"]
        noun = "line" if log.total == 1 else "lines"
        assert summary.startswith(f"{log.name} ({log.total} {noun})")
        assert not is_open
    assert "Greengrass core" in "".join(s for s, _ in details.values())


def test_no_debug_text_outside_the_logs(shown: Shown) -> None:
    text = shown.facts["text"].lower()
    for word in ("debug", "drawn:", "todo", ".png"):
        assert word not in text


def test_expectations_read_as_sentences(shown: Shown) -> None:
    for outcome in shown.report.result.outcomes:
        cell = shown.dom.rows[f"expectation-{outcome.index}"][4]
        assert outcome.sentence and outcome.sentence in cell
        assert not cell.startswith("{")


def test_the_screenshot_is_the_whole_page(shown: Shown) -> None:
    image = pixels(shown.screenshot)
    height, width = image.shape[:2]
    assert width == WIDTH and height >= shown.facts["height"] - 1
    assert shown.screenshot.stat().st_size > 50_000
    assert (image < 200).any(axis=-1).mean() > 0.02  # text, tables and plots, not blank


# -- the station ------------------------------------------------------------------------

def test_the_station_shows_what_it_always_showed(station: Shown) -> None:
    assert [name for name in station.report.plots if name != "traffic"] == list(plots.PLOTS)
    assert station.report.plots["traffic"].series == station.report.result.messages
    info = station.report.plots["sensor"]
    assert info.series["temperature reading"] > 1000  # a reading every 5 s for 2 h
    assert station.report.plots["rain"].series["rainy (truth)"] == 1
    assert station.report.result.shadows[0].key == "weather-station"


def test_the_station_rain_truth_is_painted_where_it_was(station: Shown) -> None:
    """The rainy stretch (3750 to 5250 s of the squeezed day) is shaded on screen at its
    place on the rain plot's time axis."""
    info = station.report.plots["rain"]
    (start, end), = station.report.result.rain
    width, height = shaded(rain_mask(pixels(station.screenshot)))
    expected = info.x_pixel(end / 60) - info.x_pixel(start / 60)
    assert width == pytest.approx(expected, abs=3)
    assert height > 0.9 * (info.axes[0][3] - info.axes[0][1])  # most of the plot's height


# -- the user's own project ----------------------------------------------------------------

def test_the_user_project_plots_its_own_shadow_and_topics(user: Shown) -> None:
    drawn = user.report.plots
    assert list(drawn) == [f"{SHADOW_PLOT}greenhouse", "traffic", "messages"]
    assert drawn["traffic"].series == drawn["messages"].series == user.report.result.messages
    shadow = drawn[f"{SHADOW_PLOT}greenhouse"].series
    assert shadow["reported humidity"] > 0 and shadow["reported humidity_alert"] > 0
    assert shadow["version"] > 0
    assert drawn["messages"].series["greenhouse/alerts"] == 2
    assert drawn["messages"].series["greenhouse/humidity"] == 4
    image = pixels(drawn[f"{SHADOW_PLOT}greenhouse"].path)
    assert matches(image, plots.REPORTED_COLOR, tolerance=4).sum() > 300
    assert matches(image, plots.VERSION_COLOR, tolerance=4).sum() > 300


def test_the_user_project_has_nothing_of_the_station(user: Shown) -> None:
    text = user.report.text.lower()
    for word in ("weather-station", "bme680", "rain"):
        assert word not in text
    assert user.report.result.passed
    assert user.dom.rows["expectation-1"][4] == (
        "the alert is raised once the air is humid"
        "Between 70 s and 80 s, the greenhouse Shadow's reported humidity_alert is true at "
        "some point.")


# -- the project harness init writes -------------------------------------------------------

def test_the_scaffolded_project_reports_its_own_shadow(scaffold: Shown) -> None:
    result = scaffold.report.result
    assert result.passed, [outcome.label for outcome in result.failures]
    drawn = scaffold.report.plots
    shadow = drawn[f"{SHADOW_PLOT}greenhouse-station"].series
    assert shadow["reported humidity_alert"] > 0 and shadow["version"] > 0
    assert drawn["messages"].series["bme680/readings"] > 0
    text = scaffold.report.text.lower()
    assert "weather-station" not in text and "rain" not in text
    assert "log-humidity_alert" in scaffold.dom.text  # its Lambda's own log section
