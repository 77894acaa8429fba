"""Tasks: Lambda code running as greenlets on the virtual clock.

A task runs until it blocks (``time.sleep``, waiting for another Lambda's answer, or waiting
for work), then hands control back to the scheduler; it resumes when the scheduler fires the
timer it left. Only one task runs at a time, in an order fixed by virtual time and
scheduling order, so a simulation is deterministic.

Inside a task, ``time.sleep``, ``time.time`` and ``time.monotonic`` follow the virtual clock
(the module functions are replaced while a simulation is open; outside tasks they behave as
usual, and other threads always see real time). Code that spins without sleeping takes no
virtual time.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from threading import get_ident
from typing import Any

import greenlet

from harness.clock import Scheduler

_tasks: dict[greenlet.greenlet, Task] = {}
_current: Task | None = None  # set for exactly the stretches a task runs


def current_task() -> Task | None:
    """The task whose code is running now, or ``None`` outside tasks (and in other threads)."""
    task = _current
    if task is None or get_ident() != _scheduler_thread:
        return None
    return task


class TaskExit(BaseException):
    """Thrown into a task to end it (a timeout, a core restart). A ``BaseException``, so
    Lambda code that catches ``Exception`` cannot swallow it."""


class Task:
    """One greenlet driven by the scheduler.

    ``on_enter`` and ``on_leave`` run (in the scheduler's greenlet) around every stretch the
    task runs, to install and remove what the task must see (its modules, files).
    """

    def __init__(
        self,
        scheduler: Scheduler,
        name: str,
        run: Callable[[], Any],
        on_enter: Callable[[], None] | None = None,
        on_leave: Callable[[], None] | None = None,
    ) -> None:
        self.scheduler = scheduler
        self.name = name
        self.on_enter = on_enter
        self.on_leave = on_leave
        self.environ: dict[str, str] | None = None
        self.owner: Any = None  # what the task runs for (a Lambda container)
        self.finished = False
        self.error: BaseException | None = None
        self._greenlet = greenlet.greenlet(self._main)
        self._run = run
        self._wake: Any = None
        _tasks[self._greenlet] = self

    def _main(self, *_first_resume: Any) -> None:
        try:
            self._run()
        except TaskExit:
            pass
        except BaseException as error:  # recorded for whoever owns the task
            self.error = error
        finally:
            self.finished = True
            _tasks.pop(self._greenlet, None)

    # -- called from the scheduler's side ------------------------------------------------

    def start(self) -> None:
        self.scheduler.call_soon(self.resume)

    def resume(self, value: Any = None) -> None:
        """Run the task until it blocks or ends."""
        if not self.finished:
            self._run_stretch(self._greenlet.switch, value)

    def throw(self, error: BaseException) -> None:
        """Raise ``error`` inside the task where it is blocked, and let it unwind."""
        if self.finished:
            return
        if not self._greenlet:  # never started: nothing to unwind
            self.finished = True
            _tasks.pop(self._greenlet, None)
            return
        self._run_stretch(self._greenlet.throw, error)

    def _run_stretch(self, go: Callable[[Any], Any], argument: Any) -> None:
        global _current
        previous = _current
        self._greenlet.parent = greenlet.getcurrent()
        if self.on_enter:
            self.on_enter()
        _current = self
        try:
            go(argument)
        finally:
            _current = previous
            if self.on_leave:
                self.on_leave()

    # -- called from inside the task -------------------------------------------------------

    def block(self) -> Any:
        """Give control back to the scheduler until someone resumes this task."""
        return self._greenlet.parent.switch()

    def sleep(self, seconds: float) -> None:
        # If the task is ended while asleep, the timer still fires and finds it finished.
        self.scheduler.call_later(seconds, self.resume)
        self._greenlet.parent.switch()


# -- time functions that follow the virtual clock inside tasks -----------------------------

_real_sleep = time.sleep
_real_time = time.time
_real_monotonic = time.monotonic
_installed = 0
# Tasks run in the thread that installed virtual time; other threads (an MQTT client's
# network loop, a device program on a real thread) keep real time even while a task runs.
_scheduler_thread: int | None = None


def _sleep(seconds: float) -> None:
    task = _current
    if task is None or get_ident() != _scheduler_thread:
        return _real_sleep(seconds)
    if seconds < 0:
        raise ValueError("sleep length must be non-negative")
    task.sleep(seconds)
    return None


def _time() -> float:
    task = _current
    if task is None or get_ident() != _scheduler_thread:
        return _real_time()
    return task.scheduler.clock.time()


def _monotonic() -> float:
    task = _current
    if task is None or get_ident() != _scheduler_thread:
        return _real_monotonic()
    return task.scheduler.clock.monotonic()


def install_virtual_time() -> None:
    """Replace ``time.sleep``, ``time.time`` and ``time.monotonic`` (nested calls count)."""
    global _installed, _scheduler_thread
    if _installed == 0:
        _scheduler_thread = get_ident()
    _installed += 1
    time.sleep, time.time, time.monotonic = _sleep, _time, _monotonic


def uninstall_virtual_time() -> None:
    global _installed
    _installed = max(0, _installed - 1)
    if _installed == 0:
        time.sleep, time.time, time.monotonic = _real_sleep, _real_time, _real_monotonic
