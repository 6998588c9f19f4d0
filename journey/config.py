"""Settings from the environment: where state lives, how to reach the receivers of
automated touches, the team's routing, and where the playbooks are."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from journey.domain.team import (
    DEFAULT_MANAGER,
    DEFAULT_RED_ACCOUNTS_CHANNEL,
    DEFAULT_TEAM,
    DEFAULT_VALUE_ENGINEERING,
    Team,
)
from playbooks import DEFAULT_DIR

HEALTH_CONFIG_FILE = "health.toml"


def journey_home() -> Path:
    """JOURNEY_HOME holds the SQLite database, the dev server's state and reports."""
    return Path(os.environ.get("JOURNEY_HOME", Path.home() / ".journey")).expanduser()


def database_url() -> str:
    url = os.environ.get("JOURNEY_DATABASE_URL")
    if url:
        return url
    return f"sqlite:///{journey_home() / 'journey.db'}"


def playbooks_dir() -> Path:
    """The folder of playbooks (`<model>.toml`) and the health-score file: the bundled one."""
    return DEFAULT_DIR


def health_config_path() -> Path:
    return playbooks_dir() / HEALTH_CONFIG_FILE


def reports_dir() -> Path:
    """Where a worker writes the reports it attaches to tasks (the value review's)."""
    return journey_home() / "reports"


def team_from_env() -> Team:
    """The team's routing: JOURNEY_TA_MANAGER, JOURNEY_VALUE_ENGINEERING, JOURNEY_RED_CHANNEL."""
    return Team(
        manager=os.environ.get("JOURNEY_TA_MANAGER") or DEFAULT_MANAGER,
        value_engineering=os.environ.get("JOURNEY_VALUE_ENGINEERING") or DEFAULT_VALUE_ENGINEERING,
        red_accounts_channel=os.environ.get("JOURNEY_RED_CHANNEL") or DEFAULT_RED_ACCOUNTS_CHANNEL,
    )


@dataclass(frozen=True)
class DeliverySettings:
    """Where automated touches go, and the team's routing (the reminder sweep escalates to
    its manager). Secrets come only from the environment and are never logged."""

    slack_webhook_url: str | None
    smtp_host: str | None
    smtp_port: int
    smtp_user: str | None
    smtp_password: str | None
    smtp_starttls: bool
    email_from: str
    email_domain: str
    team: Team

    @classmethod
    def unconfigured(cls) -> DeliverySettings:
        """No Slack and no SMTP: automated touches are recorded, never sent anywhere."""
        return cls(
            slack_webhook_url=None, smtp_host=None, smtp_port=25, smtp_user=None, smtp_password=None,
            smtp_starttls=False, email_from="journey@localhost", email_domain="localhost", team=DEFAULT_TEAM,
        )

    @classmethod
    def from_env(cls) -> DeliverySettings:
        return cls(
            slack_webhook_url=os.environ.get("JOURNEY_SLACK_WEBHOOK_URL") or None,
            smtp_host=os.environ.get("JOURNEY_SMTP_HOST") or None,
            smtp_port=int(os.environ.get("JOURNEY_SMTP_PORT", "25")),
            smtp_user=os.environ.get("JOURNEY_SMTP_USER") or None,
            smtp_password=os.environ.get("JOURNEY_SMTP_PASSWORD") or None,
            smtp_starttls=os.environ.get("JOURNEY_SMTP_STARTTLS", "") in ("1", "true", "yes"),
            email_from=os.environ.get("JOURNEY_EMAIL_FROM", "journey@localhost"),
            email_domain=os.environ.get("JOURNEY_EMAIL_DOMAIN", "localhost"),
            team=team_from_env(),
        )
