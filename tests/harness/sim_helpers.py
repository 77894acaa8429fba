"""Small groups with inline Lambda modules, for simulator tests."""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

import yaml

from harness.simulation import Simulation


def write_group(folder: Path, group: dict[str, Any], modules: dict[str, str]) -> Path:
    """Write ``group.yaml`` and one ``<name>.py`` per module into ``folder``."""
    group = {"name": "test-group", "core": {"thing": "test-core"}, **group}
    path = folder / "group.yaml"
    path.write_text(yaml.safe_dump(group, sort_keys=False))
    for name, source in modules.items():
        (folder / f"{name}.py").write_text(textwrap.dedent(source))
    return path


def simulate(folder: Path, group: dict[str, Any], modules: dict[str, str],
             **options: Any) -> Simulation:
    """A simulation of the group. The small Lambdas of these tests use greengrasssdk's
    local shadow calls, which a V2 core refuses (the default): unless told otherwise they
    are answered as V1 would (``legacy_shadow="warn"``)."""
    options.setdefault("legacy_shadow", "warn")
    return Simulation.from_group(write_group(folder, group, modules), **options)
