"""A simulated BME680/BME688 on an I2C bus, for the unmodified ``bme680`` 2.0.0 library.

    chip = SimulatedBME680()                       # BME680 at 0x76, pimoroni test calibration
    chip.set_environment(temperature=21.5, pressure=1002.3, humidity=48.0, gas_resistance=8e4)
    sensor = bme680.BME680(i2c_device=chip)        # or: with patched_smbus(chip): BME680()
    sensor.get_sensor_data()                       # True; sensor.data.temperature == 21.5

Faults (``chip.inject(BrownOut())``, ``chip.fail_next(3)``...) and timing modes are described
in :mod:`fakes.bme680.faults` and :mod:`fakes.bme680.timing`; the accuracy and the pressure
gaps in :mod:`fakes.bme680.compensation_inverse`. Research: ``shared/specs/bme680.md``.
"""

from fakes.bme680.calibration import (
    CALIBRATION_SETS,
    DEFAULT_CALIBRATION,
    CalibrationSet,
    calibration_set,
)
from fakes.bme680.chip import SimulatedBME680, Transaction
from fakes.bme680.environment import Environment
from fakes.bme680.faults import (
    BrownOut,
    BusError,
    Fault,
    HeaterUnstable,
    Injection,
    NoDevice,
    SelfHeating,
    StuckData,
    WrongChipId,
)
from fakes.bme680.library_patches import LibrarySleep, patched_library_sleep, patched_smbus
from fakes.bme680.registers import Variant
from fakes.bme680.timing import (
    ManualClock,
    NewDataPolicy,
    TimingMode,
    forced_duration_s,
    gas_wait_ms,
    tph_duration_us,
)

__all__ = [
    "CALIBRATION_SETS",
    "DEFAULT_CALIBRATION",
    "BrownOut",
    "BusError",
    "CalibrationSet",
    "Environment",
    "Fault",
    "HeaterUnstable",
    "Injection",
    "LibrarySleep",
    "ManualClock",
    "NewDataPolicy",
    "NoDevice",
    "SelfHeating",
    "SimulatedBME680",
    "StuckData",
    "TimingMode",
    "Transaction",
    "Variant",
    "WrongChipId",
    "calibration_set",
    "forced_duration_s",
    "gas_wait_ms",
    "patched_library_sleep",
    "patched_smbus",
    "tph_duration_us",
]
