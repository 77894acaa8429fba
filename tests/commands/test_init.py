"""``python -m harness init``: a starting project that passes at once, outside this checkout."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from harness.cli import main
from harness.scaffold import FILES

REPO = Path(__file__).resolve().parents[2]


def _user_env() -> dict[str, str]:
    """The environment of a user's shell: this interpreter's installed packages, no colour;
    PYTHONPATH kept as it is (a checkout tested from elsewhere sets it)."""
    return {**os.environ, "NO_COLOR": "1", "PYTHONDONTWRITEBYTECODE": "1"}


def _run(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, *args], cwd=cwd, env=_user_env(),
                          capture_output=True, text=True, timeout=600, check=False)


def test_init_writes_every_file_of_the_starting_project(tmp_path: Path, capsys) -> None:
    assert main(["init", str(tmp_path / "greenhouse")]) == 0
    for relative in FILES:
        assert (tmp_path / "greenhouse" / relative).is_file(), relative
    group = (tmp_path / "greenhouse" / "group.yaml").read_text()
    assert "name: greenhouse\n" in group and "$aws/things/greenhouse-station/shadow" in group
    assert "wrote" in capsys.readouterr().out


def test_init_never_overwrites_a_file_without_force(tmp_path: Path, capsys) -> None:
    (tmp_path / "group.yaml").write_text("mine\n")
    assert main(["init", str(tmp_path)]) == 2
    error = capsys.readouterr().err
    assert "group.yaml: already there" in error and "Traceback" not in error
    assert (tmp_path / "group.yaml").read_text() == "mine\n"
    assert not (tmp_path / "humidity_alert.py").exists()  # nothing written
    assert main(["init", str(tmp_path), "--force"]) == 0
    assert (tmp_path / "group.yaml").read_text() != "mine\n"


@pytest.mark.parametrize("args, says", [
    (["--name", "no spaces"], "--name 'no spaces'"),
    (["--name", ""], "--name ''"),
])
def test_init_refuses_a_bad_name_with_a_message(tmp_path: Path, capsys, args, says) -> None:
    assert main(["init", str(tmp_path / "p"), *args]) == 2
    assert says in capsys.readouterr().err


def test_init_refuses_a_file_for_a_folder(tmp_path: Path, capsys) -> None:
    (tmp_path / "taken").write_text("")
    assert main(["init", str(tmp_path / "taken")]) == 2
    assert "is not a folder" in capsys.readouterr().err


def test_the_starting_project_passes_at_once_outside_this_checkout(tmp_path: Path) -> None:
    """The README's loop, as a user types it: init, pytest, harness run, in a folder of
    their own (no conftest of ours above it)."""
    assert REPO not in tmp_path.parents
    init = _run(["-m", "harness", "init", "proj"], tmp_path)
    assert init.returncode == 0, init.stderr
    project = tmp_path / "proj"
    tests = _run(["-m", "pytest", "-p", "no:cacheprovider", "-rA"], project)
    assert tests.returncode == 0, tests.stdout[-4000:] + tests.stderr[-2000:]
    # the four tests (five items) and the scenario ran, and no warning about the ini options
    assert "6 passed" in tests.stdout, tests.stdout[-2000:]
    assert "PASSED scenarios/humid_afternoon.yaml" in tests.stdout
    assert "Unknown config option" not in tests.stdout + tests.stderr
    run = _run(["-m", "harness", "run", "scenarios/humid_afternoon.yaml", "--report",
                "reports/run"], project)
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-2000:]
    assert "humid afternoon" in run.stdout and "passed" in run.stdout
    assert "weather-station" not in run.stdout  # the user's group ran, not ours
    assert (project / "reports" / "run" / "index.html").is_file()


def test_the_starting_lambda_is_lint_clean(tmp_path: Path) -> None:
    assert main(["init", str(tmp_path / "p")]) == 0
    ruff = Path(sys.executable).with_name("ruff")
    if not ruff.exists():
        pytest.skip("ruff is not installed next to this interpreter (pip install ruff)")
    done = subprocess.run([str(ruff), "check", "--no-cache", "--isolated", str(tmp_path / "p")],
                          capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stdout
