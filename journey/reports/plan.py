"""The quarterly account plan, and the 2x2 meeting view of a TA's accounts.

The account plan has the handbook's sections: customer context (contacts by role, use
cases, how the customer uses the product, value perception, health with its explanation)
and objectives and plans (expansion and growth opportunities, risks and challenges,
product feedback themes, the quarter's objectives), with last quarter's objectives and
their outcomes. `account_plan` reads the store into an `AccountPlan` (what `journey plan
--json` prints); `plan_markdown` and `plan_html` render it, every text from data escaped.

The plan of a quarter is the account as it stood on its cutoff: the plan's date, or the
quarter's last day when that is earlier. Its items are those open on some day of the
quarter up to the cutoff (an item closed by then shows its outcome); open items carry
into every later quarter. Last quarter's objectives are those open on some day of the
quarter before, with the outcome of those closed in it. Usage and NPS cover the 90 days
to the cutoff; product feedback the quarter to the cutoff (for a plan written before its
quarter starts, as tier 1 plans are, the quarter before).
"""

from __future__ import annotations

import base64
from collections import Counter
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

from journey.config import write_private_file
from journey.domain.enums import ContactRole, Health
from journey.domain.errors import NotFound
from journey.domain.health import StoredScore
from journey.domain.metrics import ADOPTION_TARGET, TREND_DAYS, nps_of
from journey.domain.numbers import figure
from journey.domain.quarters import parse_quarter, quarter_of
from journey.domain.text import markdown
from journey.reports.data import Chart
from journey.reports.render import CSS, _e, _table, draw, label
from journey.store import Store
from journey.store.plans import PlanItemRecord

# How far back the plan's usage and NPS look from its cutoff.
USAGE_DAYS = 90
# Measures named in the health's top reasons (the caps first, then those that lost most).
TOP_REASONS = 3
HEALTH_ORDER = {Health.red.value: 0, Health.yellow.value: 1, Health.green.value: 2}
SECTION_KINDS = {"use_cases": "use-case", "objectives": "objective", "risks": "risk", "opportunities": "opportunity"}
NO_USAGE = "No usage reported in this period."
# The plan's sections nest one level deeper than the account report's.
PLAN_CSS = "h2{font-size:1.3em;border-bottom:1px solid #ccc;padding-bottom:.2em}h3{font-size:1.05em}"


class PlanItem(BaseModel):
    """One item as a plan shows it: its state on the plan's cutoff."""

    item: int = Field(description="the item's number (`journey plan close ACCOUNT ITEM`)")
    kind: str
    text: str
    quarter: str = Field(description="the quarter it was raised in")
    opened_on: date
    status: str = Field(description="open, or closed by the plan's cutoff")
    outcome: str | None = None
    notes: str | None = None
    closed_on: date | None = None
    carried_over: bool = Field(description="raised before the plan's quarter and still open at its start")


class LastQuarterObjective(BaseModel):
    item: int
    text: str
    outcome: str | None = Field(description="met, missed or dropped; null: still open at the quarter's end (carried over)")
    notes: str | None = None
    closed_on: date | None = None


class LastQuarter(BaseModel):
    quarter: str
    first: date = Field(serialization_alias="from")
    last: date = Field(serialization_alias="to")
    objectives: list[LastQuarterObjective]


class AccountPlan(BaseModel):
    """The plan document (`journey plan ACCOUNT --json`; docs/contract.md names every field)."""

    account: str
    name: str
    quarter: str
    first: date = Field(serialization_alias="from", description="the quarter's first day")
    last: date = Field(serialization_alias="to", description="the quarter's last day")
    generated_on: date
    as_of: date = Field(description="the cutoff: generated_on, or the quarter's last day when earlier")
    profile: dict[str, Any]
    contacts: dict[str, list[dict[str, Any]]]
    use_cases: list[PlanItem]
    usage: dict[str, Any]
    nps: dict[str, Any]
    health: dict[str, Any]
    objectives: list[PlanItem]
    risks: list[PlanItem]
    opportunities: list[PlanItem]
    feedback: dict[str, Any]
    last_quarter: LastQuarter

    def document(self) -> dict[str, Any]:
        return self.model_dump(mode="json", by_alias=True)


class AccountNotFound(NotFound):
    pass


# --- The plan's numbers ---------------------------------------------------------------


def account_plan(store: Store, account_id: str, quarter: str, today: date) -> AccountPlan:
    """`account_id`'s plan for `quarter` (FY27Q1), as of `today` or the quarter's end."""
    period = parse_quarter(quarter)
    account = store.find_account(account_id)
    if account is None:
        raise AccountNotFound(f"no account {account_id!r} in the store (enroll or import it first)")
    cutoff = min(today, period.last)
    items = store.plan_items(account_id)
    shown = [_shown(i, period.first, cutoff) for i in items if _in_plan(i, period.first, cutoff)]
    sections = {name: [i for i in shown if i.kind == kind] for name, kind in SECTION_KINDS.items()}
    before = period.previous()
    before_cutoff = min(cutoff, before.last)
    last_objectives = [
        _last_objective(i, before_cutoff)
        for i in items
        if i.kind == "objective" and _in_plan(i, before.first, before_cutoff)
    ]
    since = cutoff - timedelta(days=USAGE_DAYS - 1)
    return AccountPlan(
        account=account_id,
        name=account.name,
        quarter=period.name,
        first=period.first,
        last=period.last,
        generated_on=today,
        as_of=cutoff,
        profile={
            "segment": account.segment,
            "tier": account.tier,
            "engagement_model": account.model,
            "stage": account.stage,
            "ta": account.ta,
            "ae": account.ae,
            "seats": account.seats,
            "arr": account.arr,
            "renewal_date": account.renewal.isoformat(),
        },
        contacts=_contacts(store, account_id),
        use_cases=sections["use_cases"],
        usage=_usage(store, account_id, account.seats, since, cutoff),
        nps=_nps(store, account_id, since, cutoff),
        health=health_summary(store, account_id, cutoff, fallback=(account.health, account.health_reason)),
        objectives=sections["objectives"],
        risks=sections["risks"],
        opportunities=sections["opportunities"],
        # A plan written before its quarter starts (tier 1) looks back on the quarter before.
        feedback=_feedback(store, account_id, period.first if cutoff >= period.first else before.first, cutoff),
        last_quarter=LastQuarter(quarter=before.name, first=before.first, last=before.last, objectives=last_objectives),
    )


def _in_plan(item: PlanItemRecord, first: date, cutoff: date) -> bool:
    """Raised by the cutoff and open on some day from `first` (a plan written before its
    quarter starts holds what is open on its cutoff)."""
    if item.opened_on > cutoff:
        return False
    return item.closed_on is None or item.closed_on > cutoff or item.closed_on >= first


def _shown(item: PlanItemRecord, first: date, cutoff: date) -> PlanItem:
    closed = item.closed_on is not None and item.closed_on <= cutoff
    return PlanItem(
        item=item.number,
        kind=item.kind,
        text=item.text,
        quarter=item.quarter,
        opened_on=item.opened_on,
        status="closed" if closed else "open",
        outcome=item.outcome if closed else None,
        notes=item.notes if closed else None,
        closed_on=item.closed_on if closed else None,
        carried_over=item.opened_on < first,
    )


def _last_objective(item: PlanItemRecord, cutoff: date) -> LastQuarterObjective:
    """Last quarter's objective with its outcome if it was closed by then, else open (null)."""
    if item.closed_on is None or item.closed_on > cutoff:
        return LastQuarterObjective(item=item.number, text=item.text, outcome=None)
    return LastQuarterObjective(item=item.number, text=item.text, outcome=item.outcome, notes=item.notes, closed_on=item.closed_on)


def _contacts(store: Store, account_id: str) -> dict[str, list[dict[str, Any]]]:
    """Every role of the vocabulary (empty lists say who is missing), then any other role stored."""
    found: dict[str, list[dict[str, Any]]] = {role.value: [] for role in ContactRole}
    for contact in store.contacts_of([account_id])[account_id]:
        found.setdefault(contact.role.value, []).append({"name": contact.name, "title": contact.title, "email": contact.email})
    return found


def _usage(store: Store, account_id: str, seats: int, since: date, until: date) -> dict[str, Any]:
    mau = store.mau_on(account_id, until)
    before = store.mau_on(account_id, until - timedelta(days=TREND_DAYS))
    daily = store.daily_usage(account_id, since, until)
    target = round(ADOPTION_TARGET * seats, 2)
    return {
        "since": since.isoformat(),
        "until": until.isoformat(),
        "seats": seats,
        "mau": mau,
        "utilization": _round(mau / seats) if mau is not None else None,
        "adoption_target": ADOPTION_TARGET,
        "consumption": _round(store.account_metrics(account_id, until, seats)["consumption"]),
        "mau_trend_30d": _round(mau / before - 1) if mau is not None and before else None,
        "mau_vs_seats": [[d.isoformat(), m, seats, target] for d, _, m in daily],
    }


def _nps(store: Store, account_id: str, since: date, until: date) -> dict[str, Any]:
    answers = store.plan_nps_scores(account_id, since, until)
    return {
        "since": since.isoformat(),
        "until": until.isoformat(),
        "nps": _round(nps_of(s for _, s in answers)) if answers else None,
        "answers": len(answers),
        "latest_answer": answers[-1][0].isoformat() if answers else None,
    }


def _feedback(store: Store, account_id: str, first: date, until: date) -> dict[str, Any]:
    rows = [r for r in store.feedback_items(account=account_id, since=first) if r.date <= until]
    themes = Counter(r.theme or "(no theme)" for r in rows)
    return {
        "since": first.isoformat(),
        "until": until.isoformat(),
        "themes": [{"theme": theme, "count": n} for theme, n in sorted(themes.items(), key=lambda t: (-t[1], t[0]))],
        "entries": [{"date": r.date.isoformat(), "theme": r.theme, "text": r.text, "contact": r.contact} for r in rows],
    }


def health_summary(store: Store, account_id: str, on: date, fallback: tuple[str, str | None]) -> dict[str, Any]:
    """The health the sweep stored on its last run on or before `on` (as `journey
    health-score explain --on` reads it): its color, score, reason, top reasons and the
    whole explanation. Without a stored score, the account's own color and reason
    (`fallback`), with `explain` null."""
    try:
        current, previous = store.scores_of(account_id, on)
    except NotFound:
        color, reason = fallback
        return {"color": color, "score": None, "scored_on": None, "reason": reason, "top_reasons": [], "explain": None}
    return {
        "color": current.color.value,
        "score": current.score,
        "scored_on": current.on.isoformat(),
        "reason": current.reason,
        "top_reasons": top_reasons(current),
        "explain": current.document(previous),
    }


def top_reasons(score: StoredScore, limit: int = TOP_REASONS) -> list[dict[str, Any]]:
    """The measures that capped the color or lost points, caps first, then by points lost."""
    hurt = [m for m in score.measures if m.cap is not None or (m.counted and m.lost > 0)]
    hurt.sort(key=lambda m: (m.cap is None, -m.lost, m.measure))
    return [
        {"measure": m.measure, "points_lost": round(m.lost, 1), "cap": m.cap.value if m.cap else None, "reason": m.reason}
        for m in hurt[:limit]
    ]


def plan_quarter_for(due: date) -> str:
    """The quarter a plan due on `due` is for: the one whose start is nearest. The
    playbooks put tier 1 plans two weeks before their quarter (ready for the internal QBR)
    and tiers 2-3 a week into it."""
    current = parse_quarter(quarter_of(due))
    following = current.next()
    return following.name if (following.first - due) < (due - current.first) else current.name


# --- Writing ---------------------------------------------------------------------------


def write_plan(plan: AccountPlan, out_dir: str | Path) -> tuple[Path, Path]:
    """Write the plan as `<account>-plan-<quarter>.md` and `.html` into `out_dir` (made
    0700 where missing), each whole or not at all, 0600. Returns (markdown, html)."""
    stem = f"{plan.account}-plan-{plan.quarter}"
    text, page = plan_markdown(plan), plan_html(plan)
    md_path = write_private_file(Path(out_dir) / f"{stem}.md", text.encode("utf-8"))
    html_path = write_private_file(Path(out_dir) / f"{stem}.html", page.encode("utf-8"))
    return md_path, html_path


# --- Markdown --------------------------------------------------------------------------

ROLE_TITLES = {
    "champion": "Champion",
    "economic-buyer": "Economic buyer",
    "tech-advocate": "Technical advocate",
    "admin": "Admin",
}
ITEM_COLUMNS = ["#", "Item", "Raised", "Status", "Notes"]
LAST_COLUMNS = ["#", "Objective", "Outcome", "Closed", "Notes"]


def _title(plan: AccountPlan) -> str:
    return f"{plan.name}: account plan {plan.quarter} ({plan.first} to {plan.last})"


def _item_cells(item: PlanItem) -> list[str]:
    raised = f"{item.opened_on} ({item.quarter})"
    status = f"{item.outcome} on {item.closed_on}" if item.status == "closed" else "open" + (" (carried over)" if item.carried_over else "")
    return [str(item.item), item.text, raised, status, item.notes or ""]


def _last_cells(item: LastQuarterObjective) -> list[str]:
    outcome = item.outcome or "open (carried over)"
    return [str(item.item), item.text, outcome, str(item.closed_on or "-"), item.notes or ""]


def _usage_rows(usage: dict[str, Any]) -> list[list[str]]:
    keys = ["seats", "mau", "utilization", "adoption_target", "consumption", "mau_trend_30d"]
    return [[label(k), figure(k, usage[k])] for k in keys]


def _health_rows(health: dict[str, Any]) -> list[list[str]]:
    return [
        ["Health", figure("color", health["color"])],
        ["Health score (0-100)", figure("score", health["score"])],
        ["Scored on", figure("scored_on", health["scored_on"])],
        ["Why this health", figure("reason", health["reason"])],
    ]


def _md_table(columns: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(markdown(c) for c in columns) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(markdown(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines)


def plan_markdown(plan: AccountPlan) -> str:
    """The plan as markdown; every value from data escaped (`journey.domain.text.markdown`)."""
    out: list[str] = [f"# {markdown(_title(plan))}", ""]
    out += [
        markdown(
            f"Internal. Generated by journey on {plan.generated_on}; figures as of {plan.as_of}. "
            f"TA {plan.profile['ta']}, AE {plan.profile['ae']}, tier {plan.profile['tier']}, "
            f"renewal {plan.profile['renewal_date']}."
        ),
        "",
        "## Customer context",
        "",
        "### Contacts",
        "",
        _md_table(["Role", "Name", "Title", "Email"], _contact_rows(plan)),
        "",
        "### Use cases",
        "",
        *_md_items(plan.use_cases, "No use case recorded (journey plan add ACCOUNT --use-case TEXT)."),
        "### How they use the product",
        "",
        markdown(f"The {USAGE_DAYS} days from {plan.usage['since']} to {plan.usage['until']}."),
        "",
        _md_table(["Measure", "Value"], _usage_rows(plan.usage)),
        "",
        "### Value perception",
        "",
        markdown(_nps_text(plan.nps)),
        "",
        "### Customer health",
        "",
        _md_table(["Measure", "Value"], _health_rows(plan.health)),
        "",
    ]
    if plan.health["top_reasons"]:
        rows = [[r["measure"], figure("points", r["points_lost"]), r["cap"] or "-", r["reason"] or "-"] for r in plan.health["top_reasons"]]
        out += [_md_table(["Measure", "Points lost", "Caps at", "Reason"], rows), ""]
    out += [
        "## Objectives and plans",
        "",
        "### Expansion and growth opportunities",
        "",
        *_md_items(plan.opportunities, "No opportunity recorded."),
        "### Account risks and challenges",
        "",
        *_md_items(plan.risks, "No risk recorded."),
        "### Product feedback themes",
        "",
    ]
    feedback = plan.feedback
    if feedback["entries"]:
        out += [_md_table(["Theme", "Entries"], [[t["theme"], str(t["count"])] for t in feedback["themes"]]), ""]
        out += [_md_table(["Date", "Theme", "Feedback", "From"], _feedback_rows(feedback)), ""]
    else:
        out += [markdown(f"No product feedback from {feedback['since']} to {feedback['until']}."), ""]
    out += [
        "### Quarterly account objectives",
        "",
        *_md_items(plan.objectives, "No objective recorded (journey plan add ACCOUNT --objective TEXT)."),
        f"## {markdown('Last quarter’s objectives (' + plan.last_quarter.quarter + ')')}",
        "",
    ]
    if plan.last_quarter.objectives:
        out += [_md_table(LAST_COLUMNS, [_last_cells(o) for o in plan.last_quarter.objectives]), ""]
    else:
        out += ["No objective last quarter.", ""]
    return "\n".join(out)


def _md_items(items: list[PlanItem], empty: str) -> list[str]:
    if not items:
        return [markdown(empty), ""]
    return [_md_table(ITEM_COLUMNS, [_item_cells(i) for i in items]), ""]


def _contact_rows(plan: AccountPlan) -> list[list[str]]:
    rows = []
    for role, people in plan.contacts.items():
        shown = ROLE_TITLES.get(role, role)
        if not people:
            rows.append([shown, "none recorded", "", ""])
        rows += [[shown, p["name"], p["title"] or "", p["email"] or ""] for p in people]
    return rows


def _feedback_rows(feedback: dict[str, Any]) -> list[list[str]]:
    return [[e["date"], e["theme"] or "-", e["text"], e["contact"] or "-"] for e in feedback["entries"]]


def _nps_text(nps: dict[str, Any]) -> str:
    if not nps["answers"]:
        return f"No NPS answer from {nps['since']} to {nps['until']}."
    return (
        f"NPS {figure('nps', nps['nps'])} from {nps['answers']} answers between {nps['since']} and "
        f"{nps['until']} (latest {nps['latest_answer']})."
    )


# --- HTML ------------------------------------------------------------------------------


def plan_html(plan: AccountPlan) -> str:
    """The plan as one self-contained HTML page (inline CSS, the chart as a data: URI),
    every value from data HTML-escaped."""
    usage = plan.usage
    chart = Chart(
        key="mau_vs_seats",
        title="Monthly active users against licensed seats",
        columns=["date", "mau", "seats", "target"],
        rows=usage["mau_vs_seats"],
        empty=NO_USAGE,
        since=date.fromisoformat(usage["since"]),
        until=date.fromisoformat(usage["until"]),
    )
    title = _title(plan)
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>{_e(title)}</title>",
        f"<style>{CSS}{PLAN_CSS}</style></head><body>",
        f"<h1>{_e(title)}</h1>",
        f'<p class="meta">Internal. Generated by journey on {_e(plan.generated_on)}; figures as of {_e(plan.as_of)}.</p>',
        _table(["Measure", "Value"], [[label(k), figure(k, v)] for k, v in plan.profile.items()], "profile"),
        '<h2 id="customer-context">Customer context</h2>',
        "<h3>Contacts</h3>",
        _table(["Role", "Name", "Title", "Email"], _contact_rows(plan), "contacts"),
        "<h3>Use cases</h3>",
        _html_items(plan.use_cases, "use_cases", "No use case recorded."),
        "<h3>How they use the product</h3>",
        f'<p class="note">The {USAGE_DAYS} days from {_e(usage["since"])} to {_e(usage["until"])}.</p>',
        _table(["Measure", "Value"], _usage_rows(usage), "usage"),
    ]
    if chart.rows:
        png = base64.b64encode(draw(chart)).decode("ascii")
        parts.append(f'<img alt="{_e(chart.title)}" src="data:image/png;base64,{png}">')
    else:
        parts.append(f'<p class="empty">{_e(NO_USAGE)}</p>')
    parts += [
        "<h3>Value perception</h3>",
        f"<p>{_e(_nps_text(plan.nps))}</p>",
        "<h3>Customer health</h3>",
        _table(["Measure", "Value"], _health_rows(plan.health), "health"),
    ]
    if plan.health["top_reasons"]:
        rows = [[r["measure"], figure("points", r["points_lost"]), r["cap"] or "-", r["reason"] or "-"] for r in plan.health["top_reasons"]]
        parts.append(_table(["Measure", "Points lost", "Caps at", "Reason"], rows, "top_reasons"))
    parts += [
        '<h2 id="objectives-and-plans">Objectives and plans</h2>',
        "<h3>Expansion and growth opportunities</h3>",
        _html_items(plan.opportunities, "opportunities", "No opportunity recorded."),
        "<h3>Account risks and challenges</h3>",
        _html_items(plan.risks, "risks", "No risk recorded."),
        "<h3>Product feedback themes</h3>",
    ]
    feedback = plan.feedback
    if feedback["entries"]:
        parts.append(_table(["Theme", "Entries"], [[t["theme"], t["count"]] for t in feedback["themes"]], "feedback_themes"))
        parts.append(_table(["Date", "Theme", "Feedback", "From"], _feedback_rows(feedback), "feedback"))
    else:
        parts.append(f'<p class="empty">No product feedback from {_e(feedback["since"])} to {_e(feedback["until"])}.</p>')
    parts += [
        "<h3>Quarterly account objectives</h3>",
        _html_items(plan.objectives, "objectives", "No objective recorded."),
        f'<h2 id="last-quarter">Last quarter’s objectives ({_e(plan.last_quarter.quarter)})</h2>',
    ]
    if plan.last_quarter.objectives:
        parts.append(_table(LAST_COLUMNS, [_last_cells(o) for o in plan.last_quarter.objectives], "last_quarter"))
    else:
        parts.append('<p class="empty">No objective last quarter.</p>')
    parts.append("</body></html>")
    return "\n".join(parts)


def _html_items(items: list[PlanItem], key: str, empty: str) -> str:
    if not items:
        return f'<p class="empty">{_e(empty)}</p>'
    return _table(ITEM_COLUMNS, [_item_cells(i) for i in items], key)


# --- The 2x2 meeting view --------------------------------------------------------------


class ReviewAccount(BaseModel):
    account: str
    name: str
    health: str
    health_score: int | None
    reasons: list[dict[str, Any]] = Field(description="the stored score's top reasons (top_reasons)")
    utilization: float | None
    adoption_target: float
    below_target: bool | None = Field(description="utilization under the target; null without usage")
    renewal_date: date
    days_to_renewal: int
    open_tasks: int
    overdue_tasks: int
    risks: list[dict[str, Any]] = Field(description="open risks: {item, text}")
    objectives: list[dict[str, Any]] = Field(description="open objectives: {item, text}")


class Review(BaseModel):
    ta: str
    on: date
    accounts: list[ReviewAccount]

    def document(self) -> dict[str, Any]:
        return self.model_dump(mode="json")


def attention_key(row: ReviewAccount) -> tuple[int, int, int, str]:
    """What needs attention first: red, then yellow, then green; within a color the most
    overdue tasks first; then the soonest renewal; then the account id."""
    return (HEALTH_ORDER.get(row.health, len(HEALTH_ORDER)), -row.overdue_tasks, row.days_to_renewal, row.account)


def review(store: Store, ta: str, today: date) -> Review:
    """The 2x2 meeting view of `ta`'s active accounts on `today`, sorted by `attention_key`.
    NotFound when no account (of any stage) has this TA."""
    mine = store.list_accounts(ta=ta)
    if not mine:
        raise NotFound(f"no account has the TA {ta!r} (see `journey list --ta` or the accounts file)")
    rows = []
    for account in mine:
        if account.stage == "churned":
            continue
        health = health_summary(store, account.id, today, fallback=(account.health, account.health_reason))
        mau = store.mau_on(account.id, today)
        utilization = _round(mau / account.seats) if mau is not None else None
        tasks = store.tasks(account=account.id, status="open")
        items = [i for i in store.plan_items(account.id) if i.open_on(today)]
        rows.append(
            ReviewAccount(
                account=account.id,
                name=account.name,
                # The journey's color now (a color set by hand today included); the reasons
                # are the last sweep's.
                health=account.health,
                health_score=health["score"],
                reasons=health["top_reasons"],
                utilization=utilization,
                adoption_target=ADOPTION_TARGET,
                below_target=None if utilization is None else utilization < ADOPTION_TARGET,
                renewal_date=account.renewal,
                days_to_renewal=(account.renewal - today).days,
                open_tasks=len(tasks),
                overdue_tasks=sum(1 for t in tasks if t.due < today),
                risks=[{"item": i.number, "text": i.text} for i in items if i.kind == "risk"],
                objectives=[{"item": i.number, "text": i.text} for i in items if i.kind == "objective"],
            )
        )
    return Review(ta=ta, on=today, accounts=sorted(rows, key=attention_key))


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 4)
