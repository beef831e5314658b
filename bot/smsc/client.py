"""Async SMSC client: one shared connector (HTTP pool, limits), one light client per account.

Wire rules: POST form bodies only (a secret never goes into a URL), ``fmt=3`` and
``charset=utf-8`` on every call, the backup host only for reads and only when the main one cannot
be reached, and no write is ever repeated automatically.
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import json
import logging
import secrets
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager, nullcontext
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from typing import Any, Final, TypedDict, TypeVar, Unpack

import httpx
from pydantic import BaseModel, TypeAdapter, ValidationError

from bot.smsc.budget import AuthBudget, Lease, MemoryBudgetStore, Outcome, Purpose
from bot.smsc.errors import (
    IP_BLOCKED,
    TOO_MANY,
    SmscBadResponse,
    SmscError,
    SmscUnavailable,
    WriteRefused,
)
from bot.smsc.limits import AccountLimits, Clock, HostCooldown, SlidingWindow
from bot.smsc.models import (
    AccountStat,
    Balance,
    BlackEntry,
    BlackType,
    Contact,
    Group,
    MoveMode,
    Sender,
    SenderOperators,
    SentMessage,
    StatAllRow,
    StatRow,
    SubclientType,
    Template,
    TemplateFormat,
)
from bot.smsc.shared import SharedLimits
from bot.smsc.sites import Site

log = logging.getLogger(__name__)

M = TypeVar("M", bound=BaseModel)
T = TypeVar("T")

# SMSC's answer to a list command that found nothing.
NO_RECORDS: Final = 3
AUTH_FAILED: Final = 2
# What an error code says about the credentials; any other answer means SMSC authorised them.
_OUTCOMES: Final[Mapping[int | None, Outcome]] = {
    AUTH_FAILED: Outcome.REFUSED,
    IP_BLOCKED: Outcome.NEUTRAL,
    TOO_MANY: Outcome.NEUTRAL,
}
# SMSC answers error 9 at 15 concurrent requests under one login.
SMSC_CONCURRENCY_LIMIT: Final = 15
# phones.php, templates.php, senders.php lists: "more than three identical requests a minute".
SMSC_IDENTICAL_LIMIT: Final = 3
# balance.php: "more than 10 requests a minute" (NOTES.md); one below it, as for concurrency.
SMSC_BALANCE_LIMIT: Final = 10
MAX_PAGE: Final = 1000
# get.php get_messages: "the maximum period ... is six months".
HISTORY_MONTHS: Final = 6


def months_before(day: date, months: int) -> date:
    """The same day ``months`` earlier, or the month's last day when it has no such day."""
    index = day.year * 12 + day.month - 1 - months
    year, month = divmod(index, 12)
    month += 1
    for candidate in (day.day, 30, 29, 28):
        try:
            return date(year, month, min(day.day, candidate))
        except ValueError:
            continue
    raise AssertionError("unreachable")


@dataclass(frozen=True, slots=True)
class Credentials:
    """Login and password, or an API key. ``repr`` never shows the secret."""

    login: str | None = None
    password: str = field(default="", repr=False)
    apikey: str = field(default="", repr=False)

    def __post_init__(self) -> None:
        if self.apikey:
            if self.password:
                raise ValueError("give a password or an API key, not both")
        elif not (self.login and self.password):
            raise ValueError("a login needs a password")

    @classmethod
    def with_password(cls, login: str, password: str) -> Credentials:
        return cls(login=login, password=password)

    @classmethod
    def with_apikey(cls, apikey: str) -> Credentials:
        return cls(apikey=apikey)

    @property
    def identity(self) -> str:
        """Who SMSC counts limits for: the login, or a digest of the API key (never the key)."""
        if self.apikey:
            return "apikey:" + hashlib.sha256(self.apikey.encode()).hexdigest()[:16]
        assert self.login is not None
        return self.login

    @property
    def secret(self) -> str:
        return self.apikey or self.password

    @property
    def fingerprint(self) -> str:
        """Tells credentials of one login apart (a wrong password must not read a cached answer)."""
        secret = f"{self.login}\0{self.password}\0{self.apikey}"
        return hashlib.sha256(secret.encode()).hexdigest()[:16]

    def form(self) -> dict[str, str]:
        if self.apikey:
            return {"apikey": self.apikey}
        assert self.login is not None
        return {"login": self.login, "psw": self.password}


@dataclass(frozen=True, slots=True)
class SmscSettings:
    """Tunables of the connector; defaults are what SMSC's published limits call for."""

    api_url: str | None = None  # replaces every site's host (SMSC_API_URL)
    backup_api_url: str | None = None  # the backup of api_url, when there is one
    connect_timeout: float = 5.0
    call_timeout: float = 20.0
    max_concurrency: int = 4
    cache_ttl: float = 20.0
    identical_per_minute: int = 3
    balance_per_minute: int = 9
    block_cooldown: float = 30 * 60.0

    def __post_init__(self) -> None:
        if not 1 <= self.max_concurrency < SMSC_CONCURRENCY_LIMIT:
            raise ValueError(f"max_concurrency must be 1..{SMSC_CONCURRENCY_LIMIT - 1}")
        if not 1 <= self.identical_per_minute <= SMSC_IDENTICAL_LIMIT:
            raise ValueError(f"identical_per_minute must be 1..{SMSC_IDENTICAL_LIMIT}")
        if not 1 <= self.balance_per_minute < SMSC_BALANCE_LIMIT:
            raise ValueError(f"balance_per_minute must be 1..{SMSC_BALANCE_LIMIT - 1}")


# Per-minute caps SMSC sets on particular commands, beyond the identical-request rule.
_COMMAND_CAPS: Final[Mapping[tuple[str, str], int]] = {
    ("senders", "add"): 5,
    ("users", "add"): 3,
}


class ContactFields(TypedDict, total=False):
    """The fields of a contact that add and chg both take; a field left out is not sent."""

    name: str | None
    groups: Iterable[int] | None
    last_name: str | None
    first_name: str | None
    middle_name: str | None
    birthday: date | None
    myid: str | None
    comment: str | None
    tags: str | None
    other_phones: str | Sequence[str] | None


def _contact_params(fields: ContactFields) -> dict[str, str]:
    groups = fields.get("groups")
    other = fields.get("other_phones")
    return _params(
        name=fields.get("name"),
        grp=list(groups) if groups is not None else None,
        lnm=fields.get("last_name"),
        fnm=fields.get("first_name"),
        mnm=fields.get("middle_name"),
        bd=fields.get("birthday"),
        myid=fields.get("myid"),
        cmt=fields.get("comment"),
        tags=fields.get("tags"),
        pho=_phones(other) if other is not None else None,
    )


class _Unreachable(Exception):
    """The host gave no answer at all: the only case where the backup host may be tried."""


def _form_value(value: object) -> str:
    if type(value) is str:
        return value
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, date):
        return value.strftime("%d.%m.%Y")
    if isinstance(value, list | tuple | set | frozenset):
        return ",".join(_form_value(v) for v in value)
    return str(value)


def _params(**values: object) -> dict[str, str]:
    return {key: _form_value(value) for key, value in values.items() if value is not None}


class SmscConnector:
    """Owns the shared HTTP pool and every account's limits; hands out per-account clients."""

    def __init__(
        self,
        settings: SmscSettings | None = None,
        *,
        http: httpx.AsyncClient | None = None,
        clock: Clock = time.monotonic,
        budget: AuthBudget | None = None,
        shared: SharedLimits | None = None,
    ) -> None:
        self.settings = settings or SmscSettings()
        # With several replicas (REDIS_URL) the limits are counted in Redis, by all of them.
        self.shared = shared
        # On its own a connector budgets in memory; the bot gives it one kept in SQLite.
        self.budget = budget or AuthBudget(
            MemoryBudgetStore(), secrets.token_bytes(32), call_timeout=self.settings.call_timeout
        )
        self._own_http = http is None
        self.http = http or httpx.AsyncClient(
            timeout=httpx.Timeout(
                self.settings.call_timeout, connect=self.settings.connect_timeout
            ),
            limits=httpx.Limits(max_connections=200, max_keepalive_connections=50),
            headers={"User-Agent": "smsc-bot"},
        )
        self._clock = clock
        self._accounts: dict[tuple[str, str], AccountLimits] = {}
        self.cooldown = HostCooldown(self.settings.block_cooldown, clock)

    def _hosts(self, site: Site) -> list[str]:
        if self.settings.api_url:
            hosts = [self.settings.api_url.rstrip("/")]
            if self.settings.backup_api_url:
                hosts.append(self.settings.backup_api_url.rstrip("/"))
            return hosts
        return [site.base_url, site.backup_url]

    def rejected_at(self, credentials: Credentials, site: Site = Site.RU) -> float | None:
        """When SMSC refused these credentials (epoch seconds), if it did and they were not
        typed in anew since."""
        host = self._hosts(site)[0]
        key = self.budget.credential_key(host, credentials.login, credentials.secret)
        return self.budget.rejected_at(key)

    def spare(self, credentials: Credentials, site: Site = Site.RU) -> bool:
        """Whether a background poll may use these credentials (``AuthBudget.spare``)."""
        host = self._hosts(site)[0]
        key = self.budget.credential_key(host, credentials.login, credentials.secret)
        return self.budget.spare(host, key)

    def client(
        self,
        credentials: Credentials,
        site: Site = Site.RU,
        *,
        purpose: Purpose = Purpose.SAVED,
        user_id: int | None = None,
        newcomer: bool = False,
        writes: frozenset[str] | None = None,
    ) -> SmscClient:
        """A client for one account; cheap, make one per request if that is convenient.

        ``purpose``, ``user_id`` and ``newcomer`` place its requests in the failed-authorisation
        budget (``bot.smsc.budget``): a log-in check of typed credentials, or saved ones.
        ``writes``: the scripts it may change anything with (None: all); others raise
        ``WriteRefused`` without a request.
        """
        hosts = self._hosts(site)
        key = (hosts[0], credentials.identity)
        limits = self._accounts.get(key)
        if limits is None:
            limits = self._accounts[key] = AccountLimits(
                max_concurrency=self.settings.max_concurrency,
                # Shared: answers are kept in Redis, where any replica's write invalidates them;
                # the local cache only joins identical reads in flight.
                cache_ttl=0.0 if self.shared else self.settings.cache_ttl,
                identical_per_minute=self.settings.identical_per_minute,
                balance_per_minute=self.settings.balance_per_minute,
                clock=self._clock,
            )
        lease = functools.partial(
            self.budget.lease,
            hosts[0],
            self.budget.credential_key(hosts[0], credentials.login, credentials.secret),
            purpose=purpose,
            user_id=user_id,
            newcomer=newcomer,
        )
        return SmscClient(self, credentials, hosts, limits, lease, writes)

    async def aclose(self) -> None:
        if self._own_http:
            await self.http.aclose()


class SmscClient:
    """The documented admin commands of one SMSC account."""

    def __init__(
        self,
        connector: SmscConnector,
        credentials: Credentials,
        hosts: Sequence[str],
        limits: AccountLimits,
        lease: Callable[..., AbstractAsyncContextManager[Lease]],
        writes: frozenset[str] | None = None,
    ) -> None:
        self._connector = connector
        self._writes = writes
        self._credentials = credentials
        self._hosts = list(hosts)
        self._limits = limits
        self._lease = lease
        self._account = f"{self._hosts[0]}\0{credentials.identity}"

    def __repr__(self) -> str:
        return f"SmscClient({self._credentials.identity!r} at {self._hosts[0]})"

    @property
    def account_key(self) -> tuple[str, str]:
        """Which SMSC account this client speaks for (host and login or key digest; no secret)."""
        return (self._hosts[0], self._credentials.identity)

    # -- transport ---------------------------------------------------------------------------

    async def _call(
        self,
        script: str,
        command: str,
        params: Mapping[str, str],
        *,
        write: bool = False,
        cache: bool = True,
        listing: bool = False,
    ) -> Any:
        name = f"{script}.{command}"
        if write and self._writes is not None and script not in self._writes:
            raise WriteRefused(name)
        shared = self._connector.shared
        remaining = self._connector.cooldown.remaining(self._hosts[0])
        if not remaining and shared is not None and not self._in_budget(shared):
            remaining = await shared.cooldown(self._hosts[0])
        if remaining:
            raise SmscError(
                name, IP_BLOCKED, "host in cool-down", local=True, retry_after=remaining
            )
        if write:
            try:
                return await self._send(script, name, command, params, write=True)
            finally:
                self._limits.cache.invalidate()
                if shared is not None:
                    await shared.invalidate(self._account)
        if not cache:
            return await self._send(script, name, command, params, write=False, listing=listing)
        key = (self._credentials.fingerprint, script, tuple(sorted(params.items())))

        def fetch() -> Awaitable[Any]:
            return self._send(script, name, command, params, write=False, listing=listing)

        if shared is None or self._connector.settings.cache_ttl <= 0:
            # No shared answers when none are kept: no Redis call to look for one.
            return await self._limits.cache.get_or_fetch(key, fetch)
        return await self._limits.cache.get_or_fetch(
            key, lambda: self._shared_read(shared, key, fetch)
        )

    async def _shared_read(
        self, shared: SharedLimits, key: tuple[object, ...], fetch: Callable[[], Awaitable[Any]]
    ) -> Any:
        """An identical read answered from Redis, or fetched and kept there for every replica."""
        entry = json.dumps(key)
        generation, value = await shared.cached(self._account, entry)
        if value is not None:
            return value
        value = await fetch()
        ttl = self._connector.settings.cache_ttl
        if ttl > 0:
            await shared.store(self._account, entry, generation, value, ttl)
        return value

    def _in_budget(self, shared: SharedLimits) -> bool:
        """Whether the budget's lease script also checks the host's cool-down and takes the
        request's windows in Redis (one call instead of three)."""
        return self._connector.budget.shared is shared

    async def _check_shared_caps(
        self, shared: SharedLimits, script: str, name: str, command: str, params: Mapping[str, str]
    ) -> None:
        """``_check_caps`` counted across all replicas: every window checked and taken at once."""
        wait = await shared.take(self._shared_windows(script, command, params))
        if wait:
            raise SmscError(name, TOO_MANY, "rate limit", local=True, retry_after=wait)

    def _shared_windows(
        self, script: str, command: str, params: Mapping[str, str]
    ) -> list[tuple[str, int]]:
        """The windows (name, limit) a request takes a place in, as ``_check_caps`` counts."""
        settings = self._connector.settings
        account = self._account
        if script == "balance":
            windows = [(f"{account}\0balance", settings.balance_per_minute)]
        else:
            identical = json.dumps([script, sorted(params.items())])
            windows = [(f"{account}\0identical\0{identical}", settings.identical_per_minute)]
        cap = _COMMAND_CAPS.get((script, command))
        if cap is not None:
            windows.append((f"{account}\0command\0{command}", cap))
        if script == "users" and command == "chg":
            windows.append((f"{account}\0command\0chg:{params.get('user', '')}", 3))
        return windows

    def _check_caps(
        self, script: str, name: str, command: str, params: Mapping[str, str]
    ) -> list[tuple[SlidingWindow, float]]:
        """Refuse, without calling SMSC, a request SMSC would answer with error 9; else the
        places it took in the windows."""
        windows = []
        if script == "balance":
            windows.append(self._limits.balance)
        else:
            windows.append(self._limits.identical((script, tuple(sorted(params.items())))))
        cap = _COMMAND_CAPS.get((script, command))
        if cap is not None:
            windows.append(self._limits.per_command(command, cap))
        if script == "users" and command == "chg":
            windows.append(self._limits.per_command("chg:" + params.get("user", ""), 3))
        for window in windows:
            wait = window.wait_time()
            if wait:
                raise SmscError(name, TOO_MANY, "rate limit", local=True, retry_after=wait)
        return [(window, window.add()) for window in windows]

    async def _send(
        self,
        script: str,
        name: str,
        command: str,
        params: Mapping[str, str],
        *,
        write: bool,
        listing: bool = False,
    ) -> Any:
        form = {
            **params,
            **self._credentials.form(),
            "fmt": "3",
            "charset": "utf-8",
        }
        shared = self._connector.shared
        cap = self._connector.settings.max_concurrency
        in_budget = shared is not None and self._in_budget(shared)
        windows = self._shared_windows(script, command, params) if in_budget else ()
        # The lease is taken inside the gate: calls queued behind one that fails are refused.
        async with (
            self._limits.gate,
            shared.gate(self._account, cap) if shared is not None else nullcontext(),
            self._lease(command=name, windows=windows) as lease,
        ):
            taken: list[tuple[SlidingWindow, float]] = []
            if shared is None:
                taken = self._check_caps(script, name, command, params)
            elif not in_budget:
                await self._check_shared_caps(shared, script, name, command, params)
            started = time.perf_counter()
            hosts = self._hosts[:1] if write else self._hosts
            try:
                for index, host in enumerate(hosts):
                    try:
                        # Sent: unless an answer says otherwise, it may have failed authorisation.
                        lease.outcome = Outcome.UNKNOWN
                        response = await self._post(f"{host}/sys/{script}.php", form, name, write)
                        break
                    except _Unreachable as exc:
                        lease.outcome = Outcome.NOT_SENT
                        if index == len(hosts) - 1:
                            raise SmscUnavailable(name, str(exc)) from None
                        log.warning("%s: %s unreachable, trying the backup host", name, host)
            finally:
                # SMSC counts a request when it arrives, which can be as late as its answer.
                for window, stamp in taken:
                    window.settle(stamp)
            payload = self._decode(response, name, write)
            code = (
                self._error_code(payload, name)
                if isinstance(payload, dict) and "error_code" in payload
                else None
            )
            lease.outcome = _OUTCOMES.get(code, Outcome.AUTHORISED)
        log.debug("%s answered in %.0f ms", name, (time.perf_counter() - started) * 1000)
        if code is not None:
            if code == IP_BLOCKED:
                # SMSC blocked this server's IP, not one host: a block the backup host reports
                # must pause the main host too, which is the one every call checks first.
                for blocked in dict.fromkeys([host, *self._hosts]):
                    self._connector.cooldown.block(blocked)
                    if shared is not None:
                        await shared.block(blocked, self._connector.settings.block_cooldown)
                log.warning("%s: SMSC blocked this server's IP; pausing calls to it", name)
            if code == NO_RECORDS and listing:
                # SMSC's way of saying "empty list"; cached like any other answer.
                return []
            raise SmscError(name, code, str(payload.get("error", ""))[:200])
        return payload

    async def _post(
        self, url: str, form: Mapping[str, str], name: str, write: bool
    ) -> httpx.Response:
        settings = self._connector.settings
        try:
            # httpx's timeouts are per phase; this bounds the whole exchange.
            return await _with_timeout(
                self._connector.http.post(url, data=form), settings.call_timeout
            )
        except TimeoutError:
            raise SmscUnavailable(name, "timeout", uncertain=write) from None
        except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
            raise _Unreachable(type(exc).__name__) from None
        except httpx.TransportError as exc:
            raise SmscUnavailable(name, type(exc).__name__, uncertain=write) from None

    @staticmethod
    def _decode(response: httpx.Response, name: str, write: bool) -> Any:
        try:
            payload = json.loads(response.content)
        except ValueError:
            payload = None
        if response.status_code != 200:
            # That SMSC sends its errors with HTTP 200 is inferred: an error object under another
            # status is still SMSC's answer (error 4 must pause calls whatever the status).
            if isinstance(payload, dict) and "error_code" in payload:
                return payload
            if response.status_code >= 500:
                raise SmscUnavailable(name, f"HTTP {response.status_code}", uncertain=write)
            raise SmscBadResponse(name, f"HTTP {response.status_code}", uncertain=write)
        if payload is None and response.content.strip() != b"null":
            raise SmscBadResponse(name, "not JSON", uncertain=write)
        return payload

    @staticmethod
    def _error_code(payload: Mapping[str, Any], name: str) -> int:
        try:
            return int(str(payload["error_code"]).strip())
        except ValueError:
            raise SmscBadResponse(name, "error without a code") from None

    # -- parsing -------------------------------------------------------------------------------

    async def _list(
        self,
        script: str,
        command: str,
        params: Mapping[str, str],
        model: type[M],
        *,
        cache: bool = True,
    ) -> list[M]:
        payload = await self._call(script, command, params, cache=cache, listing=True)
        return _parse(_list_adapter(model), payload, f"{script}.{command}")

    async def _object(
        self, script: str, command: str, params: Mapping[str, str], model: type[M]
    ) -> M:
        payload = await self._call(script, command, params)
        parsed: M = _parse(_adapter(model), payload, f"{script}.{command}")
        return parsed

    async def _create(
        self, script: str, command: str, params: Mapping[str, str], key: str = "id"
    ) -> int:
        payload = await self._call(script, command, params, write=True)
        name = f"{script}.{command}"
        try:
            return int(str(payload[key]).strip())
        except (KeyError, TypeError, ValueError):
            raise SmscBadResponse(name, f"no {key!r} in the answer", uncertain=True) from None

    async def _ok(self, script: str, command: str, params: Mapping[str, str]) -> None:
        payload = await self._call(script, command, params, write=True)
        if not (isinstance(payload, dict) and str(payload.get("result", "")).upper() == "OK"):
            raise SmscBadResponse(f"{script}.{command}", "no OK in the answer", uncertain=True)

    # -- balance.php ----------------------------------------------------------------------------

    async def get_balance(self) -> Balance:
        """balance.php with the currency."""
        return await self._object("balance", "balance", {"cur": "1"}, Balance)

    # -- phones.php: contacts -------------------------------------------------------------------

    async def add_contact(self, phone: str | Sequence[str], **fields: Unpack[ContactFields]) -> int:
        """Create a contact; returns its id."""
        params = {**_params(add=1, phone=_phones(phone)), **_contact_params(fields)}
        return await self._create("phones", "add", params)

    async def change_contact(
        self,
        phone: str,
        *,
        new_phone: str | Sequence[str] | None = None,
        **fields: Unpack[ContactFields],
    ) -> None:
        """Change the contact with this number (``new_phone`` replaces its numbers)."""
        params = _params(
            chg=1, phone=phone, new_phone=_phones(new_phone) if new_phone is not None else None
        )
        await self._ok("phones", "chg", {**params, **_contact_params(fields)})

    async def delete_contact(self, phone: str) -> None:
        await self._ok("phones", "del", _params(**{"del": 1}, phone=phone))

    async def get_contacts(
        self,
        *,
        group: int | None = None,
        phone: str | None = None,
        fio: str | None = None,
        search: str | None = None,
        cnt: int | None = None,
        after_id: int | None = None,
    ) -> list[Contact]:
        """One page of contacts (ascending ``int_id`` after ``after_id``); empty when none match."""
        params = _params(
            get=1, grp=group, phone=phone, fio=fio, search=search, cnt=cnt, after_id=after_id
        )
        return await self._list("phones", "get", params, Contact)

    async def iter_contacts(
        self,
        *,
        group: int | None = None,
        fio: str | None = None,
        search: str | None = None,
        page_size: int = 200,
    ) -> AsyncIterator[Contact]:
        """Every matching contact, fetched page by page with ``after_id``; never all in memory.

        Paging needs the server's ``int_id``; when the answer has none, the first page is read
        again as one page of MAX_PAGE (the most SMSC gives without a cursor) and the walk ends.
        """
        page_size = min(page_size, MAX_PAGE)
        after_id: int | None = None
        while True:
            params = _params(
                get=1, grp=group, fio=fio, search=search, cnt=page_size, after_id=after_id
            )
            # Pages bypass the cache: holding every page would hold the whole list.
            page = await self._list("phones", "get", params, Contact, cache=False)
            for contact in page:
                yield contact
            if len(page) < page_size:
                return
            cursor = page[-1].int_id
            if advances(cursor, after_id, ascending=True):
                after_id = cursor
                continue
            if after_id is None and cursor is None and page_size < MAX_PAGE:
                params = _params(get=1, grp=group, fio=fio, search=search, cnt=MAX_PAGE)
                whole = await self._list("phones", "get", params, Contact, cache=False)
                for contact in whole[len(page) :]:
                    yield contact
            return

    # -- phones.php: groups ----------------------------------------------------------------------

    async def add_group(self, name: str, *, number: int | None = None) -> int:
        """A phone-number group (type=0, the kind get_groups lists; the page names no default)."""
        return await self._create(
            "phones", "add_group", _params(add_group=1, name=name, num=number, type=0)
        )

    async def rename_group(self, group_id: int, name: str) -> None:
        await self._ok("phones", "chg_group", _params(chg_group=1, grp=group_id, name=name))

    async def delete_group(self, group_id: int) -> None:
        await self._ok("phones", "del_group", _params(del_group=1, grp=group_id))

    async def get_groups(self) -> list[Group]:
        """The phone-number groups; type=0 is sent so e-mail groups (type 1) never mix in."""
        return await self._list("phones", "get_group", _params(get_group=1, type=0), Group)

    async def move_group(self, phone: str, group_id: int, mode: MoveMode) -> None:
        """Move the contact to a group, add a group to it, or take it out of one."""
        await self._ok(
            "phones", "move_group", _params(move_group=int(mode), grp=group_id, phone=phone)
        )

    # -- phones.php: black list -----------------------------------------------------------------

    async def add_black(
        self, phone: str, *, type: BlackType = BlackType.ALL, comment: str | None = None
    ) -> int:
        params = _params(add_black=1, phone=phone, type=int(type), cmt=comment)
        return await self._create("phones", "add_black", params)

    async def delete_black(self, phone: str) -> None:
        await self._ok("phones", "del_black", _params(del_black=1, phone=phone))

    async def get_black(
        self, *, cnt: int | None = None, prev_id: int | None = None
    ) -> list[BlackEntry]:
        """One page of the black list, newest first, older than ``prev_id``.

        The page documents no filter for get_black: search by reading pages and comparing here.
        """
        params = _params(get_black=1, cnt=cnt, prev_id=prev_id)
        return await self._list("phones", "get_black", params, BlackEntry)

    async def iter_black(self, *, page_size: int = MAX_PAGE) -> AsyncIterator[BlackEntry]:
        """The whole black list, newest first, page by page with ``prev_id``."""
        page_size = min(page_size, MAX_PAGE)
        prev_id: int | None = None
        while True:
            params = _params(get_black=1, cnt=page_size, prev_id=prev_id)
            page = await self._list("phones", "get_black", params, BlackEntry, cache=False)
            for entry in page:
                yield entry
            if len(page) < page_size:
                return
            cursor = page[-1].id
            if not advances(cursor, prev_id, ascending=False):
                return
            prev_id = cursor

    # -- senders.php -----------------------------------------------------------------------------

    async def get_senders(self) -> list[Sender]:
        """Every sender name with its status (``all=1``)."""
        return await self._list("senders", "get", _params(get=1, all=1), Sender)

    async def get_approved_senders(self) -> list[Sender]:
        """The names the account may send from (plain ``get``)."""
        return await self._list("senders", "get", _params(get=1), Sender)

    async def get_sender_operators(self) -> list[SenderOperators]:
        """Every sender name with its registration status at each operator."""
        return await self._list("senders", "get", _params(get=1, operators=1), SenderOperators)

    async def add_sender(self, name: str, *, comment: str | None = None) -> int:
        return await self._create(
            "senders", "add", _params(add=1, sender=name, cmt=comment), "sender"
        )

    async def change_sender(
        self, *, name: str | None = None, sender_id: int | None = None, comment: str
    ) -> None:
        await self._ok(
            "senders", "chg", _params(chg=1, **_sender_ref(name, sender_id), cmt=comment)
        )

    async def delete_sender(self, *, name: str | None = None, sender_id: int | None = None) -> None:
        await self._ok("senders", "del", _params(**{"del": 1}, **_sender_ref(name, sender_id)))

    async def send_sender_code(self, name: str) -> None:
        """Send a confirmation code to a digital sender name (a phone number)."""
        await self._ok("senders", "send_code", _params(send_code=1, sender=name))

    async def check_sender_code(self, name: str, code: str) -> None:
        await self._ok("senders", "check_code", _params(check_code=1, sender=name, code=code))

    # -- templates.php ---------------------------------------------------------------------------

    async def add_template(
        self,
        name: str,
        message: str,
        *,
        format: TemplateFormat = TemplateFormat.NONE,
        sender: str | None = None,
        autosign: bool = False,
    ) -> int:
        params = _params(add=1, name=name, msg=message, format=format.value, sender=sender)
        if autosign:
            params["fl[1]"] = "1"
        return await self._create("templates", "add", params)

    async def change_template(
        self,
        template: Template,
        *,
        name: str | None = None,
        message: str | None = None,
        format: TemplateFormat | None = None,
        sender: str | None = None,
        autosign: bool | None = None,
    ) -> None:
        """Change a template as last read; every field is sent, the changed ones new.

        The page does not promise that a field left out of ``chg`` is kept, so none is left out.
        """
        params = _params(
            chg=1,
            id=template.id,
            name=template.name if name is None else name,
            msg=template.message if message is None else message,
            format=template.format if format is None else format.value,
            sender=template.sender if sender is None else sender,
        )
        params["fl[1]"] = "1" if (template.autosign if autosign is None else autosign) else "0"
        await self._ok("templates", "chg", params)

    async def delete_template(self, template_id: int) -> None:
        await self._ok("templates", "del", _params(**{"del": 1}, id=template_id))

    async def get_templates(self) -> list[Template]:
        return await self._list("templates", "get", _params(get=1), Template)

    # -- users.php -------------------------------------------------------------------------------

    async def add_subclient(
        self,
        login: str,
        password: str,
        *,
        use_main_senders: bool = False,
        **fields: Unpack[SubclientFields],
    ) -> int:
        params = {**_params(add=1, user=login, password=password), **_subclient_params(fields)}
        if use_main_senders:
            params["fl[29]"] = "1"
        return await self._create("users", "add", params)

    async def change_subclient(
        self,
        login: str,
        *,
        new_login: str | None = None,
        password: str | None = None,
        fio: str | None = None,
        **fields: Unpack[SubclientFields],
    ) -> None:
        params = _params(chg=1, user=login, new_login=new_login, password=password, fio=fio)
        await self._ok("users", "chg", {**params, **_subclient_params(fields)})

    async def pay_subclient(self, login: str, amount: Decimal) -> None:
        """Move money from the main account to a subclient's own balance."""
        if amount <= 0:
            raise ValueError("amount must be positive")
        if amount != amount.quantize(Decimal("0.01")):
            # Sent as rubles and kopecks: 0.004 would go out as a top-up of 0.00.
            raise ValueError("amount must be in whole hundredths")
        await self._ok("users", "pay", _params(pay=1, user=login, sum=f"{amount:.2f}"))

    async def get_stat(
        self, start: date, end: date | None = None, **query: Unpack[StatQuery]
    ) -> list[StatRow]:
        """Per-subclient messages and money for a period (``end`` absent: up to now)."""
        params = _stat_params("get_stat", start, end, query)
        return await self._list("users", "get_stat", params, StatRow)

    async def get_stat_all(
        self, start: date, end: date | None = None, **query: Unpack[StatQuery]
    ) -> list[StatAllRow]:
        """Per-subclient, per-operator breakdown for a period."""
        params = _stat_params("get_stat_all", start, end, query)
        return await self._list("users", "get_stat_all", params, StatAllRow)

    # -- get.php ---------------------------------------------------------------------------------

    async def get_account_stat(
        self,
        start: date,
        end: date | None = None,
        *,
        mycur: bool = False,
        balance2: bool = False,
    ) -> AccountStat:
        """The account's own messages, money spent and credited for a period (no ``end``: to now).

        Error 3 (nothing found) reads as a period without activity.
        """
        if end is not None and end < start:
            raise ValueError("the period ends before it starts")
        params = _params(get_stat=1, start=start, end=end)
        if mycur:
            params["mycur"] = "1"
        if balance2:
            params["balance2"] = "1"
        payload = await self._call("get", "get_stat", params, listing=True)
        # The page shows one record; users.php answers a list of them: both are read.
        if isinstance(payload, list):
            if not payload:
                return AccountStat()
            payload = payload[0]
        stat: AccountStat = _parse(_adapter(AccountStat), payload, "get.get_stat")
        return stat

    async def get_messages(
        self,
        phone: str | Sequence[str],
        *,
        start: date | None = None,
        end: date | None = None,
        cnt: int | None = None,
        prev_id: int | None = None,
        cache: bool = True,
    ) -> list[SentMessage]:
        """Messages sent to the numbers, newest first, older than ``prev_id``; [] when none.

        The page allows at most six months between ``start`` and ``end`` and at most 1,000
        messages an answer; both are refused here, not sent. No ``end``: up to SMSC's now.
        """
        end_day = end or date.today()
        start_day = start or months_before(end_day, HISTORY_MONTHS)
        if end is None and start is None:
            # SMSC's date may be a day ahead of ours (a UTC server, SMSC on Moscow time): a day
            # of margin keeps its six-month check from refusing the default period.
            start_day += timedelta(days=1)
        if end_day < start_day:
            raise ValueError("the period ends before it starts")
        if start_day < months_before(end_day, HISTORY_MONTHS):
            raise ValueError("get_messages covers at most six months")
        if cnt is not None and not 1 <= cnt <= MAX_PAGE:
            raise ValueError(f"cnt must be 1..{MAX_PAGE}")
        params = _params(
            get_messages=1,
            phone=_phones(phone),
            start=start_day,
            # Omitted, the period ends at SMSC's own now ("if omitted, data from the start date
            # is returned"); an end from our clock would drop SMSC's today when ours lags it.
            end=end,
            cnt=cnt,
            prev_id=prev_id,
        )
        payload = await self._call("get", "get_messages", params, cache=cache, listing=True)
        if isinstance(payload, dict):
            # One message may come as an object rather than a list of one.
            payload = [payload]
        return _parse(_list_adapter(SentMessage), payload, "get.get_messages")

    async def iter_messages(
        self,
        phone: str | Sequence[str],
        *,
        start: date | None = None,
        end: date | None = None,
        page_size: int = MAX_PAGE,
    ) -> AsyncIterator[SentMessage]:
        """Every message sent to the numbers in the period, newest first, paged with prev_id."""
        page_size = min(page_size, MAX_PAGE)
        prev_id: int | None = None
        while True:
            page = await self.get_messages(
                phone, start=start, end=end, cnt=page_size, prev_id=prev_id, cache=False
            )
            for message in page:
                yield message
            if len(page) < page_size:
                return
            cursor = page[-1].int_id
            if not advances(cursor, prev_id, ascending=False):
                return
            prev_id = cursor


def advances(cursor: int | None, previous: int | None, *, ascending: bool) -> bool:
    """Whether a paging cursor moved on; a loop whose cursor stands still would never end."""
    if cursor is None or cursor <= 0:
        return False
    if previous is None:
        return True
    return cursor > previous if ascending else cursor < previous


async def _with_timeout(awaitable: Awaitable[T], seconds: float) -> T:
    async with asyncio.timeout(seconds):
        return await awaitable


@functools.cache
def _list_adapter(model: type[M]) -> TypeAdapter[list[M]]:
    return TypeAdapter(list[model])  # type: ignore[valid-type]


@functools.cache
def _adapter(model: type[M]) -> TypeAdapter[M]:
    return TypeAdapter(model)


def _parse(adapter: TypeAdapter[T], payload: Any, name: str) -> T:
    try:
        return adapter.validate_python(payload)
    except ValidationError as exc:
        raise SmscBadResponse(name, f"unexpected shape ({exc.error_count()} problems)") from None


def _phones(value: str | Sequence[str]) -> str:
    return value if isinstance(value, str) else ",".join(value)


def _sender_ref(name: str | None, sender_id: int | None) -> dict[str, object]:
    if (name is None) == (sender_id is None):
        raise ValueError("name a sender by its name or by its id")
    return {"sender": name} if name is not None else {"id": sender_id}


class SubclientFields(TypedDict, total=False):
    """The fields of a subclient that add and chg both take; a field left out is not sent."""

    phone: str | None
    email: str | None
    type: SubclientType | None
    fmts: str | None


def _subclient_params(fields: SubclientFields) -> dict[str, str]:
    kind = fields.get("type")
    return _params(
        phone=fields.get("phone"),
        email=fields.get("email"),
        type=int(kind) if kind is not None else None,
        fmts=fields.get("fmts"),
    )


class StatQuery(TypedDict, total=False):
    """Whose figures get_stat and get_stat_all read; a field left out is not sent."""

    user: str | None
    user_id: int | None
    reseller: bool


def _stat_params(command: str, start: date, end: date | None, query: StatQuery) -> dict[str, str]:
    if end is not None and end < start:
        raise ValueError("the period ends before it starts")
    params = _params(start=start, end=end, user=query.get("user"), user_id=query.get("user_id"))
    params[command] = "1"
    if query.get("reseller"):
        params["reseller"] = "1"
    return params
