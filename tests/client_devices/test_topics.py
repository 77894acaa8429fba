"""The three topic matchers that meet in the bridge."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fakes.client_devices.topics import (
    bridge_matches,
    filter_problem,
    moquette_matches,
    moquette_tokens,
    topic_problem,
)


def java_split(text: str) -> list[str]:
    parts = text.split("/")
    while len(parts) > 1 and parts[-1] == "":
        parts.pop()
    return [] if parts == [""] and text else parts


def is_superset_of(topic_filter: str, topic: str) -> bool:
    """A transcription of the nucleus's ``MqttTopic.isSupersetOf`` (the bridge's routing)."""
    if topic_filter == topic:
        return True
    mine, theirs = java_split(topic_filter), java_split(topic)
    index = 0
    while index < min(len(mine), len(theirs)):
        if mine[index] == "#":
            return True
        if mine[index] != "+" and mine[index] != theirs[index]:
            return False
        index += 1
    return index >= len(theirs) and index >= len(mine)


_level = st.sampled_from(["a", "b", "", "$aws"])
_filter_level = st.sampled_from(["a", "b", "", "+", "$aws"])


@st.composite
def filters(draw) -> str:
    levels = draw(st.lists(_filter_level, min_size=1, max_size=4))
    if draw(st.booleans()):
        levels.append("#")
    text = "/".join(levels)
    return text if filter_problem(text) is None else "a"


_topics = st.lists(_level, min_size=1, max_size=5).map("/".join).filter(lambda t: t != "")


@given(filters(), _topics)
def test_bridge_routing_is_mqtt_topic_is_superset_of(topic_filter: str, topic: str) -> None:
    assert bridge_matches(topic_filter, topic) is is_superset_of(topic_filter, topic)


@pytest.mark.parametrize(
    ("topic", "tokens"),
    [
        ("a/b", ["a", "b"]),
        ("a/b/", ["a", "b", ""]),
        ("a//", ["a", ""]),  # Java's split drops both, Moquette adds one back
        ("/", ["", ""]),
        ("/a", ["", "a"]),
        ("a//b", ["a", "", "b"]),
    ],
)
def test_moquette_tokens(topic: str, tokens: list[str]) -> None:
    assert moquette_tokens(topic) == tokens


@pytest.mark.parametrize(
    ("topic_filter", "topic", "moquette", "bridge"),
    [
        ("a/#", "a", True, False),  # Moquette matches the parent, the nucleus does not
        ("a/#", "a/b/c", True, True),
        ("#", "$aws/things/x", True, True),  # no '$' rule anywhere
        ("a/+", "a/", True, False),  # the trailing empty level
        ("a/b", "a/b/", False, True),  # Java's split drops the trailing slash
        ("+/+", "a/b", True, True),
        ("a/+/c", "a//c", True, True),
        ("a/+", "a/b/c", False, False),
    ],
)
def test_moquette_and_bridge_differ_on_edges(topic_filter, topic, moquette, bridge) -> None:
    assert moquette_matches(topic_filter, topic) is moquette
    assert bridge_matches(topic_filter, topic) is bridge


@pytest.mark.parametrize(
    ("topic_filter", "problem"),
    [
        ("", "empty"),
        ("a/#/b", "'#'"),
        ("a#", "'#'"),
        ("a/b+", "'+'"),
        ("/", "no level"),
        ("//", "no level"),
        ("a\0b", "null"),
    ],
)
def test_filter_problems(topic_filter: str, problem: str) -> None:
    found = filter_problem(topic_filter)
    assert found is not None and problem in found


@pytest.mark.parametrize(
    "topic_filter", ["a", "a/+/b", "#", "+", "a/#", "$aws/things/+/shadow/#", "a/b/", "/a"]
)
def test_valid_filters(topic_filter: str) -> None:
    assert filter_problem(topic_filter) is None


def test_topic_problems() -> None:
    assert topic_problem("a/b") is None
    assert topic_problem("a/*") is None
    assert "wildcards" in (topic_problem("a/+") or "")
    assert "empty" in (topic_problem("") or "")
