"""The event-stream codec against botocore's independent decoder."""

from __future__ import annotations

import struct
import uuid
import zlib

import pytest
from botocore.eventstream import ChecksumMismatch, EventStreamBuffer

from fakes.nucleus_ipc.eventstream import (
    ChecksumError,
    Decoder,
    FormatError,
    Header,
    HeaderType,
    encode_message,
)

ID = uuid.UUID("12345678-1234-5678-1234-567812345678")
EVERY_TYPE = (
    Header.boolean("yes", True),
    Header.boolean("no", False),
    Header("byte", HeaderType.BYTE, -7),
    Header("short", HeaderType.INT16, -30000),
    Header.int32("int", 2_000_000_000),
    Header("long", HeaderType.INT64, -(2**62)),
    Header("blob", HeaderType.BYTE_BUFFER, b"\x00\xffraw"),
    Header.string("text", "héllo"),
    Header("when", HeaderType.TIMESTAMP, 1_700_000_000_123),
    Header("id", HeaderType.UUID, ID),
)
#: What botocore's decoder makes of each header's value.
BOTOCORE_VALUES = {
    "yes": True,
    "no": False,
    "byte": -7,
    "short": -30000,
    "int": 2_000_000_000,
    "long": -(2**62),
    "blob": b"\x00\xffraw",
    "text": "héllo",
    "when": 1_700_000_000_123,
    "id": ID.bytes,
}


def botocore_decode(data: bytes) -> list:
    buffer = EventStreamBuffer()
    buffer.add_data(data)
    return list(buffer)


def test_every_header_type_is_read_back_by_botocore() -> None:
    (message,) = botocore_decode(encode_message(EVERY_TYPE, b'{"a": 1}'))
    assert message.headers == BOTOCORE_VALUES
    assert message.payload == b'{"a": 1}'


@pytest.mark.parametrize("header", EVERY_TYPE, ids=lambda h: h.type.name)
def test_each_header_type_alone_round_trips_both_decoders(header: Header) -> None:
    data = encode_message((header,), b"x")
    (theirs,) = botocore_decode(data)
    assert theirs.headers == {header.name: BOTOCORE_VALUES[header.name]}
    (ours,) = Decoder().feed(data)
    assert ours.headers == (header,) and ours.payload == b"x"


def test_empty_message_is_sixteen_bytes_with_both_crcs() -> None:
    data = encode_message((), b"")
    assert len(data) == 16
    assert data[:8] == struct.pack(">II", 16, 0)
    assert struct.unpack(">I", data[8:12])[0] == zlib.crc32(data[:8])
    assert struct.unpack(">I", data[12:])[0] == zlib.crc32(data[:12])
    (message,) = botocore_decode(data)
    assert message.headers == {} and message.payload == b""


def test_messages_split_across_feeds_at_every_byte() -> None:
    stream = encode_message(EVERY_TYPE, b"first") + encode_message(
        (Header.int32("n", 2),), b"second"
    )
    for cut in range(len(stream) + 1):
        decoder = Decoder()
        got = decoder.feed(stream[:cut]) + decoder.feed(stream[cut:])
        assert [m.payload for m in got] == [b"first", b"second"], cut
        assert decoder.pending == 0


def test_byte_by_byte_feeding_yields_each_message_once() -> None:
    stream = encode_message((), b"a") + encode_message((), b"b")
    decoder = Decoder()
    got = [m.payload for byte in stream for m in decoder.feed(bytes([byte]))]
    assert got == [b"a", b"b"]


def test_several_messages_in_one_feed() -> None:
    stream = b"".join(encode_message((Header.int32("i", i),), b"") for i in range(5))
    assert [m.headers[0].value for m in Decoder().feed(stream)] == [0, 1, 2, 3, 4]


@pytest.mark.parametrize("position", ["prelude", "headers", "payload", "message_crc"])
def test_a_flipped_bit_is_rejected_by_both_decoders(position: str) -> None:
    data = bytearray(encode_message((Header.string("k", "value"),), b"payload"))
    index = {"prelude": 2, "headers": 14, "payload": len(data) - 6, "message_crc": len(data) - 1}
    data[index[position]] ^= 0x10
    with pytest.raises(ChecksumError):
        Decoder().feed(bytes(data))
    with pytest.raises(ChecksumMismatch):
        botocore_decode(bytes(data))


def test_a_decoder_stays_failed_after_an_error() -> None:
    decoder = Decoder()
    bad = bytearray(encode_message((), b"x"))
    bad[-1] ^= 1
    with pytest.raises(ChecksumError):
        decoder.feed(bytes(bad))
    with pytest.raises(ChecksumError):
        decoder.feed(encode_message((), b"fine"))


def test_truncated_input_is_held_and_rejected_at_the_end() -> None:
    data = encode_message((Header.string("k", "v"),), b"payload")
    decoder = Decoder()
    assert decoder.feed(data[:-3]) == []
    assert decoder.pending == len(data) - 3
    with pytest.raises(FormatError, match="stream ended inside a message"):
        decoder.finish()


def test_lengths_that_cannot_hold_the_headers_are_rejected() -> None:
    prelude = struct.pack(">II", 16, 50)
    data = prelude + struct.pack(">I", zlib.crc32(prelude)) + b"\x00" * 4
    with pytest.raises(FormatError, match="cannot hold"):
        Decoder().feed(data)


def test_oversized_message_is_rejected_before_it_arrives() -> None:
    prelude = struct.pack(">II", 100, 0)
    with pytest.raises(FormatError, match="exceeds 64"):
        Decoder(max_message_size=64).feed(prelude + struct.pack(">I", zlib.crc32(prelude)))


def test_unknown_header_type_is_rejected() -> None:
    block = b"\x01k\x0a"  # type 10 does not exist
    body = struct.pack(">II", 16 + len(block), len(block))
    body += struct.pack(">I", zlib.crc32(body)) + block
    with pytest.raises(FormatError, match="unknown header value type"):
        Decoder().feed(body + struct.pack(">I", zlib.crc32(body)))


def test_header_value_running_past_the_block_is_rejected() -> None:
    block = b"\x01k\x07\x00\x09abc"  # string of 9 bytes, only 3 present
    body = struct.pack(">II", 16 + len(block), len(block))
    body += struct.pack(">I", zlib.crc32(body)) + block
    with pytest.raises(FormatError):
        Decoder().feed(body + struct.pack(">I", zlib.crc32(body)))


@pytest.mark.parametrize(
    ("header", "problem"),
    [
        (Header.int32("n", 2**31), "does not fit"),
        (Header("b", HeaderType.BYTE, 128), "does not fit"),
        (Header("", HeaderType.INT32, 1), "header name"),
        (Header("x" * 256, HeaderType.INT32, 1), "header name"),
        (Header.string("s", "x" * 32768), "longer than"),
        (Header("t", HeaderType.BOOL_TRUE, False), "contradicts"),
        (Header("s", HeaderType.STRING, b"bytes"), "needs a str"),
    ],
)
def test_encoder_refuses_what_the_format_cannot_carry(header: Header, problem: str) -> None:
    with pytest.raises(FormatError, match=problem):
        encode_message((header,), b"")


def test_repeated_headers_decode_the_same_every_time() -> None:
    # The decoder remembers headers by their bytes; every message must still read back
    # exactly, the values that change (stream ids) included, and agree with botocore.
    headers = (
        Header.string(":content-type", "application/json"),
        Header.string("service-model-type", "aws.greengrass#GetThingShadowRequest"),
        Header.int32(":message-type", 0),
        Header.int32(":message-flags", 0),
        Header.string("operation", "aws.greengrass#GetThingShadow"),
    )
    long = Header.string("long", "v" * 1000)  # too long to be remembered
    stream = b"".join(
        encode_message((*headers, Header.int32(":stream-id", n), long), b'{"n": %d}' % n)
        for n in range(1, 50)
    )
    decoder = Decoder()
    ours = decoder.feed(stream[:1000]) + decoder.feed(stream[1000:])
    theirs = botocore_decode(stream)
    assert len(ours) == len(theirs) == 49
    for n, (mine, other) in enumerate(zip(ours, theirs, strict=True), 1):
        assert mine.headers == (*headers, Header.int32(":stream-id", n), long)
        assert {h.name: h.value for h in mine.headers} == other.headers
        assert mine.payload == other.payload == b'{"n": %d}' % n


def test_a_large_message_in_small_reads_is_held_until_complete() -> None:
    payload = bytes(range(256)) * 400
    stream = encode_message(EVERY_TYPE, payload) + encode_message((), b"next")
    decoder = Decoder()
    got = decoder.feed(stream[:97])
    assert got == [] and decoder.pending == 97
    for at in range(97, len(stream), 97):
        got += decoder.feed(stream[at : at + 97])
    assert [m.payload for m in got] == [payload, b"next"]
    assert got[0].headers == EVERY_TYPE
    assert decoder.pending == 0


@pytest.mark.parametrize(
    ("block", "problem"),
    [
        (b"\x00\x04\x00\x00\x00\x01", "empty name"),  # an INT32 header without a name
        (b"\x01k\x04\x00\x00", "ends inside a header"),  # INT32 cut short
        (b"\x01k\x09" + b"\x00" * 8, "truncated UUID"),
        (b"\x01k", "ends inside a header"),  # no type byte
        (b"\x02\xff\xfe\x04\x00\x00\x00\x01", "not UTF-8"),
    ],
)
def test_malformed_header_blocks_are_rejected(block: bytes, problem: str) -> None:
    body = struct.pack(">II", 16 + len(block), len(block))
    body += struct.pack(">I", zlib.crc32(body)) + block
    with pytest.raises(FormatError, match=problem):
        Decoder().feed(body + struct.pack(">I", zlib.crc32(body)))
