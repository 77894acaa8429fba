"""The harness: simulated Greengrass core, virtual clock, scenarios, rigs, CLI and pytest plugin.

``from harness import Simulation`` is the entry point; see :mod:`harness.simulation`.
"""

from harness.simulation import Simulation

__all__ = ["Simulation"]
