"""The journey's current details in the Web UI: a short markdown card of its status.

The Web UI renders details as markdown, which may carry HTML: every value from data
(names, owners, reasons, ids) goes through `journey.domain.text`, so it shows as text.
"""

from __future__ import annotations

from datetime import date

from journey.domain.enums import Health
from journey.domain.models import JourneyStatus
from journey.domain.remediation import Remediation
from journey.domain.text import code, markdown

# The patch under which the journey's and the remediation's timer summaries name what falls
# due and when ("adoption-review due 2026-12-16 (task opens 2026-12-09)").
TIMER_DUE_DATES = "timer-due-dates"

ADOPTION_RESULTS = {"no-data": "not judged: no usage reported on or before it"}


def journey_details(status: JourneyStatus) -> str:
    md = markdown
    lines = [
        f"## {md(status.name)} ({code(status.account)})",
        *health_reasons(status),
        f"**Stage** {status.stage.value} · **Health** {status.health.value}"
        + (f" ({md(status.health_reason)})" if status.health_reason and status.health is Health.green else ""),
        f"**Segment** {status.segment.value} · tier {status.tier} · {status.engagement_model.value} · "
        f"TA {md(status.ta)} · AE {md(status.ae)}",
        f"**Seats** {status.seats} · **ARR** {status.arr:,.0f} · **Renewal** {status.renewal_date} (term {status.term})",
    ]
    if status.adoption_deadline:
        result = f" — {ADOPTION_RESULTS.get(status.adoption_result, status.adoption_result)}" if status.adoption_result else ""
        lines.append(f"**Adoption deadline** {status.adoption_deadline}{result}")
    if status.remediation:
        lines.append(f"**Red-account remediation** {code(status.remediation)}")
    if status.open_tasks:
        lines.append("")
        lines.append("| open task | owner | due |")
        lines.append("|---|---|---|")
        lines.extend(f"| {md(t.touchpoint)} | {md(t.owner)} | {t.due} |" for t in status.open_tasks[:10])
    if status.held_deliveries:
        lines.append("")
        lines.append(f"**Held for review** ({len(status.held_deliveries)}): "
                     + ", ".join(f"{code(h.key)} due {h.due}" for h in status.held_deliveries[:5])
                     + " · `journey deliveries show KEY`, then `approve` or `skip`")
    if status.next_touchpoints:
        lines.append("")
        lines.append("Next: " + ", ".join(f"{md(t.touchpoint)} {t.due}" for t in status.next_touchpoints))
    return "\n".join(lines)


def health_reasons(status: JourneyStatus) -> list[str]:
    """A journey that is not green leads with why: the score's top measures and caps (the
    sweep's reason), or the hand-set color's reason and when it expires."""
    if status.health is Health.green:
        return []
    reason = markdown(status.health_reason) if status.health_reason else "no reason recorded"
    until = f" (set by hand, until {status.health_until})" if status.health_until else ""
    return [f"**{status.health.value.capitalize()}:** {reason}{until}"]


def remediation_summary(name: str, reason: str) -> str:
    """The Web UI's one-line summary of a red-account remediation."""
    return f"Red account {markdown(name)}: {markdown(reason)}"


def remediation_details(remediation: Remediation, today: date) -> str:
    """The red-account remediation's current details: how long red, what comes next."""
    episode, md = remediation.episode, markdown
    account = episode.account
    has_follow_ups = remediation.touchpoint("red-follow-up") is not None
    escalation = (
        f"escalated {remediation.escalated_on}" if remediation.escalated_on else f"due {remediation.escalate_on}"
    )
    return "\n".join([
        f"## Red account {md(account.name)} ({code(account.id)}) · episode {episode.episode}",
        f"**Days red** {(today - episode.opened_on).days} (since {episode.opened_on}, as of {today}) · "
        f"**Reason** {md(episode.reason)}",
        f"**Action plan** {remediation.plan_status()}",
        f"**Next follow-up** {remediation.next_follow_up() if has_follow_ups else 'none in this playbook'}"
        f" · **Follow-ups so far** {remediation.follow_ups}",
        f"**Escalation** {escalation} (TA manager and AE {md(account.ae)})",
    ])
