"""What journey writes is its user's alone: the store, the dev server's state and the
reports are created 0600 in directories 0700, whatever the umask (here the common 022,
which alone would give 0644 and 0755). Directories that already existed keep their mode."""

from __future__ import annotations

import os
import stat
import subprocess
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest

from activities.messages import ReportRequest
from activities.store import StoreActivities
from journey.domain.effects import Effects, TaskOpen
from journey.reports.data import portfolio_report
from journey.reports.render import write_report
from journey.store import Store
from journey.temporal.devserver import free_port, packaged_binary, start_server, stop_server
from tests.cli.conftest import UNREACHABLE_TEMPORAL, _subprocess_env
from tests.helpers.accounts import make_account
from tests.helpers.stores import add_usage


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture(autouse=True)
def umask_022() -> Iterator[None]:
    previous = os.umask(0o022)
    yield
    os.umask(previous)


@pytest.fixture
def shared(tmp_path: Path) -> Path:
    """A directory the user made, readable by all."""
    directory = tmp_path / "shared"
    directory.mkdir()
    directory.chmod(0o755)
    return directory


def test_the_sqlite_store_and_its_directories(shared: Path) -> None:
    database = shared / "home" / "state" / "journey.db"
    with Store.open(f"sqlite:///{database}") as store:
        store.upsert_accounts([make_account("acme")])
        side_files = [p for p in database.parent.iterdir() if p.name != "journey.db"]
        assert side_files, "SQLite keeps -wal and -shm files beside the database while it is open"
        assert {p.name: mode(p) for p in side_files} == {p.name: 0o600 for p in side_files}
    assert mode(database) == 0o600
    assert (mode(database.parent), mode(database.parent.parent)) == (0o700, 0o700)
    assert mode(shared) == 0o755, "a directory that existed kept its mode"


def test_reports_written_by_the_cli_and_by_the_worker(shared: Path, store: Store) -> None:
    store.upsert_accounts([make_account("acme")])
    add_usage(store, [("acme", date(2025, 3, 1), 40, 85)])
    report = portfolio_report(store, date(2025, 6, 30))

    into_existing = write_report(report, shared)
    assert (mode(into_existing), mode(shared)) == (0o600, 0o755)
    into_existing.chmod(0o644)  # as an older version left it
    assert mode(write_report(report, shared)) == 0o600, "a report written again is private again"
    assert [p.name for p in shared.iterdir()] == [into_existing.name], "no temporary file left behind"

    nested = write_report(report, shared / "q2" / "portfolio")
    assert (mode(nested), mode(nested.parent), mode(nested.parent.parent)) == (0o600, 0o700, 0o700)

    task = TaskOpen(
        key="acme/value-review/2025-06-30", account="acme", touchpoint="value-review", title="Value review",
        owner_role="value-engineering", owner="value-engineering", due=date(2025, 6, 30),
    )
    activities = StoreActivities(store, reports_dir=shared / "reports")
    activities.apply_effects(Effects(account="acme", open_tasks=[task]))
    activities.attach_report(ReportRequest(account="acme", task_key=task.key, touchpoint=task.touchpoint, on=task.due))
    [attached] = (shared / "reports" / "acme").iterdir()
    assert (mode(attached), mode(attached.parent), mode(shared / "reports")) == (0o600, 0o700, 0o700)


def test_journey_report_and_its_default_store(tmp_path: Path, shared: Path) -> None:
    home = tmp_path / "home"
    env = _subprocess_env(home, UNREACHABLE_TEMPORAL)
    done = subprocess.run(
        [packaged_binary("journey"), "report", "--portfolio", "--out", str(shared / "out")],
        env=env, capture_output=True, text=True, timeout=120, check=False,
    )
    assert done.returncode == 0, done.stderr
    [written] = (shared / "out").iterdir()
    assert (mode(written), mode(written.parent)) == (0o600, 0o700)
    assert (mode(home), mode(home / "journey.db")) == (0o700, 0o600)


def test_the_dev_servers_state(shared: Path) -> None:
    state = shared / "temporal"
    server = start_server(state, ip="127.0.0.1", port=free_port(), headless=True)
    try:
        files = {p.name: mode(p) for p in state.iterdir()}
    finally:
        stop_server(server)
    assert mode(state) == 0o700
    assert "temporal.db" in files and "server.log" in files
    assert files == {name: 0o600 for name in files}
