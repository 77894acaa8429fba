"""A scenario's names checked against the group it runs on: the device it drives, the things
it publishes as or whose Shadows it changes and checks, the functions it stalls, allows to
fail or reads the logs and counters of.

These are checked when a run starts, before anything happens: a misspelt function is a
``file:line`` error with the group's names (and the closest one) then, not a traceback or a
silently empty check halfway through the run.

A Shadow's thing must be one the group knows: the core's thing, a device's, or one a
function's V2 ``access_control`` names in a ShadowManager resource
(``$aws/things/<thing>/shadow``); a resource with a wildcard in the thing lets any thing
through.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from harness.yaml_files import did_you_mean

if TYPE_CHECKING:
    from harness.group import Group
    from harness.scenarios.schema import Check, Scenario

Loc = tuple[str | int, ...]
Lookup = Callable[[str], "str | None"]  # a name's problem, or None when the group has it

_SHADOW_RESOURCE = re.compile(r"\$aws/things/([^/]+)/shadow")


def shadow_things(group: Group) -> tuple[list[str], bool]:
    """The things whose Shadows the group's core keeps or its functions may reach, and
    whether a function may reach any thing's (a wildcard resource)."""
    things = [group.core.thing, *(device.thing for device in group.devices)]
    anything = False
    for function in group.functions:
        for resource in _resources(getattr(function, "access_control", None)):
            for thing in _SHADOW_RESOURCE.findall(resource):
                if "*" in thing or "?" in thing:
                    anything = True
                elif thing not in things:
                    things.append(thing)
    return things, anything


def _resources(access_control: Any) -> list[str]:
    if not isinstance(access_control, dict):
        return []
    found: list[str] = []
    for policies in access_control.values():
        for policy in (policies or {}).values() if isinstance(policies, dict) else ():
            resources = policy.get("resources") if isinstance(policy, dict) else None
            found.extend(r for r in resources or () if isinstance(r, str))
    return found


class _Names:
    """The group's names, and the message for one it lacks."""

    def __init__(self, group: Group) -> None:
        from harness.group import listing

        self.group, self.listing = group, listing
        self.functions = [function.name for function in group.functions]
        self.devices = [device.thing for device in group.devices]
        self.things, self.any_thing = shadow_things(group)

    def _missing(self, what: str, name: str, known: list[str], note: str = "") -> str:
        return (f"no {what} {name!r} in group {self.group.name!r}"
                f"{did_you_mean(name, known)} ({what}s: {self.listing(known)}){note}")

    def function(self, name: str) -> str | None:
        return None if name in self.functions else self._missing("function", name,
                                                                 self.functions)

    def device(self, thing: str) -> str | None:
        return None if thing in self.devices else self._missing("device", thing, self.devices)

    def thing(self, thing: str, defaulted: bool = False) -> str | None:
        if self.any_thing or thing in self.things:
            return None
        note = f"; {thing!r} is the default: say which thing with thing:" if defaulted else ""
        return self._missing("thing", thing, self.things, note)


def group_problems(scenario: Scenario, group: Group) -> list[tuple[Loc, str]]:
    """Each name of ``scenario`` that ``group`` lacks, at its field."""
    names = _Names(group)
    found: list[tuple[Loc, str | None]] = []
    if scenario.device is not None:
        found.append((("device", "thing"), names.device(scenario.device.thing)))
    for index, stimulus in enumerate(scenario.stimuli):
        base: Loc = ("stimuli", index)
        if stimulus.publish is not None:
            found.append(((*base, "publish", "source"),
                          _source(stimulus.publish.source, names)))
        for kind in ("desired", "delete_shadow"):
            changed = getattr(stimulus, kind, None)
            if changed is not None:
                found.append(((*base, kind, "thing"), _thing(changed, names)))
    for index, fault in enumerate(scenario.faults):
        if fault.lambda_timeout is not None:
            found.append((("faults", index, "lambda_timeout", "function"),
                          names.function(fault.lambda_timeout.function)))
    for index, allowed in enumerate(scenario.allow_failures):
        if allowed.function is not None:
            found.append((("allow_failures", index, "function"),
                          names.function(allowed.function)))
    for index, expectation in enumerate(scenario.expectations):
        base = ("expectations", index)
        check = expectation.always if not isinstance(expectation.always, str) else None
        found.extend(_check_names(base, expectation.check, names))
        found.extend(_check_names((*base, "always"), check, names))
        never = expectation.never
        if never is not None and never.shadow_path is not None:  # the older form
            found.append(((*base, "never", "thing"),
                          names.thing(never.thing or "weather-station",
                                      defaulted=never.thing is None)))
        elif never is not None:
            found.extend(_check_names((*base, "never"), never.check, names))
        if expectation.monotonic is not None:
            found.append(((*base, "monotonic", "thing"), _thing(expectation.monotonic, names)))
    return [(loc, message) for loc, message in found if message is not None]


def _source(source: str, names: _Names) -> str | None:
    """A publication's source: a device's thing (bare or ``device:``), ``function:<name>``,
    ``cloud`` or ``GGShadowService``."""
    kind, colon, name = source.partition(":")
    if not colon:
        return None if kind in ("cloud", "GGShadowService") else names.device(kind)
    if kind == "device":
        return names.device(name)
    if kind == "function":
        return names.function(name)
    return None


def _thing(model: Any, names: _Names) -> str | None:
    """The ``thing`` of a model whose field defaults to the weather station's."""
    return names.thing(model.thing, defaulted="thing" not in model.model_fields_set)


def _check_names(base: Loc, check: Check | None, names: _Names) -> list[tuple[Loc, str | None]]:
    if check is None:
        return []
    found: list[tuple[Loc, str | None]] = []
    if check.stats is not None:
        found.append(((*base, "stats", "function"), names.function(check.stats.function)))
    if check.log is not None:
        name = check.log.function
        if name.startswith("device:"):
            found.append(((*base, "log", "function"), names.device(name.split(":", 1)[1])))
        elif name != "system":
            found.append(((*base, "log", "function"), names.function(name)))
    for kind in ("shadow", "in_sync"):
        model = getattr(check, kind, None)
        if model is not None:
            found.append(((*base, kind, "thing"), _thing(model, names)))
    return found
