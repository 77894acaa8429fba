"""Constants, helpers and plain data holders of the drop-in ``bme680`` (API of bme680 2.0.0).

Every name of the real ``bme680.constants`` exists here with the same value; the contract
tests in ``tests/bme680_dropin`` compare them one by one with the installed library. The
values are the BME680's register map and the Bosch driver's codes; the helpers and classes
below are written for the drop-in and behave like the library's.
"""

from typing import Any as _Any

# --------------------------------------------------------------------------- device identity
I2C_ADDR_PRIMARY = 0x76  # SDO to GND
I2C_ADDR_SECONDARY = 0x77  # SDO to VDDIO
CHIP_ID = 0x61
VARIANT_LOW = 0x00  # BME680
VARIANT_HIGH = 0x01  # BME688
CHIP_ID_ADDR = 0xD0
CHIP_VARIANT_ADDR = 0xF0
SOFT_RESET_ADDR = 0xE0
SOFT_RESET_CMD = 0xB6

# --------------------------------------------------------------------------- timing (ms)
POLL_PERIOD_MS = 10
RESET_PERIOD = 10

# --------------------------------------------------------------------------- sizes
COEFF_SIZE = 41
COEFF_ADDR1_LEN = 25
COEFF_ADDR2_LEN = 16
FIELD_LENGTH = 17
FIELD_ADDR_OFFSET = 17
TMP_BUFFER_LENGTH = 40
REG_BUFFER_LENGTH = 6
FIELD_DATA_LENGTH = 3
GAS_REG_BUF_LENGTH = 20
GAS_HEATER_PROF_LEN_MAX = 10

# --------------------------------------------------------------------------- result codes
OK = 0
E_NULL_PTR = -1
E_COM_FAIL = -2
E_DEV_NOT_FOUND = -3
E_INVALID_LENGTH = -4
W_DEFINE_PWR_MODE = 1
W_NO_NEW_DATA = 2
I_MIN_CORRECTION = 1
I_MAX_CORRECTION = 2

# --------------------------------------------------------------------------- register map
ADDR_RES_HEAT_VAL_ADDR = 0x00
ADDR_RES_HEAT_RANGE_ADDR = 0x02
ADDR_RANGE_SW_ERR_ADDR = 0x04
FIELD0_ADDR = 0x1D
ADDR_SENS_CONF_START = 0x5A
RES_HEAT0_ADDR = 0x5A
ADDR_GAS_CONF_START = 0x64
GAS_WAIT0_ADDR = 0x64
CONF_HEAT_CTRL_ADDR = 0x70
CONF_ODR_RUN_GAS_NBC_ADDR = 0x71
CONF_OS_H_ADDR = 0x72
MEM_PAGE_ADDR = 0xF3
CONF_T_P_MODE_ADDR = 0x74
CONF_ODR_FILT_ADDR = 0x75
COEFF_ADDR1 = 0x89
COEFF_ADDR2 = 0xE1

# --------------------------------------------------------------------------- settings values
ENABLE_HEATER = 0x00
DISABLE_HEATER = 0x08
GAS_HEAT_ENABLE = 0
GAS_HEAT_DISABLE = 1
DISABLE_GAS_MEAS = 0x00
ENABLE_GAS_MEAS = -1  # picks LOW or HIGH from the chip variant
ENABLE_GAS_MEAS_LOW = 0x01
ENABLE_GAS_MEAS_HIGH = 0x02
RUN_GAS_DISABLE = 0
RUN_GAS_ENABLE = 1

OS_NONE, OS_1X, OS_2X, OS_4X, OS_8X, OS_16X = range(6)

FILTER_SIZE_0 = 0
FILTER_SIZE_1 = 1
FILTER_SIZE_3 = 2
FILTER_SIZE_7 = 3
FILTER_SIZE_15 = 4
FILTER_SIZE_31 = 5
FILTER_SIZE_63 = 6
FILTER_SIZE_127 = 7

SLEEP_MODE = 0
FORCED_MODE = 1

MEM_PAGE0 = 0x10
MEM_PAGE1 = 0x00
HUM_REG_SHIFT_VAL = 4

NBCONV_MIN = 0
NBCONV_MAX = 9  # ten heater profiles, 0..9

# --------------------------------------------------------------------------- settings selectors
OST_SEL = 1
OSP_SEL = 2
OSH_SEL = 4
GAS_MEAS_SEL = 8
FILTER_SEL = 16
HCNTRL_SEL = 32
RUN_GAS_SEL = 64
NBCONV_SEL = 128
GAS_SENSOR_SEL = GAS_MEAS_SEL | RUN_GAS_SEL | NBCONV_SEL

# --------------------------------------------------------------------------- bit fields
GAS_MEAS_MSK = 0x30
NBCONV_MSK = 0x0F
FILTER_MSK = 0x1C
OST_MSK = 0xE0
OSP_MSK = 0x1C
OSH_MSK = 0x07
HCTRL_MSK = 0x08
RUN_GAS_MSK = 0x30
MODE_MSK = 0x03
RHRANGE_MSK = 0x30
RSERROR_MSK = 0xF0
NEW_DATA_MSK = 0x80
GAS_INDEX_MSK = 0x0F
GAS_RANGE_MSK = 0x0F
GASM_VALID_MSK = 0x20
HEAT_STAB_MSK = 0x10
MEM_PAGE_MSK = 0x10
SPI_RD_MSK = 0x80
SPI_WR_MSK = 0x7F
BIT_H1_DATA_MSK = 0x0F

GAS_MEAS_POS = 4
FILTER_POS = 2
OST_POS = 5
OSP_POS = 2
OSH_POS = 0
HCTRL_POS = 3
RUN_GAS_POS = 4
MODE_POS = 0
NBCONV_POS = 0

# --------------------------------------------------------------------------- calibration layout
# Index of each byte in the 41-byte calibration array (25 bytes from 0x89, 16 from 0xE1).
T2_LSB_REG, T2_MSB_REG, T3_REG = 1, 2, 3
P1_LSB_REG, P1_MSB_REG, P2_LSB_REG, P2_MSB_REG, P3_REG = 5, 6, 7, 8, 9
P4_LSB_REG, P4_MSB_REG, P5_LSB_REG, P5_MSB_REG = 11, 12, 13, 14
P7_REG, P6_REG = 15, 16
P8_LSB_REG, P8_MSB_REG, P9_LSB_REG, P9_MSB_REG, P10_REG = 19, 20, 21, 22, 23
H2_MSB_REG, H2_LSB_REG, H1_LSB_REG, H1_MSB_REG = 25, 26, 26, 27
H3_REG, H4_REG, H5_REG, H6_REG, H7_REG = 28, 29, 30, 31, 32
T1_LSB_REG, T1_MSB_REG = 33, 34
GH2_LSB_REG, GH2_MSB_REG, GH1_REG, GH3_REG = 35, 36, 37, 38

REG_FILTER_INDEX = 5
REG_TEMP_INDEX = 4
REG_PRES_INDEX = 4
REG_HUM_INDEX = 2
REG_NBCONV_INDEX = 1
REG_RUN_GAS_INDEX = 1
REG_HCTRL_INDEX = 0

# --------------------------------------------------------------------------- gas range tables
_FULL = 2147483647
lookupTable1 = [
    _FULL, _FULL, _FULL, _FULL, _FULL, 2126008810, _FULL, 2130303777,
    _FULL, _FULL, 2143188679, 2136746228, _FULL, 2126008810, _FULL, _FULL,
]  # fmt: skip
lookupTable2 = [
    4096000000, 2048000000, 1024000000, 512000000, 255744255, 127110228, 64000000, 32258064,
    16016016, 8000000, 4000000, 2000000, 1000000, 500000, 250000, 125000,
]  # fmt: skip


# --------------------------------------------------------------------------- helpers
def twos_comp(val: _Any, bits: _Any = 16) -> _Any:
    """``val`` read as a ``bits``-wide two's complement number."""
    sign_bit = 1 << (bits - 1)
    if val & sign_bit != 0:
        return val - (1 << bits)
    return val


def bytes_to_word(msb: _Any, lsb: _Any, bits: _Any = 16, signed: _Any = False) -> _Any:
    """The word ``msb:lsb``, optionally read as signed."""
    word = (msb << 8) | lsb
    return twos_comp(word, bits) if signed else word


# --------------------------------------------------------------------------- data holders
class FieldData:
    """One reading: temperature degC, pressure hPa, humidity %RH, gas ohm, status flags."""

    def __init__(self) -> None:
        self.status: _Any = None
        self.heat_stable: _Any = False
        self.gas_index: _Any = None
        self.meas_index: _Any = None
        self.temperature: _Any = None
        self.pressure: _Any = None
        self.humidity: _Any = None
        self.gas_resistance: _Any = None


_UNSIGNED_WORDS = {"par_t1": (T1_MSB_REG, T1_LSB_REG), "par_p1": (P1_MSB_REG, P1_LSB_REG)}
_SIGNED_WORDS = {
    "par_t2": (T2_MSB_REG, T2_LSB_REG),
    "par_p2": (P2_MSB_REG, P2_LSB_REG),
    "par_p4": (P4_MSB_REG, P4_LSB_REG),
    "par_p5": (P5_MSB_REG, P5_LSB_REG),
    "par_p8": (P8_MSB_REG, P8_LSB_REG),
    "par_p9": (P9_MSB_REG, P9_LSB_REG),
    "par_gh2": (GH2_MSB_REG, GH2_LSB_REG),
}
_SIGNED_BYTES = {
    "par_t3": T3_REG, "par_p3": P3_REG, "par_p6": P6_REG, "par_p7": P7_REG,
    "par_h3": H3_REG, "par_h4": H4_REG, "par_h5": H5_REG, "par_h7": H7_REG,
    "par_gh1": GH1_REG, "par_gh3": GH3_REG,
}  # fmt: skip
_UNSIGNED_BYTES = {"par_p10": P10_REG, "par_h6": H6_REG}


class CalibrationData:
    """The chip's factory calibration parameters, as the library names them."""

    def __init__(self) -> None:
        for name in (
            "par_h1", "par_h2", "par_h3", "par_h4", "par_h5", "par_h6", "par_h7",
            "par_gh1", "par_gh2", "par_gh3", "par_t1", "par_t2", "par_t3",
            "par_p1", "par_p2", "par_p3", "par_p4", "par_p5", "par_p6", "par_p7", "par_p8",
            "par_p9", "par_p10", "t_fine", "res_heat_range", "res_heat_val", "range_sw_err",
        ):  # fmt: skip
            setattr(self, name, None)

    def set_from_array(self, calibration: _Any) -> None:
        """Read the parameters out of the 41 calibration bytes (0x89.. then 0xE1..)."""
        for name, (msb, lsb) in _UNSIGNED_WORDS.items():
            setattr(self, name, bytes_to_word(calibration[msb], calibration[lsb]))
        for name, (msb, lsb) in _SIGNED_WORDS.items():
            setattr(self, name, bytes_to_word(calibration[msb], calibration[lsb], 16, True))
        for name, index in _SIGNED_BYTES.items():
            setattr(self, name, twos_comp(calibration[index], 8))
        for name, index in _UNSIGNED_BYTES.items():
            setattr(self, name, calibration[index])
        # h1 and h2 are 12-bit values that share the nibbles of one byte
        shift, low_nibble = HUM_REG_SHIFT_VAL, BIT_H1_DATA_MSK
        self.par_h1 = (calibration[H1_MSB_REG] << shift) | (calibration[H1_LSB_REG] & low_nibble)
        self.par_h2 = (calibration[H2_MSB_REG] << shift) | (calibration[H2_LSB_REG] >> shift)

    def set_other(self, heat_range: _Any, heat_value: _Any, sw_error: _Any) -> None:
        """Heater range and value, and the gas range switching error (its sign is dropped)."""
        self.res_heat_range = (heat_range & RHRANGE_MSK) // 16
        self.res_heat_val = heat_value
        self.range_sw_err = (sw_error & RSERROR_MSK) // 16


class TPHSettings:
    """Oversampling and filter values last passed to the setters."""

    def __init__(self) -> None:
        self.os_hum: _Any = None
        self.os_temp: _Any = None
        self.os_pres: _Any = None
        self.filter: _Any = None


class GasSettings:
    """Gas settings last passed to the setters."""

    def __init__(self) -> None:
        self.nb_conv: _Any = None
        self.heatr_ctrl: _Any = None
        self.run_gas: _Any = None
        self.heatr_temp: _Any = None
        self.heatr_dur: _Any = None


class BME680Data:
    """The attributes every sensor object carries."""

    def __init__(self) -> None:
        self.chip_id: _Any = None
        self.dev_id: _Any = None
        self.intf: _Any = None
        self.mem_page: _Any = None
        self.ambient_temperature: _Any = None
        self.data = FieldData()
        self.calibration_data = CalibrationData()
        self.tph_settings = TPHSettings()
        self.gas_settings = GasSettings()
        self.power_mode: _Any = None
        self.new_fields: _Any = None
