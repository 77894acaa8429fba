"""Shared fixtures for the rain model tests."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

import ml
from ml.data import Split, load_split

DEFAULT_OUT = Path(ml.__file__).resolve().parent / "artifacts"  # as ml.train writes them


@pytest.fixture(scope="session")
def split() -> Split:
    return load_split()


@pytest.fixture(scope="session")
def artifacts() -> Path:
    return DEFAULT_OUT


@pytest.fixture(scope="session")
def committed_report(artifacts: Path) -> dict[str, Any]:
    return json.loads((artifacts / "metrics.json").read_text())
