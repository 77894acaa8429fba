"""The documented limits on what the harness's YAML files may ask for, in one place.

A file beyond a limit is refused when it is loaded, with ``file:line: field: problem``, so no
file can make a run hang, exhaust memory or end in a traceback halfway. The numbers are
chosen so every shipped scenario fits with room to spare (``rainy_day`` is a whole simulated
day: 86,400 s, 1,440 steps, 17,280 readings) and a run at the limits still ends in minutes
on the ``sim`` rig (measured: about 0.2 ms a step, 0.75 ms a device reading).

The README's scenario section and the schemas' field descriptions state them.
"""

from __future__ import annotations

# ---------------------------------------------------------------- every YAML file

#: Largest group, scenario or pi config file read (a 36,000-subscription group is 3.9 MB).
MAX_FILE_BYTES = 8 * 1024 * 1024
#: Deepest nesting of mappings and lists in a YAML file.
MAX_NESTING = 64
#: Most values (mappings, lists and scalars) in a YAML document, counted with its aliases
#: expanded: ``*alias`` repeats what its anchor holds, so a few lines of aliases can stand
#: for a billion values (the "billion laughs").
MAX_VALUES = 1_000_000
#: Most characters of text in a YAML document with its aliases expanded (what a file of
#: :data:`MAX_FILE_BYTES` can hold without aliases).
MAX_TEXT_CHARS = MAX_FILE_BYTES

# ---------------------------------------------------------------- scenarios: time

#: Longest run (``duration``) and latest time anything may happen at: a week.
MAX_DURATION_S = 7 * 24 * 3600.0
#: Shortest ``step`` between expectation checks.
MIN_STEP_S = 0.01
#: Most stops of a run: ``duration / step`` (a day at the default 1 s step fits).
MAX_STOPS = 100_000
#: Most expectation checks of a run: stops times expectations.
MAX_CHECKS = 2_000_000
#: Shortest device ``period`` (a BME680 forced-mode measurement with the gas heater takes
#: tens of milliseconds).
MIN_PERIOD_S = 0.1
#: Most device readings of a run: ``duration / period`` (a week every 5 s is 120,960).
MAX_READINGS = 200_000

# ---------------------------------------------------------------- scenarios: sizes

#: Most stimuli, faults, expectations and environment points in one scenario.
MAX_STIMULI = 10_000
MAX_FAULTS = 1_000
MAX_EXPECTATIONS = 1_000
MAX_POINTS = 100_000
#: Most rainy stretches in ``truth``.
MAX_INTERVALS = 10_000
#: Most messages the stimuli publish in all (``repeat`` summed over every publish).
MAX_MESSAGES = 100_000
#: Most invocations one ``lambda_timeout`` fault stalls.
MAX_STALLED_INVOCATIONS = 100_000
#: Largest payload a stimulus publishes or a desired state sends, encoded: the MQTT broker's
#: and AWS IoT Core's message size limit (128 KiB).
MAX_PAYLOAD_BYTES = 128 * 1024
#: Largest trace file a scenario's environment may replay (a week at one reading every
#: 5 s is about 20 MB of JSON lines).
MAX_TRACE_BYTES = 64 * 1024 * 1024
#: Longest text field of a scenario (name, description, paths, log text).
MAX_TEXT = 10_000
#: Most conditions in one ``where:`` list.
MAX_CONDITIONS = 100
#: Largest count, counter value or I2C transaction count a scenario may name.
MAX_COUNT = 1_000_000_000
#: Largest ``seed`` (the random generators take 32-bit seeds everywhere).
MAX_SEED = 2**32 - 1
#: The CPU temperature's range, degrees C (a Raspberry Pi SoC's sensor: -40..125).
CPU_TEMPERATURE_RANGE_C = (-40.0, 125.0)
#: Largest self-heating offset, degrees C either way (the BME680's whole -40..85 range).
MAX_SELF_HEATING_C = 125.0
#: Largest ``errno`` of an injected bus error (Linux errno values are below 4096).
MAX_ERRNO = 4095

# ---------------------------------------------------------------- group and pi config

#: Largest whole number the Greengrass APIs take (their integer fields are 32-bit).
MAX_API_INT = 2**31 - 1
#: Largest ``timing_factor`` of the pi rig.
MAX_TIMING_FACTOR = 100.0
