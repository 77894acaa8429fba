"""Building the broker's client id plugin: once per source version, and a clear message
when there is no C compiler (what it does in the broker is in test_mosquitto.py)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from harness.rigs.client_id_plugin import NO_COMPILER, build_plugin


def test_without_a_compiler_the_message_says_what_to_install(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("CC", raising=False)
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    with pytest.raises(FileNotFoundError) as raised:
        build_plugin(tmp_path / "cache")
    assert str(raised.value) == NO_COMPILER
    assert "apt-get install gcc" in NO_COMPILER
    assert not (tmp_path / "cache").exists()


def test_the_plugin_is_built_once_and_then_reused(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    if not (shutil.which("cc") or shutil.which("gcc")):
        pytest.skip(NO_COMPILER)
    built = build_plugin(tmp_path)
    assert built.parent == tmp_path and built.suffix == ".so"
    assert built.read_bytes().startswith(b"\x7fELF")
    assert [path.name for path in tmp_path.iterdir()] == [built.name]  # no leftovers
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))  # no compiler needed any more
    assert build_plugin(tmp_path) == built


def test_a_failing_compiler_is_reported_with_its_output(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    compiler = tmp_path / "bin" / "cc"
    compiler.parent.mkdir()
    compiler.write_text("#!/bin/sh\necho 'cc: no such luck' >&2\nexit 1\n")
    compiler.chmod(0o755)
    monkeypatch.setenv("CC", str(compiler))
    with pytest.raises(RuntimeError) as raised:
        build_plugin(tmp_path / "cache")
    assert "could not build the broker rig's client id plugin" in str(raised.value)
    assert "cc: no such luck" in str(raised.value)


def test_the_broker_rig_is_unavailable_without_a_compiler(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from harness.rigs import mosquitto
    from harness.rigs.base import RigUnavailable
    from harness.rigs.broker import BrokerRig

    def no_compiler() -> Path:
        raise FileNotFoundError(NO_COMPILER)

    try:
        mosquitto.find_mosquitto()
    except FileNotFoundError as error:
        pytest.skip(str(error))
    monkeypatch.setattr(mosquitto, "build_plugin", no_compiler)
    with pytest.raises(RigUnavailable) as raised:
        BrokerRig.start(directory=tmp_path)
    assert str(raised.value) == NO_COMPILER
