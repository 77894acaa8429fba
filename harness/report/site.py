"""A report folder: one sub-folder per run (``results.json``, the PNG plots and a
self-contained ``report.html``) and an ``index.html`` listing the runs.

The index says how many runs passed and how many expectations were met, then has a row per
run: the scenario (a link to its report), the rig, the verdict (green or red), the
expectations met, the scenario's duration and the run's wall time, and for a failed run its
first failure as a sentence. Its CSS is inline and it loads nothing (the same
Content-Security-Policy as the reports); its only links are to the runs' reports and to
``junit.xml`` beside it.
"""

from __future__ import annotations

import html
import re
from collections.abc import Sequence
from pathlib import Path

from harness.report.html import FAILED_COLOR, PASSED_COLOR, page_head
from harness.report.results import RunResult
from harness.report.sentences import sentence as sentence_of

INDEX_NAME = "index.html"

STYLE = f"""
body {{ font: 15px/1.45 system-ui, -apple-system, "Segoe UI", "DejaVu Sans", sans-serif;
       color: #1f2328; background: #ffffff; margin: 0; }}
main {{ max-width: 1100px; margin: 0 auto; padding: 24px 16px; }}
h1 {{ font-size: 1.6em; margin: 0 0 12px; }}
.counts {{ display: flex; gap: 12px; flex-wrap: wrap; margin: 0 0 20px; padding: 0; }}
.counts li {{ list-style: none; border: 1px solid #d0d7de; border-radius: 6px;
             padding: 8px 14px; min-width: 8em; }}
.counts .number {{ display: block; font-size: 1.5em; font-weight: 700;
                  font-variant-numeric: tabular-nums; }}
.counts .passed .number {{ color: {PASSED_COLOR}; }}
.counts .failed .number {{ color: {FAILED_COLOR}; }}
table {{ border-collapse: collapse; width: 100%; }}
th, td {{ border-bottom: 1px solid #d0d7de; padding: 6px 10px; text-align: left;
         vertical-align: top; }}
th {{ background: #f6f8fa; border-top: 1px solid #d0d7de; }}
td.number, th.number {{ text-align: right; font-variant-numeric: tabular-nums;
                       white-space: nowrap; }}
tr.failed {{ background: #fff5f5; }}
.verdict {{ display: inline-block; color: #ffffff; font-weight: 700; font-size: 0.85em;
           letter-spacing: 0.04em; padding: 2px 10px; border-radius: 10px; }}
.verdict.passed {{ background: {PASSED_COLOR}; }}
.verdict.failed {{ background: {FAILED_COLOR}; }}
a {{ color: #0969da; text-decoration: none; font-weight: 600; }}
a:hover {{ text-decoration: underline; }}
.first-failure {{ color: #59636e; font-size: 0.9em; }}
.lambda-failures {{ color: {FAILED_COLOR}; font-size: 0.9em; font-weight: 600; }}
footer {{ color: #59636e; font-size: 0.85em; margin-top: 20px; }}
"""


def run_folder_name(result: RunResult) -> str:
    stem = Path(result.file).stem if result.file else result.scenario
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", f"{stem}-{result.rig}")


def write_run(result: RunResult, folder: Path) -> Path:
    """``results.json``, the plots and ``report.html`` for one run in ``folder``."""
    from harness.report.html import write_html
    from harness.report.plots import render_plots

    folder.mkdir(parents=True, exist_ok=True)
    result.write(folder / "results.json")
    return write_html(result, folder, render_plots(result, folder))


def write_site(results: Sequence[RunResult], folder: Path) -> Path:
    """Every run's folder and ``index.html``; returns the index's path."""
    folder.mkdir(parents=True, exist_ok=True)
    names = []
    for result in results:
        name = run_folder_name(result)
        write_run(result, folder / name)
        names.append(name)
    index = folder / INDEX_NAME
    index.write_text(render_index(results, names), encoding="utf-8")
    return index


def render_index(results: Sequence[RunResult], folders: Sequence[str]) -> str:
    """The index page of ``results``, each run's report in ``<folder>/report.html``."""
    passed = sum(result.passed for result in results)
    expectations = sum(len(result.outcomes) for result in results)
    met = expectations - sum(len(result.failures) for result in results)
    rows = [_row(result, name) for result, name in zip(results, folders, strict=True)]
    counts = [("runs", len(results), ""), ("passed", passed, "passed"),
              ("failed", len(results) - passed, "failed" if passed < len(results) else ""),
              ("expectations met", f"{met} of {expectations}", "")]
    count_items = "".join(
        f'<li class="{kind}"><span class="number">{value}</span>{label}</li>'
        for label, value, kind in counts)
    head = ("<tr><th>Scenario</th><th>Rig</th><th>Verdict</th>"
            '<th class="number">Expectations met</th><th class="number">Duration</th>'
            '<th class="number">Wall time</th></tr>')
    body = "\n".join(rows) if rows else '<tr><td colspan="6">No runs.</td></tr>'
    return "\n".join([
        *page_head(f"Scenario runs: {passed} of {len(results)} passed", STYLE),
        "<body>",
        "<main>",
        f'<h1 id="title">Scenario runs: {passed} of {len(results)} passed</h1>',
        f'<ul class="counts" id="counts">{count_items}</ul>',
        f'<table id="runs">\n{head}\n{body}\n</table>',
        '<footer>Each scenario links to its own report. JUnit XML for CI: '
        '<a href="junit.xml">junit.xml</a>.</footer>',
        "</main>",
        "</body>",
        "</html>",
    ]) + "\n"


def _row(result: RunResult, folder: str) -> str:
    verdict = "passed" if result.passed else "failed"
    met = len(result.outcomes) - len(result.failures)
    first = ""
    if result.failures:
        failure = result.failures[0]
        described = not failure.label.startswith("{")  # a description, or the YAML
        text = failure.label if described else (
            failure.sentence or sentence_of(failure.label) or failure.label)
        at = f" (at {failure.failed_at:g} s)" if failure.failed_at is not None else ""
        more = len(result.failures) - 1
        first = (f'<div class="first-failure">First failed: {_e(text)}{_e(at)}'
                 + (f" and {more} more" if more else "") + "</div>")
    lambdas = ""
    if result.function_failures:
        count = len(result.function_failures)
        lambdas = (f'<div class="lambda-failures">{count} Lambda failure'
                   f"{'s' if count != 1 else ''}</div>")
    return (f'<tr class="{verdict}" id="run-{_e(folder)}">'
            f'<td><a href="{_e(folder)}/report.html">{_e(result.scenario)}</a>{first}'
            f"{lambdas}</td>"
            f"<td>{_e(result.rig)}</td>"
            f'<td><span class="verdict {verdict}">{verdict.upper()}</span></td>'
            f'<td class="number">{met}/{len(result.outcomes)}</td>'
            f'<td class="number">{_e(f"{result.duration:g} s")}</td>'
            f'<td class="number">{_e(f"{result.wall_seconds:.2f} s")}</td></tr>')


def _e(text: object) -> str:
    return html.escape(str(text), quote=True)
