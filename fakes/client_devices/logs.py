"""What the core logs and answers around client devices: Moquette's and CDA's own texts.

Read in aws-greengrass-moquette-mqtt @ cfbe228 (``ClientDeviceAuthorizer``,
``ClientDeviceTrustManager``, the vendored Moquette 0.17 ``MQTTConnection``, ``PostOffice``,
``Authorizator``) and aws-greengrass-client-device-auth @ 1dbaf82
(``PermissionEvaluationUtils``); ``greengrass-v2-topology.md`` §1.3.1.
"""

from __future__ import annotations

__all__ = [
    "ACCEPTED_LOG",
    "CONNACK_ACCEPTED",
    "CONNACK_BAD_USER_NAME_OR_PASSWORD",
    "CONNACK_IDENTIFIER_REJECTED",
    "CONNECT_DENIED_LOG",
    "CONNECT_ERROR_LOG",
    "DUPLICATE_CLIENT_ID_LOG",
    "NO_GROUP_LOG",
    "SESSION_FAILED_LOG",
    "SUBACK_FAILURE",
    "TLS_FAILED_LOG",
    "empty_client_id_log",
    "publish_denied_log",
    "subscribe_denied_log",
]

#: the TLS handshake fails with this (the client sees a TLS error, no CONNACK)
TLS_FAILED_LOG = "Unable to authenticate client device"
#: Moquette, when CDA cannot create a session (CONNACK 0x04)
SESSION_FAILED_LOG = (
    "Can't create auth session. Check that the thing connects using its thing name as the "
    "client ID and has a valid AWS IoT client certificate."
)
#: Moquette, when ``mqtt:connect`` is denied (CONNACK 0x04)
CONNECT_DENIED_LOG = "Device isn't authorized to connect"
ACCEPTED_LOG = "Successfully authenticated client device"
DUPLICATE_CLIENT_ID_LOG = "Duplicate client ID detected. Closing old auth session."
#: CDA's debug line when no group selects the device
NO_GROUP_LOG = "No authorization group matches, deny the request"
#: Moquette, when CDA throws while creating the session (a client ID that is not a valid
#: thing name); the connection is closed without a CONNACK
CONNECT_ERROR_LOG = "Error processing protocol message: CONNECT"

CONNACK_ACCEPTED = 0x00
CONNACK_IDENTIFIER_REJECTED = 0x02
CONNACK_BAD_USER_NAME_OR_PASSWORD = 0x04
#: the SUBACK return code of a denied filter
SUBACK_FAILURE = 0x80


def publish_denied_log(topic: str, *, qos: int, client_id: str) -> str:
    """Moquette's error line for a denied PUBLISH (the message is dropped; QoS 1 gets no
    PUBACK, QoS 2 no PUBREC; the connection stays open)."""
    if qos == 0:
        return f"client is not authorized to publish on topic: {topic}"
    if qos == 1:
        return f"MQTT client: {client_id} is not authorized to publish on topic: {topic}"
    return f"MQTT client is not authorized to publish on topic: {topic}"


def subscribe_denied_log(topic_filter: str, *, username: str, message_id: int) -> str:
    """Moquette's warning for a denied SUBSCRIBE filter (SUBACK 0x80 for that filter).
    ``username`` is, on a real core, the client's certificate chain in PEM."""
    return (
        f"Client does not have read permissions on the topic username: {username}, "
        f"messageId: {message_id}, topic: {topic_filter}"
    )


def empty_client_id_log(username: str) -> str:
    """Moquette's line for an empty client ID (CONNACK 0x02)."""
    return f"Broker doesn't permit MQTT empty client ID. Username: {username}"
