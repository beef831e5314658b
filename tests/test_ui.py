"""Shared UI helpers: splitting long answers, escaping, log redaction, settings errors."""

from __future__ import annotations

import logging

import pytest

from bot.config import Settings, load_settings
from bot.logs import RedactingFilter
from bot.ui import esc, split_text


def test_split_text_breaks_at_lines_under_the_limit() -> None:
    lines = [f"line {i} " + "x" * 50 for i in range(300)]
    parts = split_text("\n".join(lines), limit=4096)
    assert len(parts) > 1
    assert all(len(part) <= 4096 for part in parts)
    assert "\n".join(parts) == "\n".join(lines)
    assert all(not part.startswith("\n") for part in parts)


def test_split_text_cuts_a_single_long_line_outside_an_entity() -> None:
    text = "a" * 4094 + "&amp;" + "b" * 10
    parts = split_text(text, limit=4096)
    assert parts[0] == "a" * 4094
    assert parts[1].startswith("&amp;")
    assert "".join(parts) == text


def test_esc_escapes_html() -> None:
    assert esc("<b>Tom & Jerry</b>") == "&lt;b&gt;Tom &amp; Jerry&lt;/b&gt;"


def test_redacting_filter_masks_secrets_and_form_fields() -> None:
    record = logging.LogRecord(
        "x", logging.INFO, __file__, 1, "call %s psw=%s", ("123:SECRET", "hunter2"), None
    )
    RedactingFilter(["123:SECRET"]).filter(record)
    assert record.getMessage() == "call *** psw=***"


def test_missing_token_is_one_line_about_botfather(
    monkeypatch: pytest.MonkeyPatch, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("BOT_TOKEN", raising=False)
    with pytest.raises(SystemExit) as exit_info:
        load_settings()
    message = str(exit_info.value)
    assert "@BotFather" in message and "missing" in message and "\n" not in message


def test_malformed_token_is_not_echoed(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("BOT_TOKEN", "not-a-token-hunter2")
    with pytest.raises(SystemExit) as exit_info:
        load_settings()
    assert "malformed" in str(exit_info.value)
    assert "hunter2" not in str(exit_info.value)


def test_allowed_user_ids_are_parsed(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("BOT_TOKEN", "123456:" + "A" * 35)
    monkeypatch.setenv("ALLOWED_USER_IDS", "1, 2;3")
    assert load_settings().allowed_user_ids == frozenset({1, 2, 3})
    assert "AAAA" not in repr(Settings(_env_file=None))  # type: ignore[call-arg]
