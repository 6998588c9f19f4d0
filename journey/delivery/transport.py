"""The one interface behind which Slack and SMTP deliver a message, and how a send can end.

A transport sends one outbox row as a handover (see journey.delivery.outbox): it opens
the conversation with the receiver up to the point where the receiver has agreed to take
the message but cannot have it yet, calls `hand_over()` (the commit point), and only
then sends the rest and waits for the answer.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

# How long a receiver may take to answer any step of a send.
SEND_TIMEOUT_S = 10.0
# How much of a receiver's own words a failed delivery keeps as its reason.
REASON_CHARS = 300

HandOver = Callable[[], None]


@dataclass(frozen=True, slots=True)
class Message:
    """One automated touch as a transport sends it."""

    key: str
    recipient: str
    subject: str
    body: str


class Transport(Protocol):
    def send(self, message: Message, hand_over: HandOver) -> None:
        """Send `message`, calling `hand_over` once the receiver is ready and before the
        last part goes. Raises one of the exceptions below, or any other for a failure
        before the handover (the line failed or timed out: worth a retry)."""


class NotConfigured(Exception):
    """The channel has no settings; retrying will not help."""


class Refused(Exception):
    """The receiver answered and did not take the message for now (SMTP 4xx, HTTP 429 or
    5xx); a later attempt may succeed."""


class Rejected(Exception):
    """The receiver answered that it will never take the message as sent (SMTP 5xx, such
    as 535 login refused or 550 no such mailbox; HTTP 4xx other than 408 and 429, such as a
    revoked webhook): retrying cannot help, so the delivery fails at once with its reason."""


class Superseded(Exception):
    """Another sender took the row over before the handover; it sends the message."""


class Unanswered(Exception):
    """The whole message went out and no answer came back: it may have arrived."""


def receiver_said(text: str | bytes) -> str:
    """A receiver's answer as one short line of printable text, for a delivery's reason."""
    if isinstance(text, bytes):
        text = text.decode("utf-8", errors="replace")
    line = " ".join("".join(c if c.isprintable() else " " for c in text).split())
    return line if len(line) <= REASON_CHARS else line[: REASON_CHARS - 1] + "…"
