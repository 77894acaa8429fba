"""The report as headless Chromium shows it: the DOM it built and the pixels it painted.

Needs Debian's ``chromium`` package (``apt-get install chromium``); without it these tests
are skipped. Two launches in all (one ``--dump-dom``, one ``--screenshot``), about a second
each.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from harness.report import html as report_html
from harness.report import plots
from tests.report.conftest import Report
from tests.report.sample import SHOWN_LABELS, Page, matches, pixels, rain_mask, shaded

SKIP_REASON = "chromium is not installed: apt-get install chromium"
WIDTH = 1200  # wide enough that no plot (1000 px) is scaled down


@pytest.fixture(scope="session")
def chromium() -> str:
    """The chromium binary (the tests are skipped without it)."""
    binary = shutil.which("chromium")
    if binary is None:
        pytest.skip(SKIP_REASON)
    return binary


def _chromium(binary: str, profile: Path, *arguments: str) -> subprocess.CompletedProcess[str]:
    command = [binary, "--headless", "--no-sandbox", "--disable-gpu",
               "--disable-dev-shm-usage", "--no-first-run", f"--user-data-dir={profile}",
               *arguments]
    done = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
    if done.returncode != 0:
        pytest.fail(f"chromium exited with {done.returncode}: {done.stderr[-2000:]}")
    return done


@pytest.fixture(scope="module")
def dom(chromium: str, report: Report, tmp_path_factory: pytest.TempPathFactory) -> Page:
    """The DOM Chromium built from report.html."""
    done = _chromium(chromium, tmp_path_factory.mktemp("chromium-dom"), "--dump-dom",
                     report.path.as_uri())
    return Page(done.stdout)


@pytest.fixture(scope="module")
def screenshot(chromium: str, report: Report,
               tmp_path_factory: pytest.TempPathFactory) -> np.ndarray:
    """What Chromium painted: the whole page, in a window taller than it."""
    folder = tmp_path_factory.mktemp("chromium-shot")
    height = 2000 + sum(info.size[1] for info in report.plots.values())
    shot = folder / "report.png"
    _chromium(chromium, folder / "profile", "--hide-scrollbars", "--force-device-scale-factor=1",
              f"--window-size={WIDTH},{height}", "--run-all-compositor-stages-before-draw",
              f"--screenshot={shot}", report.path.as_uri())
    return pixels(shot)


def test_chromium_shows_the_verdict_and_title(dom: Page) -> None:
    assert dom.text["verdict"].strip() == "FAILED"
    assert dom.title.startswith("FAILED: made-up <front> & co")
    assert dom.text["scenario"] == "Scenario: made-up <front> & co"


def test_chromium_shows_every_expectation(dom: Page, report: Report) -> None:
    for outcome, shown in zip(report.result.outcomes, SHOWN_LABELS, strict=True):
        row = dom.rows[f"expectation-{outcome.index}"]
        assert row[0] == str(outcome.index)
        assert row[1] == ("met" if outcome.met else "FAILED")
        assert row[4] == shown  # the <script> label is text, as written
    assert dom.rows["expectation-1"][2] == "640 s (10.7 min)"


def test_chromium_runs_no_script_and_loads_nothing(dom: Page) -> None:
    assert "script" not in dom.tags
    assert "b" not in dom.tags  # <b> in a label stayed text
    assert dom.links == []
    assert len(dom.sources) == len(plots.PLOTS)
    assert all(source.startswith("data:image/png;base64,") for source in dom.sources)


def test_the_whole_page_was_captured(screenshot: np.ndarray) -> None:
    """The window was taller than the page (so the checks below see all of it)."""
    assert (screenshot[-200:] == 255).all()
    assert (screenshot[:200] < 200).any()  # and it is not blank


def test_chromium_painted_the_verdict_badge(screenshot: np.ndarray) -> None:
    """A red FAILED badge near the top of the page, as big as a word in a box."""
    badge = matches(screenshot[:400], report_html.FAILED_COLOR, tolerance=3)
    rows, columns = np.flatnonzero(badge.any(axis=1)), np.flatnonzero(badge.any(axis=0))
    assert badge.sum() > 1000
    assert 20 <= rows.max() - rows.min() <= 60
    assert 60 <= columns.max() - columns.min() <= 200


@pytest.mark.parametrize(("name", "color"), [
    ("sensor", plots.READING_COLOR), ("shadow", plots.REPORTED_COLOR),
    ("rain", plots.RAIN_SHADE_COLOR), ("rain", plots.PROBABILITY_COLOR),
    ("version", plots.VERSION_COLOR), ("messages", plots.BAR_COLOR)])
def test_chromium_decoded_and_painted_each_plot(screenshot: np.ndarray, report: Report,
                                                name: str, color: str) -> None:
    """Each plot's own colour (found nowhere else on the page) is painted about as often as
    it is in the PNG: the image was decoded and shown at its size."""
    assert color.lower() not in report_html.STYLE.lower()
    counts = {other: matches(pixels(info.path), color, tolerance=3).sum()
              for other, info in report.plots.items()}
    on_screen = matches(screenshot, color, tolerance=3).sum()
    assert counts[name] > 300
    assert on_screen == pytest.approx(sum(counts.values()), rel=0.05)


def test_the_rain_shading_is_shown_at_its_size(screenshot: np.ndarray,
                                               report: Report) -> None:
    """The shaded truth on screen is as wide and as tall as in the PNG (the image is shown
    whole and unscaled), and as wide as the rainy stretch is on the time axis."""
    info = report.plots["rain"]
    in_png = shaded(rain_mask(pixels(info.path)))
    on_screen = shaded(rain_mask(screenshot))
    (start, end), = report.result.rain
    expected = info.x_pixel(end / 60) - info.x_pixel(start / 60)
    assert in_png[0] == pytest.approx(expected, abs=2)
    assert on_screen[0] == pytest.approx(in_png[0], abs=1)
    assert on_screen[1] == pytest.approx(in_png[1], abs=1)
