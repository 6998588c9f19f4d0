"""A headless Temporal dev server for a test module, on a free port of 127.0.0.1."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from journey.temporal.devserver import free_port, start_server, stop_server


@contextmanager
def dev_server(state_dir: Path) -> Iterator[str]:
    """Run the dev server with its state in `state_dir`; yields its address, `ip:port`."""
    port = free_port()
    server = start_server(state_dir, ip="127.0.0.1", port=port, headless=True)
    try:
        yield f"127.0.0.1:{port}"
    finally:
        stop_server(server)
