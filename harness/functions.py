"""Lambda functions on the simulated core: invocation queues, containers and lifecycles.

On-demand functions get a container per concurrent invocation, up to ``max_instances``; a
cold start imports the module; a container left idle for ``max_idle_time`` ends. A pinned
function gets one container when the core starts; importing its module runs whatever
long-lived loop it has, and invocations queue and run in order once the import returns.
A full queue drops the message, counts it and logs it.

Each container imports its own copy of the Lambda module and of the Greengrass SDK and
core modules, and runs with its own environment, so two functions (or two containers of
one function) never share module state or environment variables, as on a core.
"""

from __future__ import annotations

import importlib
import itertools
import json
import sys
import time
import traceback
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any

from harness.function_failures import exception_text
from harness.lambda_context import ClientContext, LambdaContext
from harness.tasks import Task, TaskExit

if TYPE_CHECKING:
    from harness.core import SimulatedCore
    from harness.group import Function

#: Packages every container imports afresh: the SDK and the core-only runtime modules.
PRIVATE_PACKAGES = ("greengrasssdk", "greengrass_common", "greengrass_ipc_python_sdk")


@dataclass
class Invocation:
    id: str
    payload: bytes
    client_context: str | None
    invocation_type: str  # "RequestResponse" or "Event"
    source: str  # who asked: a function name, "device:<thing>", "cloud", ...
    result: tuple[bytes, str | None] | None = None
    waiters: list[Task] = field(default_factory=list)

    @property
    def done(self) -> bool:
        return self.result is not None


@dataclass
class FunctionStats:
    received: int = 0
    completed: int = 0
    errors: int = 0
    timeouts: int = 0
    dropped_queue_full: int = 0
    cold_starts: int = 0
    #: invocations still queued or running when the core stopped (a restart or the end of
    #: a run): the core drops them, as a stopping Greengrass core does; counted here so
    #: none is lost uncounted
    dropped_at_stop: int = 0


class ModuleSwitch:
    """Whose copies of the private modules ``sys.modules`` holds.

    Each container imports its own copies; when another container runs, its copies go in.
    Switching costs time, so copies stay in place between stretches: outside containers,
    ``sys.modules`` holds the last container's copies until :meth:`restore` (on close) puts
    back what was there before the simulation.
    """

    def __init__(self) -> None:
        self.installed: Container | None = None
        self._originals: dict[str, ModuleType | None] = {}

    def _take(self, name: str) -> None:
        if name not in self._originals:
            self._originals[name] = sys.modules.get(name)

    def start_fresh(self, container: Container) -> None:
        """Clear the way for a container's first import: no other copy may be found."""
        modules = sys.modules
        for name, module in list(modules.items()):
            if container._private(name, module):
                self._take(name)
                del modules[name]
        self.installed = container

    def imported(self, name: str) -> None:
        """A container imported ``name``, which sys.modules did not hold before."""
        self._originals.setdefault(name, None)

    def install(self, container: Container) -> None:
        modules = sys.modules
        previous = self.installed
        if previous is not None and previous.modules.keys() != container.modules.keys():
            for name in previous.modules.keys() - container.modules.keys():
                self._put_back(name)
        modules.update(container.modules)  # their originals were noted on first import
        self.installed = container

    def _put_back(self, name: str) -> None:
        original = self._originals.get(name)
        if original is None:
            sys.modules.pop(name, None)
        else:
            sys.modules[name] = original

    def restore(self) -> None:
        for name in self._originals:
            self._put_back(name)
        self._originals.clear()
        self.installed = None


MODULES = ModuleSwitch()


class Container:
    """One Lambda container: a task that imports the module, then takes invocations."""

    _numbers = itertools.count(1)

    def __init__(self, function: FunctionRuntime, first: Invocation | None = None) -> None:
        self.function = function
        self.log_name = function.spec.name  # whose log this container's lines go to
        self.first = first  # the invocation this container was started for
        self.core = function.core
        self._sysfs, self._clock = self.core.sysfs, self.core.clock
        self.number = next(self._numbers)
        self.token = self.core.container_token(function, self.number)
        self.state = "starting"
        self.current: Invocation | None = None
        self.modules: dict[str, ModuleType] = {}
        self._entered_size = 0
        self._entered = False
        self.idle_timer: Any = None
        name = f"{function.spec.name}#{self.number}"
        self.task = Task(self.core.scheduler, name, self._main, self._enter, self._leave)
        self.task.environ = function.environment(self.token)
        self.task.owner = self

    # -- module isolation ----------------------------------------------------------------

    def _private(self, name: str, module: Any) -> bool:
        if name.split(".", 1)[0] in PRIVATE_PACKAGES:
            return True
        origin = getattr(module, "__file__", None) or ""
        return origin.startswith(self.function.code_dir)

    def _enter(self) -> None:
        self._sysfs.refresh(self._clock)
        if not self._entered:
            self._entered = True
            MODULES.start_fresh(self)
        elif MODULES.installed is not self:
            MODULES.install(self)
        self._entered_size = len(sys.modules)

    def _leave(self) -> None:
        if len(sys.modules) != self._entered_size:  # the stretch imported something
            for name, module in list(sys.modules.items()):
                if self._private(name, module) and name not in self.modules:
                    self.modules[name] = module
                    MODULES.imported(name)

    # -- the container's life --------------------------------------------------------------

    def _main(self) -> None:
        try:
            handler = self._load()
        except (Exception, SystemExit) as error:  # the module failed to import, or exited
            self.core.logs.runtime_error(self, error, "Failed to import the handler")
            self.core.function_failed(self.function, "import_error", exception_text(error))
            self.function.container_failed(self, error)
            return
        while True:
            invocation, self.first = self.first or self.function.next_work(self), None
            if invocation is None:
                invocation = self.task.block()  # idle until the function hands us work
            self._invoke(handler, invocation)

    def _load(self) -> Callable[[Any, Any], Any]:
        spec = self.function.spec
        module_name, _, handler_name = spec.handler.rpartition(".")
        self.function.stats.cold_starts += 1
        module = importlib.import_module(module_name)
        self.state = "idle"
        return getattr(module, handler_name)

    def _invoke(self, handler: Callable[[Any, Any], Any], invocation: Invocation) -> None:
        spec = self.function.spec
        clock = self.core.clock
        self.state, self.current = "busy", invocation
        deadline = clock.elapsed + spec.timeout
        timer = self.core.scheduler.call_at(deadline, lambda: self.function.time_out(self))
        context = LambdaContext(
            function_name=spec.name,
            function_version=spec.version,
            invoked_function_arn=self.function.arn,
            memory_limit_in_mb=spec.memory_mb,
            aws_request_id=invocation.id,
            client_context=ClientContext.decode(invocation.client_context),
            deadline=deadline,
            now=lambda: clock.elapsed,
        )
        try:
            if self.function.stalls:
                time.sleep(self.function.stalls.popleft())  # virtual: the timer may fire
            event = self.function.event(invocation.payload)
            result = handler(event, context)
            # only a RequestResponse caller reads the result; nobody waits for an Event's
            wanted = invocation.invocation_type == "RequestResponse" and result is not None
            self.function.finish(invocation, (json.dumps(result).encode() if wanted else b"",
                                              None))
        except TaskExit:
            raise
        except (Exception, SystemExit) as error:
            self.core.logs.runtime_error(self, error, "Unhandled exception in handler")
            self.core.function_failed(self.function, "handler_error", exception_text(error))
            detail = {
                "errorMessage": str(error),
                "errorType": type(error).__name__,
                "stackTrace": traceback.format_tb(error.__traceback__),
            }
            self.function.finish(invocation, (json.dumps(detail).encode(), "Handled"))
        finally:
            timer.cancel()
            self.state, self.current = "idle", None


class FunctionRuntime:
    """One function of the group, as the core runs it."""

    def __init__(self, core: SimulatedCore, spec: Function, code_dir: Path) -> None:
        self.core = core
        self.spec = spec
        self.arn = core.group.function_arn(spec.name)
        self.code_dir = str(code_dir.resolve())
        self.queue: deque[Invocation] = deque()
        self.containers: list[Container] = []
        self.idle: deque[Container] = deque()
        self.stats = FunctionStats()
        self.stalls: deque[float] = deque()  # injected: seconds the next invocations hang

    def stall_next(self, invocations: int = 1, seconds: float | None = None) -> None:
        """Make the next ``invocations`` hang for ``seconds`` (default: one second past the
        timeout) before the handler runs, as a stuck dependency would: a Lambda-timeout
        fault."""
        hang = self.spec.timeout + 1.0 if seconds is None else seconds
        self.stalls.extend([hang] * invocations)

    def environment(self, token: str) -> dict[str, str]:
        return self.core.environment_for(self, token)

    def event(self, payload: bytes) -> Any:
        """The handler's ``event``: bytes for the binary encoding, else decoded JSON."""
        if self.spec.encoding == "binary":
            return payload
        return json.loads(payload) if payload else {}

    @property
    def instance_limit(self) -> int:
        return 1 if self.spec.pinned else self.spec.max_instances

    # -- lifecycle -----------------------------------------------------------------------

    def start(self) -> None:
        """Pinned functions start one container with the core."""
        if self.spec.pinned:
            self._new_container()

    def _new_container(self, first: Invocation | None = None) -> Container:
        container = Container(self, first)
        self.containers.append(container)
        container.task.start()
        return container

    def queue_is_full(self) -> bool:
        return len(self.queue) >= self.spec.max_queue_size

    def submit(self, invocation: Invocation) -> bool:
        """Queue an invocation; ``False`` (counted and logged) when the queue is full."""
        self.stats.received += 1
        if self.queue_is_full():
            self.stats.dropped_queue_full += 1
            self.core.logs.core(
                "WARN",
                f"Function {self.arn} queue is full ({self.spec.max_queue_size}); "
                f"dropping message {invocation.id} from {invocation.source}",
            )
            return False
        self.queue.append(invocation)
        self._dispatch()
        return True

    def _dispatch(self) -> None:
        """Hand queued invocations to idle containers, then to new ones while allowed. A
        handed-out invocation leaves the queue at once, so the queue holds only waiting work."""
        while self.queue and self.idle:
            container = self.idle.popleft()
            if container.idle_timer is not None:
                container.idle_timer.cancel()
                container.idle_timer = None
            container.state = "busy"
            invocation = self.queue.popleft()
            self.core.scheduler.call_soon(lambda c=container, i=invocation: c.task.resume(i))
        while self.queue and len(self.containers) < self.instance_limit:
            self._new_container(first=self.queue.popleft())

    def next_work(self, container: Container) -> Invocation | None:
        """Called by a container that is free: its next invocation, or ``None`` (it idles)."""
        if self.queue:
            return self.queue.popleft()
        self.idle.append(container)
        if not self.spec.pinned:
            container.idle_timer = self.core.scheduler.call_later(
                self.spec.max_idle_time, lambda: self._expire(container)
            )
        return None

    def _expire(self, container: Container) -> None:
        if container in self.idle:
            self.idle.remove(container)
            self._end(container)

    def container_failed(self, container: Container, error: BaseException) -> None:
        """A container died starting: the invocation it was started for fails with it."""
        self._forget(container)
        container.state = "dead"
        self.core.container_stopped(container)
        if container.first is not None:
            self.finish(container.first, (json.dumps({
                "errorMessage": str(error), "errorType": type(error).__name__,
            }).encode(), "Unhandled"))
            self.core.scheduler.call_soon(self._dispatch)

    def _forget(self, container: Container) -> None:
        if container in self.containers:
            self.containers.remove(container)
        if container in self.idle:
            self.idle.remove(container)

    def _end(self, container: Container) -> None:
        self._forget(container)
        container.state = "dead"
        self.core.container_stopped(container)
        container.task.throw(TaskExit())

    def finish(self, invocation: Invocation, result: tuple[bytes, str | None]) -> None:
        if invocation.done:
            return
        invocation.result = result
        if result[1] is None:
            self.stats.completed += 1
        else:
            self.stats.errors += 1
        for waiter in invocation.waiters:
            self.core.scheduler.call_soon(waiter.resume)

    def time_out(self, container: Container) -> None:
        """The invocation ran past the function's timeout: end it and its container."""
        invocation = container.current
        if invocation is None:
            return
        self.stats.timeouts += 1
        message = f"Task timed out after {self.spec.timeout:.2f} seconds"
        self.core.logs.function(self, "ERROR", message)
        self.core.function_failed(self, "timeout", message)
        self.finish(invocation, (json.dumps({
            "errorMessage": f"Task timed out after {self.spec.timeout:.2f} seconds",
        }).encode(), "Unhandled"))
        self.stats.errors -= 1  # a timeout is counted as a timeout, not an error
        self._end(container)
        if self.spec.pinned:
            self._new_container()  # a pinned function is restarted
        self.core.scheduler.call_soon(self._dispatch)

    def shutdown(self) -> None:
        """End every container and drop the queue (a core stopping loses what it held,
        counted in ``stats.dropped_at_stop``)."""
        running = sum(container.state == "busy"
                      or (container.state == "starting" and container.first is not None
                          and not container.first.done)
                      for container in self.containers)
        self.stats.dropped_at_stop += len(self.queue) + running
        self.queue.clear()
        for container in list(self.containers):
            self._end(container)
