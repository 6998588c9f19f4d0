"""Settings from the environment: where state lives and how to reach Temporal."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path


def journey_home() -> Path:
    """JOURNEY_HOME holds the SQLite database, the dev server's state and reports."""
    return Path(os.environ.get("JOURNEY_HOME", Path.home() / ".journey")).expanduser()


def database_url() -> str:
    url = os.environ.get("JOURNEY_DATABASE_URL")
    if url:
        return url
    return f"sqlite:///{journey_home() / 'journey.db'}"


@dataclass(frozen=True)
class DeliverySettings:
    """Where automated touches go. Secrets come only from the environment and are never logged."""

    slack_webhook_url: str | None
    smtp_host: str | None
    smtp_port: int
    smtp_user: str | None
    smtp_password: str | None
    smtp_starttls: bool
    email_from: str
    email_domain: str
    red_accounts_channel: str
    manager: str

    @classmethod
    def unconfigured(cls) -> DeliverySettings:
        """No Slack and no SMTP: automated touches are recorded, never sent anywhere."""
        return cls(
            slack_webhook_url=None, smtp_host=None, smtp_port=25, smtp_user=None, smtp_password=None,
            smtp_starttls=False, email_from="journey@localhost", email_domain="localhost",
            red_accounts_channel="#red-accounts", manager="ta-manager",
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
            red_accounts_channel=os.environ.get("JOURNEY_RED_CHANNEL", "#red-accounts"),
            manager=os.environ.get("JOURNEY_TA_MANAGER", "ta-manager"),
        )
