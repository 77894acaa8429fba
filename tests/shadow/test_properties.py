"""Invariants of the Shadow service, stated as hypothesis properties.

The reference model below works on flattened leaf paths, a different formulation from the
fake's recursive merge, so agreement between the two means something.
"""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from fakes.shadow import ShadowService
from fakes.shadow.document import json_equal
from tests.shadow.conftest import ManualClock

Path = tuple[str, ...]

KEYS = st.sampled_from(["a", "b", "c"])
SCALARS = st.one_of(
    st.integers(-3, 3),
    st.sampled_from([0.5, 1.0, 2.0]),
    st.booleans(),
    st.sampled_from(["x", "y"]),
)
VALUES = st.recursive(
    st.one_of(SCALARS, st.lists(SCALARS, max_size=3)),
    lambda inner: st.dictionaries(KEYS, inner, max_size=3),
    max_leaves=6,
)
PATCH_VALUES = st.recursive(
    st.one_of(SCALARS, st.none(), st.just({}), st.lists(SCALARS, max_size=3)),
    lambda inner: st.dictionaries(KEYS, inner, max_size=3),
    max_leaves=6,
)
SECTION = st.one_of(st.none(), st.dictionaries(KEYS, PATCH_VALUES, max_size=3))
VALID_STATE = st.one_of(
    st.fixed_dictionaries({}, optional={"desired": SECTION, "reported": SECTION}),
    st.none(),
)
INVALID_PAYLOADS = st.sampled_from([
    b"{",
    b'{"state": 1}',
    b'{"state": {"delta": {}}}',
    b'{"state": {"desired": [1]}}',
    b'{"state": {"reported": {"l": [null]}}}',
    b'{"state": {}, "version": "v"}',
    b'{"state": {}, "version": 999}',
    b"\xff\xfe",
    json.dumps({"state": {"reported": {"big": "x" * 9000}}}).encode(),
])


@st.composite
def requests(draw: st.DrawFn) -> bytes:
    if draw(st.integers(0, 9)) == 0:
        return draw(INVALID_PAYLOADS)
    body: dict[str, Any] = {"state": draw(VALID_STATE)}
    if draw(st.booleans()):
        body["clientToken"] = draw(st.sampled_from(["t1", "t2"]))
    return json.dumps(body).encode()


# -- the reference model: leaves by path ---------------------------------------------------


def flatten(tree: dict[str, Any], prefix: Path = ()) -> dict[Path, Any]:
    flat: dict[Path, Any] = {}
    for key, value in tree.items():
        if isinstance(value, dict) and value:
            flat.update(flatten(value, (*prefix, key)))
        else:
            flat[(*prefix, key)] = value
    return flat


def unflatten(flat: dict[Path, Any]) -> dict[str, Any]:
    tree: dict[str, Any] = {}
    for path, value in flat.items():
        node = tree
        for key in path[:-1]:
            node = node.setdefault(key, {})
        node[path[-1]] = value
    return tree


def under(path: Path, prefix: Path) -> bool:
    return path[: len(prefix)] == prefix


def reference_merge(section: dict[str, Any], patch: dict[str, Any]) -> dict[str, Any]:
    flat = flatten(section)
    for path, value in flatten(patch).items():
        if value is None or value == {}:
            if any(under(q, path) for q in flat):
                flat = {q: v for q, v in flat.items() if not under(q, path)}
                parent = path[:-1]
                if parent and not any(under(q, parent) for q in flat):
                    flat[parent] = {}  # an emptied object stays, empty
        else:
            flat = {q: v for q, v in flat.items()
                    if not (under(path, q) or under(q, path))}
            flat[path] = value
    return unflatten(flat)


def reference_update(state: dict[str, Any], request_state: Any) -> dict[str, Any]:
    if request_state is None:
        return {}
    out = {}
    for section in ("desired", "reported"):
        if section not in request_state:
            value = state.get(section, {})
        elif request_state[section] in (None, {}):
            value = {}
        else:
            value = reference_merge(state.get(section, {}), request_state[section])
        if value:
            out[section] = value
    return out


def reference_delta(desired: dict[str, Any], reported: dict[str, Any]) -> dict[str, Any]:
    have = flatten(reported)
    return unflatten({
        path: want for path, want in flatten(desired).items()
        if want != {} and not (path in have and json_equal(want, have[path]))
    })


def shape(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: shape(child) for key, child in value.items()}
    if isinstance(value, list):
        return [shape(child) for child in value]
    return "leaf"


def metadata_shape(meta: Any) -> Any:
    if isinstance(meta, dict) and set(meta) == {"timestamp"} and isinstance(meta["timestamp"], int):
        return "leaf"
    if isinstance(meta, dict):
        return {key: metadata_shape(child) for key, child in meta.items()}
    return [metadata_shape(child) for child in meta]


# -- properties ----------------------------------------------------------------------------


@settings(max_examples=300, deadline=None)
@given(st.lists(requests(), min_size=1, max_size=12))
def test_shadow_invariants(payloads):
    clock = ManualClock()
    service = ShadowService(clock=clock)
    folded: dict[str, Any] | None = None
    version = 0
    for payload in payloads:
        before = service.document("thing")
        clock.advance(1)
        outcome = service.update("thing", payload)
        after = service.document("thing")
        if not outcome.accepted:
            # rejections change nothing
            assert after == before or (after and before and {**after, "timestamp": 0} == {
                **before, "timestamp": 0})
            continue
        request_state = json.loads(payload)["state"]
        folded = reference_update(folded or {}, request_state)
        # version grows by exactly one per accepted update
        version += 1
        assert outcome.response["version"] == version == after["version"]
        # GET equals the fold of all accepted updates
        state = {k: v for k, v in after["state"].items() if k != "delta"}
        assert state == folded
        # delta equals desired minus reported
        expected_delta = reference_delta(folded.get("desired", {}), folded.get("reported", {}))
        assert after["state"].get("delta", {}) == expected_delta
        # metadata has the same shape as state
        assert metadata_shape(after["metadata"]) == shape(state)
        # delta metadata has the delta's shape
        delta_messages = [json.loads(p) for t, p in outcome.messages if t.endswith("/delta")]
        if expected_delta:
            assert len(delta_messages) == 1
            assert metadata_shape(delta_messages[0]["metadata"]) == shape(expected_delta)
        else:
            assert delta_messages == []


NON_EMPTY_VALUES = st.recursive(
    st.one_of(SCALARS, st.lists(SCALARS, max_size=3)),
    lambda inner: st.dictionaries(KEYS, inner, min_size=1, max_size=3),
    max_leaves=6,
)


@settings(max_examples=100, deadline=None)
@given(st.lists(st.dictionaries(KEYS, NON_EMPTY_VALUES, min_size=1, max_size=3), min_size=1,
                max_size=6))
def test_untouched_leaves_keep_their_timestamps(reports):
    clock = ManualClock()
    service = ShadowService(clock=clock)
    written: dict[Path, tuple[Any, int]] = {}  # leaf -> (value, when written)
    for report in reports:
        clock.advance(10)
        service.update("thing", {"state": {"reported": report}})
        for path, value in flatten(report).items():
            written = {q: w for q, w in written.items() if not (under(q, path) or under(path, q))}
            written[path] = (value, int(clock()))
    meta = service.document("thing")["metadata"].get("reported", {})
    for path, (value, when) in written.items():
        node = meta
        for key in path:
            node = node[key]
        expected = [{"timestamp": when}] * len(value) if isinstance(value, list) else {
            "timestamp": when}
        assert node == expected, path
