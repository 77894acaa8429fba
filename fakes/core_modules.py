"""Make the core-only runtime modules importable, as a Greengrass core's Lambda runtime does.

``greengrasssdk`` imports ``greengrass_common`` and ``greengrass_ipc_python_sdk``, top-level
packages that exist only on a core. Our stand-ins live in ``fakes/core_runtime/`` (deliberately
not a package, so their names stay top-level). Put that folder on ``sys.path`` with
:func:`core_runtime_on_path`; the simulated core does this before it loads a Lambda.

The modules read the Lambda's environment when they are first imported (like the real ones),
so a fresh environment needs a fresh import: :func:`forget_core_modules` drops them, and the SDK,
from ``sys.modules``.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

__all__ = [
    "CORE_PACKAGES",
    "core_runtime_on_path",
    "core_runtime_path",
    "forget_core_modules",
]

CORE_PACKAGES: tuple[str, ...] = ("greengrass_common", "greengrass_ipc_python_sdk")
SDK_PACKAGE = "greengrasssdk"


def core_runtime_path() -> Path:
    """The folder that holds the core-only packages (the one a core puts on ``sys.path``)."""
    path = Path(__file__).resolve().parent / "core_runtime"
    if not (path / "greengrass_common").is_dir():
        raise FileNotFoundError(
            f"{path} does not hold the core runtime modules; is this a build of the project "
            "that left out fakes/core_runtime? Run from the source tree or an editable install."
        )
    return path


def _loaded_elsewhere(path: Path) -> list[str]:
    clashes = []
    for name in CORE_PACKAGES:
        module = sys.modules.get(name)
        origin = getattr(module, "__file__", None)
        if module is not None and (origin is None or path not in Path(origin).resolve().parents):
            clashes.append(f"{name} ({origin})")
    return clashes


@contextmanager
def core_runtime_on_path() -> Iterator[Path]:
    """Prepend :func:`core_runtime_path` to ``sys.path`` for the block, then take it away again.

    Fails if other copies of the core packages are already imported, because those would win.
    """
    path = core_runtime_path()
    clashes = _loaded_elsewhere(path)
    if clashes:
        raise RuntimeError(
            "core-only modules are already imported from elsewhere: "
            + ", ".join(clashes)
            + "; call fakes.core_modules.forget_core_modules() first"
        )
    entry = str(path)
    sys.path.insert(0, entry)
    try:
        yield path
    finally:
        if entry in sys.path:
            sys.path.remove(entry)


def forget_core_modules(*, include_sdk: bool = True) -> list[str]:
    """Remove the core packages (and ``greengrasssdk`` unless told not to) from ``sys.modules``.

    Returns the names removed. The next import reads the environment again.
    """
    roots = CORE_PACKAGES + ((SDK_PACKAGE,) if include_sdk else ())
    doomed = [
        name
        for name in list(sys.modules)
        if any(name == root or name.startswith(root + ".") for root in roots)
    ]
    for name in doomed:
        del sys.modules[name]
    return doomed
