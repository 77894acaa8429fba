"""ShadowManager over IPC: the four shadow operations, on the harness's Shadow model.

Documents live in a :class:`fakes.shadow.ShadowService` (merge, delta, metadata, versions);
this module is ShadowManager's IPC face in front of it, with ShadowManager's order of checks
and texts (``shared/specs/greengrass-v2-ipc.md`` §4.2; aws-greengrass-shadow-manager 17fb54e,
``*IPCHandler`` and ``*RequestHandler``):

* Update/Get/Delete: rate limit -> ``ServiceError("Too Many Requests")``; thing and shadow
  names -> ``InvalidArgumentsError``; (update) empty payload -> ``"Missing update payload"``;
  authorization -> ``UnauthorizedError(<nucleus text>)``; (update) the payload checks of
  :mod:`~fakes.nucleus_ipc.services.shadow_checks`, then the version: a new shadow needs 1
  (``"Invalid version"``), an existing one its current version (``ConflictError("Version
  conflict")``); then the merge and the size limit. A missing shadow is
  ``ResourceNotFoundError("No shadow found", resourceType="shadow")``.
* ListNamedShadowsForThing: thing name, rate limit, authorization (resource = the thing
  name), ``pageSize`` 1..100 (default 25), ``nextToken``; a full page always carries a
  ``nextToken``, even when nothing follows.
* Responses: Update -> the accepted document; Get -> the document with its delta;
  Delete -> empty bytes.
* Like ShadowManager, every outcome of Update/Get/Delete is also published on local
  pub/sub as binary messages from ``aws.greengrass.ShadowManager``: ``…/accepted`` (after
  ``…/delta`` and ``…/documents`` for an update) and, on failure, ``…/rejected`` with
  ShadowManager's ``{timestamp, clientToken?, code, message}`` (``"Unauthorized"``,
  ``"No shadow exists with name: <name|Unnamed Shadow>"``, ``"Internal service failure"``, …).

Known differences, all in corner cases [unverified on a device]: a malformed JSON payload
is a ``ServiceError`` (as ShadowManager's code says) but carries Python's parser text, not
Jackson's; where the Shadow model holds the cloud's rule and ShadowManager another (arrays
holding ``null``, a ``clientToken`` of more than 64 UTF-8 bytes but at most 64 characters)
the model's refusal is answered as ``InvalidArgumentsError`` with its text. ShadowManager's
own version numbering after a delete (it restarts at 1) is the Shadow model's
configuration: :func:`shadow_manager_config` gives ShadowManager's choices.

Not here: ShadowManager also serves requests published on local pub/sub
(``$aws/things/<thing>/shadow[/name/<n>]/{get,update,delete}``, authorized as itself and not
rate-limited); the core's router must hand those to the Shadow model.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
from collections.abc import Callable, Mapping
from typing import Any

import orjson

from fakes.nucleus_ipc.model import (
    ConflictError,
    InvalidArgumentsError,
    IpcError,
    ResourceNotFoundError,
    ServiceError,
    UnauthorizedError,
)
from fakes.nucleus_ipc.rpc import Call, Handler, b64, unb64
from fakes.nucleus_ipc.services.authz import SHADOW_MANAGER, AccessControl, NotAuthorized
from fakes.nucleus_ipc.services.pubsub import LocalPubSub, PubSubMessage
from fakes.nucleus_ipc.services.rate_limit import InboundRateLimiter, RateLimits
from fakes.nucleus_ipc.services.shadow_checks import (
    CheckFailed,
    check_names,
    check_thing_name,
    read_update,
)
from fakes.shadow import ShadowConfig, ShadowService

__all__ = ["ShadowManagerIpc", "shadow_manager_config"]

_P = "aws.greengrass#"
GET, UPDATE, DELETE, LIST = (
    _P + "GetThingShadow",
    _P + "UpdateThingShadow",
    _P + "DeleteThingShadow",
    _P + "ListNamedShadowsForThing",
)
#: ShadowManager's component name: the source of its local publications, and a principal
#: that is always authorized.
SHADOW_MANAGER_COMPONENT = "aws.greengrass.ShadowManager"
_UNAUTHORIZED, _INTERNAL = "Unauthorized", "Internal service failure"
_BASE64 = re.compile(r"[A-Za-z0-9+/=]*")


def shadow_manager_config(**overrides: Any) -> ShadowConfig:
    """A :class:`ShadowConfig` with ShadowManager's choices where they differ from the
    cloud's: a shadow re-created after a delete starts again at version 1, and the delete's
    ``/accepted`` message carries the last live version."""
    settings: dict[str, Any] = {"version_retention_seconds": 0, "delete_increments_version": False}
    settings.update(overrides)
    return ShadowConfig(**settings)


class _Refused(Exception):
    """An IPC error plus what ShadowManager publishes on ``…/rejected`` for it."""

    def __init__(self, error: IpcError, code: int, text: str, token: str | None = None) -> None:
        super().__init__(error.message)
        self.error, self.code, self.text, self.token = error, code, text, token


class ShadowManagerIpc:
    """The IPC operations ShadowManager adds to the nucleus (host it only when
    ShadowManager is deployed: without it the server answers "not supported")."""

    def __init__(
        self,
        shadow: ShadowService,
        access: AccessControl | None = None,
        *,
        pubsub: LocalPubSub | None = None,
        clock: Callable[[], float] | None = None,
        rate_limits: RateLimits | None = RateLimits(),  # noqa: B008 (frozen)
    ) -> None:
        self.shadow = shadow
        self.access = access if access is not None else AccessControl()
        #: where ShadowManager's ``…/accepted`` etc. go (``None``: nowhere)
        self.pubsub = pubsub
        #: epoch seconds for timestamps and rate limits; the Shadow model's clock by default
        self.clock: Callable[[], float] = clock if clock is not None else shadow.clock
        self._limiter = (
            InboundRateLimiter(rate_limits, self.clock) if rate_limits is not None else None
        )

    def handlers(self) -> Mapping[str, Handler]:
        return {
            GET: self._guarded(self._get, "/get"),
            UPDATE: self._guarded(self._update, "/update"),
            DELETE: self._guarded(self._delete, "/delete"),
            LIST: self.list_named_shadows_for_thing,
        }

    # -- the shared frame of Get, Update and Delete ----------------------------------------

    def _guarded(self, operation: Callable[[Call, str, str | None], bytes], suffix: str) -> Handler:
        def handle(call: Call) -> dict[str, Any]:
            request = call.request
            thing, shadow = request.get("thingName"), request.get("shadowName") or None
            if self._limiter is not None and not self._limiter.acquire(thing):
                raise ServiceError("Too Many Requests")
            try:
                try:
                    check_names(thing, shadow)
                except CheckFailed as failed:
                    raise _Refused(
                        InvalidArgumentsError(failed.message), 400, failed.message
                    ) from None
                return {"payload": b64(operation(call, thing, shadow))}
            except _Refused as refused:
                self._publish(thing, shadow, suffix + "/rejected", self._rejection(refused))
                raise refused.error from None

        return handle

    def _authorize(
        self, operation: str, call: Call, resource: str, token: str | None = None
    ) -> None:
        if call.component == SHADOW_MANAGER_COMPONENT:
            return
        try:
            self.access.check(SHADOW_MANAGER, call.component, operation, resource)
        except NotAuthorized as denial:
            raise _Refused(UnauthorizedError(str(denial)), 401, _UNAUTHORIZED, token) from None

    @staticmethod
    def _not_found(shadow: str | None) -> _Refused:
        return _Refused(
            ResourceNotFoundError("No shadow found", resource_type="shadow"),
            404,
            f"No shadow exists with name: {shadow or 'Unnamed Shadow'}",
        )

    # -- operations ------------------------------------------------------------------------

    def _get(self, call: Call, thing: str, shadow: str | None) -> bytes:
        self._authorize(GET, call, _prefix(thing, shadow))
        outcome = self.shadow.get(thing, shadow)
        if not outcome.accepted:
            raise self._not_found(shadow)
        body = outcome.messages[0][1]
        self._publish(thing, shadow, "/get/accepted", body)
        return body

    def _delete(self, call: Call, thing: str, shadow: str | None) -> bytes:
        self._authorize(DELETE, call, _prefix(thing, shadow))
        outcome = self.shadow.delete(thing, shadow)
        if not outcome.accepted:
            raise self._not_found(shadow)
        self._publish(thing, shadow, "/delete/accepted", outcome.messages[0][1])
        return b""

    def _update(self, call: Call, thing: str, shadow: str | None) -> bytes:
        payload = unb64(call.request.get("payload") or "")
        if not payload:
            text = "Missing update payload"
            raise _Refused(InvalidArgumentsError(text), 400, text)
        self._authorize(UPDATE, call, _prefix(thing, shadow))
        try:
            document = read_update(payload)
        except CheckFailed as failed:
            if failed.code == 500:
                raise _Refused(ServiceError(failed.message), 500, _INTERNAL) from None
            raise _Refused(
                InvalidArgumentsError(failed.message), 400, failed.message, failed.client_token
            ) from None
        token = document.client_token
        if document.version is not None:
            current = self.shadow.version(thing, shadow)
            if current is None and document.version != 1:
                raise _Refused(
                    InvalidArgumentsError("Invalid version"), 400, "Invalid version", token
                )
            if current is not None and current != document.version:
                text = "Version conflict"
                raise _Refused(ConflictError(text), 409, text, token)
        return self._apply_update(thing, shadow, document.state, token)

    def _apply_update(
        self, thing: str, shadow: str | None, state: dict[str, Any] | None, token: str | None
    ) -> bytes:
        request: dict[str, Any] = {
            "state": None
            if state is None
            else {k: v for k, v in state.items() if k in ("desired", "reported")}
        }
        passed_token = token
        if (
            token is not None
            and len(token.encode("utf-8")) > self.shadow.config.max_client_token_bytes
        ):
            passed_token = None  # ShadowManager counts characters, the cloud bytes
        if passed_token is not None:
            request["clientToken"] = passed_token
        try:
            body = orjson.dumps(request)
        except TypeError:  # an integer beyond 64 bits: the standard library writes it exactly
            body = json.dumps(request, separators=(",", ":")).encode()
        outcome = self.shadow.update(thing, body, shadow)
        if not outcome.accepted:
            code, text = outcome.code, outcome.response.get("message", "")
            if code in (400, 413):
                raise _Refused(InvalidArgumentsError(text), code, text, token)
            if code == 409:
                raise _Refused(ConflictError(text), 409, text, token)
            raise _Refused(ServiceError(text), 500, _INTERNAL, token)
        messages = {topic[topic.rfind("/") + 1 :]: body for topic, body in outcome.messages}
        accepted = messages["accepted"]
        if (state is not None and state.keys() - {"desired", "reported"}) or passed_token != token:
            # ShadowManager echoes the request's whole state, and the token it accepted.
            patched = orjson.loads(accepted)
            patched["state"] = state
            if token is not None:
                patched["clientToken"] = token
            accepted = orjson.dumps(patched)
        for kind in ("delta", "documents"):  # ShadowManager's order: these, then accepted
            if kind in messages:
                self._publish(thing, shadow, "/update/" + kind, messages[kind])
        self._publish(thing, shadow, "/update/accepted", accepted)
        return accepted

    def list_named_shadows_for_thing(self, call: Call) -> dict[str, Any]:
        request = call.request
        thing = request.get("thingName")
        try:
            check_thing_name(thing)
        except CheckFailed as failed:
            raise InvalidArgumentsError(failed.message) from None
        if self._limiter is not None and not self._limiter.acquire(thing):
            raise ServiceError("Too Many Requests")
        if call.component != SHADOW_MANAGER_COMPONENT:
            try:
                self.access.check(SHADOW_MANAGER, call.component, LIST, thing)
            except NotAuthorized as denial:
                raise UnauthorizedError(str(denial)) from None
        page_size = request.get("pageSize")
        page_size = 25 if page_size is None else page_size
        if not isinstance(page_size, int) or not 1 <= page_size <= 100:
            raise InvalidArgumentsError("pageSize argument must be between 1 and 100")
        offset = 0
        if request.get("nextToken"):
            offset = _read_token(request["nextToken"], call.component, thing)
        names = self.shadow.list_named_shadows(thing)["results"]
        results = names[offset : offset + page_size]
        response: dict[str, Any] = {"results": results, "timestamp": self.clock()}
        if len(results) == page_size:
            response["nextToken"] = _make_token(offset + page_size, call.component, thing)
        return response

    # -- local publications ----------------------------------------------------------------

    def _rejection(self, refused: _Refused) -> bytes:
        body: dict[str, Any] = {"timestamp": int(self.clock())}
        if refused.token is not None:
            body["clientToken"] = refused.token
        body["code"] = refused.code
        body["message"] = refused.text
        return orjson.dumps(body)

    def _publish(self, thing: str | None, shadow: str | None, suffix: str, body: bytes) -> None:
        if self.pubsub is None:
            return
        topic = _prefix("null" if thing is None else thing, shadow) + suffix
        if "+" in topic or "#" in topic or "*" in topic:
            return  # the pub/sub agent refuses it; ShadowManager logs and carries on
        self.pubsub.publish(PubSubMessage(topic, SHADOW_MANAGER_COMPONENT, binary=body))


def _prefix(thing: str, shadow: str | None) -> str:
    base = f"$aws/things/{thing}/shadow"
    return base if not shadow else f"{base}/name/{shadow}"


def _signature(offset: int, component: str, thing: str) -> bytes:
    return hmac.new((component + thing).encode(), str(offset).encode(), hashlib.sha256).digest()[
        :16
    ]


def _make_token(offset: int, component: str, thing: str) -> str:
    """An opaque token, valid only for the same component and thing (ShadowManager encrypts
    the offset with a key made from both)."""
    return base64.b64encode(_signature(offset, component, thing) + str(offset).encode()).decode()


def _read_token(token: str, component: str, thing: str) -> int:
    bad = next((char for char in token if not _BASE64.fullmatch(char)), None)
    if bad is not None:
        # java.util.Base64's text for a character outside its alphabet
        raise InvalidArgumentsError(f"Illegal base64 character {ord(bad):x}")
    try:
        raw = base64.b64decode(token, validate=True)
        offset = int(raw[16:].decode())
    except (ValueError, UnicodeDecodeError):
        raise InvalidArgumentsError("Invalid nextToken argument") from None
    if offset < 0 or not hmac.compare_digest(raw[:16], _signature(offset, component, thing)):
        raise InvalidArgumentsError("Invalid nextToken argument")
    return offset
