"""device.sensor on the real ``bme680`` library, over a register-level test bus."""

from __future__ import annotations

import errno
import json
from types import SimpleNamespace

import bme680
import pytest
import smbus2

from device.errors import NoNewData, SensorIOError, SensorNotFound, SensorResetDetected
from device.loop import run
from device.sensor import BME680Sensor, SensorSettings, open_sensor
from tests.device.doubles import FakeClock, Published
from tests.device.register_bus import RegisterBus


@pytest.fixture(autouse=True)
def library_sleeps(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """The library's own waits (10 ms reset, 10 ms polls) are recorded, not slept."""
    asked: list[float] = []
    monkeypatch.setattr(bme680, "time", SimpleNamespace(sleep=asked.append))
    return asked


def test_reads_the_golden_vectors_at_the_primary_address() -> None:
    bus = RegisterBus(0x76)
    sensor = open_sensor(bus)
    assert sensor.address == 0x76
    reading = sensor.read()
    # the library's own test vectors for this calibration: 26.69 C, 98712 Pa, 42.402 %RH
    assert (reading.temperature, reading.pressure, reading.humidity) == (26.69, 987.12, 42.402)
    assert reading.heat_stable
    assert reading.gas_resistance is not None and reading.gas_resistance > 0


def test_falls_back_to_the_secondary_address() -> None:
    bus = RegisterBus(0x77)
    sensor = open_sensor(bus)
    assert sensor.address == 0x77
    assert sensor.read().temperature == 26.69


def test_no_chip_at_either_address_names_both() -> None:
    bus = RegisterBus(address=None)
    with pytest.raises(SensorNotFound) as caught:
        open_sensor(bus)
    message = str(caught.value)
    assert "0x76" in message and "0x77" in message and "Unable to identify" in message
    assert not bus.closed  # a bus passed in belongs to the caller


def test_configures_like_the_examples() -> None:
    bus = RegisterBus()
    open_sensor(bus)
    regs = bus.registers
    assert regs[0x72] & 0x07 == bme680.OS_2X  # humidity
    assert (regs[0x74] >> 5, (regs[0x74] >> 2) & 0x07) == (bme680.OS_8X, bme680.OS_4X)
    assert (regs[0x75] >> 2) & 0x07 == bme680.FILTER_SIZE_3
    assert (regs[0x71] >> 4) & 0x03 == 1  # run_gas (BME680: "low")
    assert regs[0x71] & 0x0F == 0  # heater profile 0
    assert regs[0x64] == 0x65  # 150 ms heater duration
    assert regs[0x5A] != 0  # the 320 C heater target, converted with the calibration


def test_other_settings_reach_the_chip() -> None:
    bus = RegisterBus()
    settings = SensorSettings(temperature_oversample=bme680.OS_2X, gas=False)
    sensor = open_sensor(bus, settings=settings)
    assert bus.registers[0x74] >> 5 == bme680.OS_2X
    assert (bus.registers[0x71] >> 4) & 0x03 == 0  # gas off
    reading = sensor.read()
    assert reading.gas_resistance is None  # no gas without the heater


def test_gas_resistance_only_when_the_heater_is_stable() -> None:
    bus = RegisterBus()
    sensor = open_sensor(bus)
    bus.heat_stable = False
    reading = sensor.read()
    assert not reading.heat_stable and reading.gas_resistance is None


def test_no_new_data_is_a_clear_error_not_stale_values() -> None:
    bus = RegisterBus()
    sensor = open_sensor(bus)
    sensor.read()
    bus.data_ready = False
    with pytest.raises(NoNewData, match="no new data"):
        sensor.read()  # the library returned False and kept the old values in .data


def test_heater_waits_for_a_first_reading_when_the_start_up_one_had_no_data() -> None:
    bus = RegisterBus(data_ready=False)  # the library's start-up reading returns False
    sensor = open_sensor(bus)  # would be a TypeError in set_gas_heater_temperature
    assert bus.registers[0x5A] == 0
    bus.data_ready = True
    sensor.read()
    assert bus.registers[0x5A] != 0 and bus.registers[0x64] == 0x65


def test_errno_121_while_reading_is_a_sensor_io_error() -> None:
    bus = RegisterBus()
    sensor = open_sensor(bus)
    bus.fault.remaining = 1
    with pytest.raises(SensorIOError) as caught:
        sensor.read()
    assert caught.value.errno == errno.EREMOTEIO
    assert "0x76" in str(caught.value) and "Remote I/O error" in str(caught.value)
    assert isinstance(caught.value.__cause__, OSError)


class FailsWhileConfiguring(RegisterBus):
    """Errno 121 on our configuration's first read, after the constructor's reading."""

    def read_byte_data(self, address: int, register: int, force: bool | None = None) -> int:
        if register == 0x72 and self.measurements >= 1:
            raise OSError(errno.EREMOTEIO, "Remote I/O error")
        return super().read_byte_data(address, register, force)


def test_errno_121_while_configuring_closes_the_bus_it_opened(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    bus = FailsWhileConfiguring()
    monkeypatch.setattr(smbus2, "SMBus", lambda number: bus)
    with pytest.raises(SensorIOError, match="configuring the BME680 at 0x76"):
        open_sensor()
    assert bus.closed


def test_a_power_glitch_is_detected_and_the_reading_refused() -> None:
    bus = RegisterBus()
    sensor = open_sensor(bus)
    bus.brown_out()  # settings back to reset values; the library only rewrites the mode bits
    with pytest.raises(SensorResetDetected, match="lost its settings"):
        sensor.read()


def test_the_default_bus_is_smbus2_bus_1_and_closed_with_the_sensor(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    bus = RegisterBus()
    opened: list[int] = []

    def smbus(number: int) -> RegisterBus:
        opened.append(number)
        return bus

    monkeypatch.setattr(smbus2, "SMBus", smbus)
    sensor = open_sensor()
    assert opened == [1]  # one bus for both addresses, not one per attempt
    assert not bus.closed
    sensor.close()
    assert bus.closed


def test_the_bus_number_can_be_chosen(monkeypatch: pytest.MonkeyPatch) -> None:
    opened: list[int] = []
    monkeypatch.setattr(smbus2, "SMBus", lambda number: opened.append(number) or RegisterBus())
    open_sensor(bus_number=3).close()
    assert opened == [3]


@pytest.mark.parametrize(
    ("error", "hint"),
    [
        (FileNotFoundError(2, "No such file or directory"), "raspi-config"),
        (PermissionError(13, "Permission denied"), "i2c group"),
    ],
)
def test_a_missing_or_forbidden_bus_says_what_to_do(
    monkeypatch: pytest.MonkeyPatch, error: OSError, hint: str
) -> None:
    def smbus(number: int) -> RegisterBus:
        raise error

    monkeypatch.setattr(smbus2, "SMBus", smbus)
    with pytest.raises(SensorNotFound, match=hint):
        open_sensor()


def test_a_bus_that_failed_to_find_a_chip_is_closed(monkeypatch: pytest.MonkeyPatch) -> None:
    bus = RegisterBus(address=None)
    monkeypatch.setattr(smbus2, "SMBus", lambda number: bus)
    with pytest.raises(SensorNotFound):
        open_sensor()
    assert bus.closed


def test_closing_a_sensor_on_a_borrowed_bus_leaves_the_bus_open() -> None:
    bus = RegisterBus()
    sensor = open_sensor(bus)
    assert isinstance(sensor, BME680Sensor)
    sensor.close()
    assert not bus.closed


def test_the_loop_recovers_from_real_library_failures() -> None:
    """Errno 121, no data and a power glitch through the real library; the loop re-opens."""
    bus = RegisterBus()
    before_cycle = {  # what goes wrong from a cycle on
        2: lambda: setattr(bus.fault, "remaining", 1),  # Errno 121 in get_sensor_data()
        4: lambda: setattr(bus, "data_ready", False),  # get_sensor_data() returns False
        5: lambda: setattr(bus, "data_ready", True),
        6: bus.brown_out,  # settings lost
    }
    published = Published()
    opened_at: list[int] = []

    def factory() -> BME680Sensor:
        opened_at.append(len(published.messages) + 1)
        return open_sensor(bus)

    def publish(topic: str, payload: bytes) -> None:
        published(topic, payload)
        before_cycle.get(len(published.messages) + 1, lambda: None)()

    counters = run(factory, publish, FakeClock(), count=8)
    statuses = [json.loads(payload)["message"] for _, payload in published.messages]
    assert statuses == ["Success", "Fail", "Success", "Fail", "Success", "Fail", "Success",
                        "Success"]  # fmt: skip
    assert opened_at == [1, 3, 7]  # opened again after the I/O error and after the glitch
    assert counters.reopened == 2 and counters.failed_reads == 3
    assert json.loads(published.messages[-1][1])["temperature"] == 26.69  # configured again
