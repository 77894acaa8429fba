"""The Greengrass V2 plan: each Lambda imported as a component, then one deployment.

What :func:`plan_v2` builds from the group, in order:

1. When the group has ML resources, one component ``<group>.MLResources`` whose artifacts are
   the resources' S3 zips, unpacked on the core (V2 has no ML resources for Lambdas; a
   component's archive artifacts are how files reach a core). A Lambda that declares a
   resource depends on it and gets the unpacked folder mounted read-only at the resource's
   ``destination``, so its code finds the model where it did on V1.
2. For each function, ``create_component_version`` with ``lambdaFunction``: component
   ``<group>.<function>`` (the group name keeps two groups' ``republish`` apart), version
   ``<Lambda version>.0.0`` (what AWS would choose), the function's settings as
   ``componentLambdaParameters`` (``pinned`` always sent: the V2 default is true, the group's
   false), event sources from the subscriptions that target it, a Greengrass container with
   its memory and ``/sys`` access, and dependencies on the Lambda launcher, manager and
   runtimes components that the V2 guide lists. Each new component is then polled until it is
   ``DEPLOYABLE``, using the ARN the create call returned.
3. ``create_deployment`` to the core's thing: ``aws.greengrass.Nucleus`` at the version the
   core runs (read with ``get_core_device`` unless given), the
   ``aws.greengrass.LegacySubscriptionRouter`` with every subscription, the
   ``aws.greengrass.ShadowManager`` syncing the shadows of devices with ``shadow_sync``, and
   the Lambda components at the versions their create calls returned. Both configurations
   reset their key first, so a subscription or sync removed from the group goes away.

Event sources, following the V2 guide's "Import V1 Lambda functions": a ``cloud`` source is an
``IOT_CORE`` subscription; a device source is a local ``PUB_SUB`` one (the MQTT bridge relays
device messages to local publish/subscribe), and so is ``GGShadowService`` (the shadow manager
publishes shadow topics locally). A function source gets none: Lambda-to-Lambda messages go
through the legacy subscription router, as the guide says.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import PurePosixPath
from typing import Any

from harness.deploy.plan import DeployError, Plan, Poll, Ref, Response, Step
from harness.deploy.routes import routes
from harness.group import Function, Group

__all__ = [
    "DEFAULT_VERSIONS",
    "GREENGRASS_ROOT",
    "LAMBDA_DEPENDENCIES",
    "NUCLEUS",
    "ROUTER",
    "SHADOW_MANAGER",
    "component_name",
    "component_version",
    "plan_v2",
]

NUCLEUS = "aws.greengrass.Nucleus"
ROUTER = "aws.greengrass.LegacySubscriptionRouter"
SHADOW_MANAGER = "aws.greengrass.ShadowManager"

#: The public components the deployment pins. [unverified] The latest versions the V2 guide's
#: changelogs listed when this was written; check them against the console (or
#: ``aws greengrassv2 list-component-versions``) and override with ``versions=``
#: (``--component-version NAME=VERSION``) to match the core's nucleus.
DEFAULT_VERSIONS: Mapping[str, str] = {ROUTER: "2.1.14", SHADOW_MANAGER: "2.3.12"}

#: What every Lambda component needs on the core (V2 guide, "Run AWS Lambda functions").
LAMBDA_DEPENDENCIES: Mapping[str, Mapping[str, str]] = {
    "aws.greengrass.LambdaLauncher": {"versionRequirement": "^2.0.0", "dependencyType": "HARD"},
    "aws.greengrass.LambdaManager": {"versionRequirement": "^2.0.0", "dependencyType": "HARD"},
    "aws.greengrass.LambdaRuntimes": {"versionRequirement": "^2.0.0", "dependencyType": "SOFT"},
}

#: The core's installation folder (the installer's default); unpacked artifacts live under it.
GREENGRASS_ROOT = "/greengrass/v2"
ML_COMPONENT_VERSION = "1.0.0"
_LINUX = [{"name": "Linux", "attributes": {"os": "linux"}}]


def component_name(group: Group, function: Function) -> str:
    """The V2 component a function becomes: ``<group>.<function>``."""
    return f"{group.name}.{function.name}"


def component_version(function: Function) -> str:
    """``<Lambda version>.0.0``, as AWS derives it; V2 imports published versions only."""
    if not function.version.isdigit():
        raise DeployError(
            f"function {function.name!r}: version {function.version!r} is an alias; a V2"
            " component is imported from a published version number"
        )
    return f"{function.version}.0.0"


def _ml_component(group: Group) -> str:
    return f"{group.name}.MLResources"


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


# ---------------------------------------------------------------- ML resources


def _ml_steps(group: Group, root: str) -> tuple[list[Step], dict[str, dict[str, Any]]]:
    """The ML resources component's steps, and each resource's volume (by name)."""
    if not group.ml_resources:
        return [], {}
    name = _ml_component(group)
    unpacked = f"{root.rstrip('/')}/packages/artifacts-unarchived/{name}/{ML_COMPONENT_VERSION}"
    folders: dict[str, str] = {}
    volumes: dict[str, dict[str, Any]] = {}
    for resource in group.ml_resources:
        folder = PurePosixPath(resource.key).stem  # each zip unpacks to a folder of its name
        if folder in folders:
            raise DeployError(
                f"ML resources {folders[folder]!r} and {resource.name!r} both unpack to"
                f" {folder!r}: give their zips different file names"
            )
        folders[folder] = resource.name
        volumes[resource.name] = {
            "sourcePath": f"{unpacked}/{folder}",
            "destinationPath": resource.destination,
            "permission": "ro",
        }
    recipe = {
        "RecipeFormatVersion": "2020-01-25",
        "ComponentName": name,
        "ComponentVersion": ML_COMPONENT_VERSION,
        "ComponentType": "aws.greengrass.generic",
        "ComponentDescription": f"The ML resources of group {group.name}: S3 zips unpacked"
                                " on the core for the Lambdas that mount them.",
        "ComponentPublisher": group.name,
        "Manifests": [
            {
                "Platform": {"os": "linux"},
                "Artifacts": [
                    {"URI": r.s3_uri, "Unarchive": "ZIP", "Permission": {"Read": "ALL"}}
                    for r in group.ml_resources
                ],
            }
        ],
    }
    create = Step(
        id="ml-resources",
        service="greengrassv2",
        operation="create_component_version",
        params={"inlineRecipe": json.dumps(recipe, indent=2)},
        summary=f"{name} {ML_COMPONENT_VERSION}: {len(group.ml_resources)} S3 zips unpacked",
        details=tuple(f"{r.name}: {r.s3_uri} -> {volumes[r.name]['sourcePath']}"
                      for r in group.ml_resources),
    )
    wait = _wait_step("ml-resources-ready", "ml-resources", name, ML_COMPONENT_VERSION,
                      group.region, group.account)
    return [create, wait], volumes


# ---------------------------------------------------------------- Lambda components


def event_sources(group: Group, function: Function) -> list[dict[str, str]]:
    """The V2 event sources of ``function``: its incoming subscriptions, deduplicated."""
    sources: list[dict[str, str]] = []
    for subscription in group.subscriptions:
        if subscription.target != f"function:{function.name}":
            continue
        kind = subscription.source_kind
        if kind == "function":
            continue  # routed by the legacy subscription router
        source = {"topic": subscription.subject,
                  "type": "IOT_CORE" if kind == "cloud" else "PUB_SUB"}
        if source not in sources:
            sources.append(source)
    return sources


def lambda_parameters(group: Group, function: Function,
                      volumes: Mapping[str, Mapping[str, Any]]) -> dict[str, Any]:
    """``componentLambdaParameters`` for ``function`` (lifecycle fields only where they
    apply: status timeout when pinned, instances and idle time when on demand)."""
    if function.secrets:
        raise DeployError(
            f"function {function.name!r} reads secrets: the V2 plan does not deploy"
            " aws.greengrass.SecretManager yet"
        )
    parameters: dict[str, Any] = {
        "pinned": function.pinned,
        "timeoutInSeconds": function.timeout,
        "maxQueueSize": function.max_queue_size,
        "inputPayloadEncodingType": function.encoding,
    }
    if function.pinned:
        parameters["statusTimeoutInSeconds"] = function.status_timeout
    else:
        parameters["maxInstancesCount"] = function.max_instances
        parameters["maxIdleTimeInSeconds"] = function.max_idle_time
    sources = event_sources(group, function)
    if sources:
        parameters["eventSources"] = sources
    if function.environment:
        parameters["environmentVariables"] = dict(function.environment)
    container: dict[str, Any] = {
        "memorySizeInKB": function.memory_kb,
        "mountROSysfs": function.sys_access,
    }
    if function.ml_resources:
        container["volumes"] = [dict(volumes[name]) for name in function.ml_resources]
    parameters["linuxProcessParams"] = {
        "isolationMode": "GreengrassContainer",
        "containerParams": container,
    }
    return parameters


def _describe_function(parameters: Mapping[str, Any]) -> tuple[str, ...]:
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
    return tuple(lines)


def _function_steps(group: Group, function: Function,
                    volumes: Mapping[str, Mapping[str, Any]]) -> list[Step]:
    name, version = component_name(group, function), component_version(function)
    parameters = lambda_parameters(group, function, volumes)
    dependencies = {key: dict(value) for key, value in LAMBDA_DEPENDENCIES.items()}
    if function.ml_resources:
        dependencies[_ml_component(group)] = {
            "versionRequirement": ML_COMPONENT_VERSION, "dependencyType": "HARD"}
    arn = group.function_arn(function.name)
    create = Step(
        id=f"component-{function.name}",
        service="greengrassv2",
        operation="create_component_version",
        params={
            "lambdaFunction": {
                "lambdaArn": arn,
                "componentName": name,
                "componentVersion": version,
                "componentPlatforms": [dict(platform) for platform in _LINUX],
                "componentDependencies": dependencies,
                "componentLambdaParameters": parameters,
            }
        },
        summary=f"{name} {version} from {arn}",
        details=(*_describe_function(parameters),
                 "depends on: " + ", ".join(
                     f"{key} {value['versionRequirement']}" for key, value in dependencies.items()
                 )),
    )
    wait = _wait_step(f"ready-{function.name}", create.id, name, version, group.region,
                      group.account)
    return [create, wait]


# ---------------------------------------------------------------- the deployment


def router_configuration(group: Group) -> dict[str, Any]:
    """The legacy subscription router's ``subscriptions``: id to {id, source, subject, target}."""
    return {
        "subscriptions": {
            route.id: {"id": route.id, "source": route.source, "subject": route.subject,
                       "target": route.target}
            for route in routes(group)
        }
    }


def shadow_manager_configuration(group: Group) -> dict[str, Any]:
    """The shadow manager's ``synchronize``: the core's classic shadow only when the core
    syncs (its default is to sync it), and each device with ``shadow_sync``."""
    return {
        "synchronize": {
            "coreThing": {"classic": group.core.shadow_sync, "namedShadows": []},
            "shadowDocuments": [
                {"thingName": device.thing, "classic": True, "namedShadows": []}
                for device in group.devices
                if device.shadow_sync
            ],
            "direction": "betweenDeviceAndCloud",
        }
    }


def _configured(version: str, key: str, configuration: dict[str, Any]) -> dict[str, Any]:
    return {
        "componentVersion": version,
        "configurationUpdate": {"reset": [f"/{key}"], "merge": json.dumps(configuration)},
    }


def _deployment_step(group: Group, versions: Mapping[str, str],
                     nucleus: str | Ref) -> Step:
    components: dict[str, Any] = {
        NUCLEUS: {"componentVersion": nucleus},
        ROUTER: _configured(versions[ROUTER], "subscriptions", router_configuration(group)),
        SHADOW_MANAGER: _configured(versions[SHADOW_MANAGER], "synchronize",
                                    shadow_manager_configuration(group)),
    }
    for function in group.functions:
        components[component_name(group, function)] = {
            "componentVersion": Ref(f"component-{function.name}", ("componentVersion",),
                                    component_version(function)),
        }
    target = group.thing_arn(group.core.thing)
    details = [f"{name} {spec['componentVersion']}" for name, spec in components.items()]
    details += [f"route {r.id}: {r.source} -> {r.target} on {r.subject}" for r in routes(group)]
    synced = [d.thing for d in group.devices if d.shadow_sync]
    details.append("shadow sync: " + (", ".join(synced) or "none")
                   + f"; core {group.core.thing}: {'yes' if group.core.shadow_sync else 'no'}")
    return Step(
        id="deployment",
        service="greengrassv2",
        operation="create_deployment",
        params={"targetArn": target, "deploymentName": group.name, "components": components},
        summary=f"deploy {len(components)} components to {target}",
        details=tuple(details),
    )


def _notes(group: Group, versions: Mapping[str, str], nucleus_version: str | None
           ) -> tuple[str, ...]:
    published = ", ".join(f"{f.name}:{f.version}" for f in group.functions)
    notes = [
        f"AWS Lambda must hold these published versions first: {published} (a python3 runtime;"
        " --out DIR writes their packages to DIR/packages/).",
        "Pinned: " + ", ".join(f"{k} {v}" for k, v in versions.items())
        + " [unverified against the core's nucleus; override with --component-version"
        " NAME=VERSION].",
    ]
    if nucleus_version is None:
        notes.append(f"{NUCLEUS} stays at the version {group.core.thing} runs (read with"
                     " get_core_device; --nucleus-version to choose).")
    if group.ml_resources:
        buckets = ", ".join(sorted({r.bucket for r in group.ml_resources}))
        notes.append(f"The core's token exchange role must allow s3:GetObject on {buckets}.")
    if group.devices:
        notes.append(
            "Devices (" + ", ".join(d.thing for d in group.devices) + ") reach a V2 core"
            " through the client-device components (aws.greengrass.clientdevices.Auth,"
            " .mqtt.Moquette, .mqtt.Bridge, .IPDetector), which this plan does not deploy.")
    return tuple(notes)


def plan_v2(group: Group, *, versions: Mapping[str, str] | None = None,
            nucleus_version: str | None = None,
            greengrass_root: str = GREENGRASS_ROOT) -> Plan:
    """The Greengrass V2 plan for ``group`` (see the module notes).

    ``versions`` overrides :data:`DEFAULT_VERSIONS` (and may pin ``aws.greengrass.Nucleus``,
    as ``nucleus_version`` does); without a nucleus version the plan reads the one the core
    runs. ``greengrass_root`` is where the core is installed (for the ML resource mounts).
    """
    unknown = sorted(set(versions or {}) - {NUCLEUS, *DEFAULT_VERSIONS})
    if unknown:
        known = ", ".join([NUCLEUS, *DEFAULT_VERSIONS])
        raise DeployError(f"no public component {', '.join(unknown)} in the plan ({known})")
    chosen = {**DEFAULT_VERSIONS, **(versions or {})}
    nucleus_version = nucleus_version or chosen.pop(NUCLEUS, None)
    steps, volumes = _ml_steps(group, greengrass_root)
    for function in group.functions:
        steps += _function_steps(group, function, volumes)
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
        nucleus = Ref("core-device", ("coreVersion",), "2.15.1")
    else:
        nucleus = nucleus_version
    steps.append(_deployment_step(group, chosen, nucleus))
    return Plan(target="v2", group=group.name, region=group.region, steps=tuple(steps),
                notes=_notes(group, chosen, nucleus_version))
