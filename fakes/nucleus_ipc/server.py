"""The IPC server: a Unix-domain socket on its own threads, as the nucleus runs it.

One accept thread, and one reader thread per client connection (the prototype measured
this and an asyncio loop and found no clear winner; threads keep a slow handler from
stalling other connections). Handlers run on the reader thread inside the injected core
lock, so a Lambda that waits in ``Future.result()`` on the scheduler thread is answered
without that thread's help.

The socket lives in a fresh ``tempfile.mkdtemp(prefix="gg-")`` directory: a Unix socket path
must stay under 108 bytes, which pytest's ``tmp_path`` can exceed
(``shared/specs/greengrass-v2-ipc.md`` §6 gotcha 8).

Components authenticate with a token (their ``SVCUID``). :meth:`NucleusIpcServer.issue_token`
makes one the nucleus's way: 16 characters of ``abcdefghjklmnpqrstuvwxyz01234567``,
upper-cased; :meth:`environment` gives the variables the nucleus sets for a component.
"""

from __future__ import annotations

import contextlib
import os
import random
import shutil
import socket
import tempfile
import threading
from collections.abc import Iterable, Mapping
from contextlib import AbstractContextManager
from types import TracebackType
from typing import Any, Protocol

from fakes.nucleus_ipc.rpc import Connection, EventGate, Handler

__all__ = [
    "SOCKET_ENV",
    "SOCKET_ENV_FOR_COMPONENT",
    "IpcService",
    "NucleusIpcServer",
    "TokenRegistry",
]

SOCKET_ENV = "AWS_GG_NUCLEUS_DOMAIN_SOCKET_FILEPATH"
SOCKET_ENV_FOR_COMPONENT = "AWS_GG_NUCLEUS_DOMAIN_SOCKET_FILEPATH_FOR_COMPONENT"
#: Longest Unix socket path the kernel accepts, with its terminating NUL.
UDS_PATH_MAX = 108
_TOKEN_ALPHABET = "abcdefghjklmnpqrstuvwxyz01234567"
_READ_SIZE = 65536


class IpcService(Protocol):
    """A group of operations (ShadowManager, pub/sub, …) the server can host."""

    def handlers(self) -> Mapping[str, Handler]: ...


class TokenRegistry:
    """Authentication tokens (``SVCUID``) and the components they name.

    Like the nucleus, issuing a new token for a component leaves its older tokens valid.
    Tokens come from a seeded generator, so a run is repeatable.
    """

    def __init__(self, rng: random.Random | None = None) -> None:
        self._rng = rng or random.Random(0)
        self._components: dict[str, str] = {}
        self._lock = threading.Lock()

    def issue(self, component: str) -> str:
        if not component:
            raise ValueError("a token needs a component name")
        with self._lock:
            while True:
                token = "".join(self._rng.choice(_TOKEN_ALPHABET) for _ in range(16)).upper()
                if token not in self._components:
                    self._components[token] = component
                    return token

    def component_for(self, token: str) -> str | None:
        return self._components.get(token)

    def revoke(self, token: str) -> None:
        with self._lock:
            self._components.pop(token, None)


class _SocketTransport:
    def __init__(self, sock: socket.socket) -> None:
        self._sock = sock

    def write(self, data: bytes) -> None:
        self._sock.sendall(data)

    def close(self) -> None:
        # shutdown, not close: the reader thread may be inside recv() on this socket; it
        # wakes up with EOF and closes the descriptor itself.
        with contextlib.suppress(OSError):
            self._sock.shutdown(socket.SHUT_RDWR)


class NucleusIpcServer:
    """The fake nucleus's IPC endpoint.

    ``services`` supply the operations; a model operation none of them handles gets the
    nucleus's "not supported" ``ServiceError``. ``lock`` is held around every handler call
    and every stream-close callback: pass the simulated core's lock (it must be reentrant,
    and no thread may hold it while waiting for an IPC answer).
    """

    def __init__(
        self,
        services: Iterable[IpcService] = (),
        *,
        lock: AbstractContextManager[Any] | None = None,
        tokens: TokenRegistry | None = None,
        directory: str | None = None,
        reject_grace: float = 0.5,
        event_gate: EventGate | None = None,
    ) -> None:
        #: stream events of every connection go through it when set (see
        #: :attr:`fakes.nucleus_ipc.rpc.Connection.event_gate`)
        self.event_gate = event_gate
        self.lock: AbstractContextManager[Any] = lock if lock is not None else threading.RLock()
        self.tokens = tokens or TokenRegistry()
        #: seconds a rejected client gets to hang up before the server closes on it
        self.reject_grace = reject_grace
        self._handlers: dict[str, Handler] = {}
        for service in services:
            self.add_service(service)
        self._own_directory = directory is None
        self._directory = directory
        self._socket_path: str | None = None
        self._listener: socket.socket | None = None
        self._threads: list[threading.Thread] = []
        self._connections: set[Connection] = set()
        self._state_lock = threading.Lock()
        self._stopping = False

    # -- configuration ---------------------------------------------------------------------

    def add_service(self, service: IpcService) -> None:
        """Host a service's operations (a later service replaces an earlier one's handler
        for the same operation, as a plugin replaces the nucleus's default)."""
        self._handlers.update(service.handlers())

    def handles(self, operation: str) -> bool:
        return operation in self._handlers

    def issue_token(self, component: str) -> str:
        """A new ``SVCUID`` for ``component``."""
        return self.tokens.issue(component)

    def environment(self, component: str, token: str | None = None) -> dict[str, str]:
        """The IPC variables the nucleus puts in a component's environment."""
        token = token or self.issue_token(component)
        path = self.socket_path
        return {
            SOCKET_ENV: path,
            SOCKET_ENV_FOR_COMPONENT: path,
            "SVCUID": token,
            "AWS_CONTAINER_AUTHORIZATION_TOKEN": token,
        }

    @property
    def socket_path(self) -> str:
        if self._socket_path is None:
            raise RuntimeError("the IPC server has not been started")
        return self._socket_path

    # -- lifecycle -------------------------------------------------------------------------

    def start(self) -> NucleusIpcServer:
        if self._listener is not None:
            raise RuntimeError("the IPC server is already running")
        directory = self._directory or tempfile.mkdtemp(prefix="gg-")
        self._directory = directory
        path = os.path.join(directory, "ipc.socket")
        if len(os.fsencode(path)) >= UDS_PATH_MAX:
            raise ValueError(
                f"IPC socket path is {len(os.fsencode(path))} bytes, a Unix socket path must be "
                f"under {UDS_PATH_MAX}: {path} (use a shorter directory)"
            )
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        listener.bind(path)
        os.chmod(path, 0o777)  # the nucleus opens the socket to every user after binding
        listener.listen(64)
        self._listener = listener
        self._socket_path = path
        self._stopping = False
        self._spawn(self._accept_loop, "gg-ipc-accept")
        return self

    def stop(self, timeout: float = 5.0) -> None:
        """Close the socket and every connection; wait (up to ``timeout``) for the threads.
        Do not call it while holding the core lock."""
        listener, self._listener = self._listener, None
        if listener is None:
            return
        self._stopping = True
        with contextlib.suppress(OSError):
            listener.shutdown(socket.SHUT_RDWR)
        listener.close()
        self.close_connections()
        with self._state_lock:
            threads, self._threads = self._threads, []
        for thread in threads:
            if thread is not threading.current_thread():
                thread.join(timeout)
        path = self._socket_path
        if path is not None:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(path)
        if self._own_directory and self._directory is not None:
            shutil.rmtree(self._directory, ignore_errors=True)
            self._directory = None
        self._socket_path = None

    def __enter__(self) -> NucleusIpcServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    # -- connections -----------------------------------------------------------------------

    def connections(self, component: str | None = None) -> list[Connection]:
        """Open connections, or those of one component."""
        with self._state_lock:
            return [c for c in self._connections if component is None or c.component == component]

    def close_connections(self, component: str | None = None) -> int:
        """Close the connections of ``component`` (all when ``None``), as when its container
        stops: its pending calls fail with ``StreamClosedError``, its subscriptions end.
        Returns how many were closed."""
        closing = self.connections(component)
        for connection in closing:
            connection.close()
        return len(closing)

    def close_token(self, token: str) -> int:
        """Revoke ``token`` and close the connections that authenticated with it (one
        container of a component stops, the others go on). Returns how many were closed."""
        self.tokens.revoke(token)
        with self._state_lock:
            closing = [c for c in self._connections if c.token == token]
        for connection in closing:
            connection.close()
        return len(closing)

    def _spawn(self, target: Any, name: str, *args: Any) -> None:
        thread = threading.Thread(target=target, name=name, args=args, daemon=True)
        with self._state_lock:
            self._threads = [t for t in self._threads if t.is_alive()]
            self._threads.append(thread)
        thread.start()

    def _accept_loop(self) -> None:
        listener = self._listener
        while listener is not None and not self._stopping:
            try:
                sock, _ = listener.accept()
            except OSError:
                return
            if self._stopping:
                sock.close()
                return
            self._spawn(self._serve, "gg-ipc-connection", sock)

    def _serve(self, sock: socket.socket) -> None:
        connection = Connection(
            _SocketTransport(sock),
            authenticate=self.tokens.component_for,
            handlers=self._handlers,
            lock=self.lock,
            on_closed=self._forget,
            reject_grace=self.reject_grace,
            event_gate=self.event_gate,
        )
        with self._state_lock:
            self._connections.add(connection)
        try:
            while not connection.closed:
                data = sock.recv(_READ_SIZE)
                if not data:
                    break
                connection.receive(data)
        except OSError:
            pass
        finally:
            connection.close()
            sock.close()

    def _forget(self, connection: Connection) -> None:
        with self._state_lock:
            self._connections.discard(connection)
