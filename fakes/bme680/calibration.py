"""Factory calibration parameter sets and their encoding into the chip's NVM registers.

Each set is a real chip's trimming, as published (see ``shared/specs/bme680.md`` section 4).
``encode`` turns a set into register bytes laid out as the datasheet's memory map has them, so
the unmodified library parses it back into the same parameters.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

from fakes.bme680 import registers as reg

# (low, high) allowed values for each parameter, from the register widths and signedness.
_U8, _S8, _U16, _S16, _U12 = (0, 255), (-128, 127), (0, 65535), (-32768, 32767), (0, 4095)
_LIMITS = {
    "t1": _U16, "t2": _S16, "t3": _S8,
    "p1": _U16, "p2": _S16, "p3": _S8, "p4": _S16, "p5": _S16, "p6": _S8, "p7": _S8,
    "p8": _S16, "p9": _S16, "p10": _U8,
    "h1": _U12, "h2": _U12, "h3": _S8, "h4": _S8, "h5": _S8, "h6": _U8, "h7": _S8,
    "gh1": _S8, "gh2": _S16, "gh3": _S8,
    "res_heat_range": (0, 3), "res_heat_val": _S8, "range_sw_err": (-8, 7),
}  # fmt: skip


@dataclass(frozen=True, slots=True)
class CalibrationSet:
    """One chip's calibration parameters, as the chip stores them (``range_sw_err`` signed)."""

    name: str
    t1: int
    t2: int
    t3: int
    p1: int
    p2: int
    p3: int
    p4: int
    p5: int
    p6: int
    p7: int
    p8: int
    p9: int
    p10: int
    h1: int
    h2: int
    h3: int = 0
    h4: int = 45
    h5: int = 20
    h6: int = 120
    h7: int = -100
    gh1: int = 0
    gh2: int = 0
    gh3: int = 0
    res_heat_range: int = 0
    res_heat_val: int = 0
    range_sw_err: int = 0
    source: str = ""

    def __post_init__(self) -> None:
        for f in fields(self):
            limits = _LIMITS.get(f.name)
            if limits is None:
                continue
            value = getattr(self, f.name)
            if not isinstance(value, int) or not limits[0] <= value <= limits[1]:
                raise ValueError(f"calibration {f.name}={value!r} outside {limits[0]}..{limits[1]}")
        if self.p1 == 0:
            raise ValueError("calibration p1=0: the library would divide by zero")

    @property
    def library_range_sw_err(self) -> int:
        """``range_sw_err`` as bme680 2.0.0 parses it: the sign is lost (-1 reads as 15)."""
        return self.range_sw_err & 0x0F


def _le16(value: int) -> tuple[int, int]:
    value &= 0xFFFF
    return value & 0xFF, value >> 8


def encode(cal: CalibrationSet) -> dict[int, int]:
    """The NVM register bytes (address -> byte) that hold ``cal``."""
    out: dict[int, int] = {}

    def word(lsb_address: int, value: int) -> None:
        out[lsb_address], out[lsb_address + 1] = _le16(value)

    def byte(address: int, value: int) -> None:
        out[address] = value & 0xFF

    for address in (*reg.CALIBRATION_BLOCK_1, *reg.CALIBRATION_BLOCK_2):
        out[address] = 0  # reserved bytes inside the blocks read as zero
    word(0x8A, cal.t2)
    byte(0x8C, cal.t3)
    word(0x8E, cal.p1)
    word(0x90, cal.p2)
    byte(0x92, cal.p3)
    word(0x94, cal.p4)
    word(0x96, cal.p5)
    byte(0x98, cal.p7)  # p7 comes before p6 in the map
    byte(0x99, cal.p6)
    word(0x9C, cal.p8)
    word(0x9E, cal.p9)
    byte(0xA0, cal.p10)
    # h1 and h2 are 12-bit values sharing the nibbles of 0xE2
    byte(0xE1, cal.h2 >> 4)
    byte(0xE2, ((cal.h2 & 0x0F) << 4) | (cal.h1 & 0x0F))
    byte(0xE3, cal.h1 >> 4)
    byte(0xE4, cal.h3)
    byte(0xE5, cal.h4)
    byte(0xE6, cal.h5)
    byte(0xE7, cal.h6)
    byte(0xE8, cal.h7)
    word(0xE9, cal.t1)
    word(0xEB, cal.gh2)
    byte(0xED, cal.gh1)
    byte(0xEE, cal.gh3)
    byte(reg.RES_HEAT_VAL, cal.res_heat_val)
    byte(reg.RES_HEAT_RANGE, cal.res_heat_range << 4)
    byte(reg.RANGE_SW_ERR, (cal.range_sw_err & 0x0F) << 4)
    return out


CALIBRATION_SETS: dict[str, CalibrationSet] = {
    s.name: s
    for s in (
        CalibrationSet(
            "pimoroni-test", t1=26041, t2=26469, t3=3,
            p1=36673, p2=-10515, p3=88, p4=7310, p5=-129, p6=30, p7=46, p8=-3177, p9=-2379,
            p10=30, h1=676, h2=1029, gh1=-30, gh2=-24754, gh3=18,
            res_heat_range=1, res_heat_val=48, range_sw_err=0,
            source="pimoroni/bme680-python tests/conftest.py (chip of pimoroni issue #11)",
        ),
        CalibrationSet(
            "wrclark-readme", t1=26203, t2=26519, t3=3,
            p1=35008, p2=-10284, p3=88, p4=9692, p5=-202, p6=30, p7=24, p8=-516, p9=-3469,
            p10=30, h1=794, h2=1007,
            source="wrclark/bme680 README (no gas heater parameters published: left at 0)",
        ),
        CalibrationSet(
            "bosch-forum", t1=26045, t2=26419, t3=3,
            p1=36759, p2=-10411, p3=88, p4=7301, p5=-50, p6=30, p7=51, p8=-3768, p9=-2137,
            p10=30, h1=717, h2=1022, gh1=-47, gh2=-11597, gh3=18,
            res_heat_range=1, res_heat_val=47, range_sw_err=-1,
            source="Bosch Sensortec community thread 'BME680 always results in "
            "BME680_W_NO_NEW_DATA'",
        ),
        CalibrationSet(
            "adafruit-57-bme688", t1=26243, t2=26635, t3=3,
            p1=35770, p2=-10370, p3=88, p4=5392, p5=73, p6=30, p7=14, p8=733, p9=-3981,
            p10=30, h1=792, h2=1007, gh1=-20, gh2=-19363, gh3=18,
            res_heat_range=1, res_heat_val=44, range_sw_err=-2,
            source="adafruit/Adafruit_BME680 issue #57 (a BME688)",
        ),
    )
}  # fmt: skip

DEFAULT_CALIBRATION = "pimoroni-test"


def calibration_set(name_or_set: str | CalibrationSet) -> CalibrationSet:
    """Look a set up by name (or pass a :class:`CalibrationSet` through)."""
    if isinstance(name_or_set, CalibrationSet):
        return name_or_set
    try:
        return CALIBRATION_SETS[name_or_set]
    except KeyError:
        known = ", ".join(sorted(CALIBRATION_SETS))
        raise KeyError(f"unknown calibration set {name_or_set!r}; known: {known}") from None
