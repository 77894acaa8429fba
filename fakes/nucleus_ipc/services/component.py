"""A component's own configuration and lifecycle over IPC (``GetConfiguration``, ``UpdateState``).

Follows the nucleus's ``ConfigStoreIPCEventStreamAgent`` and ``LifecycleIPCEventStreamAgent``:

* GetConfiguration reads ``componentName`` (default: the caller; any component may read any
  other's configuration, there is no authorization) at ``keyPath`` (default: the whole
  configuration). An unknown component, no configuration or a missing key ->
  ``ResourceNotFoundError("Key not found")``. A leaf comes back as ``{<its key>: value}``,
  a subtree as itself. The response is ``{componentName, value}``.
* UpdateState reports ``RUNNING`` or ``ERRORED`` for the caller; an unknown component ->
  ``ResourceNotFoundError("Component with given name not found", resourceType="Component",
  resourceName=<name>)``.

The configurations and the state record are behind small protocols the core implements;
the in-memory defaults serve stand-alone use.
"""

from __future__ import annotations

import copy
import threading
from collections.abc import Mapping
from typing import Any, Protocol

from fakes.nucleus_ipc.model import ResourceNotFoundError, ServiceError
from fakes.nucleus_ipc.rpc import Call, Handler

__all__ = ["ComponentConfigs", "ComponentIpc", "InMemoryComponents", "LifecycleStates"]

GET_CONFIGURATION = "aws.greengrass#GetConfiguration"
UPDATE_STATE = "aws.greengrass#UpdateState"
_KEY_NOT_FOUND = "Key not found"


class ComponentConfigs(Protocol):
    def configuration(self, component: str) -> Mapping[str, Any] | None:
        """The component's ``configuration`` namespace, or ``None`` for an unknown component."""
        ...


class LifecycleStates(Protocol):
    def report_state(self, component: str, state: str) -> bool:
        """Record a state a component reported; ``False`` for an unknown component."""
        ...


class InMemoryComponents:
    """Configurations given up front; every state report is recorded."""

    def __init__(self, configurations: Mapping[str, Mapping[str, Any]] | None = None) -> None:
        self._configurations = {
            k: copy.deepcopy(dict(v)) for k, v in (configurations or {}).items()
        }
        self.reported: list[tuple[str, str]] = []
        self._lock = threading.Lock()

    def set_configuration(self, component: str, configuration: Mapping[str, Any]) -> None:
        self._configurations[component] = copy.deepcopy(dict(configuration))

    def configuration(self, component: str) -> Mapping[str, Any] | None:
        return self._configurations.get(component)

    def report_state(self, component: str, state: str) -> bool:
        with self._lock:
            self.reported.append((component, state))
        return True

    def state(self, component: str) -> str | None:
        """The last state ``component`` reported."""
        with self._lock:
            return next((s for c, s in reversed(self.reported) if c == component), None)


class ComponentIpc:
    def __init__(
        self, configs: ComponentConfigs | None = None, states: LifecycleStates | None = None
    ) -> None:
        default = InMemoryComponents()
        self.configs: ComponentConfigs = configs if configs is not None else default
        self.states: LifecycleStates = states if states is not None else default

    def handlers(self) -> Mapping[str, Handler]:
        return {GET_CONFIGURATION: self.get_configuration, UPDATE_STATE: self.update_state}

    def get_configuration(self, call: Call) -> dict[str, Any]:
        component = call.request.get("componentName") or call.component
        node: Any = self.configs.configuration(component)
        if node is None:
            raise ResourceNotFoundError(_KEY_NOT_FOUND)
        path = call.request.get("keyPath") or []
        for key in path:
            if not isinstance(node, Mapping) or key not in node:
                raise ResourceNotFoundError(_KEY_NOT_FOUND)
            node = node[key]
        value = node if isinstance(node, Mapping) or not path else {path[-1]: node}
        return {"componentName": component, "value": copy.deepcopy(value)}

    def update_state(self, call: Call) -> dict[str, Any]:
        state = call.request.get("state")
        if state not in ("RUNNING", "ERRORED"):
            # The nucleus maps the model's enum onto its own; anything else fails there.
            raise ServiceError(f"No enum constant com.aws.greengrass.dependency.State.{state}")
        if not self.states.report_state(call.component, state):
            raise ResourceNotFoundError(
                "Component with given name not found",
                resource_type="Component",
                resource_name=call.component,
            )
        return {}
