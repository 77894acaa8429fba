"""A scenario's names checked against the group a rig runs: the device it drives, the things
it publishes as, the functions it stalls or reads the logs and counters of.

A scenario file does not name its group (the rig does), so these are checked when a run
starts, before anything happens: a misspelt function is a ``file:line`` error then, not a
traceback halfway through the run.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from harness.group import Group
    from harness.scenarios.schema import Check, Scenario

Loc = tuple[str | int, ...]
Lookup = Callable[[str], "str | None"]  # a name's problem, or None when the group has it


def group_problems(scenario: Scenario, group: Group) -> list[tuple[Loc, str]]:
    """Each name of ``scenario`` that ``group`` lacks, at its field."""
    from harness.group import listing

    functions = [function.name for function in group.functions]
    devices = [device.thing for device in group.devices]

    def function(name: str) -> str | None:
        if name in functions:
            return None
        return f"no function {name!r} in group {group.name!r} (functions: {listing(functions)})"

    def device(thing: str) -> str | None:
        if thing in devices:
            return None
        return f"no device {thing!r} in group {group.name!r} (devices: {listing(devices)})"

    found: list[tuple[Loc, str | None]] = []
    if scenario.device is not None:
        found.append((("device", "thing"), device(scenario.device.thing)))
    for index, stimulus in enumerate(scenario.stimuli):
        if stimulus.publish is None:
            continue
        kind, colon, name = stimulus.publish.source.partition(":")
        where: Loc = ("stimuli", index, "publish", "source")
        if not colon and kind not in ("cloud", "GGShadowService"):
            found.append((where, device(kind)))
        elif kind == "device":
            found.append((where, device(name)))
        elif kind == "function":
            found.append((where, function(name)))
    for index, fault in enumerate(scenario.faults):
        if fault.lambda_timeout is not None:
            found.append((("faults", index, "lambda_timeout", "function"),
                          function(fault.lambda_timeout.function)))
    for index, expectation in enumerate(scenario.expectations):
        check = expectation.always if not isinstance(expectation.always, str) else None
        never = expectation.never.check if expectation.never is not None else None
        for base, each in ((("expectations", index), expectation.check),
                           (("expectations", index, "always"), check),
                           (("expectations", index, "never"), never)):
            found.extend(_check_names(base, each, function, device))
    return [(loc, message) for loc, message in found if message is not None]


def _check_names(base: Loc, check: Check | None, function: Lookup, device: Lookup
                 ) -> list[tuple[Loc, str | None]]:
    if check is None:
        return []
    found: list[tuple[Loc, str | None]] = []
    if check.stats is not None:
        found.append(((*base, "stats", "function"), function(check.stats.function)))
    if check.log is not None:
        name = check.log.function
        if name.startswith("device:"):
            found.append(((*base, "log", "function"), device(name.split(":", 1)[1])))
        elif name != "system":
            found.append(((*base, "log", "function"), function(name)))
    return found
