"""Deterministic delivery of IPC stream events to Lambdas on the simulated V2 core.

The real ``awsiotsdk`` client receives a stream event (a ``SubscribeToTopic`` message, say)
on its native event-loop thread and, in ``GreengrassCoreIPCClientV2``, hands the Lambda's
``on_stream_event`` to a ``ThreadPoolExecutor``. Left alone, that callback would run on a
real thread, at a real moment, beside the scheduler: with real time, the process's
environment, and results that change from run to run. Two things make it deterministic:

* **The gate.** The IPC server does not write stream events when they are produced (inside
  a handler, or by the core's routing); :meth:`IpcEvents.gate` queues them. The scheduler
  delivers them at a defined point: right after the scheduler callback (a task's stretch,
  a timer) during which they were produced, in the order produced, at that virtual instant.
* **The container's executor.** While the simulation's nucleus runs, a
  ``concurrent.futures.ThreadPoolExecutor`` made by code running in a Lambda container (the
  V2 client makes one in its constructor) is a :class:`ContainerExecutor`: work the client's
  threads submit to it runs in that container, as a task on the scheduler thread, with the
  container's environment, modules, log and virtual clock. Work submitted by the container's
  own code runs at once, in the caller (a greenlet cannot wait for a thread it blocks).

Delivering one event: write it to the socket, wait (in real time, bounded) until the
container's client has handed its callback to the executor, run the callback as a task
until it ends or blocks (``time.sleep``, an IPC call), then the next event. Events that
callback produces are gated in turn and delivered after it.

Not covered (documented limits): callbacks of the older ``GreengrassCoreIPCClient`` and of a
V2 client built with ``executor=None`` run on the SDK's event-loop thread, at the delivery
point but not waited for; an ``on_stream_closed`` after the Lambda closes a stream itself
arrives when the SDK gets to it and runs at the next delivery point.
"""

from __future__ import annotations

import concurrent.futures
import threading
from collections import deque
from collections.abc import Callable
from concurrent.futures import Executor, Future
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from harness import tasks
from harness.tasks import Task, TaskExit

if TYPE_CHECKING:
    from fakes.nucleus_ipc.rpc import Stream
    from harness.clock import Scheduler
    from harness.functions import Container

#: Longest real wait for a client to take an event, in seconds; then the event counts as
#: taken without a callback (a subscription the Lambda gave no ``on_stream_event``).
CALLBACK_WAIT = 1.0


@dataclass(slots=True)
class _Work:
    executor: ContainerExecutor
    fn: Callable[..., Any]
    args: tuple[Any, ...]
    kwargs: dict[str, Any]
    future: Future[Any]


class ContainerExecutor(Executor):
    """An executor whose work runs in a Lambda container on the virtual clock."""

    def __init__(self, events: IpcEvents, container: Container) -> None:
        self.events = events
        self.container = container
        self._shutdown = False

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        if self._shutdown:
            raise RuntimeError("cannot schedule new futures after shutdown")
        future: Future[Any] = Future()
        if threading.get_ident() == tasks._scheduler_thread:
            # the container's own code: a greenlet cannot wait for a thread, so run it now
            try:
                future.set_result(fn(*args, **kwargs))
            except Exception as error:
                future.set_exception(error)
            return future
        self.events.post(_Work(self, fn, args, kwargs, future))
        return future

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        self._shutdown = True


class IpcEvents:
    """The event gate and the inbox of work the IPC clients' threads hand to containers."""

    def __init__(self, scheduler: Scheduler, on_error: Callable[[Container, BaseException],
                                                                None] | None = None) -> None:
        self.scheduler = scheduler
        self.on_error = on_error
        self._events: deque[tuple[Stream, dict[str, Any], Literal["queue", "drop"]]] = deque()
        self._inbox: deque[_Work] = deque()
        self._arrived = threading.Condition()
        self._executors: dict[str, list[ContainerExecutor]] = {}  # by container token
        self.delivered = 0
        self.callbacks_run = 0

    # -- the IPC server's side (any thread) ------------------------------------------------

    def gate(self, stream: Stream, body: dict[str, Any],
             before_response: Literal["queue", "drop"]) -> None:
        self._events.append((stream, body, before_response))

    def post(self, work: _Work) -> None:
        with self._arrived:
            self._inbox.append(work)
            self._arrived.notify_all()

    # -- containers ------------------------------------------------------------------------

    def executor_for(self, container: Container) -> ContainerExecutor:
        executor = ContainerExecutor(self, container)
        self._executors.setdefault(container.token, []).append(executor)
        return executor

    def container_stopped(self, container: Container) -> None:
        """Its executors take no more work; what they hold is cancelled (the process is gone)."""
        for executor in self._executors.pop(container.token, ()):
            executor._shutdown = True

    # -- the scheduler's side --------------------------------------------------------------

    def poll(self) -> None:
        """Called by the scheduler after every callback: deliver what is waiting."""
        if self._events or self._inbox:
            self.deliver()

    def deliver(self) -> None:
        events = self._events
        while events or self._inbox:
            self._run_inbox()
            if not events:
                break
            stream, body, before_response = events.popleft()
            token = stream.connection.token
            if not stream.write_event(body, before_response=before_response):
                continue
            self.delivered += 1
            if token is not None and token in self._executors:
                with self._arrived:
                    self._arrived.wait_for(lambda: bool(self._inbox), CALLBACK_WAIT)
                self._run_inbox()

    def _run_inbox(self) -> None:
        while True:
            with self._arrived:
                if not self._inbox:
                    return
                work = self._inbox.popleft()
            self._run(work)

    def _run(self, work: _Work) -> None:
        container = work.executor.container
        if container.state == "dead" or not work.future.set_running_or_notify_cancel():
            work.future.cancel()
            return
        self.callbacks_run += 1

        def run() -> None:
            try:
                work.future.set_result(work.fn(*work.args, **work.kwargs))
            except TaskExit:
                work.future.cancel()
                raise
            except Exception as error:
                work.future.set_exception(error)
                if self.on_error is not None:
                    self.on_error(container, error)

        name = f"{container.task.name}:ipc-callback"
        task = Task(self.scheduler, name, run, container._enter, container._leave)
        task.environ = container.task.environ
        task.owner = container
        task.resume()


# -- ThreadPoolExecutor inside containers ----------------------------------------------------

_original_pool = concurrent.futures.ThreadPoolExecutor
_events: IpcEvents | None = None


class _ContainerAwarePool(_original_pool):  # type: ignore[misc, valid-type]
    """``ThreadPoolExecutor`` as seen while a simulated V2 core runs: made in a container,
    it is that container's :class:`ContainerExecutor`; anywhere else, the real one."""

    def __new__(cls, *args: Any, **kwargs: Any) -> Any:
        from harness.functions import Container

        owner = getattr(tasks.current_task(), "owner", None)
        if _events is not None and isinstance(owner, Container):
            return _events.executor_for(owner)
        return super().__new__(cls)


def install_container_executors(events: IpcEvents) -> None:
    global _events
    _events = events
    concurrent.futures.ThreadPoolExecutor = _ContainerAwarePool  # type: ignore[misc]


def uninstall_container_executors() -> None:
    global _events
    _events = None
    concurrent.futures.ThreadPoolExecutor = _original_pool  # type: ignore[misc]
