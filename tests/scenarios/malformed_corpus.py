"""A corpus of broken scenario, group and pi config files, for the loaders' robustness tests.

Every case is one file (or a missing file, a folder, a FIFO) made from a known-good document
by one mutation: truncation, bytes that are not UTF-8, NUL and control characters, byte order
marks, deep nesting, anchors and aliases (billion laughs, cycles), tags (``!!python/object``,
``!!binary``, dates), duplicate keys, wrong types, absurd numbers (``.inf``, ``.nan``, ``-1``,
``1e300``, 400-digit integers) in every numeric field, huge lists and strings, binary junk.
Cases are deterministic (no randomness besides a seeded generator), so a failure names a case
that can be written out and looked at (:func:`write_case`).

The loaders must answer each with their own error (every line ``file:line: field: problem``)
or with a model that runs to its end in bounded time.
"""

from __future__ import annotations

import copy
import datetime
import os
import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import yaml

Kind = Literal["scenario", "group", "pi_config"]
Special = Literal["missing", "directory", "fifo"]


@dataclass(frozen=True)
class Case:
    """One broken file: how to make its bytes (or a special kind of path) and what it is
    meant to be. Contents are made when asked for, so collecting the cases is cheap."""

    id: str
    kind: Kind
    make: Callable[[], bytes] = bytes
    special: Special | None = None

    @property
    def content(self) -> bytes:
        return self.make()


GOOD_SCENARIO: dict[str, Any] = {
    "name": "corpus",
    "description": "every part of a scenario, to be broken one at a time",
    "duration": 60,
    "seed": 3,
    "step": 1.0,
    "cpu_temperature": 45.0,
    "cloud": True,
    "environment": {"points": [
        {"at": 0, "temperature": 15.0, "pressure": 1010.0, "humidity": 50.0,
         "gas_resistance": 50000.0},
        {"at": 60, "temperature": 16.0, "pressure": 1009.0, "humidity": 55.0},
    ]},
    "device": {"thing": "bme680-sensor", "period": 5},
    "truth": {"rain": [{"start": 10, "end": 20}]},
    "needs": ["virtual_time"],
    "stimuli": [
        {"at": 5, "publish": {"source": "bme680-sensor", "topic": "bme680/readings",
                              "payload": {"sequence": 1, "temperature": 30.0, "pressure": 1005.0,
                                          "humidity": 60.0, "message": "Success"},
                              "repeat": 2}},
        {"at": 10, "desired": {"thing": "weather-station", "state": {"period": 10}}},
        {"at": 40, "delete_shadow": {"thing": "weather-station"}},
    ],
    "faults": [
        {"at": 15, "sensor": {"bus_error": {"errno": 121}}, "transactions": 3},
        {"at": 16, "sensor": {"self_heating": {"offset_c": 2.5}}, "duration": 4},
        {"at": 17, "sensor": {"wrong_chip_id": {"chip_id": 0x61}}, "transactions": 1},
        {"at": 20, "broker_disconnect": {}, "duration": 5},
        {"at": 30, "core_restart": {"downtime": 2}},
        {"at": 35, "lambda_timeout": {"function": "republish"}, "invocations": 1},
        {"at": 45, "cloud_disconnect": {}, "duration": 5},
    ],
    "expectations": [
        {"within": 30, "after": 1,
         "shadow": {"path": "state.reported.temperature", "approx": 15, "tolerance": 0.5}},
        {"always": "version grows"},
        {"always": {"messages": {"topic": "bme680/readings", "count": {"min": 0, "max": 100}}}},
        {"never": {"shadow_path": "state.reported.temperature", "is_null": True}},
        {"messages": {"topic": "bme680/readings", "count": {"min": 2},
                      "where": {"path": "sequence", "equals": 1}}},
        {"log": {"function": "republish", "contains": "x", "count": {"min": 0}}},
        {"stats": {"function": "republish", "field": "errors", "min": 0, "max": 10}},
        {"in_sync": {"thing": "weather-station"}},
    ],
}

PROFILES: dict[str, Any] = {
    "steady": {"steady": {"temperature": 15.0, "pressure": 1010.0, "humidity": 50.0,
                          "gas_resistance": 40000.0}},
    "rain_front": {"rain_front": {"start": 10, "hours": 1, "humidity_from": 40,
                                  "humidity_to": 90, "pressure_from": 1020, "pressure_to": 1000,
                                  "temperature_from": 15, "temperature_to": 12}},
}

GOOD_GROUP: dict[str, Any] = {
    "name": "corpus-group",
    "region": "us-east-1",
    "account": "123456789012",
    "core": {"thing": "core-thing", "shadow_sync": False},
    "ml_resources": [{"name": "model", "s3_uri": "s3://bucket-name/model.zip",
                      "destination": "/ggml/model"}],
    "secrets": [{"name": "token"}],
    "functions": [
        {"name": "republish", "module": "republish", "pinned": False, "timeout": 25,
         "memory_mb": 128, "encoding": "json", "max_queue_size": 1000, "max_instances": 10,
         "max_idle_time": 60, "sys_access": True, "environment": {"THING_NAME": "x"},
         "ml_resources": ["model"], "secrets": ["token"]},
        {"name": "inference", "module": "inference", "pinned": True, "timeout": 60,
         "status_timeout": 60, "memory_mb": 256},
    ],
    "devices": [{"thing": "bme680-sensor", "shadow_sync": True}],
    "subscriptions": [
        {"source": "device:bme680-sensor", "subject": "bme680/readings",
         "target": "function:republish"},
        {"source": "function:republish", "subject": "$aws/things/weather-station/shadow/update",
         "target": "GGShadowService"},
    ],
}

GOOD_PI_CONFIG: dict[str, Any] = {
    "core": {"host": "192.168.1.20", "port": 8883, "ca": "certs/ca.pem"},
    "client": {"thing": "weather-station", "cert": "c.pem", "key": "k.pem"},
    "devices": {"bme680-sensor": {"thing": "bme680-sensor", "cert": "s.pem", "key": "s.key"}},
    "shadow_thing": "weather-station",
    "sensor": {"bus": 1, "address": 0x76},
    "greengrass_root": "/greengrass/v2",
    "lambdas": {"republish": None},
    "deployed_glob": "packages/artifacts-unarchived/{component}/{version}/**/{module}.py",
    "greengrass_cli": "sudo -n /greengrass/v2/bin/greengrass-cli",
    "mqtt_protocol": "mqtt3",
    "restart_command": "sudo systemctl restart greengrass",
    "timing_factor": 3.0,
    "lock_file": "/tmp/corpus.lock",
}

GOOD: dict[Kind, dict[str, Any]] = {
    "scenario": GOOD_SCENARIO, "group": GOOD_GROUP, "pi_config": GOOD_PI_CONFIG,
}

#: Absurd numbers, as YAML text: each replaces a numeric field's value.
ABSURD = {  # (YAML 1.1 reads a float only with a '.' and a signed exponent: 1.0e+300)
    "inf": ".inf", "-inf": "-.inf", "nan": ".nan", "-1": "-1", "0": "0", "1e300": "1.0e+300",
    "tiny": "1.0e-300", "huge-int": "1" + "0" * 400,
}


def dump(data: Any) -> bytes:
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=100).encode()


def _numeric_paths(data: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    """Every path to a number (not a boolean) in ``data``."""
    if isinstance(data, dict):
        for key, value in data.items():
            yield from _numeric_paths(value, (*path, key))
    elif isinstance(data, list):
        for position, value in enumerate(data):
            yield from _numeric_paths(value, (*path, position))
    elif isinstance(data, int | float) and not isinstance(data, bool):
        yield path


def _replace(data: Any, path: tuple[Any, ...], value: Any) -> Any:
    data = copy.deepcopy(data)
    target = data
    for part in path[:-1]:
        target = target[part]
    target[path[-1]] = value
    return data


Make = Callable[[], bytes]
Cases = Iterator[tuple[str, Make]]


class _Raw(str):
    """A value written into the YAML text as it is (``.inf``, a 400-digit integer)."""


def _dump_raw(data: Any) -> bytes:
    """Like :func:`dump`, with :class:`_Raw` values written verbatim (unquoted)."""
    marks: dict[str, str] = {}

    def swap(value: Any) -> Any:
        if isinstance(value, _Raw):
            mark = f"RAW{len(marks)}MARK"
            marks[mark] = str(value)
            return mark
        if isinstance(value, dict):
            return {key: swap(item) for key, item in value.items()}
        if isinstance(value, list):
            return [swap(item) for item in value]
        return value

    text = dump(swap(data)).decode()
    for mark, raw in marks.items():
        text = text.replace(mark, raw)
    return text.encode()


def _dotted(path: tuple[Any, ...]) -> str:
    return ".".join(str(part) for part in path)


def _set(good: dict[str, Any], path: tuple[Any, ...], value: Any) -> Make:
    """A maker of ``good`` with ``value`` at ``path`` (a :class:`_Raw` value verbatim)."""
    return lambda: _dump_raw(_replace(good, path, value))


def _listed(good: dict[str, Any], path: tuple[Any, ...], item: str, count: int) -> Make:
    """A maker of ``good`` with a flow list of ``count`` copies of the YAML ``item`` at
    ``path`` (written as text: dumping huge lists with PyYAML would be slow)."""
    return lambda: _dump_raw(_replace(good, path, _Raw("[" + ", ".join([item] * count) + "]")))


def _bytes(content: bytes) -> Make:
    return lambda: content


# ---------------------------------------------------------------- generic mutations


def _text_cases(kind: Kind) -> Cases:
    """Broken text: the same for every kind of file."""
    good = dump(GOOD[kind])
    yield "empty", _bytes(b"")
    yield "blank", _bytes(b"   \n\n\t\n")
    yield "comment-only", _bytes(b"# nothing here\n")
    yield "document-marker-only", _bytes(b"---\n...\n")
    yield "null", _bytes(b"null\n")
    yield "scalar", _bytes(b"just text\n")
    yield "number", _bytes(b"42\n")
    yield "list", _bytes(b"- a\n- b\n")
    yield "json-array", _bytes(b"[1, 2, 3]")
    yield "two-documents", _bytes(good + b"---\n" + good)
    for share in (0.1, 0.33, 0.5, 0.77, 0.95):
        yield f"truncated-{int(share * 100)}", _bytes(good[: int(len(good) * share)])
    flow = yaml.safe_dump(GOOD[kind], default_flow_style=True, width=10**6).encode()
    yield "flow-truncated", _bytes(flow[: len(flow) // 2])
    yield "unclosed-quote", _bytes(good.replace(b"\n", b" 'open\n", 1))
    yield "tab-indent", _bytes(good.replace(b"\n  ", b"\n\t", 3))
    yield "bad-indent", _bytes(good.replace(b"\n  ", b"\n ", 2))
    yield "latin1-byte", _bytes(good.replace(b"\n", " caf\u00e9\n".encode("latin-1"), 1))
    yield "ff-fe-junk", _bytes(b"\xff\xfe\xfd" + good)
    yield "lone-continuation", _bytes(good[:20] + b"\x80" + good[20:])
    yield "surrogate-utf8", _bytes(good[:20] + b"\xed\xa0\x80" + good[20:])
    yield "overlong-utf8", _bytes(good[:20] + b"\xc0\xaf" + good[20:])
    yield "utf8-bom", _bytes(b"\xef\xbb\xbf" + good)
    yield "utf16-bom", _bytes(good.decode().encode("utf-16"))
    yield "utf16-no-bom", _bytes(good.decode().encode("utf-16-le"))
    yield "utf32-bom", _bytes(good.decode().encode("utf-32"))
    yield "bom-inside", _bytes(good[:30] + b"\xef\xbb\xbf" + good[30:])
    yield "nul-middle", _bytes(good[: len(good) // 2] + b"\x00" + good[len(good) // 2 :])
    yield "nul-end", _bytes(good + b"\x00")
    yield "nul-only", _bytes(b"\x00" * 64)
    yield "bell-char", _bytes(good.replace(b"\n", b"\x07\n", 1))
    yield "escape-char", _bytes(good.replace(b"\n", b"\x1b[31m\n", 1))
    yield "crlf", _bytes(good.replace(b"\n", b"\r\n"))  # valid YAML
    yield "cr-only", _bytes(good.replace(b"\n", b"\r"))  # valid YAML too
    yield "deep-flow-list", lambda: b"x: " + b"[" * 100_000 + b"]" * 100_000 + b"\n"
    yield "deep-flow-map", lambda: b"x: " + b"{a: " * 20_000 + b"1" + b"}" * 20_000 + b"\n"
    yield "deep-flow-unclosed", lambda: b"x: " + b"[" * 200_000 + b"\n"
    yield "deep-block", lambda: b"".join(b" " * depth + b"k:\n" for depth in range(3000))
    yield "deep-block-list", lambda: b"".join(b"  " * n + b"- \n" for n in range(3000))
    laughs = b"".join(
        b"l%d: &l%d [" % (n, n) + b", ".join([b"*l%d" % (n - 1)] * 10) + b"]\n"
        for n in range(1, 10)
    )
    yield "billion-laughs-top", _bytes(b"l0: &l0 [lol]\n" + laughs + good)
    yield "alias-undefined", _bytes(good + b"extra: *nowhere\n")
    yield "alias-cycle", _bytes(b"loop: &a [*a]\n" + good)
    yield "alias-cycle-map", _bytes(b"loop: &m {self: *m}\n" + good)
    yield "anchor-unused", _bytes(b"x: &a 1\n" + good)
    yield "merge-key-bad", _bytes(good + b"m:\n  <<: 1\n")
    yield "python-object", _bytes(b"x: !!python/object/apply:os.system ['true']\n" + good)
    yield "python-name", _bytes(b"x: !!python/name:os.system\n" + good)
    yield "custom-tag", _bytes(b"x: !custom thing\n" + good)
    yield "binary-tag", _bytes(b"x: !!binary aGVsbG8=\n" + good)
    yield "set-tag", _bytes(b"x: !!set {a, b}\n" + good)
    yield "omap-tag", _bytes(b"x: !!omap [a: 1]\n" + good)
    yield "bad-int-tag", _bytes(b"x: !!int abc\n" + good)
    yield "bad-float-tag", _bytes(b"x: !!float abc\n" + good)
    yield "unhashable-key", _bytes(b"? [a, b]\n: 1\n" + good)
    yield "map-key", _bytes(b"? {a: 1}\n: 1\n" + good)
    yield "null-key", _bytes(b"~: 1\n" + good)
    yield "int-key", _bytes(b"1: 1\n" + good)
    yield "bool-key", _bytes(b"true: 1\n" + good)
    yield "date-key", _bytes(b"2024-01-01: 1\n" + good)
    yield "duplicate-top-key", _bytes(good + good.split(b"\n", 1)[0] + b"\n")
    yield "binary-junk", lambda: random.Random(7).randbytes(4096)
    yield "png", lambda: b"\x89PNG\r\n\x1a\n" + random.Random(8).randbytes(256)
    yield "gzip", lambda: b"\x1f\x8b\x08\x00" + random.Random(9).randbytes(256)
    if kind == "scenario":  # the big ones once: the loader's reading is shared
        yield "long-line", lambda: good + b"comment: " + b"x" * 2_000_000 + b"\n"
        yield "long-key", lambda: b"k" * 1_000_000 + b": 1\n" + good
        yield "huge-string-value", lambda: b"junk: '" + b"x" * 3_000_000 + b"'\n" + good
        yield "many-unknown-keys", lambda: good + b"".join(b"k%d: 1\n" % n
                                                           for n in range(50_000))
        yield "too-big", lambda: good + b"# " + b"padding " * 3_000_000 + b"\n"


def _absurd_numbers(good: dict[str, Any]) -> Cases:
    """Every numeric field of ``good`` set to each :data:`ABSURD` value."""
    for path in _numeric_paths(good):
        for label, raw in ABSURD.items():
            yield f"{_dotted(path)}={label}", _set(good, path, _Raw(raw))


def _wrong_types(good: dict[str, Any], fields: tuple[str, ...]) -> Cases:
    for field in fields:
        for label, value in (("list", [1]), ("map", {"a": 1}), ("text", "text"),
                             ("null", None), ("bool", True), ("float", 1.5)):
            yield f"{field}-as-{label}", _set(good, (field,), value)


# ---------------------------------------------------------------- scenario mutations


def _scenario_cases() -> Cases:
    good = GOOD_SCENARIO
    yield from _absurd_numbers(good)
    for body in PROFILES.values():
        with_profile = _replace(good, ("environment",), {"profile": body})
        for path in _numeric_paths(body):
            for label in ("inf", "nan", "1e300", "-1", "tiny", "huge-int"):
                yield (f"profile.{_dotted(path)}={label}",
                       _set(with_profile, ("environment", "profile", *path),
                            _Raw(ABSURD[label])))
    rain = _replace(good, ("environment",), {"profile": PROFILES["rain_front"]})
    yield "rain_front-start-far", _set(rain, ("environment", "profile", "rain_front", "start"),
                                       _Raw("1.0e+300"))
    yield from _wrong_types(good, ("name", "description", "environment", "device", "stimuli",
                                   "faults", "expectations", "needs", "truth", "cloud",
                                   "seed"))
    environment = ("environment",)
    for label, trace in (("missing", "nope.jsonl"), ("absolute", "/etc/passwd"),
                         ("dev-zero", "/dev/zero"), ("parent", "../../x.jsonl"),
                         ("folder", "."), ("empty-name", ""), ("nul", "a\x00b")):
        yield f"trace-{label}", _set(good, environment, {"trace": trace})
    points = good["environment"]["points"]
    yield "points-empty", _set(good, ("environment", "points"), [])
    yield "points-unsorted", _set(good, ("environment", "points"), points[::-1])
    yield "points-same-time", _set(good, ("environment", "points", 1, "at"), 0)
    yield "points-many", _listed(good, ("environment", "points"),
                                 "{at: 0, temperature: 15, pressure: 1010, humidity: 50}",
                                 300_000)
    payload = ("stimuli", 0, "publish", "payload")
    state = ("stimuli", 1, "desired", "state")
    where = ("expectations", 4, "messages", "where", "equals")
    yield "payload-billion-laughs", _laughs_in(good, payload)
    yield "desired-billion-laughs", _laughs_in(good, state)
    yield "equals-billion-laughs", _laughs_in(good, where)
    yield "payload-deep", _set(good, payload, _nested(400))
    yield "desired-deep", _set(good, state, _nested(400))
    yield "payload-huge", _set(good, payload, _Raw("x" * 3_000_000))
    yield "payload-big", _set(good, payload, {"blob": "x" * 200_000})
    yield "desired-big", _set(good, state, {"blob": "x" * 200_000})
    yield "payload-binary", _set(good, payload, b"\x00\x01binary")
    yield "payload-date", _set(good, payload, datetime.date(2024, 1, 1))
    yield "payload-datetime", _set(good, payload, {"at": datetime.datetime(2024, 1, 1, 12)})
    yield "payload-set", _set(good, payload, _Raw("!!set {a, b}"))
    yield "payload-int-keys", _set(good, payload, _Raw("{1: a, null: b}"))
    yield "payload-nan", _set(good, payload, _Raw("{t: .nan}"))
    yield "payload-text-infinity", _set(  # sent as it is: a device may publish this
        good, payload, '{"sequence": Infinity, "temperature": 1e999, "pressure": -Infinity}')
    yield "desired-date", _set(good, state, {"day": datetime.date(2024, 1, 1)})
    yield "desired-int-key", _set(good, state, _Raw("{1: a}"))
    yield "desired-empty", _set(good, state, {})
    yield "desired-inf", _set(good, state, _Raw("{t: .inf}"))
    yield "equals-date", _set(good, where, datetime.date(2024, 1, 1))
    yield "equals-binary", _set(good, where, b"\x01")
    yield "name-date", _set(good, ("name",), datetime.date(2024, 1, 1))
    yield "name-empty", _set(good, ("name",), "")
    yield "name-huge", _set(good, ("name",), _Raw("n" * 2_000_000))
    yield "name-control", _set(good, ("name",), "a\x1b[2Jb")
    for label, topic in (("empty", ""), ("hash", "#"), ("plus", "a/+/b"), ("nul", "a\x00b"),
                         ("long", "t" * 300), ("slashes", "a/" * 9 + "b"),
                         ("huge", "t" * 1_000_000)):
        yield f"publish-topic-{label}", _set(good, ("stimuli", 0, "publish", "topic"), topic)
        yield f"messages-topic-{label}", _set(good, ("expectations", 4, "messages", "topic"),
                                             topic)
    source = ("stimuli", 0, "publish", "source")
    yield "publish-source-unknown", _set(good, source, "nobody")
    yield "publish-source-function", _set(good, source, "function:nope")
    yield "publish-source-empty", _set(good, source, "")
    yield "desired-thing-bad", _set(good, ("stimuli", 1, "desired", "thing"), "a/b#")
    yield "delete-thing-empty", _set(good, ("stimuli", 2, "delete_shadow", "thing"), "")
    yield "device-thing-unknown", _set(good, ("device", "thing"), "not-in-group")
    yield "device-thing-bad", _set(good, ("device", "thing"), "a b/c")
    yield "timeout-function-unknown", _set(good, ("faults", 5, "lambda_timeout", "function"),
                                           "nope")
    yield "log-function-unknown", _set(good, ("expectations", 5, "log", "function"), "nope")
    yield "stats-function-unknown", _set(good, ("expectations", 6, "stats", "function"), "nope")
    yield "shadow-path-empty", _set(good, ("expectations", 0, "shadow", "path"), "")
    yield "needs-unknown", _set(good, ("needs",), ["teleport"])
    yield "needs-many", _listed(good, ("needs",), "cloud", 100_000)
    yield "stimulus-after-end", _set(good, ("stimuli", 0, "at"), 61)
    yield "fault-after-end", _set(good, ("faults", 3, "at"), 600)
    yield "within-after-end", _set(good, ("expectations", 0, "within"), 6000)
    yield "truth-reversed", _set(good, ("truth", "rain", 0), {"start": 20, "end": 10})
    never = "{never: {shadow_path: state.reported.temperature, is_null: true}}"
    yield "expectations-many", _listed(good, ("expectations",), never, 100_000)
    yield "expectations-some", _listed(good, ("expectations",), never, 5_000)
    yield "stimuli-many", _listed(good, ("stimuli",), "{at: 30, delete_shadow: {}}", 200_000)
    yield "faults-many", _listed(good, ("faults",),
                                 "{at: 20, broker_disconnect: {}, duration: 1}", 100_000)
    yield "repeat-billion", _set(good, ("stimuli", 0, "publish", "repeat"), 10**9)
    yield "repeat-many-stimuli", _listed(
        good, ("stimuli",), "{at: 1, publish: {source: bme680-sensor, topic: bme680/readings,"
        " payload: {n: 1}, repeat: 100000}}", 60)
    yield "period-tiny", _set(good, ("device", "period"), 1e-6)
    yield "step-tiny", _set(good, ("step",), 1e-6)
    yield "week-at-small-step", _set(_replace(good, ("duration",), 604_800), ("step",), 0.01)
    yield "year", _set(good, ("duration",), 365 * 86400)
    yield "fault-sensor-unknown", _set(good, ("faults", 0, "sensor"), "melted")
    yield "fault-two-kinds", _set(good, ("faults", 3, "core_restart"), {})
    yield "always-bad-text", _set(good, ("expectations", 1, "always"), "version shrinks")
    yield "count-reversed", _set(good, ("expectations", 2, "always", "messages", "count"),
                                 {"min": 5, "max": 1})
    yield "stats-field-unknown", _set(good, ("expectations", 6, "stats", "field"), "x")
    yield "side-unknown", _set(good, ("expectations", 0, "shadow", "side"), "moon")
    yield "within-with-always", _set(good, ("expectations", 1, "within"), 5)


def _nested(depth: int) -> _Raw:
    """``depth`` mappings inside each other, as flow YAML."""
    return _Raw("{a: " * depth + "1" + "}" * depth)


def _laughs_in(good: dict[str, Any], path: tuple[Any, ...]) -> Make:
    """``good`` with a billion-laughs tree (10**9 leaves through aliases) at ``path``."""
    tree = "&l0 [lol]"
    for n in range(1, 10):
        tree = f"&l{n} [{tree}, " + ", ".join([f"*l{n - 1}"] * 9) + "]"
    return _set(good, path, _Raw(tree))


# ---------------------------------------------------------------- group mutations


def _group_cases() -> Cases:
    good = GOOD_GROUP
    yield from _absurd_numbers(good)
    yield from _wrong_types(good, ("name", "core", "functions", "devices", "subscriptions",
                                   "ml_resources", "secrets", "region", "account"))
    env = ("functions", 0, "environment")
    yield "function-env-date", _set(good, (*env, "THING_NAME"), datetime.date(2024, 1, 1))
    yield "function-env-huge", _set(good, (*env, "BIG"), _Raw("x" * 3_000_000))
    yield "function-env-many", lambda: _dump_raw(_replace(good, env, _Raw(
        "{" + ", ".join(f"V{n}: x" for n in range(100_000)) + "}")))
    yield "subscriptions-many", lambda: _dump_raw(_replace(good, ("subscriptions",), _Raw(
        "[" + ", ".join(f"{{source: cloud, subject: t/{n}, target: 'function:republish'}}"
                        for n in range(100_000)) + "]")))
    yield "functions-many", lambda: _dump_raw(_replace(good, ("functions",), _Raw(
        "[" + ", ".join(f"{{name: f{n}, module: republish}}" for n in range(30_000)) + "]")))
    yield "subscriptions-laughs", _laughs_in(good, ("subscriptions",))
    yield "duplicate-function-key", lambda: dump(good).replace(
        b"  - name: republish\n", b"  - name: republish\n    name: again\n")


# ---------------------------------------------------------------- pi config mutations


def _pi_config_cases() -> Cases:
    good = GOOD_PI_CONFIG
    yield from _absurd_numbers(good)
    yield from _wrong_types(good, ("core", "client", "devices", "sensor", "lambdas",
                                   "restart_command", "greengrass_root", "timing_factor",
                                   "deployed_glob", "greengrass_cli", "mqtt_protocol"))
    yield "path-nul", _set(good, ("client", "cert"), "a\x00b")
    yield "path-huge", _set(good, ("client", "cert"), _Raw("p" * 1_000_000))
    yield "restart-unbalanced-quote", _set(good, ("restart_command",), "sudo 'x")
    yield "cli-unbalanced-quote", _set(good, ("greengrass_cli",), "sudo 'x")
    yield "glob-unknown-field", _set(good, ("deployed_glob",), "{component}/{name}.py")
    yield "glob-unbalanced-brace", _set(good, ("deployed_glob",), "{module.py")
    yield "mqtt-protocol-number", _set(good, ("mqtt_protocol",), 5)


_KIND_CASES: dict[Kind, Callable[[], Cases]] = {
    "scenario": _scenario_cases, "group": _group_cases, "pi_config": _pi_config_cases,
}


def cases(kinds: tuple[Kind, ...] = ("scenario", "group", "pi_config")) -> list[Case]:
    """Every case of the corpus for ``kinds``, in a stable order with unique ids."""
    found: list[Case] = []
    for kind in kinds:
        for name, make in (*_text_cases(kind), *_KIND_CASES[kind]()):
            found.append(Case(f"{kind}:{name}", kind, make))
        for special in ("missing", "directory", "fifo"):
            found.append(Case(f"{kind}:{special}", kind, special=special))  # type: ignore[arg-type]
    ids = [case.id for case in found]
    assert len(ids) == len(set(ids)), "case ids are unique"
    return found


def write_case(case: Case, folder: Path) -> Path:
    """Write ``case`` into ``folder`` (a scenario in ``folder/scenarios/``, where the
    pytest plugin and ``harness run`` look); the path to load."""
    base = folder / "scenarios" if case.kind == "scenario" else folder
    base.mkdir(parents=True, exist_ok=True)
    path = base / f"{case.kind}.yaml"
    if case.special == "missing":
        return path
    if case.special == "directory":
        path.mkdir()
    elif case.special == "fifo":
        os.mkfifo(path)
    else:
        path.write_bytes(case.content)
    return path
