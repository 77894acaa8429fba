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
  subscribers and, like every local publication, on through :mod:`harness.v2.fabric`
  (Lambda event sources, the bridge to subscribed devices).
* local pub/sub: IPC subscribers (the nucleus's matching rules), then the fabric.
* IoT Core: publications are recorded as messages from the function to ``cloud``.
* GetConfiguration: the component's ``accessControl``; UpdateState: recorded.
* GetSecretValue: the group's secrets with the simulation's values.
"""

from __future__ import annotations

import random
import threading
from typing import TYPE_CHECKING, Any

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
from fakes.nucleus_ipc.services.rate_limit import RateLimits
from harness.function_failures import exception_text
from harness.ipc_events import (
    IpcEvents,
    install_container_executors,
    uninstall_container_executors,
)
from harness.one_cpu import CpuPin, pin_to_current_cpu, unpin
from harness.v2.deployment import SHADOW_MANAGER
from harness.v2.shadow_manager import ShadowManagerSettings

if TYPE_CHECKING:
    from harness.core import SimulatedCore
    from harness.functions import Container

__all__ = ["CoreNucleus", "component_name"]


def component_name(group_name: str, function: str) -> str:
    """A Lambda's V2 component name, as the deployment names it."""
    return f"{group_name}.{function}"


class _CorePubSub(InMemoryPubSub):
    """Local pub/sub on the core: IPC subscribers, then the subscribers that are not IPC
    clients (Lambda event sources, ShadowManager, the bridge: :mod:`harness.v2.fabric`)."""

    def __init__(self, core: SimulatedCore) -> None:
        super().__init__()
        self.core = core

    def publish(self, message: PubSubMessage) -> None:
        delivered = self.deliver(message)
        fabric = self.core.fabric
        if fabric is not None and self.core.running:
            fabric.published_locally(message, delivered)


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
    one_cpu: bool = True

    def __init__(self, core: SimulatedCore, seed: int = 0) -> None:
        group = core.group
        self.core = core
        self._cpu_pin: CpuPin | None = None
        #: held around every handler and stream close; the scheduler thread never holds it
        self.lock = threading.RLock()
        self.components = {component_name(group.name, f.name): f.name for f in group.functions}
        self.access = AccessControl()
        # each Lambda component's configuration as the deployment leaves it on the core
        # (its accessControl comes from there, as on a real core)
        deployment = core.deployment
        configs: dict[str, dict[str, Any]] = {}
        for component in self.components:
            config = deployment.configuration(component) if deployment is not None else {}
            configs[component] = dict(config)
            access = config.get("accessControl")
            if access is not None:
                self.access.set_component(component, access)
        self.configurations = InMemoryComponents(configs)
        self.pubsub = _CorePubSub(core)
        self.cloud = _CoreCloud(core, self.components)
        shadow_manager = None
        if deployment is not None and SHADOW_MANAGER in deployment.components:
            shadow_manager = ShadowManagerSettings.from_configuration(
                deployment.configuration(SHADOW_MANAGER), group.core.thing)
        self.shadow_ipc = ShadowManagerIpc(
            _CurrentShadow(core), self.access,  # type: ignore[arg-type]
            pubsub=self.pubsub, clock=core.clock.time,
            rate_limits=shadow_manager.rate_limits if shadow_manager else RateLimits())
        self.events = IpcEvents(core.scheduler, on_error=self._callback_failed)
        self.server = NucleusIpcServer(
            [PubSubIpc(self.pubsub, self.access),
             # ShadowManager's operations exist only where it is deployed ("not supported")
             *([self.shadow_ipc] if shadow_manager is not None else []),
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
        self.core.function_failed(container.function, "handler_error",
                                  f"{exception_text(error)} (in an IPC callback)")

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
