"""Every mistake a user can make on ``python -m harness``'s command line is a message that
says where (the file and line, or the option) with exit status 2, never a traceback; a bug
of ours (an exception nobody expected) still surfaces as one."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from harness import cli
from tests.commands.user_project import WET, write_project

ROOT = Path(__file__).resolve().parents[2]
TRACE = ROOT / "scenarios" / "traces" / "evening_front.jsonl"


@pytest.fixture
def project(tmp_path: Path) -> dict[str, Path]:
    """The user's project, and the broken files the mistakes below use."""
    paths = write_project(tmp_path)
    files = {
        "broken.yaml": "name: [\n",
        "typo.yaml": WET.replace("duration:", "duraton:"),
        "typo_function.yaml": "name: t\ngroup: ../greenhouse/group.yaml\n"
                              + WET.split("\n", 1)[1].replace("function: humidity_alert",
                                                              "function: humidity_alrt"),
        "no_group.yaml": "name: t\ngroup: ../nowhere/group.yaml\n" + WET.split("\n", 1)[1],
        "bad_group.yaml": "name: g\ncore: {thing: c}\nfuctions: []\n",
        "results.json": "not json\n",
        "plain.txt": "a file\n",
        "bad_format.yaml": "x: 1\n",
    }
    for name, text in files.items():  # each known by its name without the suffix
        paths[name.split(".")[0]] = tmp_path / "checks" / name
        (tmp_path / "checks" / name).write_text(text)
    paths["folder"] = tmp_path / "a_folder"
    paths["folder"].mkdir()
    paths["nope"] = tmp_path / "nope.yaml"
    return paths


# (argv with {name} for the project's paths, what the message must say)
MISTAKES = [
    (["run", "{nope}"], "{nope}:1: (scenario): no such file"),
    (["run", "{folder}"], "{folder}:1: (scenario): is a folder, not a file"),
    (["run", "{broken}"], "{broken}:2: (yaml): invalid YAML"),
    (["run", "{typo}", "--group", "{group}"],
     "{typo}:2: duraton: unknown field (did you mean 'duration'?)"),
    (["run", "{typo_function}"],
     "{typo_function}:10: expectations.1.log.function: no function 'humidity_alrt' in "
     "group 'greenhouse' (did you mean 'humidity_alert'?)"),
    (["run", "{no_group}"], "{no_group}:2: group: no group file at"),
    (["run", "{wet}", "--group", "{nope}"], "{nope}:1: (group): no such file"),
    (["run", "{wet}", "--group", "{folder}"], "{folder}:1: (group): is a folder, not a file"),
    (["run", "{wet}", "--group", "{bad_group}"],
     "{bad_group}:3: fuctions: unknown field (did you mean 'functions'?)"),
    (["run", "{own}", "--group", "{bad_group}"],
     "{own}:2: group: the scenario is written for"),
    (["run", "{wet}", "--rig", "moon"], "argument --rig: invalid choice: 'moon'"),
    (["run", "{wet}", "--platform", "v3"], "argument --platform: invalid choice: 'v3'"),
    (["run", "{own}", "--rig", "pi", "--pi-config", "{nope}"],
     "the pi rig is not available: no pi rig config at"),
    (["run", "{own}", "--rig", "broker", "--platform", "v1"],
     "only the sim rig simulates a V1 core"),
    (["run", "{own}", "--report", "{plain}"], "--report {plain}: {plain} is a file, not a folder"),
    (["compare", "{nope}", "{nope}"], "cannot compare: no results at {nope}"),
    (["compare", "{results}", "{results}"], "{results}: not a results file"),
    (["compare", "{nope}", "{nope}", "--tolerance", "temperature=x"], "'x' is not a number"),
    # a tolerance's name is checked against the fields the runs have, once they are read
    # (tests/commands/test_compare_groups.py): here the missing runs are told first
    (["compare", "{nope}", "{nope}", "--tolerance", "tempreature=1"],
     "cannot compare: no results at {nope}"),
    (["compare", "{nope}", "{nope}", "--tolerance", "oops"], "'oops': use NAME=VALUE"),
    (["replay", "{nope}"], "{nope}: no such trace file"),
    (["replay", str(TRACE), "--scenario", "{folder}"], "--scenario {folder}: is a folder"),
    (["replay", str(TRACE), "--group", "{group}"],
     "device.thing: no device 'bme680-sensor' in group 'greenhouse'"),
    (["replay", str(TRACE), "--group", "{bad_group}"], "{bad_group}:3: fuctions"),
    (["record", "--out", "{bad_format}"], "unknown trace format '.yaml'"),
    (["record", "--group", "{nope}", "--count", "1"], "{nope}:1: (group): no such file"),
    (["record", "--period", "-1"], "argument --period: '-1' is not a positive number"),
    (["deploy", "--group", "{nope}"], "{nope}:1: (group): no such file"),
    (["deploy", "--group", "{bad_group}"], "{bad_group}:3: fuctions: unknown field"),
    (["deploy", "--group", "{group}", "--code-dir", "{folder}"],
     "{group}:5: functions.0.module: no humidity_alert.py in"),
    (["deploy", "--region", "Mars"], "--region 'Mars' is not an AWS region"),
    (["deploy", "--target", "v3"], "argument --target: invalid choice: 'v3'"),
    (["demo", "--group", "{nope}"], "{nope}:1: (group): no such file"),
    (["frobnicate"], "invalid choice: 'frobnicate'"),
]


def _fill(text: str, paths: dict[str, Path]) -> str:
    return text.format(**{name: str(path) for name, path in paths.items()})


def _main(argv: list[str]) -> int:
    """``python -m harness`` in process: argparse's usage errors exit with SystemExit(2)."""
    try:
        return cli.main(argv)
    except SystemExit as stop:
        return stop.code if isinstance(stop.code, int) else 1


@pytest.mark.parametrize(("argv", "said"), MISTAKES,
                         ids=[" ".join(argv[:1] + argv[2:4]) or argv[0] for argv, _ in MISTAKES])
def test_a_mistake_is_a_message_with_its_place_and_exit_status_2(
        argv: list[str], said: str, project: dict[str, Path],
        capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(project["root"])  # where record writes traces/ if it got so far
    assert _main([_fill(arg, project) for arg in argv]) == 2
    captured = capsys.readouterr()
    assert _fill(said, project) in captured.err
    assert "Traceback" not in captured.err + captured.out


def test_outside_the_repository_a_mistake_is_a_message_too(project: dict[str, Path]) -> None:
    """``python -m harness`` from a user's folder, the package found through PYTHONPATH: the
    user's group and scenario work, a misspelt field is named, nothing is a traceback."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    folder = project["root"]
    assert ROOT not in folder.parents

    def harness(*argv: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "harness", *argv], cwd=folder, env=env,
                              capture_output=True, text=True, timeout=120, check=False)

    done = harness("run", "checks/own.yaml")
    assert done.returncode == 0, done.stderr
    assert "wet greenhouse, own group" in done.stdout
    done = harness("run", "checks/typo.yaml", "--group", "greenhouse/group.yaml")
    assert done.returncode == 2
    assert "checks/typo.yaml:2: duraton: unknown field (did you mean 'duration'?)" in done.stderr
    assert "Traceback" not in done.stderr + done.stdout


def test_a_bug_is_not_dressed_up_as_a_users_mistake(
        project: dict[str, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    """Only mistakes in what was given get a message: an exception nobody expected (here
    planted in the run) propagates with its traceback, to be fixed rather than hidden."""
    from harness.commands import run

    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("a bug in the harness")

    monkeypatch.setattr(run, "record_run", broken)
    with pytest.raises(RuntimeError, match="a bug in the harness"):
        cli.main(["run", str(project["own"])])
