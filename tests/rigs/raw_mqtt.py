"""A raw MQTT 3.1.1 client for the broker tests: exactly the bytes the broker answers."""

from __future__ import annotations

import contextlib
import socket
import ssl

from harness.rigs.mosquitto import Mosquitto
from harness.rigs.pki import RunPki

TIMEOUT = 5.0


def _string(text: str) -> bytes:
    encoded = text.encode()
    return len(encoded).to_bytes(2, "big") + encoded


def _packet(first: int, body: bytes) -> bytes:
    """An MQTT packet: the first byte, the remaining length (variable-length), the body."""
    length, encoded = len(body), b""
    while True:
        length, digit = divmod(length, 128)
        encoded += bytes([digit | (0x80 if length else 0)])
        if not length:
            return bytes([first]) + encoded + body


class Raw311:
    """An MQTT 3.1.1 connection (clean session) over TLS written byte by byte, so a test
    sees exactly what the broker answers (paho hides a missing or extra acknowledgement).
    ``connack`` is the broker's first packet, or b"" when it closed the connection."""

    def __init__(self, broker: Mosquitto, pki: RunPki, thing: str, client_id: str | None = None,
                 *, helper: bool = False) -> None:
        context = ssl.create_default_context(cafile=pki.group_ca)
        context.load_cert_chain(*(pki.helper(thing) if helper else pki.client(thing)))
        plain = socket.create_connection((broker.host, broker.port), timeout=TIMEOUT)
        self.tls = context.wrap_socket(plain, server_hostname="localhost")
        client_id = thing if client_id is None else client_id
        self.send(_packet(0x10, b"\x00\x04MQTT\x04\x02\x00\x3c" + _string(client_id)))
        self.connack = self.read() or b""

    def send(self, packet: bytes) -> None:
        self.tls.sendall(packet)

    def _exactly(self, count: int) -> bytes | None:
        data = b""
        while len(data) < count:
            chunk = self.tls.recv(count - len(data))
            if not chunk:
                return None
            data += chunk
        return data

    def read(self, timeout: float = TIMEOUT) -> bytes | None:
        """The next whole packet; None when the broker closed the connection or sent
        nothing within ``timeout`` seconds."""
        self.tls.settimeout(timeout)
        try:
            head = self._exactly(1)
            if head is None:
                return None
            length, shift, encoded = 0, 0, b""
            while True:
                byte = self._exactly(1)
                if byte is None:
                    return None
                encoded += byte
                length += (byte[0] & 0x7F) << shift
                shift += 7
                if not byte[0] & 0x80:
                    break
            body = self._exactly(length) if length else b""
            return None if body is None else head + encoded + body
        except (TimeoutError, ConnectionError):
            return None

    def subscribe(self, mid: int, *filters: str) -> list[int]:
        """SUBSCRIBE ``filters`` at QoS 1 in one packet: the SUBACK's return codes."""
        body = mid.to_bytes(2, "big") + b"".join(_string(f) + b"\x01" for f in filters)
        self.send(_packet(0x82, body))
        answer = self.read()
        assert answer is not None and answer[0] == 0x90, answer
        assert answer[2:4] == mid.to_bytes(2, "big")
        return list(answer[4:])

    def publish(self, topic: str, payload: bytes, *, qos: int, mid: int = 1) -> None:
        body = _string(topic) + (mid.to_bytes(2, "big") if qos else b"") + payload
        self.send(_packet(0x30 | qos << 1, body))

    def still_open(self) -> bool:
        """PINGREQ answered with PINGRESP: the connection is open."""
        self.send(b"\xc0\x00")
        return self.read() == b"\xd0\x00"

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.send(b"\xe0\x00")  # DISCONNECT
        self.tls.close()
