"""Check a request against the botocore service model before it is sent (or instead of it).

botocore's own :class:`botocore.validate.ParamValidator` is what a boto3 client runs on every
call: required members, unknown members, types, and *minimum* lengths and values. The AWS
service also enforces the model's maximum lengths and values, enums and patterns, which
botocore leaves to the server; a dry run would pass a request the service then rejects. So
:func:`validate_request` runs botocore's validator and then walks the same model for those
constraints too (and rejects ``True``/``False`` where an integer is expected, which Python's
``bool`` being an ``int`` lets through botocore).
"""

from __future__ import annotations

import re
from functools import cache
from typing import Any

import botocore.session
from botocore import xform_name
from botocore.model import OperationModel, ServiceModel, Shape
from botocore.validate import ParamValidator

__all__ = ["RequestInvalid", "operation_model", "validate_request"]


class RequestInvalid(ValueError):
    """A request the service model does not allow; ``problems`` lists each reason."""

    def __init__(self, service: str, operation: str, problems: list[str]) -> None:
        self.problems = problems
        joined = "\n  ".join(problems)
        super().__init__(f"{service}.{operation} request is invalid:\n  {joined}")


@cache
def _service_model(service: str) -> ServiceModel:
    return botocore.session.get_session().get_service_model(service)


def operation_model(service: str, operation: str) -> OperationModel:
    """The model of ``operation`` (boto3's snake_case name or the API's CamelCase one)."""
    model = _service_model(service)
    names = {xform_name(name): name for name in model.operation_names}
    return model.operation_model(names.get(operation, operation))


def validate_request(service: str, operation: str, params: dict[str, Any]) -> None:
    """Raise :class:`RequestInvalid` unless ``params`` is a valid ``operation`` request."""
    shape = operation_model(service, operation).input_shape
    problems: list[str] = []
    report = ParamValidator().validate(params, shape)
    if report.has_errors():
        problems.extend(report.generate_report().splitlines())
    _check_constraints(params, shape, "params", problems)
    if problems:
        raise RequestInvalid(service, operation, problems)


def _check_constraints(value: Any, shape: Shape | None, name: str, problems: list[str]) -> None:
    """The model's max, enum and pattern constraints (botocore checks the rest)."""
    if shape is None or value is None:
        return
    meta = shape.metadata
    kind = shape.type_name
    if kind == "structure" and isinstance(value, dict):
        for key, item in value.items():
            _check_constraints(item, shape.members.get(key), f"{name}.{key}", problems)
    elif kind == "list" and isinstance(value, list | tuple):
        _check_max(len(value), meta, name, "items", problems)
        for index, item in enumerate(value):
            _check_constraints(item, shape.member, f"{name}[{index}]", problems)
    elif kind == "map" and isinstance(value, dict):
        _check_max(len(value), meta, name, "entries", problems)
        for key, item in value.items():
            _check_constraints(key, shape.key, f"{name} (key {key!r})", problems)
            _check_constraints(item, shape.value, f"{name}.{key}", problems)
    elif kind == "string" and isinstance(value, str):
        _check_max(len(value), meta, name, "characters", problems)
        enum = getattr(shape, "enum", None)
        if enum and value not in enum:
            problems.append(f"{name}: {value!r} is not one of {', '.join(enum)}")
        pattern = meta.get("pattern")
        if pattern and re.search(pattern, value) is None:
            problems.append(f"{name}: {value!r} does not match the pattern {pattern!r}")
    elif kind in ("integer", "long", "double", "float"):
        if isinstance(value, bool):
            problems.append(f"{name}: {value!r} is a boolean, not a number")
        elif isinstance(value, int | float) and "max" in meta and value > meta["max"]:
            problems.append(f"{name}: {value!r} is above the maximum {meta['max']}")


def _check_max(size: int, meta: dict[str, Any], name: str, unit: str, problems: list[str]
               ) -> None:
    if "max" in meta and size > meta["max"]:
        problems.append(f"{name}: {size} {unit}, above the maximum {meta['max']}")
