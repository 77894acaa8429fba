"""Expectations read as sentences; what no sentence function knows falls back to its label."""

from __future__ import annotations

import json

import pytest

from harness.report import sentences
from harness.report.sentences import sentence
from harness.scenarios.schema import Expectation


@pytest.mark.parametrize(("yaml", "expected"), [
    ({"within": 30, "shadow": {"path": "state.reported.temperature", "approx": 15,
                               "tolerance": 0.1}},
     "Within 30 s, the weather-station Shadow's reported temperature is 15 ± 0.1."),
    ({"within": 80, "after": 70, "shadow": {"thing": "greenhouse",
                                            "path": "state.reported.alert", "equals": True}},
     "Between 70 s and 80 s, the greenhouse Shadow's reported alert is true at some point."),
    ({"within": 40, "after": 40, "shadow": {"path": "state", "absent": True}},
     "At 40 s, the weather-station Shadow's state is absent."),
    ({"shadow": {"side": "cloud", "path": "state.desired.period", "present": True}},
     "At the end of the run, the cloud's copy of the weather-station Shadow's desired period "
     "is present."),
    ({"always": "version grows"},
     "The Shadow's version never goes back, and ends higher than it began."),
    ({"always": {"shadow": {"path": "state.reported.humidity", "approx": 70,
                            "tolerance": 30}}},
     "Throughout the run, the weather-station Shadow's reported humidity is 70 ± 30."),
    ({"never": {"shadow_path": "state.reported.temperature", "is_null": True}},
     "While it exists, the weather-station Shadow's reported temperature is never missing or "
     "null."),
    ({"never": {"thing": "t", "shadow_path": "state.reported.message", "equals": "Fail"}},
     'While it exists, the t Shadow\'s reported message is never "Fail".'),
    ({"monotonic": {"path": "state.reported.sequence", "per": "state.reported.boot_id"}},
     "The weather-station Shadow's reported sequence never goes down (counted separately for "
     "each reported boot_id)."),
    ({"messages": {"topic": "a/b", "count": 1}},
     "At the end of the run, exactly 1 message on a/b is seen."),
    ({"messages": {"topic": "a/b", "count": {"min": 2, "max": 5},
                   "where": {"path": "state.reported.message", "equals": "Fail"}}},
     'At the end of the run, 2 to 5 messages on a/b are seen whose state.reported.message is '
     '"Fail".'),
    ({"log": {"function": "system", "contains": "started", "count": 0}},
     'At the end of the run, the core\'s log has no line containing "started".'),
    ({"log": {"function": "device:s", "contains": "x"}},
     'At the end of the run, device s\'s log has at least 1 line containing "x".'),
    ({"stats": {"function": "republish", "field": "dropped_queue_full", "max": 3}},
     "At the end of the run, republish's dropped queue full count is at most 3."),
    ({"in_sync": {}},
     "At the end of the run, the cloud's copy of the weather-station Shadow holds the same "
     "desired and reported state as the core's."),
])
def test_each_kind_reads_as_a_sentence(yaml: dict, expected: str) -> None:
    expectation = Expectation.model_validate(yaml, strict=False)
    assert sentence(expectation) == expected
    # the label the runner makes of it (its YAML as JSON) reads the same
    label = json.dumps(expectation.model_dump(exclude_unset=True, exclude_none=True))
    assert sentence(label) == expected


def test_a_description_is_not_a_sentence_of_its_own() -> None:
    described = Expectation.model_validate(
        {"description": "dry", "stats": {"function": "f", "field": "errors", "equals": 0}},
        strict=False)
    assert sentence(described) == "At the end of the run, f's errors count is 0."
    assert sentence("dry") == ""


@pytest.mark.parametrize("label", [
    '{"never": {"shadow_path": "state.reported.t", "is_null": true, "during": [0, 10]}}',
    '{"within": 5, "shadow": {"path": "x", "gt": 3}}',
    '{"messages": {"topic": "a", "count": {"per": 60, "max": 2}}}',
    '{"eventually": {"shadow": {"path": "x", "equals": 1}}}',
    '{"within": 5}',
    "{not json",
    "[1, 2]",
])
def test_what_is_not_known_gives_no_sentence(label: str) -> None:
    """New kinds or fields (as the scenario language grows) give "" and the report shows
    the label as it is, rather than a sentence that leaves something out."""
    assert sentence(label) == ""


def test_a_new_check_kind_plugs_in(monkeypatch: pytest.MonkeyPatch) -> None:
    def payload(fields: sentences.Fields) -> str:
        text = f"the payload on {fields.get('topic')} is binary"
        fields.done()
        return text

    monkeypatch.setitem(sentences.CHECKS, "payload", payload)
    assert sentence('{"within": 3, "payload": {"topic": "raw"}}') == \
        "Within 3 s, the payload on raw is binary."
