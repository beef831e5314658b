"""/templates end to end: the list, a card with the whole text, the adding wizard (across a
restart and through an SMSC error), renaming, new text and deletion."""

from __future__ import annotations

from bot.smsc.emulator import SmscEmulator
from bot.smsc.emulator.state import Account, Template
from tests.conftest import LOGIN
from tests.e2e.conftest import RunningBot
from tests.e2e.helpers import login, seed_sender
from tests.support.botapi import FakeTelegram, FakeUser, MessageView


def add(account: Account, name: str, message: str, **fields: object) -> Template:
    template = Template(account.new_id("template"), name, message)
    for key, value in fields.items():
        setattr(template, key, value)
    account.templates[template.id] = template
    return template


async def open_templates(user: FakeUser) -> MessageView:
    await user.send("/templates")
    return await user.expect_message()


async def test_list_and_card_with_the_whole_text(
    bot: RunningBot, fake_telegram: FakeTelegram, smsc: SmscEmulator
) -> None:
    account = smsc.accounts[LOGIN]
    add(account, "Hello", "Hi <b>friend</b> & welcome", format="viber", sender="Shop", flag=1)
    long_text = " ".join(f"word{i}" for i in range(900))
    long = add(account, "Long", long_text)
    user = fake_telegram.user(6001)
    await login(user)
    listing = await open_templates(user)
    assert "2 templates" in (listing.text or "")
    await user.press(listing, "Hello")
    card = await user.expect_edit()
    # Markup from SMSC is shown as text, not interpreted.
    assert "Hi <b>friend</b> & welcome" in (card.text or "")
    for line in ("Format: Viber", "Sender name: Shop", "Auto-signature: yes"):
        assert line in (card.text or "")
    assert "« All templates" in card.button_texts
    # The list's button for "Long", pressed on the card's message (SMSC allows three identical
    # list requests a minute, so the test does not go back to the list first).
    await user.press_data(card.message_id, f"tpc:{long.id}")
    first = await user.expect_edit()
    # About 6,300 characters: the card's head in place, the text in two more messages, the
    # buttons under the last one.
    middle, last = await user.expect_message(), await user.expect_message()
    assert not first.buttons and not middle.buttons and "Rename" in last.button_texts
    shown = "".join(m.text or "" for m in (first, middle, last))
    assert "word0 " in shown and "word899" in shown


async def test_adding_wizard_with_format_sender_and_signature_across_a_restart(
    bot: RunningBot, fake_telegram: FakeTelegram, smsc: SmscEmulator
) -> None:
    account = smsc.accounts[LOGIN]
    for name, status in (("Approved", 1), ("Waiting", 0)):
        seed_sender(account, name, status)
    user = fake_telegram.user(6002)
    await login(user)
    await user.press(await open_templates(user), "Add a template")
    await user.expect_message()
    await user.send("  Spring   sale ")
    await user.expect_message()
    await user.send("20% off until Sunday")
    formats = await user.expect_message()
    # Issue 13: the length in SMS parts, and the common formats first, the rest behind one button.
    assert "20 characters, 1 SMS" in formats.text
    assert formats.button_texts == ["SMS", "Viber", "e-mail", "Other formats ›"]
    await user.send("viber")
    assert "buttons" in ((await user.expect_message()).text or "")
    await user.press(formats, "Viber")
    senders = await user.expect_edit()
    # Only approved names are offered.
    assert senders.button_texts == ["Approved", "No sender name"]
    await bot.restart()
    await user.press(senders, "Approved")
    sign = await user.expect_edit()
    smsc.fault = 5
    try:
        await user.press(sign, "Save as signature")
        failed = await user.expect_edit()
    finally:
        smsc.fault = None
    assert "could not save" in (failed.text or "")
    assert failed.button_texts == ["Save", "Save as signature"]
    assert not account.templates
    await user.press(failed, "Save as signature")
    done = await user.expect_edit()
    assert "Spring sale added" in (done.text or "")
    (template,) = account.templates.values()
    assert (template.name, template.message, template.format, template.sender, template.flag) == (
        "Spring sale",
        "20% off until Sunday",
        "viber",
        "Approved",
        1,
    )


async def test_without_approved_names_the_template_gets_none(
    bot: RunningBot, fake_telegram: FakeTelegram, smsc: SmscEmulator
) -> None:
    user = fake_telegram.user(6003)
    await login(user)
    await user.press(await open_templates(user), "Add a template")
    await user.expect_message()
    await user.send("Plain")
    await user.expect_message()
    await user.send("Текст на семьдесят один символ: " + "я" * 39)
    formats = await user.expect_message()
    assert "71 characters, 2 SMS" in formats.text
    await user.press(formats, "Other formats ›")
    await user.press(await user.expect_edit(), "not set")
    senders = await user.expect_edit()
    assert "no approved sender names" in (senders.text or "")
    await user.press(senders, "No sender name")
    await user.press(await user.expect_edit(), "Save")
    await user.expect_edit()
    (template,) = smsc.accounts[LOGIN].templates.values()
    assert (template.format, template.sender, template.flag) == ("", "", 0)


async def test_rename_new_text_and_delete_with_confirmation(
    bot: RunningBot, fake_telegram: FakeTelegram, smsc: SmscEmulator
) -> None:
    account = smsc.accounts[LOGIN]
    template = add(account, "Old name", "Old text")
    user = fake_telegram.user(6004)
    await login(user)
    await user.press(await open_templates(user), "Old name")
    card = await user.expect_edit()
    await user.press(card, "Rename")
    await user.expect_message()
    await user.send("x" * 101)
    assert "1 to 100 characters" in ((await user.expect_message()).text or "")
    await user.send("New name")
    assert "Saved" in ((await user.expect_message()).text or "")
    await user.press(card, "New text")
    await user.expect_message()
    await user.send("New text")
    assert "Saved" in ((await user.expect_message()).text or "")
    # The emulator replaces a changed record with a new object.
    changed = account.templates[template.id]
    assert (changed.name, changed.message) == ("New name", "New text")

    await user.press(card, "Delete")
    question = await user.expect_edit()
    assert "Delete this template?" in (question.text or "")
    await user.press(question, "No")
    assert "New text" in ((await user.expect_edit()).text or "")
    await user.press(card, "Delete")
    await user.press(await user.expect_edit(), "Yes, delete")
    assert "deleted" in ((await user.expect_edit()).text or "")
    assert not account.templates


async def test_a_deleted_template_is_explained(
    bot: RunningBot, fake_telegram: FakeTelegram, smsc: SmscEmulator
) -> None:
    account = smsc.accounts[LOGIN]
    template = add(account, "Gone soon", "Text")
    user = fake_telegram.user(6005)
    await login(user)
    await user.press(await open_templates(user), "Gone soon")
    card = await user.expect_edit()
    await user.press(card, "New text")
    await user.expect_message()
    del account.templates[template.id]
    await user.send("Anything")
    ended = await user.expect_message()
    assert "no longer exists" in (ended.text or "")
    # The conversation ends here: the answer leads back to the list, not into a dead end.
    assert "« All templates" in ended.button_texts


TEMPLATES_ERRORS = {
    1: "one of the values is not valid",
    5: "could not save or delete",
    9: "wait a minute",
}


async def test_every_error_code_is_explained_in_place_and_the_conversation_stays(
    bot: RunningBot, fake_telegram: FakeTelegram, smsc: SmscEmulator
) -> None:
    account = smsc.accounts[LOGIN]
    template = add(account, "Name", "Text")
    user = fake_telegram.user(6006)
    await login(user)
    await user.press_data(2, f"tpa:name:{template.id}")
    await user.expect_message()
    for code, words in TEMPLATES_ERRORS.items():
        smsc.fault = code
        try:
            await user.send(f"Name {code}")
            reply = (await user.expect_message()).text or ""
        finally:
            smsc.fault = None
        assert words in reply and "Send it again" in reply, (code, reply)
    await user.send("Final name")
    assert "Saved" in ((await user.expect_message()).text or "")
    assert account.templates[template.id].name == "Final name"

    smsc.fault = 3
    try:
        await user.press_data(2, f"tpa:name:{template.id}")
        await user.expect_message()
        await user.send("Name 3")
        assert "no longer exists" in ((await user.expect_message()).text or "")
        smsc.fault = 4
        await user.send("/templates")
        assert "temporarily blocked" in ((await user.expect_message()).text or "")
    finally:
        smsc.fault = None


async def test_a_rename_sends_every_field_so_nothing_is_blanked(
    bot: RunningBot, fake_telegram: FakeTelegram, smsc: SmscEmulator
) -> None:
    # templates.php does not promise that a field left out of chg is kept; here it is not.
    smsc.shapes.template_chg_keeps = False
    account = smsc.accounts[LOGIN]
    template = add(account, "Promo", "Скидка 10%", format="viber", sender="MyShop", flag=1)
    user = fake_telegram.user(6010)
    await login(user)
    await user.press(await open_templates(user), "Promo")
    card = await user.expect_edit()
    await user.press(card, "Rename")
    await user.expect_message()
    await user.send("Promo 2")
    assert "Saved" in ((await user.expect_message()).text or "")
    changed = account.templates[template.id]
    assert (changed.name, changed.message, changed.format, changed.sender, changed.flag) == (
        "Promo 2",
        "Скидка 10%",
        "viber",
        "MyShop",
        1,
    )
    await user.press(card, "New text")
    await user.expect_message()
    await user.send("Скидка 20%")
    assert "Saved" in ((await user.expect_message()).text or "")
    changed = account.templates[template.id]
    assert (changed.name, changed.message, changed.format, changed.sender, changed.flag) == (
        "Promo 2",
        "Скидка 20%",
        "viber",
        "MyShop",
        1,
    )


async def test_a_text_with_a_nul_character_goes_on_through_the_wizard(
    bot: RunningBot, fake_telegram: FakeTelegram, smsc: SmscEmulator
) -> None:
    """A conversation keeps any text, a NUL character too (PostgreSQL's jsonb holds none)."""
    user = fake_telegram.user(6009)
    await login(user)
    await user.press(await open_templates(user), "Add a template")
    await user.expect_message()
    await user.send("Nul")
    await user.expect_message()
    await user.send("line\x00end")
    formats = await user.expect_message()
    assert "8 characters, 1 SMS" in (formats.text or ""), formats.text


async def test_the_sender_names_offered_fit_a_phone_when_a_digital_name_is_long(
    bot: RunningBot, fake_telegram: FakeTelegram, smsc: SmscEmulator
) -> None:
    """Approved names sat three to a row whatever their length: a digital name may have 15
    digits, and a row with a label over 13 characters holds at most 2 (issue 13)."""
    from tests.e2e.test_widths import row_problems

    account = smsc.accounts[LOGIN]
    for name in ("Brand", "Shop", "380501234567890", "Cafe"):
        seed_sender(account, name, 1)
    user = fake_telegram.user(6010, language_code="ru")
    await login(user, expect=None)
    await user.press(await open_templates(user), "Добавить шаблон")
    await user.expect_message()
    await user.send("Акция")
    await user.expect_message()
    await user.send("Скидка 20% до воскресенья")
    await user.press(await user.expect_message(), "SMS")
    senders = await user.expect_edit()
    assert set(senders.button_texts) >= {"Brand", "Shop", "380501234567890", "Cafe"}
    problems = [p for row in senders.buttons for p in row_problems(tuple(b.text for b in row))]
    assert not problems, problems
    await user.press(senders, "380501234567890")
    await user.press(await user.expect_edit(), "Сохранить")
    assert "добавлен" in ((await user.expect_edit()).text or "")
    (template,) = account.templates.values()
    assert template.sender == "380501234567890"
