"""ShadowManager's limits on local shadow requests over IPC, on an injected clock.

``InboundRateLimiter`` (aws-greengrass-shadow-manager 17fb54e): a total limit (default 200
requests a second, ``rateLimits.maxTotalLocalRequestsRate``) checked first, then one per
thing (default 20, ``maxLocalRequestsPerSecondPerThing``). Each is a fixed one-second window
(``IpcRateLimiter``): the first request after the window has run out opens a new window;
within a window, ``rate`` requests pass. A thing's limiter is made at its first request; at
most ``total`` of them are kept, the oldest made is dropped first. Requests with an empty
thing name are not limited. Pub/sub shadow requests are never limited (they skip the IPC
handlers).

The windows read the clock they are given, so under the simulation's virtual clock a burst
of requests at one virtual instant is limited as the same burst would be on a device.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

__all__ = ["InboundRateLimiter", "RateLimits"]

WINDOW_SECONDS = 1.0


@dataclass(frozen=True, slots=True)
class RateLimits:
    total_per_second: int = 200
    per_thing_per_second: int = 20

    def __post_init__(self) -> None:
        if self.total_per_second <= 0 or self.per_thing_per_second <= 0:
            raise ValueError(
                "ShadowManager rate limits must be greater than 0 "
                f"(got total {self.total_per_second}, per thing {self.per_thing_per_second})"
            )


class _Window:
    __slots__ = ("count", "rate", "start")

    def __init__(self, rate: int, now: float) -> None:
        self.rate = rate
        self.count = 0
        self.start = now

    def try_acquire(self, now: float) -> bool:
        if now - self.start >= WINDOW_SECONDS:
            self.count = 1
            self.start = now
            return True
        if self.count < self.rate:
            self.count += 1
            return True
        return False


class InboundRateLimiter:
    def __init__(self, limits: RateLimits, clock: Callable[[], float]) -> None:
        self.limits = limits
        self._clock = clock
        self._total = _Window(limits.total_per_second, clock())
        self._things: OrderedDict[str, _Window] = OrderedDict()

    def acquire(self, thing: str | None) -> bool:
        """Whether a request for ``thing`` may proceed (``False``: throttled)."""
        if not thing:
            return True
        now = self._clock()
        if not self._total.try_acquire(now):
            return False
        window = self._things.get(thing)
        if window is None:
            window = self._things[thing] = _Window(self.limits.per_thing_per_second, now)
            while len(self._things) > self.limits.total_per_second:
                self._things.popitem(last=False)
        return window.try_acquire(now)
