"""Bad metrics settings stop `journey worker` and `journey up` with status 2 and a message
naming the setting, before the store is opened or a server started: a port that is not a
number or out of range, an address that is not an IP, a port another process holds.
Tracing asked for without its packages, or over another protocol, likewise.

In process, like tests/cli/test_bad_input.py: TEMPORAL_ADDRESS points at a closed port,
so a command that got past its checks would exit 1 ("cannot reach Temporal") instead.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from click.testing import Result

from journey.temporal.devserver import free_port
from tests.cli.test_bad_input import assert_bad_input


@pytest.fixture
def taken_port() -> Iterator[int]:
    """A port something on this machine listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        yield int(sock.getsockname()[1])


@pytest.mark.parametrize("value", ["0", "65536", "nine", "-1"])
@pytest.mark.parametrize("command", ["worker", "up"])
def test_a_bad_metrics_port_option_is_named(
    invoke: Callable[..., Result], nothing_written: Callable[[], None], command: str, value: str
) -> None:
    assert_bad_input(invoke(command, "--metrics-port", value), "--metrics-port")
    nothing_written()


@pytest.mark.parametrize("value", ["0", "65536", "nine", "9464x"])
def test_a_bad_metrics_port_setting_is_named(
    invoke: Callable[..., Result], nothing_written: Callable[[], None], monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    monkeypatch.setenv("JOURNEY_METRICS_PORT", value)
    assert_bad_input(invoke("worker"), "JOURNEY_METRICS_PORT", repr(value))
    nothing_written()


def test_a_bad_metrics_address_is_named(
    invoke: Callable[..., Result], nothing_written: Callable[[], None], monkeypatch: pytest.MonkeyPatch
) -> None:
    port = str(free_port())
    assert_bad_input(invoke("worker", "--metrics-port", port, "--metrics-ip", "metrics.example"), "--metrics-ip")
    monkeypatch.setenv("JOURNEY_METRICS_IP", "999.1.1.1")
    assert_bad_input(invoke("worker", "--metrics-port", port), "JOURNEY_METRICS_IP")
    nothing_written()


@pytest.mark.parametrize("command", ["worker", "up"])
def test_a_metrics_port_in_use_is_named(
    invoke: Callable[..., Result],
    nothing_written: Callable[[], None],
    journey_home: Path,
    taken_port: int,
    monkeypatch: pytest.MonkeyPatch,
    command: str,
) -> None:
    output = assert_bad_input(invoke(command, "--metrics-port", str(taken_port)), "--metrics-port", "in use")
    assert f"127.0.0.1:{taken_port}" in output
    monkeypatch.setenv("JOURNEY_METRICS_PORT", str(taken_port))
    assert_bad_input(invoke(command), "JOURNEY_METRICS_PORT", "in use")
    nothing_written()
    assert not (journey_home / "temporal").exists(), "the dev server was started"


def test_the_option_wins_over_the_setting(invoke: Callable[..., Result], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("JOURNEY_METRICS_PORT", "not-a-port")
    monkeypatch.setenv("JOURNEY_METRICS_IP", "not-an-ip")
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        port = sock.getsockname()[1]
        output = assert_bad_input(invoke("worker", "--metrics-port", str(port), "--metrics-ip", "127.0.0.1"), "--metrics-port")
    assert "JOURNEY_METRICS" not in output


# ----- tracing settings -----

# Run `journey ARGS` in a fresh interpreter with the OpenTelemetry packages hidden (as if
# `journey[otel]` were not installed), and report which OpenTelemetry modules got loaded.
_HIDE_OTEL = """
import importlib.abc, sys
class Hide(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name == "opentelemetry" or name.startswith("opentelemetry."):
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return None
if sys.argv[1] == "hide":
    sys.meta_path.insert(0, Hide())
from click.testing import CliRunner
from cli import main
result = CliRunner().invoke(main, sys.argv[2:], catch_exceptions=False)
loaded = sorted(m for m in sys.modules if m.split(".")[0] == "opentelemetry" or m == "temporalio.contrib.opentelemetry")
print(result.output)
print("EXIT", result.exit_code)
print("LOADED", " ".join(loaded))
"""


def run_journey(journey_home: Path, *args: str, hide: bool = False, **settings: str) -> tuple[int, str, list[str]]:
    env = {**os.environ, **settings}
    done = subprocess.run(
        [sys.executable, "-c", _HIDE_OTEL, "hide" if hide else "show", *args],
        env=env, capture_output=True, text=True, timeout=60, check=False, cwd=Path(__file__).resolve().parents[2],
    )
    assert "EXIT" in done.stdout, done.stderr
    body, _, tail = done.stdout.rpartition("EXIT ")
    code, _, loaded = tail.partition("\nLOADED ")
    return int(code), body, loaded.split()


def test_without_an_endpoint_nothing_of_opentelemetry_is_imported(journey_home: Path) -> None:
    code, output, loaded = run_journey(journey_home, "list")
    assert code == 1 and "cannot reach Temporal" in output  # it did connect: tracing was asked
    assert loaded == []
    # The same command with an endpoint loads them: the check above can fail.
    code, _, loaded = run_journey(journey_home, "list", OTEL_EXPORTER_OTLP_ENDPOINT="http://127.0.0.1:1")
    assert code == 1 and "opentelemetry.sdk.trace" in loaded and "temporalio.contrib.opentelemetry" in loaded


@pytest.mark.parametrize("command", [["list"], ["worker"]])
def test_an_endpoint_without_the_packages_is_a_bad_setting(
    journey_home: Path, nothing_written: Callable[[], None], command: list[str]
) -> None:
    code, output, _ = run_journey(journey_home, *command, hide=True, OTEL_EXPORTER_OTLP_ENDPOINT="http://127.0.0.1:4318")
    assert code == 2, output
    assert "OTEL_EXPORTER_OTLP_ENDPOINT" in output and "pip install 'journey[otel]'" in output
    nothing_written()


def test_tracing_over_grpc_is_refused(journey_home: Path) -> None:
    code, output, _ = run_journey(
        journey_home, "list", OTEL_EXPORTER_OTLP_ENDPOINT="http://127.0.0.1:4317", OTEL_EXPORTER_OTLP_PROTOCOL="grpc"
    )
    assert code == 2 and "OTEL_EXPORTER_OTLP_PROTOCOL" in output and "http/protobuf" in output


@pytest.mark.parametrize("value", ["0", "1001", "many", "-4", "3.5"])
@pytest.mark.parametrize("command", ["worker", "up"])
def test_a_bad_sweep_concurrency_is_named(
    invoke: Callable[..., Result],
    nothing_written: Callable[[], None],
    monkeypatch: pytest.MonkeyPatch,
    command: str,
    value: str,
) -> None:
    monkeypatch.setenv("JOURNEY_SWEEP_CONCURRENCY", value)
    assert_bad_input(invoke(command), "JOURNEY_SWEEP_CONCURRENCY", repr(value))
    nothing_written()
