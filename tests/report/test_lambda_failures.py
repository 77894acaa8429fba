"""The report shows the run's Lambda failures (a section, and a count on the index)."""

from __future__ import annotations

import re
from pathlib import Path

from harness.function_failures import FunctionFailure
from harness.report import html as report_html
from harness.report.html import render_html
from harness.report.site import write_site
from tests.report.sample import Page, synthetic_result

FAILURE = FunctionFailure(
    function="humidity-alert <v2>", kind="handler_error", time=42.5,
    message="KeyError: 'humidity' & more",
    log_tail=("[INFO] handling reading 3", "[ERROR] Traceback <most recent call last>"))


def _with_failures(*failures: FunctionFailure):
    result = synthetic_result()
    result.function_failures = list(failures)
    return result


def test_the_report_lists_each_lambda_failure_near_the_verdict() -> None:
    text = render_html(_with_failures(FAILURE), {})
    assert text.index('id="verdict"') < text.index('id="lambda-failures"') < text.index(
        'id="expectations"')
    section = text[text.index('id="lambda-failures"'):text.index('id="expectations"')]
    assert "1 failure of the group" in section
    for shown in ("humidity-alert &lt;v2&gt;", "handler_error", "42.5 s",
                  "KeyError: &#x27;humidity&#x27; &amp; more"):
        assert shown in section
    tail = re.search(r"<pre>(.*?)</pre>", section, re.S)
    assert tail is not None
    assert tail.group(1) == ("[INFO] handling reading 3\n"
                             "[ERROR] Traceback &lt;most recent call last&gt;")
    assert "<script" not in text.lower()
    assert f'content="{report_html.CSP}"' in text


def test_a_failure_without_log_lines_says_so() -> None:
    silent = FunctionFailure("alert", "import_error", 0.0, "ImportError: no module x")
    text = render_html(_with_failures(silent, FAILURE), {})
    assert "2 failures of the group" in text
    assert "(the function logged nothing)" in text


def test_no_section_when_no_lambda_failed() -> None:
    text = render_html(synthetic_result(), {})
    assert 'id="lambda-failures"' not in text and "<h2" in text
    assert ">Lambda failures<" not in text and '<table class="lambda-failures">' not in text


def test_the_index_counts_a_runs_lambda_failures(tmp_path: Path) -> None:
    failing = _with_failures(FAILURE, FAILURE)
    clean = synthetic_result(passed=True)
    clean.file = "scenarios/other.yaml"
    text = write_site([failing, clean], tmp_path).read_text()
    rows = Page(text).rows
    assert "2 Lambda failures" in rows["run-made_up-sim"][0]
    assert "Lambda failure" not in rows["run-other-sim"][0]
