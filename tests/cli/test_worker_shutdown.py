"""`journey worker` stops within 10 seconds of SIGTERM: at once when idle, and with a
delivery waiting on a receiver that never answers (running activities get a short grace,
then the worker leaves: the row is left for the outbox's rules to settle)."""

from __future__ import annotations

import signal
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from journey.temporal.devserver import packaged_binary
from tests.cli.conftest import _subprocess_env, _wait_for_line
from tests.helpers.devserver import dev_server

pytestmark = pytest.mark.slow

STOP_WITHIN_S = 10


@pytest.fixture(scope="module")
def address(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with dev_server(tmp_path_factory.mktemp("temporal")) as running:
        yield running


@pytest.fixture
def silent_webhook() -> Iterator[tuple[str, list[socket.socket]]]:
    """A Slack webhook that agrees to take the message (`100 Continue`) and then never
    answers: the sender waits the longest a send can wait."""
    listener = socket.create_server(("127.0.0.1", 0))
    held: list[socket.socket] = []

    def take(connection: socket.socket) -> None:
        received = b""
        while b"\r\n\r\n" not in received:
            chunk = connection.recv(4096)
            if not chunk:
                return
            received += chunk
        connection.sendall(b"HTTP/1.1 100 Continue\r\n\r\n")
        held.append(connection)

    def accept() -> None:
        while True:
            try:
                connection = listener.accept()[0]
            except OSError:
                return
            threading.Thread(target=take, args=(connection,), daemon=True).start()

    threading.Thread(target=accept, daemon=True).start()
    yield f"http://127.0.0.1:{listener.getsockname()[1]}/hook", held
    listener.close()
    for connection in held:
        connection.close()


def start_worker(home: Path, address: str, log: Path, **settings: str) -> subprocess.Popen[bytes]:
    env = _subprocess_env(home, address) | settings
    with log.open("wb") as out:
        worker = subprocess.Popen([packaged_binary("journey"), "worker"], env=env, stdout=out, stderr=subprocess.STDOUT)
    _wait_for_line(log, "worker polling", worker, timeout=30)
    return worker


def stop_and_time(worker: subprocess.Popen[bytes]) -> float:
    started = time.monotonic()
    worker.send_signal(signal.SIGTERM)
    try:
        worker.wait(STOP_WITHIN_S + 20)
    except subprocess.TimeoutExpired:
        worker.kill()
        worker.wait()
    return time.monotonic() - started


def journey(home: Path, address: str, *args: str) -> None:
    done = subprocess.run(
        [packaged_binary("journey"), *args], env=_subprocess_env(home, address), capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr


def test_an_idle_worker_stops_at_once(address: str, tmp_path: Path) -> None:
    log = tmp_path / "worker.log"
    worker = start_worker(tmp_path / "home", address, log)
    took = stop_and_time(worker)
    assert worker.returncode == 0 and took < STOP_WITHIN_S, (took, log.read_text())
    assert "worker stopped" in log.read_text()


def test_a_worker_stuck_on_a_receiver_stops_within_the_bound(
    address: str, tmp_path: Path, silent_webhook: tuple[str, list[socket.socket]]
) -> None:
    url, held = silent_webhook
    home, log = tmp_path / "home", tmp_path / "worker.log"
    worker = start_worker(home, address, log, JOURNEY_SLACK_WEBHOOK_URL=url)
    try:
        journey(
            home, address, "enroll", "--id", "acme", "--name", "Acme", "--segment", "strategic", "--tier", "1",
            "--seats", "10", "--arr", "100", "--signed", "2026-01-05", "--renewal", "2027-01-05", "--ta", "ana", "--ae", "sam",
        )
        # Red opens a remediation, whose first touch is a post to the red-accounts channel.
        journey(home, address, "health", "acme", "red", "--reason", "champion left")
        deadline = time.monotonic() + 30
        while not held and time.monotonic() < deadline:
            time.sleep(0.2)
        assert held, f"the worker never tried the webhook:\n{log.read_text()}"
    finally:
        took = stop_and_time(worker)
    assert worker.returncode == 0 and took < STOP_WITHIN_S, (took, log.read_text())
