"""Benchmark: what payload encryption costs a client and a worker.

    python bench/codec.py                 # 5,000 payloads, 5 replays of each history
    python bench/codec.py --payloads 500 --replays 1

Two figures, each against the same work without a key, measured in the same run:

- one journey's start input (an enterprise account with four contacts) converted and
  encoded, then decoded and converted back, through the data converter every client
  uses: microseconds per payload, and the bytes encryption adds (nonce, tag, metadata);
- the replay of a recorded two-term enterprise journey and its remediation (what a worker
  does for every journey it wakes without it in its cache): the histories recorded
  encrypted with the test key (tests/histories/encrypted/), replayed as they are with the
  key, and decrypted beforehand into the same histories in clear, replayed without one.

The last stdout line is one JSON object with the figures.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from datetime import date
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from temporalio.api.history.v1 import HistoryEvent  # noqa: E402
from temporalio.client import WorkflowHistory  # noqa: E402
from temporalio.converter import DataConverter  # noqa: E402
from temporalio.worker import Replayer  # noqa: E402

from journey.temporal.codec import EncryptionCodec  # noqa: E402
from journey.temporal.converter import data_converter, journey_data_converter  # noqa: E402
from journey.temporal.keycheck import payloads_in  # noqa: E402
from tests.helpers.accounts import make_account  # noqa: E402
from tests.helpers.encryption import ring  # noqa: E402
from workflows.messages import JourneyInput  # noqa: E402
from workflows.worker import WORKFLOWS, workflow_runner  # noqa: E402

ENCRYPTED = sorted((Path(__file__).resolve().parent.parent / "tests" / "histories" / "encrypted").glob("*.json"))


def start_input() -> JourneyInput:
    contacts = [
        {"name": f"Contact {role}", "email": f"{role}@customer.example", "role": role}
        for role in ("champion", "economic-buyer", "tech-advocate", "admin")
    ]
    return JourneyInput(account=make_account("acme", contacts=contacts), today=date(2026, 1, 5))


async def round_trips(converters: dict[str, DataConverter], value: JourneyInput, count: int) -> dict[str, tuple[float, int]]:
    """Microseconds per encode+decode of `value` (the fastest of ten batches, the
    converters taking turns), and the encoded payload's size, by converter."""
    best = dict.fromkeys(converters, float("inf"))
    sizes = dict.fromkeys(converters, 0)
    batch = max(1, count // 10)
    for _ in range(10):
        for name, converter in converters.items():
            started = time.perf_counter()
            for _ in range(batch):
                [payload] = await converter.encode([value])
                await converter.decode([payload], [JourneyInput])
            best[name] = min(best[name], (time.perf_counter() - started) / batch * 1e6)
            sizes[name] = payload.ByteSize()
    return {name: (best[name], sizes[name]) for name in converters}


def _workflow_id(text: str) -> str:
    attrs = json.loads(text)["events"][0]["workflowExecutionStartedEventAttributes"]
    parent = attrs.get("parentWorkflowExecution")
    return f"{attrs['workflowType']['name']}:{parent['workflowId'] if parent else ''}"


def recorded() -> list[WorkflowHistory]:
    return [WorkflowHistory.from_json(_workflow_id(p.read_text()), p.read_text()) for p in ENCRYPTED]


def decrypted(history: WorkflowHistory, codec: EncryptionCodec) -> WorkflowHistory:
    """The same history with every payload in clear, as if recorded without a key."""
    events = []
    for event in history.events:
        copy = HistoryEvent()
        copy.CopyFrom(event)
        for payload in payloads_in(copy):
            payload.CopyFrom(codec.decrypt(payload))
        events.append(copy)
    return WorkflowHistory(history.workflow_id, events)


async def replay_seconds(runs: dict[str, tuple[list[WorkflowHistory], DataConverter]], replays: int) -> dict[str, float]:
    """The fastest of `replays` replays of each run's histories, in seconds. The runs take
    turns, so that a busy moment of the machine does not fall on one of them alone."""
    replayers = {
        name: Replayer(workflows=WORKFLOWS, data_converter=converter, workflow_runner=workflow_runner())
        for name, (_, converter) in runs.items()
    }
    best = dict.fromkeys(runs, float("inf"))
    for _ in range(replays + 1):  # the first round warms up: imports, the sandbox, type adapters
        for name, (histories, _) in runs.items():
            started = time.perf_counter()
            for history in histories:
                await replayers[name].replay_workflow(history)
            best[name] = min(best[name], time.perf_counter() - started)
    return best


async def main(args: argparse.Namespace) -> dict[str, Any]:
    keyed = journey_data_converter(ring())
    value = start_input()
    trips = await round_trips({"plain": data_converter, "keyed": keyed}, value, args.payloads)
    (plain_us, plain_bytes), (keyed_us, keyed_bytes) = trips["plain"], trips["keyed"]
    print(f"start input, encode+decode: {plain_us:.1f} us without a key, {keyed_us:.1f} us with one "
          f"(x{keyed_us / plain_us:.2f}); {plain_bytes} -> {keyed_bytes} bytes (+{keyed_bytes - plain_bytes})")
    codec = keyed.payload_codec
    assert isinstance(codec, EncryptionCodec)
    histories = recorded()
    events = sum(len(h.events) for h in histories)
    best = await replay_seconds({"plain": ([decrypted(h, codec) for h in histories], data_converter), "keyed": (histories, keyed)}, args.replays)
    plain_s, keyed_s = best["plain"], best["keyed"]
    print(f"replay of a two-term enterprise journey and its remediation ({events} events): {plain_s * 1000:.0f} ms "
          f"in clear, {keyed_s * 1000:.0f} ms encrypted (x{keyed_s / plain_s:.2f})")
    return {
        "payload_us_plain": round(plain_us, 1),
        "payload_us_encrypted": round(keyed_us, 1),
        "payload_ratio": round(keyed_us / plain_us, 2),
        "payload_bytes_added": keyed_bytes - plain_bytes,
        "replay_ms_plain": round(plain_s * 1000, 1),
        "replay_ms_encrypted": round(keyed_s * 1000, 1),
        "replay_ratio": round(keyed_s / plain_s, 2),
    }


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--payloads", type=int, default=5_000)
    parser.add_argument("--replays", type=int, default=5)
    figures = asyncio.run(main(parser.parse_args()))
    print(json.dumps(figures))
