"""device.sensor and the loop against the simulated BME680 (fakes.bme680), real library between."""

from __future__ import annotations

import json
from types import SimpleNamespace

import bme680
import pytest

from device.loop import run
from device.sensor import BME680Sensor, open_sensor
from tests.device.doubles import FakeClock, Published

try:
    from fakes.bme680 import BrownOut, SimulatedBME680
except ImportError as error:  # another developer is writing it
    pytest.skip(
        f"the simulated chip fakes.bme680.SimulatedBME680 is not importable: {error}",
        allow_module_level=True,
    )


@pytest.fixture(autouse=True)
def no_library_sleeps(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(bme680, "time", SimpleNamespace(sleep=lambda seconds: None))


def test_the_device_reads_and_recovers_on_the_simulated_chip() -> None:
    chip = SimulatedBME680(address=0x77)  # the secondary address: the fallback is exercised
    chip.set_environment(temperature=22.5, pressure=1001.3, humidity=38.0)
    published = Published()
    opened: list[int] = []

    def factory() -> BME680Sensor:
        opened.append(len(published.messages) + 1)
        return open_sensor(chip)

    def publish(topic: str, payload: bytes) -> None:
        published(topic, payload)
        done = len(published.messages)
        if done == 2:
            chip.fail_next(1)  # reading 3: Errno 121 in get_sensor_data()
        if done == 4:
            chip.set_environment(temperature=30.25, pressure=990.0, humidity=61.5)
        if done == 5:
            chip.inject(BrownOut())  # reading 6: the chip silently resets

    counters = run(factory, publish, FakeClock(), count=7)
    messages = [json.loads(payload) for _, payload in published.messages]
    assert [m["sequence"] for m in messages] == [1, 2, 3, 4, 5, 6, 7]
    assert [m["message"] for m in messages] == [
        "Success", "Success", "Fail", "Success", "Success", "Fail", "Success",
    ]  # fmt: skip
    for m in (messages[0], messages[1], messages[3]):
        assert m["temperature"] == pytest.approx(22.5, abs=0.01)
        assert m["pressure"] == pytest.approx(1001.3, abs=0.05)
        assert m["humidity"] == pytest.approx(38.0, abs=0.01)
    for m in (messages[4], messages[6]):
        assert m["temperature"] == pytest.approx(30.25, abs=0.01)
        assert m["pressure"] == pytest.approx(990.0, abs=0.05)
        assert m["humidity"] == pytest.approx(61.5, abs=0.01)
    assert messages[2]["temperature"] is None and messages[5]["humidity"] is None
    assert opened == [1, 4, 7]  # re-opened (and so re-configured) after each failure
    assert counters.reopened == 2 and counters.failed_reads == 2
