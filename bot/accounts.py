"""Which SMSC account a chat uses: log-in checks, saved credentials, client hand-out.

SMSC blocks a server's IP for 30 minutes after 5 failed log-ins in 30 minutes, and every
customer of the bot shares that IP. The SMSC client's failed-authorisation budget
(``bot.smsc.budget``) keeps every request under that; this service tells it whose request each is,
and stops using a saved account whose password stopped working until a new log-in.
"""

from __future__ import annotations

import hmac
import re
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Final

from bot.crypto import SecretError
from bot.services.teams import WRITES, Role, Teams, role_in_chat
from bot.smsc import Credentials, Site, SmscClient, SmscConnector
from bot.smsc.budget import Purpose
from bot.smsc.errors import AuthPaused
from bot.smsc.models import Balance
from bot.storage.accounts import Account, AccountRepo
from bot.storage.teams import TeamRepo

DEMO_SITE: Final = "demo"
AUTH_FAILED: Final = 2
SITES: Final = tuple(site.value for site in Site)
# SMSC's API pages say nothing of the characters a login may hold, so this rule is ours, and
# conservative: the Latin letters, digits and signs _ . - @ that the bot allows for subclient
# logins (handlers/subclients.py), up to 64 characters. Anything else (a space, another sign,
# another alphabet) may well be a password, and is never sent to SMSC as a login.
LOGIN_SHAPE: Final = re.compile(r"[A-Za-z0-9_.@-]{1,64}")

# A saved secret is looked for in messages only from this length on.
SECRET_SEARCHED: Final = 6


def looks_like_login(text: str) -> bool:
    """Whether ``text`` could be an SMSC login (see LOGIN_SHAPE)."""
    return LOGIN_SHAPE.fullmatch(text) is not None


class LoginPaused(Exception):
    """Log-in checks are paused so SMSC does not block the bot's IP; ``until`` is a UTC time."""

    def __init__(self, until: datetime, *, busy: bool = False) -> None:
        super().__init__(f"log-in checks paused until {until:%H:%M:%S} UTC")
        self.until = until
        self.busy = busy


class NotLoggedIn(Exception):
    """The chat has no saved SMSC account, or the person is not in its team."""


class NeedsRelogin(Exception):
    """SMSC refused the saved credentials (at ``rejected_at``, when known); they stay unused
    until the owner or an admin logs in again (``can_fix``: the person asking is one)."""

    def __init__(
        self, rejected_at: datetime | None = None, *, apikey: bool = False, can_fix: bool = True
    ) -> None:
        super().__init__("the saved credentials were refused")
        self.rejected_at = rejected_at
        self.apikey = apikey
        self.can_fix = can_fix


class NotTheAsker(Exception):
    """A confirmation tapped by someone other than who asked it, below admin."""


class RoleTooLow(Exception):
    """The person's role on the chat's account (``role``) is below what the action needs."""

    def __init__(self, needed: Role, role: Role) -> None:
        super().__init__(f"needs {needed.key}, has {role.key}")
        self.needed = needed
        self.role = role


def moment(epoch: float) -> datetime:
    return datetime.fromtimestamp(epoch, UTC)


@dataclass(frozen=True, slots=True)
class LoginResult:
    account: Account
    balance: Balance


@dataclass(frozen=True, slots=True)
class Access:
    """What a person may do in a chat: the account it acts on and their role there."""

    account: Account
    role: Role
    smsc: SmscClient


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
        teams: Teams | None = None,
    ) -> None:
        self.repo = repo
        self.teams = teams if teams is not None else Teams(TeamRepo(repo.conn))
        self._names: dict[tuple[int, int], str] = {}
        self._connector = connector
        self._demo = demo_connector
        self._demo_provision = demo_provision
        self._forget_login = forget_login

    @property
    def demo_available(self) -> bool:
        return self._demo is not None

    def _connector_for(self, site: str) -> tuple[SmscConnector, Site]:
        if site == DEMO_SITE:
            if self._demo is None:
                raise NotLoggedIn("the demo account is not enabled")
            return self._demo, Site.RU
        return self._connector, Site(site)

    def _client(
        self,
        site: str,
        credentials: Credentials,
        *,
        purpose: Purpose = Purpose.SAVED,
        user_id: int | None = None,
        newcomer: bool = False,
        writes: frozenset[str] | None = None,
    ) -> SmscClient:
        connector, smsc_site = self._connector_for(site)
        return connector.client(
            credentials,
            smsc_site,
            purpose=purpose,
            user_id=user_id,
            newcomer=newcomer,
            writes=writes,
        )

    def _refused_at(self, account: Account) -> datetime | None:
        if not account.secret:
            return None
        connector, smsc_site = self._connector_for(account.site)
        at = connector.rejected_at(self._credentials(account), smsc_site)
        return None if at is None else moment(at)

    async def _has_working_account(self, chat_id: int) -> bool:
        """Whether the chat's saved account on a real SMSC site still works, as far as known."""
        account = await self.repo.get(chat_id)
        if account is None or account.needs_relogin or account.site == DEMO_SITE:
            return False
        return self._refused_at(account) is None

    async def holds_saved_secret(self, chat_id: int, text: str) -> bool:
        """Whether ``text`` contains the password or key saved for the chat's account (one of
        ``SECRET_SEARCHED`` characters or more: shorter ones are in too many ordinary words)."""
        if len(text) < SECRET_SEARCHED:
            return False
        account = await self.repo.get(chat_id)
        return (
            account is not None
            and len(account.secret) >= SECRET_SEARCHED
            and account.secret in text
        )

    def identity(self, account: Account) -> str:
        """A stable key of the SMSC account behind ``account``, whoever saved it and in which chat.

        Site and login for a password; for an API key a keyed hash of it, never the key itself.
        Data of the SMSC account rather than a chat (cached figures, polls) is kept under it.
        """
        if account.auth_kind == "password":
            return f"{account.site}|{(account.login or '').lower()}"
        digest = hmac.new(
            self.repo.box.derive_key("account-identity"), account.secret.encode(), "sha256"
        )
        return f"{account.site}|key:{digest.hexdigest()[:32]}"

    @staticmethod
    def _credentials(account: Account) -> Credentials:
        if account.auth_kind == "apikey":
            return Credentials.with_apikey(account.secret)
        return Credentials.with_password(account.login or "", account.secret)

    async def login(
        self,
        chat_id: int,
        site: str,
        *,
        login: str | None,
        secret: str,
        apikey: bool,
        user_id: int | None = None,
    ) -> LoginResult:
        """Check the credentials against SMSC (balance) and save them when SMSC accepts them.

        ``LoginPaused`` when the check could bring SMSC's IP block closer (``bot.smsc.budget``).
        """
        if site not in SITES and site != DEMO_SITE:
            raise ValueError(f"unknown site {site!r}")
        credentials = (
            Credentials.with_apikey(secret)
            if apikey
            else Credentials.with_password(login or "", secret)
        )
        client = self._client(
            site,
            credentials,
            purpose=Purpose.LOGIN,
            user_id=user_id,
            newcomer=not await self._has_working_account(chat_id),
        )
        try:
            balance = await client.get_balance()
        except AuthPaused as exc:
            raise LoginPaused(moment(exc.until), busy=exc.busy) from None
        account = Account(
            chat_id=chat_id,
            site=site,
            login=None if apikey else login,
            auth_kind="apikey" if apikey else "password",
            secret=secret,
            verified_at=datetime.now(UTC),
            needs_relogin=False,
        )
        current = await self.repo.get(chat_id)
        replaces = current is not None and await self._may_replace(current, account, user_id)
        account = await self.repo.save(account, owner_id=user_id, new=not replaces)
        return LoginResult(account, balance)

    async def _may_replace(self, current: Account, new: Account, user_id: int | None) -> bool:
        """Whether a log-in replaces the credentials of the chat's account for its whole team
        (else it makes a new account of the person's own): the owner's always, an admin's when
        it is the same SMSC account (a password changed on SMSC's site)."""
        if user_id is None:
            return current.owner_id is None
        member = await self.teams.repo.member(current.id, user_id)
        role = Role.of(member.role) if member is not None else None
        if role == Role.OWNER:
            return True
        same = new.auth_kind == "password" and self.identity(new) == self.identity(current)
        return role == Role.ADMIN and same

    async def login_demo(self, chat_id: int) -> LoginResult:
        """Log the chat in to a fresh demo sandbox of its own on the built-in emulator."""
        if self._demo is None or self._demo_provision is None:
            raise NotLoggedIn("the demo account is not enabled")
        login, password = f"demo-{chat_id}", secrets.token_urlsafe(16)
        # Each chat gets its own copy, so one visitor's deletions never reach another's screen.
        self._demo_provision(login, password)
        return await self.login(
            chat_id, DEMO_SITE, login=login, secret=password, apikey=False, user_id=chat_id
        )

    async def logout(self, chat_id: int) -> bool:
        """Wipe the chat's account for its whole team and any log-in under way, down to the -wal
        file; false when there were no saved credentials."""
        had = await self.repo.delete(chat_id)
        if self._forget_login is not None:
            await self._forget_login(chat_id)
        await self.repo.purge_wal()
        return had

    async def note_name(self, account_id: int, user_id: int, name: str) -> None:
        """Keep the member's name as Telegram shows it now (for /team and /audit)."""
        if self._names.get((account_id, user_id)) != name:
            await self.teams.repo.set_name(account_id, user_id, name)
            self._names[(account_id, user_id)] = name

    async def leave(self, account_id: int, user_id: int) -> bool:
        """The person leaves the team (an owner cannot: they disconnect or hand over)."""
        return await self.teams.repo.remove_member(account_id, user_id)

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

    async def client_for(
        self, chat_id: int, user_id: int | None = None
    ) -> tuple[Account, SmscClient]:
        account = await self.repo.get(chat_id)
        if account is None:
            raise NotLoggedIn
        if account.needs_relogin:
            raise NeedsRelogin(self._refused_at(account), apikey=account.auth_kind == "apikey")
        return account, self._client(account.site, self._credentials(account), user_id=user_id)

    async def access(self, chat_id: int, user_id: int, needed: Role = Role.VIEWER) -> Access:
        """The chat's account with a client that can write only what the person's role allows.

        ``NotLoggedIn`` when the chat has no account or the person is not in its team,
        ``RoleTooLow`` below ``needed``, ``NeedsRelogin`` when SMSC refused the credentials.
        """
        found = await self.repo.access(chat_id, user_id)
        link, member, account = found if found is not None else (None, None, None)
        role = role_in_chat(link, member)
        if account is None or role is None:
            raise NotLoggedIn
        if role < needed:
            raise RoleTooLow(needed, role)
        if account.needs_relogin:
            raise NeedsRelogin(
                self._refused_at(account),
                apikey=account.auth_kind == "apikey",
                can_fix=role >= Role.ADMIN,
            )
        client = self._client(
            account.site, self._credentials(account), user_id=user_id, writes=WRITES[role]
        )
        return Access(account, role, client)

    async def rejected(self, chat_id: int) -> Account | None:
        """SMSC refused the saved credentials: stop using them until the next log-in."""
        await self.repo.mark_needs_relogin(chat_id)
        return await self.repo.get(chat_id)

    def may_poll(self, account: Account) -> bool:
        """Whether a background poll may use the saved credentials: never ones SMSC refused,
        and never while the failed-authorisation budget is being spent (``AuthBudget.spare``)."""
        if account.needs_relogin or not account.secret:
            return False
        connector, smsc_site = self._connector_for(account.site)
        return connector.spare(self._credentials(account), smsc_site)
