"""Deploying ``lambdas/group.yaml`` to AWS IoT Greengrass: plans, validation, packages.

The group file that the simulated core runs is also what gets deployed. A deployment is first
a :class:`Plan`, the ordered AWS requests with their bodies, which a dry run prints and checks
against the botocore service models without an account; :func:`execute` sends the same plan.

- :func:`plan_v2` (the default target): each Lambda imported as a Greengrass V2 component,
  then one deployment with the legacy subscription router, the shadow manager and the nucleus.
- :func:`plan_v1`: a new version of an existing Greengrass V1 group (AWS ended V1 support on
  2026-10-07) and its deployment.
- :func:`build_package`: a function's deterministic Lambda zip (its module and the real
  ``greengrasssdk``).

Command line: ``python -m harness deploy [--target v2|v1] [--apply] [--out DIR]``.
"""

from __future__ import annotations

import importlib
from typing import Any

# Imported on first use, so ``python -m harness demo`` does not load botocore.
_PUBLIC = {
    "DeployError": "plan",
    "Plan": "plan",
    "Poll": "plan",
    "Ref": "plan",
    "RequestInvalid": "validate",
    "Step": "plan",
    "boto3_clients": "apply",
    "build_package": "packages",
    "execute": "apply",
    "plan_v1": "v1",
    "plan_v2": "v2",
    "validate_request": "validate",
    "write_packages": "packages",
}
__all__ = sorted(_PUBLIC)


def __getattr__(name: str) -> Any:
    if name not in _PUBLIC:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{_PUBLIC[name]}"), name)
