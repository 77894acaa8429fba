"""Expectations in words: the ``label`` of an expectation that uses the richer forms of the
scenario language (windows, ``never`` with a check, conditions, named shadows, payload bytes,
counts per window), so a report shows a sentence, not the expectation's JSON.

``always from 60 s to 300 s: weather-station's Shadow has state.reported.temperature at
least 10 and below 30``; ``messages on bme680/readings: at least 1 in every 60 s``.
"""

from __future__ import annotations

import json
import math
from typing import Any

from harness.scenarios.schema import (
    VERSION_GROWS,
    Check,
    Condition,
    Count,
    Expectation,
    MessagesCheck,
    PayloadBytes,
    ShadowCheck,
    SinceStart,
)

#: The tests only the richer conditions use (the older shadow checks had equals, approx,
#: present and absent; where had equals).
_RICHER_TESTS = frozenset({"gt", "ge", "lt", "le", "contains", "matches", "is_null",
                           "within_seconds_of_now", "after_start"})
_OLDER_NEVER = frozenset({"thing", "shadow_path", "is_null", "equals"})


def _richer_condition(condition: Condition) -> bool:
    tests = set(condition.tests)
    return bool(tests & _RICHER_TESTS) or len(tests) > 1 \
        or isinstance(condition.approx, SinceStart)


def _richer_check(check: Check | None) -> bool:
    if check is None:
        return False
    if check.shadow is not None:
        return check.shadow.name is not None or _richer_condition(check.shadow)
    if check.messages is not None:
        messages = check.messages
        return messages.payload is not None or messages.per is not None or (
            messages.where is not None and (len(messages.where) > 1 or any(
                _richer_condition(condition) for condition in messages.where)))
    return False


def is_richer(expectation: Expectation) -> bool:
    """Whether ``expectation`` uses a form of the richer language (see module doc)."""
    if expectation.until is not None:
        return True
    if expectation.never is not None:
        return not expectation.never.model_fields_set <= _OLDER_NEVER
    if isinstance(expectation.always, Check):
        return expectation.after is not None or _richer_check(expectation.always)
    if expectation.monotonic is not None:
        return expectation.monotonic.name is not None
    return _richer_check(expectation.check)


def _messages_dumps(dumped: dict[str, Any]) -> list[dict[str, Any]]:
    """The ``messages`` checks of a dumped expectation (bare, in ``always`` or ``never``)."""
    found = [dumped.get("messages")]
    for key in ("always", "never"):
        if isinstance(dumped.get(key), dict):
            found.append(dumped[key].get("messages"))
    return [each for each in found if isinstance(each, dict)]


def older_label(expectation: Expectation) -> str:
    """The label of an expectation in the older forms: its JSON, as written (a single
    ``where`` condition as the mapping it was)."""
    dumped = expectation.model_dump(exclude_unset=True, exclude_none=True)
    for messages in _messages_dumps(dumped):
        where = messages.get("where")
        if isinstance(where, list) and len(where) == 1:
            messages["where"] = where[0]
    return json.dumps(dumped, default=str)


def _number(value: float) -> str:
    return f"{value:g}"


def _bound(bound: float | SinceStart) -> str:
    if isinstance(bound, SinceStart):
        s = bound.since_start
        return f"the core clock's time {_number(abs(s))} s {'before' if s < 0 else 'into'} " \
               "the scenario" if s else "the core clock's time at the scenario's start"
    return _number(bound)


def _json(value: Any) -> str:
    return json.dumps(value, sort_keys=True)


def condition_words(condition: Condition) -> str:
    """``<path> <tests>``, e.g. ``state.reported.x at least 10 and below 30``."""
    words: list[str] = []
    for test in condition.tests:
        value = getattr(condition, test)
        if test == "equals":
            words.append(f"equal to {_json(value)}")
        elif test == "approx":
            words.append(f"within {_number(condition.tolerance)} of {_bound(value)}")
        elif test in ("gt", "ge", "lt", "le"):
            words.append({"gt": "above", "ge": "at least", "lt": "below",
                          "le": "at most"}[test] + " " + _bound(value))
        elif test == "contains":
            words.append(f"containing {_json(value)}")
        elif test == "matches":
            words.append(f"matching /{value}/")
        elif test == "is_null":
            words.append("missing or null")
        elif test == "present":
            words.append("present")
        elif test == "absent":
            words.append("absent")
        elif test == "within_seconds_of_now":
            words.append(f"a time within {_number(value)} s of now (the core's clock)")
        else:
            words.append("a time not before the scenario's start (the core's clock)")
    return f"{condition.path} {' and '.join(words)}"


def _shadow_words(check: ShadowCheck) -> str:
    which = f"named shadow {check.name!r}" if check.name else "Shadow"
    side = " in the cloud" if check.side == "cloud" else ""
    return f"{check.thing}'s {which}{side} has {condition_words(check)}"


def _count_words(count: int | Count) -> str:
    if isinstance(count, int):
        return f"exactly {count}"
    if count.min is not None and count.max is not None:
        return f"{count.min} to {count.max}"
    return f"at least {count.min}" if count.min is not None else f"at most {count.max}"


def payload_words(payload: PayloadBytes) -> str:
    """What a payload check asks of the bytes, in words."""
    words: list[str] = []
    exact = payload.exact
    if exact is not None:
        shown = exact[:16].hex(" ") + (" ..." if len(exact) > 16 else "")
        words.append(f"the bytes {shown} ({len(exact)} bytes)")
    if payload.contains_hex is not None:
        words.append(f"holding the bytes {payload.contains_hex}")
    if payload.length is not None:
        words.append(f"{_count_words(payload.length)} bytes long")
    return " and ".join(words)


def _messages_words(check: MessagesCheck) -> str:
    which = f"messages on {check.topic}"
    filters = [condition_words(condition) for condition in check.where or ()]
    if check.payload is not None:
        filters.append(f"payload {payload_words(check.payload)}")
    if filters:
        which += " with " + " and ".join(filters)
    window = f" in every {_number(check.per)} s" if check.per is not None else ""
    return f"{which}: {_count_words(check.count)}{window}"


def check_words(check: Check) -> str:
    """A check in words (the richer checks; others as their JSON)."""
    if check.shadow is not None:
        return _shadow_words(check.shadow)
    if check.messages is not None:
        return _messages_words(check.messages)
    kind = check.kind
    return f"{kind} {_json(getattr(check, kind).model_dump(exclude_unset=True))}"


def _window(expectation: Expectation) -> str:
    start, end = expectation.window
    if not start and math.isinf(end):
        return ""
    if math.isinf(end):
        return f" from {_number(start)} s"
    return f" from {_number(start)} s to {_number(end)} s"


def sentence(expectation: Expectation) -> str:
    """The expectation in words."""
    if expectation.never is not None:
        return f"never{_window(expectation)}: {check_words(expectation.never.check)}"
    if isinstance(expectation.always, Check):
        return f"always{_window(expectation)}: {check_words(expectation.always)}"
    if expectation.always == VERSION_GROWS:
        return "always: the Shadow's version grows"
    if expectation.monotonic is not None:
        monotonic = expectation.monotonic
        which = f"named shadow {monotonic.name!r}" if monotonic.name else "Shadow"
        per = f" (per {monotonic.per})" if monotonic.per else ""
        return f"{monotonic.thing}'s {which}: {monotonic.path} never goes down{per}"
    check = expectation.check
    assert check is not None
    if expectation.within is not None:
        after = f" (from {_number(expectation.after)} s)" if expectation.after else ""
        return f"within {_number(expectation.within)} s{after}: {check_words(check)}"
    return f"at the end: {check_words(check)}"


__all__ = ["check_words", "condition_words", "is_richer", "older_label",
           "payload_words", "sentence"]
