"""Encrypted payloads end to end, through real processes: a dev server, a `journey worker`
and the CLIs with a key file. The plain `temporal` CLI sees neither an account's name nor
its contacts; pointed at `journey codec-server` it sees both. A worker or a command with
the wrong key (or none) stops with one line naming the setting and the key id, and the
journey is unharmed; a journey enrolled with a key the workers lack waits, named in
`journey list --stuck`, until they have it. `journey up` with a key runs the codec server
for the Web UI."""

from __future__ import annotations

import json
import signal
import subprocess
import urllib.request
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from temporalio.client import Client

from journey.temporal.codec import key_id_of
from journey.temporal.converter import journey_data_converter
from journey.temporal.devserver import free_port, packaged_binary, start_server, stop_server
from journey.temporal.journeys import enroll_one
from tests.cli.conftest import Stack, _stop_process, _subprocess_env, _wait_for_line, eventually
from tests.helpers.accounts import make_account
from tests.helpers.encryption import OTHER_TEST_KEY, TEST_KEY, json_payloads, key, readable_text, ring

pytestmark = pytest.mark.slow

NAME, EMAIL = "Acme Secret Corp", "chris@customer.example"
KEY_ID = key(TEST_KEY).id


class Worker:
    """One `journey worker` process that a test can restart with other keys."""

    def __init__(self, env: dict[str, str], log: Path) -> None:
        self.env, self.log, self.process = env, log, None

    def start(self) -> None:
        with self.log.open("wb") as out:
            self.process = subprocess.Popen(
                [packaged_binary("journey"), "worker"], env=self.env, stdout=out, stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        _wait_for_line(self.log, "worker polling", self.process, timeout=30)

    def stop(self) -> None:
        if self.process is not None:
            _stop_process(self.process)


@pytest.fixture(scope="module")
def keys(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("keys") / "journey.keys"
    path.write_text(f"# the test key\n{TEST_KEY}\n")
    return path


@pytest.fixture(scope="module")
def worker(tmp_path_factory: pytest.TempPathFactory, keys: Path) -> Iterator[Worker]:
    base = tmp_path_factory.mktemp("encrypted")
    address = f"127.0.0.1:{free_port()}"
    env = _subprocess_env(base / "home", address) | {"JOURNEY_ENCRYPTION_KEY_FILE": str(keys)}
    server = start_server(base / "temporal", ip="127.0.0.1", port=int(address.rsplit(":", 1)[1]), headless=True)
    running = Worker(env, base / "worker.log")
    try:
        running.start()
        yield running
    finally:
        running.stop()
        stop_server(server)


@pytest.fixture(scope="module")
def stack(worker: Worker) -> Stack:
    running = Stack(address=worker.env["TEMPORAL_ADDRESS"], home=Path(worker.env["JOURNEY_HOME"]), env=worker.env)
    enrolled = running.journey(*enroll_args("acme", NAME), "--contact", f"champion:Chris Champion:{EMAIL}")
    assert enrolled.returncode == 0, enrolled.stderr
    running.journey_json("status", "acme")  # the worker has run the journey's first steps
    return running


def enroll_args(account: str, name: str) -> list[str]:
    return [
        "enroll", "--id", account, "--name", name, "--segment", "strategic", "--tier", "1", "--seats", "100",
        "--arr", "120000", "--signed", date.today().isoformat(), "--renewal", f"{date.today().year + 1}-12-01",
        "--ta", "ana", "--ae", "sam",
    ]


def env_with(stack: Stack, **settings: str) -> dict[str, str]:
    """The stack's environment with other key settings in place of its key file."""
    return {k: v for k, v in stack.env.items() if k != "JOURNEY_ENCRYPTION_KEY_FILE"} | settings


def journey(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([packaged_binary("journey"), *args], env=env, capture_output=True, text=True, timeout=60, check=False)


@pytest.fixture(scope="module")
def codec_server(stack: Stack, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    port = free_port()
    log = tmp_path_factory.mktemp("codec") / "codec.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [packaged_binary("journey"), "codec-server", "--port", str(port)],
            env=stack.env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
        )
    try:
        _wait_for_line(log, "codec server on", process, timeout=30)
        yield f"http://127.0.0.1:{port}"
    finally:
        _stop_process(process)


def temporal_json(stack: Stack, *args: str) -> Any:
    done = stack.temporal(*args, "--output", "json")
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_the_temporal_cli_reads_nothing_without_the_codec_and_everything_with_it(stack: Stack, codec_server: str) -> None:
    for command in (("workflow", "show"), ("workflow", "describe")):
        seen = readable_text(temporal_json(stack, *command, "--workflow-id", "journey-acme"))
        assert NAME.encode() not in seen and EMAIL.encode() not in seen, command
    decoded = readable_text(temporal_json(stack, "workflow", "show", "--workflow-id", "journey-acme", "--codec-endpoint", codec_server))
    assert NAME.encode() in decoded and EMAIL.encode() in decoded
    described = stack.temporal("workflow", "describe", "--workflow-id", "journey-acme", "--codec-endpoint", codec_server)
    assert NAME in described.stdout  # the summary the Web UI shows


def test_a_worker_with_the_wrong_key_or_none_stops_naming_the_setting_and_the_key_id(stack: Stack) -> None:
    for settings, says in (
        ({"JOURNEY_ENCRYPTION_KEY": OTHER_TEST_KEY}, f"JOURNEY_ENCRYPTION_KEY: the newest journey, journey-acme, has payloads encrypted with key id {KEY_ID}, which is not among"),
        ({}, f"journey-acme, has payloads encrypted with key id {KEY_ID} and no key is set: set JOURNEY_ENCRYPTION_KEY or JOURNEY_ENCRYPTION_KEY_FILE"),
    ):
        done = journey(env_with(stack, **settings), "worker")
        assert done.returncode == 2 and says in done.stderr, done.stderr
        assert "worker polling" not in done.stdout


def test_a_command_with_the_wrong_key_or_none_exits_2_and_the_journey_is_unharmed(stack: Stack, tmp_path: Path) -> None:
    wrong = journey(env_with(stack, JOURNEY_ENCRYPTION_KEY=OTHER_TEST_KEY), "status", "acme")
    assert wrong.returncode == 2
    assert f"JOURNEY_ENCRYPTION_KEY: the newest journey, journey-acme, has payloads encrypted with key id {KEY_ID}" in wrong.stderr
    none = journey(env_with(stack), "event", "acme", "kickoff-held")
    assert none.returncode == 2 and "no key is set: set JOURNEY_ENCRYPTION_KEY" in none.stderr
    # Reading everything is not enough to write: the worker must read the key it encrypts with.
    ahead = tmp_path / "ahead.keys"
    ahead.write_text(f"{OTHER_TEST_KEY}\n{TEST_KEY}\n")
    early = journey(env_with(stack, JOURNEY_ENCRYPTION_KEY_FILE=str(ahead)), "event", "acme", "kickoff-held")
    assert early.returncode == 2, early.stderr
    assert f"this process encrypts with key id {key(OTHER_TEST_KEY).id}, which the worker(s) polling 'journey' cannot read" in early.stderr
    assert f"keys:{KEY_ID}" in early.stderr
    assert stack.journey_json("list", "--stuck") == []
    assert stack.journey_json("event", "acme", "kickoff-held")["stage"] == "onboarding"


def schedule_key_ids(stack: Stack) -> set[str | None]:
    """The key ids of the health sweep schedule's start payloads, as the server holds them."""
    described = json.loads(stack.temporal("schedule", "describe", "--schedule-id", "journey-health-sweep", "--output", "json").stdout)
    return {key_id_of(payload) for payload in json_payloads(described)} - {None}


@pytest.mark.asyncio(loop_scope="session")
async def test_a_journey_enrolled_with_a_key_the_workers_lack_waits_named_until_they_have_it(
    stack: Stack, worker: Worker, keys: Path
) -> None:
    assert schedule_key_ids(stack) == {KEY_ID}  # the worker created the schedules with its key
    # A process with another key, on a server where no journey could tell it so (the
    # check is skipped here to make one): the workers cannot read what it enrolled.
    client = await Client.connect(stack.address, data_converter=journey_data_converter(ring(OTHER_TEST_KEY)))
    today = date.today()
    account = make_account("stranger", name=NAME, signed=today, renewal=date(today.year + 1, 12, 1))
    assert await enroll_one(client, account, today=today)

    def stuck() -> dict[str, Any]:
        rows = [r for r in stack.journey_json("list", "--stuck") if r["account"] == "stranger"]
        assert len(rows) == 1, rows
        return rows[0]

    row = eventually(stuck, timeout=60)
    assert f"JOURNEY_ENCRYPTION_KEY_FILE: a payload is encrypted with key id {key(OTHER_TEST_KEY).id}" in row["failure"]
    # Everything else goes on: the check passes over a journey no worker could ever step.
    assert stack.journey_json("status", "acme")["account"] == "acme"

    # The workers get the key (a rotation's second step): the journey continues where it
    # was, without a reset.
    keys.write_text(f"{TEST_KEY}\n# the next key\n{OTHER_TEST_KEY}\n")
    worker.stop()
    worker.start()
    assert eventually(lambda: stack.journey_json("status", "stranger"), timeout=60)["stage"] == "kickoff"
    eventually(lambda: _assert_not_stuck(stack), timeout=60)

    # The new key first (the third step): the worker encrypts the schedules anew with it.
    keys.write_text(f"{OTHER_TEST_KEY}\n{TEST_KEY}\n")
    worker.stop()
    worker.start()
    log = worker.log.read_text()
    assert "schedules' payloads re-encrypted with this worker's key: journey-health-sweep, journey-task-reminders" in log
    assert schedule_key_ids(stack) == {key(OTHER_TEST_KEY).id}


def _assert_not_stuck(stack: Stack) -> None:
    assert stack.journey_json("list", "--stuck") == []


def test_up_with_a_key_runs_the_codec_server_for_the_web_ui(tmp_path: Path) -> None:
    port, ui_port, codec_port = free_port(), free_port(), free_port()
    env = _subprocess_env(tmp_path / "home", f"127.0.0.1:{port}") | {"JOURNEY_ENCRYPTION_KEY": TEST_KEY}
    log = tmp_path / "up.log"
    with log.open("wb") as out:
        up = subprocess.Popen(
            [packaged_binary("journey"), "up", "--state-dir", str(tmp_path / "temporal"), "--port", str(port),
             "--ui-port", str(ui_port), "--codec-port", str(codec_port)],
            env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
        )
    try:
        _wait_for_line(log, "Press Ctrl-C", up, timeout=60)
        codec = f"http://127.0.0.1:{codec_port}"
        assert f"codec server on {codec} for the Web UI (encrypts with key id {KEY_ID})" in log.read_text()
        with urllib.request.urlopen(f"http://127.0.0.1:{ui_port}/api/v1/settings", timeout=10) as answer:
            assert json.load(answer)["Codec"]["Endpoint"] == codec
        origin = f"http://localhost:{ui_port}"
        request = urllib.request.Request(
            f"{codec}/decode", data=b'{"payloads": []}', method="POST",
            headers={"Origin": origin, "Content-Type": "application/json", "X-Namespace": "default"},
        )
        with urllib.request.urlopen(request, timeout=10) as answer:
            assert answer.headers["Access-Control-Allow-Origin"] == origin
    finally:
        up.send_signal(signal.SIGINT)
        try:
            up.wait(30)
        except subprocess.TimeoutExpired:
            up.kill()
            up.wait()
