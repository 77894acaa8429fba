"""Can a bridge configuration relay one message forever? An exact decision.

The bridge relays a message on ``(source, topic)`` to ``(target, prefix + topic)`` for every
mapping that matches, and a message the bridge published comes back to it only as the
receive-mode facts of ``greengrass-v2-topology.md`` §1.4 allow (Pubsub: only through an
exact-topic subscription; LocalMqtt: always, Moquette has no no-local; IotCore: when the
cloud echoes). The question is whether some first message starts an endless chain. The
bridge asks it only for the mappings of a cycle that :mod:`.relay_graph` could not rule out.

Topics grow only at the front (prefixes), and every test on a topic (matching a filter,
being received) is a regular language. Reading topics **backwards**, the unknown original
topic comes first and each prefix is appended after it, so "which tests the current topic
passes, now and after any further prefixes" is a state of one finite automaton (the subset
construction of the reversed tests). A configuration of the relay is then ``(source,
automaton state)``: finitely many. A message can be relayed forever exactly when this finite
graph has a cycle reachable from a first relay, and the longest chain of an acyclic graph is
the exact maximum number of hops. Each automaton state keeps a witness topic, so a refusal
names a real looping message.

Topics are split in two families that never mix along a chain (prefixes do not touch the
end of a topic): topics not ending in ``/``, where every test is a level pattern on
``topic.split("/")``, and topics ending in ``/``, where the tests are level patterns on the
topic without its trailing slashes (Java's split drops them; Moquette keeps one empty
token). A topic of ``/`` only never matches a mapping (no level), so never starts a chain.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Hashable, Iterable, Sequence
from dataclasses import dataclass, field

__all__ = ["EXACT", "REST0", "REST1", "LevelPattern", "LoopAnalysis", "Route", "analyse"]

#: a level pattern's end: no more levels; any number of further levels; at least one more
EXACT, REST0, REST1 = "exact", "rest0", "rest1"
_ANY, _NOT_SLASH = "any", "not/"
_OTHER = ""  # the symbol for every character no test names
_MAX_STATES = 20_000


@dataclass(frozen=True, slots=True)
class LevelPattern:
    """Levels (a string, or ``None`` for ``+``) and what may follow them."""

    elements: tuple[str | None, ...]
    end: str

    def matches(self, levels: Sequence[str]) -> bool:
        count = len(self.elements)
        if self.end == EXACT and len(levels) != count:
            return False
        if len(levels) < count + (1 if self.end == REST1 else 0):
            return False
        return all(e is None or e == level for e, level in zip(self.elements, levels, strict=False))


@dataclass(frozen=True, slots=True)
class Route:
    """One mapping, as the analysis needs it."""

    name: str
    source: str
    target: str
    prefix: str
    #: the component key of its routing test
    test: Hashable


@dataclass
class _Nfa:
    start: int
    accepts: set[int]
    #: reversed edges: state -> [(label, previous state)]
    back: dict[int, list[tuple[object, int]]] = field(default_factory=dict)


def _nfa(edges: list[tuple[int, object, int]], start: int, accepts: set[int]) -> _Nfa:
    nfa = _Nfa(start, accepts)
    for src, label, dst in edges:
        nfa.back.setdefault(dst, []).append((label, src))
    return nfa


def _pattern_nfa(pattern: LevelPattern) -> _Nfa:
    """The forward automaton of a level pattern over strings not ending in ``/``."""
    edges: list[tuple[int, object, int]] = []
    count = 1

    def new() -> int:
        nonlocal count
        count += 1
        return count - 1

    if not pattern.elements:
        if pattern.end == EXACT:
            return _nfa([], 0, set())
        return _nfa([(0, _ANY, 0)], 0, {0})
    state = 0
    for index, element in enumerate(pattern.elements):
        if index:
            nxt = new()
            edges.append((state, ("c", "/"), nxt))
            state = nxt
        if element is None:
            edges.append((state, _NOT_SLASH, state))
        else:
            for char in element:
                nxt = new()
                edges.append((state, ("c", char), nxt))
                state = nxt
    accepts = {state} if pattern.end in (EXACT, REST0) else set()
    if pattern.end in (REST0, REST1):
        rest = new()
        edges += [(state, ("c", "/"), rest), (rest, _ANY, rest)]
        accepts.add(rest)
    return _nfa(edges, 0, accepts)


def contains_nfa(char: str) -> _Nfa:
    """Strings that contain ``char``."""
    return _nfa([(0, _ANY, 0), (0, ("c", char), 1), (1, _ANY, 1)], 0, {1})


def _admits(label: object, symbol: str) -> bool:
    if label == _ANY:
        return True
    if label == _NOT_SLASH:
        return symbol != "/"
    return label == ("c", symbol)


class _Reader:
    """The subset construction of all tests read backwards, explored on demand. A subset is
    an integer bit mask over every state of every test's automaton."""

    def __init__(self, tests: dict[Hashable, list[LevelPattern | _Nfa]], alphabet: set[str]):
        # the "any other character" symbol first, so witnesses read like ordinary topics
        self.symbols = [_OTHER, *sorted(alphabet | {"/"})]
        self._known = set(self.symbols)
        nfas: list[tuple[Hashable, _Nfa]] = [
            (key, part if isinstance(part, _Nfa) else _pattern_nfa(part))
            for key, parts in tests.items()
            for part in parts
        ]
        offsets: list[int] = []
        total = 0
        for _, nfa in nfas:
            offsets.append(total)
            total += 1 + max(
                [
                    nfa.start,
                    *nfa.accepts,
                    *nfa.back,
                    *(p for edges in nfa.back.values() for _, p in edges),
                ]
            )
        #: symbol -> state bit -> mask of the states reading the symbol backwards leads to
        self._moves: dict[str, list[int]] = {symbol: [0] * total for symbol in self.symbols}
        starts: dict[Hashable, int] = {}
        self.initial = 0
        for (key, nfa), offset in zip(nfas, offsets, strict=True):
            starts[key] = starts.get(key, 0) | 1 << (offset + nfa.start)
            for state in nfa.accepts:
                self.initial |= 1 << (offset + state)
            for state, edges in nfa.back.items():
                for label, previous in edges:
                    for symbol in self.symbols:
                        if _admits(label, symbol):
                            self._moves[symbol][offset + state] |= 1 << (offset + previous)
        self._starts = list(starts.items())
        self._steps: dict[tuple[int, str], int] = {}
        self._passed: dict[int, frozenset] = {}

    def step(self, subset: int, symbol: str) -> int:
        key = (subset, symbol)
        found = self._steps.get(key)
        if found is None:
            moves = self._moves[symbol]
            found, rest = 0, subset
            while rest:
                low = rest & -rest
                found |= moves[low.bit_length() - 1]
                rest ^= low
            self._steps[key] = found
        return found

    def passed(self, subset: int) -> frozenset:
        """The keys of the tests the topic read so far passes."""
        found = self._passed.get(subset)
        if found is None:
            found = frozenset(key for key, mask in self._starts if subset & mask)
            self._passed[subset] = found
        return found

    def read(self, subset: int, text: str) -> int:
        """Read ``text`` placed in front of what was read so far."""
        for char in reversed(text):
            subset = self.step(subset, char if char in self._known else _OTHER)
        return subset

    def endings(self) -> dict[int, tuple[str, ...]]:
        """Every state after reading a whole first topic (not ending in ``/``), with the
        shortest such topic as symbols (``_OTHER`` standing for any other character)."""
        found: dict[int, tuple[str, ...]] = {}
        queue: deque[tuple[int, tuple[str, ...]]] = deque()
        for symbol in self.symbols:
            if symbol != "/":
                subset = self.step(self.initial, symbol)
                if subset not in found:
                    found[subset] = (symbol,)
                    queue.append((subset, (symbol,)))
        while queue:
            subset, text = queue.popleft()
            for symbol in self.symbols:
                nxt = self.step(subset, symbol)
                if nxt not in found:
                    if len(found) >= _MAX_STATES:
                        raise OverflowError("too many topic classes to decide termination")
                    found[nxt] = (symbol, *text)
                    queue.append((nxt, (symbol, *text)))
        return found


@dataclass(frozen=True)
class LoopAnalysis:
    """The verdict: ``cycle`` is ``None`` when every chain ends."""

    #: mapping names of an endless cycle, and a chain that reaches and runs it, as
    #: ``[(source, topic, mapping)]`` hops from the first message
    cycle: tuple[str, ...] | None
    example: tuple[tuple[str, str, str], ...]
    #: when acyclic: the most relays one first message can cause, counting every hop
    max_hops: int


Received = Callable[[str, frozenset, bool], bool]  # (source, passed tests, from_bridge)


def analyse(
    routes: Sequence[Route],
    tests: dict[Hashable, list[LevelPattern | _Nfa]],
    alphabet: Iterable[str],
    received: Received,
    publishable: Callable[[str, frozenset], bool],
    witness_char: str,
    suffix: str,
) -> LoopAnalysis:
    """Search one topic family. ``received(source, passed_tests, from_bridge)`` says whether
    the bridge gets a message; ``publishable(target, passed_tests)`` whether the target
    accepts the bridge's publish; ``suffix`` is appended to witness topics (``"/"`` for the
    trailing-slash family)."""
    reader = _Reader(tests, set(alphabet))
    by_source: dict[str, list[Route]] = {}
    for route in routes:
        by_source.setdefault(route.source, []).append(route)

    def topic(symbols: tuple[str, ...]) -> str:
        return "".join(witness_char if symbol == _OTHER else symbol for symbol in symbols)

    memo: dict[tuple, list[tuple[Route, tuple]]] = {}

    def relays(source: str, subset: int, from_bridge: bool) -> list[tuple[Route, tuple]]:
        key = (source, subset, from_bridge)
        if key in memo:
            return memo[key]
        passed = reader.passed(subset)
        out = []
        if received(source, passed, from_bridge):
            for route in by_source.get(source, ()):
                if route.test in passed:
                    nxt = reader.read(subset, route.prefix)
                    if publishable(route.target, reader.passed(nxt)):
                        out.append((route, (route.target, nxt)))
        memo[key] = out
        return out

    endings = reader.endings()
    starts: list[tuple[str, str, Route, tuple]] = []  # (source, first topic, route, node)
    for subset, text in endings.items():
        for source in by_source:
            for route, node in relays(source, subset, False):
                starts.append((source, topic(text) + suffix, route, node))

    # depth-first search over (source, subset) of bridge-published messages
    hops: dict[tuple, int] = {}
    on_path: dict[tuple, int] = {}
    for source, first, route, node in starts:
        if node in hops:
            continue
        path: list[tuple[tuple, Route, Iterable]] = []
        trail: list[Route] = [route]
        on_path[node] = 0
        path.append((node, route, iter(relays(node[0], node[1], True))))
        while path:
            _, _, children = path[-1]
            advanced = False
            for child_route, child in children:
                if child in on_path:
                    loop_at = on_path[child]
                    cycle = [r.name for r in trail[loop_at + 1 :]] + [child_route.name]
                    return LoopAnalysis(
                        tuple(cycle),
                        _example(source, first, [*trail, child_route], suffix),
                        0,
                    )
                if child in hops:
                    continue
                on_path[child] = len(path)
                trail.append(child_route)
                path.append((child, child_route, iter(relays(child[0], child[1], True))))
                advanced = True
                break
            if advanced:
                continue
            done, _, _ = path.pop()
            trail.pop()
            del on_path[done]
            hops[done] = max(
                (1 + hops[nxt] for _, nxt in relays(done[0], done[1], True)), default=0
            )
    longest = max((1 + hops[node] for *_, node in starts), default=0)
    return LoopAnalysis(None, (), longest)


def _example(
    source: str, first: str, routes: Sequence[Route], suffix: str
) -> tuple[tuple[str, str, str], ...]:
    """The concrete chain: each hop as (source, topic, mapping that relays it)."""
    hops: list[tuple[str, str, str]] = []
    current_source, current_topic = source, first
    for route in routes:
        hops.append((current_source, current_topic, route.name))
        current_source, current_topic = route.target, route.prefix + current_topic
    return tuple(hops)
