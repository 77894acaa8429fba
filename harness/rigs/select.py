"""Choosing and opening a rig by name: ``sim``, ``broker`` or ``pi``."""

from __future__ import annotations

from pathlib import Path

from harness.rigs.base import Rig
from harness.simulation import DEFAULT_GROUP

RIGS = ("sim", "broker", "pi")
PI_MODEL = Path("/proc/device-tree/model")


def on_raspberry_pi(model_file: Path = PI_MODEL) -> bool:
    try:
        return "Raspberry Pi" in model_file.read_text(errors="replace")
    except OSError:
        return False


def default_rig() -> str:
    """``pi`` on a Raspberry Pi, ``sim`` elsewhere."""
    return "pi" if on_raspberry_pi() else "sim"


def open_rig(name: str, *, group: str | Path | None = None, pi_config: str | Path | None = None,
             rootdir: Path | None = None) -> Rig:
    """The rig called ``name``, ready to use; raises
    :class:`~harness.rigs.base.RigUnavailable` with the reason when it cannot be here."""
    group = group or DEFAULT_GROUP
    if name == "sim":
        from harness.rigs.sim import SimRig

        return SimRig(group)
    if name == "broker":
        from harness.rigs.broker import BrokerRig

        return BrokerRig.start(group)
    if name == "pi":
        from harness.rigs.pi import PiRig

        return PiRig.from_config(pi_config, group=group, rootdir=rootdir)
    raise ValueError(f"unknown rig {name!r}: one of {', '.join(RIGS)}")
