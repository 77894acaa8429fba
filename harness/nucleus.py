"""The simulated V2 core's nucleus IPC: :mod:`fakes.nucleus_ipc` wired into the core.

In ``mode="v2"`` the simulation starts one :class:`NucleusIpcServer` and every Lambda
container gets, as on a V2 core, ``AWS_GG_NUCLEUS_DOMAIN_SOCKET_FILEPATH[_FOR_COMPONENT]``,
``SVCUID`` and ``AWS_CONTAINER_AUTHORIZATION_TOKEN`` (one token per container, naming the
component ``<group>.<function>``, the principal of every authorization check). The real
``awsiotsdk`` clients in Lambda code connect to it unmodified.

Blocking calls under greenlets. Lambdas are greenlets on the scheduler thread, and the SDK's
synchronous calls wait in ``Future.result()``, which blocks that thread. The handlers
therefore run on the server's connection threads, inside :attr:`CoreNucleus.lock`, which no
thread holds while it waits on IPC (the scheduler thread never takes it). While a Lambda
waits, the scheduler thread is parked, so a handler is the only code touching the core: the
hand-off is strictly sequential (Lambda -> handler -> Lambda), as deterministic as a
function call, and virtual time does not move (an IPC call takes no simulated time). The
Shadow's timestamps and ShadowManager's rate limits read the virtual clock explicitly.
Stream events are delivered at defined points (:mod:`harness.ipc_events`). Since only one
thread of such a hand-off runs at a time, the nucleus keeps them all on one CPU while it runs
(:attr:`CoreNucleus.one_cpu`, :mod:`harness.one_cpu`): a hand-off is then a context switch,
not a wake-up of another CPU.

What the services are backed by:

* ShadowManager: the simulation's Shadow service. Its local publications go to IPC
  subscribers; the ones the V1 ``GGShadowService`` would also publish for a Lambda's update
  or delete (``…/update/accepted|documents|delta``, ``…/delete/accepted``) also go through
  the group's subscription table as ``GGShadowService``, so subscribed devices and the
  message log see them as before (until the V2 bridge is modelled).
* local pub/sub: IPC subscribers (the nucleus's matching rules).
* IoT Core: publications are recorded as messages from the function to ``cloud``.
* GetConfiguration: the component's ``accessControl``; UpdateState: recorded.
* GetSecretValue: the group's secrets with the simulation's values.
"""

from __future__ import annotations

import random
import threading
from typing import TYPE_CHECKING, Any, ClassVar

from fakes.nucleus_ipc.server import NucleusIpcServer, TokenRegistry
from fakes.nucleus_ipc.services import (
    AccessControl,
    ComponentIpc,
    InMemoryComponents,
    InMemoryIotCore,
    InMemoryPubSub,
    InMemorySecrets,
    IotCoreIpc,
    MqttMessage,
    PubSubIpc,
    PubSubMessage,
    SecretsIpc,
    SecretVersion,
    ShadowManagerIpc,
)
from harness.ipc_events import (
    IpcEvents,
    install_container_executors,
    uninstall_container_executors,
)
from harness.one_cpu import CpuPin, pin_to_current_cpu, unpin

if TYPE_CHECKING:
    from harness.core import SimulatedCore
    from harness.functions import Container

__all__ = ["CoreNucleus", "component_name"]

_SHADOW_REPLIES = ("/update/accepted", "/update/documents", "/update/delta", "/delete/accepted")


def component_name(group_name: str, function: str) -> str:
    """A Lambda's V2 component name, as the deployment names it."""
    return f"{group_name}.{function}"


class _CorePubSub(InMemoryPubSub):
    """Local pub/sub on the core: IPC subscribers, and ShadowManager's replies to Lambdas'
    shadow changes also through the legacy subscription table."""

    def __init__(self, core: SimulatedCore) -> None:
        from harness.core import SHADOW_SERVICE

        super().__init__()
        self.core = core
        self._shadow_service = SHADOW_SERVICE

    def publish(self, message: PubSubMessage) -> None:
        super().publish(message)
        if message.source == "aws.greengrass.ShadowManager" and message.topic.endswith(
                _SHADOW_REPLIES) and self.core.running:
            self.core.route(self._shadow_service, message.topic, message.payload)


class _CoreCloud(InMemoryIotCore):
    """PublishToIoTCore lands in the core's message log, from the function, to ``cloud``."""

    def __init__(self, core: SimulatedCore, functions: dict[str, str]) -> None:
        super().__init__()
        self.core = core
        self._functions = functions

    def publish(self, message: MqttMessage) -> None:
        super().publish(message)
        from harness.core import RoutedMessage

        source = self._functions.get(message.source or "", message.source or "")
        self.core.messages.append(RoutedMessage(
            self.core.clock.elapsed, f"function:{source}", message.topic, message.payload,
            ("cloud",)))


class _CurrentShadow:
    """The core's Shadow service, whichever it is now (a restart reopens it)."""

    def __init__(self, core: SimulatedCore) -> None:
        self._core = core

    def __getattr__(self, name: str) -> Any:
        return getattr(self._core.shadow, name)


class CoreNucleus:
    """The IPC server of one simulated V2 core, and what it needs from the core."""

    #: While the nucleus runs, the thread that started it (the scheduler's) and every thread
    #: started from then on (the server's, the Lambdas' IPC clients') share one CPU: an IPC
    #: call is a relay of threads, cheaper on one CPU (see :mod:`harness.one_cpu`). Set to
    #: ``False`` to let them spread.
    one_cpu: ClassVar[bool] = True

    def __init__(self, core: SimulatedCore, seed: int = 0) -> None:
        group = core.group
        self.core = core
        self._cpu_pin: CpuPin | None = None
        #: held around every handler and stream close; the scheduler thread never holds it
        self.lock = threading.RLock()
        self.components = {component_name(group.name, f.name): f.name for f in group.functions}
        self.access = AccessControl()
        configs: dict[str, dict[str, Any]] = {}
        for function in group.functions:
            component = component_name(group.name, function.name)
            config = function.access_control
            if config is not None:
                self.access.set_component(component, config)
                configs[component] = {"accessControl": config}
        self.configurations = InMemoryComponents(configs)
        for component in self.components:
            self.configurations._configurations.setdefault(component, {})
        self.pubsub = _CorePubSub(core)
        self.cloud = _CoreCloud(core, self.components)
        self.shadow_ipc = ShadowManagerIpc(
            _CurrentShadow(core), self.access,  # type: ignore[arg-type]
            pubsub=self.pubsub, clock=core.clock.time)
        self.events = IpcEvents(core.scheduler, on_error=self._callback_failed)
        self.server = NucleusIpcServer(
            [PubSubIpc(self.pubsub, self.access), self.shadow_ipc,
             IotCoreIpc(self.cloud, self.access),
             ComponentIpc(self.configurations, self.configurations),
             SecretsIpc(self._secrets(), self.access)],
            lock=self.lock,
            tokens=TokenRegistry(random.Random(f"svcuid-{seed}")),
            event_gate=self.events.gate,
        )

    def _secrets(self) -> InMemorySecrets:
        group, store = self.core.group, InMemorySecrets()
        for secret in group.secrets:
            if secret.name in self.core.secrets:
                arn = secret.arn or (f"arn:aws:secretsmanager:{group.region}:{group.account}:"
                                     f"secret:{secret.name}-abcdef")
                store.add(SecretVersion(arn, "simulated-version-1",
                                        string=self.core.secrets[secret.name]))
        return store

    def _callback_failed(self, container: Container, error: BaseException) -> None:
        self.core.logs.runtime_error(container, error, "Unhandled exception in IPC callback")

    # -- lifecycle -------------------------------------------------------------------------

    def start(self) -> CoreNucleus:
        if self.one_cpu:
            self._cpu_pin = pin_to_current_cpu()
        self.server.start()
        install_container_executors(self.events)
        self.core.scheduler.after_callback = self.events.poll
        return self

    def stop(self) -> None:
        self.core.scheduler.after_callback = None
        uninstall_container_executors()
        self.server.stop()
        unpin(self._cpu_pin)
        self._cpu_pin = None

    # -- containers ------------------------------------------------------------------------

    def issue_token(self, function: str) -> str:
        return self.server.issue_token(component_name(self.core.group.name, function))

    def environment(self, function: str, token: str) -> dict[str, str]:
        return self.server.environment(component_name(self.core.group.name, function), token)

    def container_stopped(self, container: Container) -> None:
        """Close its connections (pending calls fail, subscriptions end); its token dies."""
        self.events.container_stopped(container)
        self.server.close_token(container.token)
