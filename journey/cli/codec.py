"""`journey codec-server`: the payload codec over HTTP for the Web UI and the `temporal` CLI."""

from __future__ import annotations

import signal
import threading
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import click

from journey.cli.common import BadInput

if TYPE_CHECKING:
    from journey.config import KeyRing
    from journey.temporal.codec_server import CodecServer

DEFAULT_CODEC_PORT = 8081


def require_keys() -> KeyRing:
    """The keys of the environment; bad input naming the settings when there is none."""
    from journey.config import ENCRYPTION_SETTINGS, encryption_keys

    ring = encryption_keys()
    if not ring.keys:
        raise BadInput(f"the codec server needs a key: set {ENCRYPTION_SETTINGS}")
    return ring


def open_codec_server(ring: KeyRing, ip: str, port: int, origins: Sequence[str], option: str = "--port") -> CodecServer:
    """The codec server listening on ip:port (not serving yet); a port that cannot be had
    is bad input naming `option`."""
    from journey.temporal.codec import EncryptionCodec
    from journey.temporal.codec_server import CodecServer

    try:
        return CodecServer(EncryptionCodec(ring), ip, port, origins)
    except OSError as err:
        raise BadInput(f"{option}: cannot listen on {ip}:{port}: {err.strerror or err}") from None


def describe_keys(ring: KeyRing) -> str:
    others = [key_id for key_id in ring.ids[1:]]
    also = f"; also decrypts key ids {', '.join(others)}" if others else ""
    return f"encrypts with key id {ring.ids[0]}{also}"


def _origin(ctx: click.Context, param: click.Parameter, values: tuple[str, ...]) -> tuple[str, ...]:
    for value in values:
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.netloc or parts.path not in ("", "/") or parts.query:
            raise click.BadParameter(f"{value!r} is not an origin (http[s]://host[:port])")
    return values


@click.command("codec-server")
@click.option("--port", type=click.IntRange(1, 65_535), default=DEFAULT_CODEC_PORT, show_default=True, help="Port to listen on.")
@click.option("--ip", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option(
    "--cors-origin",
    "cors_origins",
    multiple=True,
    metavar="URL",
    callback=_origin,
    help="Origin of a Web UI that may call it from the browser, e.g. http://127.0.0.1:8233 (repeatable).",
)
def codec_server(port: int, ip: str, cors_origins: tuple[str, ...]) -> None:
    """Serve the payload codec (POST /encode, /decode) for the Web UI and `temporal --codec-endpoint`.

    Needs JOURNEY_ENCRYPTION_KEY or JOURNEY_ENCRYPTION_KEY_FILE. Whoever reaches it can read
    every payload: keep it on 127.0.0.1 or behind your own access control.
    """
    ring = require_keys()
    server = open_codec_server(ring, ip, port, cors_origins)
    server.start()
    click.echo(f"codec server on {server.url} ({describe_keys(ring)})")
    click.echo(f"CORS origins: {', '.join(cors_origins) if cors_origins else 'none (the temporal CLI needs none)'}")
    click.echo(f"e.g. temporal workflow show --workflow-id journey-ACCOUNT --codec-endpoint {server.url}")
    click.echo("Press Ctrl-C to stop.")
    _serve_until_signal(server)
    click.echo("codec server stopped")


def _serve_until_signal(server: CodecServer) -> None:
    stop = threading.Event()

    def on_signal(signum: int, frame: Any) -> None:
        stop.set()

    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, on_signal)
    try:
        while not stop.wait(1.0):
            pass
    finally:
        server.shutdown()
        server.server_close()
