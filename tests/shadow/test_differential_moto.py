"""The fake against moto's iot-data (boto3 under ``mock_aws``), where moto follows AWS.

Random update sequences go through both; states, deltas, versions and error codes must
agree, and metadata must have the same shape (moto re-stamps every leaf, deviation 5).
The requests are drawn from the part of the protocol where moto follows AWS; every place
where moto is known to deviate (``shared/specs/shadow.md`` section 3.2) is listed in
``DEVIATIONS`` with its reason, and checked: moto still deviates (so a moto upgrade that
fixes it shows up) and the fake does what AWS does.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from hypothesis import given, settings
from hypothesis import strategies as st
from moto import mock_aws

from fakes.shadow import ShadowService
from tests.shadow.conftest import ManualClock

REGION = "us-east-1"
THING = "thing"


class MotoShadows:
    """moto's iot-data behind the same small interface as the fake's REST face."""

    def __init__(self, client: Any, thing: str = THING) -> None:
        self.client = client
        self.thing = thing

    def call(self, operation: str, payload: bytes = b"", shadow: str | None = None
             ) -> tuple[int, dict[str, Any]]:
        kwargs: dict[str, Any] = {"thingName": self.thing}
        if shadow is not None:
            kwargs["shadowName"] = shadow
        try:
            if operation == "update":
                response = self.client.update_thing_shadow(payload=payload, **kwargs)
            elif operation == "get":
                response = self.client.get_thing_shadow(**kwargs)
            else:
                response = self.client.delete_thing_shadow(**kwargs)
        except ClientError as error:
            return error.response["ResponseMetadata"]["HTTPStatusCode"], {
                "code": error.response["Error"]["Code"],
                "message": error.response["Error"]["Message"],
            }
        return 200, json.loads(response["payload"].read())


class FakeShadows:
    def __init__(self) -> None:
        self.service = ShadowService(clock=ManualClock())

    def call(self, operation: str, payload: bytes = b"", shadow: str | None = None
             ) -> tuple[int, dict[str, Any]]:
        outcome = self.service.request(operation, THING, payload, shadow)
        return outcome.code, outcome.response


@contextmanager
def moto_shadows() -> Iterator[MotoShadows]:
    with mock_aws():
        # moto keeps shadows on registry things (deviation 1): register the thing first
        boto3.client("iot", region_name=REGION).create_thing(thingName=THING)
        yield MotoShadows(boto3.client("iot-data", region_name=REGION))


def shape(value: Any) -> Any:
    if isinstance(value, dict):
        if set(value) == {"timestamp"} and isinstance(value["timestamp"], int):
            return "stamp"
        return {key: shape(child) for key, child in value.items()}
    if isinstance(value, list):
        return [shape(child) for child in value]
    return "leaf"


def without_empty_objects(tree: dict[str, Any]) -> dict[str, Any]:
    out = {}
    for key, value in tree.items():
        if isinstance(value, dict):
            value = without_empty_objects(value)
            if not value:
                continue
        out[key] = value
    return out


def comparable(code: int, body: dict[str, Any]) -> Any:
    """What must agree: codes always; for accepted documents, state, version and the
    metadata's shape (never timestamps, deviation 5; never clientToken, deviation 3).
    Empty objects are dropped from deltas (moto leaves them, deviation 6)."""
    if code != 200:
        return code
    state = body.get("state")
    if isinstance(state, dict) and "delta" in state:
        state = dict(state)
        delta = without_empty_objects(state.pop("delta"))
        if delta:
            state["delta"] = delta
    return {
        "state": state,
        "version": body.get("version"),
        "metadata": shape(body.get("metadata")),
    }


# -- the agreeing part of the protocol -----------------------------------------------------

KEYS = st.sampled_from(["a", "b", "c", "d"])
# no 0/1 (moto equates true with 1, deviation 11), no null inside arrays (deviation 10)
SCALARS = st.one_of(st.integers(2, 5), st.sampled_from([2.5, "x", "y", True, False]))
LEAVES = st.one_of(SCALARS, st.lists(SCALARS, max_size=3))
# nested objects without nulls or empty objects (deviations 6, 8, 9)
VALUES = st.recursive(LEAVES, lambda inner: st.dictionaries(KEYS, inner, min_size=1,
                                                            max_size=2), max_leaves=4)
# null only for top-level keys; never a null or empty section (deviation 7)
SECTIONS = st.dictionaries(KEYS, st.one_of(VALUES, st.none()), min_size=1, max_size=3)


@st.composite
def operations(draw: st.DrawFn) -> tuple[str, bytes]:
    kind = draw(st.sampled_from(["update"] * 6 + ["stale", "get", "delete", "invalid"]))
    if kind == "update":
        state = draw(st.fixed_dictionaries({}, optional={"desired": SECTIONS,
                                                          "reported": SECTIONS}))
        if not state:
            state = {"reported": draw(SECTIONS)}
        return "update", json.dumps({"state": state}).encode()
    if kind == "stale":
        return "update", b'{"state": {"reported": {"a": 2}}, "version": 9999}'
    if kind == "invalid":
        return "update", draw(st.sampled_from([b'{"state": {"reported": {}', b"{}"]))
    return kind, b""


@pytest.fixture(scope="module")
def moto_world() -> Iterator[dict[str, Any]]:
    """One moto backend for the module; each example uses a thing of its own."""
    with mock_aws():
        yield {
            "iot": boto3.client("iot", region_name=REGION),
            "data": boto3.client("iot-data", region_name=REGION),
            "count": 0,
        }


FIRST = ("update", b'{"state": {"desired": {"a": 2}, "reported": {"b": 3}}}')


@settings(max_examples=60, deadline=None)
@given(steps=st.lists(operations(), min_size=1, max_size=10))
def test_random_sequences_agree_where_moto_follows_aws(moto_world, steps):
    fake = FakeShadows()
    moto_world["count"] += 1
    thing = f"thing{moto_world['count']}"
    moto_world["iot"].create_thing(thingName=thing)
    moto = MotoShadows(moto_world["data"], thing)
    # a shadow exists before any versioned request (moto crashes otherwise, deviation 12)
    for number, (operation, payload) in enumerate([FIRST, *steps]):
        creates = fake.service.version(THING) is None
        ours = fake.call(operation, payload)
        theirs = moto.call(operation, payload)
        where = f"step {number}: {operation} {payload!r}"
        if creates and b'"version"' in payload:
            # deviation 12: a versioned request that would create the shadow; AWS's answer
            # is unverified (the fake: 400 Invalid version), moto compares with the deleted
            # shadow's version (409) or crashes. Both must refuse it.
            assert ours[0] != 200 and theirs[0] != 200, where
            continue
        if creates and operation == "delete":
            # deviation 24: moto accepts deleting a shadow that does not exist, and uses up a
            # version doing so; versions cannot be compared after it
            assert ours[0] == 404, where
            break
        assert comparable(*ours) == comparable(*theirs), where
        # and the document each side now holds
        assert comparable(*fake.call("get")) == comparable(*moto.call("get")), where


def test_named_shadows_agree():
    fake = FakeShadows()
    with moto_shadows() as moto:
        for payload in (b'{"state": {"desired": {"a": 2}}}', b'{"state": {"reported": {"a": 3}}}'):
            assert comparable(*fake.call("update", payload, "cfg")) == comparable(
                *moto.call("update", payload, "cfg"))
        assert comparable(*fake.call("get", shadow="cfg")) == comparable(
            *moto.call("get", shadow="cfg"))
        assert fake.call("get")[0] == moto.call("get")[0] == 404


# -- where moto deviates --------------------------------------------------------------------


@dataclass(frozen=True)
class Deviation:
    row: int  # shared/specs/shadow.md section 3.2
    reason: str
    steps: tuple[tuple[str, bytes], ...]
    observe: Callable[[int, dict[str, Any]], Any]  # from the last step's (code, body)
    moto: Any  # what moto 5.2.x does
    aws: Any  # what AWS does, and so the fake


def _upd(body: Any) -> tuple[str, bytes]:
    return "update", body if isinstance(body, bytes) else json.dumps(body).encode()


def _message(code: int, body: dict[str, Any]) -> Any:
    return code, body.get("message")


DEVIATIONS = [
    Deviation(2, "moto's 404 text is generic; AWS names the shadow in quotes",
              (("get", b""),), _message,
              moto=(404, "The specified resource does not exist"),
              aws=(404, "No shadow exists with name: 'thing'")),
    Deviation(3, "moto never echoes clientToken",
              (_upd({"state": {"reported": {"a": 2}}, "clientToken": "tok"}),),
              lambda code, body: body.get("clientToken"), moto=None, aws="tok"),
    Deviation(4, "moto accepts a clientToken over 64 bytes",
              (_upd({"state": {"reported": {"a": 2}}, "clientToken": "x" * 65}),),
              _message, moto=(200, None), aws=(400, "Invalid clientToken")),
    Deviation(5, "moto re-stamps every leaf on every update; AWS keeps untouched leaves'",
              (_upd({"state": {"reported": {"old": 2}}}), ("tick", b""),
               _upd({"state": {"reported": {"new": 3}}}), ("get", b"")),
              lambda code, body: (body["metadata"]["reported"]["old"]["timestamp"]
                                  == body["metadata"]["reported"]["new"]["timestamp"]),
              moto=True, aws=False),
    Deviation(6, "moto reports an empty object in the delta for a nested desired object "
                 "equal to reported's; AWS reports no delta",
              (_upd({"state": {"desired": {"a": {"b": 2}}, "reported": {"a": {"b": 2, "c": 3}}}}),
               ("get", b"")),
              lambda code, body: body["state"].get("delta"), moto={"a": {}}, aws=None),
    Deviation(7, "moto ignores \"desired\": null; AWS removes the section",
              (_upd({"state": {"desired": {"a": 2}, "reported": {"b": 2}}}),
               _upd({"state": {"desired": None}}), ("get", b"")),
              lambda code, body: "desired" in body["state"], moto=True, aws=False),
    Deviation(8, "moto creates an object whose children were all null",
              (_upd({"state": {"reported": {"a": {"b": None}, "k": 2}}}), ("get", b"")),
              lambda code, body: body["state"]["reported"].get("a"), moto={}, aws=None),
    Deviation(10, "moto accepts arrays holding null; AWS rejects them",
              (_upd({"state": {"reported": {"l": [2, None]}}}),),
              lambda code, body: code, moto=200, aws=400),
    Deviation(11, "moto compares with Python ==, so true equals 1 and no delta appears",
              (_upd({"state": {"desired": {"f": True}, "reported": {"f": 1}}}), ("get", b"")),
              lambda code, body: body["state"].get("delta"), moto=None, aws={"f": True}),
    Deviation(13, "moto answers a non-integer version with 409; AWS with 400 Invalid version",
              (_upd({"state": {"reported": {"a": 2}}}),
               _upd({"state": {"reported": {"a": 3}}, "version": "abc"})),
              _message, moto=(409, "Version conflict"), aws=(400, "Invalid version")),
    Deviation(14, "moto's invalid-JSON message is lower case",
              (_upd(b"{nope"),), _message,
              moto=(400, "invalid json"), aws=(400, "Invalid JSON")),
    Deviation(17, "moto's invalid-node message does not name the node",
              (_upd({"state": {"delta": {"a": 2}}}),), _message,
              moto=(400, "State contains an invalid node"),
              aws=(400, "State contains an invalid node: 'delta'")),
    Deviation(20, "moto accepts any nesting depth",
              (_upd({"state": {"reported": {"a": {"b": {"c": {"d": {"e": {"f": {"g": 2}}}}}}}}}),),
              lambda code, body: code, moto=200, aws=400),
    Deviation(21, "moto has no 8 KB state limit",
              (_upd({"state": {"reported": {"big": "x" * 9000}}}),),
              lambda code, body: code, moto=200, aws=413),
    Deviation(22, "moto answers non-UTF-8 with 400 invalid json; AWS with 415",
              (_upd(b"\xff\xfe"),), lambda code, body: code, moto=400, aws=415),
    Deviation(24, "moto accepts deleting an already-deleted shadow",
              (_upd({"state": {"reported": {"a": 2}}}), ("delete", b""), ("delete", b"")),
              lambda code, body: code, moto=200, aws=404),
]


def run_steps(side: Any, steps: tuple[tuple[str, bytes], ...], tick: Callable[[], None]
              ) -> tuple[int, dict[str, Any]]:
    result: tuple[int, dict[str, Any]] = (0, {})
    for operation, payload in steps:
        if operation == "tick":
            tick()
        else:
            result = side.call(operation, payload)
    return result


@pytest.mark.parametrize("deviation", DEVIATIONS, ids=lambda d: f"row{d.row}")
def test_known_moto_deviation(deviation, monkeypatch):
    fake = FakeShadows()
    now = [1_700_000_000.0]
    import moto.iotdata.models as moto_models

    monkeypatch.setattr(moto_models.time, "time", lambda: now[0])

    def tick() -> None:
        now[0] += 100
        fake.service.clock.advance(100)

    with moto_shadows() as moto:
        moto_seen = deviation.observe(*run_steps(moto, deviation.steps, tick))
    fake_seen = deviation.observe(*run_steps(fake, deviation.steps, tick))
    assert moto_seen == deviation.moto, f"moto no longer deviates ({deviation.reason})"
    assert fake_seen == deviation.aws
