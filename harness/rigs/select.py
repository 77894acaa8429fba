"""Choosing and opening a rig by name: ``sim``, ``broker`` or ``pi``."""

from __future__ import annotations

from pathlib import Path

from harness.rigs.base import Rig
from harness.simulation import DEFAULT_GROUP

RIGS = ("sim", "broker", "pi")
#: the Greengrass the cores run: V2 (the default; AWS ended V1 on 2026-10-07) or V1
PLATFORMS = ("v2", "v1")
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
             rootdir: Path | None = None, platform: str = "v2") -> Rig:
    """The rig called ``name``, ready to use, its core on ``platform`` (``v2`` or ``v1``:
    only the sim rig simulates a V1 core); raises :class:`~harness.rigs.base.RigUnavailable`
    with the reason when it cannot be here."""
    from harness.rigs.base import RigUnavailable

    group = group or DEFAULT_GROUP
    if platform not in PLATFORMS:
        raise ValueError(f"unknown platform {platform!r}: one of {', '.join(PLATFORMS)}")
    if name == "sim":
        from harness.rigs.sim import SimRig

        return SimRig(group, platform=platform)
    if platform != "v2":
        raise RigUnavailable(f"the {name} rig is a Greengrass V2 core; only the sim rig "
                             "simulates a V1 core (--platform v1)")
    if name == "broker":
        from harness.rigs.broker import BrokerRig

        return BrokerRig.start(group)
    if name == "pi":
        from harness.rigs.pi import PiRig

        return PiRig.from_config(pi_config, group=group, rootdir=rootdir)
    raise ValueError(f"unknown rig {name!r}: one of {', '.join(RIGS)}")
