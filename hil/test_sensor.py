"""The device program's sensor path on the Raspberry Pi: the real bme680 library on the
physical chip (``pytest -m hil``). Skips with the exact reason off a Pi."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

pytestmark = pytest.mark.hil

I2C_BUS = Path(os.environ.get("HIL_I2C_BUS", "/dev/i2c-1"))


@pytest.fixture
def sensor():
    if not I2C_BUS.exists():
        pytest.skip(f"no I2C bus at {I2C_BUS}: not a Raspberry Pi with I2C enabled")
    from device.sensor import open_sensor

    bus_number = int(I2C_BUS.name.rsplit("-", 1)[-1])
    opened = open_sensor(bus_number=bus_number)
    yield opened
    opened.close()


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
    assert all(m["message"] == "Success" for m in messages)
    assert {topic for topic, _ in sent} == {"bme680/readings"}
