"""Where a group's Lambda modules are: ``<module>.py`` in the group file's folder.

A function's ``module: humidity_alert`` is the file ``humidity_alert.py`` next to the group
file (or in another code folder given explicitly: ``deploy --code-dir``). The simulated core
imports it from there and the deployment packages it from there, as Greengrass runs only what
the function's package holds; so a missing module is said at the group file's ``module:``
line before anything runs or is built.
"""

from __future__ import annotations

from pathlib import Path

from harness.group import Group, GroupError
from harness.yaml_files import Problem, did_you_mean, read_yaml_mapping

__all__ = ["module_problems"]


def module_problems(group_file: str | Path, group: Group, code_dir: str | Path | None = None
                    ) -> list[Problem]:
    """A problem at each ``functions.N.module`` whose ``<module>.py`` is not in ``code_dir``
    (default: the group file's folder), with the closest module there."""
    folder = Path(code_dir) if code_dir is not None else Path(group_file).parent
    missing = [(index, function.module) for index, function in enumerate(group.functions)
               if not (folder / f"{function.module}.py").is_file()]
    if not missing:
        return []
    _, lines, _ = read_yaml_mapping(group_file, "group", GroupError)
    try:
        present = sorted(path.stem for path in folder.glob("*.py"))
    except OSError:
        present = []
    return [Problem(str(group_file), lines.line(("functions", index, "module")),
                    f"functions.{index}.module",
                    f"no {module}.py in {folder}{did_you_mean(module, present)}: a Lambda's "
                    "module is found next to the group file")
            for index, module in missing]
