"""A number is a thing (issue 13): a number sent on its own opens its card, which blocks,
changes the type, unblocks (confirmed) and saves the number as a contact, all in place."""

from __future__ import annotations

from bot.smsc.emulator import SmscEmulator
from tests.conftest import LOGIN
from tests.e2e.conftest import RunningBot
from tests.e2e.helpers import black, login, seed_contact
from tests.support.botapi import FakeTelegram


async def test_the_card_blocks_changes_the_type_and_unblocks_in_place(
    bot: RunningBot, fake_telegram: FakeTelegram, smsc: SmscEmulator
) -> None:
    seed_contact(smsc, "79161112233", "Иван Петров")
    user = fake_telegram.user(9301)
    await login(user)
    await user.send("+79161112233")
    card = await user.expect_message()
    assert "+7 916 111-22-33" in card.text and "not blocked" in card.text
    assert "Иван Петров" in card.text and "👤 Contact card" in card.button_texts
    await user.press(card, "⛔ Block")
    blocked = await user.expect_edit()
    assert "all messages are blocked" in blocked.text and black(smsc) == {"79161112233": 0}
    await user.press(blocked, "Mass mailings")
    changed = await user.expect_edit()
    assert "mass mailings are blocked" in changed.text and black(smsc) == {"79161112233": 1}
    assert "✓ Mass mailings" in changed.button_texts
    await user.press(changed, "Unblock")
    question = await user.expect_edit()
    await user.press(question, "No")
    assert "mass mailings are blocked" in (await user.expect_edit()).text and black(smsc)
    await user.press(card, "Unblock")
    await user.press(await user.expect_edit(), "Yes")
    unblocked = await user.expect_edit()
    assert "Unblocked." in unblocked.text and "not blocked" in unblocked.text
    assert black(smsc) == {} and unblocked.message_id == card.message_id


async def test_add_as_contact_from_the_card(
    bot: RunningBot, fake_telegram: FakeTelegram, smsc: SmscEmulator
) -> None:
    user = fake_telegram.user(9302)
    await login(user)
    await user.send("8 (916) 555-00-11")
    card = await user.expect_message()
    assert "Contacts: not saved." in card.text
    await user.press(card, "👤 Add as contact")
    assert "Now send the contact's name" in (await user.expect_message()).text
    await user.send("Анна")
    await user.press(await user.expect_message(), "Save")
    assert "Saved." in (await user.expect_edit()).text
    [contact] = smsc.accounts[LOGIN].contacts.values()
    assert (contact.name, contact.phones) == ("Анна", ["79165550011"])


async def test_text_that_only_looks_like_a_number_is_answered(
    bot: RunningBot, fake_telegram: FakeTelegram, smsc: SmscEmulator
) -> None:
    user = fake_telegram.user(9303)
    await login(user)
    await user.send("123-45-67")
    assert "is not a valid phone number" in (await user.expect_message()).text
    await user.send("просто текст")
    assert "/help" in (await user.expect_message()).text


async def test_a_forwarded_number_opens_its_card_with_history_and_the_way_home(
    bot: RunningBot, fake_telegram: FakeTelegram, smsc: SmscEmulator
) -> None:
    """Issue 13: a forwarded message with one number opens that number's card, which (issue 14)
    shows what was sent to it; every card leads home."""
    user = fake_telegram.user(9304)
    await login(user)
    origin = {"type": "hidden_user", "sender_user_name": "Клиент", "date": 0}
    user._user_message({"text": "Мне пишут с +7 916 555-00-11", "forward_origin": origin})
    card = await user.expect_message()
    assert "+7 916 555-00-11" in card.text and "not blocked" in card.text
    assert {"⛔ Block", "👤 Add as contact"} <= set(card.button_texts)
    assert any("Sent messages" in b for b in card.button_texts)
    assert "⬅ Menu" in card.button_texts
    await user.press(card, next(b for b in card.button_texts if "Sent messages" in b))
    history = await user.expect_message()
    assert "Nothing was sent to +7 916 555-00-11" in history.text
    # Not a dead end: the number's card again (to block it), or home.
    assert history.button_texts == ["+7 916 555-00-11 ›", "⬅ Menu"]
    await user.press(history, "+7 916 555-00-11 ›")
    assert "⛔ Block" in (await user.expect_edit()).button_texts
