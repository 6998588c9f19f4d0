"""`journey broadcast`, in process: accounts in the store, messages written as files
(JOURNEY_OUTBOX_DIR), no Temporal."""

from __future__ import annotations

import email
import email.policy
import json
import re
import shutil
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from click.testing import Result

import playbooks
from journey.delivery.files import file_name
from journey.domain.enums import ContactRole
from journey.domain.models import Contact
from journey.store import Store
from journey.store.schema import accounts
from tests.helpers.accounts import make_account

BODY = "Dear {contact.name},\n\nthe incident affecting {account.name} is resolved. Your TA {ta} will follow up.\n"


@pytest.fixture
def outbox_dir(journey_home: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    directory = journey_home.parent / "outbox"
    monkeypatch.setenv("JOURNEY_OUTBOX_DIR", str(directory))
    return directory


@pytest.fixture
def store(journey_home: Path, outbox_dir: Path) -> Iterator[Store]:
    """acme, globex, initech (strategic, TA tara) and a churned hooli; initech has no
    contact with an address."""
    journey_home.mkdir(parents=True)
    with Store.open(f"sqlite:///{journey_home / 'journey.db'}") as opened:
        opened.upsert_accounts([
            make_account("acme"),
            make_account("globex", name="Globex", ta="sam",
                         contacts=[Contact(name="<b>x</b>", email="x@globex.example", role=ContactRole.admin)]),
            make_account("initech", contacts=[Contact(name="Ian", role=ContactRole.champion)]),
            make_account("umbrella", segment="commercial"),
            make_account("hooli"),
        ])
        with opened.transaction() as conn:
            conn.execute(accounts.update().where(accounts.c.id == "hooli").values(stage="churned"))
        yield opened


@pytest.fixture
def body(tmp_path: Path) -> Path:
    path = tmp_path / "body.txt"
    path.write_text(BODY)
    return path


def broadcast(invoke: Callable[..., Result], body: Path, *args: str) -> Result:
    return invoke("broadcast", "--id", "inc-1", "--subject", "Incident at {account.name}", "--body-file", str(body), *args)


def test_twice_queues_and_sends_each_message_once(store: Store, invoke: Callable[..., Result], body: Path, outbox_dir: Path) -> None:
    first = broadcast(invoke, body, "--segment", "strategic", "--urgent", "--json")
    assert first.exit_code == 0, first.output
    report = json.loads(first.output)
    assert (report["queued"], report["already_queued"], report["sent"], report["churned"]) == (2, 0, 2, 1)
    assert report["no_contact"] == ["initech"]
    assert {r["key"] for r in report["recipients"]} == {
        "broadcast:inc-1:acme:chris@example.com", "broadcast:inc-1:globex:x@globex.example"}

    again = broadcast(invoke, body, "--account", "acme", "--account", "globex", "--account", "umbrella", "--urgent")
    assert again.exit_code == 0, again.output
    assert "1 queued, 2 already queued; 1 sent" in again.output

    rows = {row.key: row for row in store.deliveries()}
    assert len(rows) == 3 and {row.status for row in rows.values()} == {"sent"}
    files = sorted(outbox_dir.iterdir())
    assert len(files) == 3
    mail = email.message_from_bytes(
        (outbox_dir / file_name("broadcast:inc-1:acme:chris@example.com", "email")).read_bytes(), policy=email.policy.default)
    assert mail["Subject"] == "Incident at Acme Inc" and mail["To"] == "chris@example.com"
    text = mail.get_content()
    assert "Dear Chris Champion," in text and "affecting Acme Inc" in text and "Your TA tara" in text
    globex = rows["broadcast:inc-1:globex:x@globex.example"]
    assert globex.subject == "Incident at Globex" and "Dear <b>x</b>," in globex.body

    timeline = [e for e in store.timeline("acme") if e.name == "broadcast:inc-1"]
    assert len(timeline) == 1 and timeline[0].kind == "touchpoint"
    assert timeline[0].detail["status"] == "queued" and timeline[0].detail["recipients"] == ["chris@example.com"]
    assert not [e for e in store.timeline("initech") if e.name == "broadcast:inc-1"]


def test_dry_run_writes_nothing(store: Store, invoke: Callable[..., Result], body: Path, outbox_dir: Path) -> None:
    result = broadcast(invoke, body, "--ta", "tara", "--dry-run")
    assert result.exit_code == 0, result.output
    assert "broadcast:inc-1:acme:chris@example.com" in result.output
    assert "Subject: Incident at Acme Inc" in result.output and "Dear Chris Champion," in result.output
    assert "churned" in result.output and "initech" in result.output
    assert store.deliveries() == []
    assert not [e for e in store.timeline("acme") if e.kind == "touchpoint"]
    assert not outbox_dir.exists() or not list(outbox_dir.iterdir())


def test_slack_escapes_names_from_data(store: Store, invoke: Callable[..., Result], body: Path, outbox_dir: Path) -> None:
    result = broadcast(invoke, body, "--account", "globex", "--channel", "slack", "--urgent")
    assert result.exit_code == 0, result.output
    assert "urgent: send windows and caps ignored" in result.output
    key = "broadcast:inc-1:globex:b-x-b"
    document = json.loads((outbox_dir / file_name(key, "slack")).read_text())
    assert document["journey_key"] == key and document["channel"] == "@b-x-b"
    assert "Dear &lt;b&gt;x&lt;/b&gt;," in document["text"] and "<b>" not in document["text"]


def test_role_and_accounts_file(store: Store, invoke: Callable[..., Result], body: Path, tmp_path: Path) -> None:
    listed = tmp_path / "accounts.csv"
    listed.write_text("account,note\nacme,x\nglobex,y\n")
    result = broadcast(invoke, body, "--accounts", str(listed), "--role", "admin", "--dry-run", "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert [r["account"] for r in report["recipients"]] == ["globex"] and report["no_contact"] == ["acme"]


@pytest.mark.parametrize(
    ("args", "body_text", "message"),
    [
        (["--segment", "nonsense"], BODY, "'nonsense' is not one of"),
        (["--ta", "nobody"], BODY, "field 'ta': no account has TA 'nobody'"),
        (["--account", "nope"], BODY, "field 'account': no account 'nope' in the store"),
        (["--segment", "strategic"], "Dear {customer.name}", "body.txt: unknown merge field '{customer.name}'"),
        (["--segment", "strategic"], "  \n", "body.txt: the body is empty"),
        (["--segment", "strategic", "--ta", "tara"], BODY, "exactly one of"),
    ],
)
def test_bad_input_exits_2_and_writes_nothing(
    store: Store, invoke: Callable[..., Result], body: Path, args: list[str], body_text: str, message: str
) -> None:
    body.write_text(body_text)
    result = broadcast(invoke, body, *args)
    assert result.exit_code == 2, result.output
    assert message in result.output
    assert store.deliveries() == []


def test_unknown_line_of_an_accounts_file_and_a_missing_body(
    store: Store, invoke: Callable[..., Result], body: Path, tmp_path: Path
) -> None:
    listed = tmp_path / "ids.txt"
    listed.write_text("acme\n\nnope\n")
    result = broadcast(invoke, body, "--accounts", str(listed))
    assert result.exit_code == 2 and f"{listed}:line 3: field 'account': no account 'nope'" in result.output
    missing = broadcast(invoke, tmp_path / "none.txt", "--segment", "strategic")
    assert missing.exit_code == 2 and "none.txt" in missing.output
    assert store.deliveries() == []


def test_failures_stay_in_the_outbox(
    store: Store, invoke: Callable[..., Result], body: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("JOURNEY_OUTBOX_DIR")
    result = broadcast(invoke, body, "--account", "acme", "--urgent")
    assert result.exit_code == 1
    assert "broadcast:inc-1:acme:chris@example.com: failed: email is not configured" in result.output
    (row,) = store.deliveries()
    assert row.status == "failed"


def test_a_closed_send_window_waits_unless_urgent(
    store: Store, invoke: Callable[..., Result], body: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "playbooks"
    shutil.copytree(Path(playbooks.__file__).parent, folder, ignore=shutil.ignore_patterns("*.py", "__pycache__"))
    # A window of every day that is closed now (it opens two hours from now, UTC).
    hour = (datetime.now(UTC).hour + 2) % 24
    enterprise = folder / "enterprise.toml"
    text = re.sub(r'(?m)^(send_window|send_days) = .*\n', "", enterprise.read_text())
    enterprise.write_text(text.replace(
        'model = "enterprise"\n',
        f'model = "enterprise"\nsend_window = "{hour:02d}:00-{hour:02d}:30"\n'
        'send_days = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]\n', 1))
    monkeypatch.setenv("JOURNEY_PLAYBOOKS_DIR", str(folder))
    result = broadcast(invoke, body, "--account", "acme", "--json")
    assert result.exit_code == 0, result.output
    assert (json.loads(result.output)["waiting"], json.loads(result.output)["sent"]) == (1, 0)
    (row,) = store.deliveries()
    assert row.status == "pending"
    urgent = invoke("broadcast", "--id", "inc-2", "--subject", "Now", "--body-file", str(body), "--account", "acme", "--urgent")
    assert urgent.exit_code == 0, urgent.output
    assert "1 sent" in urgent.output


def test_a_large_broadcast_shows_its_progress_on_stderr(
    store: Store, invoke: Callable[..., Result], body: Path, outbox_dir: Path
) -> None:
    champions = [Contact(name=f"C {n}", email=f"c{n}@example.com", role=ContactRole.champion) for n in range(2)]
    store.upsert_accounts([make_account(f"big-{n}", ta="pat", contacts=champions) for n in range(26)])
    result = invoke("broadcast", "--id", "upd-1", "--subject", "Update", "--body-file", str(body),
                    "--ta", "pat", "--role", "champion", "--urgent", "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["sent"] == 52
    assert "Queuing" in result.stderr and "Sending" in result.stderr
    assert len(list(outbox_dir.iterdir())) == 52
