"""The payload codec: AES-256-GCM with the ring's first key, any key of the ring to open,
payloads in clear passed through, and nothing changed at all without a key."""

from __future__ import annotations

from datetime import date

import pytest
from temporalio.api.common.v1 import Payload
from temporalio.api.failure.v1 import Failure
from temporalio.converter import DataConverter
from temporalio.exceptions import ApplicationError

from journey.config import KeyRing
from journey.domain.errors import InputError
from journey.temporal.codec import (
    ENCRYPTED_ENCODING,
    KEY_ID_KEY,
    DamagedPayload,
    EncryptionCodec,
    UnknownEncryptionKey,
    key_id_of,
)
from journey.temporal.converter import JourneyPayloadConverter, data_converter, journey_data_converter
from tests.helpers.accounts import make_account
from tests.helpers.encryption import OTHER_TEST_KEY, TEST_KEY, key, ring
from workflows.messages import JourneyInput

pytestmark = pytest.mark.asyncio(loop_scope="session")

ACCOUNT = make_account("acme", name="Acme Secret Corp")
VALUES = [JourneyInput(account=ACCOUNT, today=date(2026, 1, 5)), "Chris Champion", date(2026, 3, 1), None, {"reason": "champion left"}]


async def test_payloads_are_encrypted_and_come_back() -> None:
    converter = journey_data_converter(ring(TEST_KEY))
    payloads = await converter.encode(VALUES)
    for payload in payloads:
        assert dict(payload.metadata) == {"encoding": ENCRYPTED_ENCODING, KEY_ID_KEY: key(TEST_KEY).id.encode()}
    sealed = b"".join(p.data for p in payloads)
    assert b"Acme Secret" not in sealed and b"chris@example.com" not in sealed and b"Champion" not in sealed
    hints = [JourneyInput, str, date, type(None), dict]
    assert await converter.decode(payloads, hints) == VALUES  # type: ignore[arg-type]


async def test_each_payload_has_its_own_nonce() -> None:
    codec = EncryptionCodec(ring(TEST_KEY))
    plain = Payload(metadata={"encoding": b"json/plain"}, data=b'"same"')
    first, second = await codec.encode([plain, plain])
    assert first.data[:12] != second.data[:12] and first.data != second.data


async def test_rotation_old_payloads_open_with_the_old_key_in_the_list_new_ones_use_the_new_key() -> None:
    old = await journey_data_converter(ring(TEST_KEY)).encode(["written before the rotation"])
    rotated = journey_data_converter(ring(OTHER_TEST_KEY, TEST_KEY))
    assert await rotated.decode(old, [str]) == ["written before the rotation"]
    new = await rotated.encode(["written after"])
    assert key_id_of(new[0]) == key(OTHER_TEST_KEY).id != key_id_of(old[0])
    # A process that has the new key only cannot open the old payloads: it says which key.
    with pytest.raises(UnknownEncryptionKey) as caught:
        await journey_data_converter(ring(OTHER_TEST_KEY)).decode(old, [str])
    message = str(caught.value)
    assert message.startswith("JOURNEY_ENCRYPTION_KEY_FILE: a payload is encrypted with key id " + key(TEST_KEY).id)
    assert key(OTHER_TEST_KEY).id in message and isinstance(caught.value, InputError)


async def test_without_a_key_an_encrypted_payload_names_the_settings() -> None:
    sealed = await journey_data_converter(ring(TEST_KEY)).encode(["secret"])
    with pytest.raises(UnknownEncryptionKey, match=f"encrypted with key id {key(TEST_KEY).id} and no key is set: "
                       "set JOURNEY_ENCRYPTION_KEY or JOURNEY_ENCRYPTION_KEY_FILE"):
        await data_converter.decode(sealed, [str])


async def test_a_damaged_payload_is_refused() -> None:
    codec = EncryptionCodec(ring(TEST_KEY))
    [sealed] = await codec.encode([Payload(metadata={"encoding": b"json/plain"}, data=b'"x"')])
    damaged = Payload(metadata=sealed.metadata, data=sealed.data[:-1] + bytes([sealed.data[-1] ^ 1]))
    with pytest.raises(DamagedPayload, match=f"key id {key(TEST_KEY).id} does not decrypt"):
        await codec.decode([damaged])


async def test_payloads_in_clear_pass_through_a_codec_with_a_key() -> None:
    # Journeys started before the key was set keep running: their history is in clear.
    plain = await data_converter.encode(VALUES)
    assert await EncryptionCodec(ring(TEST_KEY)).decode(plain) == plain


async def test_without_a_key_payloads_and_failures_are_byte_identical_to_before() -> None:
    before = DataConverter(payload_converter_class=JourneyPayloadConverter)  # the converter before keys existed
    assert [p.SerializeToString() for p in await data_converter.encode(VALUES)] == [
        p.SerializeToString() for p in await before.encode(VALUES)
    ]
    failures = []
    for converter in (data_converter, before):
        failure = Failure()
        await converter.encode_failure(ApplicationError("Acme Secret Corp: champion left", {"x": 1}, type="Oops"), failure)
        failures.append(failure.SerializeToString())
    assert failures[0] == failures[1]


async def test_with_a_key_failure_messages_are_encrypted_too() -> None:
    converter = journey_data_converter(ring(TEST_KEY))
    failure = Failure()
    await converter.encode_failure(ApplicationError("Acme Secret Corp: champion left", type="Oops"), failure)
    assert failure.message == "Encoded failure" and not failure.stack_trace
    assert key_id_of(failure.encoded_attributes) == key(TEST_KEY).id
    assert b"Acme" not in failure.SerializeToString()
    error = await converter.decode_failure(failure)
    assert isinstance(error, ApplicationError) and error.message == "Acme Secret Corp: champion left"


async def test_an_empty_ring_encodes_nothing() -> None:
    plain = Payload(metadata={"encoding": b"json/plain"}, data=b"1")
    assert await EncryptionCodec(KeyRing()).encode([plain]) == [plain]
