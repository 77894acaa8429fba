"""The Greengrass V2 plan: the requests that create and run :func:`harness.v2.compile_group`.

One source of truth: the plan is built from the compiled :class:`~harness.v2.V2Deployment`
(``shared/specs/greengrass-v2-topology.md`` §2.4, §4.1, §5; what each component and setting
is, and which subscriptions are refused, is said in :mod:`harness.v2.deployment`), and
:func:`deployment_of` rebuilds that model from the plan's own requests. In order:

1. When the group has ML resources, ``create_component_version`` of ``<group>.MLResources``
   (its inline recipe: the resources' S3 zips, unpacked on the core; V2 has no ML resources
   for Lambdas). Each Lambda that declares a resource depends on it and mounts the unpacked
   folder read-only at the resource's ``destination``.
2. For each function, ``create_component_version`` with ``lambdaFunction``: component
   ``<group>.<function>``, version ``<Lambda version>.0.0``, its ``componentLambdaParameters``
   (event sources from the subscriptions that target it) and dependencies (the Lambda
   launcher, manager and runtimes; the ML resources; ShadowManager, HARD, when its
   ``access_control`` grants ShadowManager operations). Each new component is polled until it
   is ``DEPLOYABLE``, using the ARN the create call returned.
3. ``get_core_device`` for the nucleus version the core runs, unless one is given.
4. ``batch_associate_client_device_with_core_device`` with every device thing (100 per
   request), so discovery returns the core to them (§1.5). Connectivity information is left
   to ``aws.greengrass.clientdevices.IPDetector``: no ``update_connectivity_info`` step.
5. ``create_deployment`` to the core's thing with the compiled components: the nucleus, the
   client-device components (CDA with ``clientDeviceTrustDurationMinutes``, Moquette, the
   bridge, the IP detector), ShadowManager, the legacy subscription router (only the function
   routes), the ML resources and the Lambda components with their ``accessControl``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import PurePosixPath
from typing import Any

from harness.deploy.plan import DeployError, Plan, Poll, Ref, Response, Step
from harness.group import Group
from harness.v2.deployment import (
    BRIDGE,
    CLIENT_DEVICE_AUTH,
    DEFAULT_VERSIONS,
    GREENGRASS_ROOT,
    LAMBDA_DEPENDENCIES,
    NUCLEUS,
    ROUTER,
    SHADOW_MANAGER,
    V2Deployment,
    compile_group,
    component_name,
    component_version,
    event_sources,
    lambda_parameters,
    ml_component_name,
    nucleus_needs,
    shadow_manager_configuration,
)

__all__ = [
    "ASSOCIATE",
    "DEFAULT_VERSIONS",
    "GREENGRASS_ROOT",
    "LAMBDA_DEPENDENCIES",
    "NUCLEUS",
    "ROUTER",
    "SHADOW_MANAGER",
    "component_name",
    "component_version",
    "deployment_of",
    "event_sources",
    "lambda_parameters",
    "plan_requests",
    "plan_v2",
    "shadow_manager_configuration",
]

ASSOCIATE = "batch_associate_client_device_with_core_device"
MAX_ASSOCIATIONS = 100  # entries per request (botocore model)


def _deployable(response: Response) -> bool:
    return response.get("status", {}).get("componentState") == "DEPLOYABLE"


def _not_deployable(response: Response) -> str | None:
    status = response.get("status", {})
    if status.get("componentState") in ("FAILED", "DEPRECATED"):
        errors = "; ".join(f"{k}: {v}" for k, v in sorted(status.get("errors", {}).items()))
        return f"{status['componentState']}: {status.get('message', '')} {errors}".strip()
    return None


def _wait_step(step_id: str, create_id: str, name: str, version: str, region: str,
               account: str) -> Step:
    example = f"arn:aws:greengrass:{region}:{account}:components:{name}:versions:{version}"
    return Step(
        id=step_id,
        service="greengrassv2",
        operation="describe_component",
        params={"arn": Ref(create_id, ("arn",), example)},
        summary=f"wait until {name} is DEPLOYABLE (the ARN create returned)",
        poll=Poll(done=_deployable, failed=_not_deployable),
        sends=False,
    )


def _associated(response: Response) -> Response:
    """The association's response; a refused entry stops the plan."""
    errors = response.get("errorEntries") or []
    if errors:
        refused = "; ".join(f"{e.get('thingName')}: {e.get('code')} {e.get('message', '')}"
                            .strip() for e in errors)
        raise DeployError(f"client devices not associated: {refused}")
    return response


# ---------------------------------------------------------------- component steps


def _recipe_steps(group: Group, deployment: V2Deployment, root: str
                  ) -> tuple[list[Step], dict[str, Ref]]:
    steps: list[Step] = []
    versions: dict[str, Ref] = {}
    for name, recipe in deployment.recipes.items():
        create_id = "ml-resources" if name == ml_component_name(group) else f"component-{name}"
        version = recipe["ComponentVersion"]
        unpacked = f"{root.rstrip('/')}/packages/artifacts-unarchived/{name}/{version}"
        artifacts = [a for m in recipe.get("Manifests", []) for a in m.get("Artifacts", [])]
        steps.append(Step(
            id=create_id,
            service="greengrassv2",
            operation="create_component_version",
            params={"inlineRecipe": json.dumps(recipe, indent=2)},
            summary=f"{name} {version}: {len(artifacts)} S3 zips unpacked",
            details=tuple(f"{r.name}: {r.s3_uri} -> {unpacked}/{PurePosixPath(r.key).stem}"
                          for r in group.ml_resources if name == ml_component_name(group)),
        ))
        steps.append(_wait_step(f"{create_id}-ready", create_id, name, version, group.region,
                                group.account))
        versions[name] = Ref(create_id, ("componentVersion",), version)
    return steps, versions


def _describe_function(parameters: Mapping[str, Any]) -> list[str]:
    p = parameters
    if p["pinned"]:
        life = f"pinned (status every {p['statusTimeoutInSeconds']} s)"
    else:
        life = (f"on demand, up to {p['maxInstancesCount']} instances, idle"
                f" {p['maxIdleTimeInSeconds']} s")
    container = p["linuxProcessParams"]["containerParams"]
    lines = [
        f"{life}; timeout {p['timeoutInSeconds']} s; queue {p['maxQueueSize']};"
        f" {p['inputPayloadEncodingType']} input",
        f"container: {container['memorySizeInKB'] // 1024} MB, /sys"
        f" {'read-only' if container['mountROSysfs'] else 'not mounted'}",
    ]
    if "environmentVariables" in p:
        lines.append("environment: " + ", ".join(p["environmentVariables"]))
    for source in p.get("eventSources", []):
        lines.append(f"event source: {source['type']} {source['topic']}")
    for volume in container.get("volumes", []):
        lines.append(f"volume: {volume['destinationPath']} <- {volume['sourcePath']} (ro)")
    return lines


def _function_steps(group: Group, deployment: V2Deployment) -> tuple[list[Step], dict[str, Ref]]:
    steps: list[Step] = []
    versions: dict[str, Ref] = {}
    components = deployment.lambda_components
    for function in group.functions:
        component = components[component_name(group, function)]
        create_id = f"component-{function.name}"
        dependencies = component.dependencies
        steps.append(Step(
            id=create_id,
            service="greengrassv2",
            operation="create_component_version",
            params={"lambdaFunction": component.lambda_function},
            summary=f"{component.name} {component.version} from {component.lambda_arn}",
            details=(*_describe_function(component.parameters),
                     "depends on: " + ", ".join(
                         f"{key} {value['versionRequirement']}"
                         + (" (HARD)" if key == SHADOW_MANAGER else "")
                         for key, value in dependencies.items())),
        ))
        steps.append(_wait_step(f"ready-{function.name}", create_id, component.name,
                                component.version, group.region, group.account))
        versions[component.name] = Ref(create_id, ("componentVersion",), component.version)
    return steps, versions


def _association_steps(deployment: V2Deployment) -> list[Step]:
    things = list(deployment.client_devices)
    steps = []
    for number, start in enumerate(range(0, len(things), MAX_ASSOCIATIONS), 1):
        chunk = things[start:start + MAX_ASSOCIATIONS]
        steps.append(Step(
            id="associate-client-devices" + (f"-{number}" if number > 1 else ""),
            service="greengrassv2",
            operation=ASSOCIATE,
            params={"coreDeviceThingName": deployment.core_thing,
                    "entries": [{"thingName": thing} for thing in chunk]},
            summary=f"associate {len(chunk)} client devices with {deployment.core_thing}"
                    " (discovery returns the core to them)",
            details=(", ".join(chunk),),
            extract=_associated,
        ))
    return steps


# ---------------------------------------------------------------- the deployment step


def _deployment_details(group: Group, deployment: V2Deployment,
                        components: Mapping[str, Any]) -> list[str]:
    details = [f"{name} {spec['componentVersion']}" for name, spec in components.items()]
    if CLIENT_DEVICE_AUTH in components:
        auth = deployment.configuration(CLIENT_DEVICE_AUTH)
        trust = auth.get("security", {}).get("clientDeviceTrustDurationMinutes")
        details.append(f"client devices: clientDeviceTrustDurationMinutes {trust}"
                       " (how long a device's last cloud verification admits it offline)")
        if group.client_devices.auth is not None:
            details.append("device groups: client_devices.auth, verbatim")
        else:
            groups = auth["deviceGroups"]
            for name, definition in groups["definitions"].items():
                policy = groups["policies"][definition["policyName"]]
                allowed = [
                    f"{statement['operations'][0].removeprefix('mqtt:')} "
                    + ", ".join(r.split(":", 2)[-1] for r in statement["resources"])
                    for statement in policy.values()
                ]
                details.append(f"device group {name} ({definition['selectionRule']}): "
                               + "; ".join(allowed))
    if BRIDGE in components:
        mappings = deployment.configuration(BRIDGE).get("mqttTopicMapping", {})
        verbatim = " (client_devices.bridge, verbatim)" if group.client_devices.bridge else ""
        for mapping in mappings.values():
            if isinstance(mapping, dict):
                details.append(f"bridge {mapping.get('topic')}: {mapping.get('source')} ->"
                               f" {mapping.get('target')}{verbatim}")
    if ROUTER in components:
        for route in deployment.configuration(ROUTER)["subscriptions"].values():
            details.append(f"route {route['id']}: {route['source']} -> {route['target']} on"
                           f" {route['subject']}")
    synced = [d.thing for d in group.devices if d.shadow_sync]
    details.append("shadow sync: " + (", ".join(synced) or "none")
                   + f"; core {group.core.thing}: {'yes' if group.core.shadow_sync else 'no'}")
    for function in group.functions:
        name = component_name(group, function)
        access = deployment.access_control(name)
        for service, policies in access.items():
            details.append(f"accessControl {name}: {service} " + ", ".join(policies))
    return details


def _deployment_step(group: Group, deployment: V2Deployment, created: Mapping[str, Ref],
                     nucleus: str | Ref) -> Step:
    components: dict[str, Any] = deployment.components
    components[NUCLEUS] = {"componentVersion": nucleus}
    for name, version in created.items():
        components[name]["componentVersion"] = version
    target = deployment.target_arn
    return Step(
        id="deployment",
        service="greengrassv2",
        operation="create_deployment",
        params={"targetArn": target, "deploymentName": deployment.deployment_name,
                "components": components},
        summary=f"deploy {len(components)} components to {target}",
        details=tuple(_deployment_details(group, deployment, components)),
    )


def _notes(group: Group, deployment: V2Deployment, versions: Mapping[str, str],
           nucleus_version: str | None) -> tuple[str, ...]:
    published = ", ".join(f"{f.name}:{f.version}" for f in group.functions)
    components = deployment.components
    pinned = {name: version for name, version in versions.items() if name in components}
    notes = [
        f"AWS Lambda must hold these published versions first: {published} (a python3 runtime;"
        " --out DIR writes their packages to DIR/packages/).",
        "Pinned: " + ", ".join(f"{k} {v}" for k, v in pinned.items())
        + " [unverified against the core's nucleus; override with --component-version"
        " NAME=VERSION].",
    ]
    if nucleus_version is None:
        notes.append(f"{NUCLEUS} stays at the version {group.core.thing} runs (read with"
                     " get_core_device; --nucleus-version to choose).")
    needs = nucleus_needs(group)
    if needs:
        notes.append(f"The core's nucleus must be ≥ 2.6.0 for: {'; '.join(needs)}.")
    if group.ml_resources:
        buckets = ", ".join(sorted({r.bucket for r in group.ml_resources}))
        notes.append(f"The core's token exchange role must allow s3:GetObject on {buckets}.")
    if CLIENT_DEVICE_AUTH in components:
        trust = deployment.configuration(CLIENT_DEVICE_AUTH).get("security", {}).get(
            "clientDeviceTrustDurationMinutes")
        notes += [
            f"Client devices ({', '.join(deployment.client_devices) or 'none'}) connect to"
            " Moquette on port 8883 with their thing name as client ID;"
            f" clientDeviceTrustDurationMinutes is {trust} (client_devices."
            "trust_duration_minutes): a device reconnecting during a cloud outage is admitted"
            " only if its last cloud verification is younger than that (AWS's default, 1,"
            " refuses it a minute into the outage; longer trusts a revoked certificate as"
            " long).",
            "Connectivity information is left to aws.greengrass.clientdevices.IPDetector, which"
            " reports the core's addresses with port 8883 every 60 s and replaces manual"
            " entries; the plan sends no update_connectivity_info.",
            "Client devices must subscribe with exactly the filters their device group allows"
            " (CDA compares topic filters literally; a narrower filter gets SUBACK 0x80).",
            "Cloud side, not in this plan: each device thing has an active certificate and an"
            " IoT policy allowing greengrass:Discover; the core's IoT policy allows"
            " greengrass:PutCertificateAuthorities, VerifyClientDeviceIdentity,"
            " VerifyClientDeviceIoTCertificateAssociation, GetConnectivityInfo,"
            " UpdateConnectivityInfo and its <core>-gci shadow; the Greengrass service role is"
            " associated with the account.",
        ]
    return tuple(notes)


# ---------------------------------------------------------------- plan and model


def plan_v2(group: Group, *, versions: Mapping[str, str] | None = None,
            nucleus_version: str | None = None,
            greengrass_root: str = GREENGRASS_ROOT) -> Plan:
    """The Greengrass V2 plan for ``group`` (see the module notes).

    ``versions`` overrides :data:`DEFAULT_VERSIONS` (and may pin ``aws.greengrass.Nucleus``,
    as ``nucleus_version`` does); without a nucleus version the plan reads the one the core
    runs. ``greengrass_root`` is where the core is installed (for the ML resource mounts).
    """
    readers = [function.name for function in group.functions if function.secrets]
    if readers:  # the simulated V2 core serves them; the plan cannot deploy them yet
        raise DeployError(
            f"function {readers[0]!r} reads secrets: the V2 plan does not deploy"
            " aws.greengrass.SecretManager yet"
        )
    chosen = dict(versions or {})
    nucleus_version = nucleus_version or chosen.get(NUCLEUS)
    if nucleus_version is not None:
        chosen[NUCLEUS] = nucleus_version
    deployment = compile_group(group, versions=chosen, greengrass_root=greengrass_root)
    steps, created = _recipe_steps(group, deployment, greengrass_root)
    function_steps, function_versions = _function_steps(group, deployment)
    steps += function_steps
    created.update(function_versions)
    nucleus: str | Ref
    if nucleus_version is None:
        steps.append(Step(
            id="core-device",
            service="greengrassv2",
            operation="get_core_device",
            params={"coreDeviceThingName": group.core.thing},
            summary=f"read the nucleus version {group.core.thing} runs",
            sends=False,
        ))
        nucleus = Ref("core-device", ("coreVersion",), deployment.version(NUCLEUS))
    else:
        nucleus = nucleus_version
    steps += _association_steps(deployment)
    steps.append(_deployment_step(group, deployment, created, nucleus))
    pinned = {**DEFAULT_VERSIONS, **{k: v for k, v in chosen.items() if k != NUCLEUS}}
    return Plan(target="v2", group=group.name, region=group.region, steps=tuple(steps),
                notes=_notes(group, deployment, pinned, nucleus_version))


def plan_requests(plan: Plan) -> tuple[dict[str, Any], dict[str, dict[str, Any]],
                                       list[dict[str, Any]]]:
    """The V2 plan's requests, references replaced by their examples: the
    ``create_deployment`` parameters, each ``create_component_version``'s by component name,
    and the client-device associations (the arguments of
    :meth:`~harness.v2.V2Deployment.from_requests`)."""
    create_deployment: dict[str, Any] | None = None
    created: dict[str, dict[str, Any]] = {}
    associations: list[dict[str, Any]] = []
    for step in plan.steps:
        params = step.example_params()
        if step.operation == "create_deployment":
            create_deployment = params
        elif step.operation == "create_component_version":
            if "lambdaFunction" in params:
                name = params["lambdaFunction"]["componentName"]
            else:
                name = json.loads(params["inlineRecipe"])["ComponentName"]
            created[name] = params
        elif step.operation == ASSOCIATE:
            associations.append(params)
    if create_deployment is None:
        raise DeployError(f"the plan for {plan.group!r} has no create_deployment step")
    return create_deployment, created, associations


def deployment_of(plan: Plan) -> V2Deployment:
    """The V2 deployment ``plan`` would make, rebuilt from its own requests."""
    create_deployment, created, associations = plan_requests(plan)
    return V2Deployment.from_requests(create_deployment, created, associations)
