"""Settings from the environment: empty means unset, and a bad value is bad input."""

from __future__ import annotations

from pathlib import Path

import pytest

from journey.config import DeliverySettings, database_url, journey_home
from journey.domain.errors import InputError


def test_empty_settings_count_as_unset(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("JOURNEY_HOME", "JOURNEY_DATABASE_URL", "JOURNEY_SMTP_PORT", "JOURNEY_EMAIL_FROM", "JOURNEY_EMAIL_DOMAIN"):
        monkeypatch.setenv(name, "")
    assert journey_home() == Path.home() / ".journey"
    assert database_url() == f"sqlite:///{Path.home() / '.journey' / 'journey.db'}"
    settings = DeliverySettings.from_env()
    assert (settings.smtp_port, settings.email_from, settings.email_domain) == (25, "journey@localhost", "localhost")


@pytest.mark.parametrize("port", ["smtp", "0", "70000", "-1"])
def test_a_bad_smtp_port_is_named(monkeypatch: pytest.MonkeyPatch, port: str) -> None:
    monkeypatch.setenv("JOURNEY_SMTP_PORT", port)
    with pytest.raises(InputError, match="JOURNEY_SMTP_PORT"):
        DeliverySettings.from_env()
