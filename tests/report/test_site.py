"""The index page: counts, a row per run with its verdict's colour and a link to its report,
inline CSS, nothing loaded from elsewhere."""

from __future__ import annotations

import re
from pathlib import Path

from harness.report import html as report_html
from harness.report.site import write_site
from tests.report.sample import Page, synthetic_result


def test_the_index_lists_each_run_with_its_verdict(tmp_path: Path) -> None:
    failed, passed = synthetic_result(), synthetic_result(passed=True)
    passed.file = "scenarios/other.yaml"
    index = write_site([failed, passed], tmp_path)
    text = index.read_text()
    page = Page(text)
    assert page.title == "Scenario runs: 1 of 2 passed"
    assert "1 of 2 passed" in page.text["title"]
    counts = page.text["counts"]
    for shown in ("2runs", "1passed", "1failed", "7 of 8expectations met"):
        assert shown in counts
    made_up, other = page.rows["run-made_up-sim"], page.rows["run-other-sim"]
    assert made_up[1:4] == ["sim", "FAILED", "3/4"]
    assert made_up[0].startswith("made-up <front> & co")
    assert "First failed: " in made_up[0] and "(at 640 s)" in made_up[0]
    assert other[2:4] == ["PASSED", "4/4"]
    assert page.links == ["made_up-sim/report.html", "other-sim/report.html", "junit.xml"]
    for link in page.links[:2]:
        assert (tmp_path / link).is_file()
    assert 'class="verdict failed"' in text and 'class="verdict passed"' in text
    assert report_html.FAILED_COLOR in text and report_html.PASSED_COLOR in text
    assert f'content="{report_html.CSP}"' in text
    assert "script" not in page.tags
    assert not re.search(r"https?://|url\(", text)
