"""Slack incoming webhooks: one POST per message, handed over at its `100 Continue`."""

from __future__ import annotations

import http.client
import json
from urllib.parse import urlsplit

from journey.delivery.transport import (
    SEND_TIMEOUT_S,
    HandOver,
    Message,
    NotConfigured,
    Refused,
    Rejected,
    Unanswered,
    receiver_said,
)
from journey.domain.text import one_line
from journey.domain.text import slack as slack_text

# How long to wait for Slack's `100 Continue` before sending the body anyway, as RFC 9110
# asks of a client whose server may not implement it.
CONTINUE_WAIT_S = 5.0
# Answers worth another attempt later: the server timed out waiting, or asks to slow down.
# Every other 4xx (and a redirect) says the webhook will not take this message as sent.
TRANSIENT_HTTP = frozenset({408, 429})


class SlackWebhook:
    """Posts to the webhook at `url` (None: Slack is not configured)."""

    def __init__(self, url: str | None) -> None:
        self.url = url

    def send(self, message: Message, hand_over: HandOver) -> None:
        if not self.url:
            raise NotConfigured("Slack is not configured (set JOURNEY_SLACK_WEBHOOK_URL)")
        body = json.dumps(slack_document(message)).encode()
        post_once(self.url, body, key=message.key, hand_over=hand_over)


def slack_document(message: Message) -> dict[str, str]:
    """The JSON document posted for `message`."""
    return {
        # Subject and body are plain text from data: in mrkdwn, `<...>` would make
        # links and mentions (`<!channel>`), so they are escaped.
        "text": f"*{slack_text(one_line(message.subject))}*\n{slack_text(message.body)}",
        "journey_key": message.key,
        "channel": message.recipient,
    }


def post_once(url: str, body: bytes, *, key: str, hand_over: HandOver) -> None:
    """POST `body` to `url`, handing over once the server has answered `100 Continue` to
    the headers (or stayed silent for CONTINUE_WAIT_S) and before the body goes."""
    parts = urlsplit(url)
    connection_class = http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
    connection = connection_class(parts.hostname or "", parts.port, timeout=SEND_TIMEOUT_S)
    try:
        connection.putrequest("POST", (parts.path or "/") + (f"?{parts.query}" if parts.query else ""))
        connection.putheader("Content-Type", "application/json")
        connection.putheader("Content-Length", str(len(body)))
        connection.putheader("Expect", "100-continue")
        connection.putheader("Idempotency-Key", key)
        connection.endheaders()
        early = _interim_status(connection)
        if early is not None and early[0] != http.client.CONTINUE:
            raise refusal(early[0], early[1], " before the message")
        hand_over()
        try:
            connection.send(body)
            response = connection.getresponse()
            answer = response.read()
        except OSError as err:
            raise Unanswered(f"{type(err).__name__}: {err}") from err
        if response.status >= 300:
            # The receiver answered and did not take it: nothing arrived, whatever comes next.
            raise refusal(response.status, receiver_said(answer) or response.reason)
    finally:
        connection.close()


def refusal(status: int, said: str, when: str = "") -> Refused | Rejected:
    """The error for an HTTP answer that is not a success: `Refused` (retry later) for
    408, 429 and 5xx, `Rejected` (give up now) for the rest."""
    text = f"Slack answered HTTP {status}{when}" + (f": {said}" if said else "")
    if status in TRANSIENT_HTTP or status >= 500 or status < 300:
        return Refused(text)
    return Rejected(text)


def _interim_status(connection: http.client.HTTPConnection) -> tuple[int, str] | None:
    """The status and reason phrase of the server's first answer to the request headers;
    None if it said nothing within CONTINUE_WAIT_S."""
    sock = connection.sock
    assert sock is not None  # endheaders() connected it
    sock.settimeout(CONTINUE_WAIT_S)
    reader = sock.makefile("rb")
    try:
        status_line = reader.readline(65537)
        if not status_line:
            raise ConnectionError("Slack closed the connection before the message")
        fields = status_line.split(None, 2)
        if len(fields) < 2 or not fields[1].isdigit():
            raise ConnectionError(f"Slack answered {status_line[:80]!r}")
        status = int(fields[1])
        if status == http.client.CONTINUE:
            while reader.readline(65537) not in (b"\r\n", b"\n", b""):
                pass  # the interim answer's headers, if any
        return status, (receiver_said(fields[2]) if len(fields) > 2 else "")
    except TimeoutError:
        return None
    finally:
        reader.close()
        sock.settimeout(SEND_TIMEOUT_S)
