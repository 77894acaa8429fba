"""pytest plugin: a ready simulation in one line, moto-style, and scenarios as test items.

    def test_reading_reaches_the_shadow(simulation):
        simulation.publish("bme680-sensor", "bme680/readings", {...})
        simulation.run(10)
        assert simulation.shadow("weather-station")["state"]["reported"]["sequence"] == 1

It is installed with the package (entry point ``pytest11``) and needs no conftest. What it
adds to a project (``pytest --help`` lists the options under "Greengrass harness"):

- fixtures: ``simulation`` (the project's group on a simulated core, closed after the test),
  ``simulation_factory(path, **options)`` for others, ``rig`` and the hardware fixtures;
- the group they run: ``--gg-group PATH``, else the ``gg_group`` ini option (relative to the
  ini file), else ``group.yaml`` or ``lambdas/group.yaml`` in the rootdir, else the weather
  station this package ships (:data:`~harness.simulation.DEFAULT_GROUP`);
- scenario files as test items, run on ``--rig sim|broker|pi`` (``sim`` off the Pi, ``pi``
  on it): files matching the ``gg_scenarios`` ini option or ``--gg-scenarios`` (globs
  relative to the rootdir; by default ``**/scenarios/*.yaml`` and ``.yml``, see
  :mod:`harness.scenarios.collect`); ``--gg-results DIR`` (ini ``gg_results``) writes each
  one's result;
- markers: ``hil`` (needs a rig with hardware or its emulation: left out of a run unless
  ``-m`` selects it, e.g. ``pytest -m hil --rig broker``), ``scenario`` (a scenario file's
  item) and ``gg_allow_failures`` (see below);
- loud Lambda failures: a test whose simulation saw a Lambda fail (import error, unhandled
  exception, timeout, a call the core refused: :mod:`harness.function_failures`) fails,
  with each failure and the function's last log lines, unless the test expects them:
  ``@pytest.mark.gg_allow_failures`` (any), ``@pytest.mark.gg_allow_failures("republish",
  kind="timeout")`` (those), or ``with simulation.expect_failures(...)`` around the steps.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from harness.function_failures import FunctionFailure, check_kinds, matches, report
from harness.rigs.base import Rig, RigUnavailable
from harness.rigs.select import PLATFORMS, RIGS, default_rig, open_rig
from harness.scenarios.collect import (
    DEFAULT_GLOBS,
    YAML_SUFFIXES,
    ScenarioFile,
    ScenarioGlobs,
    looks_like_a_group,
)
from harness.simulation import DEFAULT_GROUP, Simulation

#: group files the simulation fixture looks for in the rootdir, in order
PROJECT_GROUPS = ("group.yaml", "lambdas/group.yaml")

MARKERS = (
    "hil: needs a rig with real hardware or its emulation; left out of a run unless -m "
    "selects it (pytest -m hil --rig broker|pi)",
    "scenario: a scenario file run on the --rig",
    "gg_allow_failures(*functions, kind=None): Lambda failures this test expects (of these "
    "functions, of this kind or kinds: import_error, handler_error, timeout, refused); "
    "without arguments any",
)


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("greengrass", "Greengrass harness")
    group.addoption("--gg-group", default=None, metavar="PATH",
                    help="group file the simulation fixture and the rig run (default: the "
                         "gg_group ini option, else group.yaml or lambdas/group.yaml in the "
                         "rootdir, else the weather station the harness ships)")
    group.addoption("--rig", choices=RIGS, default=None,
                    help="where scenarios and the hardware suite run: sim (the simulated core, "
                         "the default off the Pi), broker (an emulated Pi over Mosquitto on "
                         "loopback), pi (the real core; the default on a Raspberry Pi)")
    group.addoption("--gg-scenarios", action="append", default=None, metavar="GLOB",
                    help="scenario files, as a glob relative to the rootdir (repeat for "
                         "more; replaces the gg_scenarios ini option; default "
                         f"{' '.join(DEFAULT_GLOBS)})")
    group.addoption("--gg-results", default=None, metavar="DIR",
                    help="write each scenario's result (every expectation's outcome) to "
                         "DIR/<scenario>.json (ini: gg_results)")
    group.addoption("--gg-platform", choices=PLATFORMS, default="v2",
                    help="the Greengrass the core runs: v2 (default) or v1 (the sim rig only)")
    group.addoption("--pi-config", default=None,
                    help="the pi rig's configuration file (default $HIL_PI_CONFIG or "
                         "hil/pi.yaml)")
    parser.addini("gg_group", type="string", default="",
                  help="Greengrass harness: group file the simulation fixture and the rig "
                       "run, relative to the ini file (--gg-group overrides it)")
    parser.addini("gg_scenarios", type="args", default=list(DEFAULT_GLOBS),
                  help="Greengrass harness: globs of scenario files, relative to the rootdir "
                       "(** any folders; default: " + " ".join(DEFAULT_GLOBS) + ")")
    parser.addini("gg_results", type="string", default="",
                  help="Greengrass harness: folder for each scenario's result, relative to "
                       "the rootdir (--gg-results overrides it)")


def pytest_configure(config: pytest.Config) -> None:
    for marker in MARKERS:
        config.addinivalue_line("markers", marker)
    if config.option.rig is None:
        config.option.rig = default_rig()
    config.stash[_GROUP] = project_group(config)
    patterns = config.option.gg_scenarios or config.getini("gg_scenarios")
    config.stash[_GLOBS] = ScenarioGlobs(patterns, config.rootpath)
    config.stash[_PROVIDER] = RigProvider(config)


def project_group(config: pytest.Config) -> Path:
    """The group the simulation fixture and the rig run (see the module's docstring); a
    ``--gg-group`` or ``gg_group`` naming no file is a usage error."""
    given, where = config.option.gg_group, "--gg-group"
    if given:
        path = Path(given)
    elif config.getini("gg_group"):
        given, where = config.getini("gg_group"), f"gg_group in {config.inipath}"
        base = config.inipath.parent if config.inipath else config.rootpath
        path = base / given
    else:
        for name in PROJECT_GROUPS:
            found = config.rootpath / name
            if found.is_file():
                return found
        return DEFAULT_GROUP
    if not path.is_file():
        raise pytest.UsageError(f"{where}: no group file at {given} ({path.absolute()})")
    return path


def pytest_unconfigure(config: pytest.Config) -> None:
    provider = config.stash.get(_PROVIDER, None)
    if provider is not None:
        provider.close()


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """A plain run leaves ``hil`` items out: they run only when ``-m`` chooses."""
    if config.option.markexpr:
        return  # the user chose with -m; respect it
    kept, dropped = [], []
    for item in items:
        (dropped if item.get_closest_marker("hil") else kept).append(item)
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = kept


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> pytest.Collector | None:
    if file_path.suffix not in YAML_SUFFIXES:
        return None
    named = parent.session.isinitpath(file_path)  # named on the command line
    if not named and not parent.config.stash[_GLOBS].matches(file_path):
        return None
    if looks_like_a_group(file_path):
        return None
    return ScenarioFile.from_parent(parent, path=file_path)


def pytest_report_header(config: pytest.Config) -> str:
    return f"greengrass harness: rig {config.option.rig}, group {config.stash[_GROUP]}"


class RigProvider:
    """The session's rigs, one per group file (``--gg-group``'s, or the default, unless a
    scenario names its own ``group:``), each opened on first use and closed at the end; a
    rig that cannot be opened here is remembered, and every test that needs it skips with
    the reason."""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        self.name: str = config.option.rig
        self._rigs: dict[str | None, Rig] = {}
        self._unavailable: dict[str | None, str] = {}

    def get(self, group: str | Path | None = None) -> Rig:
        """The rig of ``group`` (default: ``--gg-group``'s, or the project's)."""
        if group is None:
            group = self.config.stash[_GROUP]
        key = None if group is None else str(Path(group).resolve())
        if key in self._unavailable:
            pytest.skip(self._unavailable[key])
        if key not in self._rigs:
            try:
                self._rigs[key] = open_rig(self.name, group=group,
                                           pi_config=self.config.option.pi_config,
                                           rootdir=Path(str(self.config.rootpath)),
                                           platform=self.config.option.gg_platform)
            except RigUnavailable as error:
                self._unavailable[key] = f"the {self.name} rig is not available: {error}"
                pytest.skip(self._unavailable[key])
        return self._rigs[key]

    def close(self) -> None:
        for rig in reversed(list(self._rigs.values())):
            close = getattr(rig, "close", None)
            if close is not None:
                close()


_PROVIDER = pytest.StashKey[RigProvider]()
_GROUP = pytest.StashKey[Path]()
_GLOBS = pytest.StashKey[ScenarioGlobs]()


def rig_provider(config: pytest.Config) -> RigProvider:
    return config.stash[_PROVIDER]


@pytest.fixture(scope="session")
def rig(request: pytest.FixtureRequest) -> Rig:
    """The rig chosen with ``--rig`` (skips with the reason when it is not available)."""
    return rig_provider(request.config).get()


NO_BROKER = ("the {rig} rig has no MQTT broker to test against: the hardware suite runs with "
             "--rig broker (an emulated Pi over Mosquitto) or --rig pi (on the Pi)")


@pytest.fixture
def station(rig: Rig) -> Iterator[Any]:
    """The weather station on the rig, running: the core with the group's Lambdas and the
    device program reading the sensor (on the broker rig, emulated; on the Pi, the real
    deployment). Closed after the test."""
    opener = getattr(rig, "station", None)
    if opener is None:
        pytest.skip(NO_BROKER.format(rig=rig.name))
    session = opener()
    yield session
    session.close()


@pytest.fixture
def shadow(station: Any) -> Any:
    """The ``weather-station`` Shadow over the MQTT Shadow topics
    (:class:`~harness.rigs.mqtt_client.ShadowClient`), connected as that thing."""
    return station.shadow_client("weather-station")


@pytest.fixture
def sensor(rig: Rig) -> Iterator[Any]:
    """The BME680 through the real ``bme680`` library (``device.sensor.BME680Sensor``): the
    physical one on the Pi, a simulated chip in the station's air elsewhere."""
    opener = getattr(rig, "sensor", None)
    if opener is None:
        pytest.skip(f"the {rig.name} rig has no sensor of its own: use --rig broker or pi")
    handle = opener()
    yield handle
    handle.close()


@pytest.fixture
def simulation_factory(request: pytest.FixtureRequest) -> Iterator[Callable[..., Simulation]]:
    """Opens simulations: ``simulation_factory(path=None, **options)`` is a
    :class:`~harness.simulation.Simulation` of the group file at ``path`` (by default the
    project's group: ``--gg-group``, ``gg_group``, ``group.yaml`` or ``lambdas/group.yaml``),
    with the options of :meth:`Simulation.from_group <harness.simulation.Simulation.from_group>`
    (``seed``, ``mode="v1"``, ``code_dir``, ...). One is open at a time; each is closed
    after the test.

    A Lambda failure in any of them (import error, unhandled exception, timeout, a call the
    core refused) fails the test, with the function's last log lines, unless the test
    expects it: ``@pytest.mark.gg_allow_failures`` (any failure), or
    ``@pytest.mark.gg_allow_failures("republish", kind="timeout")`` (those functions, that
    kind or a list of kinds), or ``with sim.expect_failures(...)`` around the steps that
    cause it (which also asserts that they happen)."""
    watch = _FailureWatch(request.node)
    opened = watch.simulations

    def open_simulation(path: str | Path | None = None, **options: Any) -> Simulation:
        path = path or request.config.stash[_GROUP]
        simulation = Simulation.from_group(path, **options)
        opened.append(simulation)
        return simulation

    yield open_simulation
    for simulation in reversed(opened):
        simulation.close()
    if watch.checked:  # failures after the test's own check (a fixture's teardown ran more)
        late = watch.unreported()
        if late:
            pytest.fail(watch.message(late, "after the test"), pytrace=False)


@pytest.fixture
def simulation(simulation_factory: Callable[..., Simulation]) -> Simulation:
    """The project's group on a simulated core (:class:`~harness.simulation.Simulation`,
    seed 0, Greengrass V2), started and on virtual time: ``simulation.publish(...)``,
    ``simulation.run(seconds)``, then read ``shadow()``, ``logs()``, ``messages()``,
    ``function_failures``. The group is ``--gg-group``, else the ``gg_group`` ini option,
    else ``group.yaml`` or ``lambdas/group.yaml`` in the rootdir, else the harness's
    weather station. Closed after the test.

    A Lambda that fails (import error, unhandled exception, timeout, a call the core
    refused) fails the test with the function's last log lines; a test that expects it says
    so with ``@pytest.mark.gg_allow_failures(*functions, kind=...)`` or
    ``with simulation.expect_failures(*functions, kind=...)``."""
    return simulation_factory()


# -- loud Lambda failures ---------------------------------------------------------------


class _FailureWatch:
    """The simulations a test opened, and which of their failures were reported."""

    def __init__(self, item: pytest.Item) -> None:
        self.item = item
        self.simulations: list[Simulation] = []
        self.reported: set[int] = set()  # ids of the failures already reported or allowed
        self.checked = False
        item.stash[_WATCH] = self

    def unreported(self) -> list[FunctionFailure]:
        """The failures not yet reported that no ``gg_allow_failures`` marker allows (each
        is looked at once)."""
        new = [failure for simulation in self.simulations
               for failure in simulation.unexpected_failures if id(failure) not in self.reported]
        if not new:
            return []
        self.reported.update(id(failure) for failure in new)
        allowances = self.allowances()
        return [failure for failure in new
                if not any(matches(failure, names, kinds) for names, kinds in allowances)]

    def allowances(self) -> list[tuple[tuple[str, ...], tuple[str, ...]]]:
        """Each ``gg_allow_failures`` marker as (functions, kinds); empty means any."""
        found = []
        known = {f.name for s in self.simulations for f in s.group.functions}
        for mark in self.item.iter_markers("gg_allow_failures"):
            where = f"@pytest.mark.gg_allow_failures on {self.item.nodeid}"
            extra = set(mark.kwargs) - {"kind"}
            if extra:
                pytest.fail(f"{where}: unknown argument(s) {', '.join(sorted(extra))} "
                            "(it takes function names and kind=)", pytrace=False)
            kind = mark.kwargs.get("kind") or ()
            try:
                kinds = check_kinds([kind] if isinstance(kind, str) else kind)
            except ValueError as error:
                pytest.fail(f"{where}: {error}", pytrace=False)
            for name in mark.args:
                if known and name not in known:
                    import difflib

                    close = difflib.get_close_matches(str(name), sorted(known), n=1)
                    hint = f" (did you mean {close[0]!r}?)" if close else ""
                    pytest.fail(f"{where}: no function {name!r} in the group{hint}; functions: "
                                + ", ".join(sorted(known)), pytrace=False)
            found.append((tuple(mark.args), kinds))
        return found

    @staticmethod
    def message(failures: list[FunctionFailure], when: str = "") -> str:
        heading = report(failures, "Lambda failure")
        hint = ("\n(expected? mark the test @pytest.mark.gg_allow_failures(<function>, "
                "kind=...) or wrap the steps in simulation.expect_failures(...))")
        return heading.replace(":", f" {when}:", 1) + hint if when else heading + hint


_WATCH = pytest.StashKey[_FailureWatch]()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Iterator[None]:
    """After the test body: a Lambda failure it did not expect fails it (reported as the
    test's failure, with each failure and the function's last log lines); when the test
    failed anyway, the failures are added to its report as a section."""
    try:
        result = yield
    except BaseException:
        watch = item.stash.get(_WATCH, None)
        if watch is not None:
            watch.checked = True
            failures = watch.unreported()
            if failures:
                item.add_report_section("call", "Lambda failures", watch.message(failures))
        raise
    watch = item.stash.get(_WATCH, None)
    if watch is not None:
        watch.checked = True
        failures = watch.unreported()
        if failures:
            pytest.fail(watch.message(failures), pytrace=False)
    return result
