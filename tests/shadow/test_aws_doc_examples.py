"""The AWS IoT developer guide's own request/response pairs, replayed against the fake.

``aws_doc_examples.json`` was extracted from awsdocs/aws-iot-docs (see its ``conventions``):
each example is a sequence of requests and the documents the docs show for them. Expected
payloads are compared as subsets (the docs often show fragments); timestamps and versions
the docs mark as illustrative are checked for type only.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from fakes.shadow import ShadowService, request_topic
from tests.shadow.conftest import ManualClock

DATA = json.loads((Path(__file__).with_name("aws_doc_examples.json")).read_text())
EXAMPLES = {example["id"]: example for example in DATA["examples"]}

#: Examples the fake deliberately disagrees with, and why. (The pre-2020 page's single
#: timestamp for a whole array is already in that example's ignore_paths: the current page's
#: real output shows one per element, which the fake follows.)
DISAGREEMENTS: dict[str, str] = {}

#: Shadows the docs take for granted without showing them.
PRESUMED = {
    # "Deleting a shadow" deletes an existing shadow whose state the page does not show.
    "dataflow-delete-shadow": {"state": {"reported": {"any": 1}}, "version": 3},
}


def seed(service: ShadowService, example: dict[str, Any]) -> None:
    """Create the shadow the doc says exists, at the version it shows."""
    initial = example.get("initial_state") or PRESUMED.get(example["id"])
    if not initial:
        return
    thing, shadow = example["thing"], example.get("shadow")
    sections = {k: v for k, v in initial.get("state", {}).items() if k in ("desired", "reported")}
    assert service.update(thing, {"state": sections}, shadow).accepted
    for _ in range(int(initial.get("version", 1)) - 1):
        assert service.update(thing, {"state": {}}, shadow).accepted


def matches(expected: Any, actual: Any, path: str, loose: set[str], ignore: set[str]) -> list[str]:
    """Differences between a doc's (possibly partial) document and the fake's."""
    if path in ignore:
        return []
    key = path.rsplit(".", 1)[-1]
    if key in loose:
        ok = isinstance(actual, int) and not isinstance(actual, bool)
        return [] if ok else [f"{path}: expected an integer, got {actual!r}"]
    if isinstance(expected, dict):
        if not isinstance(actual, dict):
            return [f"{path}: expected an object, got {actual!r}"]
        problems = []
        for name, value in expected.items():
            child = f"{path}.{name}" if path else name
            if child in ignore:
                continue
            if name not in actual:
                problems.append(f"{child}: missing")
            else:
                problems += matches(value, actual[name], child, loose, ignore)
        return problems
    if isinstance(expected, list) and isinstance(actual, list) and len(expected) == len(actual):
        return [p for i, (e, a) in enumerate(zip(expected, actual, strict=True))
                for p in matches(e, a, f"{path}[{i}]", loose, ignore)]
    return [] if expected == actual else [f"{path}: expected {expected!r}, got {actual!r}"]


def absent(document: Any, dotted: str) -> bool:
    node = document
    for name in dotted.split("."):
        if not isinstance(node, dict) or name not in node:
            return True
        node = node[name]
    return False


def replay(example: dict[str, Any]) -> list[str]:
    service = ShadowService(clock=ManualClock())
    seed(service, example)
    note = example.get("note", "")
    loose = set()
    if "[timestamps-illustrative]" in note:
        loose.add("timestamp")
    if "[versions-illustrative]" in note:
        loose.add("version")
    problems = []
    for number, step in enumerate(example["steps"], 1):
        thing, shadow = step.get("thing", example["thing"]), step.get("shadow", example["shadow"])
        request = step["request"]
        payload = b"" if request is None else json.dumps(request).encode()
        service.clock.advance(1)
        replies = {
            "/".join(topic.split("/")[-2:]): json.loads(body)
            for topic, body in service.handle(request_topic(thing, step["op"], shadow), payload)
        }
        expectations = ([step["expect"]] if step.get("expect") else []) + step.get(
            "expect_more", [])
        for expect in expectations:
            suffix = expect["topic_suffix"]
            where = f"step {number} {suffix}"
            if suffix not in replies:
                problems.append(f"{where}: not published (got {sorted(replies)})")
                continue
            if expect.get("payload") is not None:
                ignore = set(expect.get("ignore_paths", []))
                problems += [f"{where}: {p}" for p in
                             matches(expect["payload"], replies[suffix], "", loose, ignore)]
            problems += [f"{where}: {p} should be absent" for p in expect.get("absent_paths", [])
                         if not absent(replies[suffix], p)]
    return problems


def params() -> list:
    return list(_params())


def _params():
    for example_id, example in EXAMPLES.items():
        if not example.get("replayable", True):
            continue  # the doc contradicts itself (see its note); a consistent twin is replayed
        marks = []
        if example_id in DISAGREEMENTS:
            marks.append(pytest.mark.xfail(reason=DISAGREEMENTS[example_id], strict=True))
        yield pytest.param(example, id=example_id, marks=marks)


@pytest.mark.parametrize("example", params())
def test_doc_example(example):
    assert replay(example) == []


def test_examples_cover_the_main_topics():
    suffixes = {
        expect["topic_suffix"]
        for example in DATA["examples"]
        for step in example["steps"]
        for expect in ([step["expect"]] if step.get("expect") else []) + step.get("expect_more", [])
    }
    assert {"update/accepted", "update/delta", "update/documents", "update/rejected",
            "get/accepted", "get/rejected", "delete/accepted"} <= suffixes
