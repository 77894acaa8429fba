"""IPC round trip: the real ``awsiotsdk`` client -> the simulated V2 core's nucleus -> back.

A simulated V2 core runs the shipped group cut down to the republish Lambda (its
``accessControl`` lets it read the ``weather-station`` Shadow; this bench adds a local pub/sub
policy for one topic). From the test thread, an unmodified ``GreengrassCoreIPCClientV2``,
authenticated as republish's component, calls ``get_thing_shadow`` (the Shadow republish
keeps, about 0.5 KB), ``update_thing_shadow`` (the update republish sends for a reading,
the call of ``bench/sim_day.py``'s V2 path) and ``publish_to_topic`` (no subscriber).
Virtual time moves 0.1 s between calls, untimed, so ShadowManager's rate limit (20 requests
a second per thing, on the virtual clock) lets every call through, as it would a device's.

The floor is the same client library, in the same process, talking over the same kind of
socket to the least a server can do: one thread per connection that reads, finds the
message boundaries, the ``:stream-id`` and the ``operation`` of each request, and writes a
pre-encoded response of the same shape and size (CRCs computed, nothing decoded, no
handler). What the core takes above the floor is the simulated nucleus: codec, RPC
protocol, authorization, ShadowManager, pub/sub. The floor is started after the simulation,
so its threads run where the simulated core's do.

The two alternate in blocks, the order swapping each block, so both see the same machine.
Prints, per operation, the median and p90 of both, the ratio of the medians and the
difference, and whether the core's median round trip meets the target (at most 200 us).

    python -m bench.ipc_round_trip [--calls N] [--block N]
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import gc
import json
import os
import shutil
import socket
import statistics
import struct
import tempfile
import threading
import time
import zlib
from collections.abc import Callable, Iterator
from typing import Any

from awsiot import greengrasscoreipc
from awsiot.greengrasscoreipc.clientv2 import GreengrassCoreIPCClientV2
from awsiot.greengrasscoreipc.model import BinaryMessage, PublishMessage

from bench.sim_day import readings, republish_only
from harness.group import Group
from harness.nucleus import component_name
from harness.simulation import DEFAULT_GROUP, Simulation

TARGET_US = 200.0
THING = "weather-station"
TOPIC = "bench/round-trip"
STEP = 0.1  # virtual seconds between calls


def bench_group() -> Group:
    """republish alone, allowed to publish on :data:`TOPIC` as well."""
    group = republish_only()
    function = group.function("republish")
    access = dict(function.access_control or {})
    access["aws.greengrass.ipc.pubsub"] = {
        "weather-station.republish:pubsub:bench": {
            "policyDescription": "ipc_round_trip bench",
            "operations": ["aws.greengrass#PublishToTopic"],
            "resources": [TOPIC],
        }
    }
    return group.model_copy(update={
        "functions": [function.model_copy(update={"access_control": access})]})


# -- the floor ----------------------------------------------------------------------------


def _header(name: str, kind: int, value: bytes) -> bytes:
    raw = name.encode()
    return bytes((len(raw),)) + raw + bytes((kind,)) + value


def _string(name: str, value: str) -> bytes:
    data = value.encode()
    return _header(name, 7, struct.pack(">H", len(data)) + data)


def _int32(name: str, value: int) -> bytes:
    return _header(name, 4, struct.pack(">i", value))


def _message(headers: bytes, payload: bytes) -> bytes:
    prelude = struct.pack(">II", 16 + len(headers) + len(payload), len(headers))
    body = prelude + struct.pack(">I", zlib.crc32(prelude)) + headers + payload
    return body + struct.pack(">I", zlib.crc32(body))


_STREAM_ID = b"\x0a:stream-id\x04"
_OPERATION = b"\x09operation\x07"


class FloorServer:
    """The least an eventstream-RPC server can do for this client: accept every CONNECT
    and answer every request with a canned response (``responses``: operation -> JSON
    body). It relies on this client's framing (one ``:stream-id`` and ``operation`` header
    each) instead of decoding headers."""

    def __init__(self, responses: dict[str, bytes]) -> None:
        self._responses = {
            operation.encode(): (
                _string(":content-type", "application/json")
                + _string("service-model-type", operation + "Response")
                + _int32(":message-type", 0) + _int32(":message-flags", 2),
                body,
            )
            for operation, body in responses.items()
        }
        self._ack = _message(_int32(":message-type", 5) + _int32(":message-flags", 1)
                             + _int32(":stream-id", 0), b"")
        self._directory = tempfile.mkdtemp(prefix="gg-")
        self.socket_path = os.path.join(self._directory, "floor.socket")
        self._listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self._listener.bind(self.socket_path)
        self._listener.listen(8)
        threading.Thread(target=self._accept, name="floor-accept", daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                sock, _ = self._listener.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(sock,), name="floor-connection",
                             daemon=True).start()

    def _serve(self, sock: socket.socket) -> None:
        pending = b""
        with sock:
            while data := sock.recv(65536):
                pending += data
                while len(pending) >= 12:
                    (total,) = struct.unpack_from(">I", pending)
                    if len(pending) < total:
                        break
                    message, pending = pending[:total], pending[total:]
                    at = message.find(_STREAM_ID) + len(_STREAM_ID)
                    (stream_id,) = struct.unpack_from(">i", message, at)
                    if stream_id == 0:
                        sock.sendall(self._ack)
                        continue
                    at = message.find(_OPERATION) + len(_OPERATION)
                    (length,) = struct.unpack_from(">H", message, at)
                    headers, body = self._responses[message[at + 2:at + 2 + length]]
                    sock.sendall(_message(headers + _int32(":stream-id", stream_id), body))

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self._listener.shutdown(socket.SHUT_RDWR)
        self._listener.close()
        shutil.rmtree(self._directory, ignore_errors=True)


# -- measuring ----------------------------------------------------------------------------


def _client(socket_path: str, token: str) -> GreengrassCoreIPCClientV2:
    connection = greengrasscoreipc.connect(ipc_socket=socket_path, authtoken=token)
    return GreengrassCoreIPCClientV2(client=connection)


def _reported() -> dict[str, Any]:
    """What republish reports for a reading."""
    return {**readings(1)[0], "compensation": "cpu", "cpu_temperature": 45.0, "error": None}


def _calls(ipc: GreengrassCoreIPCClientV2) -> dict[str, Callable[[], Any]]:
    message = PublishMessage(binary_message=BinaryMessage(message=b'{"n": 1}'))
    update = json.dumps({"state": {"reported": _reported()}}, allow_nan=False).encode()
    return {
        "GetThingShadow": lambda: ipc.get_thing_shadow(thing_name=THING),
        "UpdateThingShadow": lambda: ipc.update_thing_shadow(thing_name=THING, payload=update),
        "PublishToTopic": lambda: ipc.publish_to_topic(topic=TOPIC, publish_message=message),
    }


@contextlib.contextmanager
def running_core() -> Iterator[tuple[Simulation, str]]:
    """A simulated V2 core whose republish Shadow holds a reading; yields it and a token
    for republish's component."""
    with Simulation(bench_group(), code_dir=DEFAULT_GROUP.parent) as sim:
        sim.shadow_service.update(THING, {"state": {"reported": _reported()}})
        assert sim.core.nucleus is not None
        token = sim.core.nucleus.server.issue_token(component_name(sim.group.name, "republish"))
        yield sim, token


def measure(calls: int, block: int) -> dict[str, dict[str, list[float]]]:
    """Round trips in microseconds: {operation: {"core": [...], "floor": [...]}}."""
    samples: dict[str, dict[str, list[float]]] = {}
    with running_core() as (sim, token):
        assert sim.core.nucleus is not None
        core_ipc = _client(sim.core.nucleus.server.socket_path, token)
        core_calls = _calls(core_ipc)
        canned = {  # the core's own answers, for the floor to repeat
            operation: json.dumps({"payload": base64.b64encode(call().payload).decode()}
                                  ).encode()
            for operation, call in core_calls.items() if operation.endswith("Shadow")
        }
        floor = FloorServer({**{"aws.greengrass#" + op: body for op, body in canned.items()},
                             "aws.greengrass#PublishToTopic": b"{}"})
        floor_ipc = _client(floor.socket_path, token)
        try:
            sides = {"core": core_calls, "floor": _calls(floor_ipc)}
            for operation in sides["core"]:
                times: dict[str, list[float]] = {"core": [], "floor": []}
                for side in sides:  # warm-up
                    for _ in range(min(block, 200)):
                        sim.run(STEP)
                        sides[side][operation]()
                gc.collect()
                for number in range(max(1, calls // block)):
                    order = ("core", "floor") if number % 2 == 0 else ("floor", "core")
                    for side in order:
                        call, kept = sides[side][operation], times[side]
                        for _ in range(block):
                            sim.run(STEP)
                            start = time.perf_counter_ns()
                            call()
                            kept.append((time.perf_counter_ns() - start) / 1000)
                samples[operation] = times
        finally:
            floor_ipc.close()
            core_ipc.close()
            floor.close()
    return samples


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=4000, help="timed calls per side")
    parser.add_argument("--block", type=int, default=100, help="calls per alternation")
    args = parser.parse_args(argv)
    samples = measure(args.calls, args.block)
    count = len(next(iter(samples.values()))["core"])
    print(f"IPC round trip, real GreengrassCoreIPCClientV2 -> simulated V2 core -> client "
          f"({count:,} calls a side, alternating in blocks of {args.block})")
    print(f"  {'operation':17s} {'core median':>12s} {'p90':>8s}   {'floor median':>12s} "
          f"{'p90':>8s}   {'ratio':>6s} {'ours':>8s}")
    verdicts = []
    for operation, times in samples.items():
        core, floor = statistics.median(times["core"]), statistics.median(times["floor"])
        print(f"  {operation:17s} {core:9.0f} us {percentile(times['core'], 0.9):5.0f} us   "
              f"{floor:9.0f} us {percentile(times['floor'], 0.9):5.0f} us   "
              f"{core / floor:5.2f}x {core - floor:+6.0f} us")
        verdicts.append(f"{operation} {'meets' if core <= TARGET_US else 'MISSES'}")
    print(f"  target: core median at most {TARGET_US:.0f} us: {', '.join(verdicts)}")


if __name__ == "__main__":
    main()
