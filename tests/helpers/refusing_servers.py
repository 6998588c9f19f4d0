"""Local receivers that refuse: an SMTP server that rejects every login (535) or answers
RCPT TO with a chosen reply, and a webhook that answers every POST with a chosen HTTP
status. Each runs in a thread of the test process on a free port, like
tests/helpers/local_servers.py; `attempts` counts the logins (one per mechanism tried), RCPTs
or POSTs it answered.

A receiver that is simply down is a port nobody listens on (`journey.temporal.devserver.free_port`).
"""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult

from tests.helpers.local_servers import LocalWebhook

LOGIN_REFUSED = "535 5.7.8 Authentication credentials invalid"


class _Counter:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._attempts = 0

    def knock(self) -> None:
        with self._lock:
            self._attempts += 1

    @property
    def attempts(self) -> int:
        with self._lock:
            return self._attempts


class RefusingSmtp(_Counter):
    """An SMTP server on `port` that refuses every login with 535 (`rcpt_reply=None`), or
    takes any login and answers RCPT TO with `rcpt_reply` (e.g. "550 5.1.1 no such user")."""

    def __init__(self, port: int, rcpt_reply: str | None = None) -> None:
        super().__init__()
        self.port = port
        counter = self

        def authenticator(server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any) -> AuthResult:
            counter.knock()
            return AuthResult(success=rcpt_reply is not None, handled=False)

        class Handler:
            async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: list[str]) -> str:  # noqa: N802 (aiosmtpd's name)
                counter.knock()
                return rcpt_reply or "250 OK"

        self.controller = Controller(
            Handler(), hostname="127.0.0.1", port=port, authenticator=authenticator, auth_require_tls=False
        )

    def __enter__(self) -> RefusingSmtp:
        self.controller.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.controller.stop()


class AnsweringWebhook(_Counter):
    """An incoming-webhook stand-in at `url` that answers every POST with `status` and
    `body` (Slack says e.g. 404 `no_service` for a removed webhook)."""

    def __init__(self, status: int, body: str = "") -> None:
        super().__init__()
        counter = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # for `Expect: 100-continue`

            def do_POST(self) -> None:  # noqa: N802 (http.server's name)
                counter.knock()
                self.rfile.read(int(self.headers.get("Content-Length", "0")))
                answer = body.encode()
                self.send_response(status)
                self.send_header("Content-Type", "text/plain")
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, *args: Any) -> None:
                pass

        self.webhook = LocalWebhook(Handler)
        self.url = self.webhook.url

    def __enter__(self) -> AnsweringWebhook:
        self.webhook.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.webhook.stop()
