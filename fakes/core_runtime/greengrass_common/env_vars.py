"""The environment a Greengrass core gives each Lambda, read once, when this module is imported.

Like the real module, values are captured at import: a Lambda sees the environment it was
started with, and a variable the core did not set is ``None`` (``greengrasssdk`` relies on
``MY_FUNCTION_ARN is None`` to answer with canned test data off a core).
"""

from __future__ import annotations

import os

#: The Lambda's token for the daemon; sent as the ``Authorization`` header of every IPC request.
AUTH_TOKEN: str | None = os.environ.get("AWS_CONTAINER_AUTHORIZATION_TOKEN")

#: The qualified ARN of the Lambda this process runs (the ``source`` of what it publishes).
MY_FUNCTION_ARN: str | None = os.environ.get("MY_FUNCTION_ARN")

#: System functions the SDK invokes: the local shadow service, the router, the secrets manager.
SHADOW_FUNCTION_ARN: str | None = os.environ.get("SHADOW_FUNCTION_ARN")
ROUTER_FUNCTION_ARN: str | None = os.environ.get("ROUTER_FUNCTION_ARN")
SECRETS_MANAGER_FUNCTION_ARN: str | None = os.environ.get("SECRETS_MANAGER_FUNCTION_ARN")

#: The daemon's IPC port (a decimal string); the IPC client connects to it.
GG_DAEMON_PORT: str | None = os.environ.get("GG_DAEMON_PORT")
