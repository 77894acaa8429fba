"""A short walk-through of the local Shadow service: what a device and an app see.

This is the main job until the simulated core lands: every step goes through the same
``ShadowService.handle(topic, payload)`` that tests and the simulated core use.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Callable
from pathlib import Path

from fakes.shadow import ShadowService, request_topic


class _Clock:
    """A clock that only moves when the tour says so (virtual time)."""

    def __init__(self, start: float) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now


def _show(say: Callable[[str], None], service: ShadowService, topic: str, body: object) -> list:
    payload = b"" if body is None else json.dumps(body).encode()
    say(f"  -> {topic} {payload.decode() or '(empty)'}")
    replies = service.handle(topic, payload)
    for reply_topic, reply in replies:
        say(f"  <- {reply_topic} {reply.decode()}")
    return replies


def run(say: Callable[[str], None] = print, thing: str = "weather-station") -> dict[str, int]:
    """Walk through the Shadow rules; return a few counts for callers and tests."""
    clock = _Clock(1_700_000_000)
    with tempfile.TemporaryDirectory() as folder:
        db = Path(folder) / "shadows.sqlite"
        service = ShadowService(clock=clock, path=db)
        update = request_topic(thing, "update")
        get = request_topic(thing, "get")
        counts = {"requests": 0, "rejected": 0}

        def step(title: str, topic: str, body: object) -> None:
            say(f"\n# {title}")
            replies = _show(say, service, topic, body)
            counts["requests"] += 1
            counts["rejected"] += any(t.endswith("/rejected") for t, _ in replies)
            clock.now += 5

        step("The device reports a reading", update,
             {"state": {"reported": {"temperature": 21.4, "humidity": 48.0,
                                     "pressure": 1012.6}}})
        step("The app asks for a faster period: a delta goes to the device", update,
             {"state": {"desired": {"period": 2}}, "clientToken": "app-1"})
        step("The device reports the new period: no delta is left", update,
             {"state": {"reported": {"period": 2}}})
        step("A stale write carries an old version: 409, nothing changes", update,
             {"state": {"reported": {"period": 9}}, "version": 1})
        step("A malformed request names 'delta': 400, nothing changes", update,
             {"state": {"delta": {"period": 9}}})
        step("null deletes a key", update, {"state": {"reported": {"humidity": None}}})
        step("GET shows state, metadata per leaf and version", get, None)

        say("\n# The core restarts: a new service on the same SQLite file keeps every shadow")
        before = service.document(thing)
        service = ShadowService(clock=clock, path=db)
        after = service.document(thing)
        say(f"  version before {before['version']}, after {after['version']}; "
            f"state kept: {before['state'] == after['state']}")
        counts["version"] = after["version"]
        step("Delete, then re-create: the version keeps counting", request_topic(
            thing, "delete"), None)
        step("Re-create", update, {"state": {"reported": {"temperature": 22.0}}})
        counts["final_version"] = service.version(thing) or 0
        say(f"\n{counts['requests']} requests, {counts['rejected']} rejected, "
            f"final version {counts['final_version']}")
        return counts
