"""The high-level drop-in ``bme680`` module and how to put it where ``import bme680`` looks.

``fakes/bme680_dropin/bme680`` is a stand-in for Pimoroni's ``bme680`` 2.0.0 that reads a
simulated environment instead of an I2C bus (see its docstring for what matches the real
library and what does not). It is a top-level package: put :func:`dropin_path` first on
``sys.path`` - or use :func:`installed` for a block - and ``import bme680`` finds it::

    with installed() as bme680:
        bme680.environment.set_environment(temperature=19.0)
        sensor = bme680.BME680()

For the register-level simulation (the real library over simulated I2C) use
``fakes.bme680.SimulatedBME680`` instead.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import ModuleType

_PACKAGE = "bme680"


def dropin_path() -> Path:
    """The folder holding the drop-in ``bme680`` package (the one to put on ``sys.path``)."""
    return Path(__file__).resolve().parent


def _bme680_modules() -> dict[str, ModuleType]:
    return {
        name: module
        for name, module in sys.modules.items()
        if name == _PACKAGE or name.startswith(_PACKAGE + ".")
    }


@contextmanager
def installed() -> Iterator[ModuleType]:
    """Within the block ``import bme680`` gives a freshly imported drop-in; yields it.

    The drop-in folder goes first on ``sys.path`` and ``sys.modules['bme680']`` (with
    ``bme680.constants`` and the other submodules) is swapped for the drop-in's; both are
    restored afterwards, so modules that imported the real library before the block keep it,
    and each block starts with a fresh ``bme680.environment``. Code that first imports a
    module doing ``import bme680`` inside the block binds that module to the drop-in for good.
    """
    folder = str(dropin_path())
    saved = _bme680_modules()
    for name in saved:
        del sys.modules[name]
    sys.path.insert(0, folder)
    try:
        module = importlib.import_module(_PACKAGE)
        expected = dropin_path() / _PACKAGE / "__init__.py"
        if Path(module.__file__ or "").resolve() != expected:
            raise ImportError(f"import bme680 found {module.__file__}, not the drop-in {expected}")
        yield module
    finally:
        for name in _bme680_modules():
            del sys.modules[name]
        sys.modules.update(saved)
        if folder in sys.path:
            sys.path.remove(folder)
