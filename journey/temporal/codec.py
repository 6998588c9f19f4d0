"""AES-256-GCM encryption of every payload `journey` sends to Temporal.

With a key (`JOURNEY_ENCRYPTION_KEY` or `JOURNEY_ENCRYPTION_KEY_FILE`), each payload is
serialized whole (its metadata and data) and sealed with the ring's first key under a fresh
random 96-bit nonce. The sealed payload says only `encoding: binary/encrypted` and the
key's id, so the Temporal server, its history and its Web UI hold nothing readable; the
clients (workers, the CLI, simulations, replay) and the codec server open it again with
whichever key of the ring has that id. The layout, nonce then ciphertext and tag, is the
one of Temporal's own encryption samples.

Without a key nothing is encrypted: payloads go out exactly as they always did. The codec
still stands guard on the way in: a payload that is encrypted cannot be read without its
key, and it says so, naming the key id and the setting, instead of the converter's
"unknown encoding".

Decoding raises `InputError`s, never Temporal's `ApplicationError`: inside a worker a
payload that cannot be opened fails the workflow task (retried once the keys are right),
never the journey.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from google.protobuf.message import DecodeError
from temporalio.api.common.v1 import Payload
from temporalio.converter import PayloadCodec

from journey.config import KeyRing
from journey.domain.errors import InputError

ENCODING_KEY = "encoding"
ENCRYPTED_ENCODING = b"binary/encrypted"
KEY_ID_KEY = "encryption-key-id"
NONCE_BYTES = 12


class UnreadablePayload(InputError):
    """A payload this process cannot decrypt; the message names the key id and the setting."""


class UnknownEncryptionKey(UnreadablePayload):
    """The payload is encrypted with a key this process does not have."""

    def __init__(self, key_id: str, ring: KeyRing, subject: str = "a payload is") -> None:
        self.key_id = key_id
        if ring.keys:
            message = (
                f"{ring.source}: {subject} encrypted with key id {key_id}, which is not among this "
                f"process's keys ({', '.join(ring.ids)}); give it the key list the journeys were written with"
            )
        else:
            message = (
                f"{subject} encrypted with key id {key_id} and no key is set: set {ring.source} "
                f"to the key list the journeys were written with"
            )
        super().__init__(message)


class DamagedPayload(UnreadablePayload):
    """The payload names a key this process has, and does not open with it."""


def is_encrypted(payload: Payload) -> bool:
    return payload.metadata.get(ENCODING_KEY) == ENCRYPTED_ENCODING


def key_id_of(payload: Payload) -> str | None:
    """The id of the key that encrypted `payload`; None for a payload in clear."""
    if not is_encrypted(payload):
        return None
    return payload.metadata.get(KEY_ID_KEY, b"").decode("ascii", errors="replace")


class EncryptionCodec(PayloadCodec):
    """Encrypts with the ring's first key, decrypts with the key each payload names; with
    an empty ring, encodes nothing and refuses encrypted payloads by name."""

    def __init__(self, ring: KeyRing) -> None:
        self.ring = ring
        self._ciphers = {key.id: AESGCM(key.secret) for key in ring.keys}

    def encrypt(self, payload: Payload) -> Payload:
        key = self.ring.encrypting
        if key is None:
            return payload
        nonce = os.urandom(NONCE_BYTES)
        sealed = self._ciphers[key.id].encrypt(nonce, payload.SerializeToString(), None)
        return Payload(
            metadata={ENCODING_KEY: ENCRYPTED_ENCODING, KEY_ID_KEY: key.id.encode("ascii")},
            data=nonce + sealed,
        )

    def decrypt(self, payload: Payload) -> Payload:
        key_id = key_id_of(payload)
        if key_id is None:
            # Written in clear (before a key was set, or a search attribute): as it is.
            return payload
        cipher = self._ciphers.get(key_id)
        if cipher is None:
            raise UnknownEncryptionKey(key_id, self.ring)
        nonce, sealed = payload.data[:NONCE_BYTES], payload.data[NONCE_BYTES:]
        try:
            return Payload.FromString(cipher.decrypt(nonce, sealed, None))
        except (InvalidTag, DecodeError, ValueError):
            raise DamagedPayload(
                f"a payload encrypted with key id {key_id} does not decrypt with that key of {self.ring.source}: "
                f"it was altered or damaged"
            ) from None

    async def encode(self, payloads: Sequence[Payload]) -> list[Payload]:
        return [self.encrypt(payload) for payload in payloads]

    async def decode(self, payloads: Sequence[Payload]) -> list[Payload]:
        return [self.decrypt(payload) for payload in payloads]
