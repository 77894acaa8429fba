"""Topic matching as each piece of the client-device path does it.

Three matchers meet in the bridge (``greengrass-v2-topology.md`` §1.4), and they differ on
edge cases:

* **Local pub/sub** delivers with the nucleus ``SubscriptionTrie``: levels from Java's
  ``String.split("/")`` (trailing empty levels vanish), ``a/#`` does not match ``a``. This is
  :func:`fakes.nucleus_ipc.services.pubsub.trie_matches`, reused here.
* **The bridge's routing** (``MessageBridge``) uses the nucleus ``MqttTopic.isSupersetOf``:
  the same Java split, ``#`` ends the comparison, ``+`` skips a level, and the level counts
  must agree otherwise. For valid filters this is exactly ``trie_matches`` (a property the
  tests check against a transcription of ``isSupersetOf``), so :func:`bridge_matches` reuses it.
  The nucleus's IoT Core client dispatches with the same function.
* **Moquette** (``CTrie``, ``Topic.parseTopic``) splits with Java too, but a topic ending in
  ``/`` gets one empty last token back (``a/b/`` is ``a``, ``b``, ``""``; ``a//`` is ``a``,
  ``""``), and ``a/#`` does match ``a``. No ``$`` rule: ``#`` matches ``$aws/...``.
"""

from __future__ import annotations

from fakes.nucleus_ipc.services.pubsub import is_wildcard, java_split, trie_matches

__all__ = [
    "bridge_matches",
    "filter_problem",
    "is_wildcard",
    "moquette_matches",
    "moquette_tokens",
    "topic_problem",
]


def filter_problem(topic_filter: str) -> str | None:
    """Why ``topic_filter`` is not a valid MQTT topic filter, or ``None``.

    Stricter than MQTT in one point: a filter of ``/`` characters only is refused (Java's
    split gives it no level, so neither the nucleus nor the bridge's routing can match it)."""
    if topic_filter == "":
        return "topic filter must not be empty"
    if "\0" in topic_filter:
        return "topic filter must not contain the null character"
    if len(topic_filter.encode("utf-8", "surrogatepass")) > 65535:
        return "topic filter is longer than 65535 bytes"
    levels = topic_filter.split("/")
    for index, level in enumerate(levels):
        if "#" in level and (level != "#" or index != len(levels) - 1):
            return "'#' must be a whole level and the last one"
        if "+" in level and level != "+":
            return "'+' must be a whole level"
    if not java_split(topic_filter):
        return "topic filter has no level (only '/')"
    return None


def topic_problem(topic: str) -> str | None:
    """Why ``topic`` is not a valid MQTT topic name for a PUBLISH, or ``None``."""
    if topic == "":
        return "topic must not be empty"
    if "+" in topic or "#" in topic:
        return "topic must not contain the wildcards '+' or '#'"
    if "\0" in topic:
        return "topic must not contain the null character"
    return None


def bridge_matches(topic_filter: str, topic: str) -> bool:
    """``MqttTopic.topicIsSupersetOf(filter, topic)``: the bridge's routing test."""
    return trie_matches(java_split(topic_filter), java_split(topic))


def moquette_tokens(topic: str) -> list[str]:
    """Moquette's ``Topic.parseTopic`` tokens of a topic or filter (``+`` and ``#`` kept)."""
    parts = java_split(topic) if topic else [""]
    tokens = [""] if not parts else []
    if topic.endswith("/"):
        parts = [*parts, ""]
    return tokens + parts


def moquette_matches(topic_filter: str, topic: str) -> bool:
    """Whether Moquette delivers a publication on ``topic`` to a subscription ``topic_filter``."""
    wanted = moquette_tokens(topic_filter)
    got = moquette_tokens(topic)
    for index, token in enumerate(wanted):
        if token == "#":
            return True
        if index >= len(got) or (token != "+" and token != got[index]):
            return False
    return len(wanted) == len(got)
