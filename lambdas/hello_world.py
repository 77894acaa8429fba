"""Hello world: a pinned (long-lived) Greengrass Lambda that greets every five seconds.

When the core loads this module it starts a loop that never returns: every ``INTERVAL``
seconds it publishes, as text, to the ``hello/world`` topic::

    Hello world! Sent from Greengrass Core running on platform: <platform.platform()>

Publishing needs a subscription from this Lambda to ``hello/world`` (in V2, the
``aws.greengrass.LegacySubscriptionRouter`` configuration). A failed publish (no subscription,
a full queue, the core unreachable) is logged and the loop carries on. The handler does nothing:
a pinned Lambda's work is the loop. Runs on Python 3.9+ (the Raspberry Pi core's runtime).
"""

from __future__ import annotations

import logging
import platform
import time
from typing import Any

import greengrasssdk

logger = logging.getLogger(__name__)

TOPIC = "hello/world"
INTERVAL = 5.0  # seconds between greetings

iot_data = greengrasssdk.client("iot-data")
greeting = f"Hello world! Sent from Greengrass Core running on platform: {platform.platform()}"


def publish_greeting() -> None:
    """Publish one greeting; log, and swallow, whatever makes it fail."""
    try:
        iot_data.publish(topic=TOPIC, queueFullPolicy="AllOrException", payload=greeting)
    except Exception:
        logger.exception("Could not publish the greeting to %s", TOPIC)


def greet_forever() -> None:
    """The long-lived loop: a greeting, then a pause, for as long as the core runs us."""
    while True:
        publish_greeting()
        time.sleep(INTERVAL)


def function_handler(event: Any, context: Any) -> None:
    """Nothing to do per invocation: the loop started at import does the publishing."""
    return None


# Pinned Lambdas are loaded once, when the core starts, so this runs for the core's lifetime.
greet_forever()
