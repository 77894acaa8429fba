"""Which mappings can follow which: a cheap, path-sensitive over-approximation of relays.

A chain of relays is a sequence of mappings, each on the previous one's target, where the
topic grows by each prefix. Whether a short sequence is possible at all is decided on level
patterns: every mapping's filter, seen through the prefixes added before it, is a constraint
on the first topic ``t`` (:func:`residual`), and the constraints must agree
(:func:`satisfiable`). Two receive facts end most chains and are kept: on Pubsub the bridge
gets its own message back only through an exact-topic subscription (so the topic is pinned
to one), on IotCore only when the cloud echoes. Everything else over-approximates (Moquette
delivers whatever a mapping routes, ``noLocal`` is ignored, odd topics of empty levels are
allowed), so every real chain is a path here:

* the graph of possible pairs (a mapping, then one that can follow it) and its line graph of
  possible triples; no cycle there: no message is relayed forever, and the longest path
  bounds the hops;
* a cycle: the exact analysis of :mod:`.loops` decides, on the mappings of that strongly
  connected component only (an endless chain ends up inside one component).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence

from fakes.nucleus_ipc.services.pubsub import java_split

__all__ = [
    "Hop",
    "components",
    "filter_levels",
    "longest_path",
    "may_overlap",
    "path_possible",
    "residual",
    "satisfiable",
]

#: levels (``None`` for ``+``), and whether at least one more level must follow (``#``)
Pattern = tuple[tuple[str | None, ...], bool]
#: one mapping of a chain: its filter, its source, its target topic prefix
Hop = tuple[str, str, str]
_ANY_TOPIC: Pattern = ((), True)


def filter_levels(topic_filter: str) -> Pattern:
    """A valid filter as the bridge routes it (Java-split levels, ``#`` needing one more)."""
    levels = java_split(topic_filter)
    rest = levels[-1] == "#"
    if rest:
        levels = levels[:-1]
    return tuple(None if level == "+" else level for level in levels), rest


def residual(pattern: Pattern, prefix: str) -> Pattern | None:
    """The constraint on ``t`` for ``prefix + t`` to match ``pattern`` (``None``: never)."""
    wanted, rest = pattern
    if not prefix:
        return pattern
    *whole, partial = prefix.split("/")
    for index, level in enumerate(whole):
        if index >= len(wanted):
            return _ANY_TOPIC if rest else None
        if wanted[index] is not None and wanted[index] != level:
            return None
    remaining = wanted[len(whole) :]
    if not remaining:
        return _ANY_TOPIC if rest else None  # t's first level is the one '#' needs
    head = remaining[0]
    if head is not None:
        if not head.startswith(partial):
            return None
        head = head[len(partial) :]
    return (head, *remaining[1:]), rest


def satisfiable(patterns: Sequence[Pattern]) -> bool:
    """Whether one topic can match every pattern."""
    exact = {len(levels) for levels, rest in patterns if not rest}
    if len(exact) > 1:
        return False
    if exact:
        count = next(iter(exact))
        if any(rest and count < len(levels) + 1 for levels, rest in patterns):
            return False
    for position in range(max((len(levels) for levels, _ in patterns), default=0)):
        named = {
            levels[position]
            for levels, _ in patterns
            if position < len(levels) and levels[position] is not None
        }
        if len(named) > 1:
            return False
    return True


def path_possible(path: Sequence[Hop], exact_pubsub: Sequence[str], iot_core_echo: bool) -> bool:
    """Whether some first message can be relayed by every mapping of ``path`` in turn."""
    choices: list[list[Pattern]] = []
    before = ""  # the prefixes added so far, the latest first
    pins = [(tuple(java_split(f)), False) for f in exact_pubsub]
    for at, (topic_filter, source, prefix) in enumerate(path):
        routed = residual(filter_levels(topic_filter), before)
        if routed is None:
            return False
        if at and source == "IotCore" and not iot_core_echo:
            return False
        if at and source == "Pubsub":
            pinned = [
                p
                for pin in pins
                if (p := residual(pin, before)) is not None and satisfiable([p, routed])
            ]
            if not pinned:
                return False
            choices.append(pinned)
        choices.append([routed])
        before = prefix + before
    return any(satisfiable(combo) for combo in itertools.product(*choices))


def may_overlap(subscription_tokens: Sequence[str], routing_filter: str) -> bool:
    """``False`` only when no topic can both reach a subscription (its Moquette tokens) and be
    routed by a filter: some level where both name different literals."""
    levels = java_split(routing_filter)
    for wanted, level in zip(subscription_tokens, levels, strict=False):
        if "#" in (wanted, level):
            return True
        if "+" not in (wanted, level) and wanted != level:
            return False
    return True


def components(count: int, edges: Callable[[int], Sequence[int]]) -> list[list[int]]:
    """Strongly connected components (Tarjan); a component comes after every component it
    has edges to."""
    index: dict[int, int] = {}
    low: dict[int, int] = {}
    stack: list[int] = []
    on_stack: set[int] = set()
    found: list[list[int]] = []
    counter = 0
    for root in range(count):
        if root in index:
            continue
        work: list[tuple[int, int]] = [(root, 0)]
        while work:
            node, child_at = work.pop()
            if child_at == 0:
                index[node] = low[node] = counter
                counter += 1
                stack.append(node)
                on_stack.add(node)
            children = edges(node)
            if child_at < len(children):
                work.append((node, child_at + 1))
                child = children[child_at]
                if child not in index:
                    work.append((child, 0))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            for child in children:
                if child in on_stack:
                    low[node] = min(low[node], low[child])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                found.append(sorted(component))
    return found


def longest_path(
    found: list[list[int]], edges: Callable[[int], Sequence[int]], weight: Sequence[int]
) -> int:
    """The heaviest path through the components (``weight`` per component), in the order
    :func:`components` returns them."""
    where = {member: at for at, component in enumerate(found) for member in component}
    best: list[int] = [0] * len(found)
    for at, component in enumerate(found):  # successors come earlier in Tarjan's order
        after = [best[where[c]] for m in component for c in edges(m) if where[c] != at]
        best[at] = weight[at] + max(after, default=0)
    return max(best, default=0)
