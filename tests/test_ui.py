"""Shared UI helpers: splitting long answers, escaping, log redaction, settings errors."""

from __future__ import annotations

import io
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


def test_a_traceback_is_masked_too(caplog: pytest.LogCaptureFixture) -> None:
    """An exception's text (a library's error naming the request URL) leaks through the
    traceback the formatter adds, not through the message the filter sees."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(message)s"))
    handler.addFilter(RedactingFilter(["123:SECRET"]))
    log = logging.getLogger("test.redaction")
    log.addHandler(handler)
    try:
        try:
            raise ValueError("bad URL https://api.telegram.org/bot123:SECRET/getMe psw=hunter2")
        except ValueError:
            log.exception("request failed")
    finally:
        log.removeHandler(handler)
    written = stream.getvalue()
    assert "request failed" in written and "ValueError: bad URL" in written
    assert "123:SECRET" not in written and "hunter2" not in written


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


@pytest.mark.parametrize(
    ("name", "value"),
    [("DATABASE_URL", "mysql://bot:hunter2@db/bot"), ("REDIS_URL", "localhost:6379")],
)
def test_a_url_of_no_known_scheme_is_one_line(
    monkeypatch: pytest.MonkeyPatch, tmp_path, name: str, value: str
) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("BOT_TOKEN", "123456:" + "A" * 35)
    monkeypatch.setenv(name, value)
    with pytest.raises(SystemExit) as exit_info:
        load_settings()
    # One line naming the setting, never its value (it may hold a password).
    assert str(exit_info.value) == f"Invalid settings: {name}. See README.md, section Settings."


def test_allowed_user_ids_are_parsed(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("BOT_TOKEN", "123456:" + "A" * 35)
    monkeypatch.setenv("ALLOWED_USER_IDS", "1, 2;3")
    assert load_settings().allowed_user_ids == frozenset({1, 2, 3})
    assert "AAAA" not in repr(Settings(_env_file=None))  # type: ignore[call-arg]


def test_split_text_counts_emoji_as_two_utf16_units() -> None:
    parts = split_text("😀" * 3000)
    assert [len(p) for p in parts] == [2048, 952]


def test_clip_html_closes_tags_and_never_cuts_an_entity() -> None:
    from bot.text import clip_html, visible_len

    html = '<b>Total</b>\n<a href="https://x.example/?a=1&amp;b=2"><i>' + "&amp;😀" * 50
    clipped = clip_html(html + "</i></a>", 40)
    assert clipped.endswith("…</i></a>")
    assert visible_len(clipped) <= 40
    assert "&am…" not in clipped and clipped.count("<i>") == 1
    assert clip_html("<b>short</b>", 40) == "<b>short</b>"


def test_clean_strips_what_hides_or_reorders_text_but_keeps_emoji_sequences() -> None:
    from bot.text import clean

    assert clean("Anna\u202e\u200b\u2066 Ivanova\x00\x85") == "Anna Ivanova"
    assert clean("line one\nline two\ttab") == "line one line two tab"
    assert clean("line one\nline two", multiline=True) == "line one\nline two"
    family = "👨\u200d👩\u200d👧"
    assert clean(f"{family} a\u200db") == f"{family} ab"


def test_page_of_clamps_the_number_and_gives_a_pager_only_for_several_pages() -> None:
    from aiogram.filters.callback_data import CallbackData

    from bot.i18n import build_i18n
    from bot.ui import page_of

    class At(CallbackData, prefix="t"):
        page: int

    items = list(range(45))
    last = page_of(items, 7, 20)
    assert (list(last.items), last.number, last.count) == ([40, 41, 42, 43, 44], 2, 3)
    first = page_of(items, -1, 20)
    assert first.number == 0 and len(first.items) == 20
    i18n = build_i18n()
    with i18n.context(), i18n.use_locale("en"):
        [row] = first.pager(lambda n: At(page=n))
        [middle] = page_of(items, 1, 20).pager(lambda n: At(page=n))
    assert [b.callback_data for b in row] == ["noop", "t:1"]
    assert [b.text for b in middle] == ["◀ Previous", "2/3", "Next ▶"]
    assert page_of([], 0, 20).count == 1 and page_of(items[:3], 0, 20).pager(At) == []
