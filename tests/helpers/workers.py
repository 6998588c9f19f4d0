"""`journey worker` processes for end-to-end tests: started with their own log, stopped
with SIGTERM (as an operator drains one) or killed with SIGKILL (as a crash would)."""

from __future__ import annotations

import signal
import subprocess
import time
from pathlib import Path

from journey.temporal.devserver import packaged_binary

READY = "worker polling"


class WorkerProcess:
    def __init__(self, env: dict[str, str], log: Path, *args: str) -> None:
        self.env = env
        self.log = log
        self.args = args
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int:
        assert self.process is not None, "not started"
        return self.process.pid

    def start(self) -> WorkerProcess:
        """Start `journey worker ARGS`; return once it polls."""
        self.launch()
        self.wait_for(READY)
        return self

    def launch(self) -> WorkerProcess:
        """Start `journey worker ARGS` and return at once (`wait_for(READY)` to know it polls)."""
        with self.log.open("wb") as out:
            self.process = subprocess.Popen(
                [packaged_binary("journey"), "worker", *self.args],
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        return self

    def text(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def wait_for(self, line: str, timeout: float = 30) -> None:
        """Until the log holds `line`; fails with the log when the worker exits first."""
        deadline = time.monotonic() + timeout
        while line not in self.text():
            assert self.process is not None and self.process.poll() is None, f"worker exited:\n{self.text()}"
            assert time.monotonic() < deadline, f"no {line!r} within {timeout} s:\n{self.text()}"
            time.sleep(0.1)

    def kill(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait()

    def stop(self, timeout: float = 20) -> int:
        """SIGTERM, as an operator stops a worker; its exit status (killed if it hangs)."""
        if self.process is None:
            return 0
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        return self.process.returncode
