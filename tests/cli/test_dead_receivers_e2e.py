"""With Slack down and SMTP refusing the login, the team's commands still answer at once.

A real dev server and `journey worker` whose webhook is a port nobody listens on and whose
SMTP server answers every login with 535, each delivery allowed two attempts
(`JOURNEY_DELIVERY_ATTEMPTS`). `journey event`, `journey health`, `playbook apply` and
`schedule trigger health` return within 10 seconds with reports that are true; the
deliveries end `failed` with the receiver's reason; the journey runs on.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest

from journey.temporal.devserver import free_port
from tests.cli.conftest import Stack, running_stack
from tests.cli.test_schedule_and_apply_e2e import enroll, ok
from tests.helpers.playbooks import always_open_playbooks
from tests.helpers.refusing_servers import LOGIN_REFUSED, RefusingSmtp

pytestmark = pytest.mark.slow

PROMPT_S = 10.0
ACCOUNT = "tips-co"


@pytest.fixture(scope="module")
def dead_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    base = tmp_path_factory.mktemp("dead-receivers")
    # Touches due now go at once, whatever the hour and weekday the test runs.
    books = always_open_playbooks(base / "playbooks")
    with RefusingSmtp(free_port()) as smtp, running_stack(
        base,
        JOURNEY_PLAYBOOKS_DIR=str(books),
        JOURNEY_SLACK_WEBHOOK_URL=f"http://127.0.0.1:{free_port()}/hook",
        JOURNEY_SMTP_HOST="127.0.0.1",
        JOURNEY_SMTP_PORT=str(smtp.port),
        JOURNEY_SMTP_USER="journey",
        JOURNEY_SMTP_PASSWORD="expired",
        JOURNEY_DELIVERY_ATTEMPTS="2",
    ) as stack:
        # A customer address, so its emails go to the (dead) SMTP server instead of being skipped.
        enroll(stack, ACCOUNT, "commercial", date.today() - timedelta(days=5), "--contact", "champion:Chris:chris@tips.example")
        yield stack


def promptly(stack: Stack, *args: str) -> Any:
    """`journey ARGS --json`, asserting it succeeded within PROMPT_S."""
    started = time.monotonic()
    done = ok(stack.journey(*args, "--json", timeout=PROMPT_S * 3), " ".join(args))
    took = time.monotonic() - started
    assert took < PROMPT_S, f"journey {' '.join(args)} took {took:.1f} s"
    return json.loads(done.stdout)


def test_the_teams_commands_answer_and_report_truly(dead_stack: Stack, poll: Callable[..., Any], tmp_path: Path) -> None:
    status = promptly(dead_stack, "event", ACCOUNT, "kickoff-held")
    assert status["stage"] == "onboarding"
    status = promptly(dead_stack, "health", ACCOUNT, "red", "--reason", "champion left")
    assert status["health"] == "red" and status["remediation"]

    source = Path(dead_stack.env["JOURNEY_PLAYBOOKS_DIR"]) / "digital.toml"
    changed = tmp_path / "digital.toml"
    changed.write_text(source.read_text().replace("count = 8", "count = 12"))
    poll(lambda: _listed(dead_stack))
    applied = promptly(dead_stack, "playbook", "apply", str(changed))
    assert applied["applied"] == [ACCOUNT] and applied["failed"] == []
    [book] = applied["playbooks"]
    assert dead_stack.journey_json("status", ACCOUNT)["playbook_version"] == book["version"]

    ok(dead_stack.journey("usage", "record", ACCOUNT, "--dau", "40", "--mau", "90"), "usage")
    sweep = promptly(dead_stack, "schedule", "trigger", "health")["report"]
    assert (sweep["scored"], sweep["changed"], sweep["failed"]) == (1, 1, 0), sweep
    assert sweep["sent"] + sweep["skipped"] == sweep["changed"]

    def ended() -> list[dict[str, Any]]:
        rows = dead_stack.journey_json("deliveries", "--account", ACCOUNT)
        assert rows and all(r["status"] not in ("pending", "sending", "confirming") for r in rows), rows
        return rows

    rows = poll(ended, timeout=60)
    emails = [r for r in rows if r["channel"] == "email"]
    posts = [r for r in rows if r["channel"] == "slack"]
    assert emails and {(r["status"], r["attempts"]) for r in emails} == {("failed", 1)}
    assert all(LOGIN_REFUSED in r["last_error"] for r in emails)
    assert [(r["touchpoint"], r["status"], r["attempts"]) for r in posts] == [("red-alert", "failed", 2)]
    assert posts[0]["last_error"].startswith("gave up after 2 attempts: ConnectionRefusedError")

    # The journey runs on, in the stage it was in.
    assert promptly(dead_stack, "status", ACCOUNT)["stage"] == "onboarding"
    _listed(dead_stack)


def _listed(stack: Stack) -> None:
    assert [r["account"] for r in stack.journey_json("list", "--model", "digital")] == [ACCOUNT]
