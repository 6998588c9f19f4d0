"""The numbers of a QBR / value-realization report and of the team's portfolio report.

Each report is built in two steps: `account_report` / `portfolio_report` read the store
and return the numbers (a pydantic model, also what `--json` prints), and
`journey.reports.render` draws them into one self-contained HTML file.
"""

from __future__ import annotations

from collections import Counter
from datetime import date, timedelta
from typing import Any

from pydantic import BaseModel, Field

from journey.domain.enums import Health, Stage
from journey.domain.errors import NotFound
from journey.domain.metrics import ADOPTION_TARGET, TREND_DAYS
from journey.store import Store

FIRED_STATUSES = ("task", "queued")  # a touchpoint that fell due: a task opened or a touch queued


class Chart(BaseModel):
    """One chart and the numbers drawn in it: `rows` holds one list per point, in `columns` order."""

    key: str
    title: str
    columns: list[str]
    rows: list[list[Any]] = Field(default_factory=list)
    note: str | None = None
    until: date | None = Field(default=None, description="the period's last day: a time axis runs to it")


class AccountReport(BaseModel):
    kind: str = "account"
    account: str
    name: str
    generated_on: date
    since: date
    until: date
    summary: dict[str, Any]
    charts: list[Chart]

    def chart(self, key: str) -> Chart:
        return next(c for c in self.charts if c.key == key)


class PortfolioReport(BaseModel):
    kind: str = "portfolio"
    generated_on: date
    summary: dict[str, Any]
    charts: list[Chart]
    accounts: list[dict[str, Any]]

    def chart(self, key: str) -> Chart:
        return next(c for c in self.charts if c.key == key)


class AccountNotFound(NotFound):
    pass


# --- The numbers -------------------------------------------------------------------------


def account_report(store: Store, account_id: str, today: date, since: date | None = None) -> AccountReport:
    """Everything a QBR / value review shows for one account, up to `today`."""
    account = store.find_account(account_id)
    if account is None:
        raise AccountNotFound(f"no account {account_id!r} in the store (enroll or import it first)")
    since = since or account.signed
    daily = store.daily_usage(account_id, since, today)
    mau_now = store.mau_on(account_id, today)
    mau_before = store.mau_on(account_id, today - timedelta(days=TREND_DAYS))
    seats = account.seats
    consumption = store.account_metrics(account_id, today, seats)["consumption"]
    timeline = [r for r in store.timeline(account_id) if since <= r.at <= today]
    health_rows = [r for r in timeline if r.kind == "health"]
    fired = [r for r in timeline if r.kind == "touchpoint" and r.detail.get("status") in FIRED_STATUSES]
    done = [t for t in store.tasks(account=account_id, status="done") if t.done_on and since <= t.done_on <= today]

    target = round(ADOPTION_TARGET * seats, 2)
    mau_chart = Chart(
        key="mau_vs_seats",
        title="Monthly active users against licensed seats",
        columns=["date", "mau", "seats", "target"],
        rows=[[d.isoformat(), mau, seats, target] for d, _, mau in daily],
        note=f"target: {ADOPTION_TARGET:.0%} of the {seats} licensed seats (utilization = MAU / seats)",
    )
    ratio_chart = Chart(
        key="dau_mau",
        title="Daily / monthly active users (stickiness)",
        columns=["date", "dau", "mau", "dau_mau"],
        rows=[[d.isoformat(), dau, mau, round(dau / mau, 4) if mau else None] for d, dau, mau in daily],
    )
    health_chart = Chart(
        key="health",
        title="Health over time",
        columns=["date", "color", "source", "reason"],
        rows=[[r.at.isoformat(), r.name, r.detail.get("source"), r.detail.get("reason")] for r in health_rows],
        note="every change of color: by score, by hand, or at the adoption deadline",
        until=today,
    )
    months = sorted({_month(r.at) for r in fired} | {_month(t.done_on) for t in done if t.done_on})
    fired_by_month = Counter(_month(r.at) for r in fired)
    done_by_month = Counter(_month(t.done_on) for t in done if t.done_on)
    touch_chart = Chart(
        key="touchpoints",
        title="Touchpoints delivered",
        columns=["month", "due", "done"],
        rows=[[m, fired_by_month[m], done_by_month[m]] for m in months],
        note="due: tasks opened and automated touches queued; done: tasks marked done",
    )
    first_mau = daily[0][2] if daily else None
    last_mau = daily[-1][2] if daily else None
    red_episodes = [r for r in store.red_rows(account_id) if since <= r.opened_on <= today]
    summary = {
        "stage": account.stage,
        "health": account.health,
        "health_reason": account.health_reason,
        "health_score": account.health_score,
        "segment": account.segment,
        "tier": account.tier,
        "engagement_model": account.model,
        "ta": account.ta,
        "ae": account.ae,
        "seats": seats,
        "arr": account.arr,
        "renewal_date": account.renewal.isoformat(),
        "utilization": _round(mau_now / seats) if mau_now is not None else None,
        "consumption": _round(consumption),
        "mau_trend_30d": _round(mau_now / mau_before - 1) if mau_now is not None and mau_before else None,
        "adoption_target": ADOPTION_TARGET,
        "mau_first": first_mau,
        "mau_last": last_mau,
        "mau_growth": _round(last_mau / first_mau - 1) if first_mau and last_mau is not None else None,
        "touchpoints_due": len(fired),
        "tasks_done": len(done),
        "trainings_done": sorted({t.touchpoint for t in done if t.touchpoint.startswith("training-")}),
        "red_episodes": len(red_episodes),
    }
    return AccountReport(
        account=account_id,
        name=account.name,
        generated_on=today,
        since=since,
        until=today,
        summary=summary,
        charts=[mau_chart, ratio_chart, health_chart, touch_chart],
    )


def portfolio_report(store: Store, today: date) -> PortfolioReport:
    """The team's book of business: accounts by stage, health and segment, and adoption."""
    accounts = store.list_accounts()
    measured = store.measures_on(today)
    rows: list[dict[str, Any]] = []
    for a in accounts:
        m = measured.get(a.id)
        rows.append(
            {
                "account": a.id,
                "name": a.name,
                "segment": a.segment,
                "tier": a.tier,
                "stage": a.stage,
                "health": a.health,
                "health_score": a.health_score,
                "ta": a.ta,
                "seats": a.seats,
                "arr": a.arr,
                "renewal_date": a.renewal.isoformat(),
                "utilization": _round(m.utilization if m else None),
            }
        )
    active = [r for r in rows if r["stage"] != Stage.churned.value]

    def counted(key: str, order: list[str]) -> list[list[Any]]:
        counts = Counter(r[key] for r in active)
        return [[value, counts[value]] for value in order if counts[value]] + [
            [value, n] for value, n in sorted(counts.items()) if value not in order
        ]

    stages = [s.value for s in Stage if s is not Stage.churned]
    adoption_rows = sorted(
        ([r["account"], r["utilization"]] for r in active if r["utilization"] is not None),
        key=lambda row: (row[1], row[0]),
    )
    adopted = sum(1 for _, u in adoption_rows if u >= ADOPTION_TARGET)
    charts = [
        Chart(key="by_stage", title="Active accounts by stage", columns=["stage", "accounts"], rows=counted("stage", stages)),
        Chart(
            key="by_health",
            title="Active accounts by health",
            columns=["health", "accounts"],
            rows=counted("health", [h.value for h in Health]),
        ),
        Chart(
            key="by_segment",
            title="Active accounts by segment",
            columns=["segment", "accounts"],
            rows=counted("segment", ["strategic", "large-enterprise", "small-enterprise", "commercial"]),
        ),
        Chart(
            key="adoption",
            title="Utilization against the 80% target",
            columns=["account", "utilization"],
            rows=adoption_rows,
            note=f"{adopted} of {len(adoption_rows)} accounts with usage are at or above {ADOPTION_TARGET:.0%}",
        ),
    ]
    summary = {
        "accounts": len(rows),
        "active": len(active),
        "churned": len(rows) - len(active),
        "arr_active": round(sum(r["arr"] for r in active), 2),
        "red": sum(1 for r in active if r["health"] == Health.red.value),
        "with_usage": len(adoption_rows),
        "adopted": adopted,
        "adoption": _round(adopted / len(adoption_rows)) if adoption_rows else None,
    }
    return PortfolioReport(generated_on=today, summary=summary, charts=charts, accounts=rows)


def _month(day: date) -> str:
    return f"{day.year:04d}-{day.month:02d}"


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 4)


