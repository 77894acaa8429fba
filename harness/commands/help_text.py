"""A module docstring as ``--help`` text: the reStructuredText marks that make the API docs
(````code````, ``:func:`name```, a ``::`` literal-block marker) taken out, so the terminal
shows plain sentences."""

from __future__ import annotations

import re

__all__ = ["plain"]

_ROLE = re.compile(r":[a-z]+:`~?([^`]+)`")
_LITERAL = re.compile(r"``([^`]+)``")


def plain(doc: str | None) -> str:
    """``doc`` without reST roles (their target kept), double backquotes or ``::`` lines."""
    text = _ROLE.sub(r"\1", doc or "")
    text = _LITERAL.sub(r"\1", text)
    text = re.sub(r"\n\s*::\s*\n", "\n\n", text)  # a lone "::" introducing an example
    return re.sub(r"::(\s*\n)", r":\1", text).strip() + "\n"
