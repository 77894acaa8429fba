"""``python -m bench``: run every benchmark."""

from bench import shadow_vs_moto

shadow_vs_moto.main()
