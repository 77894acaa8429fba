"""The simulated Greengrass core: the daemon the Lambdas' IPC client talks to.

It routes messages through the group's subscription table, serves the local Shadow
(``GGShadowService``) and the secrets manager, invokes Lambdas for each other, and runs
their containers on the virtual clock. It implements :class:`fakes.ipc_backend.IPCBackend`,
so the real, unmodified ``greengrasssdk`` inside each Lambda reaches it exactly as it would
reach a core's daemon.
"""

from __future__ import annotations

import base64
import json
import os
import random
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from fakes.ipc_backend import IPCError
from fakes.shadow import ShadowService, parse_request_topic
from harness.clock import Scheduler, VirtualClock
from harness.function_failures import FailureKind, FailureRecorder, FunctionFailure
from harness.functions import Container, FunctionRuntime, Invocation
from harness.logs import LogBook
from harness.ml_resources import UnpackedResources
from harness.nucleus import CoreNucleus
from harness.sysfs import FakeSysfs
from harness.tasks import current_task

if TYPE_CHECKING:
    from harness.group import Group
    from harness.v2.deployment import V2Deployment
    from harness.v2.fabric import V2Fabric

SHADOW_ARN = "arn:aws:lambda:::function:GGShadowService"
ROUTER_ARN = "arn:aws:lambda:::function:GGRouter"
SECRETS_ARN = "arn:aws:lambda:::function:GGSecretManager:1"
SHADOW_SERVICE = "GGShadowService"
CLOUD = "cloud"
INHERITED_VARIABLES = ("PATH", "HOME", "LANG", "LC_ALL", "TZ")

Mode = Literal["v1", "v2"]
LegacyShadow = Literal["warn", "reject"]

#: What AWS says of greengrasssdk's local shadow calls on a Greengrass V2 core (developer
#: guide, "Import V1 Lambda functions": local shadows): the code must move to the AWS IoT
#: Device SDK V2's shadow IPC, with aws.greengrass.ShadowManager as a dependency.
V2_LEGACY_SHADOW = (
    "{function} used greengrasssdk's local shadow ({topic}): on a Greengrass V2 core a Lambda "
    "must use the AWS IoT Device SDK V2 shadow IPC instead (GetThingShadow/UpdateThingShadow "
    "with aws.greengrass.ShadowManager as a dependency); the V1 call is not supported there")


class CoreUnavailable(ConnectionError):
    """The core is stopped (a restart is under way): nothing reaches its broker or router."""


@dataclass(frozen=True, slots=True)
class RoutedMessage:
    """One message that went through the router."""

    time: float  # seconds since the simulation started
    source: str  # "device:<thing>", "function:<name>", "cloud", "GGShadowService"
    topic: str
    payload: bytes
    targets: tuple[str, ...]  # where it was delivered; empty when nothing subscribes
    #: on a V2 core, where the message stopped when it reached nothing (client device auth
    #: dropped it, no bridge mapping relays it, nothing subscribes on local pub/sub)
    note: str = ""

    def json(self) -> Any:
        return json.loads(self.payload)


def _unqualified(arn: str) -> str:
    parts = arn.split(":")
    return ":".join(parts[:7]) if len(parts) > 7 else arn


class SimulatedCore:
    def __init__(
        self,
        group: Group,
        *,
        code_dir: Path,
        clock: VirtualClock,
        scheduler: Scheduler,
        shadow: ShadowService,
        sysfs: FakeSysfs,
        mode: Mode = "v2",
        legacy_shadow: LegacyShadow = "reject",
        seed: int = 0,
        secrets: dict[str, str] | None = None,
        ml_resources: UnpackedResources | None = None,
        deployment: V2Deployment | None = None,
    ) -> None:
        if mode not in ("v1", "v2"):
            raise ValueError(f"mode must be 'v1' or 'v2', not {mode!r}")
        self.group = group
        self.clock = clock
        self.scheduler = scheduler
        self.shadow = shadow
        self.sysfs = sysfs
        self.mode = mode
        if legacy_shadow not in ("warn", "reject"):
            raise ValueError(f"legacy_shadow must be 'warn' or 'reject', not {legacy_shadow!r}")
        self.legacy_shadow = legacy_shadow
        self._warned_legacy_shadow: set[str] = set()
        self.secrets = dict(secrets or {})
        self.ml_resources = ml_resources
        self.logs = LogBook(clock)
        #: every function failure (import, handler, timeout, refusal), in order
        self.failures = FailureRecorder(self.logs, clock)
        self.running = False
        self.restarts = 0
        #: called with (target, topic, payload) for every message routed to a device; a
        #: rig with a real broker publishes it there
        self.on_device_message: Callable[[str, str, bytes], None] | None = None
        self.messages: list[RoutedMessage] = []
        digits = f"{random.Random(seed).getrandbits(128):032x}"
        self._id_prefix = f"{digits[:8]}-{digits[8:12]}-4{digits[13:16]}-8{digits[17:20]}-"
        self._id_count = 0
        self._invocations: dict[str, Invocation] = {}
        #: what a V2 core runs: the deployment the group compiles to (or the one given,
        #: e.g. rebuilt from a deploy plan's own requests)
        self.deployment: V2Deployment | None = None
        if mode == "v2":
            from harness.v2.deployment import compile_group

            self.deployment = deployment if deployment is not None else compile_group(group)
        elif deployment is not None:
            raise ValueError("a V2 deployment needs mode='v2'")
        #: the nucleus IPC server of a V2 core (started and stopped by the Simulation)
        self.nucleus: CoreNucleus | None = CoreNucleus(self, seed) if mode == "v2" else None
        self.functions = {
            spec.name: FunctionRuntime(self, spec, code_dir) for spec in group.functions
        }
        #: a V2 core's message path: client device auth, broker, bridge, local pub/sub,
        #: event sources, ShadowManager, legacy router (None on V1: the subscription table)
        self.fabric: V2Fabric | None = None
        if self.deployment is not None:
            from harness.v2.fabric import V2Fabric

            self.fabric = V2Fabric(self, self.deployment)
        self._routes: dict[str, list[Any]] = {}
        for subscription in group.subscriptions:
            self._routes.setdefault(subscription.source, []).append(subscription)
        self._targets: dict[tuple[str, str], tuple[str, ...]] = {}
        self._by_arn: dict[str, FunctionRuntime] = {}
        for function in self.functions.values():
            self._by_arn[function.arn] = function
            self._by_arn[_unqualified(function.arn)] = function

    # -- set-up ----------------------------------------------------------------------------

    def start(self) -> None:
        self.running = True
        for function in self.functions.values():
            function.start()

    def shutdown(self) -> None:
        """Stop every container; queued invocations are lost (they live in memory)."""
        self.running = False
        for function in self.functions.values():
            function.shutdown()

    def restart(self, downtime: float, shadow: ShadowService | None = None) -> None:
        """Stop now and start again ``downtime`` seconds later, as ``systemctl restart
        greengrass`` does: pinned functions start afresh; ``shadow`` (the Shadow service
        reopened from its database) replaces the old one if given."""
        if downtime < 0:
            raise ValueError("downtime must not be negative")
        self.logs.core("INFO", "Greengrass core stopping (restart)")
        self.shutdown()
        if shadow is not None:
            self.shadow = shadow

        def start_again() -> None:
            self.restarts += 1
            self.logs.core("INFO", "Greengrass core started")
            self.start()

        self.scheduler.call_later(downtime, start_again)

    def function_failed(self, function: FunctionRuntime | str, kind: FailureKind,
                        message: str) -> FunctionFailure:
        """Record a failure of ``function`` (see :mod:`harness.function_failures`)."""
        name = function if isinstance(function, str) else function.spec.name
        return self.failures.record(name, kind, message)

    def new_id(self) -> str:
        """An invocation id shaped like the core's (a UUID): a prefix drawn once from the
        seeded RNG, then a counter, so ids are unique and the same for the same seed."""
        self._id_count += 1
        return f"{self._id_prefix}{self._id_count:012x}"

    def container_token(self, function: FunctionRuntime, number: int) -> str:
        """A new container's authorization token: on V2 a fresh ``SVCUID`` naming its
        component (also its ``AWS_CONTAINER_AUTHORIZATION_TOKEN``, as the nucleus sets)."""
        if self.nucleus is not None:
            return self.nucleus.issue_token(function.spec.name)
        return f"container-token-{number}"

    def container_stopped(self, container: Container) -> None:
        """A container ended: on V2 its IPC connections close and its token dies."""
        if self.nucleus is not None:
            self.nucleus.container_stopped(container)

    def environment_for(self, function: FunctionRuntime, token: str) -> dict[str, str]:
        """What a Lambda container's environment holds on a core, plus the function's own."""
        spec = function.spec
        real = os.environ
        environment = {name: real[name] for name in INHERITED_VARIABLES if name in real}
        environment.update({
            "AWS_REGION": self.group.region,
            "AWS_DEFAULT_REGION": self.group.region,
            "AWS_LAMBDA_FUNCTION_NAME": spec.name,
            "AWS_LAMBDA_FUNCTION_VERSION": spec.version,
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(spec.memory_mb),
            "MY_FUNCTION_ARN": function.arn,
            "SHADOW_FUNCTION_ARN": SHADOW_ARN,
            "ROUTER_FUNCTION_ARN": ROUTER_ARN,
            "SECRETS_MANAGER_FUNCTION_ARN": SECRETS_ARN,
            "GG_DAEMON_PORT": "8000",
            "AWS_CONTAINER_AUTHORIZATION_TOKEN": token,
            "CPU_TEMP_PATH": str(self.sysfs.thermal if spec.sys_access
                                 else self.sysfs.unreadable),
        })
        if self.nucleus is not None:
            environment.update(self.nucleus.environment(spec.name, token))
        ml = self.ml_resources
        readable = [r.destination for r in self.group.ml_resources
                    if r.name in spec.ml_resources]
        environment.update(
            (name, ml.local_path(value, readable) if ml and readable else value)
            for name, value in spec.environment.items()
        )
        return environment

    # -- routing ---------------------------------------------------------------------------

    def route(self, source: str, topic: str, payload: bytes,
              policy: str = "BestEffort") -> tuple[str, ...]:
        """Deliver a message to every subscription that matches; return the targets.
        Raises :class:`CoreUnavailable` while the core is stopped."""
        if not self.running:
            raise CoreUnavailable(f"the Greengrass core is not running; {topic} from {source} "
                                  "not delivered")
        if self.fabric is not None:
            return self.fabric.route(source, topic, payload, policy)
        targets = self._targets.get((source, topic))
        if targets is None:
            targets = tuple(dict.fromkeys(
                s.target for s in self._routes.get(source, ()) if s.matches(topic)))
            if len(self._targets) < 100_000:  # topics repeat: remember where they go
                self._targets[(source, topic)] = targets
        if policy == "AllOrError":
            full = [t for t in targets if t.startswith("function:")
                    and self._function(t).queue_is_full()]
            if full:
                raise IPCError(429, f"message on {topic} not delivered: queue full for "
                                    f"{', '.join(full)} (queueFullPolicy AllOrError)")
        self.messages.append(RoutedMessage(self.clock.elapsed, source, topic, payload, targets))
        for target in targets:
            self._deliver(source, target, topic, payload)
        return targets

    def _function(self, endpoint: str) -> FunctionRuntime:
        return self.functions[endpoint.split(":", 1)[1]]

    def _deliver(self, source: str, target: str, topic: str, payload: bytes) -> None:
        if target.startswith("function:"):
            self._function(target).submit(Invocation(
                self.new_id(), payload, _subject_context(topic), "Event", source))
        elif target == SHADOW_SERVICE:
            if parse_request_topic(topic) is None:
                self.logs.core("WARN", f"GGShadowService ignores {topic}: not a shadow request")
                return
            self.serve_shadow(topic, payload)
        elif target.startswith("device:") and self.on_device_message is not None:
            self.on_device_message(target, topic, payload)
        # "cloud" and "device:<thing>" keep what they receive in self.messages

    def delivered_to(self, target: str) -> list[RoutedMessage]:
        """Messages the router delivered to ``target`` (``cloud``, ``device:<thing>``, ...)."""
        return [m for m in self.messages if target in m.targets]

    # -- the IPC daemon --------------------------------------------------------------------

    def _caller(self, token: str | None) -> Container:
        task = current_task()
        container = getattr(task, "owner", None)
        if container is None or token != container.token:
            raise IPCError(403, "invalid authorization token")
        return container

    def post_work(self, function_arn: str, payload: bytes, client_context: str | None,
                  invocation_type: str, auth_token: str | None) -> str:
        caller = self._caller(auth_token)
        if invocation_type not in ("RequestResponse", "Event"):
            raise IPCError(400, f"invalid invocation type {invocation_type}")
        custom = _custom(client_context)
        if _unqualified(function_arn) == ROUTER_ARN:
            return self._publish(caller, custom, payload)
        if _unqualified(function_arn) == SHADOW_ARN:
            self._check_legacy_shadow(caller, custom)
            return self._answer(self._shadow_request(custom, payload))
        if _unqualified(function_arn) == _unqualified(SECRETS_ARN):
            return self._answer(self._secret(caller, payload))
        target = self._by_arn.get(function_arn)
        if target is None:
            raise IPCError(404, f"Function not found: {function_arn}")
        invocation = Invocation(self.new_id(), payload, client_context, invocation_type,
                                f"function:{caller.function.spec.name}")
        if not target.submit(invocation):
            raise IPCError(429, f"Function {target.arn} queue is full")
        if invocation_type == "RequestResponse":
            self._invocations[invocation.id] = invocation
        return invocation.id

    def get_work_result(self, function_arn: str, invocation_id: str,
                        auth_token: str | None) -> tuple[bytes, str | None]:
        self._caller(auth_token)
        invocation = self._invocations.get(invocation_id)
        if invocation is None:
            raise IPCError(404, f"No invocation {invocation_id} of {function_arn}")
        task = current_task()
        while not invocation.done:
            assert task is not None  # _caller found a container, so a task runs
            invocation.waiters.append(task)
            task.block()
        del self._invocations[invocation_id]
        assert invocation.result is not None
        return invocation.result

    def get_work(self, function_arn: str, auth_token: str | None) -> tuple[str, bytes, str | None]:
        raise IPCError(400, "the simulated core hands work to its containers itself")

    def post_work_result(self, function_arn: str, invocation_id: str, payload: bytes,
                         auth_token: str | None) -> None:
        raise IPCError(400, "the simulated core collects results from its containers itself")

    def post_handler_err(self, function_arn: str, invocation_id: str, handler_err: str,
                         auth_token: str | None) -> None:
        raise IPCError(400, "the simulated core collects errors from its containers itself")

    # -- system functions ------------------------------------------------------------------

    def _answer(self, payload: bytes, error: str | None = None) -> str:
        invocation = Invocation(self.new_id(), b"", None, "RequestResponse", "core",
                                result=(payload, error))
        self._invocations[invocation.id] = invocation
        return invocation.id

    def _publish(self, caller: Container, custom: dict[str, Any], payload: bytes) -> str:
        topic = custom.get("subject", "")
        source_arn = caller.function.arn
        policy = custom.get("queueFullPolicy") or "BestEffort"
        targets = self.route(f"function:{caller.function.spec.name}", topic, payload, policy)
        if not targets:
            if self.mode == "v2":
                message = (f"No subscription exists for the source {source_arn} and subject "
                           f"{topic}. Deploy and configure aws.greengrass.LegacySubscriptionRouter"
                           " component to support publishing from Lambdas.")
                self.logs.core("ERROR", message)
                self.function_failed(caller.function, "refused", message)
                raise IPCError(400, message)
            # Greengrass V1 accepts the publish and drops the message (field reports show
            # the Lambda's log claiming success); the core's log says why.
            self.logs.core("WARN", f"No subscription matches source {source_arn} and subject "
                                   f"{topic}; message dropped")
        return self.new_id()

    def _check_legacy_shadow(self, caller: Container, custom: dict[str, Any]) -> None:
        """V2 mode: greengrasssdk's shadow calls are V1-only. ``legacy_shadow="reject"`` (the
        default, as a real V2 core) refuses them, the reason in the core's log and, through
        the SDK's ShadowError, the function's; ``"warn"`` answers them as V1 would and says
        so in the core's log, once per function."""
        if self.mode != "v2":
            return
        name = caller.function.spec.name
        message = V2_LEGACY_SHADOW.format(function=name, topic=custom.get("subject", ""))
        if self.legacy_shadow == "reject":
            self.logs.core("ERROR", message)
            self.function_failed(caller.function, "refused", message)
            raise IPCError(400, message)
        if name not in self._warned_legacy_shadow:
            self._warned_legacy_shadow.add(name)
            self.logs.core("WARN", message + " (answered as V1 would: the simulation runs "
                                             "with legacy_shadow='warn')")

    def serve_shadow(self, topic: str, payload: bytes, *, synchronous: bool = False
                     ) -> list[tuple[str, bytes]]:
        """The local Shadow service answers a request on ``topic``; returns its replies
        (accepted or rejected, then documents and delta). What goes out through the router
        as GGShadowService depends on how the request came:

        - published on the request topic (a device over MQTT, or the harness standing in for
          one): every reply, on its reply topic, as the MQTT Shadow API does;
        - ``synchronous`` (a Lambda's ``get/update/delete_thing_shadow``): the answer goes
          to the caller only. As with the Shadow REST API (``shared/specs/shadow.md`` §1.1)
          a GET publishes nothing and a rejection publishes nothing; an accepted update still
          publishes ``/update/accepted``, ``/documents`` and ``/delta``, and an accepted
          delete ``/delete/accepted``, so subscribers learn of every change. (V2's
          ShadowManager also echoes IPC GETs and rejections, but on its local pub/sub, which
          reaches MQTT devices only through a bridge the group does not configure.)
        """
        replies = self.shadow.handle(topic, payload)
        published = replies
        if synchronous:
            request = parse_request_topic(topic)
            accepted = bool(replies) and replies[0][0].endswith("/accepted")
            if request is None or request.operation == "get" or not accepted:
                published = []
        for reply_topic, reply in published:
            self.route(SHADOW_SERVICE, reply_topic, reply)
        return replies

    def _shadow_request(self, custom: dict[str, Any], payload: bytes) -> bytes:
        topic = custom.get("subject", "")
        if parse_request_topic(topic) is None:
            raise IPCError(400, f"not a shadow request subject: {topic!r}")
        return self.serve_shadow(topic, payload, synchronous=True)[0][1]

    def _secret(self, caller: Container, payload: bytes) -> bytes:
        """The core's secrets manager: group secrets the calling function has access to,
        with values from the simulation (``secrets={name: value}``). Answers in the shape
        greengrasssdk's SecretsManager client reads (errors as ``Status``/``Message``,
        ``CreatedDate`` in epoch milliseconds)."""
        request = json.loads(payload or b"{}")
        secret_id = request.get("SecretId", "")
        declared = {s.name: s for s in self.group.secrets}
        name = next((n for n, s in declared.items() if secret_id in (n, s.arn)), None)
        if name is None or name not in self.secrets:
            return json.dumps({"Status": 404, "Message": "Secrets Manager can't find the "
                               f"specified secret: {secret_id}"}).encode()
        if name not in caller.function.spec.secrets:
            return json.dumps({"Status": 403, "Message": f"{caller.function.arn} has no "
                               f"access to secret {name} (add it to the function's secrets)"
                               }).encode()
        arn = declared[name].arn or (f"arn:aws:secretsmanager:{self.group.region}:"
                                     f"{self.group.account}:secret:{name}")
        return json.dumps({
            "ARN": arn,
            "Name": name,
            "VersionId": "simulated-version-1",
            "SecretString": self.secrets[name],
            "VersionStages": [request.get("VersionStage") or "AWSCURRENT"],
            "CreatedDate": int(self.clock.epoch * 1000),
        }).encode()


@lru_cache(maxsize=4096)
def _subject_context(topic: str) -> str:
    """The client context the core passes with a routed message: the topic as subject."""
    return base64.b64encode(json.dumps({"custom": {"subject": topic}}).encode()).decode()


def _custom(client_context: str | None) -> dict[str, Any]:
    """The ``custom`` part of a client context (read-only: it is shared between calls)."""
    if not client_context:
        return {}
    return _decoded_custom(client_context)


@lru_cache(maxsize=4096)
def _decoded_custom(client_context: str) -> dict[str, Any]:
    try:
        document = json.loads(base64.b64decode(client_context))
    except ValueError as error:
        raise IPCError(400, f"client context is not base64 JSON: {error}") from None
    return document.get("custom") or {}
