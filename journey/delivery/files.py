"""Automated touches written as files (JOURNEY_OUTBOX_DIR): an email as an `.eml` message,
a Slack post as the `.json` document the webhook would get, one file per outbox key.

The handover (see journey.delivery.outbox) is the rename that makes the file appear: the
message is written whole to a temporary file first, so a writer stopped before the rename
has delivered nothing. The file's name and content depend on the row alone, so writing
the same key again (a resend, a retry after an answer that was never recorded) replaces
the file with the same bytes: a touch is never there twice.
"""

from __future__ import annotations

import email.policy
import hashlib
import json
import re
from pathlib import Path

from journey.config import DeliverySettings, write_private_file
from journey.delivery.slack import slack_document
from journey.delivery.smtp import email_message
from journey.delivery.transport import HandOver, Message

# What a file name keeps of a key as it is; anything else becomes `-`.
_UNSAFE = re.compile(r"[^A-Za-z0-9._+-]")
SUFFIXES = {"email": ".eml", "slack": ".json"}


def file_name(key: str, channel: str) -> str:
    """The file of the outbox row `key`: `/` becomes `.` and `@` `+`
    (`acme/enablement/2026-03-02@0.5` -> `acme.enablement.2026-03-02+0.5.eml`). A key with
    other characters a name should not hold gets them as `-` and a digest of the key, so
    two keys never share a file."""
    name = key.replace("/", ".").replace("@", "+")
    safe = _UNSAFE.sub("-", name).lstrip(".")
    if safe != name:
        safe += "-" + hashlib.sha256(key.encode()).hexdigest()[:12]
    return safe + SUFFIXES[channel]


class FileOutbox:
    """Writes each message of `channel` (`email` or `slack`) into `directory`, 0600."""

    def __init__(self, settings: DeliverySettings, directory: Path, channel: str) -> None:
        self.settings = settings
        self.directory = directory
        self.channel = channel

    def send(self, message: Message, hand_over: HandOver) -> None:
        if self.channel == "email":
            # Built as for SMTP, so a file never shows a message a real send would refuse.
            mail, _ = email_message(self.settings, message)
            data = mail.as_bytes(policy=email.policy.SMTP)
        else:
            data = (json.dumps(slack_document(message), indent=2, ensure_ascii=False) + "\n").encode()
        write_private_file(self.directory / file_name(message.key, self.channel), data, before_rename=hand_over)
