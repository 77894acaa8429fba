"""A report folder: one sub-folder per run (``results.json``, the PNG plots and a
self-contained ``report.html``) and an ``index.html`` listing the runs with their verdicts."""

from __future__ import annotations

import html
import re
from collections.abc import Sequence
from pathlib import Path

from harness.report.results import RunResult


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
    rows = []
    for result in results:
        name = run_folder_name(result)
        write_run(result, folder / name)
        verdict = "passed" if result.passed else "FAILED"
        met = len(result.outcomes) - len(result.failures)
        rows.append(
            f'<tr class="{verdict.lower()}"><td><a href="{html.escape(name)}/report.html">'
            f"{html.escape(result.scenario)}</a></td><td>{html.escape(result.rig)}</td>"
            f"<td>{verdict}</td><td>{met}/{len(result.outcomes)}</td></tr>")
    passed = sum(result.passed for result in results)
    index = folder / "index.html"
    index.write_text(
        "<!doctype html><html><head><meta charset='utf-8'><title>scenario runs</title>"
        "<style>body{font-family:sans-serif;margin:2em}td,th{padding:.3em .8em;text-align:left}"
        "tr.failed td{color:#b00}</style></head><body>"
        f"<h1>Scenario runs: {passed} of {len(results)} passed</h1>"
        "<table><tr><th>scenario</th><th>rig</th><th>verdict</th><th>expectations met</th>"
        f"</tr>{''.join(rows)}</table><p>JUnit XML: <a href='junit.xml'>junit.xml</a></p>"
        "</body></html>\n", encoding="utf-8")
    return index
