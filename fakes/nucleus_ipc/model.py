"""The Greengrass IPC service model as the wire names it: operations, shapes, errors.

Operation names are those of the ``aws.greengrass#GreengrassCoreIPC`` model that
``awsiotsdk`` 1.31.0 ships. The nucleus registers a default handler for every one of them,
so an operation nothing implements is still *known*: it answers ``ServiceError("Operation
<name> is not supported by Greengrass")`` (``shared/specs/greengrass-v2-ipc.md`` §3.5).

Errors are the modeled ``aws.greengrass#…`` error shapes (§3.6). A handler raises one; the
RPC layer sends it as an ``APPLICATION_ERROR`` in the Java server's JSON form, base-class
fields included, e.g.
``{"_service": "aws.greengrass#GreengrassCoreIPC", "_message": "No shadow found",
"_errorCode": "ResourceNotFoundError", "message": "No shadow found", "resourceType": "shadow"}``.
"""

from __future__ import annotations

from typing import Any, ClassVar

SERVICE = "aws.greengrass#GreengrassCoreIPC"
PREFIX = "aws.greengrass#"

#: Streaming operations and the shape of their stream events.
STREAM_EVENT_SHAPES: dict[str, str] = {
    PREFIX + name: PREFIX + event
    for name, event in (
        ("SubscribeToCertificateUpdates", "CertificateUpdateEvent"),
        ("SubscribeToComponentUpdates", "ComponentUpdatePolicyEvents"),
        ("SubscribeToConfigurationUpdate", "ConfigurationUpdateEvents"),
        ("SubscribeToIoTCore", "IoTCoreMessage"),
        ("SubscribeToIoTCoreConnectionStatus", "IoTCoreConnectionStatusEvent"),
        ("SubscribeToTopic", "SubscriptionResponseMessage"),
        ("SubscribeToValidateConfigurationUpdates", "ValidateConfigurationUpdateEvents"),
    )
}

#: Every operation of the model.
OPERATIONS: frozenset[str] = frozenset(
    [
        PREFIX + name
        for name in [
            "AuthorizeClientDeviceAction",
            "CancelLocalDeployment",
            "CreateDebugPassword",
            "CreateLocalDeployment",
            "DeferComponentUpdate",
            "DeleteThingShadow",
            "GetClientDeviceAuthToken",
            "GetComponentDetails",
            "GetConfiguration",
            "GetLocalDeploymentStatus",
            "GetSecretValue",
            "GetThingShadow",
            "ListComponents",
            "ListLocalDeployments",
            "ListNamedShadowsForThing",
            "PauseComponent",
            "PublishToIoTCore",
            "PublishToTopic",
            "PutComponentMetric",
            "RestartComponent",
            "ResumeComponent",
            "SendConfigurationValidityReport",
            "StopComponent",
            "UpdateConfiguration",
            "UpdateState",
            "UpdateThingShadow",
            "ValidateAuthorizationToken",
            "VerifyClientDeviceIdentity",
        ]
    ]
    + list(STREAM_EVENT_SHAPES)
)


def response_shape(operation: str) -> str:
    """``aws.greengrass#GetThingShadow`` -> ``aws.greengrass#GetThingShadowResponse``."""
    return operation + "Response"


class IpcError(Exception):
    """A modeled IPC error. ``str(error)`` is the message (the Python client's own error
    classes have an empty ``str``; use ``.message`` there)."""

    code: ClassVar[str] = "ServiceError"

    def __init__(self, message: str | None = None, **fields: Any) -> None:
        super().__init__(message or "")
        self.message = message
        #: further JSON members of the shape, already in wire spelling (``resourceType``)
        self.fields = {key: value for key, value in fields.items() if value is not None}

    @property
    def shape(self) -> str:
        return PREFIX + self.code

    def body(self) -> dict[str, Any]:
        """The error as the Java server's Gson writes it; ``null`` members are left out."""
        body: dict[str, Any] = {"_service": SERVICE}
        if self.message is not None:
            body["_message"] = self.message
        body["_errorCode"] = self.code
        if self.message is not None:
            body["message"] = self.message
        body.update(self.fields)
        return body

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.message!r})"


class InvalidArgumentsError(IpcError):
    code = "InvalidArgumentsError"


class UnauthorizedError(IpcError):
    code = "UnauthorizedError"


class ConflictError(IpcError):
    code = "ConflictError"


class ServiceError(IpcError):
    code = "ServiceError"

    def __init__(self, message: str | None = None, context: dict[str, Any] | None = None) -> None:
        super().__init__(message, context=context)


class ResourceNotFoundError(IpcError):
    code = "ResourceNotFoundError"

    def __init__(
        self,
        message: str | None = None,
        resource_type: str | None = None,
        resource_name: str | None = None,
    ) -> None:
        super().__init__(message, resourceType=resource_type, resourceName=resource_name)


class InvalidTokenError(IpcError):
    code = "InvalidTokenError"


def not_supported(operation: str) -> ServiceError:
    """The nucleus's answer to a model operation nothing implements
    (``DefaultOperationHandler``)."""
    return ServiceError(f"Operation {operation} is not supported by Greengrass")
