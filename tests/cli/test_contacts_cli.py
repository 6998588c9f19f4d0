"""`journey contacts` in process, against JOURNEY_HOME's store, with no reachable Temporal.

Bad input (an unknown role or account, an empty name, a file row that does not fit, a
removal that names nobody) exits 2 before anything is sent and leaves the store as it
was; an import whose contacts are already on file sends nothing at all, so it runs here
without a server and changes nothing; `list --json` reads the account map.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from click.testing import Result

from journey.domain.enums import ContactRole
from journey.domain.models import Contact
from journey.store import Store
from journey.store.schema import contacts as contacts_table
from tests.helpers.accounts import make_account

CHAMPION = Contact(name="Chris Champion", email="chris@example.com", role=ContactRole.champion, title="VP Engineering")
ADMIN = Contact(name="Ada Admin", email="ada@example.com", role=ContactRole.admin)


@pytest.fixture
def home_store(journey_home: Path) -> Iterator[Store]:
    """JOURNEY_HOME's store with acme (a champion and an admin) and globex (no contacts)."""
    with Store.open(f"sqlite:///{journey_home / 'journey.db'}") as store:
        store.upsert_accounts([make_account("acme", contacts=[CHAMPION, ADMIN]), make_account("globex", contacts=[])])
        yield store


def contact_rows(store: Store) -> list[tuple[Any, ...]]:
    with store.engine.connect() as conn:
        return [tuple(r) for r in conn.execute(sa.select(contacts_table).order_by(contacts_table.c.id))]


def write(tmp_path: Path, *lines: str) -> Path:
    path = tmp_path / "contacts.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def assert_exit_2(result: Result, *pieces: str) -> None:
    assert result.exit_code == 2, f"exit {result.exit_code}:\n{result.output}"
    for piece in pieces:
        assert piece in result.output, result.output


@pytest.mark.parametrize(
    ("args", "pieces"),
    [
        (["add", "acme", "--name", "Bo", "--role", "boss"], ["--role", "boss"]),
        (["add", "acme", "--name", "", "--role", "admin"], ["contacts add: field 'name'"]),
        (["add", "acme", "--name", "Bo\x1b[2J", "--role", "admin"], ["field 'name'", "control characters"]),
        (["add", "nobody", "--name", "Bo", "--role", "admin"], ["no account 'nobody'"]),
        (["remove", "acme"], ["exactly one of --email and --name"]),
        (["remove", "acme", "--email", "nobody@example.com"], ["no contact with email 'nobody@example.com' on acme"]),
        (["remove", "nobody", "--name", "Chris Champion"], ["no account 'nobody'"]),
        (["list", "nobody"], ["no account 'nobody'"]),
    ],
)
def test_bad_input_exits_2_and_changes_nothing(
    invoke: Callable[..., Result], home_store: Store, args: list[str], pieces: list[str]
) -> None:
    before = contact_rows(home_store)
    assert_exit_2(invoke("contacts", *args), *pieces)
    assert contact_rows(home_store) == before


def test_a_bad_file_names_every_bad_line_and_changes_nothing(
    invoke: Callable[..., Result], home_store: Store, tmp_path: Path
) -> None:
    before = contact_rows(home_store)
    path = write(
        tmp_path,
        "account,name,email,role,title",
        "globex,Gil Good,gil@example.com,champion,CTO",
        "globex,Bob,,boss,",
        "nobody,Nat,nat@example.com,admin,",
        "globex,,x@example.com,admin,",
        "globex,Gil Again,GIL@example.com,admin,",
    )
    result = invoke("contacts", "import", str(path))
    assert_exit_2(
        result,
        "line 3: field 'role'",
        "line 4: field 'account': unknown account 'nobody'",
        "line 5: field 'name'",
        "line 6: field 'email': the same contact as line 2",
        "nothing was written",
    )
    assert "line 2" not in result.output.replace("as line 2", "")
    assert_exit_2(invoke("contacts", "import", str(write(tmp_path, "account,name,role", "globex,Gil,admin"))), "'email'")
    assert contact_rows(home_store) == before


def test_importing_what_is_on_file_changes_nothing_and_sends_nothing(
    invoke: Callable[..., Result], home_store: Store, tmp_path: Path
) -> None:
    before = contact_rows(home_store)
    # Case and an empty title are not changes; Temporal is unreachable, so nothing was sent.
    path = write(
        tmp_path,
        "account,name,email,role,title",
        "acme,Chris Champion,CHRIS@example.com,champion,VP Engineering",
        "acme,ada admin,ada@example.com,admin,",
    )
    for _ in range(2):
        result = invoke("contacts", "import", str(path), "--json")
        assert result.exit_code == 0, result.output
        document = json.loads(result.stdout)
        assert (document["added"], document["changed"], document["accounts"], document["unchanged"]) == (0, 0, [], ["acme"])
    assert contact_rows(home_store) == before
    # A file that would change something needs the journey: unreachable here (exit 1).
    changed = write(tmp_path, "account,name,email,role", "globex,Gil Good,gil@example.com,champion")
    assert invoke("contacts", "import", str(changed)).exit_code == 1
    assert contact_rows(home_store) == before


def test_list_json_is_the_account_map(invoke: Callable[..., Result], home_store: Store) -> None:
    result = invoke("contacts", "list", "acme", "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == [
        {"account": "acme", "name": "Chris Champion", "email": "chris@example.com", "role": "champion", "title": "VP Engineering"},
        {"account": "acme", "name": "Ada Admin", "email": "ada@example.com", "role": "admin", "title": None},
    ]
    assert json.loads(invoke("contacts", "list", "globex", "--json").stdout) == []
    shown = invoke("contacts", "list", "acme").output
    assert "VP Engineering" in shown and "NAME" in shown
