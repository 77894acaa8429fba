"""``python -m bench``: run every benchmark."""

from bench import bme680_read, inference_latency, shadow_vs_moto, sim_day

shadow_vs_moto.main([])
print()
sim_day.main([])
print()
bme680_read.main([])
print()
inference_latency.main([])
