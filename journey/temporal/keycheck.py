"""Before a worker polls or a command sends anything: can this process read the journeys?

A worker with the wrong key (or none, where journeys are encrypted) would fail the
workflow task of every journey it picks up, again and again; a command with the wrong key
would write payloads the workers cannot read. So each process first reads the payloads of
the newest running journey that a worker has taken a step of (the enrolling client and
the workers wrote them with the keys they encrypt with now), and stops with one line
naming the setting and the key id when one of them is encrypted with a key it does not
have. Only key ids are compared: the id is a digest of the key, so the same id is the same
key. A journey no worker could ever step (enrolled with a key the workers lack) proves
nothing about the fleet's key and is passed over; it shows in `journey list --stuck`.

A journey whose payloads use an older key that a process no longer lists is not found
here either; its workflow task fails with the same message, and `journey list --stuck`
shows it until the key is back in the workers' list (the journey then continues where it
was, without a reset).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import timedelta

from google.protobuf.descriptor import FieldDescriptor
from google.protobuf.message import Message
from temporalio.api.common.v1 import Payload
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client
from temporalio.service import RPCError

from journey.config import KeyRing
from journey.domain import names
from journey.temporal.codec import UnknownEncryptionKey, key_id_of

# The first events hold the start input, the enrollment's summary and details and the
# first activities' inputs and results: the enrolling client's key and the workers'.
EVENTS_READ = 100
# Journeys looked at, newest first, for one that a worker has stepped.
JOURNEYS_READ = 5
CHECK_TIMEOUT = timedelta(seconds=10)
_STEPPED = EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED


@dataclass(frozen=True)
class NewestJourney:
    workflow_id: str
    # Ids of the keys its payloads are encrypted with (empty: all in clear).
    key_ids: frozenset[str]


async def newest_journey(client: Client) -> NewestJourney | None:
    """The newest running journey a worker has taken a step of, and the key ids of its
    first events' payloads; None when there is none or the server cannot list them (the
    time-skipping test server has no visibility; a client may lack the permission)."""
    query = f"WorkflowType = '{names.Workflow.ACCOUNT_JOURNEY}' AND ExecutionStatus = 'Running'"
    try:
        async for execution in client.list_workflows(query, limit=JOURNEYS_READ, rpc_timeout=CHECK_TIMEOUT):
            handle = client.get_workflow_handle(execution.id, run_id=execution.run_id)
            key_ids: set[str] = set()
            stepped = False
            read = 0
            async for event in handle.fetch_history_events(page_size=EVENTS_READ, rpc_timeout=CHECK_TIMEOUT):
                key_ids.update(key_id for key_id in map(key_id_of, payloads_in(event)) if key_id is not None)
                stepped = stepped or event.event_type == _STEPPED
                read += 1
                if read >= EVENTS_READ:
                    break
            if stepped:
                return NewestJourney(execution.id, frozenset(key_ids))
    except RPCError:
        return None
    return None


def check_readable(journey: NewestJourney | None, ring: KeyRing) -> None:
    """`UnknownEncryptionKey` naming the journey, the key id and the setting when the
    journey holds a payload `ring` cannot decrypt."""
    if journey is None:
        return
    missing = sorted(journey.key_ids - set(ring.ids))
    if missing:
        raise UnknownEncryptionKey(missing[0], ring, subject=f"the newest journey, {journey.workflow_id}, has payloads")


def encrypts_with_a_new_key(journey: NewestJourney | None, ring: KeyRing) -> bool:
    """True when this process encrypts with a key the newest journey was not written with
    (the first step of a rotation, or a key the rest of the fleet does not have)."""
    key = ring.encrypting
    return key is not None and journey is not None and bool(journey.key_ids) and key.id not in journey.key_ids


async def check_keys(client: Client, ring: KeyRing) -> NewestJourney | None:
    """Read the newest running journey and stop (`UnknownEncryptionKey`) if this process
    cannot decrypt it; returns what was read."""
    journey = await newest_journey(client)
    check_readable(journey, ring)
    return journey


def payloads_in(message: Message) -> Iterator[Payload]:
    """Every `Payload` anywhere inside a protobuf message (a history event: its input,
    result, failure attributes, user metadata, memo, headers, search attributes)."""
    if isinstance(message, Payload):
        yield message
        return
    for field, value in message.ListFields():
        if field.type != FieldDescriptor.TYPE_MESSAGE:
            continue
        if isinstance(value, Message):
            items: Iterable[object] = (value,)
        elif isinstance(value, Mapping):
            items = value.values()  # a map field (memo, headers, search attributes)
        else:
            items = value  # a repeated field
        for item in items:
            if isinstance(item, Message):
                yield from payloads_in(item)
