"""Comparing two runs of a scenario: what the Shadow reported, time by time.

Two :class:`~harness.report.results.RunResult` records (say the same scenario on ``sim`` and
on the ``pi`` rig, or before and after a change) are aligned in scenario time: at every time
either run has a sample, within the stretch both cover, each run's value is its sample there
or, between two of its samples, the straight line between them (the nearest sample when one
side of the gap has no value, and always for the 0/1 ``rain_prediction``). Per quantity the
difference ``B - A`` is taken and compared with its tolerance; the times outside tolerance
(including a value one run reported and the other did not) are merged into stretches, each
with its largest difference. The Shadow's version growth rate (updates per minute) is shown
and is judged only when a tolerance is given for ``version_rate``.

Which Shadows: runs of the weather station (and older results files, which recorded only its
Shadow) compare the station's fields above from each sample. Runs that recorded the Shadows
they touched (``RunResult.shadows``) compare, besides, every Shadow both runs recorded (the
same thing and name) and every field of it both have: a numeric field with the tolerance
given for its name (``--tolerance humidity=2``), :data:`GENERIC_TOLERANCE` otherwise; a
true/false field as any disagreement. ``only_thing`` narrows the comparison to one thing's
Shadows.

::

    comparison = compare_runs(load_run("reports/a"), load_run("reports/b"))
    print(comparison.summary())
    write_comparison(comparison, Path("reports/compare"))   # compare.json, compare.png
"""

from __future__ import annotations

import bisect
import itertools
import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.report.results import RunResult

__all__ = [
    "DEFAULT_TOLERANCES",
    "GENERIC_TOLERANCE",
    "QUANTITIES",
    "VERSION_RATE",
    "Comparison",
    "NotComparable",
    "Quantity",
    "QuantityComparison",
    "RateComparison",
    "Stretch",
    "compare_runs",
    "compared_things",
    "load_run",
    "parse_tolerances",
    "plot_comparison",
    "unknown_tolerances",
    "write_comparison",
]

#: times closer than this are the same time (samples are stored to the microsecond)
_SAME_TIME = 1e-6
#: differences this close to the tolerance count as within it (float noise)
_SLACK = 1e-9


@dataclass(frozen=True)
class Quantity:
    """A field of a Shadow's reported state that is compared.

    The station's quantities (``shadow`` None) are read from each sample's ``reported``;
    another Shadow's field from the run's :class:`~harness.report.results.ShadowTrack`
    with that ``shadow`` key (``thing`` or ``thing/name``), at ``field`` (its dotted path),
    and is named ``<shadow key>: <field>``."""

    name: str
    unit: str
    #: ``linear``: interpolated between samples; ``nearest``: the nearest sample's value
    alignment: str = "linear"
    shadow: str | None = None
    field: str = ""


QUANTITIES: tuple[Quantity, ...] = (
    Quantity("temperature", "C"),
    Quantity("pressure", "hPa"),
    Quantity("humidity", "%RH"),
    Quantity("rain_probability", ""),
    Quantity("rain_prediction", "0/1", alignment="nearest"),
)

#: The largest |B-A| of a numeric field of another Shadow that no ``--tolerance FIELD=V``
#: names: none (equal up to float noise); true/false fields are any disagreement.
GENERIC_TOLERANCE = 0.0

#: The Shadow version's growth, updates per minute: only judged with a tolerance.
VERSION_RATE = "version_rate"

DEFAULT_TOLERANCES: dict[str, float] = {
    "temperature": 0.5,
    "pressure": 1.0,
    "humidity": 3.0,
    "rain_probability": 0.1,
    "rain_prediction": 0.0,  # any disagreement
}


class NotComparable(ValueError):
    """The two runs cannot be compared (the message says why, and what to do)."""


# ------------------------------------------------------------------ reading and options


def load_run(path: str | Path) -> RunResult:
    """A run from a results file, a run's folder (its ``results.json``), or a report folder
    holding exactly one run's folder (as ``python -m harness run --report DIR`` writes)."""
    path = Path(path)
    if path.is_dir() and not (path / "results.json").is_file():
        runs = sorted(p.parent for p in path.glob("*/results.json"))
        if len(runs) == 1:
            path = runs[0]
        elif len(runs) > 1:
            names = ", ".join(str(run) for run in runs)
            raise NotComparable(f"{path} holds {len(runs)} runs: name one of {names}")
    try:
        return RunResult.read(path)
    except json.JSONDecodeError as error:
        raise NotComparable(f"{path}: not a results file (not JSON: {error})") from None
    except (KeyError, TypeError) as error:
        raise NotComparable(f"{path}: not a complete results file ({error!r} is wrong or "
                            "missing)") from None


def parse_tolerances(text: str, base: Mapping[str, float] | None = None, *,
                     any_name: bool = False) -> dict[str, float]:
    """``temperature=0.5,pressure=1`` over ``base`` (the defaults when not given).

    Keys are the :data:`QUANTITIES` names and :data:`VERSION_RATE` (or, with ``any_name``,
    any field's name: check them with :func:`unknown_tolerances` once the runs are read);
    values are non-negative numbers. Raises ``ValueError`` naming the bad part."""
    tolerances = dict(DEFAULT_TOLERANCES if base is None else base)
    known = [q.name for q in QUANTITIES] + [VERSION_RATE]
    for part in (p.strip() for p in text.split(",")):
        if not part:
            continue
        name, sep, value = (s.strip() for s in part.partition("="))
        if not sep or not name or not value:
            raise ValueError(f"{part!r}: use NAME=VALUE, for example temperature=0.5")
        if name not in known and not any_name:
            raise ValueError(f"{name!r} is not a compared quantity: one of {', '.join(known)}")
        try:
            number = float(value)
        except ValueError:
            raise ValueError(f"{part!r}: {value!r} is not a number") from None
        if not math.isfinite(number) or number < 0:
            raise ValueError(f"{part!r}: a tolerance is a number >= 0")
        tolerances[name] = number
    return tolerances


def unknown_tolerances(tolerances: Mapping[str, float], a: RunResult, b: RunResult,
                       only_thing: str | None = None) -> str | None:
    """A message for a tolerance naming no compared field of runs ``a`` and ``b`` (with
    the closest name), or None when each names one."""
    from harness.yaml_files import did_you_mean

    known = [VERSION_RATE, *(q.name for q in QUANTITIES)]
    for quantity in _quantities(a, b, only_thing):
        known += [quantity.field, quantity.name]
    for name in tolerances:
        if name not in known:
            fields = sorted({k for k in known if ": " not in k})
            return (f"--tolerance: {name!r} is not a compared quantity{did_you_mean(name, known)}"
                    f" (compared: {', '.join(fields)})")
    return None


def compared_things(a: RunResult, b: RunResult) -> list[str]:
    """The things whose Shadows a comparison of ``a`` and ``b`` reads."""
    things = dict.fromkeys([a.thing, b.thing])
    for run in (a, b):
        things.update(dict.fromkeys(track.thing for track in run.shadows))
    return list(things)


def _legacy(a: RunResult, b: RunResult) -> bool:
    """Whether the station's quantities are compared from the samples: for the station's
    runs, and for runs that recorded no Shadows of their own (older results files)."""
    from harness.scenarios.schema import DEFAULT_THING

    return not (a.shadows and b.shadows) or (a.thing == DEFAULT_THING == b.thing)


def _quantities(a: RunResult, b: RunResult, only_thing: str | None) -> list[Quantity]:
    """What is compared, in order: the station's quantities (see :func:`_legacy`), then
    each field of each Shadow both runs recorded."""
    from harness.scenarios.schema import DEFAULT_THING

    legacy = _legacy(a, b)
    found = list(QUANTITIES) if legacy and only_thing in (None, a.thing) else []
    b_tracks = {(t.thing, t.name): t for t in b.shadows}
    for track in a.shadows if a.shadows and b.shadows else ():
        other = b_tracks.get((track.thing, track.name))
        if other is None or (only_thing is not None and track.thing != only_thing):
            continue
        if legacy and (track.thing, track.name) == (DEFAULT_THING, None):
            continue  # compared from the samples already
        theirs = set(other.fields)
        for name in track.fields:
            if name not in theirs:
                continue
            boolean = _is_boolean(track, name) and _is_boolean(other, name)
            found.append(Quantity(f"{track.key}: {name}", "true/false" if boolean else "",
                                  "nearest" if boolean else "linear", track.key, name))
    return found


def _is_boolean(track: Any, name: str) -> bool:
    values = [s.reported[name] for s in track.samples if name in s.reported]
    return bool(values) and all(isinstance(v, bool) for v in values)


def _tolerance(quantity: Quantity, limits: Mapping[str, float]) -> float:
    if quantity.shadow is None:
        return limits[quantity.name]
    if quantity.unit == "true/false":
        return limits.get(quantity.name, 0.0)
    return limits.get(quantity.name, limits.get(quantity.field, GENERIC_TOLERANCE))


# ------------------------------------------------------------------ the comparison


@dataclass(frozen=True)
class Stretch:
    """Consecutive compared times outside tolerance (``start`` to ``end`` seconds).

    ``max_difference`` is the largest ``|B - A|`` in it (``None`` when the runs only
    disagreed on whether there was a value), found at ``at`` where A had ``a`` and B ``b``."""

    start: float
    end: float
    times: int
    max_difference: float | None
    at: float
    a: float | None
    b: float | None

    def describe(self) -> str:
        when = (f"{_num(self.start)} s" if self.start == self.end
                else f"{_num(self.start)}-{_num(self.end)} s")
        count = f"{self.times} time{'s' if self.times != 1 else ''}"
        if self.max_difference is None:
            side = "A" if self.a is None else "B"
            seen = _num(self.b if self.a is None else self.a)
            return f"{when} ({count}): missing in {side} (the other run had {seen})"
        return (f"{when} ({count}): max |B-A| {_num(self.max_difference)} at "
                f"{_num(self.at)} s (A {_num(self.a)}, B {_num(self.b)})")

    def to_dict(self) -> dict[str, Any]:
        return {"start": self.start, "end": self.end, "times": self.times,
                "max_difference": self.max_difference, "at": self.at, "a": self.a,
                "b": self.b}


@dataclass(frozen=True)
class QuantityComparison:
    """One quantity over the common times: statistics of ``|B - A|`` and the stretches
    outside ``tolerance``."""

    quantity: Quantity
    tolerance: float
    compared: int  # times where at least one run had a value
    both: int  # ... where both had one
    outside: int  # ... outside tolerance (a value missing on one side included)
    max_difference: float | None
    mean_difference: float | None
    stretches: tuple[Stretch, ...]

    @property
    def name(self) -> str:
        return self.quantity.name

    @property
    def passed(self) -> bool:
        return self.outside == 0

    def to_dict(self) -> dict[str, Any]:
        return {"quantity": self.name, "unit": self.quantity.unit,
                "tolerance": self.tolerance, "compared": self.compared, "both": self.both,
                "outside": self.outside, "max_difference": self.max_difference,
                "mean_difference": self.mean_difference, "passed": self.passed,
                "stretches": [stretch.to_dict() for stretch in self.stretches]}


@dataclass(frozen=True)
class RateComparison:
    """The Shadow's version growth in updates per minute over the common times (``None``
    for a run with fewer than two versions there); judged only with a ``tolerance``."""

    a: float | None
    b: float | None
    tolerance: float | None

    @property
    def difference(self) -> float | None:
        return None if self.a is None or self.b is None else self.b - self.a

    @property
    def passed(self) -> bool:
        if self.tolerance is None:
            return True
        if self.a is None or self.b is None:
            return self.a is None and self.b is None
        return abs(self.b - self.a) <= self.tolerance + _SLACK

    def to_dict(self) -> dict[str, Any]:
        return {"a": self.a, "b": self.b, "difference": self.difference,
                "tolerance": self.tolerance, "passed": self.passed}


@dataclass(frozen=True)
class Comparison:
    """Run B against run A, over the times both cover (``start`` to ``end``)."""

    a: RunResult
    b: RunResult
    a_name: str
    b_name: str
    start: float
    end: float
    times: tuple[float, ...]
    quantities: tuple[QuantityComparison, ...]
    version_rate: RateComparison
    notes: tuple[str, ...] = field(default=())

    @property
    def passed(self) -> bool:
        """Nothing outside tolerance."""
        return all(q.passed for q in self.quantities) and self.version_rate.passed

    @property
    def differences(self) -> list[tuple[str, Stretch]]:
        """Every stretch outside tolerance, with its quantity's name, in time order."""
        found = [(q.name, s) for q in self.quantities for s in q.stretches]
        return sorted(found, key=lambda item: (item[1].start, item[0]))

    def quantity(self, name: str) -> QuantityComparison:
        return next(q for q in self.quantities if q.name == name)

    def summary(self) -> str:
        """A plain-text summary: the two runs, a table per quantity, the stretches."""
        lines = [_describe_run("A", self.a_name, self.a), _describe_run("B", self.b_name, self.b),
                 f"compared at {len(self.times)} times from {_num(self.start)} to "
                 f"{_num(self.end)} s", *(f"note: {note}" for note in self.notes), ""]
        header = ("quantity", "tolerance", "compared", "max |B-A|", "mean |B-A|", "outside",
                  "verdict")
        rows = [header]
        for q in self.quantities:
            label = f"{q.name} ({q.quantity.unit})" if q.quantity.unit else q.name
            rows.append((label, _num(q.tolerance), str(q.compared), _num(q.max_difference),
                         _num(q.mean_difference), str(q.outside),
                         "ok" if q.passed else "DIFFERENT"))
        rate = self.version_rate
        rows.append(("version rate (/min)",
                     "-" if rate.tolerance is None else _num(rate.tolerance),
                     f"A {_num(rate.a)}", f"B {_num(rate.b)}", "", "",
                     ("ok" if rate.passed else "DIFFERENT") if rate.tolerance is not None
                     else "(not judged)"))
        widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
        for row in rows:
            cells = [row[0].ljust(widths[0])]
            cells += [cell.rjust(width)
                      for cell, width in zip(row[1:-1], widths[1:-1], strict=True)]
            cells.append(row[-1])
            lines.append("  ".join(cells).rstrip())
        lines.append("")
        differences = self.differences
        if differences or not rate.passed:
            lines.append("outside tolerance:")
            lines += [f"  {name}: {stretch.describe()}" for name, stretch in differences]
            if not rate.passed:
                lines.append(f"  version rate: A {_num(rate.a)}/min, B {_num(rate.b)}/min "
                             f"(tolerance {_num(rate.tolerance)})")
            differing = sum(not q.passed for q in self.quantities) + (not rate.passed)
            lines.append(f"result: {differing} quantit{'y' if differing == 1 else 'ies'} "
                         "outside tolerance")
        else:
            lines.append("result: no differences outside tolerance")
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        def run(name: str, result: RunResult) -> dict[str, Any]:
            return {"source": name, "scenario": result.scenario, "file": result.file,
                    "rig": result.rig, "seed": result.seed, "samples": len(result.samples)}

        return {"format": "gg-harness-compare/1", "passed": self.passed,
                "a": run(self.a_name, self.a), "b": run(self.b_name, self.b),
                "start": self.start, "end": self.end, "times": len(self.times),
                "notes": list(self.notes),
                "quantities": [q.to_dict() for q in self.quantities],
                "version_rate": self.version_rate.to_dict()}


def compare_runs(a: RunResult, b: RunResult, tolerances: Mapping[str, float] | None = None,
                 *, force: bool = False, a_name: str = "A", b_name: str = "B",
                 only_thing: str | None = None) -> Comparison:
    """Compare run ``b`` with run ``a`` (see the module's description).

    ``tolerances`` maps quantity names (and :data:`VERSION_RATE`) to the largest ``|B - A|``
    that is no difference; missing names take :data:`DEFAULT_TOLERANCES` (another Shadow's
    field: its name's tolerance, else :data:`GENERIC_TOLERANCE`). ``only_thing``: compare
    that thing's Shadows only. Raises :class:`NotComparable` for runs of different
    scenarios (unless ``force``), for runs with no time in common and when ``only_thing``
    names no Shadow both runs recorded."""
    limits = {**DEFAULT_TOLERANCES, **(tolerances or {})}
    notes = []
    if a.scenario != b.scenario:
        why = (f"A is a run of scenario {a.scenario!r} and B of {b.scenario!r}: their samples "
               "follow different air, stimuli and faults, so differences would mean nothing")
        if not force:
            raise NotComparable(f"{why} (pass --force to compare them anyway)")
        notes.append(f"different scenarios, compared anyway: {a.scenario!r} and {b.scenario!r}")
    if a.rig != b.rig:
        notes.append(f"different rigs: A on {a.rig}, B on {b.rig}")
    if a.seed != b.seed:
        notes.append(f"different seeds: A {a.seed}, B {b.seed}")
    for label, run in (("A", a), ("B", b)):
        if not run.samples:
            raise NotComparable(f"run {label} ({run.scenario!r}) has no samples to compare")
    a_times, b_times = _times(a), _times(b)
    start, end = max(a_times[0], b_times[0]), min(a_times[-1], b_times[-1])
    if start > end + _SAME_TIME:
        raise NotComparable(f"the runs have no time in common: A covers {_num(a_times[0])}-"
                            f"{_num(a_times[-1])} s, B {_num(b_times[0])}-{_num(b_times[-1])} s")
    times = _common_times(a_times, b_times, start, end)
    compared = _quantities(a, b, only_thing)
    if only_thing is not None and not compared:
        from harness.yaml_files import did_you_mean

        both = [t for t in compared_things(a, b)
                if any(s.thing == t for s in a.shadows) and any(s.thing == t for s in b.shadows)]
        raise NotComparable(f"--thing {only_thing!r}: no Shadow of it was recorded by both "
                            f"runs{did_you_mean(only_thing, both)} (both recorded: "
                            f"{', '.join(both) or 'none'})")
    quantities = tuple(
        _compare_quantity(quantity, _tolerance(quantity, limits), times,
                          _series_of(a, quantity), _series_of(b, quantity))
        for quantity in compared)
    rate = RateComparison(_version_rate(a, start, end), _version_rate(b, start, end),
                          limits.get(VERSION_RATE))
    return Comparison(a, b, a_name, b_name, start, end, tuple(times), quantities, rate,
                      tuple(notes))


# ------------------------------------------------------------------ alignment


Series = tuple[list[float], list[float | None]]


def _times(run: RunResult) -> list[float]:
    return sorted(float(sample.t) for sample in run.samples)


def _common_times(a: Sequence[float], b: Sequence[float], start: float,
                  end: float) -> list[float]:
    """Every sample time of either run inside ``[start, end]``, once each."""
    merged: list[float] = []
    for t in sorted(list(a) + list(b)):
        if start - _SAME_TIME <= t <= end + _SAME_TIME and (
                not merged or t - merged[-1] > _SAME_TIME):
            merged.append(t)
    return merged


def _value(raw: Any) -> float | None:
    if isinstance(raw, bool) or not isinstance(raw, int | float):
        return None
    value = float(raw)
    return value if math.isfinite(value) else None


def _series(run: RunResult, name: str) -> Series:
    """The run's (time, value) samples of a reported field, in time order (``None`` where
    the Shadow had no number there)."""
    pairs = sorted(((float(s.t), _value(s.reported.get(name))) for s in run.samples),
                   key=lambda pair: pair[0])
    return [t for t, _ in pairs], [v for _, v in pairs]


def _series_of(run: RunResult, quantity: Quantity) -> Series:
    """The run's samples of ``quantity``: from the samples' ``reported`` for the station's
    quantities, from the run's track of its Shadow otherwise (true/false as 1/0)."""
    if quantity.shadow is None:
        return _series(run, quantity.name)
    track = next((t for t in run.shadows if t.key == quantity.shadow), None)
    if track is None:
        return [], []
    pairs = []
    for sample in track.samples:
        raw = sample.reported.get(quantity.field)
        pairs.append((float(sample.t), float(raw) if isinstance(raw, bool) else _value(raw)))
    pairs.sort(key=lambda pair: pair[0])
    return [t for t, _ in pairs], [v for _, v in pairs]


def _at(series: Series, t: float, alignment: str) -> float | None:
    """The series' value at ``t`` (see the module's description)."""
    times, values = series
    if not times:
        return None
    right = bisect.bisect_left(times, t - _SAME_TIME)
    if right < len(times) and abs(times[right] - t) <= _SAME_TIME:
        # the last sample at that time (a run may stop twice at one time)
        while right + 1 < len(times) and abs(times[right + 1] - t) <= _SAME_TIME:
            right += 1
        return values[right]
    left = right - 1
    if left < 0:
        return values[0]
    if right >= len(times):
        return values[-1]
    a, b = values[left], values[right]
    if alignment == "linear" and a is not None and b is not None:
        share = (t - times[left]) / (times[right] - times[left])
        return a + (b - a) * share
    return a if t - times[left] <= times[right] - t else b


def _compare_quantity(quantity: Quantity, tolerance: float, times: Sequence[float],
                      a: Series, b: Series) -> QuantityComparison:
    differences: list[float] = []
    stretches: list[Stretch] = []
    current: list[tuple[float, float | None, float | None]] = []
    compared = outside = 0

    def close_stretch() -> None:
        if current:
            stretches.append(_stretch(current))
            current.clear()

    for t in times:
        va, vb = _at(a, t, quantity.alignment), _at(b, t, quantity.alignment)
        if va is None and vb is None:
            close_stretch()
            continue
        compared += 1
        if va is not None and vb is not None:
            difference = abs(vb - va)
            differences.append(difference)
            bad = difference > tolerance + _SLACK
        else:
            bad = True
        if bad:
            outside += 1
            current.append((t, va, vb))
        else:
            close_stretch()
    close_stretch()
    return QuantityComparison(
        quantity, tolerance, compared, len(differences), outside,
        max(differences) if differences else None,
        sum(differences) / len(differences) if differences else None, tuple(stretches))


def _stretch(points: Sequence[tuple[float, float | None, float | None]]) -> Stretch:
    numeric = [(abs(vb - va), t, va, vb) for t, va, vb in points
               if va is not None and vb is not None]
    if numeric:
        difference, at, va, vb = max(numeric, key=lambda item: item[0])
        return Stretch(points[0][0], points[-1][0], len(points), difference, at, va, vb)
    t, va, vb = points[0]
    return Stretch(points[0][0], points[-1][0], len(points), None, t, va, vb)


def _version_rate(run: RunResult, start: float, end: float) -> float | None:
    """Shadow versions per minute between the first and last version seen in the window."""
    seen = [(float(s.t), s.version) for s in run.samples
            if s.version is not None and start - _SAME_TIME <= s.t <= end + _SAME_TIME]
    seen.sort(key=lambda pair: pair[0])
    if len(seen) < 2 or seen[-1][0] <= seen[0][0]:
        return None
    return (seen[-1][1] - seen[0][1]) / (seen[-1][0] - seen[0][0]) * 60.0


# ------------------------------------------------------------------ output


def plot_comparison(comparison: Comparison, path: str | Path) -> Path:
    """``compare.png``: each quantity (and the Shadow version) over time for both runs, the
    stretches outside tolerance shaded."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    path = Path(path)
    rows = len(comparison.quantities) + 1
    figure = Figure(figsize=(11, 2.1 * rows), dpi=100, layout="constrained")
    FigureCanvasAgg(figure)
    axes = figure.subplots(rows, 1, sharex=True, squeeze=False)[:, 0]
    figure.suptitle(f"{comparison.a.scenario}: A = {comparison.a_name} ({comparison.a.rig}), "
                    f"B = {comparison.b_name} ({comparison.b.rig}); shaded: outside tolerance",
                    fontsize=10)
    spacing = _spacing(comparison.times)
    for ax, q in zip(axes, comparison.quantities, strict=False):
        step = q.quantity.alignment == "nearest"
        for run, label, style in ((comparison.a, "A", {"color": "tab:blue"}),
                                  (comparison.b, "B", {"color": "tab:orange",
                                                       "linestyle": "--"})):
            times, values = _series_of(run, q.quantity)
            ax.plot(times, [math.nan if v is None else v for v in values], label=label,
                    drawstyle="steps-post" if step else "default", linewidth=1.2, **style)
        for stretch in q.stretches:
            ax.axvspan(stretch.start - spacing / 2, stretch.end + spacing / 2,
                       color="tab:red", alpha=0.25, linewidth=0)
        if step:
            ax.set_ylim(-0.15, 1.15)
            ax.set_yticks([0, 1])
        unit = f" ({q.quantity.unit})" if q.quantity.unit else ""
        ax.set_ylabel(f"{q.name}{unit}", fontsize=8)
        verdict = "ok" if q.passed else f"{q.outside} time(s) outside"
        ax.set_title(f"{q.name}: tolerance {_num(q.tolerance)}, {verdict}", fontsize=8,
                     loc="left")
        ax.grid(True, alpha=0.3)
    version_ax = axes[-1]
    for run, label, style in ((comparison.a, "A", {"color": "tab:blue"}),
                              (comparison.b, "B", {"color": "tab:orange", "linestyle": "--"})):
        pairs = sorted((float(s.t), math.nan if s.version is None else float(s.version))
                       for s in run.samples)
        version_ax.plot([t for t, _ in pairs], [v for _, v in pairs], label=label,
                        linewidth=1.2, **style)
    rate = comparison.version_rate
    version_ax.set_title(f"Shadow version: A {_num(rate.a)}/min, B {_num(rate.b)}/min",
                         fontsize=8, loc="left")
    version_ax.set_ylabel("version", fontsize=8)
    version_ax.set_xlabel("scenario time (s)")
    version_ax.grid(True, alpha=0.3)
    axes[0].legend(loc="upper right", fontsize=8)
    for ax in axes:
        ax.tick_params(labelsize=8)
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path)
    return path


def write_comparison(comparison: Comparison, folder: str | Path) -> tuple[Path, Path]:
    """``compare.json`` and ``compare.png`` in ``folder``; returns their paths."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    data = folder / "compare.json"
    data.write_text(json.dumps(comparison.to_dict(), indent=1) + "\n")
    return data, plot_comparison(comparison, folder / "compare.png")


def _spacing(times: Sequence[float]) -> float:
    """The typical gap between compared times (the width a one-time stretch is shaded)."""
    gaps = sorted(b - a for a, b in itertools.pairwise(times) if b > a)
    return gaps[len(gaps) // 2] if gaps else 1.0


def _describe_run(label: str, name: str, run: RunResult) -> str:
    times = _times(run)
    span = f"{_num(times[0])}-{_num(times[-1])} s" if times else "no samples"
    return (f"{label}: {name}: scenario {run.scenario!r} on {run.rig}, seed {run.seed}, "
            f"{len(run.samples)} samples, {span}")


def _num(value: float | None) -> str:
    """A number for people: up to 4 significant decimals, ``-`` for none."""
    if value is None:
        return "-"
    if float(value).is_integer() and abs(value) < 1e15:
        return str(int(value))
    return f"{value:.4f}".rstrip("0").rstrip(".")
