"""Encryption settings on the command line: a bad key exits 2 naming the setting from
every command that reads it, before anything starts or is sent; `journey codec-server`
needs a key and a free port."""

from __future__ import annotations

import base64
import socket
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import Result

from journey.cli.servers import sample_portfolio
from journey.temporal.devserver import free_port, server_command
from tests.cli.test_bad_input import assert_bad_input
from tests.helpers.encryption import TEST_KEY

SHORT_KEY = base64.b64encode(bytes(16)).decode()


def commands(tmp_path: Path) -> dict[str, list[str]]:
    port = str(free_port())
    state = ["--state-dir", str(tmp_path / "temporal"), "--port", port, "--ui-port", str(free_port())]
    return {
        "status": ["status", "acme"],
        "event": ["event", "acme", "kickoff-held"],
        "list": ["list"],
        "enroll": [
            "enroll", "--id", "acme", "--name", "Acme", "--segment", "strategic", "--tier", "1", "--seats", "10",
            "--arr", "1", "--signed", "2026-01-05", "--renewal", "2027-01-05", "--ta", "ana", "--ae", "sam",
        ],
        "worker": ["worker"],
        "server": ["server", *state],
        "up": ["up", *state],
        "codec-server": ["codec-server", "--port", port],
        "simulate": ["simulate", "--accounts", str(sample_portfolio()), "--start", "2026-01-05", "--days", "1"],
    }


COMMANDS = ["status", "event", "list", "enroll", "worker", "server", "up", "codec-server", "simulate"]


@pytest.mark.parametrize("command", COMMANDS)
def test_a_key_of_the_wrong_length_exits_2_naming_the_setting(
    invoke: Callable[..., Result], monkeypatch: pytest.MonkeyPatch, tmp_path: Path, command: str
) -> None:
    monkeypatch.setenv("JOURNEY_ENCRYPTION_KEY", SHORT_KEY)
    output = assert_bad_input(invoke(*commands(tmp_path)[command]), "JOURNEY_ENCRYPTION_KEY: the key is 16 bytes")
    assert "Temporal dev server on" not in output and not (tmp_path / "temporal").exists()


@pytest.mark.parametrize("command", ["status", "worker", "up"])
def test_a_bad_key_file_exits_2_naming_the_setting_and_line(
    invoke: Callable[..., Result], monkeypatch: pytest.MonkeyPatch, tmp_path: Path, command: str
) -> None:
    keys = tmp_path / "keys"
    keys.write_text(f"# keys\n{TEST_KEY}\nnot-a-key!\n")
    monkeypatch.setenv("JOURNEY_ENCRYPTION_KEY_FILE", str(keys))
    assert_bad_input(invoke(*commands(tmp_path)[command]), f"JOURNEY_ENCRYPTION_KEY_FILE: {keys} line 3: not base64")


def test_the_codec_server_needs_a_key(invoke: Callable[..., Result], tmp_path: Path) -> None:
    assert_bad_input(
        invoke("codec-server", "--port", str(free_port())),
        "the codec server needs a key: set JOURNEY_ENCRYPTION_KEY or JOURNEY_ENCRYPTION_KEY_FILE",
    )


def test_the_codec_server_names_a_port_in_use(invoke: Callable[..., Result], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("JOURNEY_ENCRYPTION_KEY", TEST_KEY)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        assert_bad_input(invoke("codec-server", "--port", str(port)), f"--port: cannot listen on 127.0.0.1:{port}")


def test_the_codec_server_refuses_an_origin_that_is_not_one(invoke: Callable[..., Result], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("JOURNEY_ENCRYPTION_KEY", TEST_KEY)
    result = invoke("codec-server", "--cors-origin", "http://127.0.0.1:8233/namespaces")
    assert result.exit_code == 2 and "--cors-origin" in result.output and "is not an origin" in result.output


def test_the_web_ui_decodes_through_the_codec_endpoint_when_given(tmp_path: Path) -> None:
    command = server_command(tmp_path, ui_port=8233, codec_endpoint="http://127.0.0.1:8081")
    assert command[command.index("--ui-codec-endpoint") + 1] == "http://127.0.0.1:8081"
    assert "--ui-codec-endpoint" not in server_command(tmp_path)
    assert "--ui-codec-endpoint" not in server_command(tmp_path, headless=True, codec_endpoint="http://127.0.0.1:8081")
