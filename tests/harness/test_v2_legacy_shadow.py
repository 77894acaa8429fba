"""greengrasssdk's local shadow calls on Greengrass V2: AWS requires the Device SDK V2 IPC
there. V2 mode says so in the core's log (once per function) or, strict, refuses them."""

from __future__ import annotations

from harness.simulation import Simulation

READING = {"sequence": 1, "temperature": 30.0, "pressure": 1010.0, "humidity": 50.0,
           "message": "Success"}


def _warnings(sim: Simulation) -> list[str]:
    return [line for line in sim.core_log() if "AWS IoT Device SDK V2 shadow IPC" in line]


def test_v2_answers_but_says_the_call_is_v1_only(simulation_factory) -> None:
    sim = simulation_factory(seed=1)
    for sequence in (1, 2):
        sim.publish("bme680-sensor", "bme680/readings", {**READING, "sequence": sequence})
        sim.run(10)
    assert sim.shadow("weather-station")["state"]["reported"]["sequence"] == 2
    republish = [line for line in _warnings(sim) if "republish used greengrasssdk" in line]
    assert len(republish) == 1  # once per function
    assert "[WARN]" in republish[0]


def test_strict_v2_refuses_the_call_and_the_shadow_stays_empty(simulation_factory) -> None:
    sim = simulation_factory(seed=1, legacy_shadow="reject")
    sim.publish("bme680-sensor", "bme680/readings", READING)
    sim.run(10)
    assert sim.shadow("weather-station") is None
    assert sim.stats("republish").errors == 1
    assert any("ShadowError" in line or "400" in line for line in sim.logs("republish"))
    assert any("[ERROR]" in line for line in _warnings(sim))


def test_v1_has_nothing_to_say(simulation_factory) -> None:
    sim = simulation_factory(seed=1, mode="v1")
    sim.publish("bme680-sensor", "bme680/readings", READING)
    sim.run(10)
    assert sim.shadow("weather-station") is not None
    assert _warnings(sim) == []
