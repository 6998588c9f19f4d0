"""The people and places of the team around every account, beyond its own TA and AE.

Settings (JOURNEY_TA_MANAGER, JOURNEY_VALUE_ENGINEERING, JOURNEY_RED_CHANNEL, read by
`journey.config`) fill it when a journey is enrolled; the journey keeps it in its state
and passes it to its remediations, so every owner and channel comes from one place.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

DEFAULT_MANAGER = "ta-manager"
DEFAULT_VALUE_ENGINEERING = "value-engineering"
DEFAULT_RED_ACCOUNTS_CHANNEL = "#red-accounts"


class Team(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    manager: str = Field(default=DEFAULT_MANAGER, min_length=1, description="the TA manager: escalations, manager tasks")
    value_engineering: str = Field(
        default=DEFAULT_VALUE_ENGINEERING, min_length=1, description="who prepares value reports and reviews"
    )
    red_accounts_channel: str = Field(
        default=DEFAULT_RED_ACCOUNTS_CHANNEL, min_length=1, description="the Slack channel of the Red Accounts Program"
    )


DEFAULT_TEAM = Team()
