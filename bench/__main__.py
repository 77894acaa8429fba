"""``python -m bench``: run every benchmark (exits non-zero if a scenario of the set failed)."""

import sys

from bench import (
    bme680_read,
    broker_latency,
    broker_load,
    inference_latency,
    ipc_round_trip,
    new_user_loop,
    scenario_set,
    shadow_vs_moto,
    sim_day,
)

shadow_vs_moto.main([])
print()
sim_day.main([])
print()
ipc_round_trip.main([])
print()
bme680_read.main([])
print()
inference_latency.main([])
print()
scenario_failures = scenario_set.main([])
print()
broker_latency.main([])  # prints the reason and skips when Mosquitto is missing
print()
broker_load.main([])  # likewise
print()
new_user_loop.main([])
sys.exit(1 if scenario_failures else 0)
