"""The part of ``/sys`` the Lambdas read: the CPU temperature, driven by the simulation.

Functions with ``sys_access`` get ``CPU_TEMP_PATH`` pointing at this fake's
``class/thermal/thermal_zone0/temp`` (millidegrees Celsius, as the kernel writes it);
functions without it get a path that does not exist, as a container without access to
``/sys`` would. The file is brought up to date whenever a Lambda resumes.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

from harness.clock import VirtualClock

CpuTemperature = float | Callable[[float], float | None] | None


class FakeSysfs:
    def __init__(self, cpu_temperature: CpuTemperature = 45.0) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="gg-sim-sys-"))
        self.thermal = self.root / "class" / "thermal" / "thermal_zone0" / "temp"
        self.thermal.parent.mkdir(parents=True)
        self.unreadable = self.root / "no-access" / "thermal_zone0" / "temp"
        self.cpu_temperature: CpuTemperature = cpu_temperature
        self._written: int | None = None
        self._refreshed_at: float | None = None

    def set_cpu_temperature(self, celsius: CpuTemperature) -> None:
        """A constant, a function of elapsed seconds, or ``None`` (no sensor: no file)."""
        self.cpu_temperature = celsius
        self._refreshed_at = None

    def refresh(self, clock: VirtualClock) -> None:
        if clock.elapsed == self._refreshed_at:
            return  # up to date for this instant
        self._refreshed_at = clock.elapsed
        source = self.cpu_temperature
        celsius = source(clock.elapsed) if callable(source) else source
        if celsius is None:
            if self._written is not None:
                self.thermal.unlink(missing_ok=True)
                self._written = None
            return
        millidegrees = round(celsius * 1000)
        if millidegrees != self._written:
            self.thermal.write_text(f"{millidegrees}\n")
            self._written = millidegrees

    def close(self) -> None:
        shutil.rmtree(self.root, ignore_errors=True)
