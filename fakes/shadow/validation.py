"""Checks a request must pass before the Shadow service looks at the stored document.

Order: names, encoding (415), JSON, ``clientToken``, ``version``, ``state`` and its sections,
nesting depth, arrays holding ``null``. The version conflict (409) and the state size (413)
need the stored document and are checked by the service.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any, NamedTuple

from fakes.shadow import document, errors, strict_json
from fakes.shadow.config import ShadowConfig
from fakes.shadow.errors import ShadowRejection

#: The iot-data API model's name patterns and lengths.
THING_NAME_PATTERN, THING_NAME_MAX = "[a-zA-Z0-9:_-]+", 128
SHADOW_NAME_PATTERN, SHADOW_NAME_MAX = "[$a-zA-Z0-9:_-]+", 64
SECTIONS = ("desired", "reported")

#: Marks a request whose ``state`` is ``null``: clear both sections.
CLEAR = None


class UpdateRequest(NamedTuple):
    """A checked update: ``state`` is ``None`` for ``"state": null`` (clear), otherwise a
    dict holding only ``desired`` and/or ``reported`` (each a dict or ``None``)."""

    state: dict[str, Any] | None
    client_token: str | None
    version: int | None


def _check_name(name: str, field: str, pattern: str, longest: int) -> None:
    if len(name) > longest:
        raise ShadowRejection(400, errors.name_too_long(field, longest))
    if not re.fullmatch(pattern, name):
        raise ShadowRejection(400, errors.name_pattern(field, pattern))


@lru_cache(maxsize=4096)
def check_names(thing: str, shadow: str | None) -> None:
    """Thing name first, then shadow name (``None`` is the classic shadow)."""
    _check_name(thing, "ThingName", THING_NAME_PATTERN, THING_NAME_MAX)
    if shadow is not None:
        _check_name(shadow, "ShadowName", SHADOW_NAME_PATTERN, SHADOW_NAME_MAX)


def decode(payload: bytes, config: ShadowConfig | None = None) -> Any:
    """Bytes to a JSON value: 415 for non-UTF-8, 400 for anything that is not JSON the
    service reads (see :mod:`fakes.shadow.strict_json`)."""
    config = config or _DEFAULTS
    return strict_json.decode(payload, config.max_depth, config.max_number_length)


_DEFAULTS = ShadowConfig()


def client_token_of(request: Any, config: ShadowConfig) -> str | None:
    """The request's ``clientToken`` when present and valid; 400 when present and invalid."""
    if not isinstance(request, dict) or "clientToken" not in request:
        return None
    token = request["clientToken"]
    if not isinstance(token, str) or len(token.encode("utf-8")) > config.max_client_token_bytes:
        raise ShadowRejection(400, errors.INVALID_CLIENT_TOKEN)
    return token


def echo_token(payload: bytes, config: ShadowConfig) -> str | None:
    """Best effort: the valid ``clientToken`` of a payload, for echoing in a rejection."""
    if not payload:
        return None  # an empty payload is no JSON (most GET and DELETE requests)
    try:
        return client_token_of(decode(payload, config), config)
    except ShadowRejection:
        return None


def _nesting_bound(payload: bytes) -> int:
    """An upper bound of the depth of ``desired``/``reported`` in a request: every level
    needs an opening bracket, and the request object and ``state`` use two of them."""
    return payload.count(b"{") + payload.count(b"[") - 2


def check_update(payload: bytes, config: ShadowConfig) -> UpdateRequest:
    """Parse and check an update request document."""
    request = decode(payload, config)
    if not isinstance(request, dict):
        raise ShadowRejection(400, errors.INVALID_JSON)
    token = client_token_of(request, config)

    version = request.get("version")
    if "version" in request and (
        type(version) is not int or version < 0  # bool, float, string, null are invalid
    ):
        raise ShadowRejection(400, errors.INVALID_VERSION)

    if "state" not in request:
        raise ShadowRejection(400, errors.MISSING_STATE)
    state = request["state"]
    if state is None:
        return UpdateRequest(CLEAR, token, version)
    if not isinstance(state, dict):
        raise ShadowRejection(400, errors.STATE_NOT_OBJECT)
    for node in state:
        if node not in SECTIONS:
            raise ShadowRejection(400, errors.invalid_node(node))
    for section, message in (
        ("desired", errors.DESIRED_NOT_OBJECT),
        ("reported", errors.REPORTED_NOT_OBJECT),
    ):
        if section in state and not isinstance(state[section], (dict, type(None))):
            raise ShadowRejection(400, message)
    if _nesting_bound(payload) <= config.max_depth and b"[" not in payload:
        return UpdateRequest(state, token, version)  # too flat to be too deep, no arrays
    null_in_array = False
    for section in SECTIONS:
        levels, nulls = document.measure(state.get(section), config.max_depth)
        if levels > config.max_depth:
            raise ShadowRejection(400, errors.too_deep(config.max_depth))
        null_in_array = null_in_array or nulls
    if null_in_array:
        raise ShadowRejection(400, config.array_with_null_message)
    return UpdateRequest(state, token, version)
