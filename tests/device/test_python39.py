"""The device program runs on the Pi's Python 3.9+: no newer syntax in device/*.py."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

DEVICE = Path(__file__).resolve().parents[2] / "device"
SOURCES = sorted(DEVICE.glob("*.py"))


def test_there_are_sources() -> None:
    assert {p.name for p in SOURCES} >= {"__main__.py", "loop.py", "sensor.py", "readings.py"}


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: p.name)
def test_parses_as_python_3_9(path: Path) -> None:
    source = path.read_text()
    tree = ast.parse(source, filename=str(path), feature_version=(3, 9))
    assert not any(isinstance(node, ast.Match) for node in ast.walk(tree)), "match is 3.10+"


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: p.name)
def test_annotations_are_never_evaluated(path: Path) -> None:
    """``X | None`` in annotations is fine on 3.9 only when annotations stay strings."""
    tree = ast.parse(path.read_text())
    futures = {
        alias.name
        for node in tree.body
        if isinstance(node, ast.ImportFrom) and node.module == "__future__"
        for alias in node.names
    }
    assert "annotations" in futures


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: p.name)
def test_no_runtime_union_operators_on_types(path: Path) -> None:
    """``int | None`` outside annotations (isinstance, aliases) needs 3.10."""
    tree = ast.parse(path.read_text())
    annotations = {
        id(node)
        for parent in ast.walk(tree)
        for field in ("annotation", "returns")
        if isinstance(getattr(parent, field, None), ast.AST)
        for node in ast.walk(getattr(parent, field))
    }
    builtin_types = {"int", "float", "str", "bytes", "bool", "None", "list", "dict", "tuple"}
    offenders = [
        ast.unparse(node)
        for node in ast.walk(tree)
        if isinstance(node, ast.BinOp)
        and isinstance(node.op, ast.BitOr)
        and id(node) not in annotations
        and any(
            (isinstance(side, ast.Name) and side.id in builtin_types)
            or (isinstance(side, ast.Constant) and side.value is None)
            for side in (node.left, node.right)
        )
    ]
    assert offenders == []


@pytest.mark.parametrize("keyword", ["strict=", "slots=", "kw_only="])
def test_no_keywords_added_in_3_10(keyword: str) -> None:
    """zip(strict=...) and dataclass(slots=..., kw_only=...) are TypeErrors on 3.9."""
    assert [p.name for p in SOURCES if keyword in p.read_text()] == []
