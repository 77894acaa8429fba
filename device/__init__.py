"""The program that runs on the Raspberry Pi beside Greengrass: BME680 readings to the core.

Modules: :mod:`device.readings` (the reading message), :mod:`device.sensor` (the BME680 through
the ``bme680`` library), :mod:`device.loop` (the read-and-publish loop), :mod:`device.recorder`
(trace files), :mod:`device.greengrass_connect` (discovery and MQTT to the core) and
``python -m device`` (the command line). Runs on Python 3.9+.
"""

from __future__ import annotations

__all__ = ["TOPIC"]

from device.readings import TOPIC
