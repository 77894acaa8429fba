"""Request bytes to JSON values, read as strictly as the Shadow service reads them.

Two readers, one set of answers. orjson is fast and reads nearly every request. A small
reader of our own, which keeps no Python recursion however deep the document, takes what
orjson cannot read faithfully (integers beyond 64 bits, which orjson turns into floats) and
decides every payload orjson refuses, so whether a payload is refused, and why, never depends
on which reader saw it.

What both readers hold to (AWS documents only the answers, not the edge cases; the choices
marked [unverified] are the ones most consistent with what it does document):

* UTF-8 only (else 415); RFC 8259 grammar: no ``NaN``/``Infinity``, comments, trailing
  commas, byte order mark or control characters in strings (else ``Invalid JSON``).
* A ``\\u`` escape of a surrogate that is not half of a pair is ``Invalid JSON``: the text
  it stands for has no UTF-8 form, and AWS answers non-UTF-8 requests with 415. [unverified]
* A number beyond a double's range (``1e400``) is ``Invalid JSON``: stored, it could only be
  served as ``Infinity`` (not JSON) or ``null`` (not what was sent). [unverified]
* Integers stay exact at any size; a number written with more than
  :attr:`ShadowConfig.max_number_length <fakes.shadow.config.ShadowConfig.max_number_length>`
  characters is ``Invalid JSON``. [unverified]
* A valid document nested deeper than :data:`MAX_PARSE_DEPTH` levels anywhere (not only in
  ``desired``/``reported``) gets the nesting error. [unverified: AWS's own reader surely
  stops somewhere; 1,024 is where orjson stops]
"""

from __future__ import annotations

import json
import math
import re
from functools import lru_cache
from typing import Any

import orjson

from fakes.shadow import errors
from fakes.shadow.errors import ShadowRejection

#: Deepest nesting (objects and arrays, anywhere in the request) that is read at all.
MAX_PARSE_DEPTH = 1024

_TOKEN = re.compile(
    r"""[ \t\n\r]*(?:
      (?P<string>"(?:[^"\\\x00-\x1f]|\\["\\/bfnrt]|\\u[0-9a-fA-F]{4})*")
    | (?P<number>-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][-+]?[0-9]+)?)
    | (?P<literal>true|false|null)
    | (?P<mark>[][{}:,])
    )""",
    re.VERBOSE,
)
_SPACE = re.compile(r"[ \t\n\r]*")
_SURROGATE = re.compile("[\ud800-\udfff]")
_LITERALS = {"true": True, "false": False, "null": None}

# What the reader expects next.
_VALUE, _FIRST_ITEM, _FIRST_KEY, _KEY, _COLON, _AFTER = range(6)


class NotJSON(ValueError):
    """The text is not a JSON document the Shadow service accepts."""


class TooDeep(ValueError):
    """The text is valid JSON nested deeper than :data:`MAX_PARSE_DEPTH`."""


def decode(payload: bytes, max_depth: int = 6, max_number_length: int = 1000) -> Any:
    """A request payload as a JSON value; 415 for non-UTF-8, 400 ``Invalid JSON`` for
    anything else unreadable, 400 with the nesting message (naming ``max_depth``) for a
    document deeper than :data:`MAX_PARSE_DEPTH`."""
    if not _long_digits(max_number_length).search(payload):
        try:
            return orjson.loads(payload)
        except orjson.JSONDecodeError:
            pass  # our reader decides why (or reads what orjson will not nest so deep)
    try:
        text = payload.decode("utf-8")
    except UnicodeDecodeError:
        raise ShadowRejection(415, errors.UNSUPPORTED_ENCODING) from None
    try:
        return parse(text, max_number_length)
    except TooDeep:
        raise ShadowRejection(400, errors.too_deep(max_depth)) from None
    except NotJSON:
        raise ShadowRejection(400, errors.INVALID_JSON) from None


@lru_cache(maxsize=16)
def _long_digits(max_number_length: int) -> re.Pattern[bytes]:
    """A run of digits that may belong to a number orjson would read wrongly: an integer of
    19 digits or more (orjson turns integers beyond 64 bits into floats), or a number too
    long to accept (its at most three digit runs hold all but four of its characters)."""
    run = min(19, max(1, (max_number_length - 3) // 3))
    return re.compile(rb"[0-9]{%d}" % run)


def parse(text: str, max_number_length: int = 1000) -> Any:
    """Read one JSON document from ``text`` without recursion (see the module's rules).

    Raises :class:`NotJSON`, or :class:`TooDeep` for a valid document nested deeper than
    :data:`MAX_PARSE_DEPTH` (checked after the whole text is known to be valid).
    """
    open_: list[Any] = []  # containers being filled, outermost first
    keys: list[str] = []  # for each open object, the key awaiting its value
    expect, pos, deepest, result = _VALUE, 0, 0, None
    match = _TOKEN.match
    while True:
        token = match(text, pos)
        if token is None:
            if expect == _AFTER and not open_ and _SPACE.match(text, pos).end() == len(text):
                if deepest > MAX_PARSE_DEPTH:
                    raise TooDeep(f"nested {deepest} levels deep")
                return result
            raise NotJSON(f"unexpected text at character {pos}")
        pos, kind = token.end(), token.lastgroup
        value = token.group(kind)  # type: ignore[arg-type]

        if expect == _AFTER:
            if not open_:
                raise NotJSON(f"extra data at character {token.start(kind)}")
            top = open_[-1]
            if value == ",":
                expect = _KEY if type(top) is dict else _VALUE
                continue
            if value != ("}" if type(top) is dict else "]"):
                raise NotJSON(f"expected ',' or a closing bracket at character {pos - 1}")
            _close(open_, keys)
            continue
        if expect == _COLON:
            if value != ":":
                raise NotJSON(f"expected ':' at character {pos - 1}")
            expect = _VALUE
            continue
        if expect in (_FIRST_KEY, _KEY):
            if expect == _FIRST_KEY and value == "}":
                _close(open_, keys)
                expect = _AFTER
            elif kind == "string":
                keys[-1] = _string(value)
                expect = _COLON
            else:
                raise NotJSON(f"expected an object key at character {token.start(kind)}")
            continue

        # a value (or, right after '[', the end of an empty array)
        if kind == "mark":
            if value == "]" and expect == _FIRST_ITEM:
                _close(open_, keys)
                expect = _AFTER
                continue
            if value not in ("{", "["):
                raise NotJSON(f"expected a value at character {pos - 1}")
            container: Any = {} if value == "{" else []
            result = _place(open_, keys, container, result)
            open_.append(container)
            if value == "{":
                keys.append("")
                expect = _FIRST_KEY
            else:
                expect = _FIRST_ITEM
            deepest = max(deepest, len(open_))
            continue
        if kind == "string":
            scalar: Any = _string(value)
        elif kind == "number":
            scalar = _number(value, max_number_length)
        else:
            scalar = _LITERALS[value]
        result = _place(open_, keys, scalar, result)
        expect = _AFTER


def _place(open_: list[Any], keys: list[str], value: Any, result: Any) -> Any:
    """Put ``value`` into the innermost open container; return the document's root."""
    if not open_:
        return value
    top = open_[-1]
    if type(top) is dict:
        top[keys[-1]] = value  # a repeated key keeps its first place and its last value
    else:
        top.append(value)
    return result


def _close(open_: list[Any], keys: list[str]) -> None:
    if type(open_.pop()) is dict:
        keys.pop()


def _string(token: str) -> str:
    if "\\" not in token:
        return token[1:-1]
    value: str = json.loads(token)
    if _SURROGATE.search(value):  # escapes of paired surrogates were joined into one char
        raise NotJSON("a \\u escape of an unpaired surrogate")
    return value


def _number(token: str, max_number_length: int) -> int | float:
    if len(token) > max_number_length:
        raise NotJSON(f"a number of {len(token)} characters")
    if token.isdigit() or (token[0] == "-" and token[1:].isdigit()):
        try:
            return int(token)
        except ValueError:  # beyond the interpreter's int-string limit
            raise NotJSON(f"a number of {len(token)} characters") from None
    number = float(token)
    if not math.isfinite(number):
        raise NotJSON(f"{token} is beyond a double's range")
    return number
