"""One Greengrass V2 deployment compiled from the group file: what the core runs.

Follows ``shared/specs/greengrass-v2-topology.md`` §2.3-§2.5 (Lambda components, the legacy
subscription router, the V1 subscription -> V2 mechanism table), §3.1-§3.2 (client device
shadows, ShadowManager), §4.1 (the ``create_deployment`` request) and §5 (the weather station
on V2), and ``shared/specs/greengrass-v2-ipc.md`` §4.1 and §8 (``accessControl``, the HARD
dependency on ShadowManager).

:func:`compile_group` turns a :class:`~harness.group.Group` into a :class:`V2Deployment`:
``components`` is exactly the ``components`` argument of ``greengrassv2.create_deployment``,
``lambda_components`` the ``create_component_version(lambdaFunction=...)`` of each Lambda,
``recipes`` the inline recipes of the other components the group defines (the ML resources),
and :meth:`V2Deployment.configuration` what a component's configuration is on a fresh core.
:meth:`V2Deployment.from_requests` rebuilds the same model from the request documents, so
the deployment plan (:mod:`harness.deploy.v2`, which is built from this model) and a simulated
core built from the model can be shown to be one thing.

The components, in the order the deployment lists them (§5.2, §5.4):

* ``aws.greengrass.Nucleus``: the version the core runs (the plan reads it; here
  :data:`NUCLEUS_EXAMPLE_VERSION` unless ``versions`` names one).
* With client devices (any device in the group, or a ``client_devices.auth``/``bridge``
  override): ``aws.greengrass.clientdevices.Auth`` (reset ``/deviceGroups``; one device group
  per device thing, selected by ``thingName: <thing>``, whose policy allows ``mqtt:connect``
  on ``mqtt:clientId:<thing>``, ``mqtt:publish`` on each topic the subscriptions have it
  publish, ``mqtt:subscribe`` on each filter they have it receive on, written exactly;
  ``security.clientDeviceTrustDurationMinutes`` from ``client_devices``),
  ``...mqtt.Moquette`` (no configuration: port 8883), ``...mqtt.Bridge`` when there is
  anything to relay (reset ``/mqttTopicMapping``) and ``...IPDetector`` (no configuration: it
  reports the core's addresses on port 8883 for discovery, §1.5).
* ``aws.greengrass.ShadowManager``: ``synchronize`` as before (reset ``/synchronize``).
* ``aws.greengrass.LegacySubscriptionRouter`` only when some function publishes to the cloud or
  to another function: sources ``component:<component>`` (a versioned Lambda ARN on router
  2.0.x), targets ``cloud`` or a component (reset ``/subscriptions``).
* ``<group>.MLResources`` when the group has ML resources, and each Lambda component with
  ``reset: ["/accessControl"]`` and, when the function has ``access_control``, a merge of
  ``{"accessControl": <it, verbatim>}``. The reset is a choice beyond §5.4: a policy removed
  from the group file is then removed from the core (a merge alone would leave it).

Each group subscription, row by row of §2.4 (X, Y devices; F, G functions; T the subject):

* ``device:X -> function:F``: X may publish T (CDA); bridge ``T: LocalMqtt -> Pubsub``; F has
  the event source ``{T, PUB_SUB}``. No router entry.
* ``function:F -> cloud``: router ``component:F -> cloud`` (``greengrasssdk.publish``).
* ``cloud -> function:F``: F has the event source ``{T, IOT_CORE}``.
* ``function:F -> function:G``: router ``component:F -> component:G``; G gets no event source.
* ``function:F -> device:X``: only when F's ``access_control`` lets it IPC-publish T
  (``aws.greengrass.ipc.pubsub``, ``aws.greengrass#PublishToTopic``, a resource matching T as
  the nucleus matches it): bridge ``T: Pubsub -> LocalMqtt`` and X may subscribe T. Otherwise
  refused: ``greengrasssdk.publish`` has no route to a device on V2 (§2.3, §2.5.3).
* ``device:X -> device:Y``: CDA only (X publishes T, Y subscribes T); the broker delivers.
* ``device:X -> GGShadowService``: the echo-free classic-shadow form (§3.1, §5.3): each shadow
  request topic T covers, ``$aws/things/<thing>/shadow[/name/<name>]/{get,update,delete}``,
  is bridged ``LocalMqtt -> Pubsub`` and X may publish it. A ``#`` past ``shadow/`` covers
  the classic shadow's requests only (V1's GGShadowService had no named shadows); a named
  shadow's requests are compiled when T names it (``.../shadow/name/<name>/...``). So the
  weather station's ``$aws/things/weather-station/shadow/#`` allows ``delete`` as well as the
  ``get`` and ``update`` §5.3 lists "as used": the group's V1 subscription allows it, and the
  ``shadow_deleted`` scenario's console deletes. A subject covering no request topic is
  refused.
* ``GGShadowService -> device:Y``: bridge ``T: Pubsub -> LocalMqtt`` (ShadowManager's
  responses) and Y may subscribe T, the filter as written (CDA compares filters literally: a
  device subscribing with a narrower filter is refused with SUBACK 0x80, so list each filter
  it uses as its own subscription).
* ``GGShadowService -> function:F``: F has the event source ``{T, PUB_SUB}``.
* ``cloud -> device:Y`` and ``device:X -> cloud``: bridge ``T: IotCore -> LocalMqtt`` (Y may
  subscribe T) and ``T: LocalMqtt -> IotCore`` (X may publish T), the bridge's own way to and
  from AWS IoT Core (§1.4); the table has no row for them.
* Refused, each naming its V2 replacement: ``function:F -> GGShadowService`` (IPC shadow
  operations to ShadowManager under ``access_control``, as ``lambdas/shadow_client.py`` does),
  ``cloud -> GGShadowService`` and ``GGShadowService -> cloud`` (ShadowManager's cloud sync:
  ``shadow_sync: true`` on the device).

Also refused, when the CDA version is older than 2.5.0 (the default is newer: there a
wildcard publish topic compiles to ``*`` globs, :func:`_topic_globs`): a device publish topic
with MQTT wildcards (a CDA ``mqtt:topic:`` resource takes
none; list the exact topics or give ``client_devices.auth``), a shadow subject whose thing is a
wildcard (the same), compiled bridge mappings that would relay a message round forever
(§1.4: an exact topic both ways; an exact ``Pubsub`` source topic that a mapping into
``Pubsub`` also matches; overlapping filters both ways between ``LocalMqtt`` and ``IotCore``),
and a given nucleus older than 2.6.0 when client device shadows or wildcard pub/sub need it.
With ``client_devices.auth`` or ``.bridge`` the compiled device groups or mappings are
replaced by the verbatim object, and their checks are skipped.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import Any

from fakes.client_devices import (
    BridgeConfigError,
    ClientDeviceAuth,
    ClientDeviceAuthConfigError,
    MqttBridge,
)
from harness.deploy.plan import DeployError
from harness.group import Function, Group, Subscription, listing, topic_matches

__all__ = [
    "BRIDGE",
    "CLIENT_DEVICE_AUTH",
    "DEFAULT_VERSIONS",
    "GREENGRASS_ROOT",
    "IP_DETECTOR",
    "LAMBDA_DEPENDENCIES",
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
    "ml_component_name",
]

NUCLEUS = "aws.greengrass.Nucleus"
CLIENT_DEVICE_AUTH = "aws.greengrass.clientdevices.Auth"
MOQUETTE = "aws.greengrass.clientdevices.mqtt.Moquette"
BRIDGE = "aws.greengrass.clientdevices.mqtt.Bridge"
IP_DETECTOR = "aws.greengrass.clientdevices.IPDetector"
SHADOW_MANAGER = "aws.greengrass.ShadowManager"
ROUTER = "aws.greengrass.LegacySubscriptionRouter"

#: The public components a deployment pins. [unverified] The versions §5.2 gives as examples
#: (the newest tags read for the spec); check them against
#: ``aws greengrassv2 list-component-versions`` and override with ``versions=`` to fit the
#: core's nucleus.
DEFAULT_VERSIONS: Mapping[str, str] = {
    CLIENT_DEVICE_AUTH: "2.5.2",
    MOQUETTE: "2.3.7",
    BRIDGE: "2.3.2",
    IP_DETECTOR: "2.2.3",
    SHADOW_MANAGER: "2.3.12",
    ROUTER: "2.1.14",
}

#: The nucleus version a compiled deployment names when none is given: an example (the
#: plan reads the version the core runs instead). Client device shadows need ≥ 2.6.0.
NUCLEUS_EXAMPLE_VERSION = "2.15.1"

#: What every Lambda component needs on the core (V2 guide, "Run AWS Lambda functions").
LAMBDA_DEPENDENCIES: Mapping[str, Mapping[str, str]] = {
    "aws.greengrass.LambdaLauncher": {"versionRequirement": "^2.0.0", "dependencyType": "HARD"},
    "aws.greengrass.LambdaManager": {"versionRequirement": "^2.0.0", "dependencyType": "HARD"},
    "aws.greengrass.LambdaRuntimes": {"versionRequirement": "^2.0.0", "dependencyType": "SOFT"},
}
#: A function whose ``access_control`` grants ShadowManager operations depends on it, HARD
#: (``greengrass-v2-ipc.md`` §8): it starts after ShadowManager and restarts with it.
SHADOW_MANAGER_DEPENDENCY: Mapping[str, str] = {"versionRequirement": "^2.0.0",
                                                "dependencyType": "HARD"}

#: The core's installation folder (the installer's default); unpacked artifacts live under it.
GREENGRASS_ROOT = "/greengrass/v2"
ML_COMPONENT_VERSION = "1.0.0"
PLATFORMS: tuple[Mapping[str, Any], ...] = ({"name": "Linux", "attributes": {"os": "linux"}},)

PUBSUB_SERVICE = "aws.greengrass.ipc.pubsub"
PUBLISH_TO_TOPIC = "aws.greengrass#PublishToTopic"
CDA_FORMAT_VERSION = "2021-03-05"
SHADOW_OPERATIONS = ("get", "update", "delete")
_KEY_UNSAFE = re.compile(r"[^A-Za-z0-9_-]+")


# ---------------------------------------------------------------- names


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


def ml_component_name(group: Group) -> str:
    """The component that carries the group's ML resources: ``<group>.MLResources``."""
    return f"{group.name}.MLResources"


# ---------------------------------------------------------------- configuration updates


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


def _unescape_pointer(part: str) -> str:
    return part.replace("~1", "/").replace("~0", "~")


def apply_configuration_update(current: Mapping[str, Any], update: Mapping[str, Any] | None,
                               defaults: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """``current`` after a deployment's ``configurationUpdate`` (§4.1): each ``reset`` JSON
    pointer first (``""`` is the whole configuration), restoring ``defaults`` (the recipe's)
    or removing the key; then the parsed ``merge``, merged into mappings key by key, every
    other value (lists too) replacing what was there."""
    result: dict[str, Any] = json.loads(json.dumps(current))
    defaults = defaults or {}
    for pointer in (update or {}).get("reset", []) or []:
        if pointer == "":
            result = json.loads(json.dumps(defaults))
            continue
        parts = [_unescape_pointer(p) for p in pointer.lstrip("/").split("/")]
        holder: Any = result
        default: Any = defaults
        for part in parts[:-1]:
            holder = holder.get(part) if isinstance(holder, dict) else None
            default = default.get(part) if isinstance(default, dict) else None
        if not isinstance(holder, dict):
            continue
        if isinstance(default, dict) and parts[-1] in default:
            holder[parts[-1]] = json.loads(json.dumps(default[parts[-1]]))
        else:
            holder.pop(parts[-1], None)
    merge = (update or {}).get("merge")
    if merge:
        patch = json.loads(merge) if isinstance(merge, str | bytes) else merge
        if not isinstance(patch, dict):
            raise DeployError(f"a configuration merge must be a JSON object, not {patch!r}")
        _merge_into(result, patch)
    return result


def _merge_into(target: dict[str, Any], patch: Mapping[str, Any]) -> None:
    for key, value in patch.items():
        if isinstance(value, Mapping) and isinstance(target.get(key), dict):
            _merge_into(target[key], value)
        else:
            target[key] = json.loads(json.dumps(value))


# ---------------------------------------------------------------- the model


@dataclass(frozen=True)
class LambdaComponent:
    """A Lambda imported as a component: its ``create_component_version(lambdaFunction=...)``.

    Immutable: the request is held as canonical JSON; each property returns a fresh copy.
    """

    name: str
    version: str
    lambda_arn: str
    _request: str = field(repr=False)

    @classmethod
    def from_request(cls, lambda_function: Mapping[str, Any]) -> LambdaComponent:
        """From the ``lambdaFunction`` member of a ``create_component_version`` request."""
        try:
            name = lambda_function["componentName"]
            version = lambda_function["componentVersion"]
            arn = lambda_function["lambdaArn"]
        except (KeyError, TypeError) as missing:
            raise DeployError(f"a lambdaFunction request without {missing}") from None
        return cls(name=name, version=version, lambda_arn=arn,
                   _request=_canonical(dict(lambda_function)))

    @property
    def lambda_function(self) -> dict[str, Any]:
        """The ``lambdaFunction`` member of the create request."""
        request: dict[str, Any] = json.loads(self._request)
        return request

    @property
    def function(self) -> str:
        """The Lambda function's name (from its ARN)."""
        return self.lambda_arn.split(":function:", 1)[-1].split(":", 1)[0]

    @property
    def parameters(self) -> dict[str, Any]:
        """``componentLambdaParameters``: event sources, pinned, queue, timeout, ..."""
        parameters: dict[str, Any] = self.lambda_function.get("componentLambdaParameters", {})
        return parameters

    @property
    def dependencies(self) -> dict[str, dict[str, str]]:
        """``componentDependencies``: name to ``{versionRequirement, dependencyType}``."""
        dependencies: dict[str, dict[str, str]] = self.lambda_function.get(
            "componentDependencies", {})
        return dependencies

    @property
    def event_sources(self) -> list[dict[str, str]]:
        sources: list[dict[str, str]] = self.parameters.get("eventSources", [])
        return sources

    @property
    def pinned(self) -> bool:
        return bool(self.parameters.get("pinned", True))  # the API's default is pinned


@dataclass(frozen=True, eq=False)
class V2Deployment:
    """What a V2 core runs after the deployment: immutable, compared by content.

    Build it with :func:`compile_group` or :meth:`from_requests`. ``components`` and the other
    properties return fresh copies, plain JSON-ready data. Two deployments are equal when
    their target, name, associated devices, components (merge texts compared as written),
    Lambda components and recipes are; the order of the components does not matter.
    """

    target_arn: str
    deployment_name: str
    #: the device things associated with the core (``batch_associate_client_device_...``)
    client_devices: tuple[str, ...]
    _components: str = field(repr=False)
    _lambda_components: tuple[LambdaComponent, ...] = field(repr=False)
    _recipes: str = field(repr=False)

    def _identity(self) -> tuple[Any, ...]:
        return (self.target_arn, self.deployment_name, self.client_devices,
                _canonical(json.loads(self._components)),
                tuple(sorted(self._lambda_components, key=lambda c: c.name)), self._recipes)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, V2Deployment):
            return NotImplemented
        return self._identity() == other._identity()

    def __hash__(self) -> int:
        return hash(self._identity())

    # -- constructors ----------------------------------------------------------------------

    @classmethod
    def build(cls, *, target_arn: str, deployment_name: str,
              components: Mapping[str, Mapping[str, Any]],
              lambda_components: Iterable[LambdaComponent] = (),
              recipes: Mapping[str, Mapping[str, Any]] | None = None,
              client_devices: Iterable[str] = ()) -> V2Deployment:
        lambdas = tuple(lambda_components)
        names = [c.name for c in lambdas]
        if len(set(names)) != len(names):
            raise DeployError(f"a Lambda component is created twice: {', '.join(names)}")
        try:
            text = json.dumps(components)
        except TypeError as error:  # e.g. a plan's Ref not yet filled in
            raise DeployError(f"the components are not plain JSON data ({error}); fill in"
                              " references first (a plan step's example_params())") from None
        return cls(target_arn=target_arn, deployment_name=deployment_name,
                   client_devices=tuple(client_devices),
                   _components=text, _lambda_components=lambdas,
                   _recipes=_canonical(dict(recipes or {})))

    @classmethod
    def from_requests(cls, create_deployment: Mapping[str, Any],
                      create_component_versions: Mapping[str, Mapping[str, Any]],
                      associate_client_devices: Mapping[str, Any]
                      | Sequence[Mapping[str, Any]] | None = None) -> V2Deployment:
        """The deployment that these request documents make: ``create_deployment``'s
        parameters, each ``create_component_version``'s by component name (``lambdaFunction``
        or a JSON ``inlineRecipe``), and the ``batch_associate_client_device_with_core_device``
        request(s), if any. References must already be filled in (a plan's
        ``example_params()`` or its resolved requests)."""
        try:
            target = create_deployment["targetArn"]
            components = create_deployment["components"]
        except KeyError as missing:
            raise DeployError(f"create_deployment request without {missing}") from None
        lambdas: list[LambdaComponent] = []
        recipes: dict[str, Any] = {}
        for name, request in create_component_versions.items():
            if "lambdaFunction" in request:
                component = LambdaComponent.from_request(request["lambdaFunction"])
                created = component.name
                lambdas.append(component)
            elif "inlineRecipe" in request:
                text = request["inlineRecipe"]
                recipe = json.loads(text.decode() if isinstance(text, bytes) else text)
                created = recipe.get("ComponentName")
                recipes[created] = recipe
            else:
                raise DeployError(f"create_component_version for {name!r} has neither"
                                  " lambdaFunction nor inlineRecipe")
            if created != name:
                raise DeployError(f"create_component_version under {name!r} creates"
                                  f" {created!r}")
        requests: Sequence[Mapping[str, Any]]
        if associate_client_devices is None:
            requests = ()
        elif isinstance(associate_client_devices, Mapping):
            requests = (associate_client_devices,)
        else:
            requests = associate_client_devices
        things: list[str] = []
        for request in requests:
            if request.get("coreDeviceThingName") != _thing_of(target):
                raise DeployError(f"client devices associated with"
                                  f" {request.get('coreDeviceThingName')!r}, not with the"
                                  f" deployment's target {_thing_of(target)!r}")
            things += [entry["thingName"] for entry in request.get("entries", [])]
        return cls.build(target_arn=target,
                         deployment_name=create_deployment.get("deploymentName", ""),
                         components=components, lambda_components=lambdas, recipes=recipes,
                         client_devices=things)

    # -- what the core runs ----------------------------------------------------------------

    @property
    def core_thing(self) -> str:
        """The core device's thing name (from the target ARN)."""
        return _thing_of(self.target_arn)

    @property
    def components(self) -> dict[str, dict[str, Any]]:
        """Exactly the ``components`` argument of ``greengrassv2.create_deployment``."""
        components: dict[str, dict[str, Any]] = json.loads(self._components)
        return components

    @property
    def lambda_components(self) -> dict[str, LambdaComponent]:
        """Each Lambda component by name, as created with ``create_component_version``."""
        return {component.name: component for component in self._lambda_components}

    @property
    def recipes(self) -> dict[str, dict[str, Any]]:
        """The inline recipes of the other components the group creates (the ML resources)."""
        recipes: dict[str, dict[str, Any]] = json.loads(self._recipes)
        return recipes

    def version(self, component: str) -> str:
        """The version ``component`` is deployed at."""
        return str(self._component(component)["componentVersion"])

    def configuration_update(self, component: str) -> dict[str, Any] | None:
        """``component``'s ``configurationUpdate`` (``merge`` still a JSON string), or None."""
        update: dict[str, Any] | None = self._component(component).get("configurationUpdate")
        return update

    def configuration(self, component: str) -> dict[str, Any]:
        """The configuration ``component`` ends up with on a fresh core: its reset, then its
        parsed merge, applied to ``{}`` (recipe defaults are not modelled here)."""
        return apply_configuration_update({}, self.configuration_update(component))

    def access_control(self, component: str) -> dict[str, Any]:
        """``component``'s deployed ``accessControl`` (``{}`` when it has none)."""
        access: dict[str, Any] = self.configuration(component).get("accessControl", {})
        return access

    def create_deployment_request(self) -> dict[str, Any]:
        """The ``create_deployment`` parameters (component versions as compiled)."""
        return {"targetArn": self.target_arn, "deploymentName": self.deployment_name,
                "components": self.components}

    def _component(self, component: str) -> dict[str, Any]:
        components = self.components
        if component not in components:
            raise KeyError(f"{component!r} is not deployed (components:"
                           f" {listing(list(components), 20)})")
        return components[component]


def _thing_of(arn: str) -> str:
    return arn.rsplit(":thing/", 1)[-1]


# ---------------------------------------------------------------- compiling


@dataclass
class _Device:
    """What one device thing may do on the broker."""

    publish: list[str] = field(default_factory=list)
    subscribe: list[str] = field(default_factory=list)

    def add(self, kind: str, topic: str) -> None:
        topics = self.publish if kind == "publish" else self.subscribe
        if topic not in topics:
            topics.append(topic)


@dataclass
class _Compiled:
    """The parts the subscriptions compile to, and what they cannot be compiled to."""

    devices: dict[str, _Device]
    mappings: list[tuple[str, str, str]] = field(default_factory=list)  # topic, source, target
    routes: list[tuple[str, str, str]] = field(default_factory=list)  # source fn, subject, tgt
    problems: list[str] = field(default_factory=list)
    wildcard_publish: list[tuple[int, str, str]] = field(default_factory=list)  # index, thing
    client_shadows: bool = False

    def map(self, topic: str, source: str, target: str) -> None:
        if (topic, source, target) not in self.mappings:
            self.mappings.append((topic, source, target))


def _describe(index: int, subscription: Subscription) -> str:
    return (f"subscriptions.{index} ({subscription.source} -> {subscription.target} on"
            f" {subscription.subject!r})")


def _wildcard(topic: str) -> bool:
    return any(level in ("+", "#") for level in topic.split("/"))


def shadow_requests(subject: str) -> list[str]:
    """The shadow request topics (or filters, where the thing is a wildcard) ``subject``
    covers: ``$aws/things/<thing>/shadow/{get,update,delete}``, and a named shadow's when
    ``subject`` names it."""
    levels = subject.split("/")
    if levels[:2] != ["$aws", "things"] or len(levels) < 3:
        return []
    thing = "+" if levels[2] in ("+", "#") else levels[2]
    prefixes = [f"$aws/things/{thing}/shadow"]
    if len(levels) > 5 and levels[3:5] == ["shadow", "name"] and levels[5] not in ("+", "#"):
        prefixes = [f"$aws/things/{thing}/shadow/name/{levels[5]}"]
    requests = []
    for prefix in prefixes:
        for operation in SHADOW_OPERATIONS:
            request = f"{prefix}/{operation}"
            if topic_matches(subject, request.replace("/+/", "/x/")):
                requests.append(request)
    return requests


def _publishes_over_ipc(group: Group, function: Function, topic: str) -> bool:
    """Whether ``function``'s ``access_control`` lets it IPC-publish ``topic`` on local
    pub/sub, matched as the nucleus matches resources (a filter subject taken literally)."""
    if not function.access_control:
        return False
    from fakes.nucleus_ipc.services.authz import AccessControl

    principal = component_name(group, function)
    access = AccessControl.from_components({principal: function.access_control})
    return access.allows(PUBSUB_SERVICE, principal, PUBLISH_TO_TOPIC, topic)


def _compile_subscriptions(group: Group) -> _Compiled:
    compiled = _Compiled(devices={device.thing: _Device() for device in group.devices})
    for index, subscription in enumerate(group.subscriptions):
        source, target = subscription.source_kind, subscription.target_kind
        x, y, topic = subscription.source_name, subscription.target_name, subscription.subject
        where = _describe(index, subscription)
        if source == "device":
            assert x is not None
            if target == "GGShadowService":
                requests = shadow_requests(topic)
                if not requests:
                    compiled.problems.append(
                        f"{where}: covers no shadow request topic (.../shadow/get, /update,"
                        " /delete). V2: a device reaches its shadow by publishing requests,"
                        " which the bridge relays to ShadowManager; subscribe to the"
                        " response topics with GGShadowService -> device instead.")
                    continue
                compiled.client_shadows = True
                for request in requests:
                    compiled.devices[x].add("publish", request)
                    compiled.map(request, "LocalMqtt", "Pubsub")
                    if _wildcard(request):
                        compiled.wildcard_publish.append((index, x, request))
                continue
            compiled.devices[x].add("publish", topic)
            if _wildcard(topic):
                compiled.wildcard_publish.append((index, x, topic))
            if target == "function":
                compiled.map(topic, "LocalMqtt", "Pubsub")
            elif target == "cloud":
                compiled.map(topic, "LocalMqtt", "IotCore")
            else:
                assert y is not None
                compiled.devices[y].add("subscribe", topic)
        elif target == "device":
            assert y is not None
            if source == "GGShadowService":
                compiled.client_shadows = True
                compiled.devices[y].add("subscribe", topic)
                compiled.map(topic, "Pubsub", "LocalMqtt")
            elif source == "cloud":
                compiled.devices[y].add("subscribe", topic)
                compiled.map(topic, "IotCore", "LocalMqtt")
            else:  # a function
                assert x is not None
                function = group.function(x)
                if not _publishes_over_ipc(group, function, topic):
                    compiled.problems.append(
                        f"{where}: greengrasssdk.publish cannot reach a device on V2. V2"
                        f" replacement: {x} publishes with IPC PublishToTopic, allowed by its"
                        f" access_control ({PUBSUB_SERVICE}: operations"
                        f" [{PUBLISH_TO_TOPIC}], resources [{topic!r}]); the deployment then"
                        f" maps {topic!r} Pubsub -> LocalMqtt and lets {y} subscribe to it.")
                    continue
                compiled.devices[y].add("subscribe", topic)
                compiled.map(topic, "Pubsub", "LocalMqtt")
        elif source == "function" and target in ("cloud", "function"):
            assert x is not None
            compiled.routes.append((x, topic, "cloud" if target == "cloud" else str(y)))
        elif target == "GGShadowService":
            if source == "function":
                compiled.problems.append(
                    f"{where}: GGShadowService is no router target on V2. V2 replacement:"
                    f" {x} calls ShadowManager over IPC (GetThingShadow, UpdateThingShadow,"
                    " DeleteThingShadow, as lambdas/shadow_client.py does), allowed by its"
                    " access_control (aws.greengrass.ShadowManager); remove the subscription.")
            else:  # cloud
                compiled.problems.append(
                    f"{where}: V2 has no GGShadowService to route cloud messages to. V2"
                    " replacement: ShadowManager's cloud sync (shadow_sync: true on the device,"
                    " synchronize.shadowDocuments); remove the subscription.")
        elif source == "GGShadowService" and target == "cloud":
            compiled.problems.append(
                f"{where}: V2 has no GGShadowService to route shadow messages to the cloud."
                " V2 replacement: ShadowManager's cloud sync (shadow_sync: true on the device,"
                " synchronize.shadowDocuments); remove the subscription.")
        # cloud -> function and GGShadowService -> function: event sources (below)
    return compiled


def event_sources(group: Group, function: Function) -> list[dict[str, str]]:
    """The V2 event sources of ``function``: ``IOT_CORE`` for cloud sources, ``PUB_SUB`` for
    device and GGShadowService sources (the bridge and ShadowManager publish locally), none
    for function sources (the router delivers those); deduplicated, in file order."""
    sources: list[dict[str, str]] = []
    for subscription in group.subscriptions:
        if subscription.target != f"function:{function.name}":
            continue
        kind = subscription.source_kind
        if kind == "function":
            continue
        source = {"topic": subscription.subject,
                  "type": "IOT_CORE" if kind == "cloud" else "PUB_SUB"}
        if source not in sources:
            sources.append(source)
    return sources


def bridge_loops(mappings: Sequence[tuple[str, str, str]]) -> list[str]:
    """Why these bridge mappings (topic, source, target) would relay a message round forever
    (§1.4), decided by the bridge model (:class:`fakes.client_devices.MqttBridge`, an exact
    analysis of the receive-mode rules); empty when they terminate."""
    try:
        MqttBridge.from_configuration({"mqttTopicMapping": _topic_mapping(mappings)})
    except BridgeConfigError as error:
        return [str(error)]
    return []


def _pasted_problems(settings: Any, cda_version: str) -> list[str]:
    """What the models of the real components refuse in a pasted ``client_devices.auth`` or
    ``.bridge`` (the deployment would fail on the core, or the bridge would loop)."""
    problems: list[str] = []
    if settings.auth is not None:
        try:
            ClientDeviceAuth.from_configuration(settings.auth, version=cda_version)
        except ClientDeviceAuthConfigError as error:
            problems.append(f"client_devices.auth: {error}")
    if settings.bridge is not None:
        try:
            MqttBridge.from_configuration(settings.bridge)
        except BridgeConfigError as error:
            problems.append(f"client_devices.bridge: {error}")
    return problems


def _version_tuple(version: str) -> tuple[int, ...] | None:
    match = re.match(r"(\d+)\.(\d+)\.(\d+)", version)
    return tuple(int(part) for part in match.groups()) if match else None


def _key(base: str, used: set[str]) -> str:
    """``base`` made a configuration key unique among ``used`` (compared without case, as
    the nucleus's configuration store does, §4.1)."""
    key, number = base, 2
    while key.casefold() in used:
        key, number = f"{base}-{number}", number + 1
    used.add(key.casefold())
    return key


def _slug(topic: str) -> str:
    text = topic.replace("$", "").replace("#", "all").replace("+", "any")
    return _KEY_UNSAFE.sub("_", text).strip("_") or "topic"


def _device_groups(group: Group, compiled: _Compiled) -> dict[str, Any]:
    definitions: dict[str, Any] = {}
    policies: dict[str, Any] = {}
    used_groups: set[str] = set()
    used_policies: set[str] = set()
    for device in group.devices:
        thing = device.thing
        name = _key(thing, used_groups)
        policy_name = _key(f"{thing}-policy", used_policies)
        rule_name = thing.replace(":", "\\:")  # CDA's rule grammar escapes ':'
        definitions[name] = {"selectionRule": f"thingName: {rule_name}",
                             "policyName": policy_name}
        policy: dict[str, Any] = {
            "Connect": {"operations": ["mqtt:connect"], "resources": [f"mqtt:clientId:{thing}"]},
        }
        allowed = compiled.devices[thing]
        if allowed.publish:
            resources = [f"mqtt:topic:{r}" for t in allowed.publish for r in _topic_globs(t)]
            policy["Publish"] = {"operations": ["mqtt:publish"],
                                 "resources": list(dict.fromkeys(resources))}
        if allowed.subscribe:
            policy["Subscribe"] = {"operations": ["mqtt:subscribe"],
                                   "resources": [f"mqtt:topicfilter:{t}"
                                                 for t in allowed.subscribe]}
        policies[policy_name] = policy
    return {"formatVersion": CDA_FORMAT_VERSION, "definitions": definitions,
            "policies": policies}


def _topic_globs(topic: str) -> list[str]:
    """A publish topic as CDA resources: exact, or for an MQTT filter the CDA ≥ 2.5 globs
    that cover it (``+`` and ``#`` levels become ``*``; ``a/#`` also allows ``a`` itself, as
    the filter does). A glob may allow more than the filter (``*`` spans levels); what
    reaches a Lambda is still decided by the bridge mapping and event source."""
    if not _wildcard(topic):
        return [topic]
    levels = topic.split("/")

    def glob(part: list[str]) -> str:
        return "/".join("*" if level in ("+", "#") else level for level in part)

    if levels[-1] == "#" and len(levels) > 1:
        return [glob(levels[:-1]), glob(levels)]
    return [glob(levels)]


def _topic_mapping(mappings: Sequence[tuple[str, str, str]]) -> dict[str, Any]:
    used: set[str] = set()
    return {
        _key(f"{_slug(topic)}-{source}To{target}", used):
            {"topic": topic, "source": source, "target": target}
        for topic, source, target in mappings
    }


def _configured(version: str, reset: Sequence[str], configuration: Mapping[str, Any] | None
                ) -> dict[str, Any]:
    update: dict[str, Any] = {"reset": list(reset)}
    if configuration is not None:
        update["merge"] = json.dumps(configuration)
    return {"componentVersion": version, "configurationUpdate": update}


def _ml_recipe(group: Group, root: str) -> tuple[dict[str, Any] | None, dict[str, Any]]:
    """The ML resources component's recipe, and each resource's volume (by name)."""
    if not group.ml_resources:
        return None, {}
    name = ml_component_name(group)
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
    return recipe, volumes


def lambda_parameters(group: Group, function: Function,
                      volumes: Mapping[str, Mapping[str, Any]]) -> dict[str, Any]:
    """``componentLambdaParameters`` for ``function`` (lifecycle fields only where they
    apply: status timeout when pinned, instances and idle time when on demand)."""
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


def uses_shadow_manager(function: Function) -> bool:
    """Whether ``function``'s ``access_control`` grants it ShadowManager operations."""
    policies = (function.access_control or {}).get(SHADOW_MANAGER) or {}
    return any(isinstance(policy, dict) and policy.get("operations")
               for policy in policies.values())


def _lambda_component(group: Group, function: Function,
                      volumes: Mapping[str, Mapping[str, Any]]) -> LambdaComponent:
    dependencies = {key: dict(value) for key, value in LAMBDA_DEPENDENCIES.items()}
    if function.ml_resources:
        dependencies[ml_component_name(group)] = {
            "versionRequirement": ML_COMPONENT_VERSION, "dependencyType": "HARD"}
    if uses_shadow_manager(function):
        dependencies[SHADOW_MANAGER] = dict(SHADOW_MANAGER_DEPENDENCY)
    return LambdaComponent.from_request({
        "lambdaArn": group.function_arn(function.name),
        "componentName": component_name(group, function),
        "componentVersion": component_version(function),
        "componentPlatforms": [json.loads(json.dumps(p)) for p in PLATFORMS],
        "componentDependencies": dependencies,
        "componentLambdaParameters": lambda_parameters(group, function, volumes),
    })


def _router_endpoint(group: Group, function: str, router_version: str) -> str:
    version = _version_tuple(router_version)
    if version is not None and version < (2, 1, 0):  # 2.0.x: versioned Lambda ARNs only
        return group.function_arn(function)
    return f"component:{component_name(group, group.function(function))}"


def _router_configuration(group: Group, routes: Sequence[tuple[str, str, str]],
                          router_version: str) -> dict[str, Any]:
    subscriptions: dict[str, Any] = {}
    used: set[str] = set()
    for source, subject, target in routes:
        route_id = _key(f"{source}-to-{target}", used)
        subscriptions[route_id] = {
            "id": route_id,
            "source": _router_endpoint(group, source, router_version),
            "subject": subject,
            "target": target if target == "cloud"
            else _router_endpoint(group, target, router_version),
        }
    return {"subscriptions": subscriptions}


def shadow_manager_configuration(group: Group) -> dict[str, Any]:
    """ShadowManager's ``synchronize`` (§3.2): the core's classic shadow only when the core
    syncs, and each device with ``shadow_sync``."""
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


def _chosen_versions(versions: Mapping[str, str] | None) -> dict[str, str]:
    unknown = sorted(set(versions or {}) - {NUCLEUS, *DEFAULT_VERSIONS})
    if unknown:
        known = ", ".join([NUCLEUS, *DEFAULT_VERSIONS])
        raise DeployError(f"no public component {', '.join(unknown)} in the plan ({known})")
    return {NUCLEUS: NUCLEUS_EXAMPLE_VERSION, **DEFAULT_VERSIONS, **(versions or {})}


def nucleus_needs(group: Group) -> list[str]:
    """What in ``group`` needs nucleus ≥ 2.6.0 (§1.4, §2.1, §3.1); empty if nothing does."""
    needs: list[str] = []
    compiled = _compile_subscriptions(group)
    if compiled.client_shadows and group.client_devices.bridge is None:
        needs.append("client device shadows (bridged shadow topics)")
    if group.client_devices.bridge is None and any(
            source == "Pubsub" and _wildcard(topic) for topic, source, _ in compiled.mappings):
        needs.append("bridge mappings from Pubsub with wildcards")
    if any(s.source_kind in ("device", "GGShadowService") and s.target_kind == "function"
           and _wildcard(s.subject) for s in group.subscriptions):
        needs.append("PUB_SUB event sources with wildcards (also Lambda manager ≥ 2.2.5)")
    return needs


def compile_group(group: Group, *, versions: Mapping[str, str] | None = None,
                  greengrass_root: str = GREENGRASS_ROOT) -> V2Deployment:
    """The one V2 deployment of ``group`` (see the module notes for every rule).

    ``versions`` overrides :data:`DEFAULT_VERSIONS` and may name the nucleus (else
    :data:`NUCLEUS_EXAMPLE_VERSION`); ``greengrass_root`` is where the core is installed (for
    the ML resource mounts). Raises :class:`~harness.deploy.plan.DeployError` listing every
    subscription V2 cannot express, each with its V2 replacement.
    """
    chosen = _chosen_versions(versions)
    settings = group.client_devices
    compiled = _compile_subscriptions(group)
    problems = list(compiled.problems)
    cda = _version_tuple(chosen[CLIENT_DEVICE_AUTH])
    globs = cda is not None and cda >= (2, 5, 0)
    if settings.auth is None and not globs:
        for index, thing, topic in compiled.wildcard_publish:
            problems.append(
                f"{_describe(index, group.subscriptions[index])}: {thing} would publish"
                f" {topic!r}, but a CDA mqtt:topic: resource takes no MQTT wildcards. V2"
                " replacement: one subscription per exact topic the device publishes, or"
                " client_devices.auth verbatim (CDA ≥ 2.5 matches '*' globs in resources).")
    if settings.bridge is None:
        problems += [f"bridge mappings compiled from the subscriptions: {loop}"
                     for loop in bridge_loops(compiled.mappings)]
    problems += _pasted_problems(settings, chosen[CLIENT_DEVICE_AUTH])
    nucleus = _version_tuple(chosen[NUCLEUS])
    if nucleus is not None and nucleus < (2, 6, 0):
        problems += [f"{need} need nucleus ≥ 2.6.0, not {chosen[NUCLEUS]}"
                     for need in nucleus_needs(group)]
    if problems:
        raise DeployError(f"group {group.name!r} cannot be deployed to Greengrass V2 as"
                          " written:\n  " + "\n  ".join(problems))

    recipe, volumes = _ml_recipe(group, greengrass_root)
    lambdas = [_lambda_component(group, function, volumes) for function in group.functions]

    components: dict[str, dict[str, Any]] = {NUCLEUS: {"componentVersion": chosen[NUCLEUS]}}
    if group.devices or settings.auth is not None or settings.bridge is not None:
        if settings.auth is not None:
            auth = json.loads(json.dumps(settings.auth))
            security = auth.setdefault("security", {})
            if isinstance(security, dict):
                security.setdefault("clientDeviceTrustDurationMinutes",
                                    settings.trust_duration_minutes)
        else:
            auth = {"deviceGroups": _device_groups(group, compiled),
                    "security": {"clientDeviceTrustDurationMinutes":
                                 settings.trust_duration_minutes}}
        components[CLIENT_DEVICE_AUTH] = _configured(chosen[CLIENT_DEVICE_AUTH],
                                                     ["/deviceGroups"], auth)
        components[MOQUETTE] = {"componentVersion": chosen[MOQUETTE]}
        bridge = (settings.bridge if settings.bridge is not None
                  else {"mqttTopicMapping": _topic_mapping(compiled.mappings)})
        if bridge["mqttTopicMapping"] or settings.bridge is not None:
            components[BRIDGE] = _configured(chosen[BRIDGE], ["/mqttTopicMapping"], bridge)
        components[IP_DETECTOR] = {"componentVersion": chosen[IP_DETECTOR]}
    components[SHADOW_MANAGER] = _configured(chosen[SHADOW_MANAGER], ["/synchronize"],
                                             shadow_manager_configuration(group))
    if compiled.routes:
        components[ROUTER] = _configured(
            chosen[ROUTER], ["/subscriptions"],
            _router_configuration(group, compiled.routes, chosen[ROUTER]))
    recipes = {}
    if recipe is not None:
        recipes[recipe["ComponentName"]] = recipe
        components[recipe["ComponentName"]] = {"componentVersion": recipe["ComponentVersion"]}
    for function, component in zip(group.functions, lambdas, strict=True):
        access = ({"accessControl": function.access_control}
                  if function.access_control else None)
        components[component.name] = _configured(component.version, ["/accessControl"],
                                                 access)
    return V2Deployment.build(
        target_arn=group.thing_arn(group.core.thing),
        deployment_name=group.name,
        components=components,
        lambda_components=lambdas,
        recipes=recipes,
        client_devices=[device.thing for device in group.devices],
    )
