"""Keys for tests of payload encryption.

These are TEST keys: they are public in this repository and protect nothing. The recorded
histories under tests/histories/encrypted/ were encrypted with TEST_KEY, so it must never
change (replay would fail); never use either key for real data.
"""

from __future__ import annotations

import base64
from collections.abc import Iterator
from typing import Any

from temporalio.api.common.v1 import Payload

from journey.config import EncryptionKey, KeyRing

TEST_KEY = "ltLv1NOzbDsyysjA26xEeSFojW4dKnOnlQQFqFNaQNQ="
OTHER_TEST_KEY = "XwmiZfrKOqlfDK8v3enX4Zm5FtQuMK+AjEHgPE7co/c="


def key(text: str = TEST_KEY) -> EncryptionKey:
    return EncryptionKey(base64.b64decode(text))


def ring(*texts: str) -> KeyRing:
    """A key ring of these base64 keys, the first encrypting (default: TEST_KEY alone)."""
    return KeyRing(tuple(key(text) for text in texts or (TEST_KEY,)), "JOURNEY_ENCRYPTION_KEY_FILE")


def json_payloads(document: Any) -> Iterator[Payload]:
    """Every payload in a protobuf JSON document (as `temporal ... --output json` prints
    one): data and metadata are base64 there, so a plain text search would miss them."""
    if isinstance(document, dict):
        metadata = document.get("metadata")
        if isinstance(metadata, dict) and "encoding" in metadata:
            yield Payload(
                metadata={name: base64.b64decode(value) for name, value in metadata.items()},
                data=base64.b64decode(document.get("data", "")),
            )
            return
        for value in document.values():
            yield from json_payloads(value)
    elif isinstance(document, list):
        for value in document:
            yield from json_payloads(value)


def readable_text(document: Any) -> bytes:
    """All the payload data of a JSON document, as one byte string to search in."""
    return b"\n".join(payload.data for payload in json_payloads(document))
