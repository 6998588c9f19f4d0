"""Benchmark: a year of 200 journeys on the time-skipping server, and their history size.

    python bench/simulate.py                    # 200 accounts x 365 days (50 per model)
    python bench/simulate.py --accounts 40      # a quick check (10 per model)

It writes an accounts CSV and an events CSV (kickoff, production ready, onboarding
complete, some red episodes, the renewal closed as renewed ~20 days before the renewal
date) and a usage list to a temporary directory, reads them back with the project's
readers, and runs the same driver as `journey simulate` (journey.simulate's internals:
one time-skipping server, the project worker in dry-run mode, the calendar walked day
by day, usage told to the journeys as the nightly health sweep tells it, so its `metrics`
updates are counted too). Before the server goes away it fetches the history of every
workflow run:

- each account's AccountJourney chain, walked backwards from the latest run through
  `continued_execution_run_id` (list_workflows does not work on the time-skipping
  server, so the chain is followed by run id: every run, not only the latest, is counted);
- each RedAccountRemediation (`red-<account>-<episode>`, one per red episode).

Figures: wall time; account-years (the sum of simulated days per account / 365);
history events per account-year (target <= 250); the largest single run's event count
(target < 4,096); the events broken down by event type and by engagement model.
Human-readable lines go to stdout, progress to stderr, and the last stdout line is one
JSON object with the figures.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import json
import random
import sys
import tempfile
import time
from collections import Counter, defaultdict
from datetime import date, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from temporalio.api.enums.v1 import EventType  # noqa: E402
from temporalio.client import Client, WorkflowHistory  # noqa: E402
from temporalio.testing import WorkflowEnvironment  # noqa: E402

from journey.config import DeliverySettings  # noqa: E402
from journey.domain import names  # noqa: E402
from journey.domain.measurements import UsageRow  # noqa: E402
from journey.files import read_accounts, read_events  # noqa: E402
from journey.store import Store  # noqa: E402
from journey.temporal.converter import data_converter  # noqa: E402
from journey.temporal.devserver import packaged_binary  # noqa: E402
from journey.temporal.simulate import SimulationResult, _collect, _drive  # noqa: E402
from workflows.search_attributes import register_search_attributes  # noqa: E402

TARGETS = {"events_per_account_year": 250, "max_run_events": 4096}
START = date(2027, 2, 1)  # a Monday, the first day of a fiscal year
DAYS = 365
MODELS = ("enterprise", "scaled", "pooled", "digital")
SEGMENT = {"enterprise": ("strategic", "large-enterprise"), "scaled": ("small-enterprise",),
           "pooled": ("small-enterprise",), "digital": ("commercial",)}


def log(message: str) -> None:
    print(message, flush=True)


def progress(message: str) -> None:
    print(f"  {message}", file=sys.stderr, flush=True)


# ----- the portfolio -----------------------------------------------------------------------


def write_portfolio(directory: Path, count: int, seed: int) -> tuple[Path, Path, list[UsageRow]]:
    """Accounts signed over the first week, each with a year of events and some usage."""
    rng = random.Random(seed)
    accounts_csv = directory / "accounts.csv"
    events_csv = directory / "events.csv"
    usage: list[UsageRow] = []
    account_rows, event_rows = [], []
    for index in range(count):
        model = MODELS[index % len(MODELS)]
        account_id = f"{model}-{index:04d}"
        signed = START + timedelta(days=index % 5)  # Monday to Friday of the first week
        renewal = signed + timedelta(days=365)
        seats = rng.choice((50, 120, 300, 800))
        tier = 1 + (index // len(MODELS)) % 3
        deployment = "self-hosted" if (index // len(MODELS)) % 2 else "cloud"
        account_rows.append(
            [account_id, f"Bench {account_id}", rng.choice(SEGMENT[model]), tier, seats, seats * 400,
             signed.isoformat(), renewal.isoformat(), f"ta{index % 7}", f"ae{index % 5}",
             model if model == "scaled" else "", deployment]
        )
        kickoff = signed + timedelta(days=rng.randint(5, 12))
        production = kickoff + timedelta(days=rng.randint(7, 35))
        onboarded = production + timedelta(days=rng.randint(14, 40))
        events = [
            (kickoff, "kickoff-held", {"check_in_cadence_days": rng.choice((7, 14, 14, 21, 30))}),
            (production, "production-ready", {}),
            (onboarded, "onboarding-complete", {}),
        ]
        if index % 10 == 3:  # one account in ten has a red episode, some long enough to escalate
            red = signed + timedelta(days=rng.randint(120, 220))
            events.append((red, "set-health", {"color": "red", "reason": "champion left"}))
            events.append((red + timedelta(days=rng.choice((10, 21, 45))), "set-health", {"color": "green", "reason": "recovered"}))
        events.append((renewal - timedelta(days=rng.randint(10, 30)), "renewal-closed", {"outcome": "renewed"}))
        for day, name, data in events:
            event_rows.append([account_id, day.isoformat(), name, json.dumps(data)])
        # Usage: six in ten accounts reach 80% of their seats within the adoption window.
        peak = 0.9 if rng.random() < 0.6 else 0.55
        for week in range(0, 60, 7):
            mau = max(1, int(seats * peak * min(1.0, (week + 7) / 56)))
            usage.append(UsageRow(account=account_id, date=production + timedelta(days=week), dau=mau // 2, mau=mau))
    with accounts_csv.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["id", "name", "segment", "tier", "seats", "arr", "signed", "renewal", "ta", "ae", "model", "deployment"])
        writer.writerows(account_rows)
    with events_csv.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["account", "date", "event", "data"])
        writer.writerows(sorted(event_rows, key=lambda row: (row[1], row[0])))
    return accounts_csv, events_csv, usage


# ----- histories ---------------------------------------------------------------------------


async def journey_chain(client: Client, account_id: str) -> list[WorkflowHistory]:
    """Every run of the account's journey, latest first, following continue-as-new back."""
    workflow_id = names.journey_workflow_id(account_id)
    runs: list[WorkflowHistory] = []
    run_id: str | None = None
    while True:
        history = await client.get_workflow_handle(workflow_id, run_id=run_id).fetch_history()
        runs.append(history)
        started = history.events[0].workflow_execution_started_event_attributes
        run_id = started.continued_execution_run_id or None
        if run_id is None:
            return runs


async def remediation_runs(client: Client, account_id: str, episodes: int) -> list[WorkflowHistory]:
    return [
        await client.get_workflow_handle(names.remediation_workflow_id(account_id, episode)).fetch_history()
        for episode in range(1, episodes + 1)
    ]


def event_type_name(value: int) -> str:
    return EventType.Name(value).removeprefix("EVENT_TYPE_")


# ----- the run -----------------------------------------------------------------------------


async def run(count: int, seed: int) -> dict[str, Any]:
    from workflows.worker import build_worker

    end = START + timedelta(days=DAYS)
    with tempfile.TemporaryDirectory(prefix="journey-bench-sim-") as tmp:
        accounts_csv, events_csv, usage = write_portfolio(Path(tmp), count, seed)
        accounts = read_accounts(accounts_csv)
        events = read_events(events_csv, known_accounts={a.id for a in accounts})
        log(f"portfolio: {len(accounts)} accounts ({', '.join(f'{m} {count // len(MODELS)}' for m in MODELS)}), "
            f"{len(events)} events, {len(usage)} usage rows, {START} + {DAYS} days")
        store = Store.open(f"sqlite:///{Path(tmp) / 'simulation.db'}")
        store.write_usage(usage)
        began = time.perf_counter()
        env = await WorkflowEnvironment.start_time_skipping(
            test_server_existing_path=packaged_binary("temporal-test-server"),
            data_converter=data_converter,
        )
        try:
            await register_search_attributes(env.client)
            worker = build_worker(env.client, store, task_queue=names.SIMULATION_TASK_QUEUE, settings=DeliverySettings.unconfigured(), dry_run=True)
            reported = [0]

            def tick(days: int) -> None:
                reported[0] += days
                if reported[0] % 30 < days or reported[0] >= DAYS:
                    progress(f"[simulating] day {reported[0]}/{DAYS} ({time.perf_counter() - began:.0f} s)")

            async with worker:
                await _drive(env, store, accounts, events, usage, START, end, tick)
            simulated_s = time.perf_counter() - began
            result: SimulationResult = _collect(store, {a.id for a in accounts}, START, end)

            fetch_began = time.perf_counter()
            red_episodes = Counter(h.account for h in result.health if h.color == "red")
            per_run: list[tuple[str, str, int]] = []  # (workflow id, model, events)
            per_account: Counter[str] = Counter()
            by_type: Counter[str] = Counter()
            by_model: Counter[str] = Counter()
            by_model_type: dict[str, Counter[str]] = defaultdict(Counter)
            journey_runs = remediation_count = 0
            for index, account in enumerate(accounts):
                model = account.engagement_model.value
                chain = await journey_chain(env.client, account.id)
                journey_runs += len(chain)
                remediations = await remediation_runs(env.client, account.id, red_episodes.get(account.id, 0))
                remediation_count += len(remediations)
                for history in [*chain, *remediations]:
                    per_run.append((history.workflow_id, model, len(history.events)))
                    kinds = Counter(event_type_name(e.event_type) for e in history.events)
                    by_type.update(kinds)
                    by_model[model] += len(history.events)
                    per_account[account.id] += len(history.events)
                    by_model_type[model].update(kinds)
                if (index + 1) % 50 == 0:
                    progress(f"[histories] {index + 1}/{len(accounts)}")
            fetch_s = time.perf_counter() - fetch_began
        finally:
            await env.shutdown()
            store.close()
        wall_s = time.perf_counter() - began

    simulated_days = sum((end - max(a.signed, START)).days for a in accounts)
    account_years = simulated_days / 365
    model_years = {
        m: sum((end - max(a.signed, START)).days for a in accounts if a.engagement_model.value == m) / 365 for m in MODELS
    }
    total = sum(events for _, _, events in per_run)
    largest = max(per_run, key=lambda run: run[2])
    per_account_year = total / account_years
    figures = {
        "wall_s": round(wall_s, 1),
        "simulate_s": round(simulated_s, 1),
        "history_fetch_s": round(fetch_s, 1),
        "accounts": len(accounts),
        "days": DAYS,
        "account_years": round(account_years, 2),
        "journey_runs": journey_runs,
        "remediation_runs": remediation_count,
        "all_runs_counted": True,
        "history_events": total,
        "events_per_account_year": round(per_account_year, 1),
        "max_run_events": largest[2],
        "max_run_workflow_id": largest[0],
        "events_per_account_year_by_model": {m: round(by_model[m] / model_years[m], 1) for m in MODELS if model_years[m]},
        "touchpoints": len(result.touchpoints),
        "targets": TARGETS,
        "events_per_account_year_ok": per_account_year <= TARGETS["events_per_account_year"],
        "max_run_events_ok": largest[2] < TARGETS["max_run_events"],
    }

    log(f"wall time: {wall_s:.1f} s (simulation {simulated_s:.1f} s, history fetch {fetch_s:.1f} s)")
    log(f"account-years: {account_years:.2f}; runs: {journey_runs} AccountJourney (whole continue-as-new chains), "
        f"{remediation_count} RedAccountRemediation")
    log(f"history events: {total}; per account-year: {per_account_year:.1f} (target <= {TARGETS['events_per_account_year']})"
        f" {'OK' if figures['events_per_account_year_ok'] else 'OVER'}")
    log(f"largest run: {largest[2]} events ({largest[0]}; target < {TARGETS['max_run_events']})"
        f" {'OK' if figures['max_run_events_ok'] else 'OVER'}")
    log("per account-year by model: " + ", ".join(f"{m} {v}" for m, v in figures["events_per_account_year_by_model"].items()))
    log("events by type (per account-year, share):")
    for kind, n in by_type.most_common(12):
        log(f"  {kind:<45} {n / account_years:7.1f}  {n / total:6.1%}")
    over = [m for m, v in figures["events_per_account_year_by_model"].items() if v > TARGETS["events_per_account_year"]]
    log("dominant types by model (per account-year of that model)"
        + (f"; over the target: {', '.join(over)}" if over else "") + ":")
    for m in MODELS:
        top = ", ".join(f"{k} {v / model_years[m]:.0f}" for k, v in by_model_type[m].most_common(7))
        log(f"  {m}: {top}")
    figures["models_over_target"] = over
    # The enterprise journey wakes for every check-in (a task opened 14 days ahead): its
    # size follows the cadence chosen at kickoff.
    cadence = {e.account: e.data.get("check_in_cadence_days") for e in events if e.event == "kickoff_held"}
    by_cadence: dict[int, list[float]] = defaultdict(list)
    for a in accounts:
        if a.engagement_model.value == "enterprise" and cadence.get(a.id):
            by_cadence[int(cadence[a.id])].append(per_account[a.id] / ((end - max(a.signed, START)).days / 365))
    figures["enterprise_events_per_account_year_by_check_in_cadence"] = {
        days: round(sum(v) / len(v), 1) for days, v in sorted(by_cadence.items())
    }
    log("enterprise per account-year by check-in cadence (days): "
        + ", ".join(f"{d}: {v}" for d, v in figures["enterprise_events_per_account_year_by_check_in_cadence"].items()))
    figures["events_by_type_per_account_year_by_model"] = {
        m: {k: round(v / model_years[m], 1) for k, v in by_model_type[m].most_common()} for m in MODELS
    }
    figures["events_by_type_per_account_year"] = {k: round(v / account_years, 1) for k, v in by_type.most_common()}
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--accounts", type=int, default=200, help="accounts (split evenly over the four models)")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    if args.accounts < len(MODELS) or args.accounts % len(MODELS):
        parser.error(f"--accounts must be a positive multiple of {len(MODELS)}")
    from journey.temporal.client import use_quiet_runtime

    use_quiet_runtime()
    figures = asyncio.run(run(args.accounts, args.seed))
    print(json.dumps(figures, sort_keys=False), flush=True)


if __name__ == "__main__":
    main()
