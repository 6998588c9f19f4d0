"""The journey's current details in the Web UI: a short markdown card of its status.

The Web UI renders details as markdown, which may carry HTML: every value from data
(names, owners, reasons, ids) goes through `journey.domain.text`, so it shows as text.
"""

from __future__ import annotations

from journey.domain.models import JourneyStatus
from journey.domain.text import code, markdown


def journey_details(status: JourneyStatus) -> str:
    md = markdown
    lines = [
        f"## {md(status.name)} ({code(status.account)})",
        f"**Stage** {status.stage.value} · **Health** {status.health.value}"
        + (f" ({md(status.health_reason)})" if status.health_reason else ""),
        f"**Segment** {status.segment.value} · tier {status.tier} · {status.engagement_model.value} · "
        f"TA {md(status.ta)} · AE {md(status.ae)}",
        f"**Seats** {status.seats} · **ARR** {status.arr:,.0f} · **Renewal** {status.renewal_date} (term {status.term})",
    ]
    if status.adoption_deadline:
        result = f" — {status.adoption_result}" if status.adoption_result else ""
        lines.append(f"**Adoption deadline** {status.adoption_deadline}{result}")
    if status.remediation:
        lines.append(f"**Red-account remediation** {code(status.remediation)}")
    if status.open_tasks:
        lines.append("")
        lines.append("| open task | owner | due |")
        lines.append("|---|---|---|")
        lines.extend(f"| {md(t.touchpoint)} | {md(t.owner)} | {t.due} |" for t in status.open_tasks[:10])
    if status.next_touchpoints:
        lines.append("")
        lines.append("Next: " + ", ".join(f"{md(t.touchpoint)} {t.due}" for t in status.next_touchpoints))
    return "\n".join(lines)


def remediation_summary(name: str, reason: str) -> str:
    """The Web UI's one-line summary of a red-account remediation."""
    return f"Red account {markdown(name)}: {markdown(reason)}"
