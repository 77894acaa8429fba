"""Each Lambda sees only its own environment variables.

While a simulation is open, ``os.environ`` is a proxy: inside a task that has an environment
(a Lambda container) it reads and writes that environment; everywhere else it is the
process's real environment. ``os.getenv`` goes through it too.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, MutableMapping
from threading import get_ident

from harness import tasks


class EnvironProxy(MutableMapping[str, str]):
    def __init__(self, real: MutableMapping[str, str]) -> None:
        self.real = real

    def _target(self) -> MutableMapping[str, str]:
        task = tasks.current_task()
        if task is not None and task.environ is not None:
            return task.environ
        return self.real

    def __getitem__(self, key: str) -> str:
        return self._target()[key]

    def __setitem__(self, key: str, value: str) -> None:
        for item in (key, value):
            if not isinstance(item, str):
                raise TypeError(f"str expected, not {type(item).__name__}")
        self._target()[key] = value

    def __delitem__(self, key: str) -> None:
        del self._target()[key]

    def __iter__(self) -> Iterator[str]:
        return iter(list(self._target()))

    def __len__(self) -> int:
        return len(self._target())

    def get(self, key: str, default: str | None = None) -> str | None:  # type: ignore[override]
        task = tasks._current  # _target() inlined: Lambdas read their environment often
        if task is not None and task.environ is not None \
                and get_ident() == tasks._scheduler_thread:
            return task.environ.get(key, default)
        return self.real.get(key, default)

    def __contains__(self, key: object) -> bool:
        return key in self._target()

    def copy(self) -> dict[str, str]:
        return dict(self._target())

    def __repr__(self) -> str:
        return f"EnvironProxy({dict(self._target())!r})"


_depth = 0


def install_environ_proxy() -> None:
    """Put the proxy in place of ``os.environ`` (nested calls count)."""
    global _depth
    _depth += 1
    if not isinstance(os.environ, EnvironProxy):
        os.environ = EnvironProxy(os.environ)  # type: ignore[assignment]  # noqa: B003


def uninstall_environ_proxy() -> None:
    global _depth
    _depth = max(0, _depth - 1)
    if _depth == 0 and isinstance(os.environ, EnvironProxy):
        os.environ = os.environ.real  # type: ignore[assignment]  # noqa: B003
