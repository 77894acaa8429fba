"""``python -m harness init``'s starting project: a group file, one Lambda, a pytest test, a
scenario and a README, which pass at once with ``pytest`` and ``python -m harness run``.

The files are templates in ``templates/`` (``str.format`` fields: ``project``, ``thing``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

#: what is written where (relative to the project folder) -> its template
FILES = {
    "group.yaml": "group.yaml.tmpl",
    "humidity_alert.py": "humidity_alert.py.tmpl",
    "tests/test_humidity_alert.py": "test_humidity_alert.py.tmpl",
    "scenarios/humid_afternoon.yaml": "humid_afternoon.yaml.tmpl",
    "pytest.ini": "pytest.ini.tmpl",
    "README.md": "README.md.tmpl",
}

_NAME = re.compile(r"[A-Za-z0-9_-]{1,100}")


class ScaffoldError(Exception):
    """The project cannot be written as asked (the message says why)."""


@dataclass(frozen=True)
class Project:
    """A starting project's names: the group's (``project``) and its Shadow's thing."""

    project: str
    thing: str


def project_for(folder: Path, name: str | None = None) -> Project:
    """The names for a project in ``folder``: ``name`` or the folder's name, made a valid
    thing name (letters, digits, ``-`` and ``_``)."""
    base = name if name is not None else folder.resolve().name
    if name is not None and not _NAME.fullmatch(name):
        raise ScaffoldError(f"--name {name!r}: use 1 to 100 letters, digits, '-' or '_'")
    cleaned = re.sub(r"[^A-Za-z0-9_-]+", "-", base).strip("-")[:80] or "my-project"
    return Project(project=cleaned, thing=f"{cleaned}-station")


def write_project(folder: Path, *, name: str | None = None, force: bool = False
                  ) -> list[Path]:
    """Write the starting project into ``folder`` (made if missing) and return the files
    written. An existing file is never overwritten unless ``force``: the error lists them."""
    if folder.exists() and not folder.is_dir():
        raise ScaffoldError(f"{folder}: exists and is not a folder")
    targets = {folder / relative: template for relative, template in FILES.items()}
    existing = [path for path in targets if path.exists()]
    if existing and not force:
        listed = ", ".join(str(path) for path in existing)
        raise ScaffoldError(f"{listed}: already there (nothing written; --force overwrites)")
    fields = project_for(folder, name)
    templates = resources.files(__package__) / "templates"
    written = []
    for path, template in targets.items():
        text = (templates / template).read_text(encoding="utf-8")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text.format(project=fields.project, thing=fields.thing),
                        encoding="utf-8")
        written.append(path)
    return written
