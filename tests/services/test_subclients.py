"""bot.services.subclients against the SMSC emulator over HTTP and a real database file: the list
from both kinds of statistics and the bot's records, references, creating and renaming."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import aiosqlite
import pytest

from bot.crypto import SecretBox
from bot.services import subclients
from bot.smsc import Credentials, SmscClient, SmscConnector, SmscError, SmscSettings
from bot.smsc.emulator import SmscEmulator
from bot.smsc.emulator.state import LedgerEntry
from bot.smsc.models import SubclientType
from bot.storage.accounts import Account, AccountRepo
from bot.storage.db import open_database
from tests.conftest import LOGIN, PASSWORD, ManualClock, closed_port
from tests.e2e.helpers import seed_subclient

CHAT = 42


@pytest.fixture
async def repo(tmp_path: Path) -> AsyncIterator[AccountRepo]:
    conn: aiosqlite.Connection = await open_database(tmp_path / "bot.db")
    accounts = AccountRepo(conn, SecretBox([SecretBox.generate_key()]))
    await accounts.save(
        Account(
            chat_id=CHAT,
            site="smsc.ru",
            login=LOGIN,
            auth_kind="password",
            secret=PASSWORD,
            verified_at=datetime.now(UTC),
        )
    )
    try:
        yield accounts
    finally:
        await conn.close()


async def test_known_subclients_from_both_statistics_and_the_bots_records(
    smsc: SmscClient, repo: AccountRepo, emulator: SmscEmulator
) -> None:
    seed_subclient(emulator.accounts[LOGIN], "own-1", 0)
    seed_subclient(emulator.accounts[LOGIN], "Shared-1", 2)
    await repo.add_subclient(CHAT, "quiet-1")
    await repo.add_subclient(CHAT, "own-1")
    found = await subclients.known_subclients(smsc, repo, CHAT)
    assert found == {"own-1": True, "quiet-1": None, "Shared-1": False}
    assert list(found) == ["own-1", "quiet-1", "Shared-1"]
    resellers = sorted(r.params.get("reseller", "") for r in emulator.requests)
    assert resellers == ["", "1"]
    assert await subclients.own_balance_logins(smsc) == {"own-1"}


async def test_a_long_or_foreign_login_travels_as_a_digest_and_resolves_back(
    smsc: SmscClient, repo: AccountRepo, emulator: SmscEmulator
) -> None:
    seed_subclient(emulator.accounts[LOGIN], "имя-клиента", 0)
    ref = subclients.login_ref("имя-клиента")
    assert ref.startswith("#") and len(ref.encode()) == 13
    assert subclients.login_ref("plain_login-1") == "plain_login-1"
    assert await subclients.resolve_ref(ref, smsc, repo, CHAT) == "имя-клиента"
    assert await subclients.resolve_ref("#000000000000", smsc, repo, CHAT) is None
    before = len(emulator.requests)
    assert await subclients.resolve_ref("plain", smsc, repo, CHAT) == "plain"
    assert len(emulator.requests) == before


async def test_create_remembers_only_what_smsc_made(
    smsc: SmscClient, repo: AccountRepo, emulator: SmscEmulator
) -> None:
    await subclients.Subclients(smsc, repo, CHAT).create(
        "shop-2",
        "Str0ng-Pass",
        phone=None,
        type=SubclientType.MAIN_TARIFF_MAIN_BALANCE,
        use_main_senders=True,
    )
    made = emulator.accounts[LOGIN].subclients["shop-2"]
    assert made.type == int(SubclientType.MAIN_TARIFF_MAIN_BALANCE)
    assert await repo.list_subclients(CHAT) == ["shop-2"]
    seed_subclient(emulator.accounts[LOGIN], "taken")
    with pytest.raises(SmscError) as refused:
        await subclients.Subclients(smsc, repo, CHAT).create(
            "taken",
            "Str0ng-Pass",
            phone=None,
            type=SubclientType.OWN_TARIFF_OWN_BALANCE,
            use_main_senders=False,
        )
    assert refused.value.code == 5
    assert await repo.list_subclients(CHAT) == ["shop-2"]


async def test_rename_follows_in_the_bots_record(
    smsc: SmscClient, repo: AccountRepo, emulator: SmscEmulator
) -> None:
    seed_subclient(emulator.accounts[LOGIN], "old-name")
    await repo.add_subclient(CHAT, "old-name")
    await subclients.Subclients(smsc, repo, CHAT).rename("old-name", "new-name")
    assert "new-name" in emulator.accounts[LOGIN].subclients
    assert await repo.list_subclients(CHAT) == ["new-name"]


async def test_figures_of_the_month_and_of_today(
    smsc: SmscClient, repo: AccountRepo, emulator: SmscEmulator
) -> None:
    today = date.today()
    own = seed_subclient(emulator.accounts[LOGIN], "own-1", 0)
    own.ledger.append(LedgerEntry(today, "SMS", sms=3, credit=Decimal("4.50")))
    own.ledger.append(LedgerEntry(today, "top-up", debit=Decimal("100")))
    shared = seed_subclient(emulator.accounts[LOGIN], "shared-1", 2)
    shared.ledger.append(LedgerEntry(today, "SMS", sms=2, credit=Decimal("3")))
    month = await subclients.this_month(smsc, "own-1")
    assert month is not None and (month.sms, month.spent) == (3, Decimal("4.50"))
    # A subclient sharing the main balance is asked about without reseller=1.
    month = await subclients.this_month(smsc, "shared-1")
    assert month is not None and month.sms == 2
    assert emulator.requests[-1].params.get("reseller", "") == ""
    day = await subclients.today_of(smsc, "own-1")
    assert day is not None and day.credited == Decimal("100")


def test_smsc_rules_for_logins_passwords_and_amounts() -> None:
    assert subclients.valid_login("a.b-c_d@e") and not subclients.valid_login("bad login!")
    assert not subclients.valid_login("x" * 33)
    assert subclients.valid_password("Str0ng-Pass")
    assert not subclients.valid_password("weakpass1")
    assert not subclients.valid_password("Str0ng Pass")
    assert subclients.parse_amount("1 250,50") == Decimal("1250.50")
    assert subclients.parse_amount("0") is None
    assert subclients.parse_amount("1.234") is None
    assert subclients.parse_amount("-5") is None


async def test_a_reseller_is_an_account_smsc_names_subclients_for_asked_seldom(
    smsc: SmscClient, repo: AccountRepo, emulator: SmscEmulator, clock: ManualClock
) -> None:
    resellers = subclients.Resellers(recheck=600, clock=clock)
    assert not await resellers.has_subclients("k", smsc, repo, CHAT)
    asked = len(emulator.requests)
    assert asked == 2
    seed_subclient(emulator.accounts[LOGIN], "own-1", 0)
    clock.advance(300)
    assert not await resellers.has_subclients("k", smsc, repo, CHAT)  # a no is kept a while
    assert len(emulator.requests) == asked
    clock.advance(301)
    assert await resellers.has_subclients("k", smsc, repo, CHAT)
    asked = len(emulator.requests)
    clock.advance(10_000)
    assert await resellers.has_subclients("k", smsc, repo, CHAT)  # a yes is kept
    assert len(emulator.requests) == asked


async def test_a_subclient_made_through_the_bot_or_smsc_down_keeps_the_way_in(
    repo: AccountRepo, clock: ManualClock, emulator: SmscEmulator
) -> None:
    resellers = subclients.Resellers(clock=clock)
    down = SmscConnector(SmscSettings(api_url=f"http://127.0.0.1:{closed_port()}"))
    try:
        client = down.client(Credentials.with_password(LOGIN, PASSWORD))
        assert await resellers.has_subclients("k", client, repo, CHAT)
        await repo.add_subclient(CHAT, "quiet-1")
        assert await resellers.has_subclients("k2", client, repo, CHAT)
    finally:
        await down.aclose()
    assert emulator.requests == []


async def test_a_subclient_made_through_the_bot_shows_at_once_after_a_no(
    smsc: SmscClient, repo: AccountRepo, emulator: SmscEmulator, clock: ManualClock
) -> None:
    resellers = subclients.Resellers(clock=clock)
    assert not await resellers.has_subclients("k", smsc, repo, CHAT)
    asked = len(emulator.requests)
    await repo.add_subclient(CHAT, "new-1")
    assert await resellers.has_subclients("k", smsc, repo, CHAT)
    assert len(emulator.requests) == asked
