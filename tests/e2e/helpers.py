"""What the end-to-end tests share: logging a user in, filling the emulated SMSC account, and
reading what SMSC and the data folder got."""

from __future__ import annotations

from pathlib import Path

from hypothesis import HealthCheck, settings
from pydantic import SecretStr

from bot.app import DB_NAME
from bot.smsc.emulator import Contact, Group, SmscEmulator
from bot.smsc.emulator.state import Account, LedgerEntry, Sender, Subclient
from tests.conftest import LOGIN, PASSWORD
from tests.support.botapi import FakeUser
from tests.support.servers import database_bytes

CYRILLIC = set("абвгдеёжзийклмнопрстуфхцчшщъыьэюя")

LOGGED_IN = "Logged in"


async def login(user: FakeUser, password: str = PASSWORD, *, expect: str | None = LOGGED_IN) -> str:
    """Log in with the one-line /login; returns the bot's answer, checked to hold ``expect``
    (``None`` when the answer is what the test looks at: a refusal, SMSC down)."""
    await user.send(f"/login {LOGIN} {password}")
    text = (await user.expect_message()).text or ""
    if expect is not None:
        assert expect in text
    return text


def seed_group(smsc: SmscEmulator, name: str, **fields: object) -> int:
    """A group in the test account as if made on SMSC's site; returns its id."""
    account = smsc.accounts[LOGIN]
    group_id = account.new_id("group")
    account.groups[group_id] = Group(group_id, name, **fields)  # type: ignore[arg-type]
    return group_id


def seed_contact(smsc: SmscEmulator, phone: str, name: str, **fields: object) -> int:
    """A contact in the test account; returns its id."""
    account = smsc.accounts[LOGIN]
    contact_id = account.new_id("contact")
    account.contacts[contact_id] = Contact(contact_id, [phone], name, **fields)  # type: ignore[arg-type]
    return contact_id


def seed_subclient(account: Account, login: str, kind: int = 0, *entries: LedgerEntry) -> Subclient:
    """A subclient of ``account`` of that type, with these statistics lines."""
    sub = Subclient(account.new_id("user"), login, "Old-Passw0rd", type=kind)
    sub.ledger.extend(entries)
    account.subclients[login] = sub
    return sub


def seed_sender(account: Account, name: str, status: int = 0, **operators: int) -> Sender:
    """A sender name of ``account`` with that status, and per-operator statuses."""
    sender = Sender(account.new_id("sender"), name, status)
    sender.operators.update(operators)
    account.senders[sender.id] = sender
    return sender


def requests_to(smsc: SmscEmulator, script: str, command: str) -> list[dict[str, str]]:
    """The parameters of every request to ``script`` (phones, get…) SMSC received with
    ``command`` set."""
    return [
        r.params for r in smsc.requests if r.path == f"/sys/{script}.php" and r.params.get(command)
    ]


def phone_requests(smsc: SmscEmulator, command: str) -> list[dict[str, str]]:
    return requests_to(smsc, "phones", command)


def get_requests(smsc: SmscEmulator, command: str) -> list[dict[str, str]]:
    return requests_to(smsc, "get", command)


def payments(smsc: SmscEmulator) -> list[dict[str, str]]:
    """Every top-up SMSC received."""
    return [dict(r.params) for r in smsc.requests if r.params.get("pay") == "1"]


def black(smsc: SmscEmulator) -> dict[str, int]:
    """Number → type, as SMSC holds the test account's black list."""
    return {e.phone: e.type for e in smsc.accounts[LOGIN].black.values()}


async def db_bytes(data_dir: Path, database_url: str | SecretStr | None = None) -> bytes:
    """What the bot stored: the SQLite database with its -wal and -shm, as they are on disk now,
    or every value in the PostgreSQL database at ``database_url``."""
    if isinstance(database_url, SecretStr):
        database_url = database_url.get_secret_value()
    if database_url is not None:
        return await database_bytes(database_url)
    return _sqlite_bytes(data_dir)


def _sqlite_bytes(data_dir: Path) -> bytes:
    return b"".join(p.read_bytes() for p in data_dir.glob(f"{DB_NAME}*"))


def examples(count: int) -> settings:
    """Hypothesis settings for a property that drives the bot: ``count`` examples, no deadline
    (an example takes seconds), the test's fixtures shared by every example, and the blob that
    replays a failure."""
    return settings(
        max_examples=count,
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
        print_blob=True,
    )


def has_cyrillic(text: str) -> bool:
    """Whether the text has Russian letters (a reply in Russian, not in English)."""
    return bool(CYRILLIC & set(text.lower()))
