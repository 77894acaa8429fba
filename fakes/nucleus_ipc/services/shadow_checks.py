"""ShadowManager's checks of a shadow request, with its texts (``shared/specs/greengrass-v2-ipc.md``
§4.2), before the request reaches the Shadow model (:mod:`fakes.shadow`).

Read in aws-greengrass-shadow-manager 17fb54e: ``util/Validator``, ``util/JsonUtil``,
``model/ErrorMessage``, ``json/schema/update_payload_schema.json``. The schema is checked by
networknt json-schema-validator 1.0.52, whose messages (with the leading ``$.`` removed)
and order are reproduced here: the order is that of Java ``HashMap`` iteration over the
schema's keywords, which for this schema is ``type``, ``required``, ``properties``
(``clientToken``, ``state``, ``version``); inside ``state``: ``type``, ``properties``
(``desired``, ``reported``), ``anyOf``. Several messages are joined with ``". "``.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from typing import Any

import orjson

__all__ = [
    "MAX_DEPTH",
    "CheckFailed",
    "UpdateDocument",
    "check_names",
    "check_thing_name",
    "java_as_int",
    "read_update",
]

#: ShadowManager's ``DEFAULT_DOCUMENT_STATE_DEPTH`` (not configurable there).
MAX_DEPTH = 6
_NAME = re.compile(r"[a-zA-Z0-9:_-]+")
_PATTERN_TEXT = "[a-zA-Z0-9:_-]+"
_SECTIONS = ("desired", "reported")


class CheckFailed(Exception):
    """A request ShadowManager refuses with ``InvalidArgumentsError(message)`` (or, for
    ``code`` 500, ``ServiceError``); ``code`` is what its ``/rejected`` message carries."""

    def __init__(self, message: str, code: int = 400, client_token: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        #: the request's clientToken, once ShadowManager has read it (for ``/rejected``)
        self.client_token = client_token


def _java_length(text: str) -> int:
    """``String.length()``: UTF-16 code units."""
    return len(text.encode("utf-16-le")) // 2


def check_thing_name(thing: str | None) -> None:
    if not thing:
        raise CheckFailed("ThingName is missing")
    if _java_length(thing) > 128:
        raise CheckFailed("ThingName has a maximum length of 128")
    if not _NAME.fullmatch(thing):
        raise CheckFailed(f"ThingName must match pattern {_PATTERN_TEXT}")


def check_names(thing: str | None, shadow: str | None) -> None:
    """Thing name, then shadow name (empty or missing is the classic shadow)."""
    remember = type(thing) is str and (shadow is None or type(shadow) is str)
    if remember and (thing, shadow) in _GOOD_NAMES:
        return
    check_thing_name(thing)
    if shadow:
        if _java_length(shadow) > 64:
            raise CheckFailed("ShadowName has a maximum length of 64")
        if not _NAME.fullmatch(shadow):
            raise CheckFailed(f"ShadowName must match pattern {_PATTERN_TEXT}")
    if remember and len(_GOOD_NAMES) < 4096:
        _GOOD_NAMES.add((thing, shadow))  # type: ignore[arg-type]


#: (thing, shadow) pairs that passed :func:`check_names` (names repeat: one lookup then)
_GOOD_NAMES: set[tuple[str, str | None]] = set()


def java_as_int(value: int | float) -> int:
    """Jackson's ``asInt()`` of a number node: integers wrap to 32 bits, doubles are cast
    (truncated toward zero, saturated, NaN is 0)."""
    if isinstance(value, float):
        if math.isnan(value):
            return 0
        return max(-(2**31), min(2**31 - 1, int(value)))
    return (value + 2**31) % 2**32 - 2**31


def _kind(value: Any) -> str:
    """networknt's name for a JSON value's type."""
    if isinstance(value, dict):
        return "object"
    if isinstance(value, list):
        return "array"
    if isinstance(value, str):
        return "string"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    return "null"


def schema_errors(document: Any) -> list[str]:
    """The schema validator's messages for an update document (empty when valid)."""
    if not isinstance(document, dict):
        return [f"$: {_kind(document)} found, object expected"]
    errors: list[str] = []
    if "state" not in document:
        errors.append("state: is missing but it is required")
    if "clientToken" in document:
        token = document["clientToken"]
        if not isinstance(token, str):
            errors.append(f"clientToken: {_kind(token)} found, string expected")
        elif len(token) > 64:  # code points
            errors.append("clientToken: may only be 64 characters long")
    if "state" in document:
        errors.extend(_state_errors(document["state"]))
    if "version" in document:
        version = document["version"]
        if isinstance(version, bool) or not isinstance(version, (int, float)):
            errors.append(f"version: {_kind(version)} found, number expected")
        elif version < 0:
            errors.append("version: must have a minimum value of 0")
    return errors


def _state_errors(state: Any) -> list[str]:
    if state is not None and not isinstance(state, dict):
        return [f"state: {_kind(state)} found, but [object, null] is required"]
    if state is None:
        return []
    errors = [
        f"state.{section}: {_kind(state[section])} found, but [object, null] is required"
        for section in _SECTIONS
        if section in state and state[section] is not None and not isinstance(state[section], dict)
    ]
    extra = [key for key in state if not key.startswith("#")]
    if "reported" not in state and "desired" not in state and extra:
        # anyOf: required "reported", required "desired", no additional properties
        errors.append("state.reported: is missing but it is required")
        errors.append("state.desired: is missing but it is required")
        errors.extend(
            f"state.{key}: is not defined in the schema and the schema does not allow "
            "additional properties"
            for key in extra
        )
    return errors


def _too_deep(node: Any, depth: int) -> bool:
    """``JsonUtil.calculateDepth``: empty containers and scalars are no level."""
    if not isinstance(node, (dict, list)) or not node:
        return False
    if depth > MAX_DEPTH:
        return True
    children = node.values() if isinstance(node, dict) else node
    return any(_too_deep(child, depth + 1) for child in children)


def _no_constants(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


#: orjson reads integers of more than 64 bits as floats; a payload that may hold one is read
#: by the standard library, which keeps them exact (as Jackson does).
_LONG_DIGITS = re.compile(rb"[0-9]{19}")


def _loads(payload: bytes) -> Any:
    if not _LONG_DIGITS.search(payload):
        try:
            return orjson.loads(payload)
        except orjson.JSONDecodeError:
            pass  # the standard library gives the error text, and reads UTF-16/32 as Jackson does
    return json.loads(payload, parse_constant=_no_constants)


@dataclass(frozen=True, slots=True)
class UpdateDocument:
    """An update request as ShadowManager has read it."""

    #: the request's ``state`` with ``delta`` dropped (``None`` for ``"state": null``);
    #: it may hold other members next to ``desired``/``reported``, which the schema allows
    state: dict[str, Any] | None
    client_token: str | None
    #: ``version`` as ShadowManager compares it (``asInt()``), when the request has one
    version: int | None


def read_update(payload: bytes) -> UpdateDocument:
    """Parse and check an UpdateThingShadow payload up to (not including) the version
    comparison, which needs the stored shadow. Raises :class:`CheckFailed`."""
    try:
        document = _loads(payload)
    except (ValueError, RecursionError) as error:
        # Jackson's parse failure is an IOException, which the handler turns into a
        # ServiceError carrying Jackson's text. The text here is Python's. [unverified]
        raise CheckFailed(f"Invalid JSON payload: {error}", code=500) from None
    if document is None or document == {}:
        raise CheckFailed("Invalid JSON: ")
    if isinstance(document, dict) and isinstance(document.get("state"), dict):
        document["state"].pop("delta", None)
    errors = schema_errors(document)
    if errors:
        raise CheckFailed("Invalid JSON: " + ". ".join(errors))
    state = document["state"]
    token = document.get("clientToken")
    if (
        state is not None
        # Each level needs an opening bracket (in every encoding JSON may come in), and the
        # request object and "state" take two: a payload with few cannot be too deep.
        and payload.count(b"{") + payload.count(b"[") > MAX_DEPTH + 2
        and (_too_deep(state.get("reported"), 1) or _too_deep(state.get("desired"), 1))
    ):
        raise CheckFailed(
            f"JSON contains too many levels of nesting; maximum is {MAX_DEPTH}", client_token=token
        )
    version = document.get("version")
    return UpdateDocument(state, token, None if version is None else java_as_int(version))
