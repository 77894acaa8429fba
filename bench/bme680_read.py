"""One ``get_sensor_data()`` of the real bme680 library on the simulated chip, timed.

Median wall time of one call (instant timing mode, library defaults: T 8x, P 4x, H 2x,
filter 3, gas on) over N calls, printed beside the physical chip's forced-mode cycle for the
same settings from the datasheet formula. Two cases: the same environment on every call (the
chip reuses the ADC codes it chose) and a new environment on every call (every call inverts
the compensation afresh, as in a simulated day). Target: at most 100 microseconds per call.

    python -m bench.bme680_read [--calls N] [--seed S]
"""

from __future__ import annotations

import argparse
import random
import statistics
import time

import bme680

from fakes.bme680 import SimulatedBME680, forced_duration_s, gas_wait_ms, patched_library_sleep

TARGET_US = 100.0
HEATER_MS = 150  # the examples' heater duration (encoded by the library as 148 ms)


def time_calls(
    chip: SimulatedBME680,
    sensor: bme680.BME680,
    calls: int,
    before_each: list[dict[str, float]] | None = None,
) -> list[float]:
    """Microseconds per ``get_sensor_data()``; ``before_each`` sets the environment first."""
    samples = []
    clock = time.perf_counter_ns
    for i in range(calls):
        if before_each is not None:
            chip.set_environment(**before_each[i])
        start = clock()
        ok = sensor.get_sensor_data()
        samples.append((clock() - start) / 1000)
        if not ok:
            raise RuntimeError("get_sensor_data() returned False on the simulated chip")
    return samples


def environments(count: int, seed: int) -> list[dict[str, float]]:
    rng = random.Random(seed)
    return [
        {
            "temperature": rng.uniform(-40, 85),
            "pressure": rng.uniform(300, 1100),
            "humidity": rng.uniform(0, 100),
            "gas_resistance": 10 ** rng.uniform(3, 7),
        }
        for _ in range(count)
    ]


def main(argv: list[str] | None = None) -> float:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    with patched_library_sleep():
        chip = SimulatedBME680()
        sensor = bme680.BME680(i2c_device=chip)
        sensor.set_gas_heater_profile(320, HEATER_MS)
        chip.set_environment(
            temperature=21.5, pressure=1008.2, humidity=45.0, gas_resistance=90_000.0
        )
        time_calls(chip, sensor, 200)  # warm-up
        steady = statistics.median(time_calls(chip, sensor, args.calls))
        changing = statistics.median(
            time_calls(chip, sensor, args.calls, environments(args.calls, args.seed))
        )

    tph = sensor.tph_settings
    physical_ms = forced_duration_s(tph.os_temp, tph.os_pres, tph.os_hum) * 1000
    heater_ms = gas_wait_ms(chip.read_byte_data(sensor.i2c_addr, 0x64))  # as the chip decodes it
    heated_ms = forced_duration_s(tph.os_temp, tph.os_pres, tph.os_hum, heater_ms) * 1000

    def verdict(us: float) -> str:
        return "meets" if us <= TARGET_US else "MISSES"

    print(
        f"bme680.get_sensor_data() on the simulated chip ({args.calls:,} calls each, "
        "instant timing, median)"
    )
    print(
        f"  same environment each call : {steady:8.1f} us   ({verdict(steady)} the target of "
        f"at most {TARGET_US:.0f} us)"
    )
    print(
        f"  new environment each call  : {changing:8.1f} us   ({verdict(changing)} the "
        f"target of at most {TARGET_US:.0f} us)"
    )
    print(
        f"  physical forced cycle      : {physical_ms:8.3f} ms  (datasheet formula, T 8x / "
        f"P 4x / H 2x, no heater), {heated_ms:.3f} ms with the {HEATER_MS} ms heater "
        f"(encoded {heater_ms} ms)"
    )
    print(
        f"  simulated/physical         : {physical_ms * 1000 / steady:8.0f} x faster "
        f"({physical_ms * 1000 / changing:,.0f} x with a new environment each call)"
    )
    return steady


if __name__ == "__main__":
    main()
