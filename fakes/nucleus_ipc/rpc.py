"""One IPC connection: the event-stream RPC protocol as the nucleus's server speaks it.

The socket layer (:mod:`fakes.nucleus_ipc.server`) feeds received bytes to
:meth:`Connection.receive` and gives the connection a :class:`Transport` to write to. Every
rule here is the real server's (``shared/specs/greengrass-v2-ipc.md`` §3.3-§3.5, from
aws-c-event-stream's ``event_stream_rpc_server.c`` and the Java server framework the nucleus
uses):

* The first message must be ``CONNECT`` with ``:version`` ``0.1.0`` and a JSON
  ``{"authToken": …}`` payload. The token names the component (the principal of every
  authorization check). Accepted: ``CONNECT_ACK`` with the ``CONNECTION_ACCEPTED`` flag and
  nothing else; rejected: ``CONNECT_ACK`` without it, then the connection is closed.
* ``PING`` is answered with ``PING_RESPONSE`` echoing the payload and the headers whose
  names do not start with ``:``.
* Stream ids come from the client, 1, 2, 3, …; a new stream must be the last id + 1 and carry
  an ``operation`` header. Breaking a rule gets a ``PROTOCOL_ERROR`` and the connection closes.
  The server only ever writes on streams the client opened.
* The first message on a stream is the request. The handler's answer is the first message
  back: for a request/response operation it ends the stream (``TERMINATE_STREAM``), for a
  streaming one it leaves it open and stream events may follow; events offered before the
  response is written wait for it.
* Every request gets an answer or a closed stream: a modeled error (:class:`~fakes.
  nucleus_ipc.model.IpcError`) becomes an ``APPLICATION_ERROR`` with the error shape; any
  other exception becomes the Java server's ``text/plain`` ``InternalServerError`` (the
  Python client reports it as ``StreamClosedError``).

Threads: ``receive`` runs on the connection's reader thread and calls handlers there, each
inside ``lock`` (the lock around the simulated core's state). Stream events and closes may
come from any thread. A connection never takes ``lock`` while holding its own send lock.
"""

from __future__ import annotations

import binascii
import contextlib
import json
import logging
import struct
import threading
from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager
from enum import IntEnum, IntFlag
from functools import lru_cache
from typing import Any, Literal, NamedTuple, Protocol

import orjson

from fakes.nucleus_ipc import model
from fakes.nucleus_ipc.eventstream import (
    Decoder,
    EventStreamError,
    Header,
    HeaderType,
    HeaderValue,
    Message,
    encode_headers,
    encode_message,
)

__all__ = [
    "PROTOCOL_VERSION",
    "Call",
    "Connection",
    "EventGate",
    "Flag",
    "Handler",
    "MessageType",
    "Stream",
    "Transport",
    "b64",
    "unb64",
]

log = logging.getLogger("fakes.nucleus_ipc")

PROTOCOL_VERSION = "0.1.0"


class MessageType(IntEnum):
    APPLICATION_MESSAGE = 0
    APPLICATION_ERROR = 1
    PING = 2
    PING_RESPONSE = 3
    CONNECT = 4
    CONNECT_ACK = 5
    PROTOCOL_ERROR = 6
    INTERNAL_ERROR = 7


class Flag(IntFlag):
    NONE = 0
    CONNECTION_ACCEPTED = 1
    TERMINATE_STREAM = 2


_CONTENT_JSON = Header.string(":content-type", "application/json")
_CONTENT_TEXT = Header.string(":content-type", "text/plain")
_INT32_MAX = 2**31 - 1
_MESSAGE_TYPE_COUNT = 8

# Texts of aws-c-event-stream's connection-level errors (event_stream_rpc_priv.h).
_INVALID_MESSAGE = (
    '{ "message": "A message was received with missing required fields. Check that your '
    'client is sending at least, :message-type, :message-flags, and :stream-id" }'
)
_CONNECT_NOT_COMPLETED = (
    '{ "message": "A CONNECT message must be received, and the CONNECT_ACK must be sent in '
    "response, before any other message-types can be sent on this connection. In addition, "
    'only one CONNECT message is allowed on a connection." }'
)
_INVALID_STREAM_ID = (
    '{ "message": "non-zero stream-id field is only allowed for messages of type '
    'APPLICATION_MESSAGE. The stream id max value is INT32_MAX." }'
)
_OLD_STREAM_ID = (
    '{ "message": "stream-id values must be monotonically incrementing. A stream-id arrived '
    'that was lower than the last seen stream-id." }'
)
_SKIPPED_STREAM_ID = (
    '{ "message": "stream-id values must be monotonically incrementing. A new stream-id '
    'arrived that was incremented by more than 1." }'
)
_MISSING_OPERATION = (
    '{ "message": "The first message for on a non-zero :stream-id must contain an operation '
    'header value."; }'
)
_INVALID_MESSAGE_TYPE = '{ "message": "an invalid value for message-type field was received." }'


def b64(data: bytes) -> str:
    """A blob member as the JSON wire carries it."""
    return binascii.b2a_base64(data, newline=False).decode("ascii")


def unb64(text: str) -> bytes:
    return binascii.a2b_base64(text)  # what base64.b64decode does, without its wrapper


class Transport(Protocol):
    """Where a connection writes. ``write`` is called with the connection's send lock
    held, so it is never called concurrently; it raises ``OSError`` when the peer is gone."""

    def write(self, data: bytes) -> None: ...

    def close(self) -> None: ...


class Call(NamedTuple):
    """One request as a handler sees it (a named tuple: one is made per request)."""

    operation: str
    #: the component the connection authenticated as (the authorization principal)
    component: str
    #: the request shape's JSON members (blobs still base64 strings)
    request: dict[str, Any]
    #: the stream the request arrived on; streaming operations keep it to send events
    stream: Stream


#: Answers a request with the response shape's JSON members, or raises an IpcError.
Handler = Callable[[Call], dict[str, Any]]
#: Takes a stream event instead of the socket: ``(stream, body, before_response)``; whoever
#: installs it delivers the event later with :meth:`Stream.write_event`.
EventGate = Callable[["Stream", dict[str, Any], Literal["queue", "drop"]], None]


_RPC_BLOCK = struct.Struct(">14sBi15sBi11sBi")


def _frame(
    message_type: int,
    flags: int,
    stream_id: int,
    headers: tuple[Header, ...] | bytes = (),
    payload: bytes = b"",
) -> bytes:
    """A message with the three int32 RPC headers after ``headers`` (headers, or their
    encoded block)."""
    block = (headers if type(headers) is bytes else encode_headers(headers)) + _RPC_BLOCK.pack(
        b"\x0d:message-type", _INT32, message_type,
        b"\x0e:message-flags", _INT32, flags,
        b"\x0a:stream-id", _INT32, stream_id,
    )  # fmt: skip
    return encode_message(block, payload)


@lru_cache(maxsize=512)
def _json_headers(shape: str) -> bytes:
    """The encoded ``:content-type`` and ``service-model-type`` headers of a JSON shape."""
    return encode_headers((_CONTENT_JSON, Header.string("service-model-type", shape)))


#: Plain ints for the hot path (IntEnum and IntFlag arithmetic is slow).
_INT32 = int(HeaderType.INT32)
_INT32_TYPE = HeaderType.INT32
_STRING = HeaderType.STRING
_APPLICATION_MESSAGE = int(MessageType.APPLICATION_MESSAGE)
_APPLICATION_ERROR = int(MessageType.APPLICATION_ERROR)
_TERMINATE = int(Flag.TERMINATE_STREAM)


class Stream:
    """One operation stream of a connection, as the server holds it."""

    __slots__ = ("_callbacks", "_closed", "_open", "_pending", "connection", "id", "operation")

    def __init__(self, connection: Connection, stream_id: int, operation: str) -> None:
        self.connection = connection
        self.id = stream_id
        self.operation = operation
        self._open = False  # the response has been written and the stream stays open
        self._closed = False
        self._pending: list[bytes] = []
        self._callbacks: list[Callable[[], None]] = []

    @property
    def component(self) -> str:
        return self.connection.component or ""

    @property
    def closed(self) -> bool:
        return self._closed

    def on_close(self, callback: Callable[[], None]) -> None:
        """Run ``callback`` once when the stream ends, whichever side ends it (it runs
        inside the core lock)."""
        self._callbacks.append(callback)

    def send_event(
        self, body: dict[str, Any], *, before_response: Literal["queue", "drop"] = "queue"
    ) -> bool:
        """Send a stream event; ``False`` when the stream is closed. An event offered before
        the response is written waits for it (``before_response="queue"``) or is dropped
        (``"drop"``, what the nucleus's IoT Core subscriptions do)."""
        shape = model.STREAM_EVENT_SHAPES.get(self.operation)
        if shape is None:
            raise ValueError(f"{self.operation} has no stream events")
        gate = self.connection.event_gate
        if gate is not None:
            if self._closed or (before_response == "drop" and not self._open):
                return False
            gate(self, body, before_response)
            return True
        return self.write_event(body, before_response=before_response)

    def write_event(
        self, body: dict[str, Any], *, before_response: Literal["queue", "drop"] = "queue"
    ) -> bool:
        """Write a stream event now, bypassing the connection's event gate (the gate calls
        this at its delivery point)."""
        shape = model.STREAM_EVENT_SHAPES[self.operation]
        frame = _frame(_APPLICATION_MESSAGE, 0, self.id, _json_headers(shape), orjson.dumps(body))
        connection = self.connection
        with connection._send_lock:
            if self._closed:
                return False
            if not self._open:
                if before_response == "drop":
                    return False
                self._pending.append(frame)
                return True
            return connection._write(frame)

    def close(self) -> None:
        """End the stream from the server side (an empty ``TERMINATE_STREAM`` message)."""
        connection = self.connection
        with connection._send_lock:
            if self._closed:
                return
            self._mark_closed()
        connection._run_callbacks(self)  # first, as in Connection._finish
        connection._send(_frame(_APPLICATION_MESSAGE, _TERMINATE, self.id))

    # -- used by Connection, with its send lock held --------------------------------------

    def _mark_closed(self) -> None:
        self._closed = True
        self._pending.clear()
        self.connection._streams.pop(self.id, None)


class Connection:
    """The protocol state of one client connection."""

    def __init__(
        self,
        transport: Transport,
        *,
        authenticate: Callable[[str], str | None],
        handlers: Mapping[str, Handler],
        lock: AbstractContextManager[Any],
        on_closed: Callable[[Connection], None] | None = None,
        reject_grace: float = 0.5,
        event_gate: EventGate | None = None,
    ) -> None:
        self._transport = transport
        #: when set, stream events go through it instead of straight to the socket
        self.event_gate = event_gate
        self._authenticate = authenticate
        self._handlers = handlers
        self._lock = lock
        self._on_closed = on_closed
        self._decoder = Decoder()
        self._send_lock = threading.Lock()
        self._streams: dict[int, Stream] = {}
        self._latest_stream = 0
        self._connected = False
        self._rejected = False
        self._reject_grace = reject_grace
        self._closed = False
        #: the component this connection authenticated as, once accepted
        self.component: str | None = None
        #: the token (SVCUID) it authenticated with, once accepted
        self.token: str | None = None

    @property
    def closed(self) -> bool:
        return self._closed

    @property
    def open_streams(self) -> int:
        return len(self._streams)

    # -- input -----------------------------------------------------------------------------

    def receive(self, data: bytes) -> None:
        """Handle bytes read from the socket."""
        if self._closed or self._rejected:
            return
        try:
            messages = self._decoder.feed(data)
        except EventStreamError as error:
            # The C library drops a connection whose bytes do not decode, without a message.
            log.warning("closing IPC connection of %s: %s", self.component, error)
            self.close()
            return
        for message in messages:
            if self._closed or self._rejected:
                return
            self._route(message)

    def _route(self, message: Message) -> None:
        message_type: Any = None
        flags: Any = None
        stream_id: Any = None
        operation: Any = None
        for name, kind, value in message.headers:
            if name[0] == ":":
                if kind is not _INT32_TYPE:
                    continue
                name = name.lower()
                if name == ":message-type":
                    if message_type is None:
                        message_type = value
                elif name == ":message-flags":
                    if flags is None:
                        flags = value
                elif name == ":stream-id" and stream_id is None:
                    stream_id = value
            elif operation is None and kind is _STRING and name.lower() == "operation":
                operation = value
        if message_type is None or flags is None or stream_id is None:
            self._protocol_error(_INVALID_MESSAGE)
            return
        if not self._connected and message_type != MessageType.CONNECT:
            self._protocol_error(_CONNECT_NOT_COMPLETED)
            return
        if stream_id != 0:
            self._route_stream(message, message_type, flags, stream_id, operation)
            return
        if message_type <= MessageType.APPLICATION_ERROR or message_type >= _MESSAGE_TYPE_COUNT:
            self._protocol_error(_INVALID_MESSAGE_TYPE)
        elif message_type == MessageType.CONNECT:
            if self._connected:
                self._protocol_error(_CONNECT_NOT_COMPLETED)
            else:
                self._connect(message)
        elif message_type == MessageType.PING:
            echoed = tuple(h for h in message.headers if not h.name.startswith(":"))
            self._send(_frame(MessageType.PING_RESPONSE, 0, 0, echoed, message.payload))
        elif message_type != MessageType.PING_RESPONSE:
            # The Java server answers any other connection-level type this way (malformed JSON
            # and all) and closes.
            payload = (
                '{ "error": "Unrecognized Message Type" }"message": " message type value: '
                f'{message_type} is not recognized as a valid request path." }}'
            )
            self._send(_frame(MessageType.INTERNAL_ERROR, 0, 0, (_CONTENT_JSON,), payload.encode()))
            self.close()

    def _route_stream(
        self, message: Message, message_type: int, flags: int, stream_id: int,
        operation: HeaderValue | None,
    ) -> None:
        if message_type > _APPLICATION_ERROR or stream_id > _INT32_MAX or stream_id < 0:
            self._protocol_error(_INVALID_STREAM_ID)
            return
        if stream_id <= self._latest_stream:
            stream = self._streams.get(stream_id)
            if stream is None:
                if not flags & _TERMINATE:
                    self._protocol_error(_OLD_STREAM_ID)
                return  # a close crossing ours: nothing to do
            if flags & _TERMINATE:
                self._client_closed(stream)
            else:
                # The model has no client-to-server stream events: the Java framework fails
                # to read one and answers with an internal error.
                self._internal_error(stream)
            return
        if stream_id != self._latest_stream + 1:
            self._protocol_error(_SKIPPED_STREAM_ID)
            return
        if not operation:
            self._protocol_error(_MISSING_OPERATION)
            return
        self._latest_stream = stream_id
        stream = Stream(self, stream_id, str(operation))
        with self._send_lock:
            if self._closed:
                return
            self._streams[stream_id] = stream
        if flags & _TERMINATE:
            # A request that hangs up at once is not run (Java server).
            self._client_closed(stream)
            return
        self._start(stream, message.payload)

    # -- the handshake ---------------------------------------------------------------------

    def _connect(self, message: Message) -> None:
        component = None
        version = next(
            (
                h.value
                for h in message.headers
                if h.name == ":version" and h.type is HeaderType.STRING
            ),
            None,
        )
        if version == PROTOCOL_VERSION:
            component = self._authenticate_payload(message.payload)
        accepted = component is not None
        self._connected = True
        self.component = component
        flags = Flag.CONNECTION_ACCEPTED if accepted else Flag.NONE
        self._send(_frame(MessageType.CONNECT_ACK, flags, 0))
        if not accepted:
            # The nucleus closes right after the ACK. Closed at once, the Python client can
            # lose the race and report AWS_IO_SOCKET_CLOSED instead of AccessDeniedError (seen
            # here), so the fake lets the client hang up first and closes after a grace period.
            log.info("IPC connection rejected (version %r)", version)
            self._rejected = True
            timer = threading.Timer(self._reject_grace, self.close)
            timer.daemon = True
            timer.start()

    def _authenticate_payload(self, payload: bytes) -> str | None:
        try:
            document = json.loads(payload)
        except ValueError:
            return None  # "Invalid auth token in connect message"
        if not isinstance(document, dict):
            return None
        token = document.get("authToken")
        if token is None or isinstance(token, (dict, list)) or token == "":
            return None  # "Received empty auth token to authenticate IPC client"
        if not isinstance(token, str):
            token = json.dumps(token)  # Jackson reads a scalar into a String field
        component = self._authenticate(token)
        if component is not None:
            self.token = token
        return component

    # -- operations ------------------------------------------------------------------------

    def _start(self, stream: Stream, payload: bytes) -> None:
        operation = stream.operation
        handler = self._handlers.get(operation)
        if handler is None and operation not in model.OPERATIONS:
            body = (
                '{ "error": "Unsupported Operation", '
                f'"message": "{operation} is an unsupported operation." }}'
            )
            self._finish(stream, _APPLICATION_ERROR, (_CONTENT_JSON,), body.encode())
            return
        try:
            # The Java framework reads the request before any handler, the default one too.
            request = _read_request(payload)
            if type(request) is not dict:
                raise ValueError(f"{operation}: request is not a JSON object")
            if handler is None:
                raise model.not_supported(operation)
            with self._lock:
                response = handler(Call(operation, self.component or "", request, stream))
        except model.IpcError as error:
            self._finish(
                stream, _APPLICATION_ERROR, _json_headers(error.shape), orjson.dumps(error.body())
            )
            return
        except Exception:
            log.exception("IPC handler for %s failed", operation)
            self._internal_error(stream)
            return
        frame_headers = _json_headers(operation + "Response")  # model.response_shape
        body = orjson.dumps(response)
        if operation in model.STREAM_EVENT_SHAPES:
            frame = _frame(_APPLICATION_MESSAGE, 0, stream.id, frame_headers, body)
            with self._send_lock:
                if stream._closed:
                    return
                if not self._write(frame):
                    return
                stream._open = True
                pending, stream._pending = stream._pending, []
                for event in pending:
                    if not self._write(event):
                        return
            return
        self._finish(stream, _APPLICATION_MESSAGE, frame_headers, body)

    def _finish(
        self, stream: Stream, message_type: int, headers: tuple[Header, ...] | bytes, body: bytes
    ) -> None:
        """Send the last message of a stream and close it."""
        frame = _frame(message_type, _TERMINATE, stream.id, headers, body)
        with self._send_lock:
            if stream._closed:
                return
            stream._mark_closed()
            if not stream._callbacks:
                self._write(frame)
                return
        # Close callbacks first, so that when the client sees the answer the server's state
        # (a subscription removed, say) already agrees with it.
        self._run_callbacks(stream)
        self._send(frame)

    def _internal_error(self, stream: Stream) -> None:
        self._finish(stream, _APPLICATION_ERROR, (_CONTENT_TEXT,), b"InternalServerError")

    def _client_closed(self, stream: Stream) -> None:
        with self._send_lock:
            if stream._closed:
                return
            stream._mark_closed()
        self._run_callbacks(stream)

    def _run_callbacks(self, stream: Stream) -> None:
        callbacks, stream._callbacks = stream._callbacks, []
        if not callbacks:
            return
        with self._lock:
            for callback in callbacks:
                try:
                    callback()
                except Exception:
                    log.exception("IPC stream close callback for %s failed", stream.operation)

    # -- output and teardown ---------------------------------------------------------------

    def _write(self, frame: bytes) -> bool:
        """Write with the send lock held; a dead peer marks the connection for closing."""
        if self._closed:
            return False
        try:
            self._transport.write(frame)
        except OSError:
            return False
        return True

    def _send(self, frame: bytes) -> bool:
        with self._send_lock:
            return self._write(frame)

    def _protocol_error(self, text: str) -> None:
        log.warning("IPC protocol error from %s: %s", self.component, text)
        self._send(_frame(MessageType.PROTOCOL_ERROR, 0, 0, (_CONTENT_JSON,), text.encode()))
        self.close()

    def close(self) -> None:
        """Close the connection (from any thread): every open stream ends, its close
        callbacks run, and the client's pending calls fail."""
        with self._send_lock:
            if self._closed:
                return
            self._closed = True
            streams = list(self._streams.values())
            for stream in streams:
                stream._mark_closed()
        with contextlib.suppress(OSError):
            self._transport.close()
        for stream in streams:
            self._run_callbacks(stream)
        if self._on_closed is not None:
            self._on_closed(self)


def _read_request(payload: bytes) -> Any:
    """A request's JSON. Gson reads leniently (``NaN`` and the like pass), so what orjson
    refuses gets a second, more forgiving reading."""
    if not payload:
        return None
    try:
        return orjson.loads(payload)
    except orjson.JSONDecodeError:
        return json.loads(payload)
