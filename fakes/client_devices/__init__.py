"""Greengrass V2 client-device components as pure Python models (no networking).

Built from ``shared/specs/greengrass-v2-topology.md`` and the component sources it cites:

* :mod:`.auth` — ``aws.greengrass.clientdevices.Auth`` (CDA): configuration (§1.3.2, in
  :mod:`.auth_config`, selection rules in :mod:`.selection`), authorization of connect,
  publish and subscribe (§1.3.1 steps 3, 6, 7; §1.6 items 1 to 3), the connect decision with
  cloud and offline verification (§1.3.1, §1.3.4, §1.6 items 1 and 7).
* :mod:`.logs` — what Moquette and CDA log and answer (§1.3.1), for callers that must log
  exactly what the core logs.
* :mod:`.bridge` — ``aws.greengrass.clientdevices.mqtt.Bridge``: configuration (§1.4, in
  :mod:`.bridge_config`), subscriptions and relays (§1.4, §1.6 item 6), client-device shadow
  mappings (§3.1, §5.3), with loops refused at load (:mod:`.relay_graph` rules most out
  cheaply, :mod:`.loops` decides the rest exactly).
* :mod:`.topics` — the three topic matchers that meet in the bridge (nucleus pub/sub,
  the bridge's routing, Moquette).
"""

from fakes.client_devices.auth import (
    ClientDeviceAuth,
    ClientDeviceAuthConfigError,
    ConnectResult,
    Decision,
    DeviceGroup,
    Performance,
    Statement,
)
from fakes.client_devices.bridge import (
    IOT_CORE,
    LOCAL_MQTT,
    PUBSUB,
    BridgeConfigError,
    MqttBridge,
    MqttSettings,
    Relay,
    TopicMapping,
)
from fakes.client_devices.logs import (
    ACCEPTED_LOG,
    CONNACK_ACCEPTED,
    CONNACK_BAD_USER_NAME_OR_PASSWORD,
    CONNACK_IDENTIFIER_REJECTED,
    CONNECT_DENIED_LOG,
    CONNECT_ERROR_LOG,
    DUPLICATE_CLIENT_ID_LOG,
    NO_GROUP_LOG,
    SESSION_FAILED_LOG,
    SUBACK_FAILURE,
    TLS_FAILED_LOG,
    empty_client_id_log,
    publish_denied_log,
    subscribe_denied_log,
)

__all__ = [
    "ACCEPTED_LOG",
    "CONNACK_ACCEPTED",
    "CONNACK_BAD_USER_NAME_OR_PASSWORD",
    "CONNACK_IDENTIFIER_REJECTED",
    "CONNECT_DENIED_LOG",
    "CONNECT_ERROR_LOG",
    "DUPLICATE_CLIENT_ID_LOG",
    "IOT_CORE",
    "LOCAL_MQTT",
    "NO_GROUP_LOG",
    "PUBSUB",
    "SESSION_FAILED_LOG",
    "SUBACK_FAILURE",
    "TLS_FAILED_LOG",
    "BridgeConfigError",
    "ClientDeviceAuth",
    "ClientDeviceAuthConfigError",
    "ConnectResult",
    "Decision",
    "DeviceGroup",
    "MqttBridge",
    "MqttSettings",
    "Performance",
    "Relay",
    "Statement",
    "TopicMapping",
    "empty_client_id_log",
    "publish_denied_log",
    "subscribe_denied_log",
]
