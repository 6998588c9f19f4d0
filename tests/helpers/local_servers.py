"""Local stand-ins for Slack and an SMTP relay that record what they receive.

`SlackRecorder` is an HTTP server (incoming-webhook style: POST a JSON document) and
`SmtpRecorder` an aiosmtpd server, each on a free port in a thread of the test process.
Both record a message the moment it has fully arrived (a message cut off mid-way is
dropped, as real receivers do) and only then wait `delay` seconds before answering, like
a real service that has accepted a message but is slow to say so: a sender killed during
that wait has delivered without knowing it.

`hold()` makes them keep every new sender waiting at the step before the message itself
(Slack: the `100 Continue` to the request headers; SMTP: the answer to RCPT TO) until
`release()`, like a busy service: a sender killed there has delivered nothing. `held`
counts the senders waiting.
"""

from __future__ import annotations

import asyncio
import email
import email.policy
import json
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from aiosmtpd.controller import Controller

from journey.delivery.smtp import message_id


class LocalWebhook:
    """An HTTP server on a free local port at `url`, serving `handler` in threads."""

    def __init__(self, handler: type[BaseHTTPRequestHandler]) -> None:
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@dataclass
class Received:
    key: str
    recipient: str
    subject: str
    at: float
    raw: dict[str, Any] = field(default_factory=dict)


class _Recorder:
    def __init__(self, delay: float = 0.0) -> None:
        self.delay = delay
        self.received: list[Received] = []
        self._lock = threading.Lock()
        self._open = threading.Event()
        self._open.set()
        self._held = 0

    def hold(self) -> None:
        self._open.clear()

    def release(self) -> None:
        self._open.set()

    @property
    def held(self) -> int:
        with self._lock:
            return self._held

    def _wait_if_held(self) -> None:
        if self._open.is_set():
            return
        with self._lock:
            self._held += 1
        self._open.wait()
        with self._lock:
            self._held -= 1

    async def _await_if_held(self) -> None:
        if self._open.is_set():
            return
        with self._lock:
            self._held += 1
        while not self._open.is_set():
            await asyncio.sleep(0.01)
        with self._lock:
            self._held -= 1

    def record(self, item: Received) -> None:
        with self._lock:
            self.received.append(item)

    def keys(self) -> Counter[str]:
        with self._lock:
            return Counter(item.key for item in self.received)

    def by_key(self) -> dict[str, Received]:
        with self._lock:
            return {item.key: item for item in self.received}

    def __len__(self) -> int:
        with self._lock:
            return len(self.received)


class SlackRecorder(_Recorder):
    """POSTs to http://127.0.0.1:<port>/hook, recorded by their `journey_key`."""

    def __init__(self, delay: float = 0.0) -> None:
        super().__init__(delay)
        recorder = self

        class Handler(BaseHTTPRequestHandler):
            # HTTP/1.1 for `Expect: 100-continue`, which http.server answers only then.
            protocol_version = "HTTP/1.1"

            def handle_expect_100(self) -> bool:
                recorder._wait_if_held()
                try:
                    return super().handle_expect_100()
                except OSError:  # the sender is gone (killed while held)
                    return False

            def do_POST(self) -> None:  # noqa: N802 (http.server's name)
                length = int(self.headers.get("Content-Length", "0"))
                try:
                    body = self.rfile.read(length)
                except OSError:
                    return
                if len(body) < length:  # cut off: the sender went away mid-message
                    self.close_connection = True
                    return
                document = json.loads(body)
                recorder.record(
                    Received(
                        key=document.get("journey_key", ""),
                        recipient=document.get("channel", ""),
                        subject=document.get("text", "").split("\n", 1)[0].strip("*"),
                        at=time.monotonic(),
                        raw=document,
                    )
                )
                time.sleep(recorder.delay)
                try:
                    self.send_response(200)
                    self.send_header("Content-Type", "text/plain")
                    self.send_header("Content-Length", "2")
                    self.end_headers()
                    self.wfile.write(b"ok")
                except OSError:  # the sender is gone (killed while we were slow)
                    pass

            def log_message(self, *args: Any) -> None:
                pass

        self.webhook = LocalWebhook(Handler)
        self.url = self.webhook.url

    def __enter__(self) -> SlackRecorder:
        self.webhook.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.webhook.stop()


class SmtpRecorder(_Recorder):
    """An SMTP server; each message is recorded by the outbox key its Message-ID carries."""

    def __init__(self, port: int, delay: float = 0.0) -> None:
        super().__init__(delay)
        self.port = port
        recorder = self

        class Handler:
            async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: list[str]) -> str:  # noqa: N802 (aiosmtpd's name)
                await recorder._await_if_held()
                envelope.rcpt_tos.append(address)
                return "250 OK"

            async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802 (aiosmtpd's name)
                message = email.message_from_bytes(envelope.content, policy=email.policy.default)
                recorder.record(
                    Received(
                        key=str(message["Message-ID"]),
                        recipient=",".join(envelope.rcpt_tos),
                        subject=" ".join(str(message["Subject"]).split()),
                        at=time.monotonic(),
                        raw={"to": str(message["To"]), "from": envelope.mail_from, "body": message.get_content()},
                    )
                )
                await asyncio.sleep(recorder.delay)
                return "250 Message accepted for delivery"

        self.controller = Controller(Handler(), hostname="127.0.0.1", port=port)

    def message_ids(self) -> Counter[str]:
        return self.keys()

    @staticmethod
    def message_id_of(key: str) -> str:
        return message_id(key)

    def __enter__(self) -> SmtpRecorder:
        self.controller.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.controller.stop()
