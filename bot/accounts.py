"""Which SMSC account a chat uses: log-in checks (throttled), saved credentials, client hand-out.

SMSC blocks a server's IP for 30 minutes after 5 failed log-ins in 30 minutes, and every
customer of the bot shares that IP. So failed checks are counted per chat and across all chats,
and a saved account whose password stopped working is not sent to SMSC again until a new log-in.
"""

from __future__ import annotations

import re
import secrets
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Final

from bot.crypto import SecretError
from bot.smsc import Credentials, Site, SmscClient, SmscConnector, SmscError
from bot.smsc.limits import Clock
from bot.smsc.models import Balance
from bot.storage.accounts import Account, AccountRepo

DEMO_SITE: Final = "demo"
AUTH_FAILED: Final = 2
FAILURE_WINDOW: Final = 30 * 60.0
# What a chat is told to wait when only checks still under way fill the limit.
PENDING_WAIT: Final = 60.0
SITES: Final = tuple(site.value for site in Site)
# SMSC's API pages say nothing of the characters a login may hold, so this rule is ours, and
# conservative: the Latin letters, digits and signs _ . - @ that the bot allows for subclient
# logins (handlers/subclients.py), up to 64 characters. Anything else (a space, another sign,
# another alphabet) may well be a password, and is never sent to SMSC as a login.
LOGIN_SHAPE: Final = re.compile(r"[A-Za-z0-9_.@-]{1,64}")


def looks_like_login(text: str) -> bool:
    """Whether ``text`` could be an SMSC login (see LOGIN_SHAPE)."""
    return LOGIN_SHAPE.fullmatch(text) is not None


class LoginThrottled(Exception):
    """Too many failed log-ins lately; ``retry_after`` seconds until the next check may go out."""

    def __init__(self, retry_after: float) -> None:
        super().__init__(f"log-in checks paused for {retry_after:.0f} s")
        self.retry_after = retry_after


class NotLoggedIn(Exception):
    """The chat has no saved SMSC account."""


class NeedsRelogin(Exception):
    """SMSC rejected the saved credentials; they stay unused until the user logs in again."""


class LoginThrottle:
    """At most ``limit`` failed checks per chat and ``limit`` overall per ``window`` seconds."""

    def __init__(
        self, limit: int = 3, window: float = FAILURE_WINDOW, clock: Clock = time.monotonic
    ):
        self._limit = limit
        self._window = window
        self._clock = clock
        self._all: deque[float] = deque()
        self._per_chat: dict[int, deque[float]] = {}
        # Checks still waiting for SMSC's answer count as failures until they are known not to
        # be: updates are handled concurrently, and a burst of wrong passwords would otherwise
        # all pass the check before the first failure is counted.
        self._pending_all = 0
        self._pending: dict[int, int] = {}

    def _wait(self, events: deque[float], pending: int, now: float) -> float:
        while events and now - events[0] >= self._window:
            events.popleft()
        if len(events) + pending < self._limit:
            return 0.0
        if len(events) >= self._limit:
            return self._window - (now - events[0])
        # Full only with checks under way: they end within a call timeout, and may free a place.
        return PENDING_WAIT

    def check(self, chat_id: int) -> None:
        """Raise ``LoginThrottled`` when a check now could bring SMSC's IP block closer."""
        now = self._clock()
        wait = max(
            self._wait(self._all, self._pending_all, now),
            self._wait(self._per_chat.get(chat_id, deque()), self._pending.get(chat_id, 0), now),
        )
        if wait > 0:
            raise LoginThrottled(wait)

    def begin(self, chat_id: int) -> None:
        """A check is going out: it holds a place until ``end``."""
        self._pending_all += 1
        self._pending[chat_id] = self._pending.get(chat_id, 0) + 1

    def end(self, chat_id: int) -> None:
        self._pending_all -= 1
        left = self._pending[chat_id] - 1
        if left:
            self._pending[chat_id] = left
        else:
            del self._pending[chat_id]

    def failed(self, chat_id: int) -> None:
        now = self._clock()
        self._all.append(now)
        self._per_chat.setdefault(chat_id, deque()).append(now)


@dataclass(frozen=True, slots=True)
class LoginResult:
    account: Account
    balance: Balance


class AccountService:
    """Log-in, log-out and the SMSC client of each chat."""

    def __init__(
        self,
        repo: AccountRepo,
        connector: SmscConnector,
        *,
        demo_connector: SmscConnector | None = None,
        demo_provision: Callable[[str, str], object] | None = None,
        forget_login: Callable[[int], Awaitable[object]] | None = None,
        throttle: LoginThrottle | None = None,
    ) -> None:
        self.repo = repo
        self._connector = connector
        self._demo = demo_connector
        self._demo_provision = demo_provision
        self._forget_login = forget_login
        self.throttle = throttle or LoginThrottle()

    @property
    def demo_available(self) -> bool:
        return self._demo is not None

    def _client(self, site: str, credentials: Credentials) -> SmscClient:
        if site == DEMO_SITE:
            if self._demo is None:
                raise NotLoggedIn("the demo account is not enabled")
            return self._demo.client(credentials)
        return self._connector.client(credentials, Site(site))

    @staticmethod
    def _credentials(account: Account) -> Credentials:
        if account.auth_kind == "apikey":
            return Credentials.with_apikey(account.secret)
        return Credentials.with_password(account.login or "", account.secret)

    async def login(
        self, chat_id: int, site: str, *, login: str | None, secret: str, apikey: bool
    ) -> LoginResult:
        """Check the credentials against SMSC (balance) and save them when SMSC accepts them."""
        if site not in SITES and site != DEMO_SITE:
            raise ValueError(f"unknown site {site!r}")
        credentials = (
            Credentials.with_apikey(secret)
            if apikey
            else Credentials.with_password(login or "", secret)
        )
        self.throttle.check(chat_id)
        self.throttle.begin(chat_id)
        try:
            balance = await self._client(site, credentials).get_balance()
        except SmscError as exc:
            if exc.code == AUTH_FAILED and not exc.local:
                self.throttle.failed(chat_id)
            raise
        finally:
            self.throttle.end(chat_id)
        account = Account(
            chat_id=chat_id,
            site=site,
            login=None if apikey else login,
            auth_kind="apikey" if apikey else "password",
            secret=secret,
            verified_at=datetime.now(UTC),
            needs_relogin=False,
        )
        await self.repo.save(account)
        return LoginResult(account, balance)

    async def login_demo(self, chat_id: int) -> LoginResult:
        """Log the chat in to a fresh demo sandbox of its own on the built-in emulator."""
        if self._demo is None or self._demo_provision is None:
            raise NotLoggedIn("the demo account is not enabled")
        login, password = f"demo-{chat_id}", secrets.token_urlsafe(16)
        # Each chat gets its own copy, so one visitor's deletions never reach another's screen.
        self._demo_provision(login, password)
        return await self.login(chat_id, DEMO_SITE, login=login, secret=password, apikey=False)

    async def logout(self, chat_id: int) -> bool:
        """Wipe the chat's credentials and any log-in under way, down to the -wal file; false
        when there were no saved credentials."""
        had = await self.repo.delete(chat_id)
        if self._forget_login is not None:
            await self._forget_login(chat_id)
        await self.repo.purge_wal()
        return had

    def seal(self, chat_id: int, text: str) -> str:
        """Encrypt ``text`` for this chat: what a log-in conversation keeps between steps."""
        return self.repo.box.encrypt(text, chat_id=chat_id).decode("ascii")

    def unseal(self, chat_id: int, sealed: object) -> str | None:
        """The text ``seal`` encrypted for this chat, or None if it cannot be read."""
        if not isinstance(sealed, str):
            return None
        try:
            return self.repo.box.decrypt(sealed.encode("ascii"), chat_id=chat_id)
        except (SecretError, UnicodeEncodeError):
            return None

    async def client_for(self, chat_id: int) -> tuple[Account, SmscClient]:
        account = await self.repo.get(chat_id)
        if account is None:
            raise NotLoggedIn
        if account.needs_relogin:
            raise NeedsRelogin
        return account, self._client(account.site, self._credentials(account))

    async def rejected(self, chat_id: int) -> None:
        """SMSC answered error 2 to the saved credentials: stop using them, count the failure."""
        self.throttle.failed(chat_id)
        await self.repo.mark_needs_relogin(chat_id)
