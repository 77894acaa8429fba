"""A deployment plan: the AWS requests that deploy a group, in order, before any is sent.

A plan is data, so a dry run can print it, write it as JSON, and check every request against
the botocore service model without an AWS account; :func:`harness.deploy.apply.execute`
sends the same requests. A request often needs something only an earlier one returns (a
definition version ARN, a component version): such a value is a :class:`Ref` to that step's
response, filled in when the plan runs. Each ``Ref`` carries an example value of the right
shape, so the request can still be validated before anything exists.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

__all__ = ["DeployError", "Plan", "Poll", "Ref", "Step", "render", "resolve"]

Response = dict[str, Any]


class DeployError(RuntimeError):
    """The group cannot be deployed as asked, or a step's response is not what it needs."""


@dataclass(frozen=True)
class Ref:
    """A value taken from the response of an earlier step, found by ``path`` in it.

    ``example`` stands in for it where nothing has run yet (validation of a dry run); it is
    never sent.
    """

    step: str
    path: tuple[str | int, ...]
    example: Any

    def __str__(self) -> str:
        return "${" + ".".join([self.step, *(str(part) for part in self.path)]) + "}"

    def lookup(self, results: Mapping[str, Response]) -> Any:
        """The value in ``results`` (step id to response) this reference names."""
        if self.step not in results:
            raise DeployError(f"{self} refers to step {self.step!r}, which has not run")
        value: Any = results[self.step]
        for part in self.path:
            try:
                value = value[part]
            except (KeyError, IndexError, TypeError):
                raise DeployError(f"{self}: the response of {self.step!r} has no {part!r}"
                                  ) from None
        return value


@dataclass(frozen=True)
class Poll:
    """Repeat a read-only step until ``done`` says yes; ``failed`` returns why it never will.

    Used to wait for a new component version to become deployable before deploying it.
    """

    done: Callable[[Response], bool]
    failed: Callable[[Response], str | None]
    attempts: int = 60
    interval: float = 5.0


@dataclass(frozen=True)
class Step:
    """One request: ``client(service).<operation>(**params)``.

    ``summary`` is the one-line description a dry run prints and ``details`` the lines under
    it. ``paginate`` gathers every page (list operations); ``extract`` turns the response into
    what later steps refer to (for look-ups that pick one item of a list); ``poll`` repeats
    the call until the response says the awaited state is reached.
    """

    id: str
    service: Literal["greengrassv2", "greengrass", "iot"]
    operation: str
    params: dict[str, Any]
    summary: str
    details: tuple[str, ...] = ()
    paginate: bool = False
    extract: Callable[[Response], Response] | None = None
    poll: Poll | None = None
    sends: bool = True  # False for look-ups and waits: nothing is created

    def example_params(self) -> dict[str, Any]:
        """The request with each :class:`Ref` replaced by its example (for validation)."""
        return _substitute(self.params, lambda ref: ref.example)


@dataclass(frozen=True)
class Plan:
    """The steps that deploy ``group`` to ``target``, in the order they must run."""

    target: Literal["v2", "v1"]
    group: str
    region: str
    steps: tuple[Step, ...]
    notes: tuple[str, ...] = field(default=())

    def step(self, step_id: str) -> Step:
        """The step called ``step_id``; KeyError naming the known ones otherwise."""
        for step in self.steps:
            if step.id == step_id:
                return step
        raise KeyError(f"no step {step_id!r} (steps: {', '.join(s.id for s in self.steps)})")

    def lines(self) -> list[str]:
        """The plan as a dry run prints it: numbered steps, their details, then the notes."""
        title = {"v2": "Greengrass V2", "v1": "Greengrass V1"}[self.target]
        lines = [f"{title} deployment of group {self.group!r} in {self.region}:"]
        for number, step in enumerate(self.steps, 1):
            lines.append(f"{number:3d}. {step.service}.{step.operation}: {step.summary}")
            lines.extend(f"       {detail}" for detail in step.details)
        if self.notes:
            lines.append("Notes:")
            lines.extend(f"  - {note}" for note in self.notes)
        return lines

    def write(self, folder: str | Path) -> list[Path]:
        """Write each request as ``NN-<step id>.json`` in ``folder`` (created if missing):
        service, operation, summary and the parameters, references shown as ``${step.path}``.
        Returns the files written."""
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        written = []
        for number, step in enumerate(self.steps, 1):
            path = folder / f"{number:02d}-{_file_safe(step.id)}.json"
            document = {
                "service": step.service,
                "operation": step.operation,
                "summary": step.summary,
                "params": render(step.params),
            }
            path.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
            written.append(path)
        return written


def render(value: Any) -> Any:
    """``value`` with each :class:`Ref` shown as its ``${step.path}`` text (JSON-ready)."""
    return _substitute(value, str)


def resolve(value: Any, results: Mapping[str, Response]) -> Any:
    """``value`` with each :class:`Ref` replaced by what the earlier steps returned."""
    return _substitute(value, lambda ref: ref.lookup(results))


def _substitute(value: Any, replace: Callable[[Ref], Any]) -> Any:
    if isinstance(value, Ref):
        return replace(value)
    if isinstance(value, dict):
        return {key: _substitute(item, replace) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_substitute(item, replace) for item in value]
    return value


def _file_safe(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", text)
