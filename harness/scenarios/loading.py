"""Reading a scenario file: YAML composed into nodes so every problem names its line.

Reuses the group loader's machinery (:mod:`harness.group`): the node index of field paths to
lines, the duplicate-key check, the ``file:line: field.path: message`` problems and its
wording of pydantic errors.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Annotated, Any, get_args, get_origin

import yaml
from pydantic import BaseModel, ValidationError

from harness.group import Loc, Problem, _describe, _NodeIndex, _yaml_kind
from harness.scenarios.schema import Scenario


class ScenarioError(ValueError):
    """A scenario file that cannot be used; ``problems`` lists what is wrong, by line."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems = tuple(sorted(problems, key=lambda problem: problem.line))
        super().__init__("\n".join(str(problem) for problem in self.problems))


def load_scenario(path: str | Path) -> Scenario:
    """Read and validate a scenario file; :class:`ScenarioError` lists every problem."""
    file = str(path)
    text = Path(path).read_text(encoding="utf-8")
    loader = yaml.SafeLoader(text)
    try:
        node = loader.get_single_node()
        data = loader.construct_document(node) if node is not None else None
    except yaml.MarkedYAMLError as error:
        line = error.problem_mark.line + 1 if error.problem_mark else 1
        raise ScenarioError([Problem(file, line, "(yaml)", f"invalid YAML: {error.problem}")]
                            ) from None
    except yaml.YAMLError as error:
        raise ScenarioError([Problem(file, 1, "(yaml)", f"invalid YAML: {error}")]) from None
    finally:
        loader.dispose()

    index = _NodeIndex(node)
    problems = [Problem(file, line, _dotted(loc), text) for loc, line, text in index.duplicates]
    if not isinstance(data, dict):
        message = f"the file must hold a mapping of scenario fields, not {_yaml_kind(data)}"
        raise ScenarioError([*problems, Problem(file, index.root_line, "(scenario)", message)])
    try:
        scenario = Scenario.model_validate(data)
    except ValidationError as error:
        for detail in _relevant(error.errors()):
            loc = _clean(detail["loc"])
            problems.append(Problem(file, index.line(loc), _dotted(loc), _say(detail, loc)))
        raise ScenarioError(problems) from None
    if problems:
        raise ScenarioError(problems)
    return scenario


def _relevant(details: list[Any]) -> list[Any]:
    """For ``always`` (a text or a mapping) keep only the alternative the file meant: a
    mapping's problems without "must be 'version grows'", a text's without "must be a
    mapping"."""
    literal_at = {_clean(d["loc"]) for d in details if d["type"] == "literal_error"}
    return [d for d in details
            if not (d["type"] == "literal_error" and isinstance(d.get("input"), dict))
            and not (d["type"] == "model_type" and isinstance(d.get("input"), str)
                     and _clean(d["loc"]) in literal_at)]


def _clean(loc: Loc) -> Loc:
    """Drop the parts pydantic adds for union members and validators (not YAML keys)."""
    return tuple(part for part in loc
                 if not (isinstance(part, str) and (part.startswith(("literal[", "function-"))
                                                    or part in ("Check",))))


def _dotted(loc: Loc) -> str:
    return ".".join(str(part) for part in loc if part != "[key]") or "(scenario)"


def _say(detail: Any, loc: Loc) -> str:
    if detail["type"] == "extra_forbidden":
        model = _model_at(loc[:-1])
        allowed = f" (allowed here: {', '.join(model.model_fields)})" if model else ""
        return f"unknown field{allowed}"
    return _describe(detail)


def _model_at(loc: Loc) -> type[BaseModel] | None:
    """The model whose fields sit at ``loc`` in a scenario (through lists and optionals)."""
    annotation: Any = Scenario
    for part in loc:
        annotation = _unwrap(annotation)
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            field = annotation.model_fields.get(str(part))
            if field is None:
                return None
            annotation = field.annotation
        elif get_origin(annotation) is list:
            annotation = get_args(annotation)[0]
        else:
            return None
    annotation = _unwrap(annotation)
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    return None


def _unwrap(annotation: Any) -> Any:
    """``Annotated[X, ...]`` and ``X | None`` (and ``Literal | X``) to their model ``X``."""
    while True:
        if get_origin(annotation) is Annotated:
            annotation = get_args(annotation)[0]
            continue
        args = get_args(annotation)
        models = [arg for arg in args if isinstance(arg, type) and issubclass(arg, BaseModel)]
        lists = [arg for arg in args if get_origin(_strip(arg)) is list]
        if args and get_origin(annotation) is not list and (models or lists):
            annotation = models[0] if models else _strip(lists[0])
            continue
        return annotation


def _strip(annotation: Any) -> Any:
    while get_origin(annotation) is Annotated:
        annotation = get_args(annotation)[0]
    return annotation
