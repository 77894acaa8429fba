"""The mapping graph that rules out most loops before the exact analysis."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fakes.client_devices import IOT_CORE, LOCAL_MQTT, PUBSUB, MqttBridge
from fakes.client_devices.relay_graph import (
    components,
    filter_levels,
    longest_path,
    path_possible,
    residual,
    satisfiable,
)
from tests.client_devices.helpers import mapping
from tests.client_devices.test_bridge_loops import SEEDS, SOURCES, pairs


@pytest.mark.parametrize(
    ("topic_filter", "prefix", "expected"),
    [
        ("a/b", "", (("a", "b"), False)),
        ("a/#", "a/", ((), True)),  # '#' takes t, whatever it is
        ("a/b", "a/", (("b",), False)),
        ("a/b", "x/", None),
        ("ab/c", "a", (("b", "c"), False)),  # a prefix without '/' merges into t's first level
        ("+/c", "x", ((None, "c"), False)),
        ("a", "a/", None),  # t would add a level
        ("a/+/c", "a/b/", (("c",), False)),
    ],
)
def test_residual(topic_filter: str, prefix: str, expected) -> None:
    assert residual(filter_levels(topic_filter), prefix) == expected


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        (["a/b", "a/+"], True),
        (["a/b", "a/c"], False),
        (["a/#", "a"], False),  # '#' needs a level more
        (["a/#", "a/b/c"], True),
        (["+/+", "+"], False),
        (["#", "+/x", "a/+"], True),
    ],
)
def test_satisfiable(filters: list[str], expected: bool) -> None:
    assert satisfiable([filter_levels(f) for f in filters]) is expected


def test_path_possible_keeps_the_receive_facts() -> None:
    up = ("a/#", LOCAL_MQTT, "")
    down = ("a/#", PUBSUB, "")
    # back on Pubsub only through an exact subscription
    assert not path_possible([up, down], [], True)
    assert path_possible([up, down], ["a/b"], True)
    assert not path_possible([up, down], ["b/a"], True)
    # back on IotCore only when the cloud echoes
    cloud = ("a/#", IOT_CORE, "")
    assert path_possible([up, cloud], [], True)
    assert not path_possible([up, cloud], [], False)
    # prefixes accumulate along the path
    grow = ("#", LOCAL_MQTT, "p/")
    assert path_possible([grow, ("p/+", IOT_CORE, ""), grow], [], True)
    assert not path_possible([("p/+", IOT_CORE, ""), grow, ("p/+", IOT_CORE, "")], [], True)


def test_components_and_longest_path() -> None:
    edges = {0: [1], 1: [2], 2: [1, 3], 3: [], 4: [0]}
    found = components(5, edges.__getitem__)
    assert sorted(map(tuple, found)) == [(0,), (1, 2), (3,), (4,)]
    # a component comes after those it leads to
    order = {member: at for at, component in enumerate(found) for member in component}
    assert order[3] < order[1] < order[0] < order[4]
    weights = [5 if component == [1, 2] else 1 for component in found]
    assert longest_path(found, edges.__getitem__, weights) == 1 + 1 + 5 + 1


def _chains(bridge: MqttBridge, source: str, topic: str, depth: int) -> list[list[str]]:
    """Every chain of mapping names (up to ``depth`` relays) from one first message."""
    out: list[list[str]] = []

    def walk(src: str, top: str, from_bridge: bool, names: list[str]) -> None:
        if names:
            out.append(names)
        if len(names) == depth:
            return
        for relay in {
            (r.mapping, r.target, r.topic)
            for r in bridge.relay(src, top, from_bridge=from_bridge)
            if r.delivered
        }:
            walk(relay[1], relay[2], True, [*names, relay[0]])

    walk(source, topic, False, [])
    return out


@settings(max_examples=80, deadline=None)
@given(pairs(), st.booleans())
def test_every_real_chain_is_a_possible_path(mappings, echo) -> None:
    bridge = MqttBridge.from_configuration(
        {"mqttTopicMapping": mappings}, iot_core_echo=echo, refuse_loops=False
    )
    hops = {m.name: (m.topic, m.source, m.target_topic_prefix) for m in bridge.mappings}
    exact = [f for f in bridge.subscriptions(PUBSUB) if "+" not in f and not f.endswith("#")]
    for source in SOURCES:
        for seed in SEEDS:
            for chain in _chains(bridge, source, seed, 4):
                for size in (2, 3):
                    for start in range(len(chain) - size + 1):
                        window = [hops[name] for name in chain[start : start + size]]
                        assert path_possible(window, exact, echo), (chain, source, seed)
            if bridge.max_relay_hops is not None:
                assert max(map(len, _chains(bridge, source, seed, 8)), default=0) <= (
                    bridge.max_relay_hops
                )


def test_a_large_realistic_configuration_loads() -> None:
    mappings = {}
    for device in range(30):
        shadow = f"$aws/things/dev{device}/shadow"
        mappings[f"Get{device}"] = mapping(f"{shadow}/get", LOCAL_MQTT, PUBSUB)
        mappings[f"Update{device}"] = mapping(f"{shadow}/update", LOCAL_MQTT, PUBSUB)
        mappings[f"Responses{device}"] = mapping(f"{shadow}/#", PUBSUB, LOCAL_MQTT)
    mappings["Readings"] = mapping("sensors/+/readings", LOCAL_MQTT, IOT_CORE, "edge/")
    mappings["Commands"] = mapping("commands/#", IOT_CORE, LOCAL_MQTT)
    bridge = MqttBridge.from_configuration({"mqttTopicMapping": mappings})
    assert bridge.max_relay_hops == 2
