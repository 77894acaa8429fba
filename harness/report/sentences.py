"""Expectations as sentences a reader can follow, for the report.

:func:`sentence` turns a scenario's expectation (the model, or the JSON label the runner gives
one without a description) into English: ``{"within": 30, "shadow": {"path":
"state.reported.temperature", "approx": 15, "tolerance": 0.1}}`` reads "Within 30 s, the
weather-station Shadow's reported temperature is 15 ± 0.1." It works from the expectation's
fields as YAML gives them (``model_dump(exclude_unset=True)``), so the model and a
``results.json`` label read the same.

Each part of an expectation is told by a function that takes the part's fields (a
:class:`Fields`, which must all be used): the timing (``within``/``after``, ``always``,
``never``, ``monotonic``, or the end of the run) in :data:`TEMPORAL`, the check (``shadow``,
``messages``, ``log``, ``stats``, ``in_sync``) in :data:`CHECKS`. A kind, or a field, that no
function knows makes :func:`sentence` give ``""``, and the report shows the label as it is:
so a new kind of expectation never reads wrong, it reads as its YAML until a function for it
is added to one of the two tables.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from pydantic import BaseModel

from harness.scenarios.schema import DEFAULT_THING


class Unknown(ValueError):
    """A part of an expectation no sentence function knows."""


class Fields:
    """An expectation part's fields, taken one by one; :meth:`done` fails on any left."""

    def __init__(self, data: Any, what: str) -> None:
        if not isinstance(data, dict):
            raise Unknown(f"{what} is not a mapping")
        self.data, self.what, self.used = data, what, set()

    def __contains__(self, key: str) -> bool:
        return key in self.data

    def get(self, key: str, default: Any = None) -> Any:
        self.used.add(key)
        return self.data.get(key, default)

    def done(self) -> None:
        left = set(self.data) - self.used
        if left:
            raise Unknown(f"{self.what}: {', '.join(sorted(left))}")


# -- pieces ------------------------------------------------------------------------------

def value(v: Any) -> str:
    """A value as YAML would show it: 15, true, "Fail", {"a": 1}."""
    if isinstance(v, float) and v.is_integer() and abs(v) < 1e15:
        return str(int(v))
    if isinstance(v, int | float) and not isinstance(v, bool):
        return f"{v:g}"
    return json.dumps(v, ensure_ascii=False)


def seconds(v: Any) -> str:
    return f"{value(v)} s"


def shadow_name(fields: Fields, cloud: bool = False) -> str:
    """``the weather-station Shadow``, ``the "config" Shadow of greenhouse``, ``the cloud's
    copy of ...``."""
    thing = fields.get("thing", DEFAULT_THING)
    name = fields.get("name")
    text = f"the {thing} Shadow" if not name else f'the "{name}" Shadow of {thing}'
    return f"the cloud's copy of {text}" if cloud else text


def field_path(path: str) -> str:
    """``state.reported.temperature`` -> ``reported temperature``; ``state.desired.a.b`` ->
    ``desired a.b``; anything else as it is."""
    parts = path.split(".")
    if len(parts) >= 3 and parts[0] == "state" and parts[1] in ("reported", "desired",
                                                                 "delta"):
        return f"{parts[1]} {'.'.join(parts[2:])}"
    return path


def count(c: Any, noun: str) -> str:
    """``exactly 3 messages``, ``at least 1 message``, ``between 2 and 5 lines``."""
    def plural(n: Any) -> str:
        return noun if n == 1 else f"{noun}s"
    if isinstance(c, int) and not isinstance(c, bool):
        return f"exactly {c} {plural(c)}"
    fields = Fields(c, "count")
    low, high = fields.get("min"), fields.get("max")
    fields.done()
    if low is not None and high is not None:
        return f"{low} to {high} {noun}s" if low != high else f"exactly {low} {plural(low)}"
    if low is not None:
        return f"at least {low} {plural(low)}"
    if high is not None:
        return f"at most {high} {plural(high)}"
    raise Unknown("count without min or max")


def log_name(function: str) -> str:
    if function == "system":
        return "the core's log"
    if function.startswith("device:"):
        return f"device {function.split(':', 1)[1]}'s log"
    return f"{function}'s log"


# -- checks: each gives a clause ("the X is Y") --------------------------------------------

def _shadow(fields: Fields) -> str:
    cloud = fields.get("side", "local") == "cloud"
    subject = f"{shadow_name(fields, cloud)}'s {field_path(fields.get('path'))}"
    if "equals" in fields:
        clause = f"{subject} is {value(fields.get('equals'))}"
    elif "approx" in fields:
        tolerance = fields.get("tolerance", 0)
        around = value(fields.get("approx"))
        clause = f"{subject} is {around} ± {value(tolerance)}" if tolerance \
            else f"{subject} is {around}"
    elif fields.get("present"):
        clause = f"{subject} is present"
    elif fields.get("absent"):
        clause = f"{subject} is absent"
    else:
        raise Unknown("a shadow check without a test")
    fields.done()
    return clause


def _messages(fields: Fields) -> str:
    counted = count(fields.get("count"), "message")
    clause = f"{counted} on {fields.get('topic')} are seen"
    if counted.endswith("message"):
        clause = clause.replace(" are seen", " is seen")
    where = fields.get("where")
    if isinstance(where, list) and len(where) == 1:  # one condition, as the schema keeps it
        where = where[0]
    if where is not None:
        inner = Fields(where, "where")
        clause += f" whose {inner.get('path')} is {value(inner.get('equals'))}"
        inner.done()
    fields.done()
    return clause


def _log(fields: Fields) -> str:
    source = log_name(fields.get("function"))
    text = value(fields.get("contains"))
    c = fields.get("count")
    counted = "at least 1 line" if c is None else count(c, "line")
    fields.done()
    if counted == "exactly 0 lines":
        return f"{source} has no line containing {text}"
    return f"{source} has {counted} containing {text}"


def _stats(fields: Fields) -> str:
    subject = f"{fields.get('function')}'s {fields.get('field').replace('_', ' ')} count"
    equals, low, high = fields.get("equals"), fields.get("min"), fields.get("max")
    fields.done()
    if equals is not None:
        return f"{subject} is {equals}"
    if low is not None and high is not None:
        return f"{subject} is {low} to {high}"
    if low is not None:
        return f"{subject} is at least {low}"
    if high is not None:
        return f"{subject} is at most {high}"
    raise Unknown("a stats check without equals, min or max")


def _in_sync(fields: Fields) -> str:
    thing = fields.get("thing", DEFAULT_THING)
    fields.done()
    return (f"the cloud's copy of the {thing} Shadow holds the same desired and reported "
            "state as the core's")


#: the check kinds, by their key in the YAML: a clause from the check's fields
CHECKS: dict[str, Callable[[Fields], str]] = {
    "shadow": _shadow, "messages": _messages, "log": _log, "stats": _stats,
    "in_sync": _in_sync,
}


def check_clause(data: dict[str, Any]) -> str:
    """The clause of the one check in ``data`` (a check, or an expectation's remaining
    fields)."""
    kinds = [key for key in data if key in CHECKS]
    if len(kinds) != 1 or len(data) != 1:
        raise Unknown(f"not one known check: {', '.join(sorted(data))}")
    kind = kinds[0]
    return CHECKS[kind](Fields(data[kind], kind))


# -- timings: each gives the whole sentence from the expectation's fields ----------------

def _within(fields: Fields) -> str:
    within, after = fields.get("within"), fields.get("after")
    rest = {key: v for key, v in fields.data.items() if key not in ("within", "after")}
    fields.used.update(rest)
    clause = check_clause(rest)
    if after and after == within:
        return f"At {seconds(within)}, {clause}."
    if after:
        return f"Between {seconds(after)} and {seconds(within)}, {clause} at some point."
    return f"Within {seconds(within)}, {clause}."


def _always(fields: Fields) -> str:
    always = fields.get("always")
    fields.done()
    if always == "version grows":
        return "The Shadow's version never goes back, and ends higher than it began."
    return f"Throughout the run, {check_clause(always)}."


def _never(fields: Fields) -> str:
    never = Fields(fields.get("never"), "never")
    fields.done()
    subject = f"{shadow_name(never)}'s {field_path(never.get('shadow_path'))}"
    if never.get("is_null"):
        text = f"While it exists, {subject} is never missing or null."
    elif "equals" in never:
        text = f"While it exists, {subject} is never {value(never.get('equals'))}."
    else:
        raise Unknown("never without is_null or equals")
    never.done()
    return text


def _monotonic(fields: Fields) -> str:
    monotonic = Fields(fields.get("monotonic"), "monotonic")
    fields.done()
    text = (f"{shadow_name(monotonic)}'s {field_path(monotonic.get('path'))} never goes "
            "down")
    per = monotonic.get("per")
    if per:
        text += f" (counted separately for each {field_path(per)})"
    monotonic.done()
    return text[0].upper() + text[1:] + "."


def _at_end(fields: Fields) -> str:
    rest = dict(fields.data)
    fields.used.update(rest)
    return f"At the end of the run, {check_clause(rest)}."


#: the timings, tried in order: (a key that marks it, the sentence from all the fields)
TEMPORAL: list[tuple[str | None, Callable[[Fields], str]]] = [
    ("within", _within), ("always", _always), ("never", _never),
    ("monotonic", _monotonic), (None, _at_end),
]


def sentence(expectation: BaseModel | dict[str, Any] | str) -> str:
    """The expectation (a model, its fields, or a label as the runner makes it) as a
    sentence; ``""`` when some part of it is not known here (or a label is a description,
    not YAML). A model this module cannot tell is told in the scenario language's own words
    (:func:`harness.scenarios.wording.sentence`)."""
    told = _sentence(expectation)
    if told or not isinstance(expectation, BaseModel):
        return told
    from harness.scenarios.schema import Expectation
    from harness.scenarios.wording import sentence as in_words

    if not isinstance(expectation, Expectation):
        return ""
    try:
        words = in_words(expectation)
    except (AttributeError, TypeError, ValueError, AssertionError):
        return ""
    return words[:1].upper() + words[1:] + ("" if words.endswith(".") else ".")


def _sentence(expectation: BaseModel | dict[str, Any] | str) -> str:
    if isinstance(expectation, str):
        if not expectation.startswith("{"):
            return ""
        try:
            data = json.loads(expectation)
        except ValueError:
            return ""
    elif isinstance(expectation, BaseModel):
        data = expectation.model_dump(exclude_unset=True, mode="json")
    else:
        data = dict(expectation)
    if not isinstance(data, dict):
        return ""
    data.pop("description", None)
    try:
        for key, tell in TEMPORAL:
            if key is None or key in data:
                fields = Fields(data, key or "expectation")
                text = tell(fields)
                fields.done()
                return text
    except (Unknown, AttributeError, TypeError):
        return ""
    return ""
