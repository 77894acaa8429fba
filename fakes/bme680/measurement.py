"""Turning the environment and the chip's settings into one conversion's register bytes."""

from __future__ import annotations

from dataclasses import dataclass

from fakes.bme680 import compensation as comp
from fakes.bme680 import compensation_inverse as inverse
from fakes.bme680 import registers as reg
from fakes.bme680.calibration import CalibrationSet
from fakes.bme680.environment import Environment, humidity_at
from fakes.bme680.faults import Fault, HeaterUnstable, SelfHeating
from fakes.bme680.heater import heat_stable
from fakes.bme680.timing import gas_wait_ms

_CACHE_LIMIT = 4096


@dataclass(slots=True)
class Result:
    """One finished conversion, ready for field 0."""

    tph: bytes  # 0x1F..0x26
    gas: tuple[int, int] | None  # (gas_r_msb, gas_r_lsb), None when gas did not run
    gas_index: int


class ResultEncoder:
    """Chooses the ADC codes for an environment (and remembers recent choices)."""

    def __init__(self, cal: CalibrationSet, variant: reg.Variant, heater_settle_ms: float) -> None:
        self.calibration = cal
        self.variant = variant
        self.heater_settle_ms = heater_settle_ms
        self._run_gas_bit = reg.RUN_GAS[variant]
        self._sw_err = cal.library_range_sw_err
        self._fine_of = comp.t_fine_map(cal)
        self._tph_cache: dict[tuple[float, float, float, int, int], tuple[int, int, int]] = {}
        self._gas_cache: dict[float, tuple[int, int]] = {}

    def encode(
        self, regs: bytearray, osrs_h: int, env: Environment, faults: tuple[Fault, ...]
    ) -> Result:
        """The result of a forced conversion with the settings in ``regs``.

        ``osrs_h`` is the humidity oversampling latched at the last ctrl_meas write; ``faults``
        are the ones engaged when the conversion starts.
        """
        ctrl_meas = regs[reg.CTRL_MEAS]
        osrs_t, osrs_p = reg.oversampling_t(ctrl_meas), reg.oversampling_p(ctrl_meas)
        filter_code = reg.filter_code(regs[reg.CONFIG])
        temperature, humidity = env.temperature, env.humidity
        heater_fault = False
        for fault in faults:
            if isinstance(fault, SelfHeating):
                die = temperature + fault.offset_c
                if fault.humidity_follows:
                    humidity = humidity_at(humidity, temperature, die)
                temperature = die
            elif isinstance(fault, HeaterUnstable):
                heater_fault = True
        # the raw codes follow the true die temperature even when T itself is skipped
        step_t = inverse.adc_step(osrs_t, filter_code) if osrs_t else 1
        step_p = inverse.adc_step(osrs_p, filter_code) if osrs_p else 1
        adc_t, adc_p, adc_h = self._tph_codes(temperature, env.pressure, humidity, step_t, step_p)
        if not osrs_t:
            adc_t = reg.SKIPPED_TP_ADC
        if not osrs_p:
            adc_p = reg.SKIPPED_TP_ADC
        if not osrs_h:
            adc_h = reg.SKIPPED_H_ADC
        tph = bytes((
            adc_p >> 12, (adc_p >> 4) & 0xFF, (adc_p & 0x0F) << 4,
            adc_t >> 12, (adc_t >> 4) & 0xFF, (adc_t & 0x0F) << 4,
            adc_h >> 8, adc_h & 0xFF,
        ))  # fmt: skip
        ctrl_gas_1 = regs[reg.CTRL_GAS_1]
        profile = ctrl_gas_1 & reg.NB_CONV_MASK
        gas = None
        if ctrl_gas_1 & self._run_gas_bit:
            adc, gas_range = self._gas_codes(env.gas_resistance)
            stable = (
                not heater_fault
                and not regs[reg.CTRL_GAS_0] & reg.HEAT_OFF
                and profile < reg.HEATER_PROFILES
                and heat_stable(
                    regs[reg.RES_HEAT_0 + profile],
                    gas_wait_ms(regs[reg.GAS_WAIT_0 + profile]),
                    temperature,
                    self.calibration,
                    self.heater_settle_ms,
                )
            )
            lsb = ((adc & 0x03) << 6) | reg.GAS_VALID | gas_range
            gas = (adc >> 2, lsb | reg.HEAT_STAB if stable else lsb)
        return Result(tph, gas, profile)

    def _tph_codes(
        self, temperature: float, pressure: float, humidity: float, step_t: int, step_p: int
    ) -> tuple[int, int, int]:
        key = (temperature, pressure, humidity, step_t, step_p)
        codes = self._tph_cache.get(key)
        if codes is None:
            cal = self.calibration
            adc_t = inverse.temperature_code(temperature, cal, step_t)
            fine = self._fine_of(adc_t)
            adc_p = inverse.pressure_code(pressure, fine, cal, step_p)
            adc_h = inverse.humidity_code(humidity, comp.centi_celsius(fine), cal)
            codes = (adc_t, adc_p, adc_h)
            if len(self._tph_cache) >= _CACHE_LIMIT:
                self._tph_cache.clear()
            self._tph_cache[key] = codes
        return codes

    def _gas_codes(self, ohms: float) -> tuple[int, int]:
        codes = self._gas_cache.get(ohms)
        if codes is None:
            codes = inverse.gas_code(ohms, self.variant, self._sw_err)
            if len(self._gas_cache) >= _CACHE_LIMIT:
                self._gas_cache.clear()
            self._gas_cache[ohms] = codes
        return codes
