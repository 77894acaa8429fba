"""The report's plots: PNG files drawn from a :class:`~harness.report.results.RunResult`.

Which plots a run gets follows what it recorded (:func:`plot_names`), so a report shows the
Shadows and topics its own scenario touched, for the weather station or any other group:

* ``sensor.png`` (when the run has readings on ``bme680/readings``): what the device
  published (temperature, pressure, humidity), failed reads marked, and the air the scenario
  gave the sensor (the truth);
* ``shadow.png`` (when the main Shadow reported temperature, pressure or humidity of a
  scenario with air): those against the truth;
* ``rain.png`` (when the scenario declares rain truth or the Shadow reports a rain
  probability or prediction): the probability and prediction, the rainy stretches of the
  truth shaded;
* ``version.png`` (with ``shadow.png``): the main Shadow's version, shaded while there is no
  Shadow;
* ``shadow-<thing>[-<name>].png``, one per other Shadow the run touched (and for the main one
  when ``shadow.png`` is not drawn): its numeric and true/false reported fields over time and
  its version, the truth's rainy stretches shaded when there are any;
* ``traffic.png`` (when the run recorded when messages came): per topic with traffic (the
  busiest :data:`MAX_TOPICS`), its messages per stretch of the run;
* ``messages.png``: the message count per topic.

:func:`render_plots` draws them into a folder and returns, for each, a :class:`PlotInfo`
saying what it shows (title, series and their point counts, colours, where the axes are in
the image) so that tests can check a plot's content and not only that a file exists;
:func:`make_plots` is the same with just the paths.

Figures are drawn with :class:`matplotlib.figure.Figure` on an Agg canvas (no pyplot, no
global backend) under matplotlib's default style, at a fixed DPI and without the
``Software`` PNG text chunk, so the same result gives the same bytes.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import matplotlib.style
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from harness.report.results import Reading, RunResult, Sample, ShadowSample, ShadowTrack

DPI = 100
PNG_METADATA: dict[str, str | None] = {"Software": None}  # no matplotlib version in the file

# Colours (opaque, so their exact RGB values are in the image where a line is drawn).
READING_COLOR = "#1f77b4"  # what the device published
REPORTED_COLOR = "#2ca02c"  # what the Shadow reported
TRUTH_COLOR = "#7f7f7f"  # the air the scenario gave the sensor (truth)
FAIL_COLOR = "#d62728"  # failed reads
PROBABILITY_COLOR = "#9467bd"
PREDICTION_COLOR = "#ff7f0e"
RAIN_SHADE_COLOR = "#a6d2f2"  # rainy stretches of the truth
RAIN_EDGE_COLOR = "#08519c"  # their edges
NO_SHADOW_COLOR = "#dcdcdc"  # stretches without a Shadow (unlike the grid, #e7e7e7)
VERSION_COLOR = "#17becf"
BAR_COLOR = "#8c564b"  # message counts

QUANTITIES: tuple[tuple[str, str, str], ...] = (
    ("temperature", "Temperature", "°C"),
    ("pressure", "Pressure", "hPa"),
    ("humidity", "Humidity", "%RH"),
)
# the smallest y range shown for each quantity (its unit)
MIN_SPAN: dict[str, float] = {"temperature": 2.0, "pressure": 4.0, "humidity": 4.0}
#: the weather station's plots, in the order a report shows them
PLOTS: tuple[str, ...] = ("sensor", "shadow", "rain", "version", "messages")
#: a Shadow's own plot: ``shadow-`` and its thing (and name)
SHADOW_PLOT = "shadow-"
#: reported fields drawn per Shadow (the first ones to appear)
MAX_PANELS = 8
#: topics drawn in the traffic plot (the busiest)
MAX_TOPICS = 10


@dataclass(frozen=True)
class TimeAxis:
    """How scenario seconds are shown: ``x = t / divisor``, labelled ``Time (unit)``."""

    unit: str
    divisor: float

    @property
    def label(self) -> str:
        return f"Time ({self.unit})"

    def __call__(self, t: float) -> float:
        return t / self.divisor


def time_axis(duration: float) -> TimeAxis:
    """Seconds for runs up to 5 minutes, minutes up to 3 hours, hours beyond."""
    if duration <= 300:
        return TimeAxis("s", 1.0)
    if duration <= 3 * 3600:
        return TimeAxis("min", 60.0)
    return TimeAxis("h", 3600.0)


@dataclass
class PlotInfo:
    """What one plot shows.

    ``series`` maps each thing drawn to its number of points (for shaded stretches: the
    number of stretches; for the message bars: each topic's count); ``colors`` maps the same
    names to their colour (``#rrggbb``). ``axes`` holds each axes' plot area in image pixels
    ``(left, top, right, bottom)`` (origin top left) and ``xlim`` its data limits, so a test
    can find where a time falls in the image.
    """

    name: str
    path: Path
    title: str
    series: dict[str, int]
    colors: dict[str, str] = field(default_factory=dict)
    xlabel: str = ""
    ylabels: list[str] = field(default_factory=list)
    axes: list[tuple[int, int, int, int]] = field(default_factory=list)
    xlim: tuple[float, float] = (0.0, 1.0)
    size: tuple[int, int] = (0, 0)  # width, height in pixels
    caption: str = ""

    def x_pixel(self, x: float, axes: int = 0) -> float:
        """The image column of data ``x`` (in the plot's time unit) on axes ``axes``."""
        left, _, right, _ = self.axes[axes]
        low, high = self.xlim
        return left + (x - low) / (high - low) * (right - left)


def shadow_plot_name(track: ShadowTrack) -> str:
    """The name of ``track``'s own plot: ``shadow-greenhouse``, ``shadow-greenhouse-config``."""
    return SHADOW_PLOT + re.sub(r"[^A-Za-z0-9_.]+", "-", track.key.replace("/", "-"))


def _station_shadow(result: RunResult) -> bool:
    """Whether the main Shadow reported air quantities of a scenario with air (truth)."""
    return any(s.air for s in result.samples) and any(
        key in s.reported for s in result.samples for key, _, _ in QUANTITIES)


def _flags(track: ShadowTrack) -> list[str]:
    """The fields ``track``'s Shadow reported only ever as true or false."""
    return [key for key in track.fields
            if all(isinstance(s.reported[key], bool) for s in track.samples
                   if key in s.reported)]


def _air_quantities(result: RunResult) -> list[tuple[str, str, str]]:
    """The air quantities the main Shadow reported at least once (all three if none)."""
    reported = [q for q in QUANTITIES if any(q[0] in s.reported for s in result.samples)]
    return reported or list(QUANTITIES)


def plot_names(result: RunResult) -> list[str]:
    """The plots ``result`` gets, in report order (see the module's description)."""
    names = []
    if result.readings:
        names.append("sensor")
    station = _station_shadow(result)
    if station:
        names.append("shadow")
    if result.rain or any(key in s.reported for s in result.samples
                          for key in ("rain_probability", "rain_prediction")):
        names.append("rain")
    # the main Shadow's own plot is left out when the air plot shows it, unless it reports
    # true/false fields of its own (an alert, a state) that only its own plot shows
    tracks = [t for t in result.shadows
              if not (station and t.name is None and t.thing == result.thing
                      and not _flags(t))]
    if station or (not result.shadows and any(s.version is not None for s in result.samples)):
        names.append("version")
    names += [shadow_plot_name(track) for track in tracks]
    if any(any(counts) for counts in result.traffic.values()):
        names.append("traffic")
    names.append("messages")
    return names


def render_plots(result: RunResult, folder: str | Path,
                 only: Iterable[str] | None = None) -> dict[str, PlotInfo]:
    """Draw the plots of ``result`` into ``folder`` (made if missing): those
    :func:`plot_names` gives, or those named in ``only`` (any of :data:`PLOTS`, or a
    touched Shadow's); what each shows, by name."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    makers: dict[str, Callable[[RunResult, Figure, TimeAxis], _Drawn]] = {
        "sensor": _sensor, "shadow": _shadow, "rain": _rain, "version": _version,
        "traffic": _traffic, "messages": _messages,
    }
    for track in result.shadows:
        makers[shadow_plot_name(track)] = _track_plot(track)
    names = plot_names(result) if only is None else list(only)
    unknown = sorted(set(names) - set(makers))
    if unknown:
        raise ValueError(f"no such plot: {', '.join(unknown)} (plots: {', '.join(makers)})")
    axis = time_axis(result.duration)
    plots: dict[str, PlotInfo] = {}
    with matplotlib.style.context("default"):
        for name in names:
            figure = Figure(dpi=DPI, layout="constrained")
            FigureCanvasAgg(figure)
            drawn = makers[name](result, figure, axis)
            path = folder / f"{name}.png"
            figure.savefig(path, dpi=DPI, metadata=PNG_METADATA)
            plots[name] = drawn.info(name, path, figure)
    return plots


def make_plots(result: RunResult, folder: str | Path) -> dict[str, Path]:
    """Draw the plots of ``result`` into ``folder``; their paths by name (see
    :func:`render_plots` for what each shows)."""
    return {name: info.path for name, info in render_plots(result, folder).items()}


# -- the figures -------------------------------------------------------------------------

@dataclass
class _Drawn:
    """What a figure function drew, before the file is written."""

    title: str
    caption: str
    axes: list[Axes]
    series: dict[str, int] = field(default_factory=dict)
    colors: dict[str, str] = field(default_factory=dict)
    xlabel: str = ""

    def add(self, name: str, points: int, color: str) -> None:
        self.series[name] = self.series.get(name, 0) + points
        self.colors[name] = color

    def info(self, name: str, path: Path, figure: Figure) -> PlotInfo:
        # call after savefig: the layout it made is the one in the image
        width, height = (round(float(v)) for v in figure.bbox.size)
        boxes = []
        for ax in self.axes:
            x0, y0, x1, y1 = (float(v) for v in ax.get_window_extent().extents)
            boxes.append((round(x0), round(height - y1), round(x1), round(height - y0)))
        low, high = self.axes[0].get_xlim()
        return PlotInfo(name=name, path=path, title=self.title, series=dict(self.series),
                        colors=dict(self.colors), xlabel=self.xlabel,
                        ylabels=[ax.get_ylabel() for ax in self.axes], axes=boxes,
                        xlim=(float(low), float(high)), size=(width, height),
                        caption=self.caption)


def _sensor(result: RunResult, figure: Figure, axis: TimeAxis) -> _Drawn:
    figure.set_size_inches(10, 7.5)
    axes = figure.subplots(3, 1, sharex=True)
    title = f"Sensor readings published by the device: {result.scenario}"
    caption = ("What the device published on bme680/readings, as the sensor read them (it sits "
               "next to the CPU, so its temperature reads above the air's), failed reads "
               "marked, and the air the scenario gave the sensor (truth).")
    drawn = _Drawn(title, caption, list(axes), xlabel=axis.label)
    failed = [axis(r.t) for r in result.readings if _failed(r)]
    times = [axis(r.t) for r in result.readings]
    for ax, (key, label, unit) in zip(axes, QUANTITIES, strict=True):
        values = [_value(getattr(r, key)) for r in result.readings]
        drawn.add(f"{key} reading", _count(values), READING_COLOR)
        ax.plot(times, values, color=READING_COLOR, linewidth=2, marker="o", markersize=3,
                label="published reading", zorder=2)
        truth = _truth(ax, result.samples, key, axis, drawn)
        for x in failed:
            ax.axvline(x, color=FAIL_COLOR, linewidth=1.5, linestyle=":")
        _frame(ax, result, axis, f"{label} ({unit})", values + truth)
    drawn.add("failed read", len(failed), FAIL_COLOR)
    if not result.readings:
        _note(axes[1], "no readings were published")
    handles = [Line2D([], [], color=READING_COLOR, linewidth=2, marker="o", markersize=3,
                      label=f"published reading ({len(result.readings) - len(failed)})"),
               Line2D([], [], color=TRUTH_COLOR, linewidth=1.5, linestyle="--",
                      label="air (truth)"),
               Line2D([], [], color=FAIL_COLOR, linewidth=1.5, linestyle=":",
                      label=f"failed read ({len(failed)})")]
    axes[0].legend(handles=handles, loc="best", fontsize="small")
    axes[-1].set_xlabel(axis.label)
    figure.suptitle(_text(title))
    return drawn


def _shadow(result: RunResult, figure: Figure, axis: TimeAxis) -> _Drawn:
    quantities = _air_quantities(result)
    figure.set_size_inches(10, 1.5 + 2.0 * len(quantities))
    axes = list(figure.subplots(len(quantities), 1, sharex=True, squeeze=False)[:, 0])
    title = f"Values reported in the local Shadow: {result.scenario}"
    named = [key for key, _, _ in quantities]
    listed = named[0] if len(named) == 1 else ", ".join(named[:-1]) + " and " + named[-1]
    drawn = _Drawn(title, f"The local Shadow's state.reported {listed} at each stop of the "
                   "run (gaps: not reported, or no Shadow), against the air the scenario "
                   "gave the sensor (truth).", axes, xlabel=axis.label)
    times = [axis(s.t) for s in result.samples]
    for ax, (key, label, unit) in zip(axes, quantities, strict=True):
        values = [_value(s.reported.get(key)) for s in result.samples]
        drawn.add(f"reported {key}", _count(values), REPORTED_COLOR)
        ax.plot(times, values, color=REPORTED_COLOR, linewidth=2.5, drawstyle="steps-post",
                label="reported", zorder=2)
        _isolated(ax, times, values, REPORTED_COLOR)
        truth = _truth(ax, result.samples, key, axis, drawn)
        _frame(ax, result, axis, f"{label} ({unit})", values + truth)
    if not result.samples:
        _note(axes[len(axes) // 2], "no samples were recorded")
    axes[0].legend(loc="best", fontsize="small")
    axes[-1].set_xlabel(axis.label)
    figure.suptitle(_text(title))
    return drawn


def _rain(result: RunResult, figure: Figure, axis: TimeAxis) -> _Drawn:
    figure.set_size_inches(10, 4.5)
    ax = figure.subplots()
    rain = rain_in_run(result)
    if rain:
        title = f"Rain probability and prediction against the truth: {result.scenario}"
    elif result.rain:
        title = (f"Rain probability and prediction (no rain truth within the run): "
                 f"{result.scenario}")
    else:
        title = (f"Rain probability and prediction (no rain truth in the scenario): "
                 f"{result.scenario}")
    caption = ("The inference Lambda's rain probability and prediction (0 or 1) in the local "
               "Shadow at each stop of the run; ")
    if rain:
        caption += ("shaded blue, edges dashed: the stretches the scenario's truth says were "
                    "rainy.")
    elif result.rain:
        caption += "the rainy stretches of the scenario's truth all lie outside the run."
    else:
        caption += "the scenario declares no truth to compare them with."
    drawn = _Drawn(title, caption, [ax], xlabel=axis.label)
    _rain_truth(ax, result, axis)
    drawn.add("rainy (truth)", len(rain), RAIN_SHADE_COLOR)
    times = [axis(s.t) for s in result.samples]
    probability = [_value(s.reported.get("rain_probability")) for s in result.samples]
    prediction = [_value(s.reported.get("rain_prediction")) for s in result.samples]
    drawn.add("rain probability", _count(probability), PROBABILITY_COLOR)
    drawn.add("rain prediction", _count(prediction), PREDICTION_COLOR)
    ax.plot(times, probability, color=PROBABILITY_COLOR, linewidth=2, drawstyle="steps-post",
            label="rain probability", zorder=3)
    _isolated(ax, times, probability, PROBABILITY_COLOR)
    ax.plot(times, prediction, color=PREDICTION_COLOR, linewidth=2, drawstyle="steps-post",
            label="rain prediction (0/1)", zorder=2)
    _isolated(ax, times, prediction, PREDICTION_COLOR)
    handles, _ = ax.get_legend_handles_labels()
    if rain_in_run(result):
        handles.append(_rain_patch(len(rain_in_run(result))))
    ax.legend(handles=handles, loc="best", fontsize="small")
    ax.set_ylim(-0.05, 1.05)
    _frame(ax, result, axis, "Probability / prediction")
    ax.set_xlabel(axis.label)
    if not _count(probability) and not _count(prediction):
        _note(ax, "no rain probability or prediction was reported")
    ax.set_title(_text(title))
    return drawn


def _version(result: RunResult, figure: Figure, axis: TimeAxis) -> _Drawn:
    figure.set_size_inches(10, 4)
    ax = figure.subplots()
    title = f"Local Shadow version: {result.scenario}"
    drawn = _Drawn(title, "The local Shadow's version at each stop of the run; shaded: no "
                   "Shadow (before it is made, or after a delete).", [ax], xlabel=axis.label)
    gaps = _no_shadow(result.samples)
    for start, end in gaps:
        ax.axvspan(axis(start), axis(end), color=NO_SHADOW_COLOR, linewidth=0, zorder=0)
    times = [axis(s.t) for s in result.samples]
    versions = [math.nan if s.version is None else float(s.version) for s in result.samples]
    drawn.add("version", _count(versions), VERSION_COLOR)
    drawn.add("no Shadow", len(gaps), NO_SHADOW_COLOR)
    ax.plot(times, versions, color=VERSION_COLOR, linewidth=2, drawstyle="steps-post",
            label="version")
    _isolated(ax, times, versions, VERSION_COLOR)
    handles, _ = ax.get_legend_handles_labels()
    if gaps:
        handles.append(Patch(color=NO_SHADOW_COLOR, label=f"no Shadow ({len(gaps)})"))
    ax.legend(handles=handles, loc="best", fontsize="small")
    _frame(ax, result, axis, "Version")
    ax.yaxis.get_major_locator().set_params(integer=True)
    ax.set_xlabel(axis.label)
    if not _count(versions):
        _note(ax, "there was no Shadow during the run")
    ax.set_title(_text(title))
    return drawn


def _messages(result: RunResult, figure: Figure, axis: TimeAxis) -> _Drawn:
    topics = list(result.messages)
    figure.set_size_inches(10, max(2.5, 1.2 + 0.45 * len(topics)))
    ax = figure.subplots()
    total = sum(result.messages.values())
    title = f"Messages per topic ({total} in all): {result.scenario}"
    drawn = _Drawn(title, "How many messages were published on each topic during the run.",
                   [ax])
    counts = [result.messages[t] for t in topics]
    if topics:
        rows = range(len(topics))
        ax.barh(rows, counts, color=BAR_COLOR)
        ax.set_yticks(rows, [_text(t) for t in topics])
        ax.invert_yaxis()  # the first topic on top
        for row, count in zip(rows, counts, strict=True):
            ax.annotate(str(count), (count, row), xytext=(3, 0), textcoords="offset points",
                        va="center", fontsize="small")
        ax.set_xlim(0, max(counts) * 1.12 or 1)
    else:
        ax.set_yticks([])
        _note(ax, "no messages were published")
    for topic, count in zip(topics, counts, strict=True):
        drawn.add(topic, count, BAR_COLOR)
    ax.set_xlabel("Messages (count)")
    ax.set_title(_text(title))
    ax.grid(axis="x", alpha=0.3)
    return drawn


def _traffic(result: RunResult, figure: Figure, axis: TimeAxis) -> _Drawn:
    """A panel per topic (the busiest :data:`MAX_TOPICS`, in topic order): its messages in
    each stretch of the run."""
    busiest = sorted(result.traffic, key=lambda t: -sum(result.traffic[t]))[:MAX_TOPICS]
    topics = [t for t in result.traffic if t in busiest]
    figure.set_size_inches(10, 1.2 + 1.1 * max(len(topics), 1))
    axes = list(figure.subplots(max(len(topics), 1), 1, sharex=True, squeeze=False)[:, 0])
    title = f"Messages over time, per topic: {result.scenario}"
    bins = len(next(iter(result.traffic.values()), [])) or 1
    width = result.duration / bins
    caption = (f"When messages came on each topic: how many in each {_span(width)} of the "
               "run")
    more = len(result.traffic) - len(topics)
    caption += f" ({more} quieter topics not drawn)." if more > 0 else "."
    drawn = _Drawn(title, caption, axes, xlabel=axis.label)
    edges = [axis(i * width) for i in range(bins + 1)]
    for ax, topic in zip(axes, topics, strict=False):
        counts = result.traffic[topic]
        drawn.add(topic, sum(counts), BAR_COLOR)
        ax.stairs(counts, edges, fill=True, color=BAR_COLOR)
        _frame(ax, result, axis, "")
        ax.set_ylim(0, max(counts) * 1.15 or 1)
        ax.yaxis.get_major_locator().set_params(integer=True)
        ax.set_title(_text(f"{topic} ({sum(counts)})"), fontsize="small", loc="left")
    if not topics:
        _frame(axes[0], result, axis, "")
        _note(axes[0], "no messages were published")
    axes[-1].set_xlabel(axis.label)
    figure.supylabel(f"Messages per {_span(width)}")
    figure.suptitle(_text(title))
    return drawn


def _span(seconds: float) -> str:
    """A stretch of time in words: ``1 s``, ``2.5 min``, ``1.2 h``."""
    if seconds >= 3600:
        return f"{seconds / 3600:.3g} h"
    if seconds >= 60:
        return f"{seconds / 60:.3g} min"
    return f"{seconds:.3g} s"


def _track_plot(track: ShadowTrack) -> Callable[[RunResult, Figure, TimeAxis], _Drawn]:
    def draw(result: RunResult, figure: Figure, axis: TimeAxis) -> _Drawn:
        return _track(result, track, figure, axis)
    return draw


def _track(result: RunResult, track: ShadowTrack, figure: Figure, axis: TimeAxis) -> _Drawn:
    """One touched Shadow: a panel per reported number or true/false field (the first
    :data:`MAX_PANELS`), then its version; shaded grey where there is no Shadow, blue where
    the truth says it rained."""
    fields = track.fields[:MAX_PANELS]
    figure.set_size_inches(10, 1.2 + 1.75 * (len(fields) + 1))
    axes = list(figure.subplots(len(fields) + 1, 1, sharex=True, squeeze=False)[:, 0])
    name = track.title[0].upper() + track.title[1:]
    title = f"{name}: reported values and version: {result.scenario}"
    shown = ", ".join(fields) if fields else "no numbers or true/false values"
    more = len(track.fields) - len(fields)
    caption = (f"What {track.title} reported during the run ({shown}"
               + (f", and {more} more not drawn" if more > 0 else "")
               + "), each field as a step at every change seen, and the Shadow's version; "
               "shaded grey: no Shadow")
    caption += ("; shaded blue: the stretches the scenario's truth says were rainy."
                if rain_in_run(result) else ".")
    drawn = _Drawn(title, caption, axes, xlabel=axis.label)
    samples = sorted(track.samples, key=lambda sample: sample.t)
    if samples and samples[-1].t < result.duration:  # the last state holds to the end
        samples.append(ShadowSample(result.duration, samples[-1].reported,
                                    samples[-1].version))
    times = [axis(s.t) for s in samples]
    gaps = _no_shadow(samples)
    for ax, key in zip(axes, [*fields, None], strict=True):
        for start, end in gaps:
            ax.axvspan(axis(start), axis(end), color=NO_SHADOW_COLOR, linewidth=0, zorder=0)
        _rain_truth(ax, result, axis)
        if key is None:
            values = [math.nan if s.version is None else float(s.version) for s in samples]
            drawn.add("version", _count(values), VERSION_COLOR)
            ax.plot(times, values, color=VERSION_COLOR, linewidth=2, drawstyle="steps-post")
            _isolated(ax, times, values, VERSION_COLOR)
            _frame(ax, result, axis, "version")
            ax.yaxis.get_major_locator().set_params(integer=True)
            continue
        values = [_flag_or_value(s.reported.get(key)) for s in samples]
        flags = all(isinstance(s.reported.get(key), bool) for s in samples
                    if key in s.reported)
        drawn.add(f"reported {key}", _count(values), REPORTED_COLOR)
        ax.plot(times, values, color=REPORTED_COLOR, linewidth=2, drawstyle="steps-post")
        _isolated(ax, times, values, REPORTED_COLOR)
        _frame(ax, result, axis, _wrap(key))
        if flags:
            ax.set_yticks([0, 1], ["false", "true"])
            ax.set_ylim(-0.15, 1.15)
        else:
            ax.ticklabel_format(axis="y", useOffset=False)
    drawn.add("no Shadow", len(gaps), NO_SHADOW_COLOR)
    drawn.add("rainy (truth)", len(rain_in_run(result)), RAIN_SHADE_COLOR)
    handles = [Line2D([], [], color=REPORTED_COLOR, linewidth=2, label="reported")]
    handles.append(Line2D([], [], color=VERSION_COLOR, linewidth=2, label="version"))
    if gaps:
        handles.append(Patch(color=NO_SHADOW_COLOR, label=f"no Shadow ({len(gaps)})"))
    if rain_in_run(result):
        handles.append(_rain_patch(len(rain_in_run(result))))
    axes[0].legend(handles=handles, loc="upper left", bbox_to_anchor=(1.01, 1.0),
                   fontsize="small", borderaxespad=0)
    if not samples or not any(s.version is not None for s in samples):
        _note(axes[-1], "there was no Shadow during the run")
    elif fields and not any(_count(_flag_or_value(s.reported.get(k)) for s in samples)
                            for k in fields):
        _note(axes[0], "nothing numeric was reported")
    axes[-1].set_xlabel(axis.label)
    figure.suptitle(_text(title))
    return drawn


# -- helpers -----------------------------------------------------------------------------

def _failed(reading: Reading) -> bool:
    """A failed read: ``"Fail"``, or no value at all."""
    return reading.message == "Fail" or all(
        getattr(reading, key) is None for key, _, _ in QUANTITIES)


def _value(value: Any) -> float:
    """A plottable number, NaN (a gap) for anything else."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return math.nan
    return float(value)


def _flag_or_value(value: Any) -> float:
    """A plottable number, true and false as 1 and 0, NaN (a gap) for anything else."""
    return float(value) if isinstance(value, bool) else _value(value)


def _count(values: Iterable[float]) -> int:
    return sum(1 for v in values if not math.isnan(v))


def _truth(ax: Axes, samples: Sequence[Sample], key: str, axis: TimeAxis,
           drawn: _Drawn) -> list[float]:
    """Draw the scenario's air for ``key`` (dashed, over the measured line); its values."""
    times = [axis(s.t) for s in samples]
    values = [_value((s.air or {}).get(key)) for s in samples]
    drawn.add(f"{key} truth", _count(values), TRUTH_COLOR)
    ax.plot(times, values, color=TRUTH_COLOR, linewidth=1.5, linestyle="--",
            label="air (truth)", zorder=3)
    return values


def _isolated(ax: Axes, times: Sequence[float], values: Sequence[float], color: str) -> None:
    """Mark points with gaps on both sides, which a line alone would not show."""
    xs, ys = [], []
    for i, value in enumerate(values):
        if math.isnan(value):
            continue
        before = i == 0 or math.isnan(values[i - 1])
        after = i == len(values) - 1 or math.isnan(values[i + 1])
        if before and after:
            xs.append(times[i])
            ys.append(value)
    if xs:
        ax.plot(xs, ys, linestyle="none", marker="o", markersize=4, color=color)


def _rain_truth(ax: Axes, result: RunResult, axis: TimeAxis) -> None:
    """Shade the truth's rainy stretches, their edges drawn."""
    for start, end in rain_in_run(result):
        ax.axvspan(axis(start), axis(end), color=RAIN_SHADE_COLOR, linewidth=0, zorder=0)
        for edge in (start, end):
            ax.axvline(axis(edge), color=RAIN_EDGE_COLOR, linewidth=1, linestyle="--",
                       zorder=1)


def rain_in_run(result: RunResult) -> list[tuple[float, float]]:
    """The truth's rainy stretches, cut to the run (those outside it left out)."""
    return [(max(start, 0.0), min(end, result.duration)) for start, end in result.rain
            if start < result.duration and end > 0]


def _rain_patch(n: int) -> Patch:
    """The legend entry of the rainy stretches."""
    return Patch(facecolor=RAIN_SHADE_COLOR, edgecolor=RAIN_EDGE_COLOR, linestyle="--",
                 label=f"rainy (truth, {n} stretch{'es' if n != 1 else ''})")


def _wrap(label: str, width: int = 18) -> str:
    """A long field name broken at its dots so that it fits beside a panel."""
    if len(label) <= width:
        return label
    parts, lines, line = label.split("."), [], ""
    for part in parts:
        piece = part if not line else f".{part}"
        if line and len(line) + len(piece) > width:
            lines.append(line)
            line = part
        else:
            line += piece
    lines.append(line)
    return "\n".join(lines)


def _no_shadow(samples: Sequence[Sample | ShadowSample]) -> list[tuple[float, float]]:
    """The stretches (scenario seconds) with no Shadow, each up to the next stop."""
    gaps: list[tuple[float, float]] = []
    start: float | None = None
    for i, sample in enumerate(samples):
        if sample.version is None and start is None:
            start = sample.t
        if sample.version is not None and start is not None:
            gaps.append((start, sample.t))
            start = None
        if i == len(samples) - 1 and start is not None:
            gaps.append((start, sample.t))
    return gaps


def _frame(ax: Axes, result: RunResult, axis: TimeAxis, ylabel: str,
           values: Sequence[float] = ()) -> None:
    """Time limits, the y label and grid; for a quantity (``values`` given), a y range of at
    least :data:`MIN_SPAN` (so that 0.001 of noise is not blown up to the full height) with
    plain tick labels (no offset)."""
    ax.set_xlim(0, axis(result.duration) or 1)
    ax.set_ylabel(ylabel)
    ax.grid(alpha=0.3)
    finite = [v for v in values if not math.isnan(v)]
    if finite:
        span = MIN_SPAN.get(ylabel.split(" ")[0].lower(), 0.0)
        low, high = min(finite), max(finite)
        if high - low < span:
            middle = (low + high) / 2
            ax.set_ylim(middle - span / 2, middle + span / 2)
        ax.ticklabel_format(axis="y", useOffset=False)


def _note(ax: Axes, text: str) -> None:
    ax.text(0.5, 0.5, text, transform=ax.transAxes, ha="center", va="center",
            color="#444444", fontsize="large")


def _text(text: str) -> str:
    """``text`` shown as is: a ``$`` (as in ``$aws/things/...``) is not mathtext."""
    return text.replace("$", r"\$")
