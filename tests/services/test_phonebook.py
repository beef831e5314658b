"""PhoneBook: the last answer is shown when, and only when, SMSC refuses a read with error 9."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bot.services.phonebook import PhoneBooks
from bot.smsc import Credentials, SmscConnector, SmscError
from bot.smsc.emulator import Contact as EmuContact
from bot.smsc.emulator import SmscEmulator
from bot.storage.accounts import Account
from tests.conftest import LOGIN, PASSWORD, ManualClock


def account(verified_at: datetime | None = None) -> Account:
    return Account(
        chat_id=1,
        site="ru",
        login=LOGIN,
        auth_kind="password",
        secret=PASSWORD,
        verified_at=verified_at,
    )


async def test_error_9_shows_the_last_answer_kept_up_to_date_by_writes(
    connector: SmscConnector,
    credentials: Credentials,
    emulator: SmscEmulator,
    clock: ManualClock,
) -> None:
    state = emulator.accounts[LOGIN]
    state.contacts[1] = EmuContact(1, ["79991234567"], "Anna")
    books = PhoneBooks()
    smsc = connector.client(credentials)
    book = books.of(smsc, account())

    contact = await book.contact("79991234567")
    assert contact is not None and contact.name == "Anna"
    await book.rename("79991234567", "Anna K.")
    groups = await book.groups()

    emulator.fault = 9
    clock.advance(30)  # past the client's own cache of identical reads
    recalled = await book.contact("79991234567")
    assert recalled is not None and recalled.name == "Anna K."
    assert await book.groups() == groups
    # Never read before: nothing to recall, the refusal goes on.
    with pytest.raises(SmscError) as refused:
        await book.contact("79990000000")
    assert refused.value.code == 9
    # Another log-in of the same chat recalls nothing of the first one.
    later = books.of(smsc, account(datetime(2026, 1, 1, tzinfo=UTC)))
    with pytest.raises(SmscError):
        await later.contact("79991234567")


async def test_other_errors_are_never_answered_from_memory(
    connector: SmscConnector,
    credentials: Credentials,
    emulator: SmscEmulator,
    clock: ManualClock,
) -> None:
    emulator.accounts[LOGIN].contacts[1] = EmuContact(1, ["79991234567"], "Anna")
    book = PhoneBooks().of(connector.client(credentials), account())
    assert await book.contact("79991234567") is not None

    emulator.fault = 1
    clock.advance(30)
    with pytest.raises(SmscError) as refused:
        await book.contact("79991234567")
    assert refused.value.code == 1
    emulator.fault = 9
    assert await book.names() == {}
