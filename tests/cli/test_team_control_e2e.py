"""The team in control of every touch, through the real commands, a dev server and a
worker: a held touch is shown, edited, approved (written once, as edited) or skipped
(on the timeline with who and why); a task snoozed and handed to a cover shows in
`tasks --json` and on the timeline."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

import pytest

from tests.cli.conftest import Stack, eventually, running_stack
from tests.helpers.playbooks import always_open_playbooks

pytestmark = pytest.mark.slow

# The last business day: the license key and first tips are due now, whatever today is.
SIGNED = date.today() - timedelta(days=max(0, date.today().weekday() - 4))


@pytest.fixture(scope="module")
def team(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    base = tmp_path_factory.mktemp("team")
    books = always_open_playbooks(base / "playbooks")
    for model in ("digital", "enterprise"):
        path = books / f"{model}.toml"
        path.write_text("review = true\n" + path.read_text())
    with running_stack(base, JOURNEY_PLAYBOOKS_DIR=str(books), JOURNEY_OUTBOX_DIR=str(base / "outbox"),
                       JOURNEY_USER="rita") as stack:
        yield stack


def enroll(stack: Stack, account: str, segment: str, signed: date) -> None:
    done = stack.journey(
        "enroll", "--id", account, "--name", f"{account.title()} Ltd", "--segment", segment, "--tier", "1",
        "--seats", "40", "--arr", "12000", "--signed", signed.isoformat(), "--renewal", f"{date.today().year + 1}-12-01",
        "--ta", "tara", "--ae", "alex", "--contact", f"champion:Chris:chris@{account}.example",
    )
    assert done.returncode == 0, done.stderr


def test_held_touches_wait_for_a_person_and_go_once(team: Stack, tmp_path: Path) -> None:
    enroll(team, "heldco", "commercial", SIGNED)
    enroll(team, "skipco", "commercial", SIGNED)
    key = f"heldco/license-key/{SIGNED.isoformat()}"

    def held() -> list[dict[str, object]]:
        rows = team.journey_json("deliveries", "--status", "held")
        assert {r["account"] for r in rows} == {"heldco", "skipco"}, rows
        return rows

    eventually(held, timeout=60)
    outbox = Path(team.env["JOURNEY_OUTBOX_DIR"])
    assert not list(outbox.glob("heldco.*"))  # nothing written while held
    assert [h["key"] for h in team.journey_json("status", "heldco")["held_deliveries"]][0] == key
    shown = team.journey("deliveries", "show", key)
    assert shown.returncode == 0 and "To: chris@heldco.example" in shown.stdout, shown.stderr

    body = tmp_path / "body.txt"
    body.write_text("Your license key, with our welcome.\n")
    assert team.journey("deliveries", "edit", key, "--subject", "Welcome to Sourcegraph", "--body-file", str(body)).returncode == 0
    approved = team.journey("deliveries", "approve", key)
    assert approved.returncode == 0, approved.stderr
    assert "1 approved by rita" in approved.stdout

    def written() -> Path:
        files = list(outbox.glob("heldco.license-key.*.eml"))
        assert len(files) == 1
        return files[0]

    eml = eventually(written, timeout=60).read_text()
    assert "Subject: Welcome to Sourcegraph" in eml and "with our welcome" in eml
    again = team.journey("deliveries", "approve", key)
    assert again.returncode == 2 and "only a held delivery can be approved" in again.stderr
    assert len(list(outbox.glob("heldco.license-key.*.eml"))) == 1

    skip_key = f"skipco/license-key/{SIGNED.isoformat()}"
    skipped = team.journey("deliveries", "skip", "--account", "skipco", "--reason", "sent by hand already")
    assert skipped.returncode == 0, skipped.stderr
    assert [r["status"] for r in team.journey_json("deliveries", "--account", "skipco")] == ["skipped"]
    assert not list(outbox.glob("skipco.*"))
    reviews = {r["key"]: r["detail"] for r in team.journey_json("timeline", "heldco") + team.journey_json("timeline", "skipco")
               if str(r["key"]).endswith("/reviewed")}
    assert reviews[f"{key}/reviewed"] == {"status": "approved", "by": "rita", "delivery": key}
    assert reviews[f"{skip_key}/reviewed"] == {"status": "skipped", "by": "rita", "delivery": skip_key,
                                                "reason": "sent by hand already"}


def test_snooze_and_cover_show_in_tasks_and_on_the_timeline(team: Stack) -> None:
    enroll(team, "coverco", "strategic", SIGNED)

    def kickoff() -> dict[str, object]:
        rows = [t for t in team.journey_json("tasks", "--account", "coverco") if t["touchpoint"] == "kickoff-call"]
        assert rows
        return rows[0]

    task = eventually(kickoff, timeout=60)
    until = (date.fromisoformat(str(task["due"])) + timedelta(days=7)).isoformat()
    snoozed = team.journey("snooze", "coverco", "kickoff-call", "--until", until, "--reason", "customer on holiday")
    assert snoozed.returncode == 0, snoozed.stderr
    covered = team.journey("tasks", "reassign", "--from", "tara", "--to", "bo", "--account", "coverco")
    assert covered.returncode == 0, covered.stderr
    moved = [t for t in team.journey_json("tasks", "--account", "coverco") if t["touchpoint"] == "kickoff-call"][0]
    assert (moved["due"], moved["owner"]) == (until, "bo")
    rows = [r["detail"] for r in team.journey_json("timeline", "coverco") if r["kind"] == "task"]
    assert {"snoozed", "reassigned"} <= {str(d.get("status")) for d in rows}
