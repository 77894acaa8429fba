"""Shared pieces of the nucleus IPC tests: a fake core around the server, clients made the
way a component makes them (from its environment), a raw protocol client, a manual clock."""

from __future__ import annotations

import os
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from awsiot.greengrasscoreipc.client import GreengrassCoreIPCClient
from awsiot.greengrasscoreipc.clientv2 import GreengrassCoreIPCClientV2

from fakes.nucleus_ipc.eventstream import Decoder, Header, Message, encode_message
from fakes.nucleus_ipc.server import NucleusIpcServer
from fakes.nucleus_ipc.services import (
    AccessControl,
    ComponentIpc,
    InMemoryComponents,
    InMemoryIotCore,
    InMemoryPubSub,
    InMemorySecrets,
    IotCoreIpc,
    PubSubIpc,
    RateLimits,
    SecretsIpc,
    ShadowManagerIpc,
)
from fakes.shadow import ShadowService

#: Longest wait for anything in these tests, in seconds: a broken fake fails, never hangs.
T = 5.0
T0 = 1_700_000_000
SHADOW = "aws.greengrass.ShadowManager"
PUBSUB = "aws.greengrass.ipc.pubsub"
IOT = "aws.greengrass.ipc.mqttproxy"
P = "aws.greengrass#"


class ManualClock:
    """Epoch seconds that move only when a test says so."""

    def __init__(self, start: float = T0) -> None:
        self.now = float(start)

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def policy(service: str, operations: list[str], resources: list[str], pid: str = "p") -> dict:
    return {
        service: {
            pid: {"policyDescription": "test", "operations": operations, "resources": resources}
        }
    }


@dataclass
class FakeCore:
    """The server with every service on in-memory models, as a simulated core would host it."""

    clock: ManualClock = field(default_factory=ManualClock)
    access: AccessControl = field(default_factory=AccessControl)
    shadow_manager: bool = True
    rate_limits: RateLimits | None = None

    def __post_init__(self) -> None:
        self.shadow = ShadowService(clock=self.clock)
        self.router = InMemoryPubSub()
        self.cloud = InMemoryIotCore()
        self.components = InMemoryComponents()
        self.secrets = InMemorySecrets()
        services: list[Any] = [
            PubSubIpc(self.router, self.access),
            IotCoreIpc(self.cloud, self.access),
            ComponentIpc(self.components, self.components),
            SecretsIpc(self.secrets, self.access),
        ]
        if self.shadow_manager:
            self.shadow_ipc = ShadowManagerIpc(
                self.shadow, self.access, pubsub=self.router, rate_limits=self.rate_limits
            )
            services.append(self.shadow_ipc)
        self.server = NucleusIpcServer(services, reject_grace=0.2)
        self._clients: list[Any] = []
        self._raw: list[RawClient] = []

    def start(self) -> FakeCore:
        self.server.start()
        return self

    def allow(self, component: str, config: dict) -> None:
        problems = self.access.set_component(component, config)
        assert not problems, problems

    @contextmanager
    def component_env(self, component: str, token: str | None = None) -> Iterator[dict[str, str]]:
        """The component's IPC variables in ``os.environ`` (as in its process)."""
        env = self.server.environment(component, token)
        saved = {key: os.environ.get(key) for key in env}
        os.environ.update(env)
        try:
            yield env
        finally:
            for key, value in saved.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value

    def client(self, component: str, token: str | None = None) -> GreengrassCoreIPCClientV2:
        """A V2 client made as a component makes it: from the environment alone."""
        with self.component_env(component, token):
            client = GreengrassCoreIPCClientV2()
        self._clients.append(client)
        return client

    def old_client(self, component: str) -> GreengrassCoreIPCClient:
        from awsiot import greengrasscoreipc

        with self.component_env(component):
            client = greengrasscoreipc.connect(timeout=T)
        self._clients.append(client)
        return client

    def raw(self, component: str | None = None) -> RawClient:
        raw = RawClient(self.server.socket_path)
        self._raw.append(raw)
        if component is not None:
            raw.connect(self.server.issue_token(component))
        return raw

    def stop(self) -> None:
        for client in self._clients:
            try:
                if isinstance(client, GreengrassCoreIPCClientV2):
                    client.close(executor_wait=False).result(T)
                else:
                    client.close().result(T)
            except Exception:
                pass
        for raw in self._raw:
            raw.close()
        self.server.stop(timeout=T)


class RawClient:
    """A bare protocol client on our codec, for the rules a well-behaved SDK never breaks."""

    def __init__(self, path: str) -> None:
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(T)
        self.sock.connect(path)
        self._decoder = Decoder()
        self._messages: list[Message] = []

    def send(
        self,
        message_type: int,
        flags: int = 0,
        stream_id: int = 0,
        headers: tuple[Header, ...] = (),
        payload: bytes = b"",
    ) -> None:
        rpc = (
            Header.int32(":message-type", message_type),
            Header.int32(":message-flags", flags),
            Header.int32(":stream-id", stream_id),
        )
        self.sock.sendall(encode_message(headers + rpc, payload))

    def send_raw(self, data: bytes) -> None:
        self.sock.sendall(data)

    def connect(self, token: str, version: str = "0.1.0") -> Message:
        self.send(
            4,
            headers=(Header.string(":version", version),),
            payload=f'{{"authToken": "{token}"}}'.encode(),
        )
        return self.next()

    def request(self, stream_id: int, operation: str, body: bytes, flags: int = 0) -> None:
        self.send(
            0,
            flags,
            stream_id,
            (
                Header.string(":content-type", "application/json"),
                Header.string("operation", operation),
            ),
            body,
        )

    def next(self) -> Message:
        """The next message from the server (fails after T seconds)."""
        while not self._messages:
            data = self.sock.recv(65536)
            if not data:
                raise ConnectionError("server closed the connection")
            self._messages.extend(self._decoder.feed(data))
        return self._messages.pop(0)

    def closed_by_server(self) -> bool:
        """Whether the server closes the connection (after any messages still in flight)."""
        try:
            while True:
                data = self.sock.recv(65536)
                if not data:
                    return True
                self._messages.extend(self._decoder.feed(data))
        except TimeoutError:
            return False

    def close(self) -> None:
        self.sock.close()


def rpc_fields(message: Message) -> tuple[int, int, int]:
    def value(name: str) -> int:
        header = message.header(name)
        assert header is not None, f"{name} missing from {message}"
        return int(header.value)  # type: ignore[arg-type]

    return value(":message-type"), value(":message-flags"), value(":stream-id")


class Collector:
    """Stream events and close notifications, waited for with a timeout."""

    def __init__(self) -> None:
        self.events: list[Any] = []
        self.closed = threading.Event()
        self._changed = threading.Condition()

    def on_event(self, event: Any) -> None:
        with self._changed:
            self.events.append(event)
            self._changed.notify_all()

    def on_closed(self) -> None:
        self.closed.set()

    def wait_for(self, count: int) -> list[Any]:
        with self._changed:
            assert self._changed.wait_for(lambda: len(self.events) >= count, T), (
                f"expected {count} events, got {self.events}"
            )
            return list(self.events)
