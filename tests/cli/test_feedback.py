"""`journey feedback add|import|list|themes` in process, against JOURNEY_HOME's store.

A file is checked whole: a bad row exits 2 naming its line and field and nothing is
written; importing a file again changes nothing. `themes --json` ranks by accounts, then
by their ARR, on data where ranking by ARR alone would give another order.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import Result

from journey.store import Store
from tests.helpers.portfolio import account


@pytest.fixture
def home_store(journey_home: Path) -> Iterator[Store]:
    """JOURNEY_HOME's store with four accounts of very different ARR."""
    with Store.open(f"sqlite:///{journey_home / 'journey.db'}") as store:
        store.upsert_accounts([
            account("whale", arr=900_000.0),
            account("acme", arr=60_000.0),
            account("globex", arr=30_000.0),
            account("initech", arr=10_000.0),
        ])
        yield store


def write(tmp_path: Path, *lines: str) -> Path:
    path = tmp_path / "feedback.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def as_json(result: Result) -> Any:
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def assert_exit_2(result: Result, *pieces: str) -> None:
    assert result.exit_code == 2, f"exit {result.exit_code}:\n{result.output}"
    for piece in pieces:
        assert piece in result.output, result.output
    assert "Traceback" not in result.output


FILE = (
    "account,date,text,theme,contact",
    'whale,2026-03-01,"Search is slow on the monorepo,\nespecially regex",Search Performance,Wu',
    "whale,2026-03-02,Search times out,search performance,",
    "whale,2026-03-03,Batch changes for search results,search performance,",
    "acme,2026-03-04,We need SAML,SSO,Cleo",
    "globex,2026-03-05,Okta groups,sso,",
    "initech,2026-03-06,SSO for contractors,sso,",
    "acme,2026-03-07,Nice dashboards,,",
)


def test_import_then_themes_rank_by_accounts_then_arr(invoke: Callable[..., Result], home_store: Store, tmp_path: Path) -> None:
    path = write(tmp_path, *FILE)
    imported = as_json(invoke("feedback", "import", str(path), "--json"))
    assert (imported["rows"], imported["inserted"], imported["unchanged"], imported["accounts"]) == (7, 7, 0, 4)
    again = as_json(invoke("feedback", "import", str(path), "--json"))
    assert (again["inserted"], again["updated"], again["unchanged"]) == (0, 0, 7)
    assert len(home_store.feedback_items()) == 7

    themes = as_json(invoke("feedback", "themes", "--json"))
    ranked = [(t["theme"], t["accounts"], t["arr"], t["items"], t["latest"]) for t in themes["themes"]]
    # sso: three accounts, 100k; search performance: one account, 900k (first by ARR alone).
    assert ranked == [
        ("sso", 3, 100_000.0, 3, "2026-03-06"),
        ("search performance", 1, 900_000.0, 3, "2026-03-03"),
    ]
    assert themes["unthemed"] == {"theme": None, "accounts": 1, "arr": 60_000.0, "items": 1, "latest": "2026-03-07",
                                  "account_ids": ["acme"]}
    since = as_json(invoke("feedback", "themes", "--since", "2026-03-05", "--json"))
    assert [(t["theme"], t["accounts"]) for t in since["themes"]] == [("sso", 2)]

    text = invoke("feedback", "themes")
    assert text.exit_code == 0, text.output
    lines = text.output.splitlines()
    assert lines[1].startswith("sso ") and "100,000" in lines[1] and lines[2].startswith("search performance")
    assert "(no theme, not ranked): 1 item(s) from 1 account(s), ARR 60,000" in text.output


def test_list_filters_and_keeps_the_text(invoke: Callable[..., Result], home_store: Store, tmp_path: Path) -> None:
    assert invoke("feedback", "import", str(write(tmp_path, *FILE))).exit_code == 0
    whale = as_json(invoke("feedback", "list", "--account", "whale", "--json"))
    assert [r["date"] for r in whale] == ["2026-03-01", "2026-03-02", "2026-03-03"]
    assert whale[0]["text"] == "Search is slow on the monorepo,\nespecially regex"
    assert (whale[0]["theme"], whale[0]["contact"], whale[0]["account"]) == ("search performance", "Wu", "whale")
    sso = as_json(invoke("feedback", "list", "--theme", "SSO", "--since", "2026-03-05", "--json"))
    assert [r["account"] for r in sso] == ["globex", "initech"]
    table = invoke("feedback", "list", "--account", "whale")
    assert "Search is slow on the monorepo, especially regex" in table.output  # one line in the table
    assert_exit_2(invoke("feedback", "list", "--account", "nobody"), "--account", "nobody")


def test_add_records_once_and_corrects_the_theme(invoke: Callable[..., Result], home_store: Store) -> None:
    added = as_json(invoke("feedback", "add", "acme", "Wants an API for insights", "--theme", "API", "--on", "2026-02-01", "--json"))
    assert (added["inserted"], added["theme"], added["date"]) == (1, "api", "2026-02-01")
    again = invoke("feedback", "add", "acme", "Wants an API for insights", "--on", "2026-02-01", "--theme", "api")
    assert again.exit_code == 0 and "already recorded; nothing changed" in again.output
    fixed = invoke("feedback", "add", "acme", "Wants an API for insights", "--on", "2026-02-01", "--theme", "insights")
    assert "theme and contact updated" in fixed.output
    assert [(f.theme, f.date) for f in home_store.feedback_items()] == [("insights", date(2026, 2, 1))]


@pytest.mark.parametrize(
    ("args", "pieces"),
    [
        (("nobody", "some text"), ("field 'account'", "unknown account 'nobody'")),
        (("acme", "   "), ("field 'text'", "must not be empty")),
        (("acme", "text", "--theme", ""), ("field 'theme'", "must not be empty")),
        (("acme", "text", "--on", (date.today() + timedelta(days=1)).isoformat()), ("field 'on'", "in the future")),
        (("acme", "text", "--contact", "x" * 201), ("field 'contact'",)),
    ],
)
def test_add_refuses_bad_input(invoke: Callable[..., Result], home_store: Store, args: tuple[str, ...], pieces: tuple[str, ...]) -> None:
    assert_exit_2(invoke("feedback", "add", *args), *pieces)
    assert home_store.feedback_items() == []


def test_a_bad_row_stops_the_whole_import(invoke: Callable[..., Result], home_store: Store, tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "account,date,text,theme",
        "acme,2026-03-01,fine,sso",
        "nobody,2026-03-01,who is this,sso",
        "acme,2026-03-02,,sso",
        "globex,2026-13-01,bad date,",
        "acme,2026-03-01,fine,other theme",
    )
    result = invoke("feedback", "import", str(path))
    assert_exit_2(
        result,
        "nothing was written",
        f"{path}:line 3: field 'account': unknown account 'nobody'",
        f"{path}:line 4: field 'text': must not be empty",
        f"{path}:line 5: field 'date'",
        f"{path}:line 6: field 'text': the same feedback of acme on 2026-03-01 as line 2",
    )
    assert home_store.feedback_items() == []
    assert_exit_2(invoke("feedback", "import", str(write(tmp_path, "account,date,text,mood", "acme,2026-03-01,x,sad"))),
                  "line 1: field 'mood': unknown column")
