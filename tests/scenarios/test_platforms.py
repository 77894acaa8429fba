"""The shipped scenarios on a simulated Greengrass V1 core (``--platform v1``): every one that
does not exercise V2 itself passes there too, and the V2 ones are skipped with the reason."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.rigs.base import RigCannotRun, RigUnavailable
from harness.rigs.select import open_rig
from harness.rigs.sim import SimRig
from harness.scenarios.runner import run_scenario

SCENARIOS = sorted((Path(__file__).resolve().parents[2] / "scenarios").glob("*.yaml"))
LONG = {"rainy_day.yaml"}  # a simulated day: the V2 run of the set covers it


@pytest.mark.parametrize("path", [p for p in SCENARIOS if p.name not in LONG],
                         ids=lambda p: p.stem)
def test_each_scenario_on_a_v1_core(path: Path) -> None:
    rig = SimRig(platform="v1")
    if path.stem.startswith("v2_"):
        with pytest.raises(RigCannotRun, match="exercises a Greengrass V2 core"):
            run_scenario(path, rig=rig)
        return
    result = run_scenario(path, rig=rig)
    failed = [f"[{o.index}] {o.label} at {o.failed_at}: {o.value!r}"
              for o in result.outcomes if not o.met]
    assert result.passed, failed


def test_only_the_sim_rig_simulates_v1() -> None:
    with pytest.raises(RigUnavailable, match="only the sim rig simulates a V1 core"):
        open_rig("broker", platform="v1")
    with pytest.raises(ValueError, match="unknown platform"):
        open_rig("sim", platform="v3")
