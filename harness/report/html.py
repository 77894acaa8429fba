"""The HTML report of a scenario run: one self-contained ``report.html``.

:func:`write_html` writes the scenario's name, rig, seed and duration, the verdict, a table of
the expectations (met or FAILED, when one first failed and the value seen, each told as a
sentence: :mod:`harness.report.sentences`), the plots of :mod:`harness.report.plots` with
captions, the message count per topic, and a collapsed section per function's log (and the
device program's and the core's) with its last lines. Everything is in
the one file: the PNGs as ``data:`` URIs, the CSS inline, no script and no external URL (a
Content-Security-Policy in the page says so to the browser), so the file can be mailed,
attached to a CI run or opened from disk. All text from the run is HTML-escaped.
"""

from __future__ import annotations

import base64
import html
import json
import math
import struct
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from harness.report.plots import SHADOW_PLOT, PlotInfo, render_plots
from harness.report.results import MAX_LOG_LINES, LogRecord, OutcomeRecord, RunResult
from harness.report.sentences import sentence as sentence_of

REPORT_NAME = "report.html"
MISSING = "<missing>"  # an outcome's value when the path was not there
CSP = "default-src 'none'; img-src data:; style-src 'unsafe-inline'"
PASSED_COLOR = "#1a7f37"  # the verdict badge's background when passed
FAILED_COLOR = "#cf222e"  # ... and when failed

# what each plot shows, when only its path is given
CAPTIONS: dict[str, str] = {
    "sensor": "Sensor readings published by the device, failed reads marked, and the air "
              "the scenario gave the sensor (truth).",
    "shadow": "Temperature, pressure and humidity reported in the local Shadow, against the "
              "truth.",
    "rain": "Rain probability and prediction in the local Shadow; shaded: rainy stretches of "
            "the scenario's truth.",
    "rain-no-truth": "Rain probability and prediction in the local Shadow; the scenario "
                     "declares no truth to compare them with.",
    "version": "The local Shadow's version over time; shaded: no Shadow.",
    "messages": "Messages per topic.",
    "traffic": "Messages over time, per topic.",
    SHADOW_PLOT: "A Shadow the run touched: its reported numbers and true/false values, and "
                 "its version, over time; shaded: no Shadow.",
}

STYLE = f"""
body {{ font: 15px/1.45 system-ui, -apple-system, "Segoe UI", "DejaVu Sans", sans-serif;
       color: #1f2328; background: #ffffff; margin: 0; }}
main {{ max-width: 1040px; margin: 0 auto; padding: 24px 16px 8px; }}
h1 {{ font-size: 1.6em; margin: 0 0 4px; word-break: break-word; }}
h2 {{ font-size: 1.25em; margin: 32px 0 8px; border-bottom: 1px solid #d0d7de;
     padding-bottom: 4px; }}
.verdict {{ display: inline-block; font-weight: 700; font-size: 1.2em; color: #ffffff;
           padding: 4px 14px; border-radius: 6px; margin: 8px 0 16px; letter-spacing: 0.05em; }}
.verdict.passed {{ background: {PASSED_COLOR}; }}
.verdict.failed {{ background: {FAILED_COLOR}; }}
table {{ border-collapse: collapse; margin: 8px 0; }}
th, td {{ border: 1px solid #d0d7de; padding: 4px 10px; text-align: left; vertical-align: top; }}
th {{ background: #f6f8fa; }}
td.number, th.number {{ text-align: right; font-variant-numeric: tabular-nums; }}
table.summary th {{ width: 11em; }}
tr.failed td {{ background: #ffebe9; }}
td.met {{ color: {PASSED_COLOR}; font-weight: 600; }}
td.failed {{ color: {FAILED_COLOR}; font-weight: 700; }}
td.label {{ word-break: break-word; }}
td.time {{ white-space: nowrap; }}
code {{ font: 0.9em ui-monospace, "DejaVu Sans Mono", monospace; word-break: break-all; }}
figure {{ margin: 16px 0 24px; }}
figure img {{ display: block; max-width: 100%; height: auto; border: 1px solid #d0d7de; }}
figcaption {{ color: #3d444d; margin-top: 6px; }}
td.label .sentence {{ display: block; color: #3d444d; }}
td.label .description + .sentence {{ font-size: 0.92em; color: #59636e; margin-top: 2px; }}
details.log {{ border: 1px solid #d0d7de; border-radius: 6px; margin: 8px 0; }}
details.log summary {{ cursor: pointer; padding: 6px 10px; background: #f6f8fa;
                      border-radius: 6px; font-weight: 600; }}
details.log[open] summary {{ border-bottom: 1px solid #d0d7de; border-radius: 6px 6px 0 0; }}
details.log summary .errors {{ color: {FAILED_COLOR}; font-weight: 600; margin-left: 6px; }}
details.log pre {{ margin: 0; padding: 8px 10px; max-height: 28em; overflow: auto;
                  font: 0.8em/1.4 ui-monospace, "DejaVu Sans Mono", monospace;
                  white-space: pre-wrap; word-break: break-all; }}
details.log pre .error {{ color: {FAILED_COLOR}; }}
details.log pre .warn {{ color: #9a6700; }}
details.log p.cut {{ margin: 0; padding: 6px 10px 0; color: #59636e; font-size: 0.85em; }}
table.lambda-failures td.kind {{ color: {FAILED_COLOR}; font-weight: 600; white-space: nowrap; }}
table.lambda-failures pre {{ margin: 0; max-height: 16em; overflow: auto; white-space: pre-wrap;
                            word-break: break-all;
                            font: 0.8em/1.4 ui-monospace, "DejaVu Sans Mono", monospace; }}
footer {{ color: #59636e; font-size: 0.85em; border-top: 1px solid #d0d7de;
         max-width: 1040px; margin: 24px auto 0; padding: 8px 16px 24px; }}
"""


def write_html(result: RunResult, folder: str | Path,
               plots: Mapping[str, PlotInfo | Path] | None = None) -> Path:
    """Write ``report.html`` for ``result`` into ``folder`` and return its path.

    ``plots`` maps plot names (``sensor``, ``shadow``, ``rain``, ``version``, ``messages``)
    to what :func:`~harness.report.plots.render_plots` returned or to PNG paths (as from
    :func:`~harness.report.plots.make_plots`); without it the plots are drawn into
    ``folder`` first. The PNGs are embedded in the page, which needs no other file.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    if plots is None:
        plots = render_plots(result, folder)
    path = folder / REPORT_NAME
    path.write_text(render_html(result, plots), encoding="utf-8")
    return path


def page_head(title: str, style: str) -> list[str]:
    """The lines of a self-contained page up to ``</head>``: the doctype, the Content
    Security Policy that allows nothing but inline images and styles, ``title`` (escaped)
    and ``style``."""
    return [
        "<!DOCTYPE html>",
        '<html lang="en">',
        "<head>",
        '<meta charset="utf-8">',
        f'<meta http-equiv="Content-Security-Policy" content="{CSP}">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{_e(title)}</title>",
        f"<style>{style}</style>",
        "</head>",
    ]


def render_html(result: RunResult, plots: Mapping[str, PlotInfo | Path]) -> str:
    """The report page of ``result`` as a string (see :func:`write_html`)."""
    verdict = "PASSED" if result.passed else "FAILED"
    met = sum(1 for outcome in result.outcomes if outcome.met)
    parts = [
        *page_head(f"{verdict}: {result.scenario} (scenario report)", STYLE),
        "<body>",
        "<main>",
        f'<h1 id="scenario">Scenario: {_e(result.scenario)}</h1>',
        f'<p id="verdict" class="verdict {verdict.lower()}">{verdict}</p>',
        _summary(result, met),
        *_function_failures(result),
        '<h2 id="expectations">Expectations</h2>',
        f"<p>{met} of {len(result.outcomes)} met.</p>",
        _expectations(result.outcomes),
        '<h2 id="plots">Plots</h2>',
        *_figures(plots, has_truth=bool(result.rain)),
        '<h2 id="messages">Messages per topic</h2>',
        _messages(result.messages),
        '<h2 id="logs">Logs</h2>',
        *_logs(result.logs),
        "</main>",
        f"<footer>Scenario report made by gg-edge-harness from the run's results "
        f"(format {_e(result.format)}). This page is self-contained: its plots are embedded "
        f"and it loads nothing else.</footer>",
        "</body>",
        "</html>",
    ]
    return "\n".join(parts) + "\n"


# -- sections ----------------------------------------------------------------------------

def _function_failures(result: RunResult) -> list[str]:
    """The "Lambda failures" section: one row per failure with the function's last log
    lines; nothing when no function failed."""
    failures = result.function_failures
    if not failures:
        return []
    rows = []
    for failure in failures:
        tail = "\n".join(failure.log_tail) if failure.log_tail else "(the function logged nothing)"
        rows.append(f"<tr><td>{_e(failure.function)}</td>"
                    f'<td class="kind">{_e(failure.kind)}</td>'
                    f'<td class="time">{_e(f"{failure.time:g} s")}</td>'
                    f'<td class="label">{_e(failure.message)}</td>'
                    f"<td><pre>{_e(tail)}</pre></td></tr>")
    count = len(failures)
    return ['<h2 id="lambda-failures">Lambda failures</h2>',
            f"<p>{count} failure{'s' if count != 1 else ''} of the group's functions "
            "during the run.</p>",
            '<table class="lambda-failures">',
            "<tr><th>Function</th><th>Kind</th><th>Time</th><th>Message</th>"
            "<th>Last log lines</th></tr>",
            *rows, "</table>"]


def _summary(result: RunResult, met: int) -> str:
    failed_reads = sum(1 for r in result.readings if r.message == "Fail")
    rows = [
        ("Scenario", _e(result.scenario)),
        ("File", f"<code>{_e(result.file)}</code>" if result.file else "—"),
        ("Rig", _e(result.rig)),
        ("Seed", _e(str(result.seed))),
        ("Duration", _e(_seconds(result.duration))),
        ("Verdict", f"{'PASSED' if result.passed else 'FAILED'}: {met} of "
                    f"{len(result.outcomes)} expectations met"),
        ("Recorded", _e(_recorded(result, failed_reads))),
        ("Shadows", _e(", ".join(track.key for track in result.shadows))
         if result.shadows else "none touched"),
        ("Wall time", _e(f"{result.wall_seconds:g} s")),
        ("Delivery", "<br>".join(f"{_e(name)}: {count}" for name, count
                                 in result.delivery.items() if count)
         if any(result.delivery.values()) else "—"),
        ("Refused or stopped", "<br>".join(
            f"{count}&times; {_e(text)}" for text, count in result.problems.items())
         if result.problems else "nothing"),
    ]
    if result.rain:  # the truth, when the scenario declares one
        rows.insert(7, ("Rain truth", _e(", ".join(f"{_seconds(a)} to {_seconds(b)}"
                                                   for a, b in result.rain))))
    body = "\n".join(f"<tr><th>{name}</th><td>{value}</td></tr>" for name, value in rows)
    return f'<table class="summary" id="summary">\n{body}\n</table>'


def _expectations(outcomes: list[OutcomeRecord]) -> str:
    if not outcomes:
        return "<p>The scenario has no expectations.</p>"
    rows = []
    for outcome in outcomes:
        state = "met" if outcome.met else "failed"
        failed_at = "—" if outcome.failed_at is None else _e(_seconds(outcome.failed_at))
        rows.append(
            f'<tr class="{state}" id="expectation-{outcome.index}">'
            f'<td class="number">{outcome.index}</td>'
            f'<td class="{state}">{"met" if outcome.met else "FAILED"}</td>'
            f'<td class="time">{failed_at}</td>'
            f"<td>{_value(outcome.value)}</td>"
            f'<td class="label" title="{_e(outcome.label)}">{_label(outcome)}</td></tr>')
    head = ('<tr><th class="number">#</th><th>Result</th><th>First failed at</th>'
            "<th>Value seen</th><th>Expectation</th></tr>")
    return '<table class="expectations">\n' + head + "\n" + "\n".join(rows) + "\n</table>"


def _figures(plots: Mapping[str, PlotInfo | Path], *, has_truth: bool) -> list[str]:
    figures = []
    for name, plot in plots.items():
        path = plot.path if isinstance(plot, PlotInfo) else Path(plot)
        data = path.read_bytes()
        width, height = _png_size(data)
        key = SHADOW_PLOT if name.startswith(SHADOW_PLOT) else name
        if isinstance(plot, PlotInfo):
            alt, caption = plot.title, plot.caption or CAPTIONS.get(key, "")
        else:
            key = "rain-no-truth" if name == "rain" and not has_truth else key
            alt, caption = CAPTIONS.get(key, name), CAPTIONS.get(key, "")
        source = "data:image/png;base64," + base64.b64encode(data).decode("ascii")
        figures.append(
            f'<figure id="plot-{_e(name)}">'
            f'<img src="{source}" width="{width}" height="{height}" alt="{_e(alt)}">'
            f"<figcaption>{_e(caption)}</figcaption></figure>")
    if not figures:
        figures.append("<p>No plots.</p>")
    return figures


def _messages(messages: dict[str, int]) -> str:
    if not messages:
        return "<p>No messages were published.</p>"
    rows = "\n".join(f'<tr><td><code>{_e(topic)}</code></td><td class="number">{count}</td></tr>'
                     for topic, count in messages.items())
    total = sum(messages.values())
    return ('<table class="messages">\n<tr><th>Topic</th><th class="number">Messages</th></tr>\n'
            f'{rows}\n<tr><th>All topics</th><th class="number">{total}</th></tr>\n</table>')


# -- helpers -----------------------------------------------------------------------------

def _e(text: Any) -> str:
    return html.escape(str(text), quote=True)


def _seconds(seconds: float) -> str:
    """``5400 s (1.5 h)``, ``90 s (1.5 min)``, ``30 s``."""
    text = f"{seconds:g} s"
    if seconds >= 3600:
        return f"{text} ({seconds / 3600:.3g} h)"
    if seconds >= 60:
        return f"{text} ({seconds / 60:.3g} min)"
    return text


def _value(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, float) and not math.isfinite(value):
        return _e(repr(value))
    if value == MISSING:
        return "<em>missing</em>"
    return f"<code>{_e(json.dumps(value, ensure_ascii=False, default=repr))}</code>"


def _label(outcome: OutcomeRecord) -> str:
    """An expectation as a sentence (under its description, when it has one); its YAML as
    JSON, in code, when no sentence can be made of it."""
    label = outcome.label
    sentence = outcome.sentence or sentence_of(label)
    described = not label.startswith("{")
    if sentence and described:
        return (f'<span class="description">{_e(label)}</span>'
                f'<span class="sentence">{_e(sentence)}</span>')
    if sentence:
        return f'<span class="sentence">{_e(sentence)}</span>'
    if not described:
        return f"<code>{_e(label)}</code>"
    return _e(label)


def _recorded(result: RunResult, failed_reads: int) -> str:
    parts = [f"{len(result.samples)} samples"]
    if result.readings:
        parts.append(f"{len(result.readings)} readings ({failed_reads} failed)")
    parts.append(f"{sum(result.messages.values())} messages")
    return ", ".join(parts)


def log_title(log: LogRecord) -> str:
    """How the report names a log: the function's name, ``device bme680-sensor``,
    ``Greengrass core``."""
    if log.kind == "core":
        return "Greengrass core"
    if log.kind == "device":
        return f"device {log.name.split(':', 1)[-1]}"
    return log.name


def _logs(logs: list[LogRecord]) -> list[str]:
    """A collapsed ``<details>`` per log: its name and length, its last lines inside."""
    if not logs:
        return ["<p>No logs were recorded.</p>"]
    sections = []
    for log in logs:
        errors = sum(1 for line in log.lines if "[ERROR]" in line or "Traceback" in line)
        noun = "line" if log.total == 1 else "lines"
        marks = f'<span class="errors">{errors} with errors</span>' if errors else ""
        lines = []
        for line in log.lines:
            kind = "error" if "[ERROR]" in line else "warn" if "[WARN]" in line else ""
            lines.append(f'<span class="{kind}">{_e(line)}</span>' if kind else _e(line))
        cut = (f'<p class="cut">The last {len(log.lines)} of {log.total} lines '
               f"(a report keeps at most {MAX_LOG_LINES}).</p>"
               if len(log.lines) < log.total else "")
        body = "<pre>" + "\n".join(lines) + "</pre>" if log.lines else \
            '<p class="cut">The log is empty.</p>'
        sections.append(
            f'<details class="log" id="log-{_e(_slug(log.name))}">'
            f"<summary>{_e(log_title(log))} ({log.total} {noun}){marks}</summary>"
            f"{cut}{body}</details>")
    return sections


def _slug(name: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "-" for c in name)


def _png_size(data: bytes) -> tuple[int, int]:
    """Width and height from a PNG's IHDR chunk."""
    if data[:8] != b"\x89PNG\r\n\x1a\n" or data[12:16] != b"IHDR":
        raise ValueError("not a PNG file")
    width, height = struct.unpack(">II", data[16:24])
    return width, height
