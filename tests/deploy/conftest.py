"""Shared fixtures: the project's group, and small groups built in code for edge cases."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from harness.group import Group, load_group

GROUP_FILE = Path(__file__).resolve().parents[2] / "lambdas" / "group.yaml"


@pytest.fixture(scope="session")
def group() -> Group:
    """``lambdas/group.yaml``, as deployed."""
    return load_group(GROUP_FILE)


def make_group(**fields: Any) -> Group:
    """A small valid group: one core and whatever ``fields`` add or replace."""
    data: dict[str, Any] = {
        "name": "test-group",
        "region": "eu-west-1",
        "account": "210987654321",
        "core": {"thing": "test-core"},
    }
    data.update(fields)
    return Group.model_validate(data)
