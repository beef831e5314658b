"""Phone widths (issue 13): every keyboard the bot shows fits a phone, in both languages.

A label is at most 24 characters; a row holds at most 2 buttons when any of its labels is over 13
characters, at most 3 otherwise; in a list the part that differs comes first ("+7 999 111-00-23 ✖",
not "✖ 10. +7 999 …"), so a cut on a narrow screen takes the same tail off every button.

The fake Bot API records every keyboard it receives (tests/support/botapi/keyboards.py). The tour
below shows each screen from home in English and Russian; the last test checks everything recorded
in this session (run with the rest of tests/e2e, it sees every keyboard the suite met), each label
also put into the other language through the catalogs.
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

from babel.messages.pofile import read_po

from bot.smsc.emulator import SmscEmulator
from tests.conftest import LOGIN
from tests.e2e.conftest import RunningBot
from tests.e2e.helpers import login, seed_contact, seed_group, seed_sender, seed_subclient
from tests.support.botapi import FakeTelegram, FakeUser
from tests.support.botapi.keyboards import SEEN, SeenKeyboard

MAX_LABEL = 24
WIDE = 13
LOCALES = Path(__file__).resolve().parents[2] / "locales"
# A list button led by a fixed mark or a position and then the item: "✖ 10. +7 999 …", "3. Anna".
FIXED_FIRST = re.compile(r"^([^\w\s+]+\s*)?(\d+\.\s)|^[^\w\s+]+\s*\+?\d[\d\s()\-]{6,}")
CYRILLIC = re.compile(r"[а-яё]", re.IGNORECASE)


def row_problems(row: tuple[str, ...]) -> list[str]:
    found = [
        f"label {label!r} is {len(label)} characters (at most {MAX_LABEL})"
        for label in row
        if len(label) > MAX_LABEL
    ]
    found += [
        f"label {label!r}: the part that differs must come first"
        for label in row
        if FIXED_FIRST.match(label)
    ]
    longest = max(row, key=len)
    if len(row) > 3:
        found.append(f"row {list(row)} has {len(row)} buttons (at most 3)")
    elif len(row) > 2 and len(longest) > WIDE:
        found.append(
            f"row {list(row)} has {len(row)} buttons with {longest!r} over {WIDE} characters "
            "(then at most 2)"
        )
    return found


@cache
def _translations() -> tuple[list[tuple[re.Pattern[str], str]], list[tuple[re.Pattern[str], str]]]:
    """(English pattern, Russian) and (Russian pattern, English) for every catalog entry; the
    longest first, so a whole label wins over a word inside it."""
    with (LOCALES / "ru" / "LC_MESSAGES" / "messages.po").open("rb") as po:
        catalog = read_po(po, locale="ru")
    pairs: list[tuple[str, str]] = []
    for message in catalog:
        if not message.id or not message.string:
            continue
        ids = message.id if isinstance(message.id, tuple) else (message.id,)
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        pairs += [(ids[min(i, len(ids) - 1)], s) for i, s in enumerate(strings) if s]

    def pattern(text: str) -> re.Pattern[str]:
        return re.compile(
            "".join(
                "(.+)" if part.startswith("{") else re.escape(part)
                for part in re.split(r"(\{\w*\})", text)
            )
        )

    def fill(text: str) -> str:
        counter = iter(range(1, 100))
        return re.sub(r"\{\w*\}", lambda _m: f"\\{next(counter)}", text)

    en = sorted(((pattern(i), fill(s)) for i, s in pairs), key=lambda p: -len(p[0].pattern))
    ru = sorted(((pattern(s), fill(i)) for i, s in pairs), key=lambda p: -len(p[0].pattern))
    return en, ru


def other_language(label: str) -> str:
    """The label in the other language: its translatable core looked up in the catalog, the
    marks around it (✓, ◀, an emoji) kept; data (a name, a number) stays as it is."""
    en, ru = _translations()
    table = ru if CYRILLIC.search(label) else en
    head, core, tail = re.fullmatch(r"([^\w{]*)(.*?)([^\w}]*)", label, re.S).groups()  # type: ignore[union-attr]
    for source, target in table:
        match = source.fullmatch(core)
        if match is not None:
            try:
                return head + match.expand(target) + tail
            except (re.error, IndexError):
                return label
    return label


def both_languages(keyboard: SeenKeyboard) -> list[SeenKeyboard]:
    other = tuple(tuple(other_language(label) for label in row) for row in keyboard.rows)
    translated = SeenKeyboard(other, keyboard.text, keyboard.test + " (other language)")
    return [keyboard, translated] if other != keyboard.rows else [keyboard]


def check(keyboards: list[SeenKeyboard]) -> None:
    """Fails naming each offending label once, with the first keyboard it was seen on."""
    problems: dict[str, str] = {}
    for seen in keyboards:
        for version in both_languages(seen):
            where = f"keyboard under {version.text!r} ({version.test or 'this test'})"
            for row in version.rows:
                for problem in row_problems(row):
                    problems.setdefault(problem, where)
    lines = [f"{where}: {problem}" for problem, where in problems.items()]
    assert not lines, f"{len(lines)} labels or rows do not fit a phone:\n" + "\n".join(lines)


def test_the_rule_itself() -> None:
    """The check fails on each kind of offender the issue names, and passes good rows."""
    assert row_problems(("✖ 10. +7 999 111-00-23",))
    assert row_problems(("1. Anna",))
    assert row_problems(("✓ Все сообщения", "Массовые рассылки", "Одиночные сообщения"))
    assert row_problems(("Поиск по номеру", "Добавить номера", "Показать все"))
    assert row_problems(("Перенести в одну группу — да",))
    assert row_problems(("a", "b", "c", "d"))
    assert not row_problems(("+7 999 111-00-23 ✖", "+7 999 111-00-24 ✖"))
    assert not row_problems(("✓ All messages", "Mass mailings"))
    assert not row_problems(("◀ Previous", "2/3", "Next ▶"))
    assert not row_problems(("✓ 1.50", "✓ Семья"))  # a toggle's mark before a group's name
    assert other_language("◀ Previous") != "◀ Previous"
    assert other_language("✓ All messages").startswith("✓ ")


async def tour(user: FakeUser) -> None:
    """Home, then every job from it and back, as a person would tap through."""
    await user.send("/start")
    home = await user.expect_message()
    jobs = [label for label in home.button_texts if label not in home.button_texts[-2:]]
    for label in jobs:
        await user.press(home, label)
        screen = await user.expect_edit()
        # Issue 13: every screen has the way home.
        [menu] = [b for b in screen.button_texts if b.startswith("⬅")]
        await user.press(screen, menu)
        await user.expect_edit()
    await user.send("/help")
    assert any(b.startswith("⬅") for b in (await user.expect_message()).button_texts)
    await user.send("+7 999 111-00-23")
    card = await user.expect_message()
    await user.press(card, card.button_texts[0])
    await user.expect_edit()


async def test_a_tour_of_every_screen_in_both_languages(
    bot: RunningBot, fake_telegram: FakeTelegram, smsc: SmscEmulator
) -> None:
    account = smsc.accounts[LOGIN]
    seed_group(smsc, "Постоянные клиенты из Москвы")
    seed_contact(smsc, "79991110023", "Анастасия Константинопольская")
    seed_sender(account, "SMSC-Shop", 1)
    seed_subclient(account, "sub_alexander_the_great")
    account.add_black("79991110099", 0, "жалоба")
    before = len(SEEN)
    for user_id, language in ((9101, "en"), (9102, "ru")):
        user = fake_telegram.user(user_id, language_code=language)
        await login(user, expect=None)
        await tour(user)
    check(SEEN[before:])


def test_every_keyboard_this_session_fits_a_phone() -> None:
    """Whatever the tests before this one made the bot show (the e2e conftest runs this last)."""
    check(list(SEEN))
