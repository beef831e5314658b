"""Encryption of the SMSC secrets (passwords, API keys) the bot stores, with rotatable keys."""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import os
import secrets
from collections.abc import Sequence
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

log = logging.getLogger(__name__)

KEY_FILE_NAME = "secret.key"

# Prefixed to every plaintext: names the format, and binds the secret to its chat (see encrypt).
_MAGIC = b"smsc-bot/secret/v1"
_SEP = b"\x00"


class SecretError(ValueError):
    """A stored secret cannot be decrypted. The message never contains the secret."""


class SecretBox:
    """Encrypts secrets with Fernet under the first key; decrypts with any key, so keys rotate.

    Rotation: put a new key first (`SECRET_KEY=new,old`), re-encrypt the stored secrets with
    `rotate()`, then drop the old key.
    """

    def __init__(self, keys: Sequence[str | bytes]) -> None:
        """Use `keys` (url-safe base64 Fernet keys); the first one encrypts."""
        if not keys:
            raise ValueError("SecretBox needs at least one key")
        fernets = []
        for number, key in enumerate(keys, start=1):
            try:
                fernets.append(Fernet(key))
            except (ValueError, TypeError):
                # from None: the original error could quote the key.
                raise ValueError(
                    f"encryption key #{number} is not a Fernet key (32 url-safe base64-encoded "
                    "bytes); generate one with: python -c 'from cryptography.fernet import "
                    "Fernet; print(Fernet.generate_key().decode())'"
                ) from None
        self._fernet = MultiFernet(fernets)
        self._first_key = base64.urlsafe_b64decode(keys[0])

    @staticmethod
    def generate_key() -> str:
        """Return a new random Fernet key."""
        return Fernet.generate_key().decode("ascii")

    @classmethod
    def from_settings(cls, secret_key: str | None, data_dir: Path) -> SecretBox:
        """Build from SECRET_KEY (comma-separated keys, newest first) or, when it is unset, from
        `data_dir/secret.key`, generated on first use."""
        if secret_key is not None and secret_key.strip():
            return cls(_split_keys(secret_key))
        path = data_dir / KEY_FILE_NAME
        created = _create_key_file(path)
        keys = _split_keys(path.read_text(encoding="ascii"))
        if not keys:
            raise ValueError(
                f"{path} holds no key; restore it from a backup or set SECRET_KEY "
                "(without the key the stored SMSC credentials cannot be decrypted)"
            )
        if created:
            log.warning(
                "SECRET_KEY is not set, so a new encryption key was generated in %s. Back this "
                "file up, or better put its content into SECRET_KEY: if the key is lost, every "
                "stored SMSC password and API key is lost with it.",
                path,
            )
        else:
            log.warning(
                "SECRET_KEY is not set; using the encryption key in %s. Keep a backup of it, or "
                "put its content into SECRET_KEY: without it the stored SMSC credentials cannot "
                "be decrypted.",
                path,
            )
        mode = path.stat().st_mode & 0o777
        if mode & 0o077:
            log.warning(
                "%s is readable by other users (mode %o); run: chmod 600 %s", path, mode, path
            )
        return cls(keys)

    def derive_key(self, purpose: str) -> bytes:
        """A 32-byte key for ``purpose`` (an HMAC key, say), derived from the encrypting key."""
        # Another key per purpose, so a value keyed with it says nothing about the Fernet key.
        message = b"smsc-bot/derived/" + purpose.encode()
        return hmac.new(self._first_key, message, hashlib.sha256).digest()

    def encrypt(self, secret: str, *, chat_id: int) -> bytes:
        """Encrypt `secret` for `chat_id`; only decrypt() with the same chat id opens it."""
        # Fernet has no associated data, so the chat id travels inside the encrypted payload:
        # a token copied to another chat's row fails to decrypt there.
        payload = _SEP.join((_MAGIC, str(chat_id).encode("ascii"), secret.encode("utf-8")))
        return self._fernet.encrypt(payload)

    def decrypt(self, token: bytes, *, chat_id: int) -> str:
        """Return the secret in `token`; SecretError if no key fits or it is another chat's."""
        try:
            payload = self._fernet.decrypt(token)
        except InvalidToken:
            raise SecretError(
                "no configured key decrypts this secret (was SECRET_KEY or secret.key changed?)"
            ) from None
        parts = payload.split(_SEP, 2)
        if len(parts) != 3 or parts[0] != _MAGIC:
            raise SecretError("the decrypted secret has an unknown format")
        if parts[1] != str(chat_id).encode("ascii"):
            raise SecretError(f"the encrypted secret does not belong to chat {chat_id}")
        try:
            return parts[2].decode("utf-8")
        except UnicodeDecodeError:
            raise SecretError("the decrypted secret is not valid UTF-8") from None

    def rotate(self, token: bytes) -> bytes:
        """Re-encrypt `token` under the first key (its chat binding is kept)."""
        try:
            return self._fernet.rotate(token)
        except InvalidToken:
            raise SecretError("no configured key decrypts this secret") from None


def _split_keys(text: str) -> list[str]:
    return [key.strip() for key in text.split(",") if key.strip()]


def _create_key_file(path: Path) -> bool:
    """Create `path` with a new key, owner-only from the first byte; False if it already exists."""
    if path.exists():
        return False
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    # Written under a temporary name and published with link(), which fails if the name exists:
    # a crash never leaves a half-written key file, and two processes starting at once end up with
    # the same key rather than each overwriting the other's.
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(8)}.tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "wb") as file:
            file.write(Fernet.generate_key() + b"\n")
            file.flush()
            os.fsync(file.fileno())
        try:
            os.link(temporary, path)
        except FileExistsError:
            return False
    finally:
        temporary.unlink(missing_ok=True)
    _fsync_directory(path.parent)
    return True


def _fsync_directory(directory: Path) -> None:
    # Makes the new directory entry itself durable, so the key survives a power cut right after.
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:  # pragma: no cover - platforms without directory file descriptors
        return
    try:
        os.fsync(fd)
    except OSError:  # pragma: no cover - some filesystems refuse fsync on directories
        pass
    finally:
        os.close(fd)
