"""The IPC services the fake nucleus hosts: each one turns requests into calls on a small
model interface (a Protocol the simulated core implements) and answers with the real
service's shapes, order of checks and error texts."""

from fakes.nucleus_ipc.services.authz import AccessControl, NotAuthorized, Policy
from fakes.nucleus_ipc.services.component import ComponentIpc, InMemoryComponents
from fakes.nucleus_ipc.services.iotcore import InMemoryIotCore, IotCoreIpc, MqttMessage
from fakes.nucleus_ipc.services.pubsub import InMemoryPubSub, PubSubIpc, PubSubMessage
from fakes.nucleus_ipc.services.rate_limit import RateLimits
from fakes.nucleus_ipc.services.secrets import InMemorySecrets, SecretsIpc, SecretVersion
from fakes.nucleus_ipc.services.shadow import ShadowManagerIpc, shadow_manager_config

__all__ = [
    "AccessControl",
    "ComponentIpc",
    "InMemoryComponents",
    "InMemoryIotCore",
    "InMemoryPubSub",
    "InMemorySecrets",
    "IotCoreIpc",
    "MqttMessage",
    "NotAuthorized",
    "Policy",
    "PubSubIpc",
    "PubSubMessage",
    "RateLimits",
    "SecretVersion",
    "SecretsIpc",
    "ShadowManagerIpc",
    "shadow_manager_config",
]
