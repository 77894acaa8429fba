"""Project-wide pytest configuration.

Markers:
  hil -- needs a rig with real hardware or its emulation (Raspberry Pi, BME680, Greengrass core).

A plain ``pytest`` run never touches hardware: items marked ``hil`` are deselected unless the
run selects them explicitly with ``-m`` (for example ``pytest -m hil`` on the Pi, or
``pytest -m hil --rig broker`` against the emulated Pi). Scenario files under ``scenarios/``
are items too: on the ``sim`` rig they run with the offline suite; on another rig they are
marked ``hil``.
"""

from __future__ import annotations

import os

import pytest
from hypothesis import settings

pytest_plugins = ["pytester"]  # harness.pytest_plugin comes in through its entry point


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "hil: needs a rig with real hardware or its emulation (run with pytest -m hil)"
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if config.option.markexpr:
        return  # the user chose with -m; respect it
    kept, dropped = [], []
    for item in items:
        (dropped if item.get_closest_marker("hil") else kept).append(item)
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = kept


# Hypothesis: in CI (CI=true) examples are derived from the test, not drawn at random, so a
# run is reproducible; locally every run explores new examples.
settings.register_profile("ci", derandomize=True, print_blob=True)
settings.load_profile("ci" if os.environ.get("CI") == "true" else "default")
