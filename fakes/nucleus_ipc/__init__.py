"""A fake Greengrass V2 nucleus IPC server that the real, unmodified ``awsiotsdk`` client
(``GreengrassCoreIPCClientV2`` and the older ``GreengrassCoreIPCClient``) talks to.

On a V2 core, a component (a Lambda component too) reaches the nucleus over a Unix socket
named by ``AWS_GG_NUCLEUS_DOMAIN_SOCKET_FILEPATH_FOR_COMPONENT`` and authenticates with its
``SVCUID``. This package is that server, built from ``shared/specs/greengrass-v2-ipc.md``:

* :mod:`.eventstream` — the ``vnd.amazon.eventstream`` codec (tested against botocore's
  decoder);
* :mod:`.rpc` — the RPC protocol of one connection: handshake, pings, streams, errors;
* :mod:`.server` — the socket, its threads, tokens, ``close_connections(component)``;
* :mod:`.model` — operation names and the modeled ``aws.greengrass#…`` errors;
* :mod:`.services` — ``accessControl`` authorization, ShadowManager (on
  :class:`fakes.shadow.ShadowService`), local pub/sub, IoT Core MQTT, GetConfiguration,
  UpdateState, GetSecretValue. Every other model operation answers, as on a core where no
  plugin provides it, ``ServiceError("Operation aws.greengrass#<Op> is not supported by
  Greengrass")``; a name outside the model gets the Java server's "unsupported operation".

What is verified: the wire format and protocol rules were run against the real client
(spec §3, [exp]), and the tests here run every operation and error through it. The orders
of checks and the texts come from reading the nucleus, ShadowManager, secret manager and
aws-c-event-stream sources ([nucleus], [SM], [java-rpc], [crt]); they have not been compared
with a device. [unverified], and each marked where it is implemented: the malformed-JSON
text of UpdateThingShadow (Python's, not Jackson's); Gson rewriting JSON pub/sub messages
(integers arrive as doubles, ``null`` members vanish); JVM-dependent texts of null-pointer
failures; ``{iot:thingName}`` policy interpolation (not modelled); local pub/sub events are
delivered before ``PublishToTopic`` answers (the nucleus leaves that order open).
Not implemented (answer "not supported" although a real nucleus handles them):
UpdateConfiguration, the Subscribe* operations other than SubscribeToTopic/SubscribeToIoTCore,
DeferComponentUpdate, SendConfigurationValidityReport, PutComponentMetric, Pause/ResumeComponent,
ValidateAuthorizationToken and the Cli and client-device operations.

How the simulated core plugs in::

    access = AccessControl.from_components({name: config["accessControl"], ...})
    server = NucleusIpcServer(
        [PubSubIpc(core_router, access), ShadowManagerIpc(core.shadow, access, pubsub=core_router),
         IotCoreIpc(core_cloud, access), ComponentIpc(core_configs, core_states)],
        lock=core.lock,            # reentrant; held around every handler and stream close
    ).start()                      # with the Simulation; server.stop() with it
    env = server.environment(component)   # per container: SVCUID, socket variables
    server.close_connections(component)   # when the container stops

Host ``ShadowManagerIpc`` only when ShadowManager is deployed, ``SecretsIpc`` only with the
secret manager. ``core_router`` implements :class:`~.services.pubsub.LocalPubSub` (so
``PUB_SUB`` event sources, the bridge and ShadowManager see IPC traffic); ``core_cloud``
implements :class:`~.services.iotcore.IotCoreConnection`. Handlers run on server threads,
never on the scheduler thread: a Lambda blocked in a synchronous IPC call (``Future.result()``
without a timeout) is answered while the scheduler waits, so the core lock must not be held
by a thread that waits on IPC. Shadow timestamps and ShadowManager's rate limits read the
Shadow model's (virtual) clock. Callbacks the client runs for stream events run on its own
executor threads, outside the Lambda's greenlet.
"""

from fakes.nucleus_ipc.model import (
    ConflictError,
    InvalidArgumentsError,
    IpcError,
    ResourceNotFoundError,
    ServiceError,
    UnauthorizedError,
)
from fakes.nucleus_ipc.rpc import Call, Stream
from fakes.nucleus_ipc.server import NucleusIpcServer, TokenRegistry

__all__ = [
    "Call",
    "ConflictError",
    "InvalidArgumentsError",
    "IpcError",
    "NucleusIpcServer",
    "ResourceNotFoundError",
    "ServiceError",
    "Stream",
    "TokenRegistry",
    "UnauthorizedError",
]
