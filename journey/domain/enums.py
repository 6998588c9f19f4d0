"""The closed vocabularies of the domain. Their string values are the interface contract:
CSV columns, update payloads, search attributes and `--json` output use them as they are."""

from __future__ import annotations

import enum


class Segment(str, enum.Enum):
    strategic = "strategic"
    large_enterprise = "large-enterprise"
    small_enterprise = "small-enterprise"
    commercial = "commercial"


class EngagementModel(str, enum.Enum):
    enterprise = "enterprise"
    scaled = "scaled"
    pooled = "pooled"
    digital = "digital"


DEFAULT_MODEL_BY_SEGMENT: dict[Segment, EngagementModel] = {
    Segment.strategic: EngagementModel.enterprise,
    Segment.large_enterprise: EngagementModel.enterprise,
    Segment.small_enterprise: EngagementModel.pooled,
    Segment.commercial: EngagementModel.digital,
}


class Stage(str, enum.Enum):
    signed = "signed"
    kickoff = "kickoff"
    onboarding = "onboarding"
    adoption = "adoption"
    steady = "steady"
    renewal = "renewal"
    renewed = "renewed"
    churned = "churned"


class Health(str, enum.Enum):
    green = "green"
    yellow = "yellow"
    red = "red"


class Deployment(str, enum.Enum):
    cloud = "cloud"
    self_hosted = "self-hosted"


class ContactRole(str, enum.Enum):
    champion = "champion"
    economic_buyer = "economic-buyer"
    tech_advocate = "tech-advocate"
    admin = "admin"


def values(kind: type[enum.Enum]) -> list[str]:
    """The string values of an enum, in declaration order (CLI choices, help text)."""
    return [str(member.value) for member in kind]
