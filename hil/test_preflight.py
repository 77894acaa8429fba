"""Preflight of the hardware suite: is this machine a rig the suite can run on?

Run on the Raspberry Pi with ``pytest -m hil``. Each check skips with the exact reason when the
hardware is not there, so a run elsewhere says what is missing instead of failing obscurely.
The scenario suite (later issues) builds on these checks.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

pytestmark = pytest.mark.hil

I2C_BUS = Path(os.environ.get("HIL_I2C_BUS", "/dev/i2c-1"))
BME680_ADDRESSES = (0x76, 0x77)  # primary, secondary
BME680_CHIP_ID_REGISTER = 0xD0
BME680_CHIP_ID = 0x61
CPU_TEMP = Path(os.environ.get("CPU_TEMP_PATH", "/sys/class/thermal/thermal_zone0/temp"))


def test_i2c_bus_is_present() -> None:
    if not I2C_BUS.exists():
        pytest.skip(f"no I2C bus at {I2C_BUS}: not a Raspberry Pi with I2C enabled "
                    "(raspi-config > Interface Options > I2C), or set HIL_I2C_BUS")
    assert os.access(I2C_BUS, os.R_OK | os.W_OK), f"{I2C_BUS} is not readable and writable"


def test_bme680_answers_with_its_chip_id() -> None:
    if not I2C_BUS.exists():
        pytest.skip(f"no I2C bus at {I2C_BUS}")
    smbus2 = pytest.importorskip("smbus2", reason="smbus2 is not installed (pip install smbus2)")
    bus_number = int(I2C_BUS.name.rsplit("-", 1)[-1])
    found = {}
    with smbus2.SMBus(bus_number) as bus:
        for address in BME680_ADDRESSES:
            try:
                found[address] = bus.read_byte_data(address, BME680_CHIP_ID_REGISTER)
            except OSError as error:  # Errno 121: nothing answers at this address
                found[address] = error
    chips = {addr: value for addr, value in found.items() if value == BME680_CHIP_ID}
    assert chips, f"no BME680 (chip id 0x61) at 0x76 or 0x77 on {I2C_BUS}: {found}"


def test_cpu_temperature_is_readable() -> None:
    if not CPU_TEMP.exists():
        pytest.skip(f"no CPU temperature at {CPU_TEMP}")
    millidegrees = int(CPU_TEMP.read_text().strip())
    assert -40_000 < millidegrees < 125_000, f"implausible CPU temperature {millidegrees} m°C"
