"""The codec server speaks Temporal's remote codec protocol, with CORS for the Web UI."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest
from google.protobuf import json_format
from temporalio.api.common.v1 import Payload, Payloads

from journey.temporal.codec import EncryptionCodec, key_id_of
from journey.temporal.codec_server import CodecServer
from tests.helpers.encryption import OTHER_TEST_KEY, TEST_KEY, key, ring

UI = "http://127.0.0.1:8233"
PLAIN = Payload(metadata={"encoding": b"json/plain"}, data=b'{"name": "Acme Secret Corp"}')


@pytest.fixture(scope="module")
def server() -> Iterator[CodecServer]:
    running = CodecServer(EncryptionCodec(ring(OTHER_TEST_KEY, TEST_KEY)), "127.0.0.1", 0, [UI])
    running.start()
    yield running
    running.shutdown()
    running.server_close()


def call(server: CodecServer, path: str, body: bytes | None, method: str = "POST", **headers: str) -> tuple[int, dict[str, str], bytes]:
    request = urllib.request.Request(server.url + path, data=body, method=method, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=5) as answer:
            return answer.status, dict(answer.headers), answer.read()
    except urllib.error.HTTPError as err:
        return err.code, dict(err.headers), err.read()


def payloads_json(*payloads: Payload) -> bytes:
    return json_format.MessageToJson(Payloads(payloads=payloads)).encode()


def parse(body: bytes) -> list[Payload]:
    return list(json_format.Parse(body, Payloads()).payloads)


def test_encode_then_decode_round_trips_with_the_first_key(server: CodecServer) -> None:
    status, headers, body = call(server, "/encode", payloads_json(PLAIN, PLAIN), **{"Content-Type": "application/json"})
    assert status == 200 and headers["Content-Type"] == "application/json"
    sealed = parse(body)
    assert [key_id_of(p) for p in sealed] == [key(OTHER_TEST_KEY).id] * 2 and b"Acme" not in body
    # Only the last part of the path counts: a proxy may mount the endpoints anywhere.
    status, _, body = call(server, "/codec/default/decode", payloads_json(*sealed), **{"Content-Type": "application/json"})
    assert status == 200 and parse(body) == [PLAIN, PLAIN]


def test_old_keys_of_the_list_decode_and_clear_payloads_pass(server: CodecServer) -> None:
    [old] = [EncryptionCodec(ring(TEST_KEY)).encrypt(PLAIN)]
    status, _, body = call(server, "/decode", payloads_json(old, PLAIN))
    assert status == 200 and parse(body) == [PLAIN, PLAIN]


def test_the_web_ui_origin_gets_cors_and_its_preflight_is_answered(server: CodecServer) -> None:
    status, headers, _ = call(
        server, "/decode", None, method="OPTIONS", Origin=UI,
        **{"Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "content-type,x-namespace,authorization"},
    )
    assert status == 204 and headers["Access-Control-Allow-Origin"] == UI
    allowed = {h.strip().lower() for h in headers["Access-Control-Allow-Headers"].split(",")}
    assert {"content-type", "x-namespace", "authorization"} <= allowed and "POST" in headers["Access-Control-Allow-Methods"]
    status, headers, _ = call(server, "/decode", payloads_json(PLAIN), Origin=UI, **{"X-Namespace": "default"})
    assert status == 200 and headers["Access-Control-Allow-Origin"] == UI


def test_another_origin_gets_no_cors(server: CodecServer) -> None:
    status, headers, _ = call(server, "/decode", None, method="OPTIONS", Origin="http://evil.example")
    assert status == 204 and "Access-Control-Allow-Origin" not in headers
    _, headers, _ = call(server, "/decode", payloads_json(PLAIN), Origin="http://evil.example")
    assert "Access-Control-Allow-Origin" not in headers


@pytest.mark.parametrize(
    ("path", "body", "status", "says"),
    [
        ("/decode", b"{not json", 400, "not Temporal Payloads JSON"),
        ("/decode", json.dumps({"payloads": [{"data": 5}]}).encode(), 400, "not Temporal Payloads JSON"),
        ("/other", b"{}", 404, "encode and .../decode"),
    ],
)
def test_bad_requests_are_refused(server: CodecServer, path: str, body: bytes, status: int, says: str) -> None:
    answer: Any = call(server, path, body)
    assert answer[0] == status and says in answer[2].decode()


def test_a_payload_of_an_unknown_key_is_refused_naming_it(server: CodecServer) -> None:
    stranger = EncryptionCodec(ring("A" * 43 + "=")).encrypt(PLAIN)
    status, _, body = call(server, "/decode", payloads_json(stranger))
    assert status == 400
    assert f"key id {key_id_of(stranger)}, which is not among this process's keys" in body.decode()
