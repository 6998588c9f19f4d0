"""JOURNEY_ENCRYPTION_KEY and JOURNEY_ENCRYPTION_KEY_FILE: parsed, validated, and named in
every complaint (with the line, for the file), never showing a key."""

from __future__ import annotations

import base64
import os
from pathlib import Path

import pytest

from journey.config import KEY_ID_CHARS, EncryptionKey, encryption_keys
from journey.domain.errors import InputError
from tests.helpers.encryption import OTHER_TEST_KEY, TEST_KEY

KEY = "JOURNEY_ENCRYPTION_KEY"
KEY_FILE = "JOURNEY_ENCRYPTION_KEY_FILE"


@pytest.fixture(autouse=True)
def no_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(KEY, raising=False)
    monkeypatch.delenv(KEY_FILE, raising=False)


def test_no_key_means_no_encryption(monkeypatch: pytest.MonkeyPatch) -> None:
    assert encryption_keys().keys == ()
    monkeypatch.setenv(KEY, "  ")  # empty counts as unset
    assert encryption_keys().encrypting is None


def test_one_key_and_its_id(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(KEY, f" {TEST_KEY}\n")
    ring = encryption_keys()
    assert ring.source == KEY
    assert ring.encrypting == EncryptionKey(base64.b64decode(TEST_KEY))
    # The id is derived from the key alone: every process that has the key agrees on it,
    # and two keys never share it.
    assert len(ring.ids[0]) == KEY_ID_CHARS and ring.ids == encryption_keys().ids
    assert ring.ids[0] != EncryptionKey(base64.b64decode(OTHER_TEST_KEY)).id
    assert TEST_KEY not in repr(ring) and repr(ring.encrypting) == "EncryptionKey()"


def test_the_url_safe_alphabet_is_accepted(monkeypatch: pytest.MonkeyPatch) -> None:
    secret = bytes(range(250, 256)) + bytes(26)  # encodes with '+' and '/' in the standard alphabet
    monkeypatch.setenv(KEY, base64.urlsafe_b64encode(secret).decode())
    assert encryption_keys().encrypting == EncryptionKey(secret)


def test_a_key_file_lists_keys_the_first_encrypting(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    path = tmp_path / "keys"
    path.write_text(f"# 2027 rotation: new key first\n\n  {OTHER_TEST_KEY}  \n# the old key, for old histories\n{TEST_KEY}\n")
    monkeypatch.setenv(KEY_FILE, str(path))
    ring = encryption_keys()
    assert ring.source == KEY_FILE
    assert [k.secret for k in ring.keys] == [base64.b64decode(OTHER_TEST_KEY), base64.b64decode(TEST_KEY)]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("not base64!", "JOURNEY_ENCRYPTION_KEY: not base64"),
        (base64.b64encode(os.urandom(16)).decode(), "JOURNEY_ENCRYPTION_KEY: the key is 16 bytes; AES-256 needs exactly 32"),
        (base64.b64encode(os.urandom(33)).decode(), "JOURNEY_ENCRYPTION_KEY: the key is 33 bytes"),
        (TEST_KEY.rstrip("="), "JOURNEY_ENCRYPTION_KEY: not base64"),
        ("ключ", "JOURNEY_ENCRYPTION_KEY: not base64"),
    ],
    ids=["not-base64", "16-bytes", "33-bytes", "unpadded", "not-ascii"],
)
def test_a_bad_key_is_named_and_not_shown(monkeypatch: pytest.MonkeyPatch, value: str, expected: str) -> None:
    monkeypatch.setenv(KEY, value)
    with pytest.raises(InputError) as caught:
        encryption_keys()
    assert str(caught.value).startswith(expected) and value not in str(caught.value)


def test_both_settings_at_once_are_refused(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    (tmp_path / "keys").write_text(TEST_KEY)
    monkeypatch.setenv(KEY, TEST_KEY)
    monkeypatch.setenv(KEY_FILE, str(tmp_path / "keys"))
    with pytest.raises(InputError, match="JOURNEY_ENCRYPTION_KEY and JOURNEY_ENCRYPTION_KEY_FILE are both set"):
        encryption_keys()


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("", "holds no key"),
        ("# only a comment\n\n", "holds no key"),
        (f"{TEST_KEY}\n\n{base64.b64encode(bytes(31)).decode()}\n", "line 3: the key is 31 bytes"),
        (f"# header\n{TEST_KEY} # old\n", "line 2: not base64"),
        (f"{TEST_KEY}\n{OTHER_TEST_KEY}\n{TEST_KEY}\n", "line 3: the same key as line 1"),
        (b"\xff\xfe\x00", "not a text file"),
    ],
    ids=["empty", "comments-only", "short-key", "trailing-comment", "duplicate", "binary"],
)
def test_a_bad_key_file_is_named_with_its_line(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, content: str | bytes, expected: str
) -> None:
    path = tmp_path / "keys"
    path.write_bytes(content if isinstance(content, bytes) else content.encode())
    monkeypatch.setenv(KEY_FILE, str(path))
    with pytest.raises(InputError, match=f"^JOURNEY_ENCRYPTION_KEY_FILE: {path}.*{expected}") as caught:
        encryption_keys()
    assert TEST_KEY not in str(caught.value)


def test_an_unreadable_key_file_is_named(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv(KEY_FILE, str(tmp_path / "missing"))
    with pytest.raises(InputError, match="JOURNEY_ENCRYPTION_KEY_FILE: .*missing: cannot read it: No such file"):
        encryption_keys()
    monkeypatch.setenv(KEY_FILE, str(tmp_path))
    with pytest.raises(InputError, match="JOURNEY_ENCRYPTION_KEY_FILE: .*: cannot read it: Is a directory"):
        encryption_keys()
