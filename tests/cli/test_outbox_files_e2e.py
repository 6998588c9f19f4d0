"""Where automated touches go, through real processes: `journey up` with no Slack or SMTP
writes them as files under `$JOURNEY_HOME/outbox/` and says so; `journey worker` with no
channel at all warns at start and logs every failed send; a customer email never goes to
a TA (no customer address: `skipped`, and the TA gets a task to add a contact)."""

from __future__ import annotations

import json
import signal
import stat
import subprocess
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest

from journey.temporal.devserver import free_port, packaged_binary
from tests.cli.conftest import _subprocess_env, _wait_for_line, eventually, running_stack
from tests.helpers.playbooks import always_open_playbooks

pytestmark = pytest.mark.slow

CHAMPION = "champion:Chris Champion:chris@customer.example"
# The last business day: a license key due on it goes out now (on a weekend, signed today
# would move it to Monday).
SIGNED = date.today() - timedelta(days=max(0, date.today().weekday() - 4))


def enroll_args(account: str, *contacts: str) -> list[str]:
    return [
        "enroll", "--id", account, "--name", f"{account.title()} Ltd", "--segment", "commercial", "--tier", "3",
        "--seats", "40", "--arr", "12000", "--signed", SIGNED.isoformat(), "--renewal", f"{date.today().year + 1}-12-01",
        "--ta", "tara", "--ae", "alex", *[arg for contact in contacts for arg in ("--contact", contact)],
    ]


def run(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([packaged_binary("journey"), *args], env=env, capture_output=True, text=True, timeout=60, check=False)


def license_key_row(env: dict[str, str], account: str) -> dict[str, Any]:
    done = run(env, "deliveries", "--account", account, "--json")
    assert done.returncode == 0, done.stderr
    rows = [r for r in json.loads(done.stdout) if r["touchpoint"] == "license-key"]
    assert rows, f"no license-key delivery for {account} yet"
    return rows[0]


def test_up_writes_touches_as_files_under_journey_home(tmp_path: Path) -> None:
    home = tmp_path / "home"
    port, ui_port = free_port(), free_port()
    # Touches due now go at once, whatever the hour and weekday the test runs.
    env = _subprocess_env(home, f"127.0.0.1:{port}") | {
        "JOURNEY_PLAYBOOKS_DIR": str(always_open_playbooks(tmp_path / "playbooks"))}
    log = tmp_path / "up.log"
    with log.open("wb") as out:
        up = subprocess.Popen(
            [packaged_binary("journey"), "up", "--state-dir", str(tmp_path / "temporal"), "--port", str(port),
             "--ui-port", str(ui_port), "--sample"],
            env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
        )
    try:
        _wait_for_line(log, "Press Ctrl-C", up, timeout=60)
        outbox = home / "outbox"
        assert f"no Slack or SMTP configured: automated touches are written as files to {outbox}" in log.read_text()
        assert "warning: no delivery channel" not in log.read_text()
        done = run(env, *enroll_args("filed", CHAMPION))
        assert done.returncode == 0, done.stderr

        def written() -> Path:
            files = sorted(outbox.glob("filed.license-key.*.eml"))
            assert len(files) == 1
            return files[0]

        eml = eventually(written, timeout=60)
        assert stat.S_IMODE(eml.stat().st_mode) == 0o600 and stat.S_IMODE(outbox.stat().st_mode) == 0o700
        text = eml.read_text()
        assert "To: chris@customer.example" in text and "tara" not in text
        eventually(lambda: assert_status(env, "filed", "sent"), timeout=30)

        # The sample portfolio's own touches due: its digital account's weekly nurture
        # email, to the champion of its account map.
        def sample_written() -> Path:
            files = sorted(outbox.glob("piedpiper.nurture-email.*.eml"))
            assert files
            return files[-1]

        assert "To: dinesh.chugtai@example.com" in eventually(sample_written, timeout=60).read_text()
    finally:
        up.send_signal(signal.SIGINT)
        try:
            up.wait(30)
        except subprocess.TimeoutExpired:
            up.kill()
            up.wait()


def assert_status(env: dict[str, str], account: str, status: str) -> dict[str, Any]:
    row = license_key_row(env, account)
    assert row["status"] == status, row
    return row


def test_a_worker_with_no_channel_warns_and_logs_each_failed_send(tmp_path: Path) -> None:
    books = always_open_playbooks(tmp_path / "playbooks")
    with running_stack(tmp_path, JOURNEY_PLAYBOOKS_DIR=str(books)) as stack:
        log = tmp_path / "worker.log"
        assert "warning: no delivery channel is configured" in log.read_text()
        assert stack.journey(*enroll_args("nowhere", CHAMPION)).returncode == 0
        assert stack.journey(*enroll_args("nobody")).returncode == 0

        failed = eventually(lambda: assert_status(stack.env, "nowhere", "failed"), timeout=60)
        assert failed["recipient"] == "chris@customer.example"
        line = f"delivery {failed['key']} failed: email is not configured (set JOURNEY_SMTP_HOST)"
        eventually(lambda: _assert_in(line, log), timeout=10)

        skipped = eventually(lambda: assert_status(stack.env, "nobody", "skipped"), timeout=60)
        assert skipped["recipient"] == "" and "no customer contact with an email address" in skipped["last_error"]
        tasks = stack.journey_json("tasks", "--account", "nobody")
        assert [(t["touchpoint"], t["owner"]) for t in tasks if t["touchpoint"] == "add-contact"] == [("add-contact", "tara")]


def _assert_in(text: str, log: Path) -> None:
    assert text in log.read_text(), log.read_text()[-2000:]
