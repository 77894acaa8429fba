"""Send a plan's requests with boto3, in order, each filled in from the earlier responses.

Every request is checked with :func:`harness.deploy.validate.validate_request` just before it
is sent, so a constraint botocore leaves to the service (an enum, a pattern, a maximum) stops
the run here rather than half-way through in AWS. The clients come from a factory so tests can
hand in stubbed (botocore ``Stubber``) or moto-backed ones.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from harness.deploy.plan import DeployError, Plan, Response, Step, resolve
from harness.deploy.validate import validate_request

__all__ = ["boto3_clients", "execute"]

ClientFactory = Callable[[str], Any]


def boto3_clients(region: str) -> ClientFactory:
    """A factory of boto3 clients in ``region``, one per service, made on first use."""
    import boto3

    clients: dict[str, Any] = {}

    def client(service: str) -> Any:
        if service not in clients:
            clients[service] = boto3.client(service, region_name=region)
        return clients[service]

    return client


def _call(client: Any, step: Step, params: dict[str, Any]) -> Response:
    if step.paginate:
        paginator = client.get_paginator(step.operation)
        response = paginator.paginate(**params).build_full_result()
    else:
        response = getattr(client, step.operation)(**params)
    response = {key: value for key, value in response.items() if key != "ResponseMetadata"}
    return step.extract(response) if step.extract else response


def _run(client: Any, step: Step, params: dict[str, Any], sleep: Callable[[float], None]
         ) -> Response:
    if step.poll is None:
        return _call(client, step, params)
    for attempt in range(step.poll.attempts):
        response = _call(client, step, params)
        if step.poll.done(response):
            return response
        reason = step.poll.failed(response)
        if reason:
            raise DeployError(f"{step.id}: {reason}")
        if attempt + 1 < step.poll.attempts:
            sleep(step.poll.interval)
    raise DeployError(f"{step.id}: not done after {step.poll.attempts} tries ({step.summary})")


def execute(plan: Plan, clients: ClientFactory, *,
            progress: Callable[[int, Step, Response], None] | None = None,
            sleep: Callable[[float], None] = time.sleep) -> dict[str, Response]:
    """Run ``plan``: each step's parameters resolved from earlier responses, validated, sent.

    Returns every step's response (after its ``extract``) by step id; ``progress`` hears of
    each step as it completes. Stops at the first failure (boto3's exception, or
    :class:`DeployError` / :class:`~harness.deploy.validate.RequestInvalid`).
    """
    results: dict[str, Response] = {}
    for number, step in enumerate(plan.steps, 1):
        params = resolve(step.params, results)
        validate_request(step.service, step.operation, params)
        results[step.id] = _run(clients(step.service), step, params, sleep)
        if progress is not None:
            progress(number, step, results[step.id])
    return results
