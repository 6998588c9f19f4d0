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


def test_a_worker_runs_as_the_package_version_of_deployment_journey_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    from journey import __version__
    from journey.config import worker_version

    for name in ("JOURNEY_DEPLOYMENT", "JOURNEY_BUILD_ID"):
        monkeypatch.setenv(name, "")
    version = worker_version()
    assert (version.deployment, version.build_id) == ("journey", __version__)
    assert str(version) == f"journey.{__version__}"
    monkeypatch.setenv("JOURNEY_DEPLOYMENT", "journey-eu")
    monkeypatch.setenv("JOURNEY_BUILD_ID", "2026.12.1-3f9c2ab")
    assert str(worker_version()) == "journey-eu.2026.12.1-3f9c2ab"
    # The command line's options win over the settings.
    assert str(worker_version("journey-us", "4e1d")) == "journey-us.4e1d"


@pytest.mark.parametrize(
    ("deployment", "build_id", "named", "problem"),
    [
        ("a.b", None, "--deployment", "contains '.'"),
        ("a:b", None, "--deployment", "contains ':'"),
        ("", None, "--deployment", "is empty"),
        ("__journey", None, "--deployment", "starts with '__'"),
        ("journey eu", None, "--deployment", "spaces or control characters"),
        (None, "", "--build-id", "is empty"),
        (None, "__unversioned__", "--build-id", "starts with '__'"),
        (None, "v1\n", "--build-id", "spaces or control characters"),
        (None, "x" * 481, "--build-id", "longer than 480 bytes"),
    ],
)
def test_a_version_the_server_would_refuse_is_named(deployment: str | None, build_id: str | None, named: str, problem: str) -> None:
    from journey.config import worker_version

    with pytest.raises(InputError, match=f"^{named}: .*{problem}"):
        worker_version(deployment, build_id)


def test_a_bad_version_setting_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    from journey.config import worker_version

    monkeypatch.setenv("JOURNEY_DEPLOYMENT", "prod.eu")
    with pytest.raises(InputError, match="^JOURNEY_DEPLOYMENT: 'prod.eu' contains '.'"):
        worker_version()
    monkeypatch.delenv("JOURNEY_DEPLOYMENT")
    monkeypatch.setenv("JOURNEY_BUILD_ID", "__x")
    with pytest.raises(InputError, match="^JOURNEY_BUILD_ID: '__x' starts with '__'"):
        worker_version()


def test_the_sweep_concurrency_defaults_and_reads_its_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    from journey.config import DEFAULT_SWEEP_CONCURRENCY, sweep_concurrency

    monkeypatch.setenv("JOURNEY_SWEEP_CONCURRENCY", "")
    assert sweep_concurrency() == DEFAULT_SWEEP_CONCURRENCY
    monkeypatch.setenv("JOURNEY_SWEEP_CONCURRENCY", " 64 ")
    assert sweep_concurrency() == 64
