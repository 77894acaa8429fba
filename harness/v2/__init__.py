"""The Greengrass V2 side of the group file: one compiled deployment (what the core runs).

:func:`compile_group` turns ``lambdas/group.yaml`` into a :class:`V2Deployment`, the model
that both ``python -m harness deploy`` (:mod:`harness.deploy.v2`) and a simulated V2 core are
built from (``shared/specs/greengrass-v2-topology.md`` §2.4, §5).
"""

from harness.v2.deployment import (
    BRIDGE,
    CLIENT_DEVICE_AUTH,
    DEFAULT_VERSIONS,
    IP_DETECTOR,
    MOQUETTE,
    NUCLEUS,
    NUCLEUS_EXAMPLE_VERSION,
    ROUTER,
    SHADOW_MANAGER,
    LambdaComponent,
    V2Deployment,
    apply_configuration_update,
    compile_group,
    component_name,
    component_version,
)

__all__ = [
    "BRIDGE",
    "CLIENT_DEVICE_AUTH",
    "DEFAULT_VERSIONS",
    "IP_DETECTOR",
    "MOQUETTE",
    "NUCLEUS",
    "NUCLEUS_EXAMPLE_VERSION",
    "ROUTER",
    "SHADOW_MANAGER",
    "LambdaComponent",
    "V2Deployment",
    "apply_configuration_update",
    "compile_group",
    "component_name",
    "component_version",
]
