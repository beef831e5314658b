"""Logging set-up with a last line of defence: known secrets are masked in every record."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from urllib.parse import unquote, urlsplit

# Form fields that carry SMSC secrets, should any library ever log a request body.
_FIELDS = re.compile(r"(?i)\b(psw|password|apikey|token)=([^&\s]+)")


class RedactingFilter(logging.Filter):
    """Replaces the given secrets, and any ``psw=``/``apikey=`` value, with ``***``."""

    def __init__(self, secrets: Iterable[str]) -> None:
        super().__init__()
        self._secrets = sorted({s for s in secrets if s}, key=len, reverse=True)

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        masked = self._mask(message)
        if masked != message:
            record.msg, record.args = masked, None
        if record.exc_info and not record.exc_text:
            # The formatter reuses exc_text when set: the traceback is masked once, here.
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self._mask(record.exc_text)
        if record.stack_info:
            record.stack_info = self._mask(record.stack_info)
        return True

    def _mask(self, text: str) -> str:
        masked = _FIELDS.sub(r"\1=***", text)
        for secret in self._secrets:
            masked = masked.replace(secret, "***")
        return masked


def setup_logging(level: str, secrets: Iterable[str]) -> None:
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(RedactingFilter(secrets))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # httpx logs every request line at INFO; our client logs what matters itself.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    # aiosqlite logs every call with its SQL parameters, and its results, at DEBUG: encrypted
    # secrets, logins, audit entries. Those never belong in a log, whatever LOG_LEVEL says.
    logging.getLogger("aiosqlite").setLevel(logging.INFO)


def url_passwords(url: str) -> list[str]:
    """The password in a ``scheme://user:password@host`` URL, to be masked wherever it shows."""
    password = urlsplit(url).password
    return [password, unquote(password)] if password else []
