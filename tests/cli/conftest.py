"""Fixtures for the command-line tests.

Bad-input tests run the click group in process with `CliRunner`, with `JOURNEY_HOME` in a
temporary directory and `TEMPORAL_ADDRESS` pointing at a port nobody listens on: if a
command wrongly got past validation it would fail with exit status 1 ("cannot reach
Temporal"), never talk to a real server, and the status-2 assertions would catch it.

The end-to-end tests run a real embedded dev server (journey.temporal.devserver), a `journey worker`
subprocess and `journey` / `temporal` CLI subprocesses, exactly as a user would.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import pytest
from click.testing import CliRunner, Result

from journey.store import Store
from journey.temporal.devserver import free_port, packaged_binary, start_server, stop_server

T = TypeVar("T")

# Port 1 (tcpmux) is never served here: connecting is refused at once.
UNREACHABLE_TEMPORAL = "127.0.0.1:1"

# Settings that would change where the CLI connects or what it writes or sends.
_ISOLATED_PREFIXES = ("JOURNEY_", "TEMPORAL_")


# ----- in-process CLI (no server) -----


@pytest.fixture
def journey_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty JOURNEY_HOME (not created yet) and no reachable Temporal."""
    for name in list(os.environ):
        if name.startswith(_ISOLATED_PREFIXES):
            monkeypatch.delenv(name)
    home = tmp_path / "home"
    monkeypatch.setenv("JOURNEY_HOME", str(home))
    monkeypatch.setenv("TEMPORAL_ADDRESS", UNREACHABLE_TEMPORAL)
    return home


@pytest.fixture
def invoke(journey_home: Path) -> Callable[..., Result]:
    """Run `journey ARGS...` in process; exceptions other than exits propagate."""
    from cli import main

    runner = CliRunner()

    def run(*args: str) -> Result:
        return runner.invoke(main, list(args), catch_exceptions=False)

    return run


@pytest.fixture
def nothing_written(journey_home: Path) -> Callable[[], None]:
    """`nothing_written()` asserts the command left JOURNEY_HOME without any account."""
    return lambda: assert_nothing_written(journey_home)


def assert_nothing_written(home: Path) -> None:
    """No database under JOURNEY_HOME, or one without accounts, tasks or timeline."""
    database = home / "journey.db"
    if not database.exists():
        return
    store = Store.open(f"sqlite:///{database}")
    try:
        assert store.account_ids() == set(), "accounts were written from bad input"
        assert store.tasks(status=None) == [], "tasks were written from bad input"
    finally:
        store.close()


# ----- a real dev server, a worker, and CLI subprocesses -----


def eventually(check: Callable[[], T], *, timeout: float = 10.0, interval: float = 0.3) -> T:
    """Call `check` until it stops raising AssertionError (visibility is eventually consistent)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            return check()
        except AssertionError:
            if time.monotonic() > deadline:
                raise
        time.sleep(interval)


@pytest.fixture(scope="session")
def poll() -> Callable[..., Any]:
    """`poll(check, timeout=10)`: see `eventually`."""
    return eventually


@dataclass
class Stack:
    """A running dev server and worker, and how to run the CLIs against them."""

    address: str
    home: Path
    env: dict[str, str]

    def journey(self, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [packaged_binary("journey"), *args],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )

    def journey_json(self, *args: str) -> Any:
        done = self.journey(*args, "--json")
        assert done.returncode == 0, f"journey {' '.join(args)} --json: {done.returncode}\n{done.stdout}\n{done.stderr}"
        return json.loads(done.stdout)

    def temporal(self, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [packaged_binary("temporal"), *args, "--address", self.address],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )

    def store(self) -> Store:
        return Store.open(f"sqlite:///{self.home / 'journey.db'}")


def _subprocess_env(home: Path, address: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(_ISOLATED_PREFIXES)}
    env.update(JOURNEY_HOME=str(home), TEMPORAL_ADDRESS=address, PYTHONUNBUFFERED="1")
    return env


def _wait_for_line(log: Path, text: str, process: subprocess.Popen[bytes], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while text not in log.read_text(errors="replace"):
        if process.poll() is not None:
            raise RuntimeError(f"worker exited ({process.returncode}):\n{log.read_text(errors='replace')}")
        if time.monotonic() > deadline:
            raise RuntimeError(f"worker not ready within {timeout} s:\n{log.read_text(errors='replace')}")
        time.sleep(0.2)


def _stop_process(process: subprocess.Popen[bytes], timeout: float = 20) -> None:
    if process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """A headless dev server on free ports (state on disk) and one `journey worker`."""
    with running_stack(tmp_path_factory.mktemp("stack")) as running:
        yield running


@contextmanager
def running_stack(base: Path, **settings: str) -> Iterator[Stack]:
    """A dev server and a worker under `base`; `settings` are environment variables for the
    worker and the CLI (e.g. where deliveries go)."""
    home = base / "home"
    home.mkdir()
    port = free_port()
    address = f"127.0.0.1:{port}"
    env = _subprocess_env(home, address) | settings
    server = start_server(base / "temporal", ip="127.0.0.1", port=port, headless=True)
    worker = None
    try:
        log = base / "worker.log"
        with log.open("wb") as out:
            worker = subprocess.Popen(
                [packaged_binary("journey"), "worker"],
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        _wait_for_line(log, "worker polling", worker, timeout=30)
        yield Stack(address=address, home=home, env=env)
    finally:
        if worker is not None:
            _stop_process(worker)
        stop_server(server)
