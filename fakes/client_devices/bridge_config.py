"""Reading the bridge's configuration: ``mqttTopicMapping``, ``mqtt5RouteOptions``, ``mqtt.*``,
``brokerUri``. See :mod:`fakes.client_devices.bridge` for what is refused and why.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from fakes.client_devices._config import coerce_int, has_field, path_join, scalar_text
from fakes.client_devices._config import field as get_field
from fakes.client_devices.topics import filter_problem

__all__ = [
    "IOT_CORE",
    "LOCAL_MQTT",
    "PUBSUB",
    "SOURCES",
    "BridgeConfigError",
    "BridgeConfiguration",
    "MqttSettings",
    "TopicMapping",
    "read_configuration",
]

LOCAL_MQTT = "LocalMqtt"
PUBSUB = "Pubsub"
IOT_CORE = "IotCore"
SOURCES = (LOCAL_MQTT, PUBSUB, IOT_CORE)
DEFAULT_BROKER_URI = "ssl://localhost:8883"
PUBSUB_WILDCARD_ERROR = "Publish topic must not contain a wildcard."
_URI_FORBIDDEN = set(' "<>\\^`{|}') | {chr(code) for code in range(0x20)} | {"\x7f"}


class BridgeConfigError(ValueError):
    """A bridge configuration refused. ``path`` names the bad field or mapping; for a loop,
    ``cycle`` names its mappings and ``example`` is a looping chain as ``(source, topic,
    mapping)`` hops from a first message."""

    def __init__(
        self,
        path: str,
        message: str,
        *,
        cycle: tuple[str, ...] = (),
        example: tuple[tuple[str, str, str], ...] = (),
    ) -> None:
        super().__init__(f"{path}: {message}" if path else message)
        self.path = path
        self.message = message
        self.cycle = cycle
        self.example = example


@dataclass(frozen=True, slots=True)
class TopicMapping:
    name: str
    topic: str
    source: str
    target: str
    target_topic_prefix: str = ""


@dataclass(frozen=True, slots=True)
class MqttSettings:
    """``mqtt.*`` after the bridge's own defaulting and clamping."""

    version: str = "mqtt3"
    ack_timeout_seconds: int = 60
    connack_timeout_ms: int = 20_000
    ping_timeout_ms: int = 30_000
    keep_alive_timeout_seconds: int = 60
    max_reconnect_delay_ms: int = 30_000
    min_reconnect_delay_ms: int = 1_000
    receive_maximum: int = 100
    maximum_packet_size: int | None = None
    session_expiry_interval: int = 4_294_967_295


def _enum(value: Any, path: str) -> str:
    if value is None:
        raise BridgeConfigError(
            path, f"Malformed mqttTopicMapping: {path.rsplit('.', 1)[-1]} is missing"
        )
    if isinstance(value, str):
        for name in SOURCES:
            if value.casefold() == name.casefold():
                return name
    raise BridgeConfigError(
        path, f"Malformed mqttTopicMapping: {value!r} is not one of {', '.join(SOURCES)}"
    )


def _mapping_entry(name: str, body: Any) -> TopicMapping:
    path = path_join("mqttTopicMapping", name)
    if not isinstance(body, Mapping):
        raise BridgeConfigError(path, "Malformed mqttTopicMapping: a mapping must be an object")
    topic = scalar_text(get_field(body, "topic"))
    if topic is None:
        raise BridgeConfigError(
            path_join(path, "topic"), "Malformed mqttTopicMapping: topic is missing"
        )
    problem = filter_problem(topic)
    if problem:
        raise BridgeConfigError(path_join(path, "topic"), f"{topic!r}: {problem}")
    source = _enum(get_field(body, "source"), path_join(path, "source"))
    target = _enum(get_field(body, "target"), path_join(path, "target"))
    if source == target:
        raise BridgeConfigError(
            path,
            f"source and target are both {source}: they must differ (the bridge would "
            "hand the message back to where it came from)",
        )
    raw_prefix = get_field(body, "targetTopicPrefix")
    prefix = "" if raw_prefix is None else scalar_text(raw_prefix)
    if prefix is None:
        raise BridgeConfigError(path_join(path, "targetTopicPrefix"), "must be a string")
    if "+" in prefix or "#" in prefix or "\0" in prefix:
        raise BridgeConfigError(
            path_join(path, "targetTopicPrefix"),
            f"{prefix!r}: '+', '#' or a null character makes every relayed topic invalid",
        )
    if target == PUBSUB and "*" in prefix:
        raise BridgeConfigError(
            path_join(path, "targetTopicPrefix"),
            f"{prefix!r}: the nucleus refuses every Pubsub publish with '*' "
            f"({PUBSUB_WILDCARD_ERROR})",
        )
    return TopicMapping(name, topic, source, target, prefix)


def _flag(value: Any, path: str) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.casefold() in ("true", "false"):
        return value.casefold() == "true"
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    raise BridgeConfigError(path, f"Malformed mqtt5RouteOptions: {value!r} is not a boolean")


class _Settings:
    def __init__(self, config: Mapping[Any, Any]) -> None:
        self.warnings: list[str] = []
        mqtt = get_field(config, "mqtt")
        self.mqtt: Mapping[Any, Any] = mqtt if isinstance(mqtt, Mapping) else {}

    def number(self, key: str, default: int | None) -> int | None:
        if not has_field(self.mqtt, key) or get_field(self.mqtt, key) is None:
            return default
        return coerce_int(get_field(self.mqtt, key))

    def timeout(self, key: str, default: int) -> int:
        value = self.number(key, default)
        assert value is not None
        if value < 0:
            self.warnings.append(
                f"mqtt.{key}: Provided {key} out of range. Defaulting to {default}"
            )
            return default
        return value

    def clamped(self, key: str, default: int | None, low: int, high: int) -> int | None:
        value = self.number(key, default)
        if value is None:
            return None
        bound = low if value < low else high if value > high else None
        if bound is not None:
            self.warnings.append(f"mqtt.{key}: Provided {key} out of range. Defaulting to {bound}")
            return bound
        return value

    def read(self) -> MqttSettings:
        defaults = MqttSettings()
        max_delay = self.timeout("maxReconnectDelayMs", defaults.max_reconnect_delay_ms)
        min_delay = self.timeout("minReconnectDelayMs", defaults.min_reconnect_delay_ms)
        if max_delay < min_delay:
            raise BridgeConfigError(
                "mqtt.maxReconnectDelayMs",
                "maxReconnectDelayMs must be greater than or equal to minReconnectDelayMs",
            )
        keep_alive = self.timeout("keepAliveTimeoutSeconds", defaults.keep_alive_timeout_seconds)
        ping = self.timeout("pingTimeoutMs", defaults.ping_timeout_ms)
        if keep_alive != 0 and keep_alive * 1000 <= ping:
            raise BridgeConfigError(
                "mqtt.keepAliveTimeoutSeconds",
                "keepAliveTimeoutSeconds must be greater than pingTimeoutMs",
            )
        version = scalar_text(get_field(self.mqtt, "version")) or "mqtt3"
        receive_maximum = self.clamped("receiveMaximum", defaults.receive_maximum, 1, 65_535)
        session_expiry = self.clamped(
            "sessionExpiryInterval", defaults.session_expiry_interval, 0, 4_294_967_295
        )
        assert receive_maximum is not None and session_expiry is not None
        return MqttSettings(
            version="mqtt5" if version.upper() == "MQTT5" else "mqtt3",
            ack_timeout_seconds=self.timeout("ackTimeoutSeconds", defaults.ack_timeout_seconds),
            connack_timeout_ms=self.timeout("connAckTimeoutMs", defaults.connack_timeout_ms),
            ping_timeout_ms=ping,
            keep_alive_timeout_seconds=keep_alive,
            max_reconnect_delay_ms=max_delay,
            min_reconnect_delay_ms=min_delay,
            receive_maximum=receive_maximum,
            maximum_packet_size=self.clamped("maximumPacketSize", None, 1, 4_294_967_295),
            session_expiry_interval=session_expiry,
        )


def _broker_uri(config: Mapping[Any, Any]) -> str:
    uri = scalar_text(get_field(config, "brokerServerUri")) or DEFAULT_BROKER_URI
    uri = scalar_text(get_field(config, "brokerUri")) or uri
    if not uri or uri.startswith(":") or set(uri) & _URI_FORBIDDEN:
        raise BridgeConfigError("brokerUri", f"Malformed brokerUri: {uri}")
    return uri


@dataclass(frozen=True)
class BridgeConfiguration:
    mappings: tuple[TopicMapping, ...]
    broker_uri: str = DEFAULT_BROKER_URI
    #: ``None``: the bridge makes up ``mqtt-bridge-<11 random characters>``
    client_id: str | None = None
    mqtt: MqttSettings = field(default_factory=MqttSettings)
    #: mapping name -> (noLocal, retainAsPublished)
    route_options: Mapping[str, tuple[bool, bool]] = field(default_factory=dict)
    warnings: tuple[str, ...] = ()


def read_configuration(config: Any) -> BridgeConfiguration:
    """The configuration as the bridge reads it; :class:`BridgeConfigError` when refused."""
    if not isinstance(config, Mapping):
        raise BridgeConfigError("", "the bridge configuration must be an object")
    raw = get_field(config, "mqttTopicMapping")
    if raw is None:
        raw = {}
    if not isinstance(raw, Mapping):
        raise BridgeConfigError(
            "mqttTopicMapping", "Malformed mqttTopicMapping: must be an object of named mappings"
        )
    mappings = tuple(_mapping_entry(str(name), body) for name, body in raw.items())
    options: dict[str, tuple[bool, bool]] = {}
    raw_options = get_field(config, "mqtt5RouteOptions")
    if raw_options is not None:
        if not isinstance(raw_options, Mapping):
            raise BridgeConfigError("mqtt5RouteOptions", "Malformed mqtt5RouteOptions")
        for name, body in raw_options.items():
            path = path_join("mqtt5RouteOptions", str(name))
            if not isinstance(body, Mapping):
                raise BridgeConfigError(path, "Malformed mqtt5RouteOptions")
            options[str(name)] = (
                _flag(get_field(body, "noLocal", False), path_join(path, "noLocal")),
                _flag(
                    get_field(body, "retainAsPublished", False),
                    path_join(path, "retainAsPublished"),
                ),
            )
    settings = _Settings(config)
    mqtt = settings.read()
    return BridgeConfiguration(
        mappings,
        broker_uri=_broker_uri(config),
        client_id=scalar_text(get_field(config, "clientId")) or None,
        mqtt=mqtt,
        route_options=options,
        warnings=tuple(settings.warnings),
    )
