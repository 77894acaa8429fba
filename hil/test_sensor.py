"""The device program's sensor path: the real bme680 library on the rig's sensor (the
``sensor`` fixture: the physical chip on the Pi, a simulated one on the broker rig)."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.hil


def test_a_reading_is_physically_plausible(sensor):
    reading = sensor.read()
    assert -40 <= reading.temperature <= 85
    assert 300 <= reading.pressure <= 1100
    assert 0 <= reading.humidity <= 100


def test_the_device_loop_publishes_the_republish_contract(sensor):
    import json

    from device.loop import RealClock, run

    sent: list[tuple[str, bytes]] = []
    counters = run(lambda: sensor, lambda topic, payload: sent.append((topic, payload)),
                   RealClock(), period=1.0, count=3)
    assert counters.published == 3 and counters.failed_reads == 0
    messages = [json.loads(payload) for topic, payload in sent]
    assert [m["sequence"] for m in messages] == [1, 2, 3]
    # one run of the program: one boot id; each reading stamped when it was taken
    assert len({m["boot_id"] for m in messages}) == 1
    assert messages[0]["timestamp"] < messages[1]["timestamp"] < messages[2]["timestamp"]
    assert all(m["message"] == "Success" for m in messages)
    assert {topic for topic, _ in sent} == {"bme680/readings"}
