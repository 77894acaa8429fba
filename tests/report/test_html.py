"""report.html: self-contained, escaped, and showing the verdict, expectations and plots."""

from __future__ import annotations

import base64
import re
from pathlib import Path

from harness.report import html as report_html
from harness.report import plots
from harness.report.html import write_html
from tests.report.conftest import Report
from tests.report.sample import (
    MESSAGES,
    SCRIPT_LABEL,
    SHOWN_LABELS,
    Page,
    escaped,
    synthetic_result,
)

DATA_URI = "data:image/png;base64,"


def test_the_report_is_written_in_the_folder(report: Report) -> None:
    assert report.path.name == "report.html"
    assert report.path.parent == report.plots["sensor"].path.parent


def test_it_shows_the_run_and_the_verdict(report: Report) -> None:
    page = Page(report.text)
    assert page.text["verdict"].strip() == "FAILED"
    assert page.text["scenario"] == "Scenario: made-up <front> & co"
    assert page.title.startswith("FAILED: made-up <front> & co")
    summary = page.text["summary"]
    for shown in ("Rig", "sim", "Seed", "7", "1200 s (20 min)", "3 of 4 expectations met",
                  "700 s (11.7 min) to 1000 s (16.7 min)", "scenarios/made_up.yaml"):
        assert shown in summary


def test_every_expectation_has_a_row(report: Report) -> None:
    page = Page(report.text)
    for outcome, shown in zip(report.result.outcomes, SHOWN_LABELS, strict=True):
        row = page.rows[f"expectation-{outcome.index}"]
        assert row[0] == str(outcome.index)
        assert row[1] == ("met" if outcome.met else "FAILED")
        assert row[4] == shown
        assert f'title="{escaped(outcome.label)}"' in report.text  # the YAML, on hover
    assert page.rows["expectation-1"][1:4] == ["FAILED", "640 s (10.7 min)", "missing"]
    assert page.rows["expectation-2"][3] == "98.0"
    assert page.rows["expectation-3"][2:4] == ["—", "—"]


def test_text_is_escaped(report: Report) -> None:
    text = report.text
    assert "<script" not in text.lower()
    assert "<b>label" not in text
    assert escaped(SCRIPT_LABEL) in text
    assert "script" not in Page(text).tags
    assert "b" not in Page(text).tags


def test_plots_are_embedded(report: Report) -> None:
    page = Page(report.text)
    assert len(page.sources) == len(plots.PLOTS)
    for source, info in zip(page.sources, report.plots.values(), strict=True):
        assert source.startswith(DATA_URI)
        assert base64.b64decode(source[len(DATA_URI):]) == info.path.read_bytes()
    assert page.alts == [info.title for info in report.plots.values()]
    for info in report.plots.values():
        assert escaped(info.caption) in report.text
        assert info.caption in page.text[f"plot-{info.name}"]


def test_nothing_is_loaded_from_elsewhere(report: Report) -> None:
    text = report.text
    page = Page(text)
    assert page.links == []  # no links at all
    assert all(source.startswith(DATA_URI) for source in page.sources)
    assert not re.search(r"https?://", text)
    assert not re.search(r"url\(", text)  # no CSS fetches either
    assert "<style>" in text
    assert f'content="{report_html.CSP}"' in text


def test_message_counts_are_listed(report: Report) -> None:
    page = Page(report.text)
    table = page.text["messages"]  # the heading; the table follows it
    assert table == "Messages per topic"
    for topic, count in MESSAGES.items():
        assert re.search(rf"<code>{re.escape(escaped(topic))}</code></td>"
                         rf'<td class="number">{count}</td>', report.text)
    assert f'<th class="number">{sum(MESSAGES.values())}</th>' in report.text


def test_a_passed_run_with_plain_plot_paths(report: Report, tmp_path: Path) -> None:
    result = synthetic_result(passed=True)
    paths = {name: info.path for name, info in report.plots.items()}  # as make_plots gives
    page = Page(write_html(result, tmp_path, paths).read_text())
    assert page.text["verdict"].strip() == "PASSED"
    assert all(row[1] == "met" for key, row in page.rows.items()
               if key.startswith("expectation-"))
    assert [base64.b64decode(s[len(DATA_URI):]) for s in page.sources] == [
        path.read_bytes() for path in paths.values()]
    assert page.alts == [report_html.CAPTIONS[name] for name in paths]


def test_plain_paths_get_a_rain_caption_that_fits_the_truth(report: Report,
                                                            tmp_path: Path) -> None:
    result = synthetic_result(rain=[])
    paths = {"rain": report.plots["rain"].path}
    page = Page(write_html(result, tmp_path, paths).read_text())
    assert page.alts == [report_html.CAPTIONS["rain-no-truth"]]
    assert "declares no truth" in page.text["plot-rain"]
