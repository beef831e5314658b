"""The bot-wide budget of failed authorisations per SMSC host, so SMSC never blocks the bot's IP.

SMSC blocks the caller's IP for 30 minutes at the 5th failed authorisation in 30 minutes, and
every customer of the bot shares that IP. Any request can fail authorisation: a typed password
may be mistyped, and a saved password or API key may have been changed on SMSC's site since.
So every request to a host holds a lease while it is in flight, and at every moment

    failures recorded in the last 30 minutes + leases held  <=  LIMIT (4)

bot-wide per host. A fifth failure is then impossible rather than unlikely: even if every request
in flight fails, SMSC counts at most 4. A request waits (without polling) for a lease and is
refused locally with ``AuthPaused`` when none frees within the call timeout, or at once when
recorded failures alone fill the budget. The cap costs users nothing they would notice: Telegram
lets a bot send about 30 messages a second, and 4 SMSC calls in flight at 100-300 ms each serve
13-40 calls a second.

Failures and rejected credentials live in the store (SQLite in the bot), so a restart keeps
them. A request with credentials not yet known good writes a pending row before it is sent, and
a pending row left by a crash counts as a failure: its answer was never seen, and so does such a
request that times out. Requests with known good credentials write nothing, so the usual path
costs no disk write, and a timeout of theirs is not counted; the price is that a crash or an
outage at the very moment a known good password stops working can hide up to 4 failures.

Per credential (a keyed hash of host, login and secret): one never seen to work in this process,
or refused since, has at most 1 request in flight, so calls queued behind a wrong one are refused
locally once it fails; a known good one at most 2, so a team whose password was changed on the
site mid-burst costs 2 failures, not 4. A credential SMSC refused is recorded and never sent
again from any chat until someone types it in anew through /login.

Fairness, for log-in checks (typed credentials) only: one Telegram user holds at most 2 (their
failed checks in the window + their checks in flight), and users without a working saved account
(newcomers) all together at most 2, so 2 slots stay for customers whose saved account works.

Worst case: strangers, however many Telegram accounts they use, spend the newcomers' 2 slots;
then newcomers' log-ins are paused for up to 30 minutes while customers keep 2 leases (up to
13 calls a second). A customer with a working account, or someone who logs in with a real SMSC
account and then changes its password on the site, can spend the other 2: then every request
to that host is refused locally until the oldest failure is 30 minutes old. SMSC still never
blocks the IP, and nothing is spent without a failure SMSC counted too.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import logging
import secrets
import time
from collections import deque
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from enum import Enum
from typing import TYPE_CHECKING, Final, Protocol

from bot.smsc.errors import IP_BLOCKED, TOO_MANY, AuthPaused, CredentialsRefused, SmscError

if TYPE_CHECKING:
    from bot.smsc.shared import SharedLimits

log = logging.getLogger(__name__)

LIMIT: Final = 4
WINDOW: Final = 30 * 60.0
PER_USER: Final = 2
NEWCOMERS: Final = 2
KNOWN_GOOD_IN_FLIGHT: Final = 2
UNPROVEN_IN_FLIGHT: Final = 1
# What a request refused for want of a free lease (not for failures) is told to wait.
BUSY_RETRY: Final = 60.0

WallClock = Callable[[], float]


class Purpose(Enum):
    LOGIN = "login"  # a log-in check of typed credentials
    SAVED = "saved"  # a saved account's credentials


class Outcome(Enum):
    NOT_SENT = "not sent"  # refused locally or never reached the host
    AUTHORISED = "authorised"  # SMSC answered past its authorisation (a result or error 1, 3, ...)
    REFUSED = "refused"  # error 2
    NEUTRAL = "neutral"  # an answer that says nothing about the credentials (errors 4, 9)
    UNKNOWN = "unknown"  # sent, but no verdict seen (timeout, broken answer)


# How a store keeps a failure: host, time, Telegram user, purpose's value, newcomer. Plain values,
# so that bot.storage needs nothing of this module.
FailureRow = tuple[str, float, int | None, str, bool]


@dataclass(frozen=True, slots=True)
class Failure:
    host: str
    at: float
    user_id: int | None
    purpose: Purpose
    newcomer: bool

    def row(self) -> FailureRow:
        return (self.host, self.at, self.user_id, self.purpose.value, self.newcomer)

    @classmethod
    def of(cls, row: FailureRow) -> Failure:
        host, at, user_id, purpose, newcomer = row
        return cls(host, at, user_id, Purpose(purpose), newcomer)


class BudgetStore(Protocol):
    """Where failures and rejections outlive the process (``bot.storage.budget`` in the bot)."""

    async def load_failures(self, since: float) -> list[FailureRow]:
        """Failures (pending rows left by a crash included) at or after ``since``, oldest first."""
        ...

    async def load_rejections(self) -> dict[bytes, float]: ...

    async def begin(self, failure: FailureRow) -> int:
        """A pending row: counted as ``failure`` should the process die before ``settle``."""
        ...

    async def settle(self, row: int, failed_at: float | None) -> None:
        """The pending ``row`` turned out a failure at ``failed_at``, or (None) no failure."""
        ...

    async def add_failure(self, failure: FailureRow) -> None: ...

    async def reject(self, key: bytes, at: float) -> None: ...

    async def unreject(self, key: bytes) -> None: ...


class MemoryBudgetStore:
    """A store that forgets everything with the process: for a client used on its own."""

    def __init__(self) -> None:
        self.failures: list[Failure] = []
        self.pending: dict[int, Failure] = {}
        self.rejections: dict[bytes, float] = {}
        self._rows = 0

    async def load_failures(self, since: float) -> list[FailureRow]:
        rows = [*self.failures, *self.pending.values()]
        return sorted((f.row() for f in rows if f.at >= since), key=lambda f: f[1])

    async def load_rejections(self) -> dict[bytes, float]:
        return dict(self.rejections)

    async def begin(self, failure: FailureRow) -> int:
        self._rows += 1
        self.pending[self._rows] = Failure.of(failure)
        return self._rows

    async def settle(self, row: int, failed_at: float | None) -> None:
        failure = self.pending.pop(row)
        if failed_at is not None:
            self.failures.append(
                Failure(failure.host, failed_at, failure.user_id, failure.purpose, failure.newcomer)
            )

    async def add_failure(self, failure: FailureRow) -> None:
        self.failures.append(Failure.of(failure))

    async def reject(self, key: bytes, at: float) -> None:
        self.rejections[key] = at

    async def unreject(self, key: bytes) -> None:
        self.rejections.pop(key, None)


@dataclass(eq=False)
class _Credential:
    in_flight: int = 0
    good: bool = False


@dataclass(eq=False)
class Lease:
    """One request's place in the budget; the client says how the request went."""

    host: str
    key: bytes
    purpose: Purpose
    user_id: int | None
    newcomer: bool
    outcome: Outcome = Outcome.NOT_SENT
    row: int | None = field(default=None, repr=False)
    # Its lease in the budget shared by all replicas (Redis), when there is one.
    shared: str | None = field(default=None, repr=False)


@dataclass(eq=False)
class _Waiter:
    lease: Lease
    since: int
    command: str
    granted: asyncio.Future[None]


@dataclass(eq=False)
class _Host:
    failures: list[Failure] = field(default_factory=list)
    leases: list[Lease] = field(default_factory=list)


class AuthBudget:
    """At most ``LIMIT`` failed authorisations per host in any ``WINDOW``, leases included."""

    def __init__(
        self,
        store: BudgetStore,
        key: bytes,
        *,
        clock: WallClock = time.time,
        call_timeout: float = 20.0,
        shared: SharedLimits | None = None,
    ) -> None:
        self._store = store
        # With replicas, every lease also takes a place in the budget they share: this process
        # keeps its fairness caps, the shared one the hard limit across all of them.
        self._shared = shared
        self._key = key
        self._clock = clock
        self._call_timeout = call_timeout
        self._hosts: dict[str, _Host] = {}
        self._credentials: dict[bytes, _Credential] = {}
        self._rejected: dict[bytes, float] = {}
        # Which refusal came when, in order: a log-in check is refused unsent only if its
        # credentials were refused after it began (clocks can tie; this cannot).
        self._refusals: dict[bytes, int] = {}
        self._refusal_count = 0
        self._loaded = False
        self._load_lock = asyncio.Lock()
        # Requests waiting for a place, oldest first; a release hands places out in this order.
        self._queue: deque[_Waiter] = deque()

    def credential_key(self, host: str, login: str | None, secret: str) -> bytes:
        """A keyed hash: a plain hash of a password could be brute-forced from the database."""
        message = "\0".join((host, login or "", secret)).encode()
        return hmac.new(self._key, message, hashlib.sha256).digest()

    async def load(self) -> None:
        """Read the stored failures and rejections; done on first use if not called."""
        async with self._load_lock:
            if self._loaded:
                return
            for row in await self._store.load_failures(self._clock() - WINDOW):
                failure = Failure.of(row)
                self._host(failure.host).failures.append(failure)
            self._rejected.update(await self._store.load_rejections())
            self._loaded = True

    def rejected_at(self, key: bytes) -> float | None:
        """When SMSC refused these credentials, if it did and nobody typed them in since."""
        return self._rejected.get(key)

    def spare(self, host: str, key: bytes) -> bool:
        """Whether a request nobody asked for (a background poll) may go: its credentials worked
        in this process, or the host has no failure in the window. Credentials refused before
        are refused locally by ``lease`` without a request, so they need no check here."""
        credential = self._credentials.get(key)
        if credential is not None and credential.good:
            return True
        now = self._clock()
        return not any(f.at > now - WINDOW for f in self._host(host).failures)

    def _host(self, host: str) -> _Host:
        state = self._hosts.get(host)
        if state is None:
            state = self._hosts[host] = _Host()
        return state

    def _credential(self, key: bytes) -> _Credential:
        state = self._credentials.get(key)
        if state is None:
            state = self._credentials[key] = _Credential()
        return state

    @asynccontextmanager
    async def lease(
        self,
        host: str,
        key: bytes,
        *,
        command: str,
        purpose: Purpose = Purpose.SAVED,
        user_id: int | None = None,
        newcomer: bool = False,
        windows: Sequence[tuple[str, int]] = (),
    ) -> AsyncIterator[Lease]:
        """Wait for a place for one request; refuse locally when none can be had in time.

        With replicas, the shared place is taken only with a place in each of ``windows``
        (SMSC's request windows, ``SharedLimits.take``) and outside the host's cool-down."""
        if not self._loaded:
            await self.load()
        lease = Lease(host, key, purpose, user_id, newcomer)
        await self._acquire(lease, command)
        credential = self._credential(key)
        if self._shared is not None:
            try:
                await self._acquire_shared(
                    self._shared, lease, command, pending=not credential.good, windows=windows
                )
            except BaseException:
                self._release(lease)
                raise
        if not credential.good:
            # The lease's failure could happen as late as the call timeout from now.
            pending = Failure(host, self._clock() + self._call_timeout, user_id, purpose, newcomer)
            try:
                lease.row = await self._store.begin(pending.row())
            except BaseException:
                self._release(lease)
                raise
        try:
            yield lease
        finally:
            await self._finish(lease, credential)

    async def _acquire(self, lease: Lease, command: str) -> None:
        since = self._refusal_count
        if self._try(lease, since, command):
            return
        waiter = _Waiter(lease, since, command, asyncio.get_running_loop().create_future())
        self._queue.append(waiter)
        try:
            async with asyncio.timeout(self._call_timeout):
                await waiter.granted
        except BaseException as exc:
            # Cancelling the task cancels the future it awaits, unless a place was handed out
            # first; a cancelled waiter is dropped from the queue at the next release.
            granted = waiter.granted
            granted.cancel()
            if not granted.cancelled() and granted.exception() is None:
                # Granted, but this request gave up before it could use the place.
                self._release(lease)
            if isinstance(exc, TimeoutError):
                until = self._clock() + BUSY_RETRY
                raise AuthPaused(command, until=until, retry_after=BUSY_RETRY, busy=True) from None
            raise

    @property
    def shared(self) -> SharedLimits | None:
        """The budget all replicas share (Redis), when there is one."""
        return self._shared

    async def _acquire_shared(
        self,
        shared: SharedLimits,
        lease: Lease,
        command: str,
        *,
        pending: bool,
        windows: Sequence[tuple[str, int]],
    ) -> None:
        """A place in the budget all replicas share; ``pending``: counted as a failure if this
        process dies holding it (its credentials are not known good)."""
        lease_id = secrets.token_hex(8)
        # Real time, not the budget's clock: this bounds how long the caller waits.
        deadline = time.monotonic() + self._call_timeout
        queued = False
        try:
            while True:
                verdict = await shared.budget_acquire(
                    lease.host,
                    lease_id,
                    lease.key,
                    now=self._clock(),
                    saved=lease.purpose is Purpose.SAVED,
                    pending=pending,
                    limit=LIMIT,
                    window=WINDOW,
                    windows=windows,
                )
                # Any verdict but a wait has taken this request out of the queue.
                queued = verdict.kind == "wait"
                if verdict.kind == "ok":
                    lease.shared = lease_id
                    return
                if verdict.kind == "refused":
                    self._rejected[lease.key] = verdict.at
                    raise CredentialsRefused(command, rejected_at=verdict.at)
                if verdict.kind == "paused":
                    until = verdict.at
                    raise AuthPaused(command, until=until, retry_after=until - self._clock())
                if verdict.kind == "cooldown":
                    raise SmscError(
                        command, IP_BLOCKED, "host in cool-down", local=True, retry_after=verdict.at
                    )
                if verdict.kind == "rate":
                    raise SmscError(
                        command, TOO_MANY, "rate limit", local=True, retry_after=verdict.at
                    )
                left = deadline - time.monotonic()
                if left <= 0:
                    until = self._clock() + BUSY_RETRY
                    raise AuthPaused(command, until=until, retry_after=BUSY_RETRY, busy=True)
                await shared.budget_wait(lease.host, lease_id, left)
        finally:
            if queued:
                # Given up while queued: the waiters behind move up now, not when it lapses.
                with contextlib.suppress(Exception):
                    await asyncio.shield(shared.budget_leave(lease.host, lease_id))

    def _grant(self) -> None:
        """Hand free places to waiting requests, oldest first; refuse those that cannot wait."""
        # Synchronous and in order: waking every waiter to race for a place would cost each
        # release a task switch per waiter, and let a late request overtake an early one.
        waiting: deque[_Waiter] = deque()
        for waiter in self._queue:
            if waiter.granted.done():
                continue
            try:
                granted = self._try(waiter.lease, waiter.since, waiter.command)
            except SmscError as exc:
                waiter.granted.set_exception(exc)
                continue
            if granted:
                waiter.granted.set_result(None)
            else:
                waiting.append(waiter)
        self._queue = waiting

    def _try(self, lease: Lease, since: int, command: str) -> bool:
        """Take a place (True), or wait for one (False); raise when waiting cannot help."""
        rejected = self._rejected.get(lease.key)
        # A log-in check may send refused credentials again (they are typed anew), unless they
        # were refused while it waited: an identical check just failed.
        refused_since = self._refusals.get(lease.key, 0) > since
        if rejected is not None and (lease.purpose is Purpose.SAVED or refused_since):
            raise CredentialsRefused(command, rejected_at=rejected)
        now = self._clock()
        state = self._host(lease.host)
        state.failures = [f for f in state.failures if f.at > now - WINDOW]
        # (failures in scope, leases in scope, cap) for every cap this lease counts against.
        scopes = [(state.failures, state.leases, LIMIT)]
        if lease.purpose is Purpose.LOGIN:

            def mine(item: Failure | Lease) -> bool:
                return item.purpose is Purpose.LOGIN and item.user_id == lease.user_id

            def newcomers(item: Failure | Lease) -> bool:
                return item.purpose is Purpose.LOGIN and item.newcomer

            checks = [mine, newcomers] if lease.newcomer else [mine]
            if lease.user_id is None:
                checks.remove(mine)
            caps = {mine: PER_USER, newcomers: NEWCOMERS}
            scopes += [
                (
                    [f for f in state.failures if check(f)],
                    [x for x in state.leases if check(x)],
                    caps[check],
                )
                for check in checks
            ]
        until = 0.0
        for failures, _leases, cap in scopes:
            if len(failures) >= cap:
                # The place frees when all but cap - 1 of them are older than the window.
                times = sorted(f.at for f in failures)
                until = max(until, times[len(times) - cap] + WINDOW)
        if until:
            raise AuthPaused(command, until=until, retry_after=until - now)
        if any(len(failures) + len(leases) >= cap for failures, leases, cap in scopes):
            return False
        credential = self._credential(lease.key)
        cap = KNOWN_GOOD_IN_FLIGHT if credential.good else UNPROVEN_IN_FLIGHT
        if credential.in_flight >= cap:
            return False
        credential.in_flight += 1
        state.leases.append(lease)
        return True

    def _release(self, lease: Lease) -> None:
        self._host(lease.host).leases.remove(lease)
        credential = self._credential(lease.key)
        credential.in_flight -= 1
        if not credential.in_flight and not credential.good:
            del self._credentials[lease.key]
        self._grant()

    async def _finish(self, lease: Lease, credential: _Credential) -> None:
        outcome = lease.outcome
        failed = outcome is Outcome.REFUSED or (outcome is Outcome.UNKNOWN and not credential.good)
        now = self._clock()
        if failed:
            failure = Failure(lease.host, now, lease.user_id, lease.purpose, lease.newcomer)
            failures = self._host(lease.host).failures
            failures.append(failure)
            log.warning(
                "%s: failed authorisation (%s, %s), %d of %d allowed in 30 minutes",
                lease.host,
                lease.purpose.value,
                outcome.value,
                sum(1 for f in failures if f.at > now - WINDOW),
                LIMIT,
            )
        if outcome is Outcome.REFUSED:
            credential.good = False
            self._rejected[lease.key] = now
            self._refusal_count += 1
            self._refusals[lease.key] = self._refusal_count
        elif outcome is Outcome.AUTHORISED:
            credential.good = True
            self._rejected.pop(lease.key, None)
            self._refusals.pop(lease.key, None)
        # The verdict is in memory before any waiter here wakes; the local place frees after the
        # shared one, so the request it goes to finds that free in Redis instead of queueing
        # there behind this release and waiting to be woken (a few ms of an idle place each).
        try:
            if self._shared is not None and lease.shared is not None:
                try:
                    await self._shared.budget_release(
                        lease.host,
                        lease.shared,
                        now=now,
                        failed_at=now if failed else None,
                        refused=lease.key if outcome is Outcome.REFUSED else None,
                        authorised=lease.key if outcome is Outcome.AUTHORISED else None,
                        limit=LIMIT,
                        window=WINDOW,
                    )
                except Exception:
                    # Left to expire: a pending lease then counts as a failure, never as less.
                    log.exception("%s: could not release a shared budget lease", lease.host)
        finally:
            self._release(lease)
        try:
            if lease.row is not None:
                await self._store.settle(lease.row, now if failed else None)
            elif failed:
                await self._store.add_failure(failure.row())
            if outcome is Outcome.REFUSED:
                await self._store.reject(lease.key, now)
            elif outcome is Outcome.AUTHORISED and lease.purpose is Purpose.LOGIN:
                await self._store.unreject(lease.key)
        except Exception:
            # The verdict holds in memory; only a restart would forget it. The request's own
            # outcome (an answer, an SMSC error) must still reach the user.
            log.exception("%s: could not store the outcome of a request", lease.host)
