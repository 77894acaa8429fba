"""The types of a scenario's fields, each with the limit it is held to.

Times are finite seconds from 0 to :data:`~harness.limits.MAX_DURATION_S` (a week); counts
are whole numbers below :data:`~harness.limits.MAX_COUNT`; names follow AWS IoT's rules for
thing names and Lambda's for function names; topics are MQTT topic names as AWS IoT takes
them; payloads, desired states and compared values are what JSON can hold (text keys, finite
numbers) within the 128 KiB an MQTT message may carry. The limits themselves are in
:mod:`harness.limits`; :mod:`harness.scenarios.bounds` checks the ones that span fields
(steps, readings and messages of a whole run).
"""

from __future__ import annotations

import base64
import functools
import json
import math
import re
from typing import Annotated, Any

from pydantic import AfterValidator, Field, WithJsonSchema
from pydantic_core import PydanticCustomError

from fakes.shadow.validation import SHADOW_NAME_MAX, SHADOW_NAME_PATTERN
from harness.group import _RULE as RULE
from harness.group import FunctionName, ThingName, _named, _rule_error, topic_filter_problem
from harness.limits import (
    CPU_TEMPERATURE_RANGE_C,
    MAX_COUNT,
    MAX_DURATION_S,
    MAX_ERRNO,
    MAX_MESSAGES,
    MAX_PAYLOAD_BYTES,
    MAX_SEED,
    MAX_SELF_HEATING_C,
    MAX_STALLED_INVOCATIONS,
    MAX_TEXT,
    MIN_PERIOD_S,
    MIN_STEP_S,
)

__all__ = [
    "Base64Bytes", "CpuTemperature", "DottedPath", "Duration", "Errno", "FunctionName",
    "HexBytes", "Hours", "Invocations", "JsonValue", "LogSource", "NonNegativeCount", "Payload",
    "PayloadLength", "Period", "PublishSource", "Regex", "Repeat", "Seconds", "Seed",
    "SelfHeatingOffset", "ShadowName", "ShadowState", "SignedSeconds", "Step", "Text",
    "ThingName", "TopicName", "Transactions", "Window", "compiled", "decode_bytes",
    "json_problem",
]

_WEEK = f"at most {MAX_DURATION_S:g} s (a week)"

Seconds = Annotated[float, Field(ge=0, le=MAX_DURATION_S,
                                 description=f"seconds of scenario time, 0 to {_WEEK}")]
SignedSeconds = Annotated[float, Field(ge=-MAX_DURATION_S, le=MAX_DURATION_S,
                                       description="seconds before (negative) or after the "
                                                   f"scenario's start, {_WEEK} either way")]
Window = Annotated[float, Field(ge=MIN_STEP_S, le=MAX_DURATION_S,
                                description=f"seconds, {MIN_STEP_S:g} s to {_WEEK}")]
Duration = Annotated[float, Field(gt=0, le=MAX_DURATION_S,
                                  description=f"seconds of simulated time, {_WEEK}")]
Step = Annotated[float, Field(ge=MIN_STEP_S, le=MAX_DURATION_S,
                              description=f"seconds between checks, {MIN_STEP_S:g} s or more; "
                                          "duration / step at most harness.limits.MAX_STOPS")]
Period = Annotated[float, Field(ge=MIN_PERIOD_S, le=MAX_DURATION_S,
                                description=f"seconds between readings, {MIN_PERIOD_S:g} s or "
                                            "more; duration / period at most "
                                            "harness.limits.MAX_READINGS")]
Hours = Annotated[float, Field(ge=1 / 3600, le=MAX_DURATION_S / 3600,
                               description="hours, from one second (1/3600) to a week")]
CpuTemperature = Annotated[float, Field(ge=CPU_TEMPERATURE_RANGE_C[0],
                                        le=CPU_TEMPERATURE_RANGE_C[1],
                                        description="degrees C, -40 to 125")]
SelfHeatingOffset = Annotated[float, Field(ge=-MAX_SELF_HEATING_C, le=MAX_SELF_HEATING_C,
                                           description="degrees C, -125 to 125")]
Seed = Annotated[int, Field(ge=0, le=MAX_SEED, description="0 to 2**32 - 1")]
Repeat = Annotated[int, Field(ge=1, le=MAX_MESSAGES,
                              description=f"1 to {MAX_MESSAGES:,}; all stimuli together "
                                          f"publish at most {MAX_MESSAGES:,} messages")]
Invocations = Annotated[int, Field(ge=1, le=MAX_STALLED_INVOCATIONS,
                                   description=f"1 to {MAX_STALLED_INVOCATIONS:,}")]
Transactions = Annotated[int, Field(ge=1, le=MAX_COUNT, description=f"1 to {MAX_COUNT:,}")]
PayloadLength = Annotated[int, Field(ge=0, le=MAX_PAYLOAD_BYTES,
                                     description=f"bytes, 0 to {MAX_PAYLOAD_BYTES:,}")]
NonNegativeCount = Annotated[int, Field(ge=0, le=MAX_COUNT, description=f"0 to {MAX_COUNT:,}")]
Errno = Annotated[int, Field(ge=1, le=MAX_ERRNO, description=f"a Linux errno, 1 to {MAX_ERRNO}")]
_CONTROL = re.compile("[\x00-\x08\x0a-\x1f\x7f-\x9f]")


def _check_text(value: str) -> str:
    found = _CONTROL.search(value)
    if found:
        raise _rule_error(f"holds the control character U+{ord(found.group()):04X} (at "
                          f"{found.start() + 1}): text here is one line, without terminal "
                          "codes")
    return value


Text = Annotated[str, Field(max_length=MAX_TEXT), AfterValidator(_check_text),
                 WithJsonSchema({"type": "string", "maxLength": MAX_TEXT,
                                 "description": f"one line of at most {MAX_TEXT:,} characters"})]
#: A dotted path into a JSON document (``state.reported.temperature``).
DottedPath = Annotated[str, Field(min_length=1, max_length=MAX_TEXT), AfterValidator(_check_text),
                       WithJsonSchema({"type": "string", "minLength": 1, "maxLength": MAX_TEXT,
                                       "description": "a dotted path: state.reported.x"})]


#: A named shadow's name, as the Shadow service takes it (the classic shadow has none).
ShadowName = _named(f"{SHADOW_NAME_PATTERN[:-1]}{{1,{SHADOW_NAME_MAX}}}", "shadow name",
                    f"1-{SHADOW_NAME_MAX} letters, digits, ':', '_', '-', '$'")


@functools.lru_cache(maxsize=1024)
def compiled(pattern: str) -> re.Pattern[str]:
    """``pattern`` compiled (once): a ``matches:`` condition's regular expression."""
    return re.compile(pattern)


def _check_regex(value: str) -> str:
    try:
        compiled(value)
    except re.error as error:
        where = f" at position {error.pos}" if error.pos is not None else ""
        raise _rule_error(f"{_cut(value)} is not a regular expression: {error.msg}{where} "
                          "(Python's re syntax)") from None
    return value


#: A regular expression (Python's ``re``), compiled when the file is loaded.
Regex = Annotated[str, Field(min_length=1, max_length=MAX_TEXT), AfterValidator(_check_text),
                  AfterValidator(_check_regex),
                  WithJsonSchema({"type": "string", "minLength": 1, "maxLength": MAX_TEXT,
                                  "description": "a regular expression (Python's re), searched "
                                                 "for in the value: anchor it with ^...$"})]


# ---------------------------------------------------------------- bytes


def decode_bytes(value: str, encoding: str) -> bytes:
    """The bytes a ``hex`` (pairs of hex digits, spaces between bytes allowed) or
    ``base64`` (standard alphabet, padded) text stands for; ValueError when it is not."""
    if encoding == "hex":
        return bytes.fromhex(value)
    return base64.b64decode(value.encode("ascii"), validate=True)


def _bytes_text(encoding: str) -> Any:
    def check(value: str) -> str:
        try:
            data = decode_bytes(value, encoding)
        except (ValueError, UnicodeEncodeError) as error:
            shape = ("pairs of hex digits (00 to ff), spaces allowed between bytes"
                     if encoding == "hex" else "base64 (A-Z a-z 0-9 + /, padded with =)")
            raise _rule_error(f"{_cut(value)} is not {encoding}: {shape} ({error})") from None
        if len(data) > MAX_PAYLOAD_BYTES:
            raise _rule_error(f"is {len(data):,} bytes; an MQTT message carries at most "
                              f"{MAX_PAYLOAD_BYTES:,} (128 KiB)")
        return value
    return AfterValidator(check)


_BYTES_TEXT = 4 * MAX_PAYLOAD_BYTES  # hex with spaces: three characters a byte
HexBytes = Annotated[str, Field(max_length=_BYTES_TEXT), _bytes_text("hex"), WithJsonSchema(
    {"type": "string", "maxLength": _BYTES_TEXT,
     "description": "bytes as hex digits (\"00ff10\" or \"00 ff 10\"), at most 128 KiB"})]
Base64Bytes = Annotated[str, Field(max_length=_BYTES_TEXT), _bytes_text("base64"),
                        WithJsonSchema({"type": "string", "maxLength": _BYTES_TEXT,
                                        "description": "bytes in base64, at most 128 KiB"})]


# ---------------------------------------------------------------- topics and endpoints


def _check_topic_name(value: str) -> str:
    if "+" in value or "#" in value:
        raise _rule_error(f"{_cut(value)} is not a topic name: '+' and '#' are wildcards, for "
                          "subscriptions only (a message's topic is matched exactly)")
    problem = topic_filter_problem(value)
    if problem:
        raise _rule_error(problem if len(value) <= 60 else problem.replace(value, _cut(value)))
    return value


TopicName = Annotated[str, AfterValidator(_check_topic_name), WithJsonSchema(
    {"type": "string", "minLength": 1, "maxLength": 256,
     "description": "an MQTT topic name: no wildcards, at most 256 bytes and 7 '/'"})]

_THING = re.compile(r"[A-Za-z0-9:_-]{1,128}")
_FUNCTION = re.compile(r"[A-Za-z0-9_-]{1,64}")


def _check_source(value: str) -> str:
    kind, _, name = value.partition(":")
    if value in ("cloud", "GGShadowService") or (kind == "device" and _THING.fullmatch(name)) \
            or (kind == "function" and _FUNCTION.fullmatch(name)) or _THING.fullmatch(value):
        return value
    raise _rule_error(f"{_cut(value)} is not a source: use a thing name, 'device:<thing>', "
                      "'function:<name>' or 'cloud'")


PublishSource = Annotated[str, AfterValidator(_check_source), WithJsonSchema(
    {"type": "string", "description": "a thing name, device:<thing>, function:<name> or cloud"})]


def _check_log_source(value: str) -> str:
    kind, colon, name = value.partition(":")
    if value == "system" or (kind == "device" and _THING.fullmatch(name)) \
            or (not colon and _FUNCTION.fullmatch(value)):
        return value
    raise _rule_error(f"{_cut(value)} is not a log: use a function name, 'device:<thing>' or "
                      "'system'")


LogSource = Annotated[str, AfterValidator(_check_log_source), WithJsonSchema(
    {"type": "string", "description": "a function name, device:<thing> or system"})]


# ---------------------------------------------------------------- JSON values


def json_problem(value: Any) -> tuple[tuple[str, ...], str] | None:
    """What keeps ``value`` from being JSON (a mapping with keys that are not text, a number
    that is not finite, a value of another kind) and where in it (the keys and positions
    down to it); None when it is JSON."""
    stack: list[tuple[Any, tuple[str, ...]]] = [(value, ())]
    while stack:
        item, where = stack.pop()
        if isinstance(item, dict):
            for key, inner in item.items():
                if not isinstance(key, str):
                    return where, (f"the key {_cut(key)} is not text: JSON keys are text, put "
                                   "it in quotes")
                stack.append((inner, (*where, key)))
        elif isinstance(item, list):
            stack.extend((inner, (*where, str(index))) for index, inner in enumerate(item))
        elif isinstance(item, float) and not math.isfinite(item):
            return where, (f"{item!r} is not a JSON number (JSON has no NaN or infinity; to "
                           "send such text as it is, write the whole payload as a string)")
        elif not (item is None or isinstance(item, bool | int | float | str)):
            return where, f"{type(item).__name__} is not a JSON value"
    return None


def _check_json(value: Any) -> Any:
    found = json_problem(value)
    if found:
        where, message = found
        # "inner" takes the problem down to its own key (the loader adds it to the field's
        # path, so the line is the key's)
        raise PydanticCustomError(RULE, message, {"inner": ".".join(where)})
    return value


def _encoded_size(value: Any) -> int:
    if isinstance(value, str):
        return len(value.encode("utf-8", errors="surrogatepass"))
    return len(json.dumps(value, separators=(",", ":")).encode())


def _check_payload(value: Any) -> Any:
    _check_json(value)
    size = _encoded_size(value)
    if size > MAX_PAYLOAD_BYTES:
        raise _rule_error(f"is {size:,} bytes encoded; an MQTT message carries at most "
                          f"{MAX_PAYLOAD_BYTES:,} (128 KiB, the broker's and AWS IoT's limit)")
    return value


JsonValue = Annotated[Any, AfterValidator(_check_json), WithJsonSchema(
    {"description": "any JSON value (text keys, finite numbers)"})]
Payload = Annotated[Any, AfterValidator(_check_payload), WithJsonSchema(
    {"description": "a JSON value, sent as JSON, or a string, sent as it is; at most 128 KiB "
                    "encoded"})]
ShadowState = Annotated[dict[str, Any], AfterValidator(_check_payload), WithJsonSchema(
    {"type": "object", "description": "a JSON object, at most 128 KiB encoded"})]


def _cut(value: Any) -> str:
    shown = repr(value)
    return shown if len(shown) <= 60 else shown[:57] + "..."
