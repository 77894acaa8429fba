"""``aws.greengrass.clientdevices.Auth`` (CDA): device groups, policies, and the connect decision.

Follows ``shared/specs/greengrass-v2-topology.md`` §1.3 and §1.6, checked against the CDA
source (aws-greengrass-client-device-auth @ 1dbaf82 and the tags named below) and the
Moquette integration (aws-greengrass-moquette-mqtt @ cfbe228) that asks it::

    cda = ClientDeviceAuth.from_configuration(deployed_config)        # version="2.5.2"
    cda.connect("bme680-sensor", "bme680-sensor", now=t, cloud_online=True)   # CONNACK 0
    cda.can_publish("bme680-sensor", "bme680/readings")                       # True
    cda.decide("bme680-x", "mqtt:publish", "mqtt:topic:a").reason
    # 'denied by CDA: no device group selects bme680-x'

Configuration (``from_configuration``), as the component reads it:

* Keys are case-insensitive; unknown keys are ignored from 2.5.0 (Jackson
  ``FAIL_ON_UNKNOWN_PROPERTIES`` off) and refused before (the default mapper).
* ``deviceGroups.formatVersion`` must be ``2021-03-05`` (the default when absent).
* Every ``definitions.<group>`` needs ``selectionRule`` (see :mod:`.selection`) and
  ``policyName``; a policy name without a policy is refused (2.5.0: ``Policy definition <name>
  does not have a corresponding policy``; before: ``Policies doesn't have policy named <name>``).
* Statements: ``effect`` ``ALLOW`` (any case, the default); another value is refused; an
  explicit ``null`` makes CDA skip the statement. ``operations`` and ``resources`` are lists.
* From 2.5.0 a ``${...}`` in a resource other than ``${iot:Connection.Thing.ThingName}`` is
  refused with ``Policy contains unknown variables`` (only in statements that yield
  permissions: an ALLOW statement, of a referenced policy, with an operation).
* ``security.clientDeviceTrustDurationMinutes`` below 1 is **not** refused by CDA: it logs
  ``Illegal value <v> for configuration clientDeviceTrustDurationMinutes. Using minimum value
  1`` and uses 1. This model does the same (the text is in :attr:`ClientDeviceAuth.warnings`).

What CDA accepts although it can never match is accepted too, with a line in
:attr:`ClientDeviceAuth.warnings`: an unknown operation (``mqtt:Publish``, ``iot:publish``:
CDA never validates policy operations), a ``*`` inside a resource or a ``${...}`` before
2.5.0 (compared literally then), MQTT wildcards in an ``mqtt:topic:`` resource, a rule using
``\\:``. ``strict=True`` refuses all of these, for a harness that wants a lint.

Authorization (``decide``/``authorize``), per request, against the current configuration:
the union over every group whose rule selects the thing, deny when none (``No authorization
group matches, deny the request``). Operations match exactly, ``mqtt:*`` or ``*``. Resources
match exactly or:

* before 2.5.0: ``*``, or ``<service>:<type>:*`` (``mqtt:clientId:*``: the 2023 docs call it
  invalid, but the code since 2.2.0 matches it);
* from 2.5.0: the nucleus ``WildcardTrie`` glob (``*`` is any run of characters, ``/``
  included; nothing else is special) after ``${iot:Connection.Thing.ThingName}`` is
  replaced by the thing name.

Topic filters are compared as strings, never with MQTT matching. A request resource whose
name part is not CDA's ``[\\w -/:-@\\[-`{-~]+`` (say a topic with ``°``) is denied (2.5.0;
before, the exception reached Moquette [code reading, not modelled]).

Connect (``connect``): §1.3.1 and §1.3.4; see :meth:`ClientDeviceAuth.connect`. Not modelled:
core-CA-signed clients such as the bridge (CDA allows them everything), the LRU limit
``performance.maxActiveAuthTokens`` (kept as a setting only), certificate validity dates, the
cloud being unreachable while the core thinks it is online.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from fakes.client_devices._config import version_tuple
from fakes.client_devices.auth_config import (
    GLOB_RESOURCES_SINCE,
    THING_NAME_VARIABLE,
    ClientDeviceAuthConfigError,
    DeviceGroup,
    LoadedConfiguration,
    Performance,
    Statement,
    load_configuration,
)
from fakes.client_devices.logs import (
    ACCEPTED_LOG,
    CONNACK_ACCEPTED,
    CONNACK_BAD_USER_NAME_OR_PASSWORD,
    CONNACK_IDENTIFIER_REJECTED,
    CONNECT_DENIED_LOG,
    CONNECT_ERROR_LOG,
    DUPLICATE_CLIENT_ID_LOG,
    NO_GROUP_LOG,
    SESSION_FAILED_LOG,
    SUBACK_FAILURE,
    TLS_FAILED_LOG,
    empty_client_id_log,
    publish_denied_log,
    subscribe_denied_log,
)

__all__ = [
    "ACCEPTED_LOG",
    "CONNACK_ACCEPTED",
    "CONNACK_BAD_USER_NAME_OR_PASSWORD",
    "CONNACK_IDENTIFIER_REJECTED",
    "CONNECT_DENIED_LOG",
    "CONNECT_ERROR_LOG",
    "DUPLICATE_CLIENT_ID_LOG",
    "NO_GROUP_LOG",
    "SESSION_FAILED_LOG",
    "SUBACK_FAILURE",
    "TLS_FAILED_LOG",
    "ClientDeviceAuth",
    "ClientDeviceAuthConfigError",
    "ConnectResult",
    "Decision",
    "DeviceGroup",
    "Performance",
    "Statement",
    "empty_client_id_log",
    "publish_denied_log",
    "subscribe_denied_log",
]

MAX_THING_NAME_LENGTH = 128
OFFLINE_AUTH_SINCE = (2, 3, 0)

_RESOURCE_NAME = re.compile(r"[\w -/:-@\[-`{-~]+")
_THING_NAME = re.compile(r"[a-zA-Z0-9\-_:]+")


@dataclass(frozen=True, slots=True)
class Decision:
    """An authorization decision with what made it, for reports."""

    allowed: bool
    thing: str
    operation: str
    resource: str
    #: the groups whose rule selects the thing
    groups: tuple[str, ...]
    #: ``(group, policy, statement)`` of the first statement that allows the request
    grant: tuple[str, str, str] | None
    reason: str


@dataclass(frozen=True, slots=True)
class ConnectResult:
    """What a device sees when it connects, and what the core logs.

    ``outcome`` is ``"accepted"`` (CONNACK 0), ``"refused"`` (CONNACK 0x02 or 0x04, then the
    connection closes), ``"tls_failure"`` (the handshake fails: no CONNACK) or ``"closed"``
    (the broker closes the connection without a CONNACK)."""

    client_id: str
    outcome: str
    connack: int | None
    #: the decisive line the core writes (Moquette's or CDA's text)
    log: str
    #: a short explanation for reports
    reason: str
    #: ``"cloud"`` or ``"local"``: where the certificate and attachment verdicts came from
    verified_by: str | None = None
    #: an older session with the same client ID was closed (``DUPLICATE_CLIENT_ID_LOG``)
    replaced_session: bool = False

    @property
    def logs(self) -> tuple[str, ...]:
        """Every line the core writes for this connect, in order."""
        if self.replaced_session:
            return (self.log, DUPLICATE_CLIENT_ID_LOG)
        return (self.log,)

    @property
    def accepted(self) -> bool:
        return self.outcome == "accepted"


def _parse_request(operation: str, resource: str) -> tuple[str, str, str] | None:
    """``(service, type, name)`` of a request, or ``None`` when CDA finds it malformed."""
    service, _, action = operation.partition(":")
    if (
        not service.isalpha()
        or not action
        or not all(char.isalnum() or char in "-_" for char in action)
    ):
        return None
    r_service, sep, rest = resource.partition(":")
    r_type, sep2, name = rest.partition(":")
    if not (sep and sep2 and r_service.isalpha() and r_type.isalpha()):
        return None
    if not _RESOURCE_NAME.fullmatch(name):
        return None
    if r_service != service:
        raise ValueError(f"operation {operation!r} and resource {resource!r} name other services")
    return r_service, r_type, name


@lru_cache(maxsize=1024)
def _glob(pattern: str) -> re.Pattern[str]:
    return re.compile(".*".join(map(re.escape, pattern.split("*"))), re.DOTALL)


# -- the component ----------------------------------------------------------------------------


@dataclass
class _Registry:
    """When the cloud last said a certificate was active and a thing attached to it."""

    #: certificate (named by the thing it belongs to) -> time of the last "active"
    certificates: dict[str, float] = field(default_factory=dict)
    #: (thing, certificate) -> time of the last "attached"
    attachments: dict[tuple[str, str], float] = field(default_factory=dict)


class ClientDeviceAuth:
    """The CDA model: configuration, authorization, the connect decision and its registry."""

    def __init__(
        self, loaded: LoadedConfiguration, version: tuple[int, int, int], options: dict
    ) -> None:
        self.version = version
        self._options = options
        self._apply(loaded)
        self._registry = _Registry()
        #: connected client ID -> the thing its session belongs to
        self.sessions: dict[str, str] = {}

    @classmethod
    def from_configuration(
        cls,
        config: Mapping[str, Any],
        *,
        version: str = "2.5.2",
        strict: bool = False,
        unescape_colon: bool = False,
    ) -> ClientDeviceAuth:
        """From the component configuration as deployed. Raises
        :class:`ClientDeviceAuthConfigError` for what CDA refuses (with ``strict``, also
        for what it accepts but can never match)."""
        parsed_version = version_tuple(version)
        options = {"strict": strict, "unescape_colon": unescape_colon}
        return cls(cls._load(config, parsed_version, options), parsed_version, options)

    @staticmethod
    def _load(config: Any, version: tuple[int, int, int], options: dict) -> LoadedConfiguration:
        return load_configuration(config, version, **options)

    def reconfigure(self, config: Mapping[str, Any]) -> None:
        """Apply a new configuration, keeping the registry and the sessions (CDA re-reads
        its policies on every request). On error the old configuration stays."""
        self._apply(self._load(config, self.version, self._options))

    def _apply(self, loaded: LoadedConfiguration) -> None:
        self.groups: tuple[DeviceGroup, ...] = loaded.groups
        self.policies: dict[str, tuple[Statement, ...]] = loaded.policies
        self.trust_duration_minutes: int = loaded.trust_minutes
        self.performance: Performance = loaded.performance
        #: what CDA accepts but a harness should point out
        self.warnings: tuple[str, ...] = tuple(loaded.warnings)

    # -- authorization ---------------------------------------------------------------------

    def policies_for(self, thing: str) -> list[tuple[str, str]]:
        """``(group, policy)`` of every group whose selection rule selects ``thing``."""
        return [(g.name, g.policy_name) for g in self.groups if g.rule.selects(thing)]

    def _resource_matches(self, policy_resource: str, resource: str, thing: str) -> bool:
        if self.version >= GLOB_RESOURCES_SINCE:
            if THING_NAME_VARIABLE in policy_resource:
                policy_resource = policy_resource.replace(THING_NAME_VARIABLE, thing)
            return policy_resource == resource or bool(_glob(policy_resource).fullmatch(resource))
        if policy_resource in (resource, "*"):
            return True
        service, _, rest = resource.partition(":")
        return policy_resource == f"{service}:{rest.partition(':')[0]}:*"

    def decide(self, thing: str, operation: str, resource: str) -> Decision:
        """The decision on one request of ``thing``'s session, with its reason."""
        selected = [g for g in self.groups if g.rule.selects(thing)]
        names = tuple(g.name for g in selected)

        def denied(reason: str) -> Decision:
            return Decision(False, thing, operation, resource, names, None,
                            f"denied by CDA: {reason}")

        if _parse_request(operation, resource) is None:
            return denied(f"{operation} on {resource!r} is malformed")
        if not selected:
            return denied(f"no device group selects {thing}")
        service = operation.partition(":")[0]
        for group in selected:
            for statement in group.statements:
                if statement.effect != "ALLOW":
                    continue
                if not any(op in (operation, f"{service}:*", "*") for op in statement.operations):
                    continue
                if any(self._resource_matches(r, resource, thing) for r in statement.resources):
                    return Decision(
                        True,
                        thing,
                        operation,
                        resource,
                        names,
                        (group.name, group.policy_name, statement.name),
                        f"allowed by CDA: group {group.name}, policy {group.policy_name}, "
                        f"statement {statement.name}",
                    )
        which = ", ".join(f"{g.policy_name} (group {g.name})" for g in selected)
        return denied(f"no statement of {which} allows {operation} on {resource}")

    def authorize(self, thing: str, operation: str, resource: str) -> bool:
        return self.decide(thing, operation, resource).allowed

    def can_connect(self, client_id: str) -> bool:
        """``mqtt:connect`` on ``mqtt:clientId:<id>``; the session's thing is the client ID."""
        return self.authorize(client_id, "mqtt:connect", f"mqtt:clientId:{client_id}")

    def can_publish(self, thing: str, topic: str) -> bool:
        return self.authorize(thing, "mqtt:publish", f"mqtt:topic:{topic}")

    def can_subscribe(self, thing: str, topic_filter: str) -> bool:
        """Compared with the filter as written: no MQTT matching."""
        return self.authorize(thing, "mqtt:subscribe", f"mqtt:topicfilter:{topic_filter}")

    # -- registry --------------------------------------------------------------------------

    def _trusted(self, verified_at: float | None, now: float) -> bool:
        if verified_at is None or self.version < OFFLINE_AUTH_SINCE:
            return False
        return verified_at + self.trust_duration_minutes * 60 > now

    def last_verified(self, thing: str) -> float | None:
        """When the cloud last confirmed ``thing``'s certificate and attachment (the older
        of the two), or ``None``."""
        certificate = self._registry.certificates.get(thing)
        attachment = self._registry.attachments.get((thing, thing))
        if certificate is None or attachment is None:
            return None
        return min(certificate, attachment)

    def refresh(self, things: Iterable[str], *, now: float) -> None:
        """The cloud confirms these things' certificates and attachments (CDA's daily
        refresh of the associated devices, while online)."""
        for thing in things:
            self._registry.certificates[thing] = now
            self._registry.attachments[(thing, thing)] = now

    def forget(self, thing: str) -> None:
        """Drop what the registry knows about ``thing`` and its certificate."""
        self._registry.certificates.pop(thing, None)
        for key in [k for k in self._registry.attachments if thing in k]:
            del self._registry.attachments[key]

    # -- connect -----------------------------------------------------------------------------

    def connect(
        self,
        client_id: str,
        certificate_thing: str | None,
        *,
        now: float,
        cloud_online: bool,
        certificate_active: bool = True,
    ) -> ConnectResult:
        """A device connects with client ID ``client_id`` and the certificate of
        ``certificate_thing`` (``None``: a certificate AWS IoT does not know as active).

        ``now`` is seconds on the caller's clock; ``cloud_online`` is whether the core's
        cloud connection is up. ``certificate_active=False`` means the cloud says the
        certificate of ``certificate_thing`` is no longer active (revoked).

        The order is the real one: the TLS handshake (certificate active? online: ask the
        cloud and record the answer; offline: a verdict younger than the trust duration),
        then CONNECT (empty client ID -> 0x02; a session: client ID over 128 characters ->
        0x04, a client ID that is not a valid thing name -> connection closed, thing not
        attached to the certificate -> 0x04; then ``mqtt:connect`` -> 0x04)."""
        verified_by = "cloud" if cloud_online else "local"
        cert_ok, why = self._verify_certificate(
            certificate_thing, now, cloud_online, certificate_active
        )
        if not cert_ok:
            return ConnectResult(
                client_id,
                "tls_failure",
                None,
                TLS_FAILED_LOG,
                f"TLS handshake refused: {why}",
                verified_by,
            )
        if not client_id:
            return ConnectResult(
                client_id,
                "refused",
                CONNACK_IDENTIFIER_REJECTED,
                empty_client_id_log(f"<certificate of {certificate_thing}>"),
                "empty client ID (Moquette's allow_zero_byte_client_id is false)",
                verified_by,
            )
        assert certificate_thing is not None
        if len(client_id) > MAX_THING_NAME_LENGTH:
            return self._refused(
                client_id,
                SESSION_FAILED_LOG,
                f"thing name is too long ({len(client_id)} > {MAX_THING_NAME_LENGTH})",
                verified_by,
            )
        if not _THING_NAME.fullmatch(client_id):
            return ConnectResult(
                client_id,
                "closed",
                None,
                CONNECT_ERROR_LOG,
                f"client ID {client_id!r} is not a valid thing name ([a-zA-Z0-9-_:]+); CDA "
                "throws and Moquette closes the connection",
                verified_by,
            )
        attached, why = self._verify_attachment(
            client_id, certificate_thing, now, cloud_online, certificate_active
        )
        if not attached:
            return self._refused(client_id, SESSION_FAILED_LOG, why, verified_by)
        decision = self.decide(client_id, "mqtt:connect", f"mqtt:clientId:{client_id}")
        if not decision.allowed:
            return self._refused(client_id, CONNECT_DENIED_LOG, decision.reason, verified_by)
        replaced = client_id in self.sessions
        self.sessions[client_id] = client_id
        return ConnectResult(
            client_id,
            "accepted",
            CONNACK_ACCEPTED,
            ACCEPTED_LOG,
            decision.reason,
            verified_by,
            replaced,
        )

    def disconnect(self, client_id: str) -> None:
        """The connection ends (its CDA session is closed)."""
        self.sessions.pop(client_id, None)

    @staticmethod
    def _refused(client_id: str, log: str, reason: str, verified_by: str) -> ConnectResult:
        return ConnectResult(
            client_id, "refused", CONNACK_BAD_USER_NAME_OR_PASSWORD, log, reason, verified_by
        )

    def _age(self, verified_at: float | None, now: float) -> str:
        if verified_at is None:
            return "was never verified online"
        return (
            f"was last verified {now - verified_at:g} s ago, trust duration "
            f"{self.trust_duration_minutes} min"
        )

    def _verify_certificate(
        self, certificate_thing: str | None, now: float, online: bool, active: bool
    ) -> tuple[bool, str]:
        if certificate_thing is None:
            return False, "the certificate is not an active AWS IoT certificate"
        certificates = self._registry.certificates
        if online:
            if active:
                certificates[certificate_thing] = now
                return True, ""
            certificates.pop(certificate_thing, None)
            return False, f"the certificate of {certificate_thing} is not active in AWS IoT"
        if self.version < OFFLINE_AUTH_SINCE:
            return False, "offline authentication needs CDA 2.3.0"
        verified_at = certificates.get(certificate_thing)
        if self._trusted(verified_at, now):
            return True, ""
        return False, (
            f"offline, and the certificate of {certificate_thing} {self._age(verified_at, now)}"
        )

    def _verify_attachment(
        self, thing: str, certificate_thing: str, now: float, online: bool, active: bool
    ) -> tuple[bool, str]:
        key = (thing, certificate_thing)
        attachments = self._registry.attachments
        if online:
            if active and thing == certificate_thing:
                attachments[key] = now
                return True, ""
            attachments.pop(key, None)
            return False, (
                f"thing {thing} is not attached to the certificate of {certificate_thing} "
                "(the client ID must be the thing name)"
            )
        verified_at = attachments.get(key)
        if self._trusted(verified_at, now):
            return True, ""
        return False, (
            f"offline, and the attachment of {thing} to the certificate of "
            f"{certificate_thing} {self._age(verified_at, now)}"
        )
