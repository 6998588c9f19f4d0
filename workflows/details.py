"""The journey's current details in the Web UI: a short markdown card of its status."""

from __future__ import annotations

from journey.domain.models import JourneyStatus


def journey_details(status: JourneyStatus) -> str:
    lines = [
        f"## {status.name} (`{status.account}`)",
        f"**Stage** {status.stage.value} · **Health** {status.health.value}"
        + (f" ({status.health_reason})" if status.health_reason else ""),
        f"**Segment** {status.segment.value} · tier {status.tier} · {status.engagement_model.value} · "
        f"TA {status.ta} · AE {status.ae}",
        f"**Seats** {status.seats} · **ARR** {status.arr:,.0f} · **Renewal** {status.renewal_date} (term {status.term})",
    ]
    if status.adoption_deadline:
        result = f" — {status.adoption_result}" if status.adoption_result else ""
        lines.append(f"**Adoption deadline** {status.adoption_deadline}{result}")
    if status.remediation:
        lines.append(f"**Red-account remediation** `{status.remediation}`")
    if status.open_tasks:
        lines.append("")
        lines.append("| open task | owner | due |")
        lines.append("|---|---|---|")
        lines.extend(f"| {t.touchpoint} | {t.owner} | {t.due} |" for t in status.open_tasks[:10])
    if status.next_touchpoints:
        lines.append("")
        lines.append("Next: " + ", ".join(f"{t.touchpoint} {t.due}" for t in status.next_touchpoints))
    return "\n".join(lines)
