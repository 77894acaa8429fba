"""The hostile requests that once crashed the Shadow service or stored what AWS never would:
documents a thousand levels deep, lone surrogates, numbers beyond a double's range. Each is
sent down both readers: as written (orjson) and with a 23-digit integer beside it, which
sends the payload to the service's own reader."""

from __future__ import annotations

import json

import orjson
import pytest

from fakes.shadow import ShadowConfig, ShadowService, request_topic
from fakes.shadow.document import measure
from fakes.shadow.strict_json import MAX_PARSE_DEPTH, NotJSON, TooDeep, parse
from harness.simulation import Simulation
from tests.shadow.conftest import make_service, send

TOO_DEEP = (400, "JSON contains too many levels of nesting; maximum is 6")
INVALID_JSON = (400, "Invalid JSON")
BIG = "12345678901234567890123"
READERS = pytest.mark.parametrize("extra", ["", f',"big":{BIG}'], ids=["orjson", "own-reader"])


def nested(depth: int, leaf: str = "1", kinds: str = "{") -> str:
    opens = "".join('{"a":' if kinds[i % len(kinds)] == "{" else "[" for i in range(depth))
    closes = "".join("}" if kinds[i % len(kinds)] == "{" else "]"
                     for i in reversed(range(depth)))
    return opens + leaf + closes


def snapshot(service: ShadowService) -> dict:
    return {key: service.document(*key) for key in service.shadows()}


def answer(service: ShadowService, payload: str | bytes, thing: str = "thing") -> tuple:
    """(code, message) of a rejection, or "accepted"; checks that a rejection changed
    nothing."""
    before = snapshot(service)
    raw = payload.encode() if isinstance(payload, str) else payload
    replies = send(service, request_topic(thing, "update"), raw)
    if "update/accepted" in replies:
        return "accepted"
    rejected = replies["update/rejected"]
    assert snapshot(service) == before
    return rejected["code"], rejected["message"]


@pytest.fixture
def service() -> ShadowService:
    service = make_service()
    send(service, request_topic("thing", "update"), {"state": {"reported": {"keep": 1}}})
    return service


# -- depth ----------------------------------------------------------------------------------


@READERS
@pytest.mark.parametrize("depth", [7, 994, 995, 1000, 1022, 1023, 1024, 1025, 1100, 5000])
@pytest.mark.parametrize("kinds", ["{", "[", "{["])
def test_a_deep_document_gets_the_nesting_error_at_any_depth(service, depth, kinds, extra):
    payload = '{"state":{"desired":{"d":' + nested(depth, kinds=kinds) + "}}" + extra + "}"
    assert answer(service, payload) == TOO_DEEP


@READERS
@pytest.mark.parametrize("depth", [995, 1023, 2000])
def test_a_deep_document_that_is_not_json_is_invalid_json(service, depth, extra):
    payload = '{"state":{"desired":' + nested(depth) + "}" + extra  # one brace short
    assert answer(service, payload) == INVALID_JSON


@READERS
def test_deep_content_outside_the_state_is_read_up_to_the_parse_limit(service, extra):
    """Only desired and reported have a nesting limit; a reader still stops somewhere."""
    inside = '{"state":{"reported":{"x":2}},"junk":' + nested(MAX_PARSE_DEPTH - 1) + extra + "}"
    assert answer(service, inside) == "accepted"
    beyond = '{"state":{"reported":{"x":3}},"junk":' + nested(MAX_PARSE_DEPTH) + extra + "}"
    assert answer(service, beyond) == TOO_DEEP
    assert service.document("thing")["state"]["reported"] == {"keep": 1, "x": 2}


def test_a_deep_client_token_or_version_is_invalid_not_a_crash(service):
    token = '{"state":{"reported":{}},"clientToken":' + nested(1000) + "}"
    assert answer(service, token) == (400, "Invalid clientToken")
    version = '{"state":{"reported":{}},"version":' + nested(1000, kinds="[") + "}"
    assert answer(service, version) == (400, "Invalid version")


def test_depth_is_measured_past_an_array_holding_null():
    """The nesting rule comes first even when an array at the top holds null."""
    service = make_service()
    payload = '{"state":{"desired":{"l":[null,' + nested(7, kinds="[") + "]}}}"
    assert answer(service, payload) == TOO_DEEP
    assert measure([None, [[1]]]) == (3, True)


def test_measure_keeps_no_recursion_and_stops_past_its_limit():
    deep: list = [1]
    for _ in range(50_000):
        deep = [deep]
    assert measure(deep) == (50_001, False)
    assert measure(deep, 6) == (7, False)


# -- surrogates -----------------------------------------------------------------------------


@READERS
@pytest.mark.parametrize("escape", [r"\ud800", r"\udc00", r"\ude00\ud83d", r"a\udbffb",
                                    r"\\\ud800"])
@pytest.mark.parametrize("where", ["key", "value", "clientToken"])
def test_a_lone_surrogate_is_invalid_json(service, escape, where, extra):
    body = {
        "key": f'{{"state":{{"desired":{{"{escape}":1}}}}{extra}}}',
        "value": f'{{"state":{{"desired":{{"s":"{escape}"}}}}{extra}}}',
        "clientToken": f'{{"clientToken":"{escape}","state":{{"desired":{{"s":1}}}}{extra}}}',
    }[where]
    assert answer(service, body) == INVALID_JSON


@READERS
def test_a_surrogate_pair_is_one_character(service, extra):
    payload = r'{"clientToken":"\ud83d\ude00","state":{"desired":{"\ud83d\ude00":"\\ud800"}}'
    replies = send(service, request_topic("thing", "update"), (payload + extra + "}").encode())
    assert replies["update/accepted"]["clientToken"] == "\U0001f600"
    assert service.document("thing")["state"]["desired"] == {"\U0001f600": "\\ud800"}


def test_raw_surrogate_bytes_are_not_utf8(service):
    payload = b'{"state":{"desired":{"s":"\xed\xa0\x80"}},"big":' + BIG.encode() + b"}"
    assert answer(service, payload) == (
        415, "Unsupported documented encoding; supported encoding is UTF-8")


# -- numbers --------------------------------------------------------------------------------


@READERS
@pytest.mark.parametrize("number", ["1e400", "-1e400", "1E+309", "1.7976931348623159e308",
                                    "1" + "0" * 400 + ".5"])
def test_a_number_beyond_a_double_is_invalid_json_never_infinity(service, number, extra):
    payload = f'{{"state":{{"desired":{{"n":{number}}}}}{extra}}}'
    assert answer(service, payload) == INVALID_JSON
    assert "desired" not in service.document("thing")["state"]


@READERS
def test_tiny_numbers_read_as_zero_on_both_readers(service, extra):
    assert answer(service, f'{{"state":{{"desired":{{"n":1e-400}}}}{extra}}}') == "accepted"
    assert service.document("thing")["state"]["desired"] == {"n": 0.0}


def test_big_integers_stay_exact_up_to_the_number_length_limit(service):
    longest = "9" * 1000
    assert answer(service, f'{{"state":{{"desired":{{"n":{longest}}}}}}}') == "accepted"
    assert service.document("thing")["state"]["desired"]["n"] == int(longest)
    for too_long in ("9" * 1001, "-" + "9" * 1000, "0." + "0" * 998 + "1", "9" * 5000):
        assert answer(service, f'{{"state":{{"desired":{{"n":{too_long}}}}}}}') == INVALID_JSON


def test_the_number_length_limit_is_a_setting():
    service = make_service(max_number_length=5)
    assert answer(service, '{"state":{"desired":{"n":12345}}}') == "accepted"
    for too_long in ("123456", "1.2345", "-12345", "1e+100"):
        assert answer(service, f'{{"state":{{"desired":{{"n":{too_long}}}}}}}') == INVALID_JSON
    with pytest.raises(ValueError, match="max_number_length"):
        ShadowConfig(max_number_length=5000)
    with pytest.raises(ValueError, match="max_depth"):
        ShadowConfig(max_depth=1000)


def test_python_callers_sending_infinity_or_lone_surrogates_get_the_aws_answer():
    """A dict goes out as json.dumps writes it (Infinity, escaped surrogates), so it is
    refused as AWS would refuse it, not stored as null; a str holding a lone surrogate goes
    out as the bytes it would be."""
    service = make_service()
    for body in ({"state": {"desired": {"n": float("inf")}}},
                 {"state": {"desired": {"n": float("nan")}}},
                 {"state": {"desired": {"s": "\ud800"}}}):
        outcome = service.update("thing", body)
        assert (outcome.code, outcome.response["message"]) == INVALID_JSON
    outcome = service.update("thing", '{"state":{"desired":{"s":"\ud800"}}}')
    assert outcome.code == 415
    assert service.document("thing") is None


# -- the reader itself ------------------------------------------------------------------------


@pytest.mark.parametrize("text", [
    "", " ", "{", "[1,]", '{"a":1,}', "01", "1.", ".5", "-", "+1", "1e", "NaN", "Infinity",
    "-Infinity", "tru", "nulls", '{"a" 1}', '{1:2}', "[1 2]", '"\t"', '"\\x"', '"\\u12"',
    "\ufeff{}", "{}\f", "{} {}", "[", "]", '"abc', "/* */{}",
])
def test_the_own_reader_refuses_what_orjson_refuses(text):
    with pytest.raises(orjson.JSONDecodeError):
        orjson.loads(text.encode())
    with pytest.raises(NotJSON):
        parse(text)


@pytest.mark.parametrize("text", [
    '{"a":[1,2.5,-0,1e-3,"x",true,false,null,{}],"b":{"c":[]}}', ' \n{"a":1}\t\r ',
    '"\\"\\\\\\/\\b\\f\\n\\r\\t\\u00e9"', '{"a":1,"a":2,"b":3}', "[[[[]]]]", "123", "-0.0",
])
def test_the_own_reader_reads_what_orjson_reads(text):
    assert json.dumps(parse(text)) == json.dumps(orjson.loads(text))  # values and key order


def test_the_own_reader_reads_any_depth_without_recursion():
    assert parse("[" * MAX_PARSE_DEPTH + "]" * MAX_PARSE_DEPTH) is not None
    with pytest.raises(TooDeep):
        parse("[" * 100_000 + "]" * 100_000)
    with pytest.raises(NotJSON):  # validity is decided before depth
        parse("[" * 100_000 + "]" * 99_999)


# -- the same payloads published by a device on the simulated core ---------------------------


def test_a_device_publishing_a_thousand_levels_deep_update_gets_the_nesting_error():
    topic = "$aws/things/weather-station/shadow/update"
    deep = ('{"state":{"reported":' + nested(1000) + "}}").encode()
    lone = ('{"state":{"reported":{"s":"\\ud800"}},"big":' + BIG + "}").encode()
    with Simulation.from_group() as sim:  # lambdas/group.yaml: the station's own console
        # through the bridge to ShadowManager; the console (subscribed to shadow/#) also
        # gets its own request back from the broker
        reached = ("device:weather-station", "ShadowManager")
        assert sim.publish("weather-station", topic, deep) == reached
        assert sim.publish("weather-station", topic, lone) == reached
        replies = [m.json() for m in sim.core.delivered_to("device:weather-station")
                   if m.source == "ShadowManager"]
        assert [(r["code"], r["message"]) for r in replies] == [TOO_DEEP, INVALID_JSON]
        assert sim.shadow("weather-station") is None

