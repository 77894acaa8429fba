"""``python -m bench``: run every benchmark."""

from bench import shadow_vs_moto, sim_day

shadow_vs_moto.main([])
print()
sim_day.main([])
