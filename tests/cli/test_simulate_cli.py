"""`journey simulate`: the contract document, determinism, tables, bad input, any start date.

The runs that simulate are real `journey` subprocesses (each starts its own time-skipping
server, ~3 s); they are started together once per module. Bad input is checked in
process: it must exit 2 before any server is started.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import Result

from journey.files import read_accounts
from journey.temporal.devserver import packaged_binary

# Real dev servers, workers and CLI processes: minutes, not seconds.
pytestmark = pytest.mark.slow

SAMPLE = Path(__file__).resolve().parents[2] / "journey" / "data" / "sample_accounts.csv"
START, DAYS = "2027-01-04", 120
PAST, FUTURE = "2020-01-06", "2031-03-03"

CONTRACT_FIELDS = {
    "touchpoints": {"account", "touchpoint", "due", "stage"},
    "stages": {"account", "stage", "at"},
    "health": {"account", "color", "at", "reason"},
}

# An account signed on the past start date, beside the sample (all signed years later).
PAST_ROW = "oldco,Old Co,strategic,1,400,200000,2020-01-06,2021-01-06,ana.ta,sam.ae,,cloud,,"


@dataclass
class Run:
    args: list[str]
    returncode: int
    stdout: str
    stderr: str

    def ok(self) -> Run:
        assert self.returncode == 0, f"journey {' '.join(self.args)}: exit {self.returncode}\n{self.stdout}\n{self.stderr}"
        return self

    def json(self) -> dict[str, Any]:
        return json.loads(self.ok().stdout)


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Run]]:
    """Every simulating run of this module, started at once and collected."""
    base = tmp_path_factory.mktemp("simulate")
    past_accounts = base / "past_accounts.csv"
    past_accounts.write_text(SAMPLE.read_text(encoding="utf-8").rstrip("\n") + "\n" + PAST_ROW + "\n", encoding="utf-8")
    sample = ["--accounts", str(SAMPLE)]
    commands = {
        "json": [*sample, "--start", START, "--days", str(DAYS), "--json"],
        "json-again": [*sample, "--start", START, "--days", str(DAYS), "--json"],
        "table": [*sample, "--start", START, "--days", str(DAYS)],
        "past": ["--accounts", str(past_accounts), "--start", PAST, "--days", str(DAYS), "--json"],
        "future": [*sample, "--start", FUTURE, "--days", str(DAYS), "--json"],
    }
    started = {
        name: subprocess.Popen(
            [packaged_binary("journey"), "simulate", *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for name, args in commands.items()
    }
    done: dict[str, Run] = {}
    try:
        for name, process in started.items():
            out, err = process.communicate(timeout=180)
            done[name] = Run(commands[name], process.returncode, out, err)
    finally:
        for process in started.values():
            if process.poll() is None:
                process.kill()
                process.wait()
    yield done


def assert_contract_shape(document: dict[str, Any]) -> None:
    assert set(document) == set(CONTRACT_FIELDS)
    for section, fields in CONTRACT_FIELDS.items():
        assert isinstance(document[section], list)
        for item in document[section]:
            assert set(item) == fields, f"{section}: {item}"
    for item in document["touchpoints"]:
        date.fromisoformat(item["due"])
    for item in document["stages"] + document["health"]:
        date.fromisoformat(item["at"])


def test_json_document_follows_the_contract(runs: dict[str, Run]) -> None:
    document = runs["json"].json()
    assert_contract_shape(document)
    start = date.fromisoformat(START)
    end = start + timedelta(days=DAYS)
    assert document["touchpoints"], "120 days of the sample portfolio schedule touchpoints"
    assert all(start <= date.fromisoformat(t["due"]) <= end for t in document["touchpoints"])
    assert all(date.fromisoformat(s["at"]) <= end for s in document["stages"])
    # Sorted by date, as the contract's calendar reads.
    dues = [t["due"] for t in document["touchpoints"]]
    assert dues == sorted(dues)


def test_json_covers_every_segment_and_account(runs: dict[str, Run]) -> None:
    document = runs["json"].json()
    accounts = read_accounts(SAMPLE)
    segment_of = {a.id: a.segment.value for a in accounts}
    assert {s["account"] for s in document["stages"]} == set(segment_of)
    with_touchpoints = {t["account"] for t in document["touchpoints"]}
    assert {segment_of[a] for a in with_touchpoints} == {"strategic", "large-enterprise", "small-enterprise", "commercial"}
    models = {a.engagement_model.value for a in accounts if a.id in with_touchpoints}
    assert models == {"enterprise", "scaled", "pooled", "digital"}
    # Every account's stage history ends in an active stage on the last day.
    last = {s["account"]: s["stage"] for s in document["stages"]}
    assert set(last.values()) <= {"kickoff", "onboarding", "adoption", "steady", "renewal"}


def test_the_same_run_twice_prints_the_same_output(runs: dict[str, Run]) -> None:
    assert runs["json"].ok().stdout == runs["json-again"].ok().stdout


def test_table_prints_the_three_sections(runs: dict[str, Run]) -> None:
    table = runs["table"].ok()
    document = runs["json"].json()
    lines = table.stdout.splitlines()
    assert f"Touchpoints ({len(document['touchpoints'])})" in lines
    assert f"Stage changes ({len(document['stages'])})" in lines
    assert f"Health changes ({len(document['health'])})" in lines
    headers = {line.split()[0]: line.split() for line in lines if line.startswith(("DUE", "AT"))}
    assert headers["DUE"] == ["DUE", "ACCOUNT", "TOUCHPOINT", "STAGE"]
    first = document["touchpoints"][0]
    assert any(line.split()[:3] == [first["due"], first["account"], first["touchpoint"]] for line in lines)
    assert not table.stdout.lstrip().startswith("{")


def test_a_start_in_the_past_works(runs: dict[str, Run]) -> None:
    document = runs["past"].json()
    assert_contract_shape(document)
    start = date.fromisoformat(PAST)
    # Only the account signed in the window appears; the sample's are signed years later.
    assert {t["account"] for t in document["touchpoints"]} == {"oldco"}
    assert {s["account"] for s in document["stages"]} == {"oldco"}
    dues = {(t["touchpoint"], t["due"]) for t in document["touchpoints"]}
    assert ("license-key", PAST) in dues
    assert ("kickoff-call", "2020-01-13") in dues  # signed + 5 is a Saturday: the Monday after
    assert all(start <= date.fromisoformat(t["due"]) <= start + timedelta(days=DAYS) for t in document["touchpoints"])


def test_a_start_in_the_future_works(runs: dict[str, Run]) -> None:
    document = runs["future"].json()
    assert_contract_shape(document)
    start = date.fromisoformat(FUTURE)
    assert document["touchpoints"]
    assert all(start <= date.fromisoformat(t["due"]) <= start + timedelta(days=DAYS) for t in document["touchpoints"])
    # Every sample account's renewal (2027) has passed without a renewal_closed: each sits
    # in the renewal stage, placed there when enrolled.
    last = {s["account"]: s["stage"] for s in document["stages"]}
    assert set(last) == {a.id for a in read_accounts(SAMPLE)}
    assert set(last.values()) == {"renewal"}
    assert {t["stage"] for t in document["touchpoints"]} == {"renewal"}


# ----- bad input: exit 2, naming line and field; nothing simulated -----


def write(tmp_path: Path, name: str, *lines: str) -> Path:
    path = tmp_path / name
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def assert_bad(result: Result, *pieces: str) -> None:
    assert result.exit_code == 2, f"exit {result.exit_code}:\n{result.output}"
    for piece in pieces:
        assert piece in result.output, f"{piece!r} not in:\n{result.output}"
    assert "Touchpoints" not in result.output and '"touchpoints"' not in result.output


ACCOUNTS_HEADER = "id,name,segment,tier,seats,arr,signed,renewal,ta,ae"
GOOD_ACCOUNT = "acme,Acme Corp,strategic,1,500,250000,2026-01-05,2027-01-05,ana.ta,sam.ae"


def test_bad_accounts_row_exits_2(invoke: Callable[..., Result], tmp_path: Path) -> None:
    accounts = write(
        tmp_path, "accounts.csv", ACCOUNTS_HEADER, GOOD_ACCOUNT,
        "beta,Beta Inc,strategic,7,500,250000,2026-01-05,2027-01-05,ana.ta,sam.ae",
    )
    result = invoke("simulate", "--accounts", str(accounts), "--start", START, "--days", "30", "--json")
    assert_bad(result, "line 3", "field 'tier'")


def test_bad_events_data_json_exits_2(invoke: Callable[..., Result], tmp_path: Path) -> None:
    accounts = write(tmp_path, "accounts.csv", ACCOUNTS_HEADER, GOOD_ACCOUNT)
    events = write(
        tmp_path, "events.csv", "account,date,event,data",
        'acme,2026-01-12,kickoff-held,"{""check_in_cadence_days"": 7}"',
        'acme,2026-01-26,production-ready,"{not json"',
    )
    result = invoke(
        "simulate", "--accounts", str(accounts), "--events", str(events), "--start", START, "--days", "30", "--json"
    )
    assert_bad(result, "line 3", "field 'data'", "not valid JSON")
    assert "line 2" not in result.output


def test_unknown_account_in_usage_exits_2(invoke: Callable[..., Result], tmp_path: Path) -> None:
    accounts = write(tmp_path, "accounts.csv", ACCOUNTS_HEADER, GOOD_ACCOUNT)
    usage = write(tmp_path, "usage.csv", "account,date,dau,mau", "acme,2026-02-01,10,40", "nobody,2026-02-01,10,40")
    result = invoke(
        "simulate", "--accounts", str(accounts), "--usage", str(usage), "--start", START, "--days", "30", "--json"
    )
    assert_bad(result, "line 3", "field 'account'", "nobody")
