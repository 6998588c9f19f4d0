"""The codec server: the payload codec over HTTP, for the Temporal Web UI and the
`temporal` CLI (`--codec-endpoint`), which cannot hold the keys themselves.

Temporal's remote codec protocol: `POST .../encode` and `POST .../decode` (only the last
part of the path counts, so a proxy may mount them anywhere) take `{"payloads": [...]}`,
Temporal `Payloads` as protobuf JSON, and answer the same shape. The Web UI calls it from
the browser, so the answer carries CORS headers for the origins given (the UI sends
`Content-Type`, `X-Namespace` and, behind a login, `Authorization`); a preflight `OPTIONS`
is answered likewise. Anyone who reaches this server can read every payload: it listens
on 127.0.0.1 by default, and the operator puts it behind their own access control.

A payload that cannot be decrypted (a key id not in the ring, a damaged payload) answers
400 with one line naming the key id and the setting.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from google.protobuf import json_format
from temporalio.api.common.v1 import Payload, Payloads

from journey.temporal.codec import EncryptionCodec, UnreadablePayload

logger = logging.getLogger(__name__)

DEFAULT_PORT = 8081
# A history's payloads together stay under Temporal's 50 MB history limit.
MAX_BODY_BYTES = 64 * 1024 * 1024
ALLOWED_HEADERS = "Content-Type, X-Namespace, Authorization"


class CodecServer(ThreadingHTTPServer):
    """`/encode` and `/decode` over the codec, with CORS for `cors_origins`."""

    daemon_threads = True

    def __init__(self, codec: EncryptionCodec, ip: str, port: int, cors_origins: Sequence[str] = ()) -> None:
        self.codec = codec
        self.cors_origins = frozenset(origin.rstrip("/") for origin in cors_origins)
        super().__init__((ip, port), _Handler)

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> threading.Thread:
        """Serve in a background thread (stop with `shutdown()` then `server_close()`)."""
        thread = threading.Thread(target=self.serve_forever, name="codec-server", daemon=True)
        thread.start()
        return thread


class _Handler(BaseHTTPRequestHandler):
    server: CodecServer
    protocol_version = "HTTP/1.1"

    def do_OPTIONS(self) -> None:  # noqa: N802 (http.server's naming)
        self._answer(HTTPStatus.NO_CONTENT, b"", "text/plain", preflight=True)

    def do_POST(self) -> None:  # noqa: N802
        operation = self._operation()
        if operation is None:
            self._answer(HTTPStatus.NOT_FOUND, b"only POST .../encode and .../decode\n", "text/plain")
            return
        length = self.headers.get("Content-Length")
        if length is None or not length.isdigit():
            self._answer(HTTPStatus.LENGTH_REQUIRED, b"Content-Length required\n", "text/plain")
            return
        if int(length) > MAX_BODY_BYTES:
            self.close_connection = True
            self._answer(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, b"request too large\n", "text/plain")
            return
        body = self.rfile.read(int(length))
        try:
            payloads = json_format.Parse(body, Payloads())
        except (json_format.ParseError, ValueError) as err:
            self._answer(HTTPStatus.BAD_REQUEST, f"not Temporal Payloads JSON: {err}\n".encode(), "text/plain")
            return
        try:
            done = [operation(payload) for payload in payloads.payloads]
        except UnreadablePayload as err:
            logger.warning("decode refused: %s", err)
            self._answer(HTTPStatus.BAD_REQUEST, f"{err}\n".encode(), "text/plain")
            return
        answer = json_format.MessageToJson(Payloads(payloads=done)).encode()
        self._answer(HTTPStatus.OK, answer, "application/json")

    def do_GET(self) -> None:  # noqa: N802
        self._answer(HTTPStatus.METHOD_NOT_ALLOWED, b"POST .../encode or .../decode\n", "text/plain")

    def _operation(self) -> Callable[[Payload], Payload] | None:
        last = self.path.split("?", 1)[0].rstrip("/").rsplit("/", 1)[-1]
        return {"encode": self.server.codec.encrypt, "decode": self.server.codec.decrypt}.get(last)

    def _answer(self, status: HTTPStatus, body: bytes, content_type: str, *, preflight: bool = False) -> None:
        self.send_response(status)
        origin = (self.headers.get("Origin") or "").rstrip("/")
        if origin and origin in self.server.cors_origins:
            self.send_header("Access-Control-Allow-Origin", origin)
            self.send_header("Access-Control-Allow-Credentials", "true")
            if preflight:
                self.send_header("Access-Control-Allow-Methods", "POST, OPTIONS")
                self.send_header("Access-Control-Allow-Headers", ALLOWED_HEADERS)
                self.send_header("Access-Control-Max-Age", "600")
        self.send_header("Vary", "Origin")
        self.send_header("Cache-Control", "no-store")
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if body and self.command != "HEAD":
            self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 (http.server's signature)
        # Requests are not logged: the paths say nothing, and bodies are never logged.
        return
