"""The check a worker and every command make before they send anything: can this
process decrypt the newest journey?"""

from __future__ import annotations

import pytest
from temporalio.api.common.v1 import Payload
from temporalio.api.history.v1 import HistoryEvent

from journey.config import KeyRing
from journey.temporal.codec import UnknownEncryptionKey
from journey.temporal.keycheck import (
    NewestJourney,
    check_readable,
    encrypts_with_a_new_key,
    identity_key_ids,
    payloads_in,
    worker_identity,
)
from tests.helpers.encryption import OTHER_TEST_KEY, TEST_KEY, key, ring

OLD, NEW = key(TEST_KEY).id, key(OTHER_TEST_KEY).id


def test_every_payload_of_a_history_event_is_found() -> None:
    event = HistoryEvent()
    started = event.workflow_execution_started_event_attributes
    started.input.payloads.add(data=b"input")
    started.memo.fields["m"].data = b"memo"
    started.header.fields["h"].data = b"header"
    started.search_attributes.indexed_fields["Segment"].data = b"attribute"
    started.continued_failure.cause.encoded_attributes.data = b"failure"
    event.user_metadata.summary.data = b"summary"
    event.user_metadata.details.data = b"details"
    found = sorted(p.data for p in payloads_in(event))
    assert found == sorted([b"input", b"memo", b"header", b"attribute", b"failure", b"summary", b"details"])
    assert list(payloads_in(Payload(data=b"x"))) == [Payload(data=b"x")]


def test_a_process_that_has_every_key_passes() -> None:
    check_readable(NewestJourney("journey-acme", frozenset({OLD})), ring(OTHER_TEST_KEY, TEST_KEY))
    check_readable(NewestJourney("journey-acme", frozenset()), KeyRing())  # in clear, no key: as always
    check_readable(None, KeyRing())  # no journey yet


def test_a_missing_key_stops_the_process_naming_the_journey_the_key_and_the_setting() -> None:
    with pytest.raises(UnknownEncryptionKey) as caught:
        check_readable(NewestJourney("journey-acme", frozenset({OLD})), ring(OTHER_TEST_KEY))
    assert str(caught.value) == (
        f"JOURNEY_ENCRYPTION_KEY_FILE: the newest journey, journey-acme, has payloads encrypted with key id {OLD}, "
        f"which is not among this process's keys ({NEW}); give it the key list the journeys were written with"
    )
    with pytest.raises(UnknownEncryptionKey, match=f"journey-acme, has payloads encrypted with key id {OLD} and no key is set"):
        check_readable(NewestJourney("journey-acme", frozenset({OLD})), KeyRing())


def test_encrypting_with_a_key_the_newest_journey_does_not_use_is_noticed() -> None:
    newest = NewestJourney("journey-acme", frozenset({OLD}))
    assert encrypts_with_a_new_key(newest, ring(OTHER_TEST_KEY, TEST_KEY))
    assert not encrypts_with_a_new_key(newest, ring(TEST_KEY, OTHER_TEST_KEY))
    assert not encrypts_with_a_new_key(NewestJourney("journey-acme", frozenset()), ring(OTHER_TEST_KEY))


def test_a_worker_names_the_keys_it_reads_in_its_identity() -> None:
    identity = worker_identity(ring(OTHER_TEST_KEY, TEST_KEY))
    assert identity.endswith(f" keys:{NEW},{OLD}") and "@" in identity
    assert identity_key_ids(identity) == {NEW, OLD}
    assert identity_key_ids(worker_identity(KeyRing())) == frozenset()  # a worker without a key
    assert identity_key_ids("1234@host") is None  # a worker that says nothing of keys
    assert identity_key_ids("1234@host keys:NOT-HEX") is None
