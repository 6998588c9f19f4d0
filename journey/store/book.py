"""The account team's book beside the journeys: product feedback, the monthly renewal health
assessments, and the portfolio reads built on them and on the accounts' mirror (the renewal
pipeline, the deployments still short of production).

Feedback and assessments are written by people through the CLI, never by a journey. A
feedback item's `key` is its account, date and a digest of its text, so importing a file
again adds nothing; an assessment's key is its account and month, so a second assessment in
a month replaces the first (its timeline row too).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import date, datetime, timedelta
from typing import Annotated, Any

import sqlalchemy as sa
from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, StringConstraints
from sqlalchemy.engine import Connection

from journey.domain.bounds import NOTES_LENGTH, Day, Name, Reference, multiline_text, plain_text
from journey.store.database import Database, chunks, now
from journey.store.records import Record
from journey.store.schema import accounts, feedback, renewal_assessments, tasks, timeline
from journey.store.usage import WriteCounts

# `FeedbackItem` and the records have a field named `date`.
_Day = date

THEME_LENGTH = 100
# Both risks go into the red reason of `assess --red` (at most 2,000 characters, like every
# health reason), with a short lead-in: each risk gets a little less than half of it.
RISK_LENGTH = 900

VALUE_REVIEW = "value-review"
RENEWAL_ASSESSMENT = "renewal-assessment"
DEPLOYMENT_FOLLOW_UP = "deployment-follow-up"
# Health colors that put a renewal's ARR at risk.
AT_RISK = ("yellow", "red")


def _not_empty(value: str) -> str:
    if not value:
        raise ValueError("must not be empty")
    return value


def _theme(value: object) -> object:
    # One theme however it is typed: "Search  Speed" and "search speed" count together.
    return " ".join(value.split()).lower() if isinstance(value, str) else value


FeedbackText = Annotated[
    str,
    StringConstraints(strip_whitespace=True, max_length=NOTES_LENGTH),
    AfterValidator(_not_empty),
    AfterValidator(multiline_text),
]
"""What the customer said: 1-10,000 characters, line breaks allowed."""
Theme = Annotated[
    str,
    BeforeValidator(_theme),
    StringConstraints(max_length=THEME_LENGTH),
    AfterValidator(_not_empty),
    AfterValidator(plain_text),
]
"""A feedback theme, lowercase with single spaces: 1-100 characters."""
Risk = Annotated[
    str,
    StringConstraints(strip_whitespace=True, max_length=RISK_LENGTH),
    AfterValidator(_not_empty),
    AfterValidator(plain_text),
]
"""One side's risks in a renewal assessment: one line, 1-900 characters."""


class FeedbackItem(BaseModel):
    """One piece of product feedback, as `feedback add` and a feedback CSV row give it."""

    model_config = ConfigDict(extra="forbid")

    account: Reference
    date: Day
    text: FeedbackText
    theme: Theme | None = None
    contact: Name | None = None

    @property
    def key(self) -> str:
        return feedback_key(self.account, self.date, self.text)


def feedback_key(account: str, day: date, text: str) -> str:
    """What identifies a feedback item: the account, the day and the text (as a digest)."""
    digest = hashlib.sha256(text.encode()).hexdigest()[:16]
    return f"{account}/{day.isoformat()}/{digest}"


class Assessment(BaseModel):
    """A monthly renewal health assessment: the AE's relationship and business risks, the
    TA's technical ones, and whether they put the account in the Red Accounts Program."""

    model_config = ConfigDict(extra="forbid")

    account: Reference
    on: Day
    ae_risk: Risk
    ta_risk: Risk
    red: bool = False

    @property
    def month(self) -> str:
        return self.on.strftime("%Y-%m")

    @property
    def key(self) -> str:
        return f"{self.account}/{self.month}"

    @property
    def month_end(self) -> date:
        following = date(self.on.year + self.on.month // 12, self.on.month % 12 + 1, 1)
        return following - timedelta(days=1)

    @property
    def red_reason(self) -> str:
        """The reason `--red` gives the Red Accounts Program: both risks, named."""
        return f"renewal assessment {self.month}: AE: {self.ae_risk}; TA: {self.ta_risk}"


def assessment_timeline_key(account: str, month: str) -> str:
    return f"{account}/assessment/{month}"


# ----- what the reads return -----


class FeedbackEntry(Record):
    """A row of `feedback`."""

    id: int
    key: str
    account_id: str
    date: _Day
    text: str
    theme: str | None = None
    contact: str | None = None
    recorded_at: datetime


class ThemeSummary(BaseModel):
    """The feedback of one theme (or of none): who raised it and how much ARR they carry."""

    theme: str | None
    accounts: int
    arr: float
    items: int
    latest: _Day
    account_ids: list[str]


class Themes(BaseModel):
    """Themes ranked by the accounts that raised them, then by those accounts' ARR; the
    feedback without a theme apart (it is not a theme, and would push real ones down)."""

    themes: list[ThemeSummary]
    unthemed: ThemeSummary | None


class AssessmentRecord(Record):
    """A row of `renewal_assessments`."""

    id: int
    key: str
    account_id: str
    on: _Day
    ae_risk: str
    ta_risk: str
    red: bool
    recorded_at: datetime


class Renewal(BaseModel):
    """One account renewing in the window, as finance's renewal analysis lists it."""

    account: str
    name: str
    renewal: _Day
    arr: float
    health: str
    stage: str
    ta: str
    ae: str
    value_review_done: bool
    assessment: dict[str, Any] | None


class RenewalTotals(BaseModel):
    accounts: int
    green: int
    yellow: int
    red: int
    at_risk: int
    value_reviews_done: int
    assessed: int
    arr_renewing: float
    arr_at_risk: float


class RenewalPipeline(BaseModel):
    first: _Day
    last: _Day
    renewals: list[Renewal]
    totals: RenewalTotals


class Deployment(BaseModel):
    """A self-hosted account not in production yet, and its open follow-up."""

    account: str
    name: str
    signed: _Day
    days_since_signed: int
    stage: str
    ta: str
    follow_up_due: _Day | None
    follow_up_key: str | None


def renewal_totals(renewals: Sequence[Renewal]) -> RenewalTotals:
    def count(color: str) -> int:
        return sum(1 for r in renewals if r.health == color)

    at_risk = [r for r in renewals if r.health in AT_RISK]
    return RenewalTotals(
        accounts=len(renewals),
        green=count("green"),
        yellow=count("yellow"),
        red=count("red"),
        at_risk=len(at_risk),
        value_reviews_done=sum(1 for r in renewals if r.value_review_done),
        assessed=sum(1 for r in renewals if r.assessment is not None),
        arr_renewing=sum(r.arr for r in renewals),
        arr_at_risk=sum(r.arr for r in at_risk),
    )


def _term_start() -> sa.ColumnElement[Any]:
    """The first day of the account's current term: the day its last renewal closed (the
    journey then enters `renewed`), or the signature for the first term."""
    renewed = (
        sa.select(sa.func.max(timeline.c.at))
        .where(timeline.c.account_id == accounts.c.id, timeline.c.kind == "stage", timeline.c.name == "renewed")
        .scalar_subquery()
    )
    return sa.func.coalesce(renewed, accounts.c.signed)


class BookStore(Database):
    # ----- feedback -----

    def write_feedback(self, items: Sequence[FeedbackItem]) -> WriteCounts:
        """Write feedback items in one transaction. An item already stored (same account,
        day and text) is left alone, or gets the batch's theme and contact when they differ,
        so writing the same batch again changes nothing."""
        wanted = {item.key: item for item in items}
        inserted = updated = 0
        stamp = now()
        with self.transaction() as conn:
            stored = _stored_feedback(conn, list(wanted))
            new = []
            for key, item in wanted.items():
                before = stored.get(key)
                if before is None:
                    new.append({"key": key, "account_id": item.account, "date": item.date, "text": item.text,
                                "theme": item.theme, "contact": item.contact, "recorded_at": stamp})
                elif before != (item.theme, item.contact):
                    conn.execute(feedback.update().where(feedback.c.key == key).values(theme=item.theme, contact=item.contact))
                    updated += 1
            if new:
                conn.execute(self.insert(feedback).on_conflict_do_nothing(index_elements=["key"]), new)
                inserted = len(new)
        return WriteCounts(len(wanted), inserted, updated, len(wanted) - inserted - updated)

    def feedback_items(
        self, account: str | None = None, theme: str | None = None, since: date | None = None
    ) -> list[FeedbackEntry]:
        """Feedback, oldest first; `theme` is matched as themes are stored (case and spacing
        do not matter)."""
        query = sa.select(feedback).order_by(feedback.c.date, feedback.c.account_id, feedback.c.id)
        if account is not None:
            query = query.where(feedback.c.account_id == account)
        if theme is not None:
            query = query.where(feedback.c.theme == _theme(theme))
        if since is not None:
            query = query.where(feedback.c.date >= since)
        with self.engine.connect() as conn:
            return [FeedbackEntry.of(row) for row in conn.execute(query)]

    def feedback_themes(self, since: date | None = None) -> Themes:
        """Each theme with the accounts that raised it (dated on or after `since`), their
        ARR (each account once), the items and the latest date; ranked by accounts, then
        ARR, then items, then name."""
        per_account = sa.select(
            feedback.c.theme,
            feedback.c.account_id,
            sa.func.count().label("item_count"),
            sa.func.max(feedback.c.date).label("latest"),
        ).group_by(feedback.c.theme, feedback.c.account_id)
        if since is not None:
            per_account = per_account.where(feedback.c.date >= since)
        raised = per_account.subquery()
        query = (
            sa.select(raised.c.theme, raised.c.account_id, raised.c.item_count, raised.c.latest, accounts.c.arr)
            .join(accounts, accounts.c.id == raised.c.account_id)
            .order_by(accounts.c.arr.desc(), raised.c.account_id)
        )
        groups: dict[str | None, list[Any]] = {}
        with self.engine.connect() as conn:
            for row in conn.execute(query):
                groups.setdefault(row.theme, []).append(row)
        summaries = [_summary(theme, rows) for theme, rows in groups.items()]
        ranked = sorted(
            (s for s in summaries if s.theme is not None),
            key=lambda s: (-s.accounts, -s.arr, -s.items, s.theme),
        )
        unthemed = next((s for s in summaries if s.theme is None), None)
        return Themes(themes=ranked, unthemed=unthemed)

    # ----- renewal assessments -----

    def record_assessment(self, assessment: Assessment) -> bool:
        """Store the month's assessment and its timeline row (event `renewal_assessment`,
        detail month, ae_risk, ta_risk, red), in one transaction. True when it replaced an
        earlier assessment of the same month."""
        stamp = now()
        values = {
            "key": assessment.key, "account_id": assessment.account, "on": assessment.on,
            "ae_risk": assessment.ae_risk, "ta_risk": assessment.ta_risk, "red": assessment.red,
            "recorded_at": stamp,
        }
        row = {
            "key": assessment_timeline_key(assessment.account, assessment.month),
            "account_id": assessment.account,
            "at": assessment.on,
            "kind": "event",
            "name": "renewal_assessment",
            "detail": {"month": assessment.month, "ae_risk": assessment.ae_risk, "ta_risk": assessment.ta_risk,
                       "red": assessment.red},
            "recorded_at": stamp,
        }
        with self.transaction() as conn:
            replaced = conn.execute(
                sa.select(renewal_assessments.c.id).where(renewal_assessments.c.key == assessment.key)
            ).first() is not None
            statement = self.insert(renewal_assessments)
            conn.execute(statement.on_conflict_do_update(
                index_elements=["key"], set_={name: statement.excluded[name] for name in ("on", "ae_risk", "ta_risk", "red", "recorded_at")}
            ), values)
            statement = self.insert(timeline)
            conn.execute(statement.on_conflict_do_update(
                index_elements=["key"], set_={name: statement.excluded[name] for name in ("at", "detail", "recorded_at")}
            ), row)
        return replaced

    def assessments(self, account: str) -> list[AssessmentRecord]:
        """`account`'s assessments, oldest first."""
        query = (
            sa.select(renewal_assessments)
            .where(renewal_assessments.c.account_id == account)
            .order_by(renewal_assessments.c.on, renewal_assessments.c.id)
        )
        with self.engine.connect() as conn:
            return [AssessmentRecord.of(row) for row in conn.execute(query)]

    def open_task_due_by(self, account: str, touchpoint: str, last: date) -> str | None:
        """The key of `account`'s open `touchpoint` task due soonest, if it is due by `last`:
        the one the journey closes when told the touchpoint is done. None when there is none."""
        query = (
            sa.select(tasks.c.key)
            .where(
                tasks.c.account_id == account,
                tasks.c.touchpoint == touchpoint,
                tasks.c.status == "open",
                tasks.c.due <= last,
            )
            .order_by(tasks.c.due, tasks.c.id)
        )
        with self.engine.connect() as conn:
            return conn.execute(query).scalars().first()

    # ----- portfolio reads -----

    def renewal_pipeline(self, first: date, last: date, ta: str | None = None) -> RenewalPipeline:
        """The accounts renewing in [first, last] (their current renewal date; churned
        accounts are not renewing), in date order, each with whether the value review of
        its current term is done and its latest assessment of the term; and the totals."""
        start = _term_start().label("term_start")
        review_done = (
            sa.select(tasks.c.id)
            .where(
                tasks.c.account_id == accounts.c.id,
                tasks.c.touchpoint == VALUE_REVIEW,
                tasks.c.status == "done",
                tasks.c.due >= _term_start(),
            )
            .exists()
            .label("value_review_done")
        )
        query = (
            sa.select(accounts, start, review_done)
            .where(accounts.c.renewal.between(first, last), accounts.c.stage != "churned")
            .order_by(accounts.c.renewal, accounts.c.id)
        )
        if ta is not None:
            query = query.where(accounts.c.ta == ta)
        with self.engine.connect() as conn:
            rows = list(conn.execute(query))
            latest = _latest_assessments(conn, {row.id: row.term_start for row in rows})
        renewals = [
            Renewal(
                account=row.id, name=row.name, renewal=row.renewal, arr=row.arr, health=row.health,
                stage=row.stage, ta=row.ta, ae=row.ae, value_review_done=bool(row.value_review_done),
                assessment=latest.get(row.id),
            )
            for row in rows
        ]
        return RenewalPipeline(first=first, last=last, renewals=renewals, totals=renewal_totals(renewals))

    def deployments(self, today: date) -> list[Deployment]:
        """Self-hosted accounts without a production-ready date (churned ones aside), the
        longest since signature first, each with its open deployment follow-up (the one due
        soonest)."""
        query = (
            sa.select(accounts.c.id, accounts.c.name, accounts.c.signed, accounts.c.stage, accounts.c.ta)
            .where(
                accounts.c.deployment == "self-hosted",
                accounts.c.production_ready.is_(None),
                accounts.c.stage != "churned",
            )
            .order_by(accounts.c.signed, accounts.c.id)
        )
        with self.engine.connect() as conn:
            rows = list(conn.execute(query))
            follow_ups = _open_follow_ups(conn, [row.id for row in rows])
        return [
            Deployment(
                account=row.id, name=row.name, signed=row.signed, days_since_signed=(today - row.signed).days,
                stage=row.stage, ta=row.ta,
                follow_up_due=follow_ups[row.id][1] if row.id in follow_ups else None,
                follow_up_key=follow_ups[row.id][0] if row.id in follow_ups else None,
            )
            for row in rows
        ]


def _summary(theme: str | None, rows: list[Any]) -> ThemeSummary:
    return ThemeSummary(
        theme=theme,
        accounts=len(rows),
        arr=sum(row.arr for row in rows),
        items=sum(row.item_count for row in rows),
        latest=max(row.latest for row in rows),
        account_ids=[row.account_id for row in rows],
    )


def _stored_feedback(conn: Connection, keys: Sequence[str]) -> dict[str, tuple[str | None, str | None]]:
    stored: dict[str, tuple[str | None, str | None]] = {}
    for chunk in chunks(keys):
        query = sa.select(feedback.c.key, feedback.c.theme, feedback.c.contact).where(feedback.c.key.in_(chunk))
        stored.update({row.key: (row.theme, row.contact) for row in conn.execute(query)})
    return stored


def _latest_assessments(conn: Connection, term_starts: dict[str, date]) -> dict[str, dict[str, Any]]:
    """Each account's newest assessment on or after its term start, as the pipeline shows it."""
    latest: dict[str, dict[str, Any]] = {}
    for chunk in chunks(sorted(term_starts)):
        query = (
            sa.select(renewal_assessments)
            .where(renewal_assessments.c.account_id.in_(chunk))
            .order_by(renewal_assessments.c.on, renewal_assessments.c.id)
        )
        for row in conn.execute(query):
            if row.on >= term_starts[row.account_id]:
                latest[row.account_id] = {"on": row.on.isoformat(), "ae_risk": row.ae_risk, "ta_risk": row.ta_risk,
                                          "red": row.red}
    return latest


def _open_follow_ups(conn: Connection, ids: Sequence[str]) -> dict[str, tuple[str, date]]:
    follow_ups: dict[str, tuple[str, date]] = {}
    for chunk in chunks(ids):
        query = (
            sa.select(tasks.c.account_id, tasks.c.key, tasks.c.due)
            .where(tasks.c.account_id.in_(chunk), tasks.c.touchpoint == DEPLOYMENT_FOLLOW_UP, tasks.c.status == "open")
            .order_by(tasks.c.due.desc(), tasks.c.id.desc())
        )
        # Soonest due last, so it is the one kept.
        follow_ups.update({row.account_id: (row.key, row.due) for row in conn.execute(query)})
    return follow_ups
