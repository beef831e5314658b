"""The catalogs ship complete: every string in the code translated in en and ru, nothing fuzzy,
obsolete or stale, and the compiled catalogs answer in each language."""

from __future__ import annotations

from bot.catalog import check
from bot.i18n import build_i18n


def test_catalogs_are_complete_and_up_to_date() -> None:
    problems = check()
    assert problems == [], "\n".join(problems) + "\nRun: .venv/bin/python -m bot.catalog update"


def test_compiled_catalogs_translate_and_pluralise() -> None:
    i18n = build_i18n()
    assert set(i18n.available_locales) == {"en", "ru"}
    msgid = "Cancelled. Nothing was changed."
    assert i18n.gettext(msgid, locale="en") == msgid
    assert i18n.gettext(msgid, locale="ru") != msgid
    singular = (
        "SMSC has temporarily blocked requests from this bot's server. Try again in {n} minute."
    )
    plural = (
        "SMSC has temporarily blocked requests from this bot's server. Try again in {n} minutes."
    )
    # Russian has three plural forms: 1 минуту, 2 минуты, 5 минут.
    forms = {i18n.gettext(singular, plural, n, locale="ru") for n in (1, 2, 5)}
    assert len(forms) == 3
