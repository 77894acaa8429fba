"""Lambda deployment packages: one zip per function, the same bytes for the same input.

A Greengrass Lambda's zip holds its module at the root, the modules of the code folder it
imports beside it (``lambdas/shadow_client.py`` for ``republish`` and ``inference``, found by
reading the imports, transitively), and the ``greengrasssdk`` package, so ``import
greengrasssdk`` and ``import shadow_client`` find them on the core. The SDK is copied from the
installed ``greengrasssdk`` distribution (the files its wheel installed, located through
``importlib.metadata``), never from this repository's fakes: only the core-only modules are
faked, the SDK is the real one. ``__pycache__`` and compiled files are left out.

Deterministic, so a rebuild can be compared byte for byte and an unchanged function need not
be uploaded again: entries sorted by name, every timestamp 1980-01-01 00:00 (the earliest a
zip can hold), fixed permissions (0644) and creator system, one compression level.

Not packaged: the AWS IoT Device SDK V2 (``awsiotsdk`` and an ``awscrt`` built for the core)
that ``shadow_client`` imports on a V2 core (``greengrass-v2-ipc.md`` §8).
"""

from __future__ import annotations

import ast
import io
import zipfile
from importlib.metadata import distribution
from pathlib import Path

from harness.group import Function, Group

__all__ = ["SDK_DISTRIBUTION", "build_package", "local_modules", "sdk_files", "write_packages"]

SDK_DISTRIBUTION = "greengrasssdk"
_EPOCH = (1980, 1, 1, 0, 0, 0)
_MODE = 0o100644  # a regular file, rw-r--r--


def sdk_files() -> dict[str, Path]:
    """The installed SDK's source files: zip entry name (``greengrasssdk/...``) to file."""
    dist = distribution(SDK_DISTRIBUTION)
    files: dict[str, Path] = {}
    for record in dist.files or []:
        name = record.as_posix()
        if not name.startswith("greengrasssdk/") or "__pycache__" in record.parts:
            continue
        if name.endswith((".pyc", ".pyo")):
            continue
        files[name] = Path(str(dist.locate_file(record)))
    if "greengrasssdk/__init__.py" not in files:
        raise FileNotFoundError(f"the installed {SDK_DISTRIBUTION} has no greengrasssdk package")
    return files


def _entry(name: str) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name, date_time=_EPOCH)
    info.compress_type = zipfile.ZIP_DEFLATED
    info.create_system = 3  # Unix, so the mode bits below are read
    info.external_attr = _MODE << 16
    return info


def _imported_names(source: Path, package: str) -> set[str]:
    """The top-level modules ``source`` imports (anywhere, ``try`` blocks included), and the
    modules it takes from ``package`` (``from lambdas import shadow_client``) or its own
    folder (``from . import x``)."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(source.read_bytes(), filename=str(source))):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".", 1)[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level == 0 and node.module:
                top = node.module.split(".", 1)[0]
                names.add(top)
                if node.module == package:
                    names.update(alias.name for alias in node.names)
            elif node.level == 1 and not node.module:
                names.update(alias.name for alias in node.names)
            elif node.level == 1 and node.module:
                names.add(node.module.split(".", 1)[0])
    return names


def local_modules(module: str, code_dir: str | Path) -> list[str]:
    """The modules of ``code_dir`` that ``module`` needs beside it: those it imports that are
    ``<code_dir>/<name>.py``, and theirs in turn; sorted, ``module`` itself left out."""
    folder = Path(code_dir)
    found: set[str] = set()
    pending = [module]
    while pending:
        current = pending.pop()
        for name in _imported_names(folder / f"{current}.py", folder.resolve().name):
            if name not in found and name != module and (folder / f"{name}.py").is_file():
                found.add(name)
                pending.append(name)
    return sorted(found)


def build_package(function: Function, code_dir: str | Path) -> bytes:
    """The zip of ``function``: ``<module>.py`` from ``code_dir``, the modules of
    ``code_dir`` it imports (:func:`local_modules`), plus ``greengrasssdk/``."""
    module = Path(code_dir) / f"{function.module}.py"
    if not module.is_file():
        raise FileNotFoundError(f"function {function.name!r}: no module file {module}")
    contents = {f"{function.module}.py": module, **sdk_files()}
    for name in local_modules(function.module, code_dir):
        contents[f"{name}.py"] = Path(code_dir) / f"{name}.py"
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as zf:
        for name in sorted(contents):
            zf.writestr(_entry(name), contents[name].read_bytes(), compresslevel=9)
    return buffer.getvalue()


def write_packages(group: Group, code_dir: str | Path, folder: str | Path) -> list[Path]:
    """Write ``<function>.zip`` for every function of ``group`` into ``folder``."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for function in group.functions:
        path = folder / f"{function.name}.zip"
        path.write_bytes(build_package(function, code_dir))
        written.append(path)
    return written
