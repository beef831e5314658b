"""SecretBox: chat-bound encryption, key rotation, and the generated key file."""

from __future__ import annotations

import logging
import os
import stat
from pathlib import Path

import pytest

from bot.crypto import KEY_FILE_NAME, SecretBox, SecretError

SECRET = "Pässwörd-;-secret-7731"


def test_round_trip_for_the_same_chat(box: SecretBox) -> None:
    token = box.encrypt(SECRET, chat_id=-100123)
    assert SECRET.encode() not in token
    assert box.decrypt(token, chat_id=-100123) == SECRET


def test_another_chat_cannot_decrypt(box: SecretBox) -> None:
    token = box.encrypt(SECRET, chat_id=1)
    with pytest.raises(SecretError, match="does not belong") as caught:
        box.decrypt(token, chat_id=2)
    assert SECRET not in str(caught.value)


def test_a_foreign_key_cannot_decrypt(box: SecretBox) -> None:
    token = SecretBox([SecretBox.generate_key()]).encrypt(SECRET, chat_id=1)
    with pytest.raises(SecretError, match="no configured key") as caught:
        box.decrypt(token, chat_id=1)
    assert SECRET not in str(caught.value)
    with pytest.raises(SecretError):
        box.decrypt(b"not a token", chat_id=1)


def test_key_rotation() -> None:
    old, new = SecretBox.generate_key(), SecretBox.generate_key()
    token = SecretBox([old]).encrypt(SECRET, chat_id=5)
    rotating = SecretBox([new, old])
    assert rotating.decrypt(token, chat_id=5) == SECRET  # the old key still decrypts
    rotated = rotating.rotate(token)
    assert SecretBox([new]).decrypt(rotated, chat_id=5) == SECRET
    with pytest.raises(SecretError):
        SecretBox([old]).decrypt(rotated, chat_id=5)
    with pytest.raises(SecretError):  # the chat binding survives rotation
        SecretBox([new]).decrypt(rotated, chat_id=6)
    with pytest.raises(SecretError):
        SecretBox([new]).rotate(SecretBox([SecretBox.generate_key()]).encrypt("x", chat_id=5))


def test_keys_from_settings(tmp_path: Path) -> None:
    old, new = SecretBox.generate_key(), SecretBox.generate_key()
    token = SecretBox([old]).encrypt(SECRET, chat_id=1)
    box = SecretBox.from_settings(f" {new} , {old} ", tmp_path)
    assert box.decrypt(token, chat_id=1) == SECRET
    assert not (tmp_path / KEY_FILE_NAME).exists()


def test_a_bad_key_is_reported_without_quoting_it(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="not a Fernet key") as caught:
        SecretBox.from_settings("hunter2-not-a-key", tmp_path)
    assert "hunter2" not in str(caught.value)
    assert caught.value.__cause__ is None


def test_generated_key_file(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    data_dir = tmp_path / "data"
    previous_umask = os.umask(0)  # even a permissive umask must not make the key readable
    try:
        with caplog.at_level(logging.WARNING, logger="bot.crypto"):
            box = SecretBox.from_settings(None, data_dir)
    finally:
        os.umask(previous_umask)
    key_file = data_dir / KEY_FILE_NAME
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert [p.name for p in data_dir.iterdir()] == [KEY_FILE_NAME]  # no temporary left behind
    assert str(key_file) in caplog.text
    assert "SECRET_KEY" in caplog.text
    assert "back" in caplog.text.lower()
    key = key_file.read_text().strip()
    assert key not in caplog.text

    token = box.encrypt(SECRET, chat_id=9)
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="bot.crypto"):
        again = SecretBox.from_settings("", data_dir)  # blank counts as unset
    assert again.decrypt(token, chat_id=9) == SECRET  # the same key is read back
    assert str(key_file) in caplog.text
    assert key_file.read_text().strip() == key


def test_an_empty_key_file_is_refused(tmp_path: Path) -> None:
    (tmp_path / KEY_FILE_NAME).write_text("\n")
    with pytest.raises(ValueError, match="holds no key"):
        SecretBox.from_settings(None, tmp_path)
