"""ShadowManager's configuration as the simulated V2 core uses it (greengrass-v2-topology.md
§3.2): which Shadows sync with the cloud, the IPC rate limits and the document size limit,
read from the deployment the core is built from.

The simulated sync (:mod:`harness.cloud.shadow_sync`) is real time and
``betweenDeviceAndCloud``; a configuration asking for another direction or a periodic
strategy is refused with that reason instead of being run as something it is not. Keys are
case-insensitive and numbers may arrive as floats, as the nucleus stores them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from fakes.nucleus_ipc.services.rate_limit import RateLimits

__all__ = ["MAX_DOCUMENT_BYTES", "ShadowManagerConfigError", "ShadowManagerSettings"]

#: shadowDocumentSizeLimitBytes may be raised to this at most (§3.2)
MAX_DOCUMENT_BYTES = 30720
_DIRECTIONS = ("betweendeviceandcloud", "devicetocloud", "cloudtodevice")


class ShadowManagerConfigError(ValueError):
    """A ShadowManager configuration the core refuses, or the simulation cannot run."""


@dataclass(frozen=True, slots=True)
class ShadowManagerSettings:
    #: things whose classic Shadow syncs with the cloud (the core's own included when
    #: ``synchronize.coreThing.classic`` is true)
    synced: tuple[str, ...] = ()
    rate_limits: RateLimits = RateLimits()  # noqa: RUF009 (frozen)
    outbound_per_second: int = 100
    document_size_limit: int = 8192

    @classmethod
    def from_configuration(cls, config: Mapping[str, Any], core_thing: str
                           ) -> ShadowManagerSettings:
        settings = _folded(config)
        sync = _folded(settings.get("synchronize") or {})
        direction = str(sync.get("direction", "betweenDeviceAndCloud"))
        if direction.lower() not in _DIRECTIONS:
            raise ShadowManagerConfigError("synchronize.direction: Unknown direction value.")
        if direction.lower() != "betweendeviceandcloud":
            raise ShadowManagerConfigError(
                f"synchronize.direction {direction}: the simulated sync runs "
                "betweenDeviceAndCloud only")
        strategy = _folded(settings.get("strategy") or {})
        if str(strategy.get("type", "realTime")).lower() != "realtime":
            raise ShadowManagerConfigError(
                f"strategy.type {strategy.get('type')}: the simulated sync is realTime only")
        synced: list[str] = []
        core = _folded(sync.get("corething") or {})
        if core and core.get("classic", True):
            synced.append(core_thing)
        documents = sync.get("shadowdocumentsmap") or {}
        entries = [{"thingName": name, **(body or {})} for name, body in documents.items()]
        entries += list(sync.get("shadowdocuments") or [])
        for entry in entries:
            entry = _folded(entry)
            name = entry.get("thingname")
            if not isinstance(name, str) or not name:
                raise ShadowManagerConfigError(
                    f"synchronize.shadowDocuments: an entry without a thingName: {entry}")
            if entry.get("classic", True) and name not in synced:
                synced.append(name)
        limits = _folded(settings.get("ratelimits") or {})
        size = _int(settings.get("shadowdocumentsizelimitbytes", 8192),
                    "shadowDocumentSizeLimitBytes")
        if not 0 < size <= MAX_DOCUMENT_BYTES:
            raise ShadowManagerConfigError(
                f"shadowDocumentSizeLimitBytes {size}: at most {MAX_DOCUMENT_BYTES}")
        return cls(
            synced=tuple(synced),
            rate_limits=RateLimits(
                _int(limits.get("maxtotallocalrequestsrate", 200), "maxTotalLocalRequestsRate"),
                _int(limits.get("maxlocalrequestspersecondperthing", 20),
                     "maxLocalRequestsPerSecondPerThing")),
            outbound_per_second=_int(limits.get("maxoutboundsyncupdatespersecond", 100),
                                     "maxOutboundSyncUpdatesPerSecond"),
            document_size_limit=size,
        )


def _folded(value: Any) -> dict[str, Any]:
    """A configuration object with lower-case keys (the nucleus's lookups ignore case)."""
    if not isinstance(value, Mapping):
        raise ShadowManagerConfigError(f"expected an object, not {value!r}")
    return {str(key).lower(): item for key, item in value.items()}


def _int(value: Any, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int | float) or value != int(value) \
            or value <= 0:
        raise ShadowManagerConfigError(f"rateLimits/{name}: a positive whole number, not "
                                       f"{value!r}")
    return int(value)
