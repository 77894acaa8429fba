"""The ``application/vnd.amazon.eventstream`` message format: encoder and incremental decoder.

Greengrass IPC frames every message this way (``shared/specs/greengrass-v2-ipc.md`` §3.1,
§3.2). Python has no encoder for it and botocore only a decoder, so this module holds both;
the tests check the encoder against botocore's independent decoder.

A message on the wire::

    total_length:u32  headers_length:u32  prelude_crc:u32  headers  payload  message_crc:u32

Both CRCs are CRC-32 (``zlib.crc32``); the message CRC covers everything before it,
the prelude CRC included. All integers are big-endian.

Speed: every IPC call decodes one message and encodes one, so both are kept short. A
client sends the same headers in every message but for the ``:stream-id`` value: decoded
headers are remembered by their bytes (INT32 ones, whose values change, are decoded
directly), and a message is read straight from the bytes received unless it arrived in
pieces, which are held until the whole message is there.
"""

from __future__ import annotations

import struct
import uuid
import zlib
from collections.abc import Iterable, Sequence
from enum import IntEnum
from functools import lru_cache
from typing import NamedTuple

__all__ = [
    "MAX_MESSAGE_SIZE",
    "ChecksumError",
    "Decoder",
    "EventStreamError",
    "FormatError",
    "Header",
    "HeaderType",
    "Message",
    "encode_header",
    "encode_message",
]

#: Largest message aws-c-event-stream (the client's C library) accepts, in bytes.
MAX_MESSAGE_SIZE = 24 * 1024 * 1024
#: Limits of the format as aws-c-event-stream enforces them.
MAX_HEADER_NAME_BYTES = 255
MAX_HEADER_VALUE_BYTES = 32767
_PRELUDE = struct.Struct(">III")
_PRELUDE_BYTES = 12
_CRC = struct.Struct(">I")
_LENGTHS = struct.Struct(">II")
_OVERHEAD = 16  # prelude (12) + message CRC (4)


class HeaderType(IntEnum):
    BOOL_TRUE = 0
    BOOL_FALSE = 1
    BYTE = 2
    INT16 = 3
    INT32 = 4
    INT64 = 5
    BYTE_BUFFER = 6
    STRING = 7
    TIMESTAMP = 8
    UUID = 9


HeaderValue = bool | int | bytes | str | uuid.UUID

_INTS: dict[HeaderType, struct.Struct] = {
    HeaderType.BYTE: struct.Struct(">b"),
    HeaderType.INT16: struct.Struct(">h"),
    HeaderType.INT32: struct.Struct(">i"),
    HeaderType.INT64: struct.Struct(">q"),
    HeaderType.TIMESTAMP: struct.Struct(">q"),
}
_LENGTH16 = struct.Struct(">H")
_TYPES = tuple(HeaderType)  # indexed by the type byte


class EventStreamError(ValueError):
    """Bytes that are not a valid event-stream message."""


class ChecksumError(EventStreamError):
    """A prelude or message CRC does not match its bytes."""


class FormatError(EventStreamError):
    """A length, header or value that the format does not allow."""


class Header(NamedTuple):
    """One header (a named tuple: cheap to make, immutable, hashable). ``value`` is a
    ``bool`` for the two boolean types, an ``int`` for the integer types and for ``TIMESTAMP``
    (milliseconds since the epoch), ``bytes`` for ``BYTE_BUFFER``, ``str`` for ``STRING`` and
    :class:`uuid.UUID` for ``UUID``."""

    name: str
    type: HeaderType
    value: HeaderValue

    @classmethod
    def boolean(cls, name: str, value: bool) -> Header:
        return cls(name, HeaderType.BOOL_TRUE if value else HeaderType.BOOL_FALSE, value)

    @classmethod
    def int32(cls, name: str, value: int) -> Header:
        return cls(name, HeaderType.INT32, value)

    @classmethod
    def string(cls, name: str, value: str) -> Header:
        return cls(name, HeaderType.STRING, value)


class Message(NamedTuple):
    """One message (a named tuple, as :class:`Header`: the decoder makes one per message)."""

    headers: tuple[Header, ...]
    payload: bytes

    def header(self, name: str, kind: HeaderType | None = None) -> Header | None:
        """The first header called ``name`` (compared case-insensitively, as the C library
        does), of type ``kind`` when given."""
        wanted = name.lower()
        for header in self.headers:
            if header.name.lower() == wanted and (kind is None or header.type is kind):
                return header
        return None


# -- encoding ----------------------------------------------------------------------------


def encode_header(header: Header) -> bytes:
    """The wire form of one header."""
    name = header.name.encode("utf-8")
    if not 1 <= len(name) <= MAX_HEADER_NAME_BYTES:
        raise FormatError(f"header name must be 1..{MAX_HEADER_NAME_BYTES} bytes: {header.name!r}")
    kind = HeaderType(header.type)
    head = bytes((len(name),)) + name + bytes((kind,))
    value = header.value
    if kind in (HeaderType.BOOL_TRUE, HeaderType.BOOL_FALSE):
        if value is not (kind is HeaderType.BOOL_TRUE):
            raise FormatError(
                f"header {header.name!r}: value {value!r} contradicts type {kind.name}"
            )
        return head
    if kind in _INTS:
        if not isinstance(value, int) or isinstance(value, bool):
            raise FormatError(f"header {header.name!r}: {kind.name} needs an int, not {value!r}")
        try:
            return head + _INTS[kind].pack(value)
        except struct.error:
            raise FormatError(f"header {header.name!r}: {value} does not fit {kind.name}") from None
    if kind is HeaderType.UUID:
        if not isinstance(value, uuid.UUID):
            raise FormatError(f"header {header.name!r}: UUID needs a uuid.UUID, not {value!r}")
        return head + value.bytes
    if kind is HeaderType.STRING:
        if not isinstance(value, str):
            raise FormatError(f"header {header.name!r}: STRING needs a str, not {value!r}")
        data = value.encode("utf-8")
    else:
        if not isinstance(value, (bytes, bytearray)):
            raise FormatError(f"header {header.name!r}: BYTE_BUFFER needs bytes, not {value!r}")
        data = bytes(value)
    if len(data) > MAX_HEADER_VALUE_BYTES:
        raise FormatError(
            f"header {header.name!r}: value longer than {MAX_HEADER_VALUE_BYTES} bytes"
        )
    return head + _LENGTH16.pack(len(data)) + data


@lru_cache(maxsize=1024)
def _cached_header(header: Header) -> bytes:
    return encode_header(header)


def encode_headers(headers: Iterable[Header]) -> bytes:
    """The header block; identical headers are encoded once and remembered."""
    return b"".join(_cached_header(header) for header in headers)


def encode_message(headers: Sequence[Header] | bytes, payload: bytes = b"") -> bytes:
    """A whole message. ``headers`` may be an already encoded header block."""
    block = headers if isinstance(headers, bytes) else encode_headers(headers)
    total = _OVERHEAD + len(block) + len(payload)
    if total > MAX_MESSAGE_SIZE:
        raise FormatError(f"message of {total} bytes exceeds {MAX_MESSAGE_SIZE}")
    prelude = _LENGTHS.pack(total, len(block))
    body = b"".join((prelude, _CRC.pack(zlib.crc32(prelude)), block, payload))
    return body + _CRC.pack(zlib.crc32(body))


# -- decoding ----------------------------------------------------------------------------


#: Bytes each value type takes after the type byte; -1: a uint16 length, then that many.
_VALUE_SIZES = (0, 0, 1, 2, 4, 8, -1, -1, 8, 16)
#: Decoded headers by their wire bytes. A client repeats the same headers in every message
#: (``:content-type``, ``operation``, ...), so most headers are a slice and a lookup; the
#: values that change (``:stream-id``) are decoded afresh. Cleared when full.
_HEADER_CACHE: dict[bytes, Header] = {}
_NAMES: dict[bytes, str] = {}  # names of INT32 headers, decoded
_INT32 = _INTS[HeaderType.INT32]
_HEADER_CACHE_SIZE = 4096
_CACHED_HEADER_BYTES = 256  # longer ones (rare) are not kept


def _decode_header(raw: bytes) -> Header:
    """One header from exactly its bytes (their length already checked against its
    name length, type and value length)."""
    name_length = raw[0]
    if name_length == 0:
        raise FormatError("header with an empty name")
    name = raw[1 : 1 + name_length].decode("utf-8")
    kind = _TYPES[raw[1 + name_length]]
    at = 2 + name_length
    value: HeaderValue
    if kind is HeaderType.BOOL_TRUE or kind is HeaderType.BOOL_FALSE:
        value = kind is HeaderType.BOOL_TRUE
    elif kind in _INTS:
        (value,) = _INTS[kind].unpack_from(raw, at)
    elif kind is HeaderType.UUID:
        value = uuid.UUID(bytes=raw[at:])
    elif kind is HeaderType.STRING:
        value = raw[at + 2 :].decode("utf-8")
    else:
        value = raw[at + 2 :]
    return Header(name, kind, value)


def _decode_headers(block: bytes) -> tuple[Header, ...]:
    headers: list[Header] = []
    at, end = 0, len(block)
    cache = _HEADER_CACHE
    try:
        while at < end:
            if block[at] == 0:
                raise FormatError("header with an empty name")
            code_at = at + 1 + block[at]
            if code_at >= end:
                raise FormatError("header block ends inside a header")
            code = block[code_at]
            if code == 4:  # INT32 (the RPC headers): values change, so decoded, not cached
                stop = code_at + 5
                if stop > end:
                    raise FormatError("header block ends inside a header")
                raw_name = block[at + 1 : code_at]
                name = _NAMES.get(raw_name)
                if name is None:
                    name = raw_name.decode("utf-8")
                    if len(_NAMES) < _HEADER_CACHE_SIZE:
                        _NAMES[raw_name] = name
                (value,) = _INT32.unpack_from(block, code_at + 1)
                headers.append(Header(name, HeaderType.INT32, value))
                at = stop
                continue
            if code >= len(_VALUE_SIZES):
                raise FormatError(f"unknown header value type: {code}")
            size = _VALUE_SIZES[code]
            if size < 0:
                if code_at + 3 > end:
                    raise FormatError("header block ends inside a header")
                size = 2 + (block[code_at + 1] << 8 | block[code_at + 2])
            stop = code_at + 1 + size
            if stop > end:
                if code == HeaderType.UUID:
                    raise FormatError("truncated UUID header")
                if code in (HeaderType.STRING, HeaderType.BYTE_BUFFER):
                    name = block[at + 1 : code_at].decode("utf-8", "replace")
                    raise FormatError(f"header {name!r} value runs past the header block")
                raise FormatError("header block ends inside a header")
            raw = block[at:stop]
            header = cache.get(raw)
            if header is None:
                header = _decode_header(raw)
                if stop - at <= _CACHED_HEADER_BYTES:
                    if len(cache) >= _HEADER_CACHE_SIZE:
                        cache.clear()
                    cache[raw] = header
            headers.append(header)
            at = stop
    except UnicodeDecodeError:
        raise FormatError("header name or string value is not UTF-8") from None
    return tuple(headers)


class Decoder:
    """Turns a byte stream into messages. Bytes may arrive in any pieces: :meth:`feed`
    keeps an incomplete message until the rest comes. After an error the stream cannot be
    resynchronised, so every later call raises too."""

    def __init__(self, max_message_size: int = MAX_MESSAGE_SIZE) -> None:
        self._buffer = bytearray()
        #: how many bytes the buffer must hold before another message can be complete
        self._wanted = _PRELUDE_BYTES
        self._max = max_message_size
        self._failed: EventStreamError | None = None

    @property
    def pending(self) -> int:
        """Bytes held that do not yet form a whole message."""
        return len(self._buffer)

    def finish(self) -> None:
        """Declare the stream ended; bytes of an unfinished message are an error."""
        if self._buffer:
            raise FormatError(f"stream ended inside a message ({len(self._buffer)} bytes held)")

    def feed(self, data: bytes) -> list[Message]:
        """Add bytes; return every message they complete, in order."""
        if self._failed is not None:
            raise self._failed
        buffer = self._buffer
        if buffer:
            # The rest of a message held back: wait until it can be complete (so a large
            # message arriving in many reads is copied once, not once a read).
            buffer += data
            if len(buffer) < self._wanted:
                return []
            data = bytes(buffer)
            buffer.clear()
        elif type(data) is not bytes:
            data = bytes(data)
        messages: list[Message] = []
        start, size, total = 0, len(data), _PRELUDE_BYTES
        crc32 = zlib.crc32
        try:
            while size - start >= _PRELUDE_BYTES:
                total, header_length, prelude_crc = _PRELUDE.unpack_from(data, start)
                if crc32(data[start : start + 8]) != prelude_crc:
                    raise ChecksumError("prelude CRC mismatch")
                if total > self._max:
                    raise FormatError(f"message of {total} bytes exceeds {self._max}")
                if total < _OVERHEAD + header_length:
                    raise FormatError(
                        f"total length {total} cannot hold {header_length} header bytes"
                    )
                end = start + total
                if size < end:
                    break
                (message_crc,) = _CRC.unpack_from(data, end - 4)
                if crc32(memoryview(data)[start : end - 4]) != message_crc:
                    raise ChecksumError("message CRC mismatch")
                headers_end = start + _PRELUDE_BYTES + header_length
                messages.append(
                    Message(
                        _decode_headers(data[start + _PRELUDE_BYTES : headers_end]),
                        data[headers_end : end - 4],
                    )
                )
                start = end
        except EventStreamError as error:
            self._failed = error
            buffer.clear()
            raise
        if start < size:
            buffer += memoryview(data)[start:]
            self._wanted = total if size - start >= _PRELUDE_BYTES else _PRELUDE_BYTES
        return messages
