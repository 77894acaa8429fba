"""A small smbus2-compatible bus with a BME680 register map, for driving the real library.

Not a simulator: the measurement registers hold fixed raw ADC values (the library's own test
vectors with the calibration set of pimoroni issue #11), so the real ``bme680`` library decodes
known readings. It models just enough for the device's sensor code: the chip id, calibration,
read-modify-write control registers, soft reset, a forced measurement setting ``new_data``,
missing addresses and injected I2C faults (``OSError`` Errno 121, as the kernel reports them).
"""

from __future__ import annotations

import errno

import bme680.constants as c

CHIP_ID = 0x61
CONTROL = range(0x50, 0x76)  # heater and measurement control, cleared by reset and power loss

# The calibration of pimoroni/bme680-python's tests (a real chip); golden vectors below.
CALIBRATION = {
    "t1": 26041, "t2": 26469, "t3": 3,
    "p1": 36673, "p2": -10515, "p3": 88, "p4": 7310, "p5": -129, "p6": 30, "p7": 46,
    "p8": -3177, "p9": -2379, "p10": 30,
    "h1": 676, "h2": 1029, "h3": 0, "h4": 45, "h5": 20, "h6": 120, "h7": -100,
    "gh1": -30, "gh2": -24754, "gh3": 18,
}  # fmt: skip
ADC_TEMPERATURE = 501240  # -> 26.69 degrees C with CALIBRATION
ADC_PRESSURE = 353485  # -> 987.12 hPa
ADC_HUMIDITY = 19019  # -> 42.402 %RH (at that temperature)

_WORDS = {  # name -> (msb index, lsb index) in the 41-byte calibration array
    "t1": (c.T1_MSB_REG, c.T1_LSB_REG), "t2": (c.T2_MSB_REG, c.T2_LSB_REG),
    "p1": (c.P1_MSB_REG, c.P1_LSB_REG), "p2": (c.P2_MSB_REG, c.P2_LSB_REG),
    "p4": (c.P4_MSB_REG, c.P4_LSB_REG), "p5": (c.P5_MSB_REG, c.P5_LSB_REG),
    "p8": (c.P8_MSB_REG, c.P8_LSB_REG), "p9": (c.P9_MSB_REG, c.P9_LSB_REG),
    "gh2": (c.GH2_MSB_REG, c.GH2_LSB_REG),
}  # fmt: skip
_BYTES = {
    "t3": c.T3_REG, "p3": c.P3_REG, "p6": c.P6_REG, "p7": c.P7_REG, "p10": c.P10_REG,
    "h3": c.H3_REG, "h4": c.H4_REG, "h5": c.H5_REG, "h6": c.H6_REG, "h7": c.H7_REG,
    "gh1": c.GH1_REG, "gh3": c.GH3_REG,
}  # fmt: skip


def calibration_array(params: dict[str, int]) -> list[int]:
    """The 41 calibration bytes (0x89.. then 0xE1..) holding ``params``."""
    data = [0] * (c.COEFF_ADDR1_LEN + c.COEFF_ADDR2_LEN)
    for name, (msb, lsb) in _WORDS.items():
        word = params[name] & 0xFFFF
        data[msb], data[lsb] = word >> 8, word & 0xFF
    for name, index in _BYTES.items():
        data[index] = params[name] & 0xFF
    # H1 and H2 share the nibbles of one byte
    data[c.H1_MSB_REG] = params["h1"] >> 4
    data[c.H2_MSB_REG] = params["h2"] >> 4
    data[c.H1_LSB_REG] = (params["h1"] & 0x0F) | ((params["h2"] & 0x0F) << 4)
    return data


class Fault:
    """Raise Errno 121 (what the kernel reports for a NACK) on the next ``remaining`` transfers."""

    def __init__(self) -> None:
        self.remaining = 0  # fail this many transactions from now on

    def check(self) -> None:
        if self.remaining > 0:
            self.remaining -= 1
            raise OSError(errno.EREMOTEIO, "Remote I/O error")


class RegisterBus:
    """One BME680 at ``address`` (or none: ``address=None``) on an smbus2-like bus."""

    def __init__(self, address: int | None = 0x76, data_ready: bool = True) -> None:
        self.address = address
        self.registers = [0] * 256
        self.data_ready = data_ready  # does a forced measurement produce new data?
        self.heat_stable = True
        self.fault = Fault()
        self.closed = False
        self.transactions = 0
        self.measurements = 0
        self._power_on()

    def _power_on(self) -> None:
        regs = self.registers
        regs[0xD0] = CHIP_ID
        regs[0xF0] = 0  # variant: BME680
        calibration = calibration_array(CALIBRATION)
        regs[0x89 : 0x89 + 25] = calibration[:25]
        regs[0xE1 : 0xE1 + 16] = calibration[25:]
        regs[0x02] = 0x10  # res_heat_range 1
        regs[0x00] = 48  # res_heat_val
        regs[0x04] = 0x00  # range_sw_err
        for register in CONTROL:
            regs[register] = 0

    def brown_out(self) -> None:
        """The chip loses power for a moment: its settings are back to their reset values."""
        for register in CONTROL:
            self.registers[register] = 0

    def _transaction(self, address: int) -> None:
        self.transactions += 1
        if self.closed:
            raise ValueError("bus closed")
        if address != self.address:
            raise OSError(errno.EREMOTEIO, "Remote I/O error")  # nothing ACKs
        self.fault.check()

    # --- the smbus2 methods the library uses ---------------------------------------------

    def read_byte_data(self, address: int, register: int, force: bool | None = None) -> int:
        self._transaction(address)
        return self.registers[register]

    def read_i2c_block_data(
        self, address: int, register: int, length: int, force: bool | None = None
    ) -> list[int]:
        self._transaction(address)
        if length > 32:
            raise ValueError("smbus2 reads at most 32 bytes")
        return list(self.registers[register : register + length])

    def write_byte_data(
        self, address: int, register: int, value: int, force: bool | None = None
    ) -> None:
        self._transaction(address)
        if register == 0xE0:
            if value == 0xB6:
                self._power_on()
            return
        self.registers[register] = value & 0xFF
        if register == 0x74 and value & 0x03 == 0x01:
            self._measure()

    def close(self) -> None:
        self.closed = True

    def _measure(self) -> None:
        self.measurements += 1
        regs = self.registers
        regs[0x74] &= ~0x03  # forced mode returns to sleep
        if not self.data_ready:
            regs[0x1D] = 0x00
            return
        regs[0x1D] = 0x80  # new_data, gas index 0
        regs[0x1E] = self.measurements & 0xFF
        for base, adc in ((0x1F, ADC_PRESSURE), (0x22, ADC_TEMPERATURE)):  # 20 bits
            regs[base : base + 3] = [adc >> 12, (adc >> 4) & 0xFF, (adc & 0x0F) << 4]
        regs[0x25], regs[0x26] = ADC_HUMIDITY >> 8, ADC_HUMIDITY & 0xFF
        gas_adc, gas_range = 512, 5
        status = 0x20 | (0x10 if self.heat_stable else 0)  # gas_valid, heat_stab
        regs[0x2A], regs[0x2B] = gas_adc >> 2, ((gas_adc & 0x03) << 6) | status | gas_range
