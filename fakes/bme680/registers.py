"""The BME680/BME688 register map: addresses, bit fields and the power-on image.

Addresses and reset values follow the Bosch datasheet (BST-BME680-DS001, memory map and
sections 5.3.x). Only what the simulated chip needs is named here.
"""

from __future__ import annotations

from enum import IntEnum


class Variant(IntEnum):
    """Contents of the variant register 0xF0."""

    BME680 = 0x00  # gas "low" variant, gas result at 0x2A/0x2B
    BME688 = 0x01  # gas "high" variant, gas result at 0x2C/0x2D


CHIP_ID = 0x61
SOFT_RESET_COMMAND = 0xB6

# Calibration and trimming (non-volatile: never changed by writes or resets)
RES_HEAT_VAL = 0x00  # signed byte
RES_HEAT_RANGE = 0x02  # bits 5:4
RANGE_SW_ERR = 0x04  # bits 7:4, signed nibble
CALIBRATION_BLOCK_1 = range(0x89, 0xA2)  # 25 bytes
CALIBRATION_BLOCK_2 = range(0xE1, 0xEF)  # 14 bytes (the library reads 16, up to 0xF0)

# Field 0: measurement results
MEAS_STATUS = 0x1D
MEAS_INDEX = 0x1E
PRESS_MSB = 0x1F  # 0x1F..0x21, 20-bit, xlsb in bits 7:4
TEMP_MSB = 0x22  # 0x22..0x24, 20-bit, xlsb in bits 7:4
HUM_MSB = 0x25  # 0x25..0x26, 16-bit
GAS_R_MSB_BME680 = 0x2A
GAS_R_LSB_BME680 = 0x2B
GAS_R_MSB_BME688 = 0x2C
GAS_R_LSB_BME688 = 0x2D
FIELD_LENGTH = 17
#: BME688 has three result fields (parallel mode); their data registers reset like field 0.
FIELD_STARTS_BME688 = (0x1D, 0x2E, 0x3F)

# meas_status_0 bits
NEW_DATA = 0x80
GAS_MEASURING = 0x40
MEASURING = 0x20
GAS_INDEX_MASK = 0x0F
# gas_r_lsb bits
GAS_VALID = 0x20
HEAT_STAB = 0x10
GAS_RANGE_MASK = 0x0F

# Heater set-points
HEATER_PROFILES = 10
IDAC_HEAT_0 = 0x50
RES_HEAT_0 = 0x5A
GAS_WAIT_0 = 0x64
GAS_WAIT_SHARED = 0x6E  # BME688 only

# Control registers
CTRL_GAS_0 = 0x70  # bit 3 heat_off
CTRL_GAS_1 = 0x71  # run_gas (bit 4 on BME680, bit 5 on BME688), nb_conv bits 3:0
CTRL_HUM = 0x72  # osrs_h bits 2:0
SPI_MEM_PAGE = 0x73
CTRL_MEAS = 0x74  # osrs_t 7:5, osrs_p 4:2, mode 1:0
CONFIG = 0x75  # filter 4:2

HEAT_OFF = 0x08
RUN_GAS = {Variant.BME680: 0x10, Variant.BME688: 0x20}
NB_CONV_MASK = 0x0F
MODE_MASK = 0x03
MODE_SLEEP = 0b00
MODE_FORCED = 0b01

CHIP_ID_REG = 0xD0
SOFT_RESET_REG = 0xE0
VARIANT_REG = 0xF0

#: ADC outputs of a skipped measurement (oversampling "000"), datasheet 5.3.2.x.
SKIPPED_TP_ADC = 0x80000
SKIPPED_H_ADC = 0x8000

#: Registers a host write changes; writes anywhere else are ignored, as on the chip.
_WRITABLE_COMMON = frozenset(range(IDAC_HEAT_0, GAS_WAIT_0 + HEATER_PROFILES)) | frozenset(
    range(CTRL_GAS_0, CONFIG + 1)
)
WRITABLE = {
    Variant.BME680: _WRITABLE_COMMON,
    Variant.BME688: _WRITABLE_COMMON | {GAS_WAIT_SHARED},
}
#: Control registers whose writes the chip ignores while a conversion runs (datasheet 3.1).
CONTROL = frozenset(_WRITABLE_COMMON | {GAS_WAIT_SHARED}) - {CTRL_MEAS}


def oversampling_t(ctrl_meas: int) -> int:
    return ctrl_meas >> 5


def oversampling_p(ctrl_meas: int) -> int:
    return (ctrl_meas >> 2) & 0x07


def oversampling_h(ctrl_hum: int) -> int:
    return ctrl_hum & 0x07


def filter_code(config: int) -> int:
    return (config >> 2) & 0x07


def data_image(variant: Variant) -> dict[int, int]:
    """Reset values of the result fields: 0x80 in every pressure/temperature/humidity MSB."""
    starts = FIELD_STARTS_BME688 if variant is Variant.BME688 else FIELD_STARTS_BME688[:1]
    image: dict[int, int] = {}
    for start in starts:
        for offset in (2, 5, 8):  # press_msb, temp_msb, hum_msb relative to the status byte
            image[start + offset] = 0x80
    return image
