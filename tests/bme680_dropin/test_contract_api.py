"""The drop-in has the real library's API: names, kinds, values, signatures, attributes.

Each test introspects the installed ``bme680`` and the drop-in side by side, so a new release
of the library that adds, removes or changes something fails here, naming what changed.
"""

from __future__ import annotations

import inspect
from types import ModuleType, SimpleNamespace
from typing import Any

import bme680
import bme680.constants
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fakes.bme680 import SimulatedBME680
from fakes.bme680_dropin import installed

with installed() as _module:
    DROPIN: ModuleType = _module
    DROPIN_CONSTANTS: ModuleType = _module.constants

#: The library's namespace as imported (tests patch its ``time`` while they run).
REAL = SimpleNamespace(**vars(bme680))

#: Names the drop-in adds to the library's namespace (documented in its docstring).
DROPIN_EXTRAS = {"environment", "simulation"}
DATA_HOLDERS = ("FieldData", "CalibrationData", "TPHSettings", "GasSettings", "BME680Data")


def public(namespace: Any) -> set[str]:
    return {name for name in dir(namespace) if not name.startswith("_")}


def attributes(obj: Any) -> set[str]:
    return {name for name in vars(obj) if not name.startswith("_")}


def kind(obj: Any) -> str:
    if inspect.ismodule(obj):
        return "module"
    if inspect.isclass(obj):
        return "class"
    if inspect.isfunction(obj) or inspect.ismethod(obj):
        return "function"
    return type(obj).__name__


def parameters(function: Any) -> list[tuple[str, str, Any]]:
    """Name, kind and default of each parameter (annotations are not part of the contract)."""
    return [
        (p.name, p.kind.name, p.default) for p in inspect.signature(function).parameters.values()
    ]


def public_methods(cls: type) -> list[str]:
    return sorted(name for name, member in inspect.getmembers(cls) if not name.startswith("_")
                  and callable(member))  # fmt: skip


# ------------------------------------------------------------------ module namespaces
@pytest.mark.parametrize(
    ("real", "mine"), [(REAL, DROPIN), (bme680.constants, DROPIN_CONSTANTS)],
    ids=["bme680", "bme680.constants"],
)  # fmt: skip
def test_every_public_name_exists_with_the_same_kind(real: Any, mine: ModuleType) -> None:
    missing = sorted(public(real) - public(mine))
    assert not missing, f"the library has names the drop-in lacks: {missing}"
    changed = {
        name: (kind(getattr(real, name)), kind(getattr(mine, name)))
        for name in public(real)
        if kind(getattr(real, name)) != kind(getattr(mine, name))
    }
    assert not changed, f"(library kind, drop-in kind) differ: {changed}"


def test_the_drop_in_adds_only_its_documented_names() -> None:
    assert public(DROPIN) - public(REAL) == DROPIN_EXTRAS
    assert public(DROPIN_CONSTANTS) == public(bme680.constants)


@pytest.mark.parametrize(
    ("real", "mine"), [(REAL, DROPIN), (bme680.constants, DROPIN_CONSTANTS)],
    ids=["bme680", "bme680.constants"],
)  # fmt: skip
def test_every_constant_has_the_same_value(real: Any, mine: ModuleType) -> None:
    compared = 0
    differ = {}
    for name in sorted(public(real)):
        theirs, ours = getattr(real, name), getattr(mine, name)
        if kind(theirs) in ("module", "function"):
            continue
        if kind(theirs) == "class":
            theirs, ours = theirs.__name__, ours.__name__
        compared += 1
        if theirs != ours or type(theirs) is not type(ours):
            differ[name] = (theirs, ours)
    assert compared > 150  # ints, the two gas tables, the leftover loop variables
    assert not differ, f"(library value, drop-in value) differ: {differ}"


def test_version_and_the_modules_the_library_exposes() -> None:
    assert DROPIN.__version__ == bme680.__version__ == "2.0.0"
    assert DROPIN.math is REAL.math
    assert DROPIN.time is REAL.time
    assert DROPIN.constants is DROPIN_CONSTANTS


# ------------------------------------------------------------------ signatures
@pytest.mark.parametrize("name", ["bytes_to_word", "twos_comp"])
def test_helper_functions_have_the_same_signature(name: str) -> None:
    assert parameters(getattr(DROPIN_CONSTANTS, name)) == parameters(
        getattr(bme680.constants, name)
    )


@pytest.mark.parametrize("cls", ["BME680", *DATA_HOLDERS])
def test_every_public_method_has_the_same_signature(cls: str) -> None:
    real, mine = getattr(bme680, cls), getattr(DROPIN, cls)
    missing = sorted(set(public_methods(real)) - set(public_methods(mine)))
    assert not missing, f"{cls} lacks methods of the library: {missing}"
    for name in ["__init__", *public_methods(real)]:
        theirs, ours = parameters(getattr(real, name)), parameters(getattr(mine, name))
        assert ours == theirs, f"{cls}.{name}: library {theirs}, drop-in {ours}"


def test_bme680_extends_only_set_environment() -> None:
    assert set(public_methods(DROPIN.BME680)) - set(public_methods(bme680.BME680)) == {
        "set_environment"
    }


def test_the_class_hierarchy_is_the_same() -> None:
    assert [c.__name__ for c in bme680.BME680.__mro__] == [
        c.__name__ for c in DROPIN.BME680.__mro__
    ]
    assert DROPIN.BME680.__module__ == "bme680"


# ------------------------------------------------------------------ data holders and instances
@pytest.mark.parametrize("cls", DATA_HOLDERS)
def test_data_holders_start_with_the_same_attributes(cls: str) -> None:
    theirs, ours = vars(getattr(bme680, cls)()), vars(getattr(DROPIN, cls)())
    if cls == "BME680Data":  # nested holders: compare their class names
        theirs = {k: type(v).__name__ if hasattr(v, "__dict__") else v for k, v in theirs.items()}
        ours = {k: type(v).__name__ if hasattr(v, "__dict__") else v for k, v in ours.items()}
    assert ours == theirs


def constructed(dropin: ModuleType) -> tuple[Any, Any]:
    real = bme680.BME680(i2c_device=SimulatedBME680())
    dropin.time = type("NoSleep", (), {"sleep": staticmethod(lambda _s: None)})
    return real, dropin.BME680()


def test_a_new_sensor_has_the_same_public_attributes(dropin: ModuleType) -> None:
    real, mine = constructed(dropin)
    assert attributes(real) <= attributes(mine), attributes(real) - attributes(mine)
    assert attributes(mine) - attributes(real) == {"environment"}
    for name in sorted(attributes(real) - {"data", "calibration_data", "tph_settings",
                                             "gas_settings"}):  # fmt: skip
        theirs, ours = getattr(real, name), getattr(mine, name)
        assert (type(ours), ours) == (type(theirs), theirs), name
    assert vars(mine.tph_settings) == vars(real.tph_settings)
    assert vars(mine.gas_settings) == vars(real.gas_settings)
    assert type(mine.data).__name__ == "FieldData"
    assert set(vars(mine.data)) == set(vars(real.data))
    assert {k: type(v) for k, v in vars(mine.data).items()} == {
        k: type(v) for k, v in vars(real.data).items()
    }
    assert mine._variant == real._variant == 0


def test_calibration_data_is_the_register_level_chips_default_set(dropin: ModuleType) -> None:
    real, mine = constructed(dropin)
    theirs, ours = dict(vars(real.calibration_data)), dict(vars(mine.calibration_data))
    real_fine, my_fine = theirs.pop("t_fine"), ours.pop("t_fine")
    assert ours == theirs
    # t_fine differs inside one 0.01 degC step: both read as the same temperature
    assert (real_fine * 5 + 128) >> 8 == (my_fine * 5 + 128) >> 8


# ------------------------------------------------------------------ helpers behave the same
@settings(max_examples=300, deadline=None)
@given(
    msb=st.integers(0, 255), lsb=st.integers(0, 255), bits=st.sampled_from([8, 12, 16]),
    signed=st.booleans(),
)  # fmt: skip
def test_word_helpers_compute_the_same(msb: int, lsb: int, bits: int, signed: bool) -> None:
    assert DROPIN_CONSTANTS.bytes_to_word(msb, lsb, bits, signed) == bme680.constants.bytes_to_word(
        msb, lsb, bits, signed
    )
    assert DROPIN_CONSTANTS.twos_comp(msb, bits) == bme680.constants.twos_comp(msb, bits)


@settings(max_examples=200, deadline=None)
@given(
    block=st.lists(st.integers(0, 255), min_size=41, max_size=41),
    other=st.tuples(st.integers(-128, 255), st.integers(-128, 127), st.integers(-128, 127)),
)
def test_calibration_parsing_is_the_same(block: list[int], other: tuple[int, int, int]) -> None:
    theirs, ours = bme680.constants.CalibrationData(), DROPIN_CONSTANTS.CalibrationData()
    theirs.set_from_array(block)
    ours.set_from_array(block)
    theirs.set_other(*other)
    ours.set_other(*other)
    assert vars(ours) == vars(theirs)
