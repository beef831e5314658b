"""/addcontact and /contacts end to end: the fake Bot API server, the bot, the SMSC emulator."""

from __future__ import annotations

import urllib.parse

from bot.smsc.emulator import Contact as EmuContact
from bot.smsc.emulator import SmscEmulator
from tests.conftest import LOGIN
from tests.e2e.conftest import RunningBot
from tests.e2e.helpers import login, phone_requests, seed_contact, seed_group
from tests.support.botapi import FakeTelegram


def contacts(smsc: SmscEmulator) -> list[EmuContact]:
    return list(smsc.accounts[LOGIN].contacts.values())


async def test_one_line_addcontact_keeps_a_cyrillic_name_intact(
    bot: RunningBot, fake_telegram: FakeTelegram, smsc: SmscEmulator
) -> None:
    user = fake_telegram.user(3001)
    await login(user)
    await user.send("/addcontact 8 (999) 123-45-67 Иван Петров")
    card = await user.expect_message()
    assert "Saved" in card.text and "Иван Петров" in card.text
    assert "+7 999 123-45-67" in card.text
    assert {"Rename", "Change number", "Groups", "Delete"} <= set(card.button_texts)
    [contact] = contacts(smsc)
    assert contact.name == "Иван Петров" and contact.phones == ["79991234567"]
    # On the wire: UTF-8, declared as such, so SMSC does not read it as windows-1251.
    [add] = [r for r in smsc.requests if r.params.get("add") == "1"]
    form = urllib.parse.parse_qs(add.raw_body.decode("ascii"), encoding="utf-8")
    assert form["name"] == ["Иван Петров"] and form["charset"] == ["utf-8"]


async def test_conversation_with_groups_and_a_new_group(
    bot: RunningBot, fake_telegram: FakeTelegram, smsc: SmscEmulator
) -> None:
    friends = seed_group(smsc, "Друзья")
    seed_group(smsc, "Work")
    user = fake_telegram.user(3002)
    await login(user)
    await user.send("/addcontact")
    assert "phone number" in (await user.expect_message()).text
    await user.send("+7 916 000-11-22")
    asked = await user.expect_message()
    assert "+7 916 000-11-22" in asked.text and "No name" in asked.button_texts
    await user.send("Анна")
    step = await user.expect_message()
    assert "Анна" in step.text
    assert {"Друзья", "Work", "✓ No group", "New group", "Save"} <= set(step.button_texts)
    await user.send("Друзья")  # typed where a button is asked: said as everywhere else
    assert "Please choose with the buttons above" in (await user.expect_message()).text
    await user.press(step, "Друзья")
    toggled = await user.expect_edit()
    assert "✓ Друзья" in toggled.button_texts and "No group" in toggled.button_texts
    await user.press(toggled, "New group")
    assert "name of the new group" in (await user.expect_message()).text
    await user.send("Соседи")
    again = await user.expect_message()
    assert {"✓ Друзья", "✓ Соседи", "Work"} <= set(again.button_texts)
    await user.press(again, "Save")
    card = await user.expect_edit()
    assert "Saved" in card.text and "Друзья" in card.text and "Соседи" in card.text
    [contact] = contacts(smsc)
    neighbours = next(g.id for g in smsc.accounts[LOGIN].groups.values() if g.name == "Соседи")
    assert contact.name == "Анна" and contact.phones == ["79160001122"]
    assert sorted(contact.groups) == sorted([friends, neighbours])


async def test_invalid_numbers_are_explained_asked_again_and_never_sent(
    bot: RunningBot, fake_telegram: FakeTelegram, smsc: SmscEmulator
) -> None:
    user = fake_telegram.user(3003)
    await login(user)
    await user.send("/addcontact 12-34 Пётр")
    reply = await user.expect_message()
    assert "12-34" in reply.text and "not a valid phone number" in reply.text
    await user.send("8 999")
    assert "not a valid phone number" in (await user.expect_message()).text
    await user.send("call me <b>maybe</b>")
    assert "&lt;b&gt;" not in (await user.expect_message()).text  # escaped, shown as typed
    assert not [r for r in smsc.requests if r.path == "/sys/phones.php"]
    # The name from the one-line form was kept: a valid number goes straight to the groups.
    await user.send("89991112233")
    step = await user.expect_message()
    assert "Пётр" in step.text and "Save" in step.button_texts
    await user.press(step, "Save")
    await user.expect_edit()
    assert [(c.name, c.phones) for c in contacts(smsc)] == [("Пётр", ["79991112233"])]


async def test_a_shared_contact_fills_in_number_and_name(
    bot: RunningBot, fake_telegram: FakeTelegram, smsc: SmscEmulator
) -> None:
    user = fake_telegram.user(3004)
    await login(user)
    # Out of the blue (issue 13): the number's card, then two taps to save with the shared name.
    await user.send_contact("79261234567", "Ольга", last_name="Смирнова")
    card = await user.expect_message()
    assert "+7 926 123-45-67" in card.text and "⛔ Block" in card.button_texts
    await user.press(card, "👤 Add as contact")
    step = await user.expect_message()
    assert "Ольга Смирнова" in step.text and "+7 926 123-45-67" in step.text
    await user.press(step, "Save")
    assert "Ольга Смирнова" in (await user.expect_edit()).text
    # Inside /addcontact, at the number step.
    await user.send("/addcontact")
    await user.expect_message()
    await user.send_contact("380501234567", "Taras")
    step = await user.expect_message()
    assert "Taras" in step.text and "+380 50 123 4567" in step.text
    await user.press(step, "Save")
    await user.expect_edit()
    assert sorted((c.name, c.phones[0]) for c in contacts(smsc)) == [
        ("Taras", "380501234567"),
        ("Ольга Смирнова", "79261234567"),
    ]
    # The same contact again: its card names the contact and blocks with one tap.
    await user.send_contact("+79261234567", "Ольга")
    card = await user.expect_message()
    assert "Ольга Смирнова" in card.text and "👤 Contact card" in card.button_texts
    await user.press(card, "⛔ Block")
    assert "all messages are blocked" in (await user.expect_edit()).text
    assert [e.phone for e in smsc.accounts[LOGIN].black.values()] == ["79261234567"]


async def test_smsc_errors_in_the_middle_keep_the_conversation(
    bot: RunningBot, fake_telegram: FakeTelegram, smsc: SmscEmulator
) -> None:
    seed_group(smsc, "Клиенты")
    user = fake_telegram.user(3005)
    await login(user)
    await user.send("/addcontact")
    await user.expect_message()
    await user.send("+79990001122")
    await user.expect_message()
    # Reading the groups fails: the answer says so, and its button repeats the step.
    smsc.fault = "http500"
    await user.send("Мария")
    failed = await user.expect_message()
    assert "not reachable" in failed.text
    smsc.fault = None
    await user.press(failed, "Try again")
    step = await user.expect_message()
    assert "Мария" in step.text and "Клиенты" in step.button_texts
    # Saving fails with an SMSC error: the state and the buttons stay, Save works again.
    smsc.fault = 5
    await user.press(step, "Save")
    assert "could not carry out the operation" in (await user.expect_message()).text
    smsc.fault = None
    await user.press(step, "Save")
    assert "Мария" in (await user.expect_edit()).text
    assert [c.name for c in contacts(smsc)] == ["Мария"]


async def test_an_unanswered_save_is_not_saved_twice(
    bot: RunningBot, fake_telegram: FakeTelegram, smsc: SmscEmulator
) -> None:
    user = fake_telegram.user(3006)
    await login(user)
    await user.send("/addcontact +79990001133 Лев")
    # (the one-line form saves at once; this one goes through the buttons)
    await user.expect_message()
    await user.send("/addcontact")
    await user.expect_message()
    await user.send("+79990001144")
    await user.expect_message()
    await user.send("Глеб")
    step = await user.expect_message()
    smsc.fault = "http500"
    await user.press(step, "Save")
    assert "did not confirm" in (await user.expect_message()).text
    # As if SMSC had saved it before the answer got lost.
    seed_contact(smsc, "79990001144", "Глеб")
    smsc.fault = None
    await user.press(step, "Save")
    assert "Глеб" in (await user.expect_edit()).text
    assert sorted(c.name for c in contacts(smsc)) == ["Глеб", "Лев"]


async def test_search_and_pages_edit_one_message(
    bot: RunningBot, fake_telegram: FakeTelegram, smsc: SmscEmulator
) -> None:
    for i in range(1, 21):
        seed_contact(smsc, f"799900000{i:02d}", f"Клиент {i:02d}")
    seed_contact(smsc, "79160000000", "Другой")
    user = fake_telegram.user(3007)
    await login(user)
    await user.send("/contacts Клиент")
    first = await user.expect_message()
    assert "Клиент 01" in first.text and "Клиент 08" in first.text and "Клиент 09" not in first.text
    assert "Next ▶" in first.button_texts and "◀ Previous" not in first.button_texts
    [get] = phone_requests(smsc, "get")
    assert get["cnt"] == "9" and get["search"] == "Клиент"  # one page (+1), searched by SMSC
    await user.press(first, "Next ▶")
    second = await user.expect_edit()
    assert second.message_id == first.message_id
    assert "Клиент 09" in second.text and "Клиент 16" in second.text
    await user.press(second, "Next ▶")
    third = await user.expect_edit()
    assert "Клиент 17" in third.text and "Клиент 20" in third.text
    assert "Next ▶" not in third.button_texts and "Другой" not in third.text
    await user.press(third, "◀ Previous")
    back = await user.expect_edit()
    assert "Клиент 09" in back.text and "Клиент 16" in back.text and "Клиент 17" not in back.text
    await user.press(back, "◀ Previous")
    start = await user.expect_edit()
    assert "Клиент 01" in start.text and "◀ Previous" not in start.button_texts
    # A number, typed as people do, is searched as SMSC stores it.
    await user.send("/contacts 8 916 000-00-00")
    found = await user.expect_message()
    assert "Другой" in found.text and "Клиент" not in found.text
    await user.send("/contacts Никто")
    assert "Nothing found" in (await user.expect_message()).text


async def test_buttons_sent_before_a_restart_still_work(
    bot: RunningBot, fake_telegram: FakeTelegram, smsc: SmscEmulator
) -> None:
    for i in range(1, 11):
        seed_contact(smsc, f"799900001{i:02d}", f"Пациент {i:02d}")
    user = fake_telegram.user(3008)
    await login(user)
    await user.send("/contacts")
    listing = await user.expect_message()
    await bot.restart()
    await user.press(listing, "Next ▶")
    assert "Пациент 09" in (await user.expect_edit()).text
    await user.press(listing.message_id, "Пациент 09")
    card = await user.expect_message()
    assert "Пациент 09" in card.text and "+7 999 000-01-09" in card.text


async def test_the_card_and_its_buttons(
    bot: RunningBot, fake_telegram: FakeTelegram, smsc: SmscEmulator
) -> None:
    family = seed_group(smsc, "Семья")
    work = seed_group(smsc, "Работа")
    seed_contact(
        smsc,
        "79995550011",
        "Вера <Ивановна>",
        groups=[family],
        comments="звонить после 18:00",
        tags="vip",
        birthday="05.03.1990",
    )
    user = fake_telegram.user(3009)
    await login(user)
    await user.send("/contacts Вера")
    listing = await user.expect_message()
    await user.press(listing, "Вера <Ивановна>")
    card = await user.expect_message()
    for part in ("Вера <Ивановна>", "+7 999 555-00-11", "Семья", "звонить после 18:00", "vip"):
        assert part in card.text
    assert "1990" in card.text

    await user.press(card, "Rename")
    assert "new name" in (await user.expect_message()).text
    await user.send("Вера Ивановна")
    renamed = await user.expect_message()
    assert "Renamed" in renamed.text and "Вера Ивановна" in renamed.text
    assert contacts(smsc)[0].name == "Вера Ивановна"

    await user.press(renamed, "Change number")
    await user.expect_message()
    await user.send("555")
    assert "not a valid phone number" in (await user.expect_message()).text
    await user.send("+7 999 555-00-22")
    moved = await user.expect_message()
    assert "Number changed" in moved.text and "+7 999 555-00-22" in moved.text
    assert contacts(smsc)[0].phones == ["79995550022"]

    await user.press(moved, "Groups")
    editor = await user.expect_edit()
    assert {"✓ Семья", "Работа", "Move to one group", "Back to the card"} <= set(
        editor.button_texts
    )
    await user.press(editor, "Работа")
    added = await user.expect_edit()
    assert {"✓ Семья", "✓ Работа"} <= set(added.button_texts)
    assert sorted(contacts(smsc)[0].groups) == sorted([family, work])
    await user.press(added, "✓ Семья")
    removed = await user.expect_edit()
    assert "Семья" in removed.button_texts and contacts(smsc)[0].groups == [work]
    await user.press(removed, "Move to one group")
    choose = await user.expect_edit()
    assert "that group only" in choose.text
    await user.press(choose, "Семья")
    after = await user.expect_edit()
    assert {"✓ Семья", "Работа"} <= set(after.button_texts)
    assert contacts(smsc)[0].groups == [family]
    # Issue 13: back to the card and the question in place, and after No the card again.
    await user.press(after, "Back to the card")
    back = await user.expect_edit()
    assert "Вера Ивановна" in back.text and "Семья" in back.text

    await user.press(back, "Delete")
    question = await user.expect_edit()
    await user.press(question, "No")
    kept = await user.expect_edit()
    assert "stays" in kept.text and "Delete" in kept.button_texts and contacts(smsc)
    await user.press(kept, "Delete")
    question = await user.expect_edit()
    await user.press(question, "Yes, delete")
    done = await user.expect_edit()
    assert "deleted" in done.text and "« All contacts" in done.button_texts
    assert not contacts(smsc)
    assert phone_requests(smsc, "del")[0]["phone"] == "79995550022"


async def test_stale_buttons(
    bot: RunningBot, fake_telegram: FakeTelegram, smsc: SmscEmulator
) -> None:
    user = fake_telegram.user(3010)
    await login(user)
    await user.send("/addcontact +79990002233 Том")
    card = await user.expect_message()
    smsc.accounts[LOGIN].contacts.clear()  # deleted in the web cabinet meanwhile
    await user.press(card, "Groups")
    await user.expect_callback_answer()
    assert "no contact with the number +7 999 000-22-33" in (await user.expect_message()).text
    # A conversation's button after the conversation ended.
    await user.send("/addcontact")
    await user.expect_message()
    await user.send("+79990002244")
    await user.expect_message()
    await user.send("Ян")
    step = await user.expect_message()
    await user.send("/cancel")
    await user.expect_message()
    await user.press(step, "Save")
    assert "out of date" in ((await user.expect_callback_answer()).text or "")
    assert not contacts(smsc)
    # Forged data with the right prefix.
    await user.press_data(card.message_id, "ctg:79990002233:x:9")
    assert "out of date" in ((await user.expect_callback_answer()).text or "")


async def test_long_values_fit_one_message(
    bot: RunningBot, fake_telegram: FakeTelegram, smsc: SmscEmulator
) -> None:
    long_name = "Ж" * 300
    for i in range(10):
        seed_contact(smsc, f"7999000{i:04d}", long_name, comments="к" * 5000, tags="t" * 5000)
    user = fake_telegram.user(3011)
    await login(user)
    await user.send("/contacts")
    listing = await user.expect_message()
    assert len(listing.text) <= 4096
    await user.press(listing, listing.button_texts[0])
    card = await user.expect_message()
    assert len(card.text) <= 4096 and "…" in card.text
    await user.send("/contacts " + "поиск" * 20)
    assert "too long" in (await user.expect_message()).text


UNSAFE = "\u202e\u2066\u200b\u200f\ufeff\x07"


def shown(view) -> str:  # type: ignore[no-untyped-def]
    """Everything a message puts on screen: its text and its button labels."""
    return (view.text or "") + "".join(view.button_texts)


async def test_bidi_zero_width_and_control_characters_never_reach_smsc_or_the_screen(
    bot: RunningBot, fake_telegram: FakeTelegram, smsc: SmscEmulator
) -> None:
    """A right-to-left override in a name reverses what follows it on screen ("Anna\u202egpj.exe"
    shows as "Annaexe.jpg"). Names typed by a user reach SMSC without such characters, and names
    stored at SMSC with them are shown without them."""
    user = fake_telegram.user(3101)
    await login(user)
    await user.send(f"/addcontact +7 999 111-22-33 Anna{UNSAFE} Ivanova\u202egpj.exe")
    card = await user.expect_message()
    [contact] = contacts(smsc)
    assert contact.name == "Anna Ivanovagpj.exe"
    assert not set(UNSAFE) & set(shown(card))

    seed_group(smsc, f"VIP{UNSAFE}\u202e sratS")
    seed_contact(smsc, "79992223344", f"Boris\u202e{UNSAFE}\x1b[31m Petrov")
    await user.send("/contacts")
    listing = await user.expect_message()
    assert "Boris[31m Petrov" in shown(listing)
    assert not set(UNSAFE + "\x1b") & set(shown(listing))
    await user.send("/groups")
    groups = await user.expect_message()
    assert "VIP sratS" in shown(groups)
    assert not set(UNSAFE) & set(shown(groups))
    await user.press(groups, "New group")
    await user.expect_message()
    await user.send(f"\u2067Клиенты{UNSAFE}")
    assert "Клиенты" in (await user.expect_message()).text
    assert "Клиенты" in {g.name for g in smsc.accounts[LOGIN].groups.values()}


async def test_pages_when_contacts_have_no_numeric_id(
    bot: RunningBot, fake_telegram: FakeTelegram, smsc: SmscEmulator
) -> None:
    # phones.php's own shape: "id" is the client's myid (empty here) and there is no int_id.
    smsc.shapes.contact_int_id = False
    for i in range(1, 11):
        seed_contact(smsc, f"799900002{i:02d}", f"Гость {i:02d}")
    user = fake_telegram.user(3011)
    await login(user)
    await user.send("/contacts")
    first = await user.expect_message()
    assert "Гость 01" in first.text and "Гость 09" not in first.text
    await user.press(first, "Next ▶")
    second = await user.expect_edit()
    assert "Гость 09" in second.text and "Гость 10" in second.text and "Гость 01" not in second.text
    assert "Next ▶" not in second.button_texts
    await user.press(second, "Гость 09")
    card = await user.expect_message()
    assert "+7 999 000-02-09" in card.text
    await user.press(second, "◀ Previous")
    back = await user.expect_edit()
    assert "Гость 01" in back.text
    # Each turn asks SMSC the same question; past its three a minute the last answer is shown.
    for _turn in range(2):
        await user.press(back, "Next ▶")
        assert "Гость 09" in (await user.expect_edit()).text
        await user.press(back, "◀ Previous")
        assert "Гость 01" in (await user.expect_edit()).text


async def test_pages_by_int_id_when_ids_are_crm_text(
    bot: RunningBot, fake_telegram: FakeTelegram, smsc: SmscEmulator
) -> None:
    for i in range(1, 11):
        seed_contact(smsc, f"799900003{i:02d}", f"Клиент CRM {i:02d}", myid=f"crm-{i}")
    user = fake_telegram.user(3012)
    await login(user)
    await user.send("/contacts")
    first = await user.expect_message()
    assert "Клиент CRM 01" in first.text
    await user.press(first, "Next ▶")
    second = await user.expect_edit()
    assert "Клиент CRM 09" in second.text and "Клиент CRM 01" not in second.text
    after_ids = [r.params.get("after_id") for r in smsc.requests if r.params.get("get")]
    int_ids = sorted(smsc.accounts[LOGIN].contacts)
    assert after_ids[-1] == str(int_ids[7])


async def test_search_finds_a_number_written_as_the_bot_prints_it(
    bot: RunningBot, fake_telegram: FakeTelegram, smsc: SmscEmulator
) -> None:
    """Issue 13: "345-67" finds "+7 912 345-67-89", as "34567" does."""
    seed_contact(smsc, "79123456789", "Пётр")
    user = fake_telegram.user(3101)
    await login(user)
    await user.send("/contacts 345-67")
    found = await user.expect_message()
    assert "Пётр" in found.text and "+7 912 345-67-89" in found.text
    # SMSC matches a number by its digits only (the emulator is kinder): digits are what it gets.
    assert phone_requests(smsc, "get")[-1]["search"] == "34567"
