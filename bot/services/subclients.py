"""Subclients: which ones the account has (SMSC has no command that lists them), the references
that stand for a login in button data, the bot's records of those it created, and SMSC's rules
for their logins, passwords and top-up amounts."""

from __future__ import annotations

import asyncio
import hashlib
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Final

from bot.smsc import SmscBadResponse, SmscClient, SmscError, SmscUnavailable
from bot.smsc.models import StatRow, SubclientType
from bot.storage.accounts import AccountRepo

# How far back the list looks: a subclient shows up in get_stat only for a period it existed in,
# and SMSC documents no limit on the period's length.
LIST_SINCE_YEARS: Final = 5

# Logins the bot creates or renames to, and the ones that stand for themselves in button data;
# any other login travels as a digest of itself.
_LOGIN: Final = re.compile(r"^[A-Za-z0-9_.@\-]{1,32}$")
_DIGEST_PREFIX: Final = "#"
_AMOUNT: Final = re.compile(r"^\d{1,9}(?:[.,]\d{1,2})?$")


def valid_login(login: str) -> bool:
    """1 to 32 Latin letters, digits and ``_ . - @``."""
    return bool(_LOGIN.match(login))


def valid_password(password: str) -> bool:
    """SMSC's rule: at least 8 characters and three of lower case, capitals, digits, symbols."""
    classes = (
        any(ch.islower() for ch in password),
        any(ch.isupper() for ch in password),
        any(ch.isdigit() for ch in password),
        any(not ch.isalnum() for ch in password),
    )
    return len(password) >= 8 and sum(classes) >= 3 and not any(ch.isspace() for ch in password)


def parse_amount(text: str) -> Decimal | None:
    """A positive top-up amount with at most two decimals (a comma or a point); None otherwise."""
    text = re.sub(r"[\s\u00a0\u202f]", "", text)
    if not _AMOUNT.match(text):
        return None
    try:
        amount = Decimal(text.replace(",", "."))
    except InvalidOperation:
        return None
    return amount if amount > 0 else None


def login_ref(login: str) -> str:
    """What stands for a login in callback data: the login, or a digest when it would not fit."""
    if _LOGIN.match(login):
        return login
    return _DIGEST_PREFIX + hashlib.sha256(login.encode()).hexdigest()[:12]


def _since(today: date) -> date:
    return date(today.year - LIST_SINCE_YEARS, 1, 1)


@dataclass(frozen=True)
class Known:
    """A subclient as the statistics show it: own balance (True), the main one (False) or not
    known (None: made through the bot, no activity yet); money credited and spent in the window,
    and what is left of the credit (its own balance, when the window holds its whole life)."""

    own: bool | None
    credited: Decimal = Decimal(0)
    spent: Decimal = Decimal(0)
    currency: str = ""

    @property
    def left(self) -> Decimal:
        return self.credited - self.spent


async def known_money(
    smsc: SmscClient, repo: AccountRepo, chat_id: int, *, today: date | None = None
) -> dict[str, Known]:
    """Every subclient we know of, by login, with its money (the same two reads as
    ``known_subclients``, answered from the client's cache when just made)."""
    today = today or date.today()
    found: dict[str, Known] = {}
    for own in (False, True):
        for row in await smsc.get_stat(_since(today), today, reseller=own):
            found[row.login] = Known(own, row.credited, row.spent, row.currency)
    for login in await repo.list_subclients(chat_id):
        found.setdefault(login, Known(None))
    return dict(sorted(found.items(), key=lambda item: item[0].casefold()))


async def known_subclients(
    smsc: SmscClient, repo: AccountRepo, chat_id: int, *, today: date | None = None
) -> dict[str, bool | None]:
    """Every subclient we know of, by login: True own balance, False main balance, None unknown.

    get_stat without ``reseller`` lists the subclients sharing the main balance, with it those
    with their own; subclients created through the bot are added even before any activity.
    """
    today = today or date.today()
    found: dict[str, bool | None] = {}
    for row in await smsc.get_stat(_since(today), today):
        found[row.login] = False
    for row in await smsc.get_stat(_since(today), today, reseller=True):
        found[row.login] = True
    for login in await repo.list_subclients(chat_id):
        found.setdefault(login, None)
    return dict(sorted(found.items(), key=lambda item: item[0].casefold()))


class Resellers:
    """Whether an SMSC account has subclients (home offers "Subclients" to resellers only).

    A yes is kept for the process, a no for ``recheck`` seconds, so showing home again and again
    costs SMSC nothing; a subclient made through the bot is a yes without asking SMSC. Home waits
    at most ``wait`` seconds for SMSC: a slower answer is still taken, for the next time.
    """

    def __init__(
        self,
        *,
        recheck: float = 600.0,
        wait: float = 2.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._recheck = recheck
        self._wait = wait
        self._clock = clock
        self._known: dict[str, tuple[bool, float]] = {}
        self._asking: dict[str, asyncio.Task[bool]] = {}

    async def has_subclients(
        self, key: str, smsc: SmscClient, repo: AccountRepo, chat_id: int
    ) -> bool:
        """Whether the account ``key`` has subclients; True while SMSC has not said (no way in is
        hidden because SMSC was slow or down)."""
        found = self._known.get(key)
        if found is not None and found[0]:
            return True
        if await repo.list_subclients(chat_id):
            self._known[key] = (True, self._clock())
            return True
        if found is not None and self._clock() - found[1] < self._recheck:
            return False
        task = self._asking.get(key)
        if task is None:
            task = self._asking[key] = asyncio.create_task(self._ask(key, smsc))
            task.add_done_callback(lambda done: self._asked(key, done))
        try:
            # Shielded: the home screen giving up on it does not cancel the question.
            return await asyncio.wait_for(asyncio.shield(task), self._wait)
        except TimeoutError:
            return True

    def _asked(self, key: str, task: asyncio.Task[bool]) -> None:
        del self._asking[key]
        if not task.cancelled():
            # Retrieved here, so a failure nobody waited for (home gave up) is not logged as lost.
            task.exception()

    async def _ask(self, key: str, smsc: SmscClient) -> bool:
        today = date.today()
        try:
            # The reads known_subclients makes, so the list opened next comes from the cache.
            has = bool(await smsc.get_stat(_since(today), today)) or bool(
                await smsc.get_stat(_since(today), today, reseller=True)
            )
        except (SmscError, SmscUnavailable, SmscBadResponse):
            return True
        self._known[key] = (has, self._clock())
        return has


async def own_balance_logins(smsc: SmscClient, *, today: date | None = None) -> set[str]:
    """Logins of the subclients with their own balance: SMSC names them only with reseller=1.

    The same question as ``known_subclients`` asks, so a list just shown answers it from memory.
    """
    today = today or date.today()
    return {row.login for row in await smsc.get_stat(_since(today), today, reseller=True)}


async def resolve_ref(ref: str, smsc: SmscClient, repo: AccountRepo, chat_id: int) -> str | None:
    """The login a reference stands for; None when no known subclient matches a digest."""
    if not ref.startswith(_DIGEST_PREFIX):
        return ref
    for login in await known_subclients(smsc, repo, chat_id):
        if login_ref(login) == ref:
            return login
    return None


def row_of(rows: list[StatRow], login: str) -> StatRow | None:
    return next((row for row in rows if row.login == login), None)


async def this_month(smsc: SmscClient, login: str, *, today: date | None = None) -> StatRow | None:
    """The subclient's figures since the first of the month; None when it has none."""
    today = today or date.today()
    own = login in await own_balance_logins(smsc, today=today)
    found = await smsc.get_stat(today.replace(day=1), today, user=login, reseller=own)
    return row_of(found, login) or (found[0] if found else None)


async def today_of(smsc: SmscClient, login: str, *, today: date | None = None) -> StatRow | None:
    """Today's figures of a subclient with its own balance (the only kind that can be topped up,
    which SMSC reports only with reseller=1)."""
    today = today or date.today()
    return row_of(await smsc.get_stat(today, today, user=login, reseller=True), login)


@dataclass(frozen=True)
class Subclients:
    """The subclients as one chat sees them: its account's client, the bot's records of those it
    made, and the chat (handlers get one as ``subs`` from AccountToolsMiddleware)."""

    smsc: SmscClient
    repo: AccountRepo
    chat_id: int

    async def known_money(self) -> dict[str, Known]:
        return await known_money(self.smsc, self.repo, self.chat_id)

    async def resolve(self, ref: str) -> str | None:
        return await resolve_ref(ref, self.smsc, self.repo, self.chat_id)

    async def create(
        self,
        login: str,
        password: str,
        *,
        phone: str | None,
        type: SubclientType,
        use_main_senders: bool,
    ) -> None:
        """Create the subclient in SMSC and remember it: the list shows it before it has
        activity."""
        await self.smsc.add_subclient(
            login, password, phone=phone, type=type, use_main_senders=use_main_senders
        )
        await self.repo.add_subclient(self.chat_id, login)

    async def rename(self, login: str, new_login: str) -> None:
        """Give the subclient a new login in SMSC, and in the bot's record when it made it."""
        await self.smsc.change_subclient(login, new_login=new_login)
        await self.repo.rename_subclient(self.chat_id, login, new_login)
