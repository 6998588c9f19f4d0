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

The other way round, what a process writes must be readable by every worker: each
`journey worker` names its key ids in its identity (`<pid>@<host> keys:<id>,<id>`), which
Temporal lists for the pollers of a task queue, and a command stops before it sends
anything when a worker polling now cannot read the key it encrypts with (the rotation's
order: every worker gets a new key before anyone encrypts with it). An update a worker
cannot read would otherwise stay at the journey, failing its workflow task until a reset.

A journey whose payloads use an older key that a process no longer lists is not found
here either; its workflow task fails with the same message, and `journey list --stuck`
shows it until the key is back in the workers' list (the journey then continues where it
was, without a reset).
"""

from __future__ import annotations

import os
import re
import socket
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from google.protobuf.descriptor import FieldDescriptor
from google.protobuf.message import Message
from temporalio.api.common.v1 import Payload
from temporalio.api.enums.v1 import EventType, TaskQueueType
from temporalio.api.taskqueue.v1 import TaskQueue
from temporalio.api.workflowservice.v1 import DescribeTaskQueueRequest
from temporalio.client import Client
from temporalio.service import RPCError

from journey.config import KeyRing
from journey.domain import names
from journey.domain.errors import InputError
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


# A worker says which keys it reads in its identity; Temporal lists the identities of the
# pollers of a task queue, each with the last time it polled.
_KEYS = re.compile(r"(?:^|\s)keys:(none|[0-9a-f]+(?:,[0-9a-f]+)*)(?:\s|$)")
# A worker long-polls about every minute; one not seen for longer has stopped.
POLLER_SEEN_WITHIN = timedelta(seconds=90)


class KeyNotShared(InputError):
    """Workers polling now cannot read the key this process encrypts with."""


def worker_identity(ring: KeyRing) -> str:
    """The SDK's default identity, with the ids of the keys this worker reads."""
    return f"{os.getpid()}@{socket.gethostname()} keys:{','.join(ring.ids) or 'none'}"


def identity_key_ids(identity: str) -> frozenset[str] | None:
    """The key ids a worker's identity says it reads; None when it says nothing of keys."""
    found = _KEYS.search(identity)
    if found is None:
        return None
    return frozenset() if found.group(1) == "none" else frozenset(found.group(1).split(","))


async def workers_lacking(client: Client, key_id: str, task_queue: str = names.TASK_QUEUE) -> list[str]:
    """The identities of the workers polling `task_queue` now that cannot read `key_id`
    (empty as well when the server cannot say)."""
    request = DescribeTaskQueueRequest(
        namespace=client.namespace,
        task_queue=TaskQueue(name=task_queue),
        task_queue_type=TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW,
    )
    try:
        response = await client.workflow_service.describe_task_queue(request, timeout=CHECK_TIMEOUT)
    except RPCError:
        return []
    now = datetime.now(UTC)
    lacking = set()
    for poller in response.pollers:
        if poller.HasField("last_access_time") and now - poller.last_access_time.ToDatetime(tzinfo=UTC) > POLLER_SEEN_WITHIN:
            continue
        ids = identity_key_ids(poller.identity)
        if ids is not None and key_id not in ids:
            lacking.add(poller.identity)
    return sorted(lacking)


async def check_workers_read(client: Client, ring: KeyRing, task_queue: str = names.TASK_QUEUE) -> None:
    """`KeyNotShared` naming the setting, the key id and the workers when a worker polling
    `task_queue` now cannot read the key `ring` encrypts with."""
    key = ring.encrypting
    if key is None:
        return
    lacking = await workers_lacking(client, key.id, task_queue)
    if lacking:
        raise KeyNotShared(
            f"{ring.source}: this process encrypts with key id {key.id}, which the worker(s) polling "
            f"{task_queue!r} cannot read: {'; '.join(lacking)}. Give every worker the key first (a second "
            f"line of its key file), then encrypt with it (a worker stopped in the last "
            f"{POLLER_SEEN_WITHIN.seconds} s is still listed)"
        )


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
