"""The in-process transport between Lambda code and the simulated core.

On a real Greengrass core, ``greengrass_ipc_python_sdk.ipc_client.IPCClient`` speaks HTTP to the
core daemon on ``localhost:$GG_DAEMON_PORT``. Our stand-in of that client (under
``fakes/core_runtime``) keeps the client's argument handling and hands each request to the
backend installed here, which is the simulated core.

A backend implements :class:`IPCBackend`. It answers with values, or signals what the daemon
would have answered on the wire:

* :class:`IPCError` -- an HTTP error status (400-599); the client raises
  ``IPCException('HTTP Error <status>: <reason phrase>')`` as urllib would.
* :class:`IPCConnectionError` -- the daemon could not be reached; the client raises
  ``IPCException('<urlopen error <reason>>')``.

There is one backend per process (Lambdas of one simulated core share it, as they share the
daemon's port). Install it with :func:`install_backend` or, scoped, :func:`backend_installed`.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http import HTTPStatus
from typing import Protocol, runtime_checkable

__all__ = [
    "IPCBackend",
    "IPCConnectionError",
    "IPCError",
    "backend_installed",
    "current_backend",
    "install_backend",
]


@runtime_checkable
class IPCBackend(Protocol):
    """What the core daemon does for the IPC client; every argument is what it would receive.

    ``function_arn`` is the ARN as it appears in the request URL; ``auth_token`` is the value of
    the ``Authorization`` header (the Lambda's ``AWS_CONTAINER_AUTHORIZATION_TOKEN``). The fake
    client never sends ``None`` where the real one would fail to send the request at all.
    """

    def post_work(
        self,
        function_arn: str,
        payload: bytes,
        client_context: str | None,
        invocation_type: str,
        auth_token: str | None,
    ) -> str:
        """Queue an invocation of ``function_arn``; return its invocation id."""
        ...

    def get_work_result(
        self, function_arn: str, invocation_id: str, auth_token: str | None
    ) -> tuple[bytes, str | None]:
        """Wait for an invocation's result: ``(payload, function error or None)``."""
        ...

    def get_work(self, function_arn: str, auth_token: str | None) -> tuple[str, bytes, str | None]:
        """Hand a Lambda its next invocation: ``(invocation id, payload, client context)``."""
        ...

    def post_work_result(
        self, function_arn: str, invocation_id: str, payload: bytes, auth_token: str | None
    ) -> None:
        """Accept the result a Lambda produced for an invocation."""
        ...

    def post_handler_err(
        self, function_arn: str, invocation_id: str, handler_err: str, auth_token: str | None
    ) -> None:
        """Accept the error a Lambda's handler raised for an invocation (a ``Handled`` error)."""
        ...


class IPCError(Exception):
    """The daemon answered with an HTTP error status; ``message`` is the response body."""

    def __init__(self, status: int, message: str) -> None:
        if not isinstance(status, int) or not 400 <= status <= 599:
            raise ValueError(f"IPCError needs an HTTP error status (400-599), got {status!r}")
        super().__init__(status, message)
        self.status = status
        self.message = message

    @property
    def reason(self) -> str:
        """The reason phrase of the status line, as the daemon's HTTP server writes it."""
        try:
            return HTTPStatus(self.status).phrase
        except ValueError:
            return f"status code {self.status}"

    def __str__(self) -> str:
        return f"{self.status} {self.reason}: {self.message}"


class IPCConnectionError(Exception):
    """The daemon could not be reached (urllib would raise ``URLError(reason)``)."""

    def __init__(self, reason: str = "[Errno 111] Connection refused") -> None:
        super().__init__(reason)
        self.reason = reason


_lock = threading.Lock()
_backend: IPCBackend | None = None


def install_backend(backend: IPCBackend | None) -> IPCBackend | None:
    """Make ``backend`` the core every IPC client talks to (``None`` removes it).

    Returns the backend that was installed before, so callers can put it back.
    """
    global _backend
    if backend is not None and not isinstance(backend, IPCBackend):
        missing = [
            name
            for name in (
                "post_work",
                "get_work_result",
                "get_work",
                "post_work_result",
                "post_handler_err",
            )
            if not callable(getattr(backend, name, None))
        ]
        raise TypeError(
            f"{type(backend).__name__} is not an IPCBackend: missing {', '.join(missing)}"
        )
    with _lock:
        previous, _backend = _backend, backend
    return previous


def current_backend() -> IPCBackend:
    """The installed backend; a clear error when the simulated core has not installed one."""
    backend = _backend
    if backend is None:
        raise RuntimeError(
            "No IPC backend is installed, so the Greengrass IPC client has no core to talk to. "
            "Start the simulated core (it installs itself), or install one with "
            "fakes.ipc_backend.install_backend(backend) / "
            "`with fakes.ipc_backend.backend_installed(backend):`."
        )
    return backend


@contextmanager
def backend_installed(backend: IPCBackend) -> Iterator[IPCBackend]:
    """Install ``backend`` for the duration of the block, then restore the previous one."""
    previous = install_backend(backend)
    try:
        yield backend
    finally:
        install_backend(previous)
