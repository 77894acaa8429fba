"""A Greengrass discovery endpoint on loopback, answering as the service does.

``GET /greengrass/discover/thing/<thingName>`` over mutual TLS: the server certificate is
signed by the run's root CA (the Amazon root CA's stand-in), and a client certificate signed
by that root CA is required. The certificate's CN stands in for the thing's IoT policy: a
device may discover itself only.

- 200: the discovery JSON (one group, one core, the connectivity entries, the CA that signed
  the broker's certificate: the group CA on V1, the core's client device auth CA on V2);
- 403 when the URL names another thing than the certificate's CN, with the service's body
  ``{"message":null,"traceId":"..."}``;
- 404 when the thing is not associated with the core (``things``: on V1 the group's device
  things, on V2 the core device's client devices), with
  ``{"errorMessage":"The thing provided for discovery was not found"}``;
- 404 for any other path; 501 for other methods.

A client without a certificate, or with one from another CA, fails the TLS handshake.

The wire form is what AWS's own clients read (both are run against it in
``tests/rigs/test_aws_clients.py``): HTTP/1.1 with lower-case header names, one response per
connection (``connection: close``). AWSIoTPythonSDK 1.6.2's ``DiscoveryInfoProvider`` parses
the raw bytes and accepts only a status line starting ``HTTP/1.1 <code> `` and a
``content-length: `` header; awsiotsdk's ``DiscoveryClient`` (awscrt) parses real HTTP. Other
methods get 501 and malformed requests 400, in the same form with a JSON ``errorMessage``.

The body has the V1 shape on V2 as well (``greengrass-v2-topology.md`` §1.5), connectivity
keys capitalised (``Id``, ``HostAddress``, ``PortNumber``, ``Metadata``): both AWS clients read
exactly those keys, although the V2 developer guide prints them in lower case. The group id
is the one given: on V2 each core device is its own group, :func:`v2_group_id`
(``greengrassV2-coreDevice-<core thing>``), which the broker rig answers with.
"""

from __future__ import annotations

import http.server
import json
import logging
import ssl
import threading
import urllib.parse
import uuid
from collections.abc import Iterable
from types import TracebackType
from typing import Any

from harness.rigs.pki import RunPki

__all__ = ["DISCOVERY_PATH", "DiscoveryEndpoint", "discovery_reply", "v2_group_id"]

logger = logging.getLogger(__name__)

DISCOVERY_PATH = "/greengrass/discover/thing/"
HOST = "127.0.0.1"
_NOT_FOUND = "The thing provided for discovery was not found"
_REQUEST_TIMEOUT = 10.0  # seconds a client may take for the handshake and its request


def v2_group_id(core_thing: str) -> str:
    """The ``GGGroupId`` the V2 service answers for a core device: each core is its own
    group."""
    return f"greengrassV2-coreDevice-{core_thing}"


def discovery_reply(
    group_id: str, core_thing_arn: str, connectivity: Iterable[tuple[str, int]], group_ca: str
) -> dict[str, Any]:
    """The V1 discovery reply for one group with one core reachable at ``connectivity``.

    Entry ids follow Greengrass's automatic ones, ``AUTOIP_<host>_<index>``.
    """
    entries = [
        {"Id": f"AUTOIP_{host}_{index}", "HostAddress": host, "PortNumber": port, "Metadata": ""}
        for index, (host, port) in enumerate(connectivity)
    ]
    core = {"thingArn": core_thing_arn, "Connectivity": entries}
    return {"GGGroups": [{"GGGroupId": group_id, "Cores": [core], "CAs": [group_ca]}]}


def _common_name(certificate: dict[str, Any] | None) -> str | None:
    for rdn in (certificate or {}).get("subject", ()):
        for key, value in rdn:
            if key == "commonName":
                return str(value)
    return None


class _Handler(http.server.BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        endpoint = self.server.endpoint
        path = urllib.parse.urlsplit(self.path).path
        if not path.startswith(DISCOVERY_PATH) or "/" in path[len(DISCOVERY_PATH) :]:
            self._reply(404, {"errorMessage": f"no such resource: {path}"})
            return
        thing = urllib.parse.unquote(path[len(DISCOVERY_PATH) :])
        identity = _common_name(self.connection.getpeercert())  # type: ignore[attr-defined]
        if thing != identity:
            status, body = 403, {"message": None, "traceId": str(uuid.uuid4())}
        elif thing not in endpoint.things:
            status, body = 404, {"errorMessage": _NOT_FOUND}
        else:
            status, body = 200, endpoint.reply()
        endpoint._record(thing, status)
        self._reply(status, body)

    def _reply(self, status: int, body: dict[str, Any]) -> None:
        """One whole HTTP/1.1 response, written at once, after which the connection closes.

        The status line and header names are spelt as AWS's endpoint spells them: AWSIoTPythonSDK
        1.6.2 parses the raw bytes and needs ``HTTP/1.1 <code> `` and ``content-length: ``."""
        data = json.dumps(body).encode("utf-8")
        reason = self.responses.get(status, ("",))[0]
        head = [
            f"HTTP/1.1 {status} {reason}",
            f"date: {self.date_time_string()}",
            "content-type: application/json",
            f"content-length: {len(data)}",
            "connection: close",
        ]
        self.close_connection = True
        self.log_request(status, len(data))
        self.wfile.write(("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + data)

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """The server's own errors (501 for another method, 400 for a malformed request) in
        the same form, with a JSON body."""
        reason = self.responses.get(code, ("error",))[0]
        self._reply(code, {"errorMessage": message or reason})

    def log_message(self, format: str, *args: Any) -> None:
        logger.info("discovery %s: " + format, self.address_string(), *args)


class _Server(http.server.ThreadingHTTPServer):
    """Accepts plain TCP; each request's thread does the TLS handshake, so a slow or failing
    client never holds up the others."""

    daemon_threads = True

    def __init__(self, port: int, context: ssl.SSLContext, endpoint: DiscoveryEndpoint) -> None:
        super().__init__((HOST, port), _Handler)
        self.context = context
        self.endpoint = endpoint

    def finish_request(self, request: Any, client_address: Any) -> None:
        request.settimeout(_REQUEST_TIMEOUT)
        try:
            connection = self.context.wrap_socket(request, server_side=True)
        except (ssl.SSLError, OSError) as error:
            logger.warning("discovery: TLS handshake with %s failed: %s", client_address, error)
            request.close()
            return
        try:
            self.RequestHandlerClass(connection, client_address, self)
        finally:
            connection.close()


class DiscoveryEndpoint:
    """The discovery service for one run, in a daemon thread; a context manager.

    ``connectivity`` lists where the core is, as ``(host, port)``, in the order devices should
    try them; :meth:`set_connectivity` changes later answers. ``things`` are the device things
    associated with the group (default: all of the pki's); others get 404. :attr:`requests`
    lists the discovery requests answered, as ``(thing, status)``.
    """

    def __init__(
        self,
        pki: RunPki,
        *,
        group_id: str,
        core_thing_arn: str,
        connectivity: list[tuple[str, int]],
        port: int = 0,
        things: Iterable[str] | None = None,
    ) -> None:
        self.pki = pki
        self.things = frozenset(pki.things if things is None else things)
        self.group_id = group_id
        self.core_thing_arn = core_thing_arn
        self._connectivity = tuple(connectivity)
        self._port = port
        self._requests: list[tuple[str, int]] = []
        self._lock = threading.Lock()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._group_ca = pki.group_ca_pem

    @property
    def host(self) -> str:
        return HOST

    @property
    def port(self) -> int:
        """The listening port (known once started)."""
        if not self._port:
            raise RuntimeError("the discovery endpoint has no port yet: start() it first")
        return self._port

    @property
    def requests(self) -> list[tuple[str, int]]:
        """The discovery requests answered so far, as ``(thing in the URL, HTTP status)``."""
        with self._lock:
            return list(self._requests)

    def set_connectivity(self, connectivity: list[tuple[str, int]]) -> None:
        """Answer with these ``(host, port)`` entries from now on."""
        self._connectivity = tuple(connectivity)

    def reply(self) -> dict[str, Any]:
        """The 200 reply's body as it stands."""
        return discovery_reply(
            self.group_id, self.core_thing_arn, self._connectivity, self._group_ca
        )

    def _record(self, thing: str, status: int) -> None:
        with self._lock:
            self._requests.append((thing, status))

    def _context(self) -> ssl.SSLContext:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        context.load_cert_chain(self.pki.discovery_cert, self.pki.discovery_key)
        context.load_verify_locations(cafile=self.pki.root_ca)
        context.verify_mode = ssl.CERT_REQUIRED
        return context

    def start(self) -> None:
        if self._server is not None:
            raise RuntimeError(f"the discovery endpoint is already serving on port {self._port}")
        self._server = _Server(self._port, self._context(), self)
        self._port = int(self._server.server_address[1])
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"discovery-{self._port}",
            daemon=True,
        )
        self._thread.start()
        logger.info("discovery endpoint serving on https://%s:%d", HOST, self._port)

    def stop(self) -> None:
        """Stop serving (harmless when stopped); the port is kept for a later start."""
        server, self._server = self._server, None
        if server is None:
            return
        server.shutdown()
        server.server_close()
        if self._thread is not None:
            self._thread.join()
            self._thread = None

    def __enter__(self) -> DiscoveryEndpoint:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()
