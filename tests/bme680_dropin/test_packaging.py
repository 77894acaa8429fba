"""``installed()`` puts the drop-in where ``import bme680`` looks, and puts everything back."""

from __future__ import annotations

import importlib
import subprocess
import sys
import textwrap

import bme680
import bme680.constants
import pytest

from fakes.bme680_dropin import dropin_path, installed


def test_the_folder_holds_a_top_level_package() -> None:
    folder = dropin_path()
    assert folder.is_absolute()
    assert (folder / "bme680" / "__init__.py").is_file()
    assert (folder / "bme680" / "constants.py").is_file()


def test_import_finds_the_drop_in_inside_the_block() -> None:
    real, real_constants = sys.modules["bme680"], sys.modules["bme680.constants"]
    with installed() as module:
        assert sys.path[0] == str(dropin_path())
        assert importlib.import_module("bme680") is module is sys.modules["bme680"]
        assert importlib.import_module("bme680.constants") is module.constants
        assert module.constants is not real_constants
        assert module.__file__ == str(dropin_path() / "bme680" / "__init__.py")
    assert sys.modules["bme680"] is real is bme680
    assert sys.modules["bme680.constants"] is real_constants
    assert str(dropin_path()) not in sys.path
    assert not any(name.startswith("bme680.") and "simulation" in name for name in sys.modules)


def test_everything_is_restored_after_an_error() -> None:
    path_before, real = list(sys.path), sys.modules["bme680"]
    with pytest.raises(KeyError), installed():
        raise KeyError("boom")
    assert sys.path == path_before
    assert sys.modules["bme680"] is real


def test_each_block_starts_afresh() -> None:
    with installed() as first:
        first.environment.set_environment(temperature=30.0)
        first.environment.inject(first.simulation.NoDevice())
    with installed() as second:
        assert second is not first
        assert second.environment.temperature == 25.0 and not second.environment.injections


def test_blocks_nest() -> None:
    with installed() as outer:
        with installed() as inner:
            assert sys.modules["bme680"] is inner is not outer
        assert sys.modules["bme680"] is outer
    assert sys.modules["bme680"] is bme680


def test_the_drop_in_stands_alone() -> None:
    """With only its folder on sys.path: no ``fakes``, no ``smbus2``, no real ``bme680``."""
    script = textwrap.dedent(
        f"""
        import sys
        sys.path[:] = [{str(dropin_path())!r}] + [p for p in sys.path if 'site-packages' not in p
                                                  and p not in ('', '.')]
        sys.modules['smbus2'] = None  # importing it would fail
        import bme680
        bme680.time.sleep = lambda seconds: None
        sensor = bme680.BME680()
        bme680.environment.set_environment(temperature=12.34)
        assert sensor.get_sensor_data() and sensor.data.temperature == 12.34
        assert not any(name.split('.')[0] in ('fakes', 'smbus2') and sys.modules[name]
                       for name in sys.modules)
        print(bme680.__file__)
        """
    )
    done = subprocess.run(
        [sys.executable, "-I", "-c", script], capture_output=True, text=True, check=False,
        cwd="/", timeout=60,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == str(dropin_path() / "bme680" / "__init__.py")


def test_fault_names_and_fields_match_the_register_level_chip() -> None:
    """The drop-in defines its faults again (it must import without ``fakes``); they must
    stay the same names with the same fields as the register-level chip's."""
    import dataclasses

    import fakes.bme680 as register_level
    from fakes.bme680_dropin import installed

    names = ["NoDevice", "BusError", "WrongChipId", "BrownOut", "StuckData",
             "HeaterUnstable", "SelfHeating"]
    with installed() as dropin:
        for name in names:
            ours, theirs = getattr(dropin.simulation, name), getattr(register_level, name)
            assert [(f.name, f.default) for f in dataclasses.fields(ours)] == [
                (f.name, f.default) for f in dataclasses.fields(theirs)], name
