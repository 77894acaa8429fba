"""What a scenario needs of a rig, and why: implied by its content, plus its ``needs:``.

A rig lists the capabilities it has; :func:`missing` gives the reasons a rig cannot run a
scenario (empty when it can), which the pytest items turn into skip messages such as
``the pi rig cannot run 'I2C fault burst': it injects sensor faults (sensor_faults)``.
"""

from __future__ import annotations

from collections.abc import Collection

from harness.scenarios.schema import Capability, Scenario

_WHY: dict[str, str] = {
    "set_environment": "it sets the air the sensor sees",
    "sensor_faults": "it injects sensor faults",
    "broker_disconnect": "it disconnects the devices from the broker",
    "core_restart": "it restarts the Greengrass core",
    "lambda_timeout": "it makes Lambda invocations time out",
    "function_stats": "it checks the core's per-function counters",
    "function_logs": "it checks the Lambdas' logs",
    "device_logs": "it checks the device program's log",
    "core_log": "it checks the core's own log",
    "exact_timing": "it is judged on exact virtual time",
    "cloud": "it needs a simulated cloud side (cloud: true)",
    "virtual_time": "it is a long run that only virtual time gets through quickly",
    "group_changes": "it runs the group with changes (group_changes:) that this rig cannot deploy",
    "greengrass_v2": "it exercises a Greengrass V2 core (client device auth, the bridge, IPC)",
}


def needs_of(scenario: Scenario) -> dict[Capability, str]:
    """Each capability the scenario needs, with the reason (in the file's order)."""
    needs: dict[Capability, str] = {}
    if scenario.device is not None and scenario.environment is not None:
        needs["set_environment"] = _WHY["set_environment"]
    if scenario.cloud:
        needs["cloud"] = _WHY["cloud"]
    if scenario.group_changes is not None:
        needs["group_changes"] = _WHY["group_changes"]
    kinds = {fault.kind for fault in scenario.faults}
    for kind, capability in (("sensor", "sensor_faults"),
                             ("broker_disconnect", "broker_disconnect"),
                             ("core_restart", "core_restart"),
                             ("lambda_timeout", "lambda_timeout")):
        if kind in kinds:
            needs[capability] = _WHY[capability]  # type: ignore[index]
    for expectation in scenario.expectations:
        check = expectation.always if not isinstance(expectation.always, str) else None
        if expectation.never is not None:
            check = expectation.never.check
        stats = expectation.stats or (check.stats if check else None)
        log = expectation.log or (check.log if check else None)
        if stats is not None:
            needs["function_stats"] = _WHY["function_stats"]
        if log is not None:
            if log.function.startswith("device:"):
                needs["device_logs"] = _WHY["device_logs"]
            elif log.function == "system":
                needs["core_log"] = _WHY["core_log"]
            else:
                needs["function_logs"] = _WHY["function_logs"]
    for capability in scenario.needs:
        needs.setdefault(capability, _WHY.get(capability, "the scenario says it needs it"))
    return needs


def missing(scenario: Scenario, capabilities: Collection[str]) -> list[str]:
    """Why a rig with ``capabilities`` cannot run ``scenario``: one reason per missing
    capability, ``"<reason> (<capability>)"``; empty when it can."""
    return [f"{why} ({capability})" for capability, why in needs_of(scenario).items()
            if capability not in capabilities]
