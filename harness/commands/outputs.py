"""Where the commands write (``--report DIR``, ``--out``, ``--scenario FILE``), checked before
they do anything: a folder that cannot be made or a file name that is a folder is a mistake
in what was given, said with the option and the reason (exit status 2), not a traceback after
a long run. Checking leaves nothing behind: what it makes to try, it removes.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

__all__ = ["file_problem", "folder_problem"]


def folder_problem(path: Path | None, option: str) -> str | None:
    """The problem if the folder ``path`` could not be made (with its parents), else None."""
    if path is None:
        return None
    problem = _try_folder(path)
    return None if problem is None else f"{option} {path}: {problem}"


def file_problem(path: Path | None, option: str) -> str | None:
    """The problem if the file ``path`` could not be written (a folder, a folder that
    cannot be made, a place that cannot be written), else None."""
    if path is None:
        return None
    if path.is_dir():
        return f"{option} {path}: is a folder: give a file name"
    if path.exists():
        try:
            with open(path, "a"):  # appending nothing leaves the file as it is
                return None
        except OSError as error:
            return f"{option} {path}: cannot write it: {error.strerror or error}"
    problem = _try_folder(path.parent, then=lambda: _try_new_file(path))
    return None if problem is None else f"{option} {path}: {problem}"


def _try_new_file(path: Path) -> str | None:
    try:
        with open(path, "x"):
            pass
    except OSError as error:
        return f"cannot write it: {error.strerror or error}"
    path.unlink()
    return None


def _try_folder(path: Path, then: Callable[[], str | None] | None = None) -> str | None:
    """Make ``path`` and its missing parents, call ``then`` (a further check) inside it, and
    remove what was made; the problem met, or None."""
    missing = [folder for folder in (path, *path.parents) if not folder.exists()]
    blocking = next((folder for folder in (path, *path.parents) if folder.exists()), None)
    if blocking is not None and not blocking.is_dir():
        return f"{blocking} is a file, not a folder"
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        return f"cannot make the folder: {error.strerror or error}"
    try:
        return then() if then is not None else None
    finally:
        for folder in missing:  # deepest first
            try:
                folder.rmdir()
            except OSError:
                break
