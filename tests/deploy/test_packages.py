"""Lambda packages: the module and the real greengrasssdk, byte-identical on every build."""

from __future__ import annotations

import hashlib
import io
import zipfile
from importlib.metadata import distribution
from pathlib import Path

import pytest

from harness.deploy import build_package, write_packages
from harness.deploy.packages import local_modules, sdk_files
from harness.group import Group

from .conftest import GROUP_FILE

CODE_DIR = GROUP_FILE.parent


def entries(package: bytes) -> dict[str, zipfile.ZipInfo]:
    with zipfile.ZipFile(io.BytesIO(package)) as zf:
        return {info.filename: info for info in zf.infolist()}


def test_the_zip_holds_the_module_and_the_sdk_at_the_root(group: Group) -> None:
    package = build_package(group.function("republish"), CODE_DIR)
    names = list(entries(package))
    assert "republish.py" in names
    assert "greengrasssdk/__init__.py" in names
    assert "greengrasssdk/IoTDataPlane.py" in names
    assert not [n for n in names if "__pycache__" in n or n.endswith(".pyc")]
    assert names == sorted(names)
    with zipfile.ZipFile(io.BytesIO(package)) as zf:
        assert zf.read("republish.py") == (CODE_DIR / "republish.py").read_bytes()
        assert zf.testzip() is None


def test_the_sdk_is_the_installed_distribution_not_a_fake(group: Group) -> None:
    installed = Path(str(distribution("greengrasssdk").locate_file("greengrasssdk/__init__.py")))
    assert sdk_files()["greengrasssdk/__init__.py"] == installed
    assert "site-packages" in installed.parts
    with zipfile.ZipFile(io.BytesIO(build_package(group.function("hello_world"), CODE_DIR))
                         ) as zf:
        assert zf.read("greengrasssdk/__init__.py") == installed.read_bytes()


def test_the_same_input_gives_the_same_bytes(group: Group, tmp_path: Path) -> None:
    function = group.function("inference")
    first = build_package(function, CODE_DIR)
    assert build_package(function, CODE_DIR) == first
    for info in entries(first).values():
        assert info.date_time == (1980, 1, 1, 0, 0, 0)
        assert info.external_attr >> 16 == 0o100644
    written = write_packages(group, CODE_DIR, tmp_path)
    assert [p.name for p in written] == ["republish.zip", "hello_world.zip", "inference.zip"]
    assert (tmp_path / "inference.zip").read_bytes() == first


def test_a_changed_module_changes_the_package(group: Group, tmp_path: Path) -> None:
    function = group.function("republish")
    copy = tmp_path / "republish.py"
    copy.write_bytes((CODE_DIR / "republish.py").read_bytes())
    (tmp_path / "shadow_client.py").write_bytes((CODE_DIR / "shadow_client.py").read_bytes())
    same = build_package(function, tmp_path)
    assert same == build_package(function, CODE_DIR)  # where the file lives does not matter
    copy.write_bytes(copy.read_bytes() + b"\n# changed\n")
    assert hashlib.sha256(build_package(function, tmp_path)).digest() != \
        hashlib.sha256(same).digest()


def test_a_missing_module_is_named(group: Group, tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match=r"no module file .*republish\.py"):
        build_package(group.function("republish"), tmp_path)


@pytest.mark.parametrize("function", ["republish", "inference"])
def test_the_shadow_client_the_lambdas_import_is_packaged_beside_them(
    group: Group, function: str
) -> None:
    source = (CODE_DIR / f"{function}.py").read_text()
    assert "import shadow_client" in source  # what makes it needed on the core
    package = build_package(group.function(function), CODE_DIR)
    with zipfile.ZipFile(io.BytesIO(package)) as zf:
        assert zf.read("shadow_client.py") == (CODE_DIR / "shadow_client.py").read_bytes()
        names = zf.namelist()
    assert names == sorted(names)
    # the only modules of lambdas/ a package carries are the function's and what it imports
    assert [n for n in names if "/" not in n] == sorted([f"{function}.py", "shadow_client.py"])


def test_hello_world_imports_nothing_from_its_folder(group: Group) -> None:
    package = build_package(group.function("hello_world"), CODE_DIR)
    assert [n for n in entries(package) if "/" not in n] == ["hello_world.py"]


def test_local_imports_are_followed_through_every_form(tmp_path: Path) -> None:
    folder = tmp_path / "lambdas"
    folder.mkdir()
    (folder / "main.py").write_text(
        "import json\ntry:\n    import helper\nexcept ModuleNotFoundError:\n"
        "    from lambdas import helper\nfrom . import sibling\n")
    (folder / "helper.py").write_text("from deep import thing\n")  # transitively
    (folder / "deep.py").write_text("import os\n")
    (folder / "sibling.py").write_text("")
    (folder / "unused.py").write_text("")
    assert local_modules("main", folder) == ["deep", "helper", "sibling"]
    assert local_modules("deep", folder) == []
