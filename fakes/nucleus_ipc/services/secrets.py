"""``GetSecretValue`` over IPC, as the secret manager component answers it.

Only when ``aws.greengrass.SecretManager`` is deployed (otherwise the nucleus's "not
supported" answer). Follows aws-greengrass-secret-manager's ``SecretManagerIPCAgent`` and
``SecretManager``:

* ``secretId`` (an ARN or a secret name) missing -> ``ServiceError("SecretId absent in the
  request")``; it is resolved to the ARN, which is the authorization resource
  (service ``aws.greengrass.SecretManager``) -> ``UnauthorizedError(<nucleus text>)``.
* Both ``versionId`` and ``versionStage`` -> ``ServiceError("Both versionId and Stage are set
  in the request")``; an unknown version or stage, or no ``AWSCURRENT`` version ->
  ``ResourceNotFoundError(…, resourceType="secret")`` with the component's texts.
* The response: ``{secretId: <arn>, versionId, versionStage: [...], secretValue:
  {secretString | secretBinary}}``.

Secrets are behind :class:`SecretStore`; :class:`InMemorySecrets` holds them for tests.
Fetching from the cloud when a secret is not cached is not modelled.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from fakes.nucleus_ipc.model import ResourceNotFoundError, ServiceError, UnauthorizedError
from fakes.nucleus_ipc.rpc import Call, Handler, b64
from fakes.nucleus_ipc.services.authz import SECRET_MANAGER, AccessControl, NotAuthorized

__all__ = ["InMemorySecrets", "SecretStore", "SecretVersion", "SecretsIpc"]

GET_SECRET_VALUE = "aws.greengrass#GetSecretValue"
CURRENT = "AWSCURRENT"


@dataclass(frozen=True, slots=True)
class SecretVersion:
    arn: str
    version_id: str
    stages: tuple[str, ...] = (CURRENT,)
    string: str | None = None
    binary: bytes | None = None


class SecretStore(Protocol):
    def arn_for(self, secret_id: str) -> str:
        """The ARN a secret id (ARN or name) stands for (the id itself when unknown)."""
        ...

    def versions(self, arn: str) -> list[SecretVersion]: ...


@dataclass
class InMemorySecrets:
    _versions: dict[str, list[SecretVersion]] = field(default_factory=dict)

    def add(self, version: SecretVersion) -> None:
        self._versions.setdefault(version.arn, []).append(version)

    def arn_for(self, secret_id: str) -> str:
        if secret_id in self._versions:
            return secret_id
        for arn in self._versions:
            # arn:aws:secretsmanager:<region>:<account>:secret:<name>-<6 characters>
            name = arn.split(":secret:", 1)[-1]
            if name[:-7] == secret_id and name[-7:-6] == "-":
                return arn
        return secret_id

    def versions(self, arn: str) -> list[SecretVersion]:
        return list(self._versions.get(arn, ()))


class SecretsIpc:
    def __init__(
        self, store: SecretStore | None = None, access: AccessControl | None = None
    ) -> None:
        self.store: SecretStore = store if store is not None else InMemorySecrets()
        self.access = access if access is not None else AccessControl()

    def handlers(self) -> Mapping[str, Handler]:
        return {GET_SECRET_VALUE: self.get_secret_value}

    def get_secret_value(self, call: Call) -> dict[str, Any]:
        request = call.request
        secret_id = request.get("secretId")
        if not secret_id:
            raise ServiceError("SecretId absent in the request")
        arn = self.store.arn_for(secret_id)
        try:
            self.access.check(SECRET_MANAGER, call.component, GET_SECRET_VALUE, arn)
        except NotAuthorized as denial:
            raise UnauthorizedError(str(denial)) from None
        version_id, stage = request.get("versionId"), request.get("versionStage")
        if version_id and stage:
            raise ServiceError("Both versionId and Stage are set in the request")
        versions = self.store.versions(arn)
        if version_id:
            found = [v for v in versions if v.version_id == version_id]
            missing = f"Version Id {version_id} not found for secret {secret_id}"
        elif stage:
            found = [v for v in versions if stage in v.stages]
            missing = f"Version stage {stage} not found for secret {secret_id}"
        else:
            found = [v for v in versions if CURRENT in v.stages]
            missing = f"Secret not found {secret_id}"
        if not found:
            raise ResourceNotFoundError(missing, resource_type="secret")
        version = found[-1]
        value: dict[str, Any] = {}
        if version.string is not None:
            value["secretString"] = version.string
        if version.binary is not None:
            value["secretBinary"] = b64(version.binary)
        return {
            "secretId": version.arn,
            "versionId": version.version_id,
            "versionStage": list(version.stages),
            "secretValue": value,
        }
