"""The register file: reset image, calibration encoding, control registers, forced mode."""

from __future__ import annotations

import bme680
import pytest
from bme680.constants import CalibrationData, twos_comp

from fakes.bme680 import CALIBRATION_SETS, SimulatedBME680, Variant
from fakes.bme680 import registers as reg

ADDR = 0x76
PARAMS = [
    *(f"t{i}" for i in range(1, 4)),
    *(f"p{i}" for i in range(1, 11)),
    *(f"h{i}" for i in range(1, 8)),
    *(f"gh{i}" for i in range(1, 4)),
]


def read(chip: SimulatedBME680, register: int) -> int:
    return chip.read_byte_data(ADDR, register)


def forced(chip: SimulatedBME680, ctrl_meas: int = 0x8D) -> None:
    chip.write_byte_data(ADDR, reg.CTRL_MEAS, ctrl_meas)


def adc20(chip: SimulatedBME680, msb: int) -> int:
    b = chip.read_i2c_block_data(ADDR, msb, 3)
    return (b[0] << 12) | (b[1] << 4) | (b[2] >> 4)


@pytest.mark.parametrize("variant", list(Variant))
def test_power_on_values(variant: Variant) -> None:
    chip = SimulatedBME680(variant=variant)
    assert read(chip, 0xD0) == 0x61
    assert read(chip, 0xF0) == variant
    assert read(chip, reg.MEAS_STATUS) == 0x00  # no new data before a measurement
    assert chip.read_i2c_block_data(ADDR, 0x1F, 8) == [0x80, 0, 0, 0x80, 0, 0, 0x80, 0]
    for register in [*range(0x50, 0x6E), *range(0x70, 0x76), 0xE0]:
        assert read(chip, register) == 0, hex(register)


@pytest.mark.parametrize("name", sorted(CALIBRATION_SETS))
def test_library_parses_the_encoded_calibration_back(name: str) -> None:
    """The library's own parser, fed the chip's NVM bytes, yields the set's parameters."""
    cal = CALIBRATION_SETS[name]
    chip = SimulatedBME680(calibration=name)
    parsed = CalibrationData()
    parsed.set_from_array(
        chip.read_i2c_block_data(ADDR, 0x89, 25) + chip.read_i2c_block_data(ADDR, 0xE1, 16)
    )
    parsed.set_other(
        read(chip, 0x02), twos_comp(read(chip, 0x00), 8), twos_comp(read(chip, 0x04), 8)
    )
    for param in PARAMS:
        assert getattr(parsed, f"par_{param}") == getattr(cal, param), param
    assert (parsed.res_heat_range, parsed.res_heat_val) == (cal.res_heat_range, cal.res_heat_val)
    # the chip stores the signed value; the library drops the sign (-1 -> 15, -2 -> 14)
    assert parsed.range_sw_err == cal.range_sw_err % 16
    assert (read(chip, 0x04) >> 4) - (16 if read(chip, 0x04) & 0x80 else 0) == cal.range_sw_err


def test_soft_reset_restores_the_power_on_image() -> None:
    chip = SimulatedBME680()
    image = chip.peek(0, 256)
    chip.write_byte_data(ADDR, reg.CTRL_HUM, 0x02)
    chip.write_byte_data(ADDR, reg.CTRL_GAS_1, 0x10)
    chip.write_byte_data(ADDR, reg.RES_HEAT_0, 0x6A)
    forced(chip)
    assert chip.peek(0, 256) != image
    chip.write_byte_data(ADDR, 0xE0, 0x12)  # anything but 0xB6 does nothing
    assert read(chip, reg.RES_HEAT_0) == 0x6A
    chip.write_byte_data(ADDR, 0xE0, 0xB6)
    assert chip.peek(0, 256) == image


def test_read_only_registers_ignore_writes() -> None:
    chip = SimulatedBME680()
    for register in (0xD0, 0xF0, 0x8A, 0xE9, 0x1D, 0x22, 0x00, 0x04):
        before = read(chip, register)
        chip.write_byte_data(ADDR, register, before ^ 0xFF)
        assert read(chip, register) == before, hex(register)


def test_forced_mode_measures_once_and_returns_to_sleep() -> None:
    chip = SimulatedBME680()
    chip.write_byte_data(ADDR, reg.CTRL_HUM, 0x02)
    forced(chip, 0x8D)
    assert read(chip, reg.CTRL_MEAS) == 0x8C  # mode bits back to sleep, settings kept
    assert read(chip, reg.MEAS_STATUS) & reg.NEW_DATA
    assert read(chip, reg.MEAS_INDEX) == 1
    forced(chip, 0x8C)  # sleep: no measurement
    assert read(chip, reg.MEAS_INDEX) == 1
    forced(chip, 0x8D)
    assert read(chip, reg.MEAS_INDEX) == 2


def test_skipped_oversampling_outputs_0x80000_and_0x8000() -> None:
    chip = SimulatedBME680()
    forced(chip, 0x01)  # osrs_t = osrs_p = 0, ctrl_hum 0
    assert chip.read_i2c_block_data(ADDR, 0x1F, 8) == [0x80, 0, 0, 0x80, 0, 0, 0x80, 0]
    chip.write_byte_data(ADDR, reg.CTRL_HUM, 0x01)
    forced(chip, 0x21)  # temperature 1x, pressure skipped
    assert adc20(chip, 0x1F) == 0x80000
    assert adc20(chip, 0x22) != 0x80000
    assert chip.read_i2c_block_data(ADDR, 0x25, 2) != [0x80, 0x00]


def test_ctrl_hum_takes_effect_at_the_next_ctrl_meas_write() -> None:
    chip = SimulatedBME680()
    forced(chip, 0x25)
    chip.write_byte_data(ADDR, reg.CTRL_HUM, 0x01)  # not yet latched
    chip.write_byte_data(ADDR, reg.CTRL_GAS_1, 0x00)
    assert chip.read_i2c_block_data(ADDR, 0x25, 2) == [0x80, 0x00]
    forced(chip, 0x25)  # this write latches osrs_h = 1
    assert chip.read_i2c_block_data(ADDR, 0x25, 2) != [0x80, 0x00]


def test_without_filter_low_oversampling_has_16_bit_resolution() -> None:
    chip = SimulatedBME680()
    chip.set_environment(temperature=23.456, pressure=987.654)
    forced(chip, 0x25)  # T 1x, P 1x, filter off
    assert adc20(chip, 0x22) % 16 == 0 and adc20(chip, 0x1F) % 16 == 0
    chip.write_byte_data(ADDR, reg.CONFIG, 0x08)  # filter 3: 20-bit results
    codes = set()
    for t in (23.451, 23.452, 23.453, 23.454):
        chip.set_environment(temperature=t)
        forced(chip, 0x25)
        codes.add(adc20(chip, 0x22) % 16)
    assert codes != {0}


@pytest.mark.parametrize(
    ("variant", "run_gas", "gas_lsb"),
    [(Variant.BME680, 0x10, 0x2B), (Variant.BME688, 0x20, 0x2D)],
)
def test_gas_result_location_and_bits(variant: Variant, run_gas: int, gas_lsb: int) -> None:
    chip = SimulatedBME680(variant=variant)
    other_lsb = 0x2D if gas_lsb == 0x2B else 0x2B
    chip.write_byte_data(ADDR, reg.GAS_WAIT_0, 0x65)  # 148 ms
    chip.write_byte_data(ADDR, reg.RES_HEAT_0, 0x6A)
    chip.write_byte_data(ADDR, reg.CTRL_GAS_1, 0x30 ^ run_gas)  # the other variant's run_gas
    forced(chip)
    assert read(chip, gas_lsb) & (reg.GAS_VALID | reg.HEAT_STAB) == 0
    chip.write_byte_data(ADDR, reg.CTRL_GAS_1, run_gas)
    forced(chip)
    assert read(chip, gas_lsb) & (reg.GAS_VALID | reg.HEAT_STAB) == reg.GAS_VALID | reg.HEAT_STAB
    assert read(chip, other_lsb) == 0
    chip.write_byte_data(ADDR, reg.CTRL_GAS_0, reg.HEAT_OFF)
    forced(chip)
    assert read(chip, gas_lsb) & (reg.GAS_VALID | reg.HEAT_STAB) == reg.GAS_VALID


@pytest.mark.parametrize(
    ("gas_wait", "res_heat", "stable"),
    [(0x65, 0x6A, True), (0x13, 0x6A, False), (0x14, 0x6A, True), (0x00, 0x6A, False),
     (0x65, 0xFF, False)],
)  # fmt: skip
def test_heat_stab_needs_time_and_a_reachable_target(
    gas_wait: int, res_heat: int, stable: bool
) -> None:
    chip = SimulatedBME680()
    chip.write_byte_data(ADDR, reg.GAS_WAIT_0 + 3, gas_wait)
    chip.write_byte_data(ADDR, reg.RES_HEAT_0 + 3, res_heat)
    chip.write_byte_data(ADDR, reg.CTRL_GAS_1, 0x10 | 3)  # run gas with profile 3
    forced(chip)
    assert read(chip, reg.MEAS_STATUS) == reg.NEW_DATA | 3  # gas index = profile
    assert bool(read(chip, 0x2B) & reg.HEAT_STAB) is stable


def test_block_write_is_register_value_pairs() -> None:
    chip = SimulatedBME680()
    chip.write_i2c_block_data(ADDR, reg.CTRL_HUM, [0x02, reg.CONFIG, 0x08, reg.CTRL_GAS_1])
    assert read(chip, reg.CTRL_HUM) == 0x02
    assert read(chip, reg.CONFIG) == 0x08
    assert read(chip, reg.CTRL_GAS_1) == 0  # a trailing address without data writes nothing
    assert read(chip, 0x73) == 0  # not auto-increment


def test_library_setters_land_in_the_registers(chip: SimulatedBME680) -> None:
    sensor = bme680.BME680(i2c_device=chip)
    assert [read(chip, r) for r in (0x71, 0x72, 0x74, 0x75)] == [0x10, 0x02, 0x8C, 0x08]
    sensor.set_gas_heater_temperature(320)
    sensor.set_gas_heater_duration(150)
    assert (read(chip, 0x5A), read(chip, 0x64)) == (0x6A, 0x65)
    sensor.select_gas_heater_profile(2)
    assert read(chip, 0x71) == 0x12
