"""ShadowManager on the simulated V2 core takes its settings from the deployment
(greengrass-v2-topology.md §3.2): what syncs, the IPC rate limits, the size limit."""

from __future__ import annotations

import json
from typing import Any

import pytest

from fakes.nucleus_ipc.services.rate_limit import RateLimits
from harness.deploy.v2 import plan_requests, plan_v2
from harness.group import load_group
from harness.simulation import DEFAULT_GROUP, Simulation
from harness.v2.deployment import SHADOW_MANAGER, V2Deployment
from harness.v2.shadow_manager import ShadowManagerConfigError, ShadowManagerSettings

CORE = "weather-station-core"


def test_the_station_syncs_its_shadow_with_the_default_limits() -> None:
    with Simulation.from_group(DEFAULT_GROUP) as sim:
        settings = sim.shadow_manager
        assert settings is not None
        assert settings.synced == ("weather-station",)
        assert settings.rate_limits == RateLimits(200, 20)
        assert settings.document_size_limit == 8192


def test_keys_are_case_insensitive_and_numbers_may_be_floats() -> None:
    settings = ShadowManagerSettings.from_configuration({
        "Synchronize": {"CoreThing": {"classic": True},
                        "shadowDocumentsMap": {"a": {"classic": True}, "b": {"classic": False}},
                        "shadowDocuments": [{"thingName": "c"}]},
        "rateLimits": {"maxLocalRequestsPerSecondPerThing": 5.0},
        "shadowDocumentSizeLimitBytes": 30720.0}, CORE)
    assert settings.synced == (CORE, "a", "c")
    assert settings.rate_limits == RateLimits(200, 5)
    assert settings.document_size_limit == 30720


@pytest.mark.parametrize(("config", "message"), [
    ({"synchronize": {"direction": "sideways"}}, "Unknown direction value."),
    ({"synchronize": {"direction": "deviceToCloud"}}, "betweenDeviceAndCloud only"),
    ({"strategy": {"type": "periodic", "delay": 300}}, "realTime only"),
    ({"shadowDocumentSizeLimitBytes": 30721}, "at most 30720"),
    ({"rateLimits": {"maxTotalLocalRequestsRate": 0}}, "positive whole number"),
    ({"synchronize": {"shadowDocuments": [{"classic": True}]}}, "without a thingName"),
])
def test_what_the_simulation_does_not_run_is_refused(config: dict[str, Any], message: str
                                                     ) -> None:
    with pytest.raises(ShadowManagerConfigError, match=message):
        ShadowManagerSettings.from_configuration(config, CORE)


def test_the_deployments_rate_limit_is_the_one_the_core_enforces() -> None:
    """A deployment whose ShadowManager allows 2 IPC requests a second per thing: a burst of
    readings at one instant gets two updates through and 429s for the rest."""
    group = load_group(DEFAULT_GROUP)
    create_deployment, created, associations = plan_requests(plan_v2(group))
    update = create_deployment["components"][SHADOW_MANAGER]["configurationUpdate"]
    merge = json.loads(update["merge"])
    merge["rateLimits"] = {"maxLocalRequestsPerSecondPerThing": 2}
    update["merge"] = json.dumps(merge)
    deployment = V2Deployment.from_requests(create_deployment, created, associations)
    with Simulation(group, code_dir=DEFAULT_GROUP.parent, deployment=deployment,
                    cpu_temperature=45.0) as sim:
        for sequence in range(1, 6):
            sim.publish("bme680-sensor", "bme680/readings",
                        {"sequence": sequence, "temperature": 20.0, "pressure": 1010.0,
                         "humidity": 50.0, "message": "Success"})
        sim.run(20)
        stats = sim.stats("republish")
        assert stats.received == 5
        refused = [line for line in sim.logs("republish") if "was refused" in line]
        assert refused and all("Too Many Requests" in line for line in refused)
        assert stats.completed == 5 - len(refused) <= 2
