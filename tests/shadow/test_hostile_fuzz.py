"""Hostile requests, fuzzed: whatever arrives, ``ShadowService.handle`` answers with the
documented reply and changes nothing it rejects.

Requests are built from a small model (leaves written as raw JSON text, and nesting given as
a depth rather than built), so the answer each one deserves is known from the model, without
reading the payload with the code under test. Each request is read by both of the service's
readers: as built (orjson, unless it refuses) and with a 23-digit integer added, which
orjson would round and the service's own reader therefore takes.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fakes.shadow import ShadowRejection, ShadowService, request_topic, strict_json
from tests.shadow.conftest import ManualClock

MAX_DEPTH, MAX_STATE_BYTES, MAX_TOKEN_BYTES, MAX_NUMBER_LENGTH = 6, 8192, 64, 1000
PARSE_DEPTH = 1024  # deeper than this anywhere: the nesting error (fakes.shadow.strict_json)
INVALID_JSON = (400, "Invalid JSON")
TOO_DEEP = (400, f"JSON contains too many levels of nesting; maximum is {MAX_DEPTH}")
NOT_UTF8 = (415, "Unsupported documented encoding; supported encoding is UTF-8")
BIG = "12345678901234567890123"  # beyond 64 bits: the service's own reader takes the payload

#: What a leaf reads as when no reader may accept it.
REFUSED = object()


# -- the model ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Leaf:
    text: str  # as written in the payload
    value: Any  # what it must read as, or REFUSED


@dataclass(frozen=True)
class Obj:
    entries: tuple[tuple[Leaf, Any], ...]


@dataclass(frozen=True)
class Arr:
    items: tuple[Any, ...]


@dataclass(frozen=True)
class Deep:
    """``depth`` containers, one inside the other, around ``leaf``; ``kinds`` is a pattern
    of "{" and "[" repeated from the outside in."""

    depth: int
    kinds: str
    leaf: Leaf

    def kind(self, level: int) -> str:
        return self.kinds[level % len(self.kinds)]


def dump(node: Any) -> str:
    if isinstance(node, Leaf):
        return node.text
    if isinstance(node, Obj):
        return "{" + ",".join(f"{key.text}:{dump(value)}" for key, value in node.entries) + "}"
    if isinstance(node, Arr):
        return "[" + ",".join(dump(item) for item in node.items) + "]"
    opens = ['{"k":' if node.kind(i) == "{" else "[" for i in range(node.depth)]
    closes = ["}" if node.kind(i) == "{" else "]" for i in reversed(range(node.depth))]
    return "".join(opens) + node.leaf.text + "".join(closes)


def leaves(node: Any) -> list[Leaf]:
    if isinstance(node, Leaf):
        return [node]
    if isinstance(node, Obj):
        return [leaf for key, value in node.entries for leaf in (key, *leaves(value))]
    if isinstance(node, Arr):
        return [leaf for item in node.items for leaf in leaves(item)]
    return [node.leaf]


def brackets(node: Any) -> int:
    """Depth counting every object and array (what a reader must nest)."""
    if isinstance(node, Obj):
        return 1 + max((brackets(value) for _, value in node.entries), default=0)
    if isinstance(node, Arr):
        return 1 + max((brackets(item) for item in node.items), default=0)
    return node.depth if isinstance(node, Deep) else 0


def levels(node: Any) -> int:
    """Depth counting non-empty objects and arrays (the Shadow nesting rule)."""
    if isinstance(node, Obj) and node.entries:
        return 1 + max(levels(value) for _, value in node.entries)
    if isinstance(node, Arr) and node.items:
        return 1 + max(levels(item) for item in node.items)
    return node.depth if isinstance(node, Deep) else 0


def null_in_array(node: Any) -> bool:
    if isinstance(node, Obj):
        return any(null_in_array(value) for _, value in node.entries)
    if isinstance(node, Arr):
        return any((isinstance(item, Leaf) and item.text == "null") or null_in_array(item)
                   for item in node.items)
    if isinstance(node, Deep):
        return node.leaf.text == "null" and node.kind(node.depth - 1) == "["
    return False


def value(node: Any) -> Any:
    if isinstance(node, Leaf):
        return node.value
    if isinstance(node, Obj):
        return {key.value: value(child) for key, child in node.entries}
    if isinstance(node, Arr):
        return [value(item) for item in node.items]
    built = node.leaf.value
    for level in reversed(range(node.depth)):  # from the inside out: no recursion
        built = {"k": built} if node.kind(level) == "{" else [built]
    return built


def is_object(node: Any) -> bool:
    return isinstance(node, Obj) or (isinstance(node, Deep) and node.kind(0) == "{")


# -- leaves -------------------------------------------------------------------------------


def _string_leaf(text: str) -> Leaf:
    """A string written as ``text``; refused when it holds an unpaired surrogate escape."""
    decoded = json.loads(text)
    return Leaf(text, REFUSED if re.search("[\ud800-\udfff]", decoded) else decoded)


def _number_leaf(text: str) -> Leaf:
    if len(text) > MAX_NUMBER_LENGTH:
        return Leaf(text, REFUSED)
    if re.fullmatch(r"-?[0-9]+", text):
        return Leaf(text, int(text))
    number = float(text)
    return Leaf(text, number if math.isfinite(number) else REFUSED)


HOSTILE_STRINGS = [
    r'"\ud800"', r'"\udc00"', r'"\udfff"', r'"\ud83d"', r'"\ude00x"', r'"\ude00\ud83d"',
    r'"a\ud800b"', r'"\ud800\ud800"', r'"\ud83d\ude00"', r'"\\ud800"', r'"\\\ud800"',
    r'"\u0000"', '"plain"', '"\u00e9t\u00e9"', r'"\u00e9t\u00e9"', '"\U0001f600"',
]
HOSTILE_NUMBERS = [
    "1e400", "-1e400", "1E+309", "1e308", "1e-400", "-0", "0.0", "1" + "0" * 400 + ".5",
    "1.7976931348623157e308", "1.7976931348623159e308", "4.9e-324", "2.5e-324", BIG,
    str(2**64), str(-(2**63) - 1), "9" * 19, "1" + "0" * 999, "1" + "0" * 1000,
    "-" + "1" * 1000, "1" + "0" * 5000, "0." + "0" * 997 + "1", "0." + "0" * 998 + "1",
]


def _pick(texts: list[str]) -> st.SearchStrategy[str]:
    """One of ``texts``, without a strategy repr that spells out 5,000-digit numbers."""
    return st.integers(0, len(texts) - 1).map(lambda i: texts[i])


STRINGS = st.one_of(
    _pick(HOSTILE_STRINGS),
    # surrogates among other code points, escaped the way json.dumps writes them: a high
    # one followed by a low one is a pair, any other is refused
    st.text(st.characters(categories=["Cs", "Ll", "Lo", "So", "Cc"]), max_size=4).map(
        json.dumps),
    st.text(st.characters(codec="utf-8"), max_size=4).map(
        lambda s: json.dumps(s, ensure_ascii=False)),
).map(_string_leaf)
NUMBERS = st.one_of(
    _pick(HOSTILE_NUMBERS),
    st.integers(-(10**40), 10**40).map(str),
    st.floats(allow_nan=False, allow_infinity=False).map(repr),
).map(_number_leaf)
LITERALS = st.sampled_from([Leaf("true", True), Leaf("false", False), Leaf("null", None)])
BIG_STRINGS = st.sampled_from([3000, 9000]).map(lambda n: Leaf(f'"{"x" * n}"', "x" * n))
LEAVES = st.one_of(STRINGS, NUMBERS, LITERALS, BIG_STRINGS)
DEPTHS = st.one_of(
    st.integers(1, 9), st.integers(990, 1030), st.sampled_from([1100, 2000]))
DEEP_VALUES = st.builds(Deep, DEPTHS, st.sampled_from(["{", "[", "{[", "[{"]), LEAVES)


def objects(values: st.SearchStrategy[Any], keys: st.SearchStrategy[Leaf] = STRINGS,
            max_size: int = 3) -> st.SearchStrategy[Obj]:
    entries = st.lists(st.tuples(keys, values), max_size=max_size,
                       unique_by=lambda entry: repr(entry[0].value))
    return entries.map(lambda e: Obj(tuple(e)))


VALUES = st.recursive(
    st.one_of(LEAVES, st.lists(LEAVES, max_size=3).map(lambda v: Arr(tuple(v))), DEEP_VALUES),
    lambda inner: objects(inner),
    max_leaves=6,
)
SECTIONS = st.one_of(objects(VALUES), st.just(Leaf("null", None)), LEAVES, DEEP_VALUES,
                     st.lists(LEAVES, max_size=2).map(lambda v: Arr(tuple(v))))
STATE_KEYS = st.sampled_from(['"desired"', '"reported"', '"desired"', '"reported"',
                              '"delta"', r'"\u0064esired"']).map(_string_leaf)
STATES = st.one_of(objects(SECTIONS, STATE_KEYS, 2), st.just(Leaf("null", None)), LEAVES,
                   DEEP_VALUES)
TOKENS = st.one_of(
    STRINGS, st.sampled_from(["t" * 64, "t" * 65, "é" * 32, "é" * 33]).map(
        lambda s: Leaf(json.dumps(s), s)),
    NUMBERS, LITERALS, DEEP_VALUES)
VERSIONS = st.one_of(
    st.sampled_from(["1", "2", "0", "-1", "1.0", str(2**70), "1e400", "true", "null"]).map(
        lambda t: _number_leaf(t) if t[0] in "-0123456789" else Leaf(t, json.loads(t))),
    DEEP_VALUES)


@st.composite
def requests(draw: st.DrawFn) -> tuple[Any, str]:
    """A request model, and what is done to its text: nothing, truncated, garbage after it,
    whitespace after it, a byte order mark, a byte that is not UTF-8."""
    entries: list[tuple[Leaf, Any]] = []
    if draw(st.integers(0, 9)):
        entries.append((Leaf('"state"', "state"), draw(STATES)))
    for key, values in (("clientToken", TOKENS), ("version", VERSIONS), ("junk", VALUES)):
        if draw(st.integers(0, 3)) == 0:
            entries.append((Leaf(f'"{key}"', key), draw(values)))
    entries = draw(st.permutations(entries))
    root: Any = Obj(tuple(entries))
    if draw(st.integers(0, 19)) == 0:
        root = draw(st.one_of(LEAVES, DEEP_VALUES))  # not an object at all
    mangle = draw(st.sampled_from(["none"] * 12 + ["truncate", "garbage", "space", "bom",
                                                    "latin-1"]))
    if mangle == "truncate" and isinstance(root, Leaf):
        mangle = "garbage"  # a prefix of a number can be a number
    return root, mangle


def payload_of(root: Any, mangle: str, slow: bool, cut: float) -> bytes:
    text = dump(root)
    if slow and isinstance(root, Obj):
        text = text[:-1] + ("," if root.entries else "") + f'"big":{BIG}' + "}"
    if mangle == "truncate":
        text = text[: int(len(text) * cut)]
    elif mangle == "garbage":
        text += "}"
    elif mangle == "space":
        text += " \n\t\r"
    elif mangle == "bom":
        text = "\ufeff" + text
    raw = text.encode("utf-8")
    if mangle == "latin-1":
        raw = raw[:1] + b"\xe9" + raw[1:]
    return raw


# -- the documented answer ------------------------------------------------------------------


def strip(tree: dict[str, Any]) -> dict[str, Any] | None:
    """A new object as the service stores it: null and {} children dropped, recursively;
    None when it had children and none is left."""
    out = {}
    for key, child in tree.items():
        if child is None or child == {}:
            continue
        if isinstance(child, dict):
            child = strip(child)
            if child is None:
                continue
        out[key] = child
    return out if out or not tree else None


def compact_size(section: dict[str, Any]) -> int:
    try:
        return len(orjson.dumps(section))
    except TypeError:  # integers beyond 64 bits
        return len(json.dumps(section, separators=(",", ":"), ensure_ascii=False).encode())


def expected_answer(root: Any, mangle: str) -> tuple[Any, dict[str, Any] | None]:
    """(``"accepted"`` or (code, message), the stored state when accepted) for an update of
    a shadow that does not exist yet."""
    if mangle == "latin-1":
        return NOT_UTF8, None
    if mangle in ("truncate", "garbage", "bom") or any(
            leaf.value is REFUSED for leaf in leaves(root)):
        return INVALID_JSON, None
    if brackets(root) > PARSE_DEPTH:
        return TOO_DEEP, None
    if isinstance(root, Deep) and root.kind(0) == "{":
        return (400, "Missing required node: state"), None  # {"k": ...}: an object
    if not isinstance(root, Obj):
        return INVALID_JSON, None
    request = {key.value: node for key, node in root.entries}
    if "clientToken" in request:
        token = value(request["clientToken"])
        if not isinstance(token, str) or len(token.encode()) > MAX_TOKEN_BYTES:
            return (400, "Invalid clientToken"), None
    version = 1
    if "version" in request:
        version = value(request["version"])
        if type(version) is not int or version < 0:
            return (400, "Invalid version"), None
    if "state" not in request:
        return (400, "Missing required node: state"), None
    state = request["state"]
    if isinstance(state, Leaf) and state.value is None:
        return ((400, "Invalid version"), None) if version != 1 else ("accepted", {})
    if not is_object(state):
        return (400, "State node must be an object"), None
    if isinstance(state, Deep):
        return (400, "State contains an invalid node: 'k'"), None
    sections = {key.value: node for key, node in state.entries}
    for key in sections:
        if key not in ("desired", "reported"):
            return (400, f"State contains an invalid node: '{key}'"), None
    for key in ("desired", "reported"):
        node = sections.get(key)
        if node is not None and not (is_object(node) or node == Leaf("null", None)):
            return (400, f"{key.capitalize()} node must be an object"), None
    if any(levels(node) > MAX_DEPTH for node in sections.values()):
        return TOO_DEEP, None
    if any(null_in_array(node) for node in sections.values()):
        return INVALID_JSON, None
    if version != 1:
        return (400, "Invalid version"), None
    stored = {}
    for key, node in sections.items():
        section = value(node)
        if section:
            section = strip(section)
            if section:
                stored[key] = section
    if sum(compact_size(section) for section in stored.values()) > MAX_STATE_BYTES:
        return (413, "The payload exceeds the maximum size allowed"), None
    return "accepted", stored


def echoed_token(root: Any, mangle: str) -> str | None:
    """The clientToken a reply echoes: the request's, when the request reads as a JSON
    object and its token is valid (whatever else is wrong with it)."""
    reads = (mangle in ("none", "space") and isinstance(root, Obj)
             and not any(leaf.value is REFUSED for leaf in leaves(root))
             and brackets(root) <= PARSE_DEPTH)
    if not reads:
        return None
    node = {key.value: node for key, node in root.entries}.get("clientToken")
    token = value(node) if node is not None else None
    ok = isinstance(token, str) and len(token.encode()) <= MAX_TOKEN_BYTES
    return token if ok else None


# -- checks ---------------------------------------------------------------------------------


def _refuse_constant(name: str) -> Any:
    raise AssertionError(f"a reply holds {name}, which is not JSON")


def read_reply(body: bytes) -> Any:
    """A reply as strict JSON: NaN or Infinity in it fails the test."""
    return json.loads(body, parse_constant=_refuse_constant)


def same(a: Any, b: Any) -> bool:
    """Equality by JSON type, exactly (so a stored infinity never equals a served null)."""
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return a == b
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(map(same, a, b))
    return type(a) is type(b) and a == b


def snapshot(service: ShadowService) -> dict[Any, Any]:
    return {key: service.document(*key) for key in service.shadows()}


def no_non_finite(value: Any) -> bool:
    pending = [value]
    while pending:
        node = pending.pop()
        if isinstance(node, float) and not math.isfinite(node):
            return False
        if isinstance(node, dict):
            pending.extend(node.values())
        elif isinstance(node, list):
            pending.extend(node)
    return True


@pytest.mark.parametrize("slow", [False, True], ids=["as-built", "with-64-bit-overflow"])
@settings(max_examples=150, deadline=None)
@given(request=requests(), cut=st.floats(0, 0.999))
def test_every_hostile_update_gets_its_documented_answer_and_rejections_change_nothing(
        slow, request, cut):
    root, mangle = request
    service = ShadowService(clock=ManualClock())
    service.update("base", b'{"state": {"reported": {"x": 1}}}')
    payload = payload_of(root, mangle, slow, cut)
    answer, stored = expected_answer(root, mangle)
    before = snapshot(service)

    replies = service.handle(request_topic("fresh", "update"), payload)  # never raises

    first_topic, first = replies[0]
    reply = read_reply(first)
    for _, body in replies[1:]:
        read_reply(body)
    token = echoed_token(root, mangle)
    assert reply.get("clientToken") == token
    if answer != "accepted":
        assert first_topic.endswith("/update/rejected"), (answer, reply)
        assert (reply["code"], reply["message"]) == answer
        assert len(replies) == 1
        assert snapshot(service) == before
        return
    assert first_topic.endswith("/update/accepted"), reply
    document = service.document("fresh")
    assert document is not None
    served = {key: section for key, section in document["state"].items() if key != "delta"}
    assert same(served, stored)
    assert no_non_finite(document)
    assert snapshot(service)[("base", None)] == before[("base", None)]


@pytest.mark.parametrize("slow", [False, True], ids=["as-built", "with-64-bit-overflow"])
@settings(max_examples=60, deadline=None)
@given(request=requests(), cut=st.floats(0, 0.999), operation=st.sampled_from(["get", "delete"]))
def test_hostile_get_and_delete_payloads_only_decide_the_echoed_token(
        slow, request, cut, operation):
    root, mangle = request
    service = ShadowService(clock=ManualClock())
    service.update("base", b'{"state": {"reported": {"x": 1}}}')
    payload = payload_of(root, mangle, slow, cut)

    replies = service.handle(request_topic("base", operation), payload)

    assert len(replies) == 1
    topic, body = replies[0]
    assert topic.endswith(f"/{operation}/accepted")
    assert read_reply(body).get("clientToken") == echoed_token(root, mangle)


# -- the two readers agree --------------------------------------------------------------------

JSON_VALUES = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(-(2**63), 2**63 - 1),
              st.floats(allow_nan=False, allow_infinity=False),
              st.text(st.characters(categories=["Cs", "Ll", "Nd", "Po", "Cc", "So"]))),
    lambda inner: st.one_of(st.lists(inner, max_size=3),
                            st.dictionaries(st.text(max_size=3), inner, max_size=3)),
    max_leaves=8,
)
EDITS = st.lists(st.tuples(st.floats(0, 1), st.sampled_from(
    ["", "{", "}", "[", "]", ",", ":", '"', "\\", "\\u", "d8", "0", "-", ".", "e", " ", "\x00",
     "n", "\ufeff"])), max_size=3)


@settings(max_examples=300, deadline=None)
@given(JSON_VALUES, st.booleans(), EDITS)
def test_the_own_reader_and_orjson_agree_on_every_text(value, ascii_only, edits):
    """Whatever orjson reads, the own reader reads alike; whatever orjson refuses, so does
    the own reader (texts holding integers beyond 64 bits, which only the own reader keeps
    exact, are left out)."""
    text = json.dumps(value, ensure_ascii=ascii_only, allow_nan=False)
    for where, insert in edits:  # an insertion, or with "" a deletion, somewhere
        at = int(where * len(text))
        text = text[:at] + insert + text[at + (insert == ""):]
    raw = text.encode("utf-8", "surrogatepass")
    if re.search(rb"[0-9]{19}", raw):
        return
    try:
        expected = orjson.loads(raw)
    except orjson.JSONDecodeError:
        with pytest.raises(ShadowRejection):
            strict_json.decode(raw)  # orjson refuses, so the own reader decides
        return
    assert json.dumps(strict_json.parse(text)) == json.dumps(expected)  # values, key order
