"""The scenario set in parallel (pytest-xdist, each worker its own simulations) gives exactly
the results of a serial run: every expectation's outcome, failing time and value. (The
simulated day, rainy_day, is left out: it alone would double the test's time.)"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
LONG = "scenarios/rainy_day.yaml::rainy_day"


def _run(results: Path, *options: str) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "scenarios", "-q", "-p", "no:cacheprovider",
         "--rig", "sim", f"--gg-results={results}", "--deselect", LONG, *options],
        cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]


def test_the_scenario_set_gives_the_same_results_serially_and_with_xdist(tmp_path: Path
                                                                         ) -> None:
    serial, parallel = tmp_path / "serial", tmp_path / "parallel"
    _run(serial, "-p", "no:xdist")
    _run(parallel, "-n", "2")
    names = sorted(path.name for path in serial.iterdir())
    assert names == sorted(path.name for path in parallel.iterdir())
    assert len(names) == len(list((ROOT / "scenarios").glob("*.yaml"))) - 1
    for name in names:
        assert (serial / name).read_text() == (parallel / name).read_text(), name
