"""Virtual time: a clock that moves only when the scheduler says so, and the scheduler.

Everything in a simulation (Lambdas, the Shadow service, the sensor) reads this clock. The
scheduler keeps a queue of callbacks by virtual time; running the simulation for N seconds
pops them in order (ties in the order they were scheduled), so a run is deterministic and
takes no wall time beyond the work itself.
"""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Callable
from dataclasses import dataclass

#: 2026-01-01T00:00:00Z, where simulations start unless told otherwise.
DEFAULT_EPOCH = 1_767_225_600.0


class VirtualClock:
    """Seconds since the simulation started, and the matching epoch time."""

    def __init__(self, epoch: float = DEFAULT_EPOCH) -> None:
        self.epoch = epoch
        self.elapsed = 0.0

    def time(self) -> float:
        """Epoch seconds, as ``time.time()`` would give on the core."""
        return self.epoch + self.elapsed

    def monotonic(self) -> float:
        return self.elapsed

    def __call__(self) -> float:
        return self.time()

    def advance_to(self, elapsed: float) -> None:
        if elapsed < self.elapsed:
            raise ValueError(f"time cannot go back: {elapsed} < {self.elapsed}")
        self.elapsed = elapsed


@dataclass(slots=True)
class Timer:
    """A scheduled callback; :meth:`cancel` keeps it from running."""

    when: float
    callback: Callable[[], None]
    cancelled: bool = False

    def cancel(self) -> None:
        self.cancelled = True


class Scheduler:
    """Callbacks ordered by virtual time."""

    def __init__(self, clock: VirtualClock) -> None:
        self.clock = clock
        self._queue: list[tuple[float, int, Timer]] = []  # (when, order, timer)
        self._order = itertools.count()
        self.callbacks_run = 0
        #: run after every callback (and once when a run starts): the simulated V2 core
        #: delivers IPC stream events there (:mod:`harness.ipc_events`)
        self.after_callback: Callable[[], None] | None = None

    def call_at(self, when: float, callback: Callable[[], None]) -> Timer:
        """Run ``callback`` when the clock reaches ``when`` (seconds since the start)."""
        timer = Timer(max(when, self.clock.elapsed), callback)
        heapq.heappush(self._queue, (timer.when, next(self._order), timer))
        return timer

    def call_later(self, delay: float, callback: Callable[[], None]) -> Timer:
        return self.call_at(self.clock.elapsed + max(delay, 0.0), callback)

    def call_soon(self, callback: Callable[[], None]) -> Timer:
        return self.call_at(self.clock.elapsed, callback)

    def next_time(self) -> float | None:
        while self._queue and self._queue[0][2].cancelled:
            heapq.heappop(self._queue)
        return self._queue[0][0] if self._queue else None

    def run_until(self, end: float) -> None:
        """Run every callback due up to ``end``, then leave the clock at ``end``."""
        queue, clock, after = self._queue, self.clock, self.after_callback
        if after is not None:
            after()
        while queue:
            when, _, timer = queue[0]
            if when > end:
                break
            heapq.heappop(queue)
            if timer.cancelled:
                continue
            clock.elapsed = when  # never earlier: timers are never scheduled in the past
            self.callbacks_run += 1
            timer.callback()
            if after is not None:
                after()
        clock.advance_to(max(end, clock.elapsed))
