"""A scenario's changes to the rig's group (``group_changes:`` in a scenario file).

A scenario that needs the group to differ from the one deployed (a function without its
``access_control``, client device auth without a device, a bridge without a mapping, a
shorter trust duration) says so in ``group_changes:``; :func:`changed_group` makes that group and
validates it as a group file is validated. Problems come back at the scenario's fields.
"""

from __future__ import annotations

import copy
from typing import Any

from pydantic import ValidationError

from harness.group import Group
from harness.scenarios.schema import GroupChanges

__all__ = ["GroupChangeError", "changed_group"]

Loc = tuple[str | int, ...]


class GroupChangeError(ValueError):
    """The changes cannot be applied, or give a group that is not valid; ``problems`` are
    ``(scenario field, message)`` pairs."""

    def __init__(self, problems: list[tuple[Loc, str]]) -> None:
        self.problems = problems
        super().__init__("; ".join(f"{'.'.join(map(str, loc))}: {text}"
                                   for loc, text in problems))


def changed_group(group: Group, changes: GroupChanges) -> Group:
    """``group`` with ``changes`` applied: ``client_devices`` replaced; per named function,
    each field set to its value (``None`` removes the field)."""
    data: dict[str, Any] = copy.deepcopy(group.model_dump(mode="json", exclude_unset=True))
    problems: list[tuple[Loc, str]] = []
    if changes.client_devices is not None:
        data["client_devices"] = copy.deepcopy(changes.client_devices)
    functions = {f["name"]: f for f in data.get("functions", [])}
    for name, fields in changes.functions.items():
        function = functions.get(name)
        if function is None:
            problems.append((("group_changes", "functions", name),
                             f"no function {name!r} in group {group.name!r} to change"))
            continue
        for key, value in fields.items():
            if key == "name":
                problems.append((("group_changes", "functions", name, key),
                                 "a function's name cannot be changed"))
            elif value is None:
                function.pop(key, None)
            else:
                function[key] = copy.deepcopy(value)
    if problems:
        raise GroupChangeError(problems)
    try:
        return Group.model_validate(data)
    except ValidationError as error:
        raise GroupChangeError([(("group_changes",), _said(detail, data))
                                for detail in error.errors()]) from None


def _said(detail: Any, data: dict[str, Any]) -> str:
    """A validation problem of the changed group, named by the group's own field path."""
    parts: list[str] = []
    node: Any = data
    for part in detail["loc"]:
        if isinstance(node, list) and isinstance(part, int) and part < len(node):
            node = node[part]
            name = node.get("name") if isinstance(node, dict) else None
            parts.append(str(name) if name else str(part))
        else:
            node = node.get(part) if isinstance(node, dict) else None
            parts.append(str(part))
    return f"the changed group's {'.'.join(parts)}: {detail['msg']}"
