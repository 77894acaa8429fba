"""Settings of the Shadow service fake.

The defaults follow AWS IoT's documented Device Shadow rules. Where AWS documents nothing, the
default follows AWS's Greengrass V2 ShadowManager, and the setting exists so a user who has
checked a live account can make the fake agree with it. Each such setting says ``[unverified]``.
See ``shared/specs/shadow.md`` sections 1.9 and 1.10.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal


@dataclass(frozen=True)
class ShadowConfig:
    """Limits and policies of a :class:`fakes.shadow.ShadowService`."""

    #: Largest allowed size of the merged ``desired`` + ``reported`` (compact UTF-8 JSON), bytes.
    max_state_bytes: int = 8192
    #: Deepest nesting in ``desired`` or ``reported``; the section itself is level 1 and only
    #: non-empty objects and arrays count as levels. [unverified: 6 by the error text, some
    #: secondary sources say 8]
    max_depth: int = 6
    #: Longest allowed ``clientToken``, in UTF-8 bytes.
    max_client_token_bytes: int = 64
    #: A shadow re-created within this many seconds of its deletion continues its version.
    version_retention_seconds: float = 48 * 3600
    #: Whether deleting a shadow uses up a version number (the delete response then carries
    #: last version + 1, and a re-created shadow continues after it). [unverified: AWS
    #: engineers say the service increments on delete; ShadowManager reports the last version]
    delete_increments_version: bool = True
    #: The ``version`` a request must carry when it creates a shadow (``None``: any value
    #: is accepted). [unverified: ShadowManager requires 1, else 400 ``Invalid version``]
    new_shadow_version: int | None = 1
    #: Publish ``/update/delta`` after a reported-only update that leaves a non-empty delta.
    #: [unverified: ShadowManager does]
    delta_on_reported_only_update: bool = True
    #: What ``/update/documents`` carries as ``previous`` for the update that creates a
    #: shadow: ``null``, nothing, or an empty document of version 0. [unverified:
    #: ShadowManager sends ``"previous": null``]
    documents_previous_for_new_shadow: Literal["null", "omit", "empty"] = "null"
    #: An empty object in a request removes its key like ``null`` does (so
    #: ``"desired": {}`` removes the section and ``{"a": {}}`` never creates ``a``).
    #: [unverified: ShadowManager's rule; documented only for ``null``]
    empty_object_removes: bool = True
    #: How the 404 message names a named shadow: ``'<shadow>'`` (the docs' tutorial) or
    #: ``'<thing>~<shadow>'``. [unverified]
    named_not_found_style: Literal["shadow", "thing~shadow"] = "shadow"
    #: Arrays may not contain ``null`` (documented); the message text is [unverified].
    array_with_null_message: str = "Invalid JSON"
    #: Longest number literal read, in characters; a longer one is ``Invalid JSON``.
    #: [unverified: AWS documents no limit; 1000 is the default of Jackson (since 2.15), the
    #: JSON library of AWS's ShadowManager. At most 4300, the longest integer Python reads.]
    max_number_length: int = 1000

    def __post_init__(self) -> None:
        # The merge and the document rules walk a request as deep as max_depth allows.
        if not 1 <= self.max_depth <= 100:
            raise ValueError(f"max_depth must be 1..100 (AWS: 6), not {self.max_depth}")
        if not 1 <= self.max_number_length <= 4300:
            raise ValueError("max_number_length must be 1..4300 (default 1000), not "
                             f"{self.max_number_length}")
