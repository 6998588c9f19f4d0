"""Bad input and a down service end in one clear line, never a traceback.

Each case runs the real `journey` console script as a subprocess, as a user would, with
JOURNEY_HOME in a temporary directory and Temporal at a port nobody listens on (unless
the case says otherwise). Bad input exits 2, an unreachable service exits 1; the message
says what to check, and stderr holds no "Traceback".
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from journey.store import Store
from journey.temporal.devserver import free_port, packaged_binary, start_server, stop_server
from tests.cli.conftest import UNREACHABLE_TEMPORAL, _subprocess_env
from tests.helpers.accounts import make_account

HEADER = "id,name,segment,tier,seats,arr,signed,renewal,ta,ae"
ROW = "acme,Acme Société,strategic,1,500,250000,2026-01-05,2027-01-05,ana.ta,sam.ae"

Journey = Callable[..., subprocess.CompletedProcess[str]]


@pytest.fixture
def home(tmp_path: Path) -> Path:
    return tmp_path / "home"


@pytest.fixture
def journey(home: Path) -> Journey:
    """`journey(*args, env={...})`: the console script, with extra environment settings."""

    def run(*args: str, env: dict[str, str] | None = None, timeout: float = 60) -> subprocess.CompletedProcess[str]:
        environment = _subprocess_env(home, UNREACHABLE_TEMPORAL) | (env or {})
        return subprocess.run(
            [packaged_binary("journey"), *args], env=environment, capture_output=True, text=True, timeout=timeout, check=False
        )

    return run


def assert_one_clear_line(done: subprocess.CompletedProcess[str], status: int, *expected: str) -> str:
    """Exit `status`, no traceback, and one error line that names every `expected` piece."""
    output = done.stdout + done.stderr
    assert "Traceback" not in done.stderr, done.stderr
    assert done.returncode == status, f"exit {done.returncode}, expected {status}:\n{output}"
    errors = [line for line in done.stderr.splitlines() if line.startswith("Error: ")]
    assert errors, f"no `Error:` line:\n{output}"
    for piece in expected:
        assert piece in errors[0], f"{piece!r} not in {errors[0]!r}"
    return errors[0]


def with_account(home: Path) -> None:
    """The default SQLite store under `home`, holding the account `acme`."""
    with Store.open(f"sqlite:///{home / 'journey.db'}") as store:
        store.upsert_accounts([make_account("acme")])


@pytest.mark.parametrize(
    ("encoding", "name"),
    [("latin-1", "latin1.csv"), ("utf-16", "utf16.csv")],
)
def test_a_file_that_is_not_utf8(journey: Journey, tmp_path: Path, encoding: str, name: str) -> None:
    path = tmp_path / name
    path.write_bytes(f"{HEADER}\n{ROW}\n".encode(encoding))
    assert_one_clear_line(journey("import", str(path)), 2, name, "UTF-8")


@pytest.mark.parametrize(
    ("url", "status", "expected"),
    [
        pytest.param("not a url", 2, ["JOURNEY_DATABASE_URL", "sqlite:///"], id="unparseable"),
        pytest.param("mysql://u@127.0.0.1/db", 2, ["JOURNEY_DATABASE_URL", "'mysql'"], id="unknown-database"),
        pytest.param("postgresql+nosuchdriver://u@127.0.0.1/db", 2, ["JOURNEY_DATABASE_URL", "nosuchdriver"], id="unknown-driver"),
        pytest.param(
            "postgresql+psycopg2://u:secret@127.0.0.1:1/db", 1, ["127.0.0.1:1", "JOURNEY_DATABASE_URL"], id="unreachable-postgresql"
        ),
        pytest.param("sqlite:////etc/hostname", 2, ["JOURNEY_DATABASE_URL", "not a database"], id="not-a-database-file"),
    ],
)
def test_a_bad_database_url(journey: Journey, url: str, status: int, expected: list[str]) -> None:
    line = assert_one_clear_line(journey("tasks", env={"JOURNEY_DATABASE_URL": url}), status, *expected)
    assert "secret" not in line, "the password was printed"


def test_an_empty_database_url_counts_as_unset(journey: Journey, home: Path) -> None:
    done = journey("tasks", env={"JOURNEY_DATABASE_URL": "", "JOURNEY_HOME": str(home)})
    assert done.returncode == 0, done.stderr
    assert (home / "journey.db").exists()


@pytest.mark.parametrize("out", ["/proc/1", "{tmp}/a-file/reports"], ids=["proc", "under-a-file"])
def test_report_out_that_cannot_be_written(journey: Journey, home: Path, tmp_path: Path, out: str) -> None:
    with_account(home)
    (tmp_path / "a-file").write_text("not a directory")
    out = out.format(tmp=tmp_path)
    assert_one_clear_line(journey("report", "acme", "--out", out), 2, out)


def test_temporal_unreachable(journey: Journey) -> None:
    assert_one_clear_line(journey("list"), 1, UNREACHABLE_TEMPORAL, "TEMPORAL_ADDRESS")


def test_a_usage_number_the_database_cannot_hold(journey: Journey, home: Path) -> None:
    with_account(home)
    done = journey("usage", "record", "acme", "--date", "2026-03-02", "--dau", "1", "--mau", "99999999999999999999999")
    assert_one_clear_line(done, 2, "mau")


def test_bad_data_json(journey: Journey) -> None:
    assert_one_clear_line(journey("event", "acme", "kickoff-held", "--data", "{not json"), 2, "--data")


@pytest.mark.parametrize(
    "command", [["report", "nosuch"], ["usage", "record", "nosuch", "--dau", "1", "--mau", "2"], ["timeline", "nosuch"]]
)
def test_an_unknown_account(journey: Journey, home: Path, command: list[str]) -> None:
    with_account(home)
    assert_one_clear_line(journey(*command), 2, "nosuch")


@pytest.mark.slow
def test_a_journey_nobody_answers_for(journey: Journey, tmp_path: Path) -> None:
    """A server whose journeys get no answer (no worker polls: as when every worker is
    overwhelmed): a query exits 1 once the server gives up, an event's update once its
    wait is over, each saying what to check."""
    port = free_port()
    server = start_server(tmp_path / "temporal", ip="127.0.0.1", port=port, headless=True)
    try:
        address = {"TEMPORAL_ADDRESS": f"127.0.0.1:{port}"}
        enroll = journey(
            "enroll", "--id", "acme", "--name", "Acme", "--segment", "strategic", "--tier", "1", "--seats", "10",
            "--arr", "100", "--signed", "2026-01-05", "--renewal", "2027-01-05", "--ta", "ana", "--ae", "sam", env=address,
        )
        assert enroll.returncode == 0, enroll.stderr
        # Both wait out their limits: side by side, so the test waits once.
        with ThreadPoolExecutor(max_workers=2) as pool:
            status = pool.submit(journey, "status", "acme", env=address, timeout=120)
            event = pool.submit(journey, "event", "acme", "kickoff-held", env=address, timeout=120)
            assert_one_clear_line(status.result(), 1, f"127.0.0.1:{port}", "worker")
            assert_one_clear_line(event.result(), 1, "journey-acme", "worker")
    finally:
        stop_server(server)


def test_every_case_runs_the_installed_console_script() -> None:
    assert Path(packaged_binary("journey")).parent == Path(sys.executable).parent
