"""The numbers of a QBR / value-realization report and of the team's portfolio report.

Each report is built in two steps: `account_report` / `portfolio_report` read the store
and return the numbers (a pydantic model, also what `--json` prints), and
`journey.reports.render` draws them into one self-contained HTML file.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import asdict
from datetime import date, timedelta
from typing import Any, Literal

from pydantic import BaseModel, Field

from journey.domain.calendar import add_months
from journey.domain.enums import Health, Stage
from journey.domain.errors import NotFound
from journey.domain.metrics import ADOPTION_TARGET, TREND_DAYS
from journey.store import Store

FIRED_STATUSES = ("task", "queued")  # a touchpoint that fell due: a task opened or a touch queued
NO_USAGE = "No usage reported in this period."

Audience = Literal["customer", "internal"]
AUDIENCES: tuple[Audience, ...] = ("customer", "internal")
# What a customer's report shows: its usage and value, none of the team's health, scores,
# red-account episodes or internal names (segment, tier, model, owners, stage).
CUSTOMER_FIELDS = frozenset(
    {
        "seats", "arr", "renewal_date", "utilization", "consumption", "mau_trend_30d", "adoption_target",
        "mau_first", "mau_last", "mau_growth", "touchpoints_due", "touchpoints_skipped", "tasks_done", "trainings_done",
    }
)


class Chart(BaseModel):
    """One chart and the numbers drawn in it: `rows` holds one list per point, in `columns` order."""

    key: str
    title: str
    columns: list[str]
    rows: list[list[Any]] = Field(default_factory=list)
    note: str | None = None
    until: date | None = Field(default=None, description="the period's last day: a time axis runs to it")
    since: date | None = Field(default=None, description="the period's first day: a time axis starts there")
    empty: str | None = Field(default=None, description="what the report says instead of a chart without rows")


class AccountReport(BaseModel):
    kind: str = "account"
    account: str
    name: str
    audience: Audience = "customer"
    generated_on: date
    since: date
    until: date
    summary: dict[str, Any]
    charts: list[Chart]
    red_history: list[dict[str, Any]] = Field(default_factory=list, description="internal only: the red-account episodes")

    def chart(self, key: str) -> Chart:
        return next(c for c in self.charts if c.key == key)

    def shown_summary(self) -> dict[str, Any]:
        """The summary the page shows: a customer's leaves out health, scores, red episodes
        and the team's names. The JSON keeps every field, for the tools that read it."""
        if self.audience == "internal":
            return self.summary
        return {key: value for key, value in self.summary.items() if key in CUSTOMER_FIELDS}


class PortfolioReport(BaseModel):
    kind: str = "portfolio"
    generated_on: date
    since: date = Field(description="the KPIs' period is [since, until], as `journey kpis --from --to`")
    until: date
    summary: dict[str, Any]
    kpis: dict[str, Any] = Field(description="`journey kpis --json`'s `total` for the same period, unrounded")
    charts: list[Chart]
    accounts: list[dict[str, Any]]

    def chart(self, key: str) -> Chart:
        return next(c for c in self.charts if c.key == key)


class AccountNotFound(NotFound):
    pass


# --- The numbers -------------------------------------------------------------------------


def account_report(
    store: Store, account_id: str, today: date, since: date | None = None, audience: Audience = "customer"
) -> AccountReport:
    """Everything a QBR / value review shows for one account, over [`since`, `today`].

    The `customer` report (the default) is fit to hand to the customer: usage, value and the
    touchpoints delivered, without health, scores, red-account episodes or the team's
    internal names. The `internal` one adds them, with the health chart and the red-account
    history."""
    account = store.find_account(account_id)
    if account is None:
        raise AccountNotFound(f"no account {account_id!r} in the store (enroll or import it first)")
    since = since or account.signed
    daily = store.daily_usage(account_id, since, today)
    mau_now = store.mau_on(account_id, today)
    mau_before = store.mau_on(account_id, today - timedelta(days=TREND_DAYS))
    seats = account.seats
    consumption = store.account_metrics(account_id, today, seats)["consumption"]
    history = store.timeline(account_id)
    timeline = [r for r in history if since <= r.at <= today]
    fired = [r for r in timeline if r.kind == "touchpoint" and r.detail.get("status") in FIRED_STATUSES]
    done = [t for t in store.tasks(account=account_id, status="done") if t.done_on and since <= t.done_on <= today]

    target = round(ADOPTION_TARGET * seats, 2)
    mau_chart = Chart(
        key="mau_vs_seats",
        title="Monthly active users against licensed seats",
        columns=["date", "mau", "seats", "target"],
        rows=[[d.isoformat(), mau, seats, target] for d, _, mau in daily],
        note=(
            f"The target is {ADOPTION_TARGET:.0%} of the {seats:,} licensed seats "
            "(utilization = monthly active users / licensed seats)."
        ),
        empty=NO_USAGE,
        since=since,
        until=today,
    )
    ratio_chart = Chart(
        key="dau_mau",
        title="Daily active users as a share of monthly active users",
        columns=["date", "dau", "mau", "dau_mau"],
        rows=[[d.isoformat(), dau, mau, round(dau / mau, 4) if mau else None] for d, dau, mau in daily],
        note="How many of the month's active users use the product on a given day.",
        empty=NO_USAGE,
        since=since,
        until=today,
    )
    touch_chart = Chart(
        key="touchpoints",
        title="Touchpoints by month",
        columns=["month", "due", "done", "sent", "skipped", "open"],
        rows=_touchpoints_by_month(timeline, store.tasks(account=account_id, status=None), today),
        note=(
            "Done: meetings and tasks completed; sent: messages sent; skipped: not held (fell due "
            "before the engagement began, or cancelled); open: still to do. Due: tasks and messages that fell due."
        ),
        empty="No touchpoints fell due in this period.",
        since=since,
        until=today,
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
        # The same rows as the touchpoints chart's `skipped`: what was never held or sent.
        "touchpoints_skipped": sum(row[4] for row in touch_chart.rows),
        "tasks_done": len(done),
        "trainings_done": sorted({t.touchpoint for t in done if t.touchpoint.startswith("training-")}),
        "red_episodes": len(red_episodes),
    }
    charts = [mau_chart, ratio_chart, touch_chart]
    red_history: list[dict[str, Any]] = []
    if audience == "internal":
        charts.insert(2, _health_chart(history, since, today, account.health))
        red_history = [
            {
                "episode": r.episode,
                "opened_on": r.opened_on.isoformat(),
                "reason": r.reason,
                "escalated_on": r.escalated_on.isoformat() if r.escalated_on else None,
                "closed_on": r.closed_on.isoformat() if r.closed_on else None,
                "resolution": r.resolution,
            }
            for r in red_episodes
        ]
    return AccountReport(
        account=account_id,
        name=account.name,
        audience=audience,
        generated_on=today,
        since=since,
        until=today,
        summary=summary,
        charts=charts,
        red_history=red_history,
    )


def _health_chart(history: list[Any], since: date, today: date, current: str) -> Chart:
    """Health over [since, today] as spans of one color each, starting with the color the
    account had on `since` (the last change before it, else the first change's `from`,
    else today's color: nothing changed)."""
    changes = [r for r in history if r.kind == "health"]
    before = [r for r in changes if r.at < since]
    within = [r for r in changes if since <= r.at <= today]
    if before:
        start = [since.isoformat(), before[-1].name, before[-1].detail.get("source"), before[-1].detail.get("reason")]
    else:
        first = within[0].detail.get("from") if within else current
        start = [since.isoformat(), first or current, None, None]
    spans = [start] if not within or within[0].at > since else []
    spans += [[r.at.isoformat(), r.name, r.detail.get("source"), r.detail.get("reason")] for r in within]
    ends = [row[0] for row in spans[1:]] + [today.isoformat()]
    return Chart(
        key="health",
        title="Health over the period",
        columns=["date", "color", "source", "reason", "until"],
        rows=[[*row, end] for row, end in zip(spans, ends, strict=True)],
        note="Each span is one color, from its first day until the next change: by score, by hand, or at the adoption deadline.",
        since=since,
        until=today,
    )


def _touchpoints_by_month(timeline: list[Any], tasks: list[Any], today: date) -> list[list[Any]]:
    """[month, due, done, sent, skipped, open] from the period's touchpoint rows, by the
    month they fell due: a task is done when it was completed by `today`, skipped when
    cancelled, otherwise open; an automated touch queued counts as sent. A touchpoint's task
    has its timeline row's key (`journey.domain.touches.Touch`), else its touchpoint and due day."""
    by_key = {t.key: t for t in tasks}
    by_due = {(t.touchpoint, t.due): t for t in tasks}
    counts: dict[str, Counter[str]] = {}
    for row in timeline:
        if row.kind != "touchpoint":
            continue
        status = row.detail.get("status")
        outcome = {"queued": "sent", "skipped": "skipped", "done": "done"}.get(status)
        if status == "task":
            task = by_key.get(row.key) or by_due.get((row.name, row.at))
            if task is not None and task.status == "done" and task.done_on and task.done_on <= today:
                outcome = "done"
            else:
                outcome = "skipped" if task is not None and task.status == "cancelled" else "open"
        if outcome is None:
            continue
        month = counts.setdefault(_month(row.at), Counter())
        month[outcome] += 1
        month["due"] += status in FIRED_STATUSES
    return [[m, c["due"], c["done"], c["sent"], c["skipped"], c["open"]] for m, c in sorted(counts.items())]


def portfolio_report(store: Store, today: date, since: date | None = None) -> PortfolioReport:
    """The team's book of business on `today`: accounts by stage, health and segment, and
    the portfolio KPIs over [`since`, `today`] (default: the 12 months before, as `journey
    kpis`). Active accounts, adoption and every KPI are `journey kpis`'s, by the same SQL."""
    since = since or add_months(today, -12)
    kpis = store.kpis(since, today)[None]
    active = store.active_utilizations(today)
    rows: list[dict[str, Any]] = []
    for a in store.list_accounts():
        counted = active.get(a.id)
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
                "seats": counted.seats if counted else a.seats,
                "arr": counted.arr if counted else a.arr,
                "renewal_date": a.renewal.isoformat(),
                "utilization": _round(counted.utilization if counted else None),
                "active": counted is not None,
            }
        )
    live = [r for r in rows if r["active"]]

    def counts(key: str, order: list[str]) -> list[list[Any]]:
        found = Counter(r[key] for r in live)
        return [[value, found[value]] for value in order if found[value]] + [
            [value, n] for value, n in sorted(found.items()) if value not in order
        ]

    stages = [s.value for s in Stage if s is not Stage.churned]
    adoption_rows = sorted(
        ([r["account"], r["utilization"]] for r in live if r["utilization"] is not None),
        key=lambda row: (row[1], row[0]),
    )
    without_usage = len(live) - len(adoption_rows)
    charts = [
        Chart(key="by_stage", title="Active accounts by stage", columns=["stage", "accounts"], rows=counts("stage", stages)),
        Chart(
            key="by_health",
            title="Active accounts by health",
            columns=["health", "accounts"],
            rows=counts("health", [h.value for h in Health]),
        ),
        Chart(
            key="by_segment",
            title="Active accounts by segment",
            columns=["segment", "accounts"],
            rows=counts("segment", ["strategic", "large-enterprise", "small-enterprise", "commercial"]),
        ),
        Chart(
            key="adoption",
            title="Utilization against the 80% target",
            columns=["account", "utilization"],
            rows=adoption_rows,
            note=(
                f"{kpis.adopted} of {kpis.accounts} active accounts are at or above {ADOPTION_TARGET:.0%}"
                + (f"; {without_usage} without usage count as not adopted" if without_usage else "")
            ),
        ),
    ]
    summary = {
        "accounts": len(rows),
        "active": kpis.accounts,
        "churned": len(rows) - len(live),
        "arr_active": round(sum(r["arr"] for r in live), 2),
        "red": sum(1 for r in live if r["health"] == Health.red.value),
        "with_usage": len(adoption_rows),
        "adopted": kpis.adopted,
        "adoption": kpis.adoption,
        "mean_consumption": kpis.mean_consumption,
        "gross_retention": kpis.gross_retention,
        "net_retention": kpis.net_retention,
        "nps": kpis.nps,
        "renewal_rate": kpis.renewal_rate,
    }
    return PortfolioReport(
        generated_on=today, since=since, until=today, summary=summary, kpis=asdict(kpis), charts=charts, accounts=rows
    )


def _month(day: date) -> str:
    return f"{day.year:04d}-{day.month:02d}"


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 4)


