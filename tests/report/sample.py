"""A made-up run result with everything a report has to show, and helpers to read images.

:func:`synthetic_result` is a 20-minute run with failed reads, a Shadow that is missing at
the start and deleted for a while, a rain front with a rainy stretch in its truth, a failed
expectation and text that needs escaping; it takes no simulation to make.
"""

from __future__ import annotations

import html
import math
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
from matplotlib.colors import to_rgb
from PIL import Image

from harness.report import plots
from harness.report.results import OutcomeRecord, Reading, RunResult, Sample

DURATION = 1200.0
STEP = 10.0  # seconds between samples
PERIOD = 30.0  # seconds between readings
FAILED_AT = (300.0, 330.0)  # the reads that fail
NO_SHADOW = ((0.0, 20.0), (600.0, 640.0))  # [start, end) without a Shadow
RAIN = [(700.0, 1000.0)]  # the truth's rainy stretch
SCRIPT_LABEL = '<script>alert("report")</script> & the "rain" <b>label</b>'
SENTENCE = "Within 300 s, the weather-station Shadow's reported rain_prediction is 0."
#: what the report shows of each made-up expectation: its description and sentence; a
#: description alone when it has no sentence; the sentence of an expectation's YAML
SHOWN_LABELS = [
    "dry air first, no rain predicted" + SENTENCE,
    SCRIPT_LABEL,
    "At the end of the run, the weather-station Shadow's reported humidity is 98.",
    "The Shadow's version never goes back, and ends higher than it began.",
]
MESSAGES = {
    "$aws/things/weather-station/shadow/update/accepted": 118,
    "$aws/things/weather-station/shadow/update/documents": 118,
    "bme680/readings": 41,
    "hello/world": 7,
}


def _air(t: float) -> dict[str, float]:
    front = min(max((t - 300.0) / 600.0, 0.0), 1.0)
    return {"temperature": round(16.0 - 4.0 * front, 4),
            "pressure": round(1022.0 - 27.0 * front, 4),
            "humidity": round(45.0 + 53.0 * front, 4)}


def _no_shadow(t: float) -> bool:
    return any(start <= t < end for start, end in NO_SHADOW)


def synthetic_result(*, rain: list[tuple[float, float]] | None = None,
                     passed: bool = False) -> RunResult:
    """The made-up run (``rain``: the truth's rainy stretches, :data:`RAIN` by default)."""
    samples = []
    version = 0
    for i in range(int(DURATION / STEP) + 1):
        t = i * STEP
        air = _air(t)
        if _no_shadow(t):
            samples.append(Sample(t=t, air=air, reported={}, version=None))
            continue
        version += 1
        probability = round(1.0 / (1.0 + math.exp(-(t - 650.0) / 80.0)), 4)
        samples.append(Sample(t=t, air=air, version=version, reported={
            "temperature": air["temperature"], "pressure": air["pressure"],
            "humidity": air["humidity"], "rain_probability": probability,
            "rain_prediction": int(probability >= 0.5), "message": "Success",
            "sequence": i}))
    readings = []
    for i in range(int(DURATION / PERIOD) + 1):
        t = i * PERIOD
        if t in FAILED_AT:
            readings.append(Reading(t=t, sequence=i + 1, temperature=None, pressure=None,
                                    humidity=None, message="Fail"))
            continue
        air = _air(t)
        readings.append(Reading(t=t, sequence=i + 1, temperature=air["temperature"] + 14.5,
                                pressure=air["pressure"], humidity=air["humidity"],
                                message="Success"))
    outcomes = [
        OutcomeRecord(0, "dry air first, no rain predicted", True, None, 0, SENTENCE),
        OutcomeRecord(1, SCRIPT_LABEL, passed, None if passed else 640.0,
                      1 if passed else "<missing>"),
        OutcomeRecord(2, '{"shadow": {"path": "state.reported.humidity", "approx": 98.0}}',
                      True, None, 98.0),
        OutcomeRecord(3, '{"always": "version grows"}', True, None, None),
    ]
    return RunResult(
        scenario="made-up <front> & co", file="scenarios/made_up.yaml", rig="sim", seed=7,
        duration=DURATION, passed=passed, outcomes=outcomes, samples=samples,
        readings=readings, messages=dict(MESSAGES), rain=RAIN if rain is None else rain,
        wall_seconds=0.5)


# -- images ------------------------------------------------------------------------------

def pixels(path: Path) -> np.ndarray:
    """An image as an ``(height, width, 3)`` array of 0..255 integers."""
    with Image.open(path) as image:
        return np.asarray(image.convert("RGB"), dtype=np.int16)


def matches(image: np.ndarray, color: str, tolerance: int = 12) -> np.ndarray:
    """Where ``image`` has ``color`` (each channel within ``tolerance``): a boolean mask."""
    rgb = np.array([round(c * 255) for c in to_rgb(color)], dtype=np.int16)
    return np.all(np.abs(image - rgb) <= tolerance, axis=-1)


def rain_mask(image: np.ndarray) -> np.ndarray:
    """Where ``image`` shows the truth's rainy stretches: their shade, or their dashed
    edges."""
    return (matches(image, plots.RAIN_SHADE_COLOR, tolerance=2)
            | matches(image, plots.RAIN_EDGE_COLOR, tolerance=25))


def shaded(mask: np.ndarray) -> tuple[int, int]:
    """The width and height of the block ``mask`` marks: its rows, and the columns marked in
    most of them (so that a small patch elsewhere, as in a legend, is left out)."""
    rows = np.flatnonzero(mask.any(axis=1))
    if not rows.size:
        return 0, 0
    columns = np.flatnonzero(mask[rows].mean(axis=0) > 0.5)
    return int(columns.max() - columns.min() + 1) if columns.size else 0, int(rows.size)


def box(image: np.ndarray, area: tuple[int, int, int, int]) -> np.ndarray:
    """The part of ``image`` inside ``area`` (left, top, right, bottom), edges left out."""
    left, top, right, bottom = area
    return image[top + 2:bottom - 1, left + 2:right - 1]


# -- pages -------------------------------------------------------------------------------

class Page(HTMLParser):
    """What an HTML page holds: the text of each element with an id, the cells of each table
    row (by row id), every ``src``, ``href`` and ``alt``, and the tags seen."""

    def __init__(self, text: str) -> None:
        super().__init__(convert_charrefs=True)
        self.text: dict[str, str] = {}
        self.rows: dict[str, list[str]] = {}
        self.sources: list[str] = []
        self.links: list[str] = []
        self.alts: list[str] = []
        self.tags: list[str] = []
        self.title = ""
        self._open: list[tuple[str, str | None]] = []  # (tag, id)
        self._row: str | None = None
        self._cell: list[str] | None = None
        self.feed(text)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        self.tags.append(tag)
        if "src" in found:
            self.sources.append(found["src"] or "")
        if "alt" in found:
            self.alts.append(found["alt"] or "")
        if "href" in found:
            self.links.append(found["href"] or "")
        if tag in ("img", "meta", "br", "link"):
            return  # void elements
        self._open.append((tag, found.get("id")))
        if found.get("id") is not None:
            self.text.setdefault(found["id"] or "", "")
        if tag == "tr" and found.get("id"):
            self._row = found["id"]
            self.rows[self._row] = []
        if tag in ("td", "th") and self._row is not None:
            self._cell = []

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th") and self._row is not None and self._cell is not None:
            self.rows[self._row].append("".join(self._cell).strip())
            self._cell = None
        if tag == "tr":
            self._row = None
        for i in range(len(self._open) - 1, -1, -1):
            if self._open[i][0] == tag:
                del self._open[i:]
                break

    def handle_data(self, data: str) -> None:
        for tag, ident in self._open:
            if ident:
                self.text[ident] += data
            if tag == "title":
                self.title += data
        if self._cell is not None:
            self._cell.append(data)


def escaped(text: str) -> str:
    return html.escape(text, quote=True)
