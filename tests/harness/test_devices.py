"""The real device program, on the real bme680 library and a simulated chip, in a simulation."""

from __future__ import annotations

import json

import pytest

from fakes.bme680 import BrownOut, BusError, SimulatedBME680, StuckData

AIR = {"temperature": 31.0, "pressure": 1008.5, "humidity": 52.25}  # what the chip measures


def reported(sim):
    return sim.shadow("weather-station")["state"]["reported"]


@pytest.fixture
def station(simulation):
    chip = SimulatedBME680(clock=lambda: simulation.clock.elapsed)
    device = simulation.add_device("bme680-sensor", chip=chip, environment=lambda t: AIR)
    return simulation, chip, device


def test_readings_travel_from_the_chip_to_the_shadow(station):
    sim, _, device = station
    sim.run(60)
    assert device.counters.published == 13  # at 0, 5, ..., 60 s
    state = reported(sim)
    assert state["message"] == "Success"
    assert state["pressure"] == pytest.approx(AIR["pressure"], abs=0.05)
    assert state["humidity"] == pytest.approx(AIR["humidity"], abs=0.01)
    # republish compensates with the CPU (45 C): 2 * 31 - 45
    assert state["temperature"] == pytest.approx(2 * AIR["temperature"] - 45.0, abs=0.02)
    assert any("BME680 found at 0x76" in line for line in sim.logs("device:bme680-sensor"))


def test_the_environment_follows_simulated_time(simulation):
    device = simulation.add_device(
        "bme680-sensor", environment=lambda t: {**AIR, "temperature": 20.0 + t / 100})
    simulation.run(100)
    assert device.counters.published == 21
    # the newest reading in the shadow was taken at 90 s (republish samples the CPU for 7 s)
    assert reported(simulation)["sequence"] == 19
    assert reported(simulation)["temperature"] == pytest.approx(2 * 20.9 - 45.0, abs=0.05)


def test_an_i2c_fault_burst_costs_one_reading_and_the_program_goes_on(station):
    sim, chip, device = station
    chip.inject(BusError(), at=30, transactions=3)
    sim.run(120)
    # the failed read, then re-opening (which reads the chip id at both addresses) spends
    # the rest of the burst: a few readings fail, none is lost, the sequence keeps counting
    assert 1 <= device.counters.failed_reads <= 3
    assert device.counters.reopened == 1
    assert device.counters.published == 25
    sequences = [m.json()["sequence"] for m in sim.messages("bme680/readings")]
    assert sequences == list(range(1, 26))
    assert reported(sim)["message"] == "Success"  # the good values came back
    assert any("121" in line for line in sim.logs("device:bme680-sensor"))


def test_stuck_data_publishes_fail_and_the_shadow_keeps_good_values(station):
    sim, chip, device = station
    sim.run(20)
    good = dict(reported(sim))
    chip.inject(StuckData(), at=20, duration=12)
    sim.run(12)
    assert device.counters.failed_reads >= 2
    state = reported(sim)
    assert state["message"] == "Fail"
    assert state["pressure"] == good["pressure"] and state["humidity"] == good["humidity"]
    sim.run(20)
    assert reported(sim)["message"] == "Success"


def test_a_brown_out_is_detected_and_the_sensor_re_opened(station):
    sim, chip, device = station
    chip.inject(BrownOut(), at=42, transactions=1)
    sim.run(120)
    assert device.counters.reopened == 1
    # the frozen field signature (about 33 C, 700 hPa, 100 %RH) never reached the shadow
    assert all(m.json().get("pressure") != pytest.approx(703.55, abs=2)
               for m in sim.messages("bme680/readings") if m.json()["message"] == "Success")
    assert reported(sim)["pressure"] == pytest.approx(AIR["pressure"], abs=0.05)


def test_devices_must_exist_in_the_group(simulation):
    with pytest.raises(KeyError, match="no device 'nope'"):
        simulation.add_device("nope")


def test_a_recorded_trace_replays_in_simulation(simulation, tmp_path):
    from device.recorder import TraceRecord, read_trace, write_trace
    from harness.devices import replay

    path = tmp_path / "pi-day.jsonl"
    write_trace(path, [
        TraceRecord(1_700_000_000.0, 1, 25.0, 1001.0, 40.0, None, "Success"),
        TraceRecord(1_700_000_005.0, 2, None, None, None, None, "Fail"),
        TraceRecord(1_700_000_010.0, 3, 27.0, 1002.0, 41.0, 52_000.0, "Success"),
    ])
    device = simulation.add_device("bme680-sensor", environment=replay(read_trace(path)))
    simulation.run(10)
    sent = [m.json() for m in simulation.messages("bme680/readings")]
    assert [(r["temperature"], r["pressure"], r["humidity"]) for r in sent] == [
        (pytest.approx(25.0, abs=0.01), pytest.approx(1001.0, abs=0.05),
         pytest.approx(40.0, abs=0.01)),
        (pytest.approx(25.0, abs=0.01), pytest.approx(1001.0, abs=0.05),
         pytest.approx(40.0, abs=0.01)),  # the failed record keeps the air as it was
        (pytest.approx(27.0, abs=0.01), pytest.approx(1002.0, abs=0.05),
         pytest.approx(41.0, abs=0.01)),
    ]
    assert device.counters.failed_reads == 0


def test_replaying_an_empty_trace_is_refused():
    from harness.devices import replay

    with pytest.raises(ValueError, match="no successful reading"):
        replay([])


def _boot_ids(simulation_factory, seed):
    sim = simulation_factory(seed=seed)
    first = sim.add_device("bme680-sensor", environment=lambda t: AIR)
    sim.run(6)
    first.stop()
    second = sim.add_device("bme680-sensor", environment=lambda t: AIR)
    sim.run(10)
    published = [json.loads(m.payload) for m in sim.messages("bme680/readings")]
    ids = (first.boot_id, second.boot_id)
    sim.close()
    return ids, published


def test_each_program_run_has_a_boot_id_drawn_from_the_seed(simulation_factory):
    (first, second), published = _boot_ids(simulation_factory, seed=4)
    assert first != second and len(first) == 32
    assert [(m["boot_id"], m["sequence"]) for m in published] == [
        (first, 1), (first, 2), (second, 1), (second, 2), (second, 3)]
    # stamped with the simulation's epoch clock, when each reading was taken
    assert [m["timestamp"] for m in published] == sorted(m["timestamp"] for m in published)
    assert published[1]["timestamp"] - published[0]["timestamp"] == pytest.approx(5.0)
    again, _ = _boot_ids(simulation_factory, seed=4)
    other, _ = _boot_ids(simulation_factory, seed=5)
    assert again == (first, second)
    assert set(other).isdisjoint({first, second})
