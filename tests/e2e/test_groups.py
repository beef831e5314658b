"""/groups end to end: the fake Bot API server, the bot, the SMSC emulator."""

from __future__ import annotations

import pytest

from bot.smsc.emulator import Contact as EmuContact
from bot.smsc.emulator import SmscEmulator
from tests.conftest import LOGIN
from tests.e2e.conftest import RunningBot
from tests.e2e.helpers import login, seed_group
from tests.support.botapi import FakeTelegram


def seed(smsc: SmscEmulator, groups: dict[str, int]) -> dict[str, int]:
    """Groups with that many contacts each; returns their ids."""
    account = smsc.accounts[LOGIN]
    ids = {}
    for name, size in groups.items():
        group_id = ids[name] = seed_group(smsc, name)
        for _i in range(size):
            contact_id = account.new_id("contact")
            account.contacts[contact_id] = EmuContact(
                contact_id, [f"7999{contact_id:07d}"], f"{name} {contact_id}", [group_id]
            )
    return ids


def names(smsc: SmscEmulator) -> list[str]:
    return sorted(g.name for g in smsc.accounts[LOGIN].groups.values())


async def test_groups_with_their_sizes(
    bot: RunningBot, fake_telegram: FakeTelegram, smsc: SmscEmulator
) -> None:
    seed(smsc, {"Друзья": 1, "Работа": 2, "Пустая": 0})
    user = fake_telegram.user(5001)
    await login(user)
    await user.send("/groups")
    listing = await user.expect_message()
    assert "Друзья — 1 contact" in listing.text
    assert "Работа — 2 contacts" in listing.text
    assert "Пустая — 0 contacts" in listing.text
    assert {"Друзья", "Работа", "Пустая", "New group"} <= set(listing.button_texts)
    assert "⬅ Menu" in listing.button_texts


async def test_groups_are_reached_from_home_through_contacts(
    bot: RunningBot, fake_telegram: FakeTelegram, smsc: SmscEmulator
) -> None:
    """Issue 13: no job only behind a remembered command; the groups live with the contacts."""
    seed(smsc, {"Друзья": 1})
    user = fake_telegram.user(5002)
    await login(user)
    await user.send("/start")
    home = await user.expect_message()
    await user.press(home, "👤 Contacts")
    await user.press(await user.expect_edit(), "Groups")
    listing = await user.expect_edit()
    assert "Друзья — 1 contact" in listing.text and listing.message_id == home.message_id
    await user.press(listing, "⬅ Menu")
    assert "👤 Contacts" in (await user.expect_edit()).button_texts


async def test_russian_plural_forms_of_the_size(
    bot: RunningBot, fake_telegram: FakeTelegram, smsc: SmscEmulator
) -> None:
    assert bot.app is not None
    if bot.app.i18n.gettext("{n} contact", "{n} contacts", 5, locale="ru") == "{n} contacts":
        pytest.skip("the Russian catalog has no translation of the group size yet")
    seed(smsc, {"Один": 1, "Два": 2, "Пять": 5, "Двадцать один": 21})
    user = fake_telegram.user(5002, language_code="ru")
    await login(user, expect=None)
    await user.send("/groups")
    text = (await user.expect_message()).text
    forms = {line.split(" ", 2)[-1] for line in text.splitlines()[1:]}
    # 1 контакт, 2 контакта, 5 контактов, 21 контакт: three forms for four sizes.
    assert len({form.split()[-1] for form in forms}) == 3


async def test_create_rename_and_delete_with_the_size_in_the_question(
    bot: RunningBot, fake_telegram: FakeTelegram, smsc: SmscEmulator
) -> None:
    seed(smsc, {"Старая": 2})
    user = fake_telegram.user(5003)
    await login(user)
    await user.send("/groups")
    listing = await user.expect_message()
    await user.press(listing, "New group")
    await user.expect_message()
    await user.send("x" * 101)
    assert "1 to 100 characters" in (await user.expect_message()).text
    await user.send("Новая <группа>")
    created = await user.expect_message()
    assert "Group created" in created.text and "Новая <группа>" in created.text
    assert names(smsc) == ["Новая <группа>", "Старая"]

    await user.press(listing, "Старая")
    view = await user.expect_edit()
    assert "Старая" in view.text and "2 contacts" in view.text
    await user.press(view, "Rename")
    await user.expect_message()
    await user.send("Клиенты 2024")
    renamed = await user.expect_message()
    assert "Клиенты 2024" in renamed.text
    assert names(smsc) == ["Клиенты 2024", "Новая <группа>"]

    # Issue 13: the question in place; after No the group again, after Yes a way on.
    await user.press(renamed, "Delete")
    question = await user.expect_edit()
    assert "Клиенты 2024" in question.text and "It holds 2 contacts" in question.text
    await user.press(question, "No")
    kept = await user.expect_edit()
    assert "stays" in kept.text and "Delete" in kept.button_texts
    await user.press(kept, "Delete")
    await user.press(await user.expect_edit(), "Yes, delete")
    done = await user.expect_edit()
    assert "deleted" in done.text and "« All groups" in done.button_texts
    assert names(smsc) == ["Новая <группа>"]
    assert len(smsc.accounts[LOGIN].contacts) == 2  # the contacts themselves stay


async def test_a_group_pages_through_its_contacts(
    bot: RunningBot, fake_telegram: FakeTelegram, smsc: SmscEmulator
) -> None:
    ids = seed(smsc, {"Большая": 12, "Другая": 3})
    user = fake_telegram.user(5004)
    await login(user)
    await user.send("/groups")
    await user.press(await user.expect_message(), "Большая")
    view = await user.expect_edit()
    await user.press(view, "Its contacts")
    first = await user.expect_edit()
    assert "Contacts in the group Большая" in first.text
    assert first.text.count("Большая ") == 8 and "Другая" not in first.text
    await user.press(first, "Next ▶")
    second = await user.expect_edit()
    assert second.text.count("Большая ") == 4 and "Next ▶" not in second.button_texts
    gets = [r.params for r in smsc.requests if r.params.get("get") == "1"]
    assert all(p.get("grp") == str(ids["Большая"]) for p in gets)


async def test_a_group_deleted_elsewhere(
    bot: RunningBot, fake_telegram: FakeTelegram, smsc: SmscEmulator
) -> None:
    ids = seed(smsc, {"Временная": 0})
    user = fake_telegram.user(5005)
    await login(user)
    await user.send("/groups")
    listing = await user.expect_message()
    del smsc.accounts[LOGIN].groups[ids["Временная"]]
    await user.press(listing, "Временная")
    assert "no longer exists" in (await user.expect_edit()).text


async def test_only_phone_groups_are_listed_and_the_card_shows_the_mailing_number(
    bot: RunningBot, fake_telegram: FakeTelegram, smsc: SmscEmulator
) -> None:
    seed_group(smsc, "Клиенты", number=42)
    seed_group(smsc, "Почтовая рассылка", type=1)
    user = fake_telegram.user(5010)
    await login(user)
    await user.send("/groups")
    listing = await user.expect_message()
    assert "Клиенты" in listing.text and "Почтовая рассылка" not in listing.text
    [asked] = [r.params for r in smsc.requests if r.params.get("get_group")]
    assert asked["type"] == "0"
    await user.press(listing, "Клиенты")
    card = await user.expect_edit()
    assert "Mailing group number: 42" in card.text
