"""The sample portfolio ships usage and NPS (journey/data/), which `journey up --sample`
loads before it enrolls the accounts, so its reports have real charts and its KPIs numbers."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import date
from pathlib import Path

from click.testing import Result

from journey.cli.servers import load_sample_measurements, sample_portfolio
from journey.files import read_accounts, read_nps, read_usage
from journey.store import Store

DATA = sample_portfolio().parent
ON = date(2026, 11, 30)


def test_the_sample_files_are_small_and_valid() -> None:
    accounts = {a.id: a for a in read_accounts(sample_portfolio())}
    usage = read_usage(DATA / "sample_usage.csv", known_accounts=set(accounts), today=ON)
    nps = read_nps(DATA / "sample_nps.csv", known_accounts=set(accounts), today=ON)
    assert (DATA / "sample_usage.csv").stat().st_size < 8_000 and (DATA / "sample_nps.csv").stat().st_size < 2_000
    assert all(r.date >= accounts[r.account].signed for r in usage)
    # Every account but one reports usage: globex (not in production yet) shows the empty case.
    assert {r.account for r in usage} == set(accounts) - {"globex"}
    assert len({r.account for r in nps}) >= 4


def test_loaded_sample_gives_reports_with_charts_and_kpis(
    invoke: Callable[..., Result], journey_home: Path, tmp_path: Path
) -> None:
    accounts = read_accounts(sample_portfolio())
    with Store.open(f"sqlite:///{journey_home / 'journey.db'}") as store:
        store.upsert_accounts(accounts)  # what enrollment writes first
    load_sample_measurements({a.id for a in accounts}, ON)
    load_sample_measurements({a.id for a in accounts}, ON)  # again: nothing changes
    with Store.open(f"sqlite:///{journey_home / 'journey.db'}") as store:
        assert len(store.daily_usage("initech", date(2025, 1, 1), ON)) == sum(
            1 for r in read_usage(DATA / "sample_usage.csv") if r.account == "initech"
        )

    done = invoke("kpis", "--to", ON.isoformat(), "--json")
    assert done.exit_code == 0, done.output
    total = json.loads(done.stdout)["total"]
    assert total["accounts"] == len(accounts) and 0 < total["adopted"] < total["accounts"]
    assert total["mean_consumption"] is not None and total["nps"] is not None and total["nps_responses"] >= 10

    done = invoke("report", "initech", "--on", ON.isoformat(), "--out", str(tmp_path), "--json")
    assert done.exit_code == 0, done.output
    report = json.loads(done.stdout)
    charts = {c["key"]: c for c in report["charts"]}
    assert len(charts["mau_vs_seats"]["rows"]) > 10 and report["summary"]["utilization"] >= 0.8
    page = Path(report["path"]).read_text()
    # Both usage charts are drawn (touchpoints come from the journeys, which do not run here).
    assert "No usage reported" not in page and page.count("data:image/png;base64,") == 2

    done = invoke("report", "globex", "--on", ON.isoformat(), "--out", str(tmp_path), "--json")
    assert done.exit_code == 0, done.output
    assert "No usage reported in this period." in Path(json.loads(done.stdout)["path"]).read_text()


def test_the_sample_moves_with_the_calendar_by_whole_weeks(journey_home: Path) -> None:
    from datetime import timedelta

    from journey.cli.servers import SAMPLE_WRITTEN_ON, sample_shift

    accounts = read_accounts(sample_portfolio())
    first = accounts[0]
    journey_home.mkdir(parents=True)
    assert sample_shift(first.id, first.signed, SAMPLE_WRITTEN_ON + timedelta(days=6)) == timedelta(0)
    later = SAMPLE_WRITTEN_ON + timedelta(days=93)
    shift = sample_shift(first.id, first.signed, later)
    assert shift == timedelta(weeks=13) and (first.signed + shift).weekday() == first.signed.weekday()
    load_sample_measurements({a.id for a in accounts}, later, shift)
    with Store.open(f"sqlite:///{journey_home / 'journey.db'}") as store:
        newest = max(day for day, _, _ in store.daily_usage("initech", date(2025, 1, 1), later))
        assert newest == max(r.date for r in read_usage(DATA / "sample_usage.csv") if r.account == "initech") + shift
        # Enrolled once with a shift, the sample keeps it: `up --sample` again changes nothing.
        store.upsert_accounts([first.model_copy(update={"signed": first.signed + shift})])
    assert sample_shift(first.id, first.signed, later + timedelta(weeks=5)) == shift
