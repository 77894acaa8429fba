"""The project's own plumbing: hardware tests stay out of plain runs; the main job works."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness import cli, shadow_tour

ROOT = Path(__file__).resolve().parents[1]

TESTS = """
import pytest

def test_offline():
    assert True

@pytest.mark.hil
def test_on_the_pi():
    assert True
"""


def test_plain_run_leaves_hardware_tests_out(pytester: pytest.Pytester) -> None:
    pytester.makeconftest((ROOT / "conftest.py").read_text())
    pytester.makepyfile(TESTS)
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1, deselected=1)
    result.stdout.fnmatch_lines(["*1 passed, 1 deselected*"])


def test_dash_m_hil_runs_only_hardware_tests(pytester: pytest.Pytester) -> None:
    pytester.makeconftest((ROOT / "conftest.py").read_text())
    pytester.makepyfile(TESTS)
    result = pytester.runpytest("-m", "hil", "-v", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=1, deselected=1)
    result.stdout.fnmatch_lines(["*test_on_the_pi PASSED*"])


def test_unknown_markers_are_errors(pytester: pytest.Pytester) -> None:
    pytester.makeconftest((ROOT / "conftest.py").read_text())
    pytester.makeini("[pytest]\naddopts = --strict-markers\n")
    pytester.makepyfile("import pytest\n@pytest.mark.hli\ndef test_typo(): pass\n")
    result = pytester.runpytest("-p", "no:cacheprovider")
    assert result.ret != 0
    result.stdout.fnmatch_lines(["*'hli' not found in `markers`*"])


def test_shadow_tour_walks_through_the_rules() -> None:
    lines: list[str] = []
    counts = shadow_tour.run(say=lines.append)
    text = "\n".join(lines)
    assert counts == {"requests": 9, "rejected": 2, "version": 4, "final_version": 6}
    assert '"code":409,"message":"Version conflict"' in text
    assert "State contains an invalid node: 'delta'" in text
    assert "state kept: True" in text
    assert text.count("/update/delta ") == 1  # one desired change, then reported caught up


def test_cli_demo_runs_the_rainy_day_with_a_report(monkeypatch: pytest.MonkeyPatch,
                                                    tmp_path: Path) -> None:
    from harness.commands import run as run_command

    seen = {}

    def fake_run(args: object) -> int:
        seen["args"] = args
        return 0

    monkeypatch.setattr(run_command, "run", fake_run)
    assert cli.main(["demo", "--report", str(tmp_path)]) == 0
    args = seen["args"]
    # every option of the run command is there with its default (none missing)
    assert (args.platform, args.pi_config, args.allow_skips) == ("v2", None, False)  # type: ignore[attr-defined]
    assert [path.name for path in args.scenarios] == ["rainy_day.yaml"]  # type: ignore[attr-defined]
    assert args.scenarios[0].is_file()  # type: ignore[attr-defined]
    assert (args.rig, args.report) == ("sim", tmp_path)  # type: ignore[attr-defined]


def test_cli_shadow_tour(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["shadow-tour"]) == 0
    assert "final version 6" in capsys.readouterr().out


def test_cli_needs_a_command(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        cli.main([])
    assert exit_info.value.code == 2
