"""Pages after and before a cursor, for contacts (after_id, ascending) and the black list
(prev_id, newest first), read from the SMSC emulator over HTTP."""

from __future__ import annotations

from bot.services.blacklist import BlackLists
from bot.services.phonebook import PhoneBooks
from bot.smsc import Credentials, SmscConnector
from bot.smsc.emulator import Contact as EmuContact
from bot.smsc.emulator import SmscEmulator
from bot.storage.accounts import Account
from tests.conftest import LOGIN, PASSWORD


def account() -> Account:
    return Account(chat_id=1, site="ru", login=LOGIN, auth_kind="password", secret=PASSWORD)


def seed_contacts(emulator: SmscEmulator, count: int) -> list[int]:
    state = emulator.accounts[LOGIN]
    ids = []
    for i in range(count):
        contact_id = state.new_id("contact")
        state.contacts[contact_id] = EmuContact(contact_id, [f"7999{i:07d}"], f"Name {i}")
        ids.append(contact_id)
    return ids


async def test_contacts_after_and_before_an_int_id(
    connector: SmscConnector, credentials: Credentials, emulator: SmscEmulator
) -> None:
    ids = seed_contacts(emulator, 20)
    book = PhoneBooks().of(connector.client(credentials), account())

    first = await book.after(None, None, None, 9)
    assert [c.int_id for c in first] == ids[:9]
    second = await book.after(None, None, ids[7], 9)
    assert [c.int_id for c in second] == ids[8:17]

    # Walking back a page from the third one, in steps smaller than the list.
    back, earlier, later = await book.before(None, None, ids[16], 8)
    assert ([c.int_id for c in back], earlier, later) == (ids[8:16], True, True)
    back, earlier, later = await book.before(None, None, ids[8], 8)
    assert ([c.int_id for c in back], earlier, later) == (ids[:8], False, True)


async def test_black_list_pages_both_ways_with_and_without_a_search(
    connector: SmscConnector, credentials: Credentials, emulator: SmscEmulator
) -> None:
    smsc = connector.client(credentials)
    for i in range(25):
        emulator.accounts[LOGIN].add_black(f"7999{i:07d}", 0)
    lists = BlackLists()

    newest, has_prev, has_next = await lists.page(smsc, "", "n", 0, 10)
    assert [e.phone for e in newest] == [f"7999{i:07d}" for i in range(24, 14, -1)]
    assert (has_prev, has_next) == (False, True)
    older, has_prev, has_next = await lists.page(smsc, "", "n", newest[-1].id, 10)
    assert [e.phone for e in older] == [f"7999{i:07d}" for i in range(14, 4, -1)]
    assert (has_prev, has_next) == (True, True)
    back, has_prev, has_next = await lists.page(smsc, "", "p", older[0].id, 10)
    assert (back, has_prev, has_next) == (newest, False, True)

    # Numbers with a 1 among their digits (…01, …10 to …19, …21), newest first, two a page.
    found, has_prev, has_next = await lists.page(smsc, "1", "n", 0, 2)
    assert ([e.phone[-2:] for e in found], has_prev, has_next) == (["21", "19"], False, True)
    older, has_prev, has_next = await lists.page(smsc, "1", "n", found[-1].id, 2)
    assert ([e.phone[-2:] for e in older], has_prev, has_next) == (["18", "17"], True, True)
    back, has_prev, has_next = await lists.page(smsc, "1", "p", older[0].id, 2)
    assert (back, has_prev, has_next) == (found, False, True)
