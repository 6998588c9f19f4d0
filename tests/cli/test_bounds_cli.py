"""Values past the bounds exit 2 wherever they enter on the command line, before anything
is sent or written: the accounts CSV, `journey enroll`, `journey event --data`, the usage
and NPS commands; files that are not UTF-8 likewise. No traceback in any case.

As in test_bad_input.py, Temporal is unreachable here: a value that got past validation
would exit 1 with "cannot reach Temporal", and these tests would fail.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import date
from pathlib import Path

import pytest
from click.testing import Result

from journey.store import Store
from tests.cli.test_bad_input import HEADER, assert_bad_input, enroll_args, good_row, write_csv
from tests.helpers.portfolio import account


def refused(result: Result, *expected: str) -> str:
    output = assert_bad_input(result, *expected)
    assert "Traceback" not in output, output
    return output


# ----- the defects of issue 9, everywhere they can enter -----


@pytest.mark.parametrize(
    ("column", "value", "detail"),
    [
        pytest.param("arr", "inf", "finite", id="arr-inf"),
        pytest.param("arr", "1e999", "finite", id="arr-1e999"),
        pytest.param("arr", "nan", "finite", id="arr-nan"),
        pytest.param("arr", "2e12", "1000000000000", id="arr-past-1e12"),
        pytest.param("seats", "99999999999999999999999", "10000000", id="seats-huge"),
        pytest.param("signed", "0001-01-01", "2000-01-01", id="signed-year-1"),
        pytest.param("renewal", "9999-12-31", "2100-12-31", id="renewal-year-9999"),
        pytest.param("name", "Acme \x1b[2J", "U+001B", id="name-escape"),
        pytest.param("ta", "ana\u202eat", "U+202E", id="ta-bidi-override"),
        pytest.param("name", "n" * 201, "200", id="name-too-long"),
    ],
)
def test_import_refuses_a_value_past_its_bound(
    invoke: Callable[..., Result], nothing_written: Callable[[], None], tmp_path: Path, column: str, value: str, detail: str
) -> None:
    path = write_csv(tmp_path, HEADER, good_row(id="fine"), good_row(**{column: value}))
    output = refused(invoke("import", str(path)), f"line 3: field '{column}'", detail)
    assert "line 2" not in output
    nothing_written()


@pytest.mark.parametrize(
    ("option", "value", "detail"),
    [
        pytest.param("arr", "inf", "finite", id="arr-inf"),
        pytest.param("arr", "1e999", "finite", id="arr-1e999"),
        pytest.param("seats", "99999999999999999999999", "10000000", id="seats-huge"),
        pytest.param("signed", "0001-01-01", "2000-01-01", id="signed-year-1"),
        pytest.param("name", "Acme\x1b]0;owned\x07", "U+001B", id="name-escape"),
        pytest.param("contact", "champion:Chris:chris@example.com\r\nBcc all@example.com", "U+000D", id="email-header-injection"),
    ],
)
def test_enroll_refuses_a_value_past_its_bound(
    invoke: Callable[..., Result], nothing_written: Callable[[], None], option: str, value: str, detail: str
) -> None:
    field = "contacts" if option == "contact" else option
    refused(invoke("enroll", *enroll_args(**{option: value})), f"field '{field}", detail)
    nothing_written()


@pytest.mark.parametrize(
    ("event", "data", "field", "detail"),
    [
        pytest.param("contract-changed", '{"arr": 1e999}', "arr", "finite", id="arr-1e999"),
        pytest.param("contract-changed", '{"arr": Infinity}', "arr", "finite", id="arr-Infinity"),
        pytest.param("contract-changed", '{"arr": NaN}', "arr", "finite", id="arr-NaN"),
        pytest.param("contract-changed", '{"seats": 99999999999999999999999}', "seats", "10000000", id="seats-huge"),
        pytest.param("renewal-closed", '{"outcome": "renewed", "renewal_date": "0001-01-01"}', "renewal_date", "2000-01-01", id="renewal-year-1"),
        pytest.param("production-ready", '{"on": "0001-01-01"}', "on", "2000-01-01", id="on-year-1"),
        pytest.param("offboard", json.dumps({"reason": "r" * 2001}), "reason", "2000", id="reason-too-long"),
        pytest.param("touchpoint-done", json.dumps({"touchpoint": "qbr", "notes": "\u2066x"}), "notes", "U+2066", id="notes-bidi-isolate"),
    ],
)
def test_event_data_past_its_bounds_is_refused(
    invoke: Callable[..., Result], nothing_written: Callable[[], None], event: str, data: str, field: str, detail: str
) -> None:
    refused(invoke("event", "acme", event, "--data", data), f"field '{field}'", detail)
    nothing_written()


def test_event_on_option_before_2000_is_refused(invoke: Callable[..., Result], nothing_written: Callable[[], None]) -> None:
    refused(invoke("event", "acme", "production-ready", "--on", "1999-12-31"), "field 'on'", "2000-01-01")
    nothing_written()


def test_event_data_with_a_number_python_cannot_read(invoke: Callable[..., Result], nothing_written: Callable[[], None]) -> None:
    refused(invoke("event", "acme", "contract-changed", "--data", '{"seats": ' + "9" * 5000 + "}"), "--data", "JSON")
    nothing_written()


def test_notes_keep_their_lines_and_tabs_but_not_escapes(invoke: Callable[..., Result], nothing_written: Callable[[], None]) -> None:
    refused(invoke("done", "acme", "qbr", "--notes", "agenda:\n\tone\x1b[1m"), "field 'notes'", "U+001B at position 13")
    nothing_written()


# ----- measurements: numbers the database cannot hold -----


@pytest.fixture
def home_store(journey_home: Path) -> Iterator[Store]:
    with Store.open(f"sqlite:///{journey_home / 'journey.db'}") as store:
        store.upsert_accounts([account("acme", seats=200)])
        yield store


def test_usage_import_with_a_mau_no_database_holds(invoke: Callable[..., Result], home_store: Store, tmp_path: Path) -> None:
    path = write_csv(tmp_path, "account,date,dau,mau", "acme,2025-06-01,10,20", "acme,2025-06-02,10,99999999999999999999999", name="u.csv")
    output = refused(invoke("usage", "import", str(path)), "u.csv:line 3: field 'mau'", "100000000")
    assert "line 2" not in output
    assert home_store.mau_on("acme", date(2025, 6, 2)) is None


def test_usage_record_with_a_mau_no_database_holds(invoke: Callable[..., Result], home_store: Store) -> None:
    refused(invoke("usage", "record", "acme", "--dau", "1", "--mau", str(2**63)), "field 'mau'", "100000000")


def test_nps_import_with_an_escape_in_the_respondent(invoke: Callable[..., Result], home_store: Store, tmp_path: Path) -> None:
    path = write_csv(tmp_path, "account,date,score,respondent", "acme,2025-06-01,9,\x1b[8mchris", name="n.csv")
    refused(invoke("nps", "import", str(path)), "n.csv:line 2: field 'respondent'", "U+001B")


# ----- files that are not UTF-8 -----


@pytest.mark.parametrize(
    ("encoding", "detail"),
    [
        pytest.param("latin-1", "byte 0xe9 on line 2", id="latin-1"),
        pytest.param("cp1252", "byte 0xe9 on line 2", id="windows-1252"),
        pytest.param("utf-16", "UTF-16", id="utf-16"),
    ],
)
def test_an_accounts_file_that_is_not_utf8(
    invoke: Callable[..., Result], nothing_written: Callable[[], None], tmp_path: Path, encoding: str, detail: str
) -> None:
    path = tmp_path / "accounts-excel.csv"
    path.write_text(HEADER + "\n" + good_row(name="Société Générale") + "\n", encoding=encoding)
    output = refused(invoke("import", str(path)), "accounts-excel.csv", "not UTF-8", detail, "Save it again as UTF-8")
    assert output.count("\n") <= 2, output
    nothing_written()


def test_a_usage_file_that_is_not_utf8(invoke: Callable[..., Result], home_store: Store, tmp_path: Path) -> None:
    path = tmp_path / "u.csv"
    path.write_bytes("account,date,dau,mau\nacme,2025-06-01,1,2\n".encode("utf-16-le"))
    refused(invoke("usage", "import", str(path)), "u.csv", "not UTF-8")


def test_a_file_with_a_nul_byte(invoke: Callable[..., Result], nothing_written: Callable[[], None], tmp_path: Path) -> None:
    path = tmp_path / "accounts.csv"
    path.write_text(HEADER + "\n" + good_row(name="Acme\x00") + "\n", encoding="utf-8")
    refused(invoke("import", str(path)), "accounts.csv", "not UTF-8", "NUL bytes (from line 2)")
    nothing_written()


def test_a_value_past_the_csv_readers_limit(invoke: Callable[..., Result], nothing_written: Callable[[], None], tmp_path: Path) -> None:
    path = write_csv(tmp_path, HEADER, good_row(name="n" * 200_000), good_row(id="other"))
    refused(invoke("import", str(path)), "accounts.csv:line 2", "not readable as CSV", "field larger than field limit")
    nothing_written()
