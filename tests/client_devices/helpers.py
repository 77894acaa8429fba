"""The spec's worked-example configurations (greengrass-v2-topology.md §5.3)."""

from __future__ import annotations

import copy
from typing import Any

STATION_SHADOW = "$aws/things/weather-station/shadow"

_CDA_5_3: dict[str, Any] = {
    "deviceGroups": {
        "formatVersion": "2021-03-05",
        "definitions": {
            "Bme680Sensors": {"selectionRule": "thingName: bme680-*", "policyName": "SensorPolicy"},
            "StationConsole": {
                "selectionRule": "thingName: weather-station",
                "policyName": "StationShadowPolicy",
            },
        },
        "policies": {
            "SensorPolicy": {
                "Connect": {
                    "operations": ["mqtt:connect"],
                    "resources": ["mqtt:clientId:bme680-sensor"],
                },
                "PublishReadings": {
                    "operations": ["mqtt:publish"],
                    "resources": ["mqtt:topic:bme680/readings"],
                },
            },
            "StationShadowPolicy": {
                "Connect": {
                    "operations": ["mqtt:connect"],
                    "resources": ["mqtt:clientId:weather-station"],
                },
                "ShadowRequests": {
                    "operations": ["mqtt:publish"],
                    "resources": [
                        f"mqtt:topic:{STATION_SHADOW}/get",
                        f"mqtt:topic:{STATION_SHADOW}/update",
                    ],
                },
                "ShadowResponses": {
                    "operations": ["mqtt:subscribe"],
                    "resources": [f"mqtt:topicfilter:{STATION_SHADOW}/#"],
                },
            },
        },
    },
    "security": {"clientDeviceTrustDurationMinutes": 1440},
}

_BRIDGE_5_3: dict[str, Any] = {
    "mqttTopicMapping": {
        "Bme680ReadingsToPubsub": {
            "topic": "bme680/readings",
            "source": "LocalMqtt",
            "target": "Pubsub",
        },
        "StationShadowGetToPubsub": {
            "topic": f"{STATION_SHADOW}/get",
            "source": "LocalMqtt",
            "target": "Pubsub",
        },
        "StationShadowUpdateToPubsub": {
            "topic": f"{STATION_SHADOW}/update",
            "source": "LocalMqtt",
            "target": "Pubsub",
        },
        "StationShadowResponsesToLocal": {
            "topic": f"{STATION_SHADOW}/#",
            "source": "Pubsub",
            "target": "LocalMqtt",
        },
    }
}


def cda_5_3() -> dict[str, Any]:
    """The §5.3 CDA configuration (a fresh copy)."""
    return copy.deepcopy(_CDA_5_3)


def bridge_5_3() -> dict[str, Any]:
    """The §5.3 bridge configuration (a fresh copy)."""
    return copy.deepcopy(_BRIDGE_5_3)


def groups(definitions: dict[str, tuple[str, str]], policies: dict[str, Any]) -> dict[str, Any]:
    """A CDA configuration from ``{group: (rule, policy)}`` and ``{policy: statements}``."""
    return {
        "deviceGroups": {
            "formatVersion": "2021-03-05",
            "definitions": {
                name: {"selectionRule": rule, "policyName": policy}
                for name, (rule, policy) in definitions.items()
            },
            "policies": policies,
        }
    }


def allow(operations: list[str], resources: list[str]) -> dict[str, Any]:
    """A one-statement policy body."""
    return {"S": {"operations": operations, "resources": resources}}


def mapping(topic: str, source: str, target: str, prefix: str | None = None) -> dict[str, Any]:
    entry = {"topic": topic, "source": source, "target": target}
    if prefix is not None:
        entry["targetTopicPrefix"] = prefix
    return entry
