"""Reading deployed component configuration the way the Greengrass Java components do.

* Keys are matched without regard to case: the nucleus configuration store keys are
  case-insensitive, and the components' Jackson mappers accept case-insensitive properties
  (``greengrass-v2-topology.md`` §4.1).
* Numbers go through the nucleus's ``Coerce.toInt``/``toLong``: a number is truncated, a
  boolean is 1 or 0, text is read by the nucleus's own lenient ``Utils.parseLong`` (leading
  blanks and signs, ``0`` for octal, ``0x`` hex, ``0b`` binary; it stops at the first bad
  character), anything else is 0.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from typing import Any

__all__ = ["coerce_int", "field", "path_join", "scalar_text", "version_tuple"]

_MISSING = object()


def field(mapping: Mapping[Any, Any], name: str, default: Any = None) -> Any:
    """``mapping[name]`` with the key matched case-insensitively (exact case first)."""
    if name in mapping:
        return mapping[name]
    folded = name.casefold()
    for key, value in mapping.items():
        if isinstance(key, str) and key.casefold() == folded:
            return value
    return default


def has_field(mapping: Mapping[Any, Any], name: str) -> bool:
    return field(mapping, name, _MISSING) is not _MISSING


def path_join(*parts: object) -> str:
    """A configuration path for error messages: ``deviceGroups.policies.P.S.resources[1]``."""
    text = ""
    for part in parts:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += ("." if text else "") + str(part)
    return text


def scalar_text(value: Any) -> str | None:
    """A JSON scalar as Jackson coerces it into a ``String`` field; ``None`` for a container
    (which Jackson refuses for a string field) and for ``null``."""
    if value is None or isinstance(value, (Mapping, list, tuple, set)):
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    return json.dumps(value) if isinstance(value, (int, float)) else str(value)


def _parse_long(text: str) -> int:
    """The nucleus's ``Utils.parseLong(CharSequence)``."""
    at, negative, radix = 0, False, 10
    while at < len(text):
        char = text[at]
        if char in " +":
            at += 1
        elif char == "-":
            negative = not negative
            at += 1
        elif char == "0":
            radix = 8
            at += 1
        elif radix == 8 and char in "xXbB":
            radix = 16 if char in "xX" else 2
            at += 1
            break
        else:
            break
    value = 0
    for char in text[at:]:
        digit = int(char, 16) if char in "0123456789abcdefABCDEF" else 99
        if digit >= radix:
            break
        value = value * radix + digit
    return -value if negative else value


def coerce_int(value: Any) -> int:
    """The nucleus's ``Coerce.toInt``/``toLong`` (without Java's overflow wrap-around)."""
    if isinstance(value, bool):
        return 1 if value else 0
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        if math.isnan(value):
            return 0
        if math.isinf(value):
            return 2**31 - 1 if value > 0 else -(2**31)
        return int(value)
    if value is None:
        return 0
    text = value if isinstance(value, str) else str(value)
    return _parse_long(text)


def version_tuple(version: str) -> tuple[int, int, int]:
    """``"2.5.2"`` as ``(2, 5, 2)``; a ``ValueError`` for anything else."""
    parts = version.split(".") if isinstance(version, str) else []
    if len(parts) != 3 or not all(part.isdigit() for part in parts):
        raise ValueError(f"not a component version (major.minor.patch): {version!r}")
    return (int(parts[0]), int(parts[1]), int(parts[2]))
