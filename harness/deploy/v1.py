"""The Greengrass V1 plan, for groups that still run on V1 cores.

AWS ended Greengrass V1 support on 2026-10-07; V2 (:mod:`harness.deploy.v2`) is the default.
This plan adds a new version to an existing V1 group and deploys it, in order:

1. Look-ups: the group's id by its name (unless given), and the certificate attached to the
   core's thing and to each device's thing (a V1 core or device definition names both; the
   things and certificates exist already, as they do for a group in service).
2. One definition, with its initial version, for each kind the group has: core, devices,
   functions, subscriptions, resources (ML resources as S3 model resources; secrets as Secrets
   Manager resources, which need their ARN).
3. A group version naming each definition version by the ARN its create call returned (always
   the returned ARN: its form differs between AWS and moto), then a ``NewDeployment`` of it.

Functions are named by version-qualified ARNs (``...:function:<name>:<version or alias>``), as
V1 requires. V1 has no per-function queue size, instance count or idle time: those settings
of the group are V2's only.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from harness.deploy.plan import DeployError, Plan, Ref, Response, Step
from harness.deploy.routes import routes
from harness.group import Function, Group

__all__ = ["plan_v1"]

_UNSAFE = re.compile(r"[^A-Za-z0-9:_-]+")


def _find_group(name: str) -> Callable[[Response], Response]:
    def extract(response: Response) -> Response:
        matches = [g for g in response.get("Groups", []) if g.get("Name") == name]
        if not matches:
            raise DeployError(f"no Greengrass V1 group named {name!r} here: --target v1 adds a"
                              " version to an existing group (or pass its id)")
        if len(matches) > 1:
            ids = ", ".join(g["Id"] for g in matches)
            raise DeployError(f"{len(matches)} V1 groups are named {name!r} ({ids}): pass the id")
        return {"Id": matches[0]["Id"], "Arn": matches[0].get("Arn")}

    return extract


def _certificate_of(thing: str) -> Callable[[Response], Response]:
    def extract(response: Response) -> Response:
        certificates = [p for p in response.get("principals", []) if ":cert/" in p]
        if len(certificates) != 1:
            found = ", ".join(certificates) or "none"
            raise DeployError(f"thing {thing!r} needs exactly one certificate attached for a V1"
                              f" definition; found {found}")
        return {"certificateArn": certificates[0]}

    return extract


def _lookups(group: Group, group_id: str | None) -> tuple[list[Step], str | Ref]:
    steps: list[Step] = []
    if group_id is None:
        steps.append(Step(
            id="group", service="greengrass", operation="list_groups", params={},
            summary=f"find the V1 group named {group.name!r}", paginate=True,
            extract=_find_group(group.name), sends=False,
        ))
        group_ref: str | Ref = Ref("group", ("Id",), "00000000-0000-0000-0000-000000000000")
    else:
        group_ref = group_id
    for thing in [group.core.thing, *(d.thing for d in group.devices)]:
        steps.append(Step(
            id=f"certificate-{thing}", service="iot", operation="list_thing_principals",
            params={"thingName": thing}, summary=f"find the certificate of thing {thing}",
            paginate=True, extract=_certificate_of(thing), sends=False,
        ))
    return steps, group_ref


def _certificate(group: Group, thing: str) -> Ref:
    example = f"arn:aws:iot:{group.region}:{group.account}:cert/{'0' * 64}"
    return Ref(f"certificate-{thing}", ("certificateArn",), example)


def _function_entry(group: Group, function: Function, secret_ids: dict[str, str]
                    ) -> dict[str, Any]:
    policies = [{"ResourceId": name, "Permission": "ro"} for name in function.ml_resources]
    policies += [{"ResourceId": secret_ids[name], "Permission": "ro"} for name in function.secrets]
    environment: dict[str, Any] = {"AccessSysfs": function.sys_access,
                                   "Variables": dict(function.environment)}
    if policies:
        environment["ResourceAccessPolicies"] = policies
    return {
        "Id": function.name,
        "FunctionArn": group.function_arn(function.name),
        "FunctionConfiguration": {
            "Executable": function.handler,
            "Pinned": function.pinned,
            "Timeout": function.timeout,
            "MemorySize": function.memory_kb,
            "EncodingType": function.encoding,
            "Environment": environment,
        },
    }


def _resources(group: Group) -> tuple[list[dict[str, Any]], dict[str, str]]:
    resources: list[dict[str, Any]] = [
        {
            "Id": resource.name,
            "Name": resource.name,
            "ResourceDataContainer": {"S3MachineLearningModelResourceData": {
                "S3Uri": resource.s3_uri, "DestinationPath": resource.destination}},
        }
        for resource in group.ml_resources
    ]
    secret_ids: dict[str, str] = {}
    for number, secret in enumerate(group.secrets, 1):
        if secret.arn is None:
            raise DeployError(f"secret {secret.name!r} needs its arn for a V1 resource")
        secret_ids[secret.name] = f"secret-{number}"
        resources.append({
            "Id": secret_ids[secret.name],
            "Name": _UNSAFE.sub("_", secret.name)[:128],
            "ResourceDataContainer": {"SecretsManagerSecretResourceData": {"ARN": secret.arn}},
        })
    return resources, secret_ids


def _definition(group: Group, kind: str, key: str, items: list[dict[str, Any]],
                details: tuple[str, ...]) -> Step:
    return Step(
        id=f"{kind}-definition",
        service="greengrass",
        operation=f"create_{kind}_definition",
        params={"Name": f"{group.name}-{kind}s", "InitialVersion": {key: items}},
        summary=f"{group.name}-{kind}s with {len(items)} {kind}{'s' * (len(items) != 1)}",
        details=details,
    )


def _definitions(group: Group) -> list[Step]:
    core = group.core
    steps = [_definition(group, "core", "Cores", [{
        "Id": core.thing, "ThingArn": group.thing_arn(core.thing),
        "CertificateArn": _certificate(group, core.thing), "SyncShadow": core.shadow_sync,
    }], (f"{core.thing} (shadow sync {'on' if core.shadow_sync else 'off'})",))]
    if group.devices:
        steps.append(_definition(group, "device", "Devices", [
            {"Id": d.thing, "ThingArn": group.thing_arn(d.thing),
             "CertificateArn": _certificate(group, d.thing), "SyncShadow": d.shadow_sync}
            for d in group.devices
        ], tuple(f"{d.thing} (shadow sync {'on' if d.shadow_sync else 'off'})"
                 for d in group.devices)))
    resources, secret_ids = _resources(group)
    if group.functions:
        steps.append(_definition(group, "function", "Functions", [
            _function_entry(group, f, secret_ids) for f in group.functions
        ], tuple(
            f"{f.name}: {f.handler}, {'pinned' if f.pinned else 'on demand'}, timeout"
            f" {f.timeout} s, {f.memory_mb} MB, {f.encoding}"
            f"{', /sys' if f.sys_access else ''}"
            f"{', resources ' + ', '.join(f.ml_resources) if f.ml_resources else ''}"
            for f in group.functions
        )))
    all_routes = routes(group)
    if all_routes:
        steps.append(_definition(group, "subscription", "Subscriptions", [
            {"Id": r.id, "Source": r.source, "Subject": r.subject, "Target": r.target}
            for r in all_routes
        ], tuple(f"{r.id}: {r.source} -> {r.target} on {r.subject}" for r in all_routes)))
    if resources:
        steps.append(_definition(group, "resource", "Resources", resources, (
            *(f"{r.name}: {r.s3_uri} -> {r.destination}" for r in group.ml_resources),
            *(f"{secret_ids[s.name]}: secret {s.arn}" for s in group.secrets),
        )))
    return steps


def plan_v1(group: Group, *, group_id: str | None = None) -> Plan:
    """The Greengrass V1 plan for ``group`` (see the module notes). ``group_id`` names the
    existing V1 group; without it the plan finds the group by name."""
    steps, group_ref = _lookups(group, group_id)
    definitions = _definitions(group)
    steps += definitions
    version_arns: dict[str, Any] = {}
    for step in definitions:
        kind = step.id.removesuffix("-definition")
        example = (f"arn:aws:greengrass:{group.region}:{group.account}:/greengrass/definition/"
                   f"{kind}s/{'0' * 8}/versions/{'0' * 8}")
        field = f"{kind.capitalize()}DefinitionVersionArn"
        version_arns[field] = Ref(step.id, ("LatestVersionArn",), example)
    steps.append(Step(
        id="group-version", service="greengrass", operation="create_group_version",
        params={"GroupId": group_ref, **version_arns},
        summary=f"a new version of group {group.name!r} with the {len(definitions)} definitions",
        details=tuple(f"{field}: {ref}" for field, ref in version_arns.items()),
    ))
    steps.append(Step(
        id="deployment", service="greengrass", operation="create_deployment",
        params={"GroupId": group_ref, "DeploymentType": "NewDeployment",
                "GroupVersionId": Ref("group-version", ("Version",), "0" * 8)},
        summary=f"deploy that version of {group.name!r} to {group.core.thing}",
    ))
    notes = ("AWS ended Greengrass V1 support on 2026-10-07: use --target v2 for new work.",
             "V1 has no per-function queue size, instance count or idle time; only V2 gets"
             " those settings.")
    return Plan(target="v1", group=group.name, region=group.region, steps=tuple(steps),
                notes=notes)
