"""A run's delivery counts: every message is delivered or counted as dropped, with where
(issue 17), in results.json, the report and the command line's summary."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from harness.report.results import RunResult, record_run
from harness.rigs.base import RigUnavailable
from harness.rigs.broker import BrokerRig

SCENARIOS = Path(__file__).resolve().parents[2] / "scenarios"


def test_a_burst_above_the_queue_is_counted_where_it_was_dropped(tmp_path: Path) -> None:
    result = record_run(SCENARIOS / "burst_above_queue.yaml")
    delivery = result.delivery
    assert delivery["republish: dropped queue full"] == 90
    assert delivery["republish: received"] == (delivery["republish: completed"]
                                               + delivery["republish: errors"]
                                               + delivery["republish: dropped queue full"]
                                               + delivery["republish: dropped at stop"])
    assert RunResult.read(result.write(tmp_path / "results.json")).delivery == delivery


@pytest.fixture(scope="module")
def broker_rig(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BrokerRig]:
    try:
        rig = BrokerRig.start(directory=tmp_path_factory.mktemp("delivery-rig"))
    except RigUnavailable as error:  # no Mosquitto here: make test installs it
        pytest.skip(str(error))
    yield rig
    rig.close()


def test_on_the_broker_rig_what_devices_sent_adds_up(broker_rig: BrokerRig) -> None:
    result = record_run(SCENARIOS / "injected_readings.yaml", rig=broker_rig)
    delivery = result.delivery
    received = delivery["device messages received"]
    dropped = sum(count for name, count in delivery.items() if name.startswith("dropped: "))
    assert received >= 2 and received == delivery["delivered to the core"] + dropped
    assert delivery["republish: received"] >= 2
