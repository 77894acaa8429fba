"""The thing's Shadow from a Lambda, on whichever Greengrass core runs it.

A Greengrass V2 core gives every component (a Lambda component too) the nucleus IPC socket
in ``AWS_GG_NUCLEUS_DOMAIN_SOCKET_FILEPATH_FOR_COMPONENT`` and its token in ``SVCUID``; there
the local Shadow is ShadowManager, reached with the AWS IoT Device SDK V2
(``awsiot.greengrasscoreipc``), and greengrasssdk's shadow calls are not supported. A V1 core
sets neither variable; there the Shadow is ``GGShadowService`` through greengrasssdk.
:func:`client` picks by what the core provides and returns an object with greengrasssdk's
``get_thing_shadow`` / ``update_thing_shadow`` / ``delete_thing_shadow`` interface, so the
Lambdas keep one code path.

On V2 a refusal is raised as :class:`IpcShadowError`, a greengrasssdk ``ShadowError`` whose
text is greengrasssdk's (``Request for shadow state returned error code 404 with message
"No shadow found"``), so ``except ShadowError`` and the Lambdas' ``error code 404`` / ``409``
checks hold on both cores. The IPC errors carry their text in ``.message`` (``str()`` of
them is empty); the code comes from the error's type.
"""

from __future__ import annotations

import os
from typing import Any

from greengrasssdk.IoTDataPlane import ShadowError

SOCKET_VARIABLE = "AWS_GG_NUCLEUS_DOMAIN_SOCKET_FILEPATH_FOR_COMPONENT"
TOKEN_VARIABLE = "SVCUID"

#: IPC error shape -> the HTTP-style code greengrasssdk's texts carry
_CODES = {
    "InvalidArgumentsError": 400,
    "UnauthorizedError": 401,
    "ResourceNotFoundError": 404,
    "ConflictError": 409,
    "ServiceError": 500,
}


class IpcShadowError(ShadowError):
    """ShadowManager refused a request over IPC (V2), told as greengrasssdk tells it."""

    def __init__(self, code: int, message: str, error: Exception) -> None:
        super().__init__(
            f'Request for shadow state returned error code {code} with message "{message}"')
        self.code, self.message, self.error = code, message, error


def on_v2_core() -> bool:
    """Whether this Lambda runs on a Greengrass V2 core (the nucleus IPC is offered)."""
    return bool(os.environ.get(SOCKET_VARIABLE)) and bool(os.environ.get(TOKEN_VARIABLE))


def _shadow_error(error: Exception) -> IpcShadowError:
    message = getattr(error, "message", None)
    if not isinstance(message, str):  # not a modeled error: a closed stream or connection
        message = f"{type(error).__name__}: {error}".rstrip(": ")
    code = _CODES.get(type(error).__name__, 500)
    if code == 500 and message == "Too Many Requests":
        code = 429
    return IpcShadowError(code, message, error)


class IpcShadowClient:
    """greengrasssdk's ``iot-data`` shadow calls, made over the V2 nucleus IPC. The IPC
    client is made at the first call (it needs the container's environment)."""

    def __init__(self) -> None:
        self._ipc: Any = None

    def _client(self) -> Any:
        if self._ipc is None:
            from awsiot.greengrasscoreipc.clientv2 import GreengrassCoreIPCClientV2

            self._ipc = GreengrassCoreIPCClientV2()
        return self._ipc

    def get_thing_shadow(self, *, thingName: str, shadowName: str = "") -> dict[str, Any]:
        try:
            response = self._client().get_thing_shadow(thing_name=thingName,
                                                       shadow_name=shadowName or None)
        except Exception as error:
            raise _shadow_error(error) from None
        return {"payload": response.payload}

    def update_thing_shadow(self, *, thingName: str, payload: bytes | str,
                            shadowName: str = "") -> dict[str, Any]:
        data = payload.encode("utf-8") if isinstance(payload, str) else payload
        try:
            response = self._client().update_thing_shadow(thing_name=thingName, payload=data,
                                                          shadow_name=shadowName or None)
        except Exception as error:
            raise _shadow_error(error) from None
        return {"payload": response.payload}

    def delete_thing_shadow(self, *, thingName: str, shadowName: str = "") -> dict[str, Any]:
        try:
            response = self._client().delete_thing_shadow(thing_name=thingName,
                                                          shadow_name=shadowName or None)
        except Exception as error:
            raise _shadow_error(error) from None
        return {"payload": response.payload}


def client() -> Any:
    """The Shadow client for the core this Lambda runs on."""
    if on_v2_core():
        return IpcShadowClient()
    import greengrasssdk

    return greengrasssdk.client("iot-data")
