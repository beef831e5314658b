"""SMSC's limits shared by every replica of the bot through Redis (``REDIS_URL``).

One process keeps its limits in memory (``bot.smsc.limits``, ``bot.smsc.budget``); several
replicas behind one IP must count together, or SMSC sees their sum. Each check-and-take is one Lua
script, so two replicas never both take the last place. Places in flight are leases: a sorted set
member whose score is its expiry, so a replica that dies mid-request frees its places after
``lease_ttl``; a dead replica's budget lease for credentials not yet known good turns into a
failure then (its request may have failed at SMSC), as a pending row does in SQLite. Requests
waiting for a budget place queue in Redis in arrival order, whichever replica they are on, and a
release wakes the first of them on a list of its own.

Times are the caller's wall clock (epoch seconds; injectable for tests), in milliseconds in Redis.
Key names carry a keyed hash, never a login or a host; cached answers are encrypted (AES-GCM).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import secrets
import time
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from typing import Any, Final

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from redis.asyncio import Redis

WallClock = Callable[[], float]

# How long a waiter blocks on a wake-up before it looks again for places a dead replica left.
RECHECK: Final = 1.0
# How long a waiter that stopped looking (its replica died) keeps its place in the queue.
QUEUE_ALIVE: Final = 5 * RECHECK
WINDOW_MS: Final = 60_000

# Leases are judged by Redis's own clock unless a test gives one: a replica whose clock runs
# ahead must not see the others' leases as expired.
_LEASE_NOW: Final = """
local function lease_now(given)
  if given ~= '' then return tonumber(given) end
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
"""

_GATE_ACQUIRE: Final = (
    _LEASE_NOW
    + """
local now = lease_now(ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if redis.call('ZCARD', KEYS[1]) < tonumber(ARGV[3]) then
  redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), ARGV[4])
  redis.call('PEXPIRE', KEYS[1], ARGV[5])
  return 1
end
return 0
"""
)

_RELEASE: Final = """
if redis.call('ZREM', KEYS[1], ARGV[1]) == 1 then
  redis.call('LPUSH', KEYS[2], 1)
  redis.call('LTRIM', KEYS[2], 0, tonumber(ARGV[2]) - 1)
  redis.call('PEXPIRE', KEYS[2], ARGV[3])
end
return 0
"""

_WINDOWS: Final = """
local now = tonumber(ARGV[1])
local win = tonumber(ARGV[2])
local wait = 0
for i, key in ipairs(KEYS) do
  redis.call('ZREMRANGEBYSCORE', key, '-inf', now - win)
  if redis.call('ZCARD', key) >= tonumber(ARGV[3 + i]) then
    local oldest = tonumber(redis.call('ZRANGE', key, 0, 0, 'WITHSCORES')[2])
    wait = math.max(wait, win - (now - oldest))
  end
end
if wait > 0 then return math.ceil(wait) end
for i, key in ipairs(KEYS) do
  redis.call('ZADD', key, now, ARGV[3] .. ':' .. i)
  redis.call('PEXPIRE', key, win * 2)
end
return 0
"""

_CACHE_GET: Final = """
local gen = redis.call('GET', KEYS[1]) or '0'
return {gen, redis.call('GET', ARGV[1] .. ':' .. gen)}
"""

_CACHE_PUT: Final = """
local gen = redis.call('GET', KEYS[1]) or '0'
if gen == ARGV[2] then
  redis.call('SET', ARGV[1] .. ':' .. gen, ARGV[3], 'PX', ARGV[4])
end
return 0
"""

# KEYS: failures, leases, pending, rejected, ticket, queue, alive.
# Failures are timed by the budget's clock (now), leases by the lease clock (lnow); an expired
# pending lease counts as a failure from the moment it is found expired.
_BUDGET_SWEEP: Final = (
    _LEASE_NOW
    + """
local function sweep(now, lnow, window)
  for _, id in ipairs(redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', lnow)) do
    if redis.call('HDEL', KEYS[3], id) == 1 then
      redis.call('ZADD', KEYS[1], now, id)
    end
    redis.call('ZREM', KEYS[2], id)
  end
  redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
end
"""
)

# Waiters queue in arrival order (KEYS[6], score = a ticket from KEYS[5]; KEYS[7], score = until
# when they are alive, refreshed at every look): a place that frees goes to the first of them,
# never to a request that just came, or one replica's newcomers would keep overtaking the other's
# waiters (each of which then slept out RECHECK: the 1 s p99 of bench/replicas.py).
_BUDGET_ACQUIRE: Final = (
    _BUDGET_SWEEP
    + """
local now, ttl, id, cred = tonumber(ARGV[1]), tonumber(ARGV[2]), ARGV[3], ARGV[4]
local saved, pending = ARGV[5] == '1', ARGV[6] == '1'
local limit, window, keep = tonumber(ARGV[7]), tonumber(ARGV[8]), ARGV[9]
local lnow = lease_now(ARGV[10])
local alive, wake = tonumber(ARGV[11]), ARGV[12] .. id
sweep(now, lnow, window)
for _, gone in ipairs(redis.call('ZRANGEBYSCORE', KEYS[7], '-inf', lnow)) do
  redis.call('ZREM', KEYS[6], gone)
  redis.call('ZREM', KEYS[7], gone)
end
local function leave()
  redis.call('ZREM', KEYS[6], id)
  redis.call('ZREM', KEYS[7], id)
  redis.call('DEL', wake)
end
if saved then
  local at = redis.call('HGET', KEYS[4], cred)
  if at then leave() return {'refused', at} end
end
local cooldown = redis.call('GET', KEYS[8])
if cooldown and tonumber(cooldown) * 1000 > now then
  leave()
  return {'cooldown', tostring(tonumber(cooldown) * 1000 - now)}
end
local failures = redis.call('ZCARD', KEYS[1])
if failures >= limit then
  leave()
  local nth = redis.call('ZRANGE', KEYS[1], failures - limit, failures - limit, 'WITHSCORES')
  return {'paused', tostring(tonumber(nth[2]) + window)}
end
local room = limit - failures - redis.call('ZCARD', KEYS[2])
local ahead = redis.call('ZRANK', KEYS[6], id) or redis.call('ZCARD', KEYS[6])
if ahead >= room then
  if redis.call('ZSCORE', KEYS[6], id) == false then
    redis.call('ZADD', KEYS[6], redis.call('INCR', KEYS[5]), id)
    redis.call('PEXPIRE', KEYS[5], keep)
  end
  redis.call('ZADD', KEYS[7], lnow + alive, id)
  redis.call('PEXPIRE', KEYS[6], keep)
  redis.call('PEXPIRE', KEYS[7], keep)
  return {'wait', '0'}
end
-- SMSC's request windows (KEYS[9] on, limits from ARGV[15]), taken only with the place.
local span, wait = tonumber(ARGV[14]), 0
for i = 9, #KEYS do
  redis.call('ZREMRANGEBYSCORE', KEYS[i], '-inf', now - span)
  if redis.call('ZCARD', KEYS[i]) >= tonumber(ARGV[6 + i]) then
    local oldest = tonumber(redis.call('ZRANGE', KEYS[i], 0, 0, 'WITHSCORES')[2])
    wait = math.max(wait, span - (now - oldest))
  end
end
leave()
if wait > 0 then return {'rate', tostring(wait)} end
for i = 9, #KEYS do
  redis.call('ZADD', KEYS[i], now, ARGV[13] .. ':' .. i)
  redis.call('PEXPIRE', KEYS[i], span * 2)
end
redis.call('ZADD', KEYS[2], lnow + ttl, id)
if pending then redis.call('HSET', KEYS[3], id, 1) end
for i = 1, 3 do redis.call('PEXPIRE', KEYS[i], keep) end
return {'ok', '0'}
"""
)

# Wakes as many of the first waiters as there are places free, each on a list of its own.
_BUDGET_RELEASE: Final = """
local id, failed_at, refuse, unreject = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local limit, keep, wake = tonumber(ARGV[6]), ARGV[7], ARGV[8]
redis.call('ZREM', KEYS[2], id)
redis.call('HDEL', KEYS[3], id)
if failed_at ~= '' then
  redis.call('ZADD', KEYS[1], tonumber(failed_at), id)
  redis.call('PEXPIRE', KEYS[1], keep)
end
if refuse ~= '' then redis.call('HSET', KEYS[4], refuse, ARGV[5]) end
if unreject ~= '' then redis.call('HDEL', KEYS[4], unreject) end
local room = limit - redis.call('ZCARD', KEYS[1]) - redis.call('ZCARD', KEYS[2])
if room > 0 then
  for _, waiter in ipairs(redis.call('ZRANGE', KEYS[6], 0, room - 1)) do
    redis.call('LPUSH', wake .. waiter, 1)
    redis.call('PEXPIRE', wake .. waiter, keep)
  end
end
return 0
"""

_BUDGET_COUNT: Final = (
    _BUDGET_SWEEP
    + """
sweep(tonumber(ARGV[1]), lease_now(ARGV[3]), tonumber(ARGV[2]))
return {redis.call('ZCARD', KEYS[1]), redis.call('ZCARD', KEYS[2])}
"""
)


def _ms(seconds: float) -> int:
    return round(seconds * 1000)


class BudgetVerdict:
    """What the shared budget said to a request: a place, a wait, a pause or a refusal."""

    __slots__ = ("at", "kind")

    def __init__(self, kind: str, at: float) -> None:
        # "ok", "wait", "paused" (until ``at``), "refused" (at ``at``), "cooldown" and "rate"
        # (``at`` seconds to wait)
        self.kind = kind
        self.at = at


class SharedLimits:
    """The per-login cap, request windows, host cool-down, read cache and failure budget."""

    def __init__(
        self,
        redis: Redis,
        key: bytes,
        *,
        clock: WallClock = time.time,
        lease_clock: WallClock | None = None,
        lease_ttl: float = 60.0,
        prefix: str = "smsc:",
    ) -> None:
        self.redis = redis
        self._key = key
        self._aead = AESGCM(hashlib.sha256(b"cache\0" + key).digest())
        self._clock = clock
        self._lease_clock = lease_clock
        self.lease_ttl = lease_ttl
        self.prefix = prefix
        self._gate_acquire = redis.register_script(_GATE_ACQUIRE)
        self._release = redis.register_script(_RELEASE)
        self._windows = redis.register_script(_WINDOWS)
        self._cache_get = redis.register_script(_CACHE_GET)
        self._cache_put = redis.register_script(_CACHE_PUT)
        self._budget_acquire = redis.register_script(_BUDGET_ACQUIRE)
        self._budget_release = redis.register_script(_BUDGET_RELEASE)
        self._budget_count = redis.register_script(_BUDGET_COUNT)

    @classmethod
    def from_url(cls, url: str, key: bytes, **kwargs: Any) -> SharedLimits:
        return cls(Redis.from_url(url), key, **kwargs)

    async def aclose(self) -> None:
        await self.redis.aclose()

    def name(self, kind: str, *parts: str) -> str:
        """A key name: the kind in clear, what it is about as a keyed hash (no login, no host)."""
        digest = hmac.new(self._key, "\0".join(parts).encode(), hashlib.sha256).hexdigest()[:24]
        return f"{self.prefix}{kind}:{digest}"

    def now_ms(self) -> int:
        return _ms(self._clock())

    def _lease_now(self) -> str:
        """The lease clock's time for a script; empty: the script asks Redis."""
        return "" if self._lease_clock is None else str(_ms(self._lease_clock()))

    # -- the per-login cap --------------------------------------------------------------------

    async def try_gate(self, account: str, cap: int) -> str | None:
        """A place under ``account``'s cap (its lease id), or None when all ``cap`` are taken."""
        lease = secrets.token_hex(8)
        taken = await self._gate_acquire(
            keys=[self.name("gate", account)],
            args=[self._lease_now(), _ms(self.lease_ttl), cap, lease, _ms(self.lease_ttl) * 2],
        )
        return lease if taken else None

    async def release_gate(self, account: str, lease: str, cap: int) -> None:
        await self._release(
            keys=[self.name("gate", account), self.name("gate-wake", account)],
            args=[lease, cap, _ms(self.lease_ttl) * 2],
        )

    @asynccontextmanager
    async def gate(self, account: str, cap: int) -> AsyncIterator[None]:
        """Hold one of ``cap`` places of ``account`` across all replicas while inside."""
        wake = self.name("gate-wake", account)
        while (lease := await self.try_gate(account, cap)) is None:
            # Woken by a release anywhere; RECHECK bounds the wait for places a dead one left.
            await self.redis.blpop([wake], timeout=RECHECK)
        try:
            yield
        finally:
            await self.release_gate(account, lease, cap)

    # -- SMSC's per-minute windows --------------------------------------------------------------

    async def take(self, windows: Sequence[tuple[str, int]]) -> float:
        """One event in every window (name, limit) if all have room (0.0), else seconds to wait."""
        keys = [self.name("window", name) for name, _ in windows]
        wait = await self._windows(
            keys=keys,
            args=[self.now_ms(), WINDOW_MS, secrets.token_hex(8), *(limit for _, limit in windows)],
        )
        return int(wait) / 1000

    # -- the host cool-down after error 4 ---------------------------------------------------------

    async def block(self, host: str, seconds: float) -> None:
        until = self._clock() + seconds
        await self.redis.set(self.name("cooldown", host), repr(until), px=_ms(seconds) + 60_000)

    async def cooldown(self, host: str) -> float:
        until = await self.redis.get(self.name("cooldown", host))
        if until is None:
            return 0.0
        return max(0.0, float(until) - self._clock())

    # -- the read cache -----------------------------------------------------------------------

    async def cached(self, account: str, key: str) -> tuple[str, Any | None]:
        """(generation, answer or None) for an identical read of ``account``."""
        gen, blob = await self._cache_get(
            keys=[self.name("cache-gen", account)], args=[self.name("cache", account, key)]
        )
        generation = gen.decode() if isinstance(gen, bytes) else str(gen)
        if not blob:
            return generation, None
        expires, value = json.loads(self._aead.decrypt(blob[:12], blob[12:], None))
        if expires <= self._clock():
            return generation, None
        return generation, value

    async def store(self, account: str, key: str, generation: str, value: Any, ttl: float) -> None:
        """Keep an answer unless a write to ``account`` happened since ``generation`` was read."""
        nonce = os.urandom(12)
        plain = json.dumps([self._clock() + ttl, value]).encode()
        blob = nonce + self._aead.encrypt(nonce, plain, None)
        await self._cache_put(
            keys=[self.name("cache-gen", account)],
            args=[self.name("cache", account, key), generation, blob, _ms(ttl) + 1000],
        )

    async def invalidate(self, account: str) -> None:
        key = self.name("cache-gen", account)
        # Kept a day: answers live seconds, so a generation that lapses can match none.
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.incr(key)
            pipe.expire(key, 86_400)
            await pipe.execute()

    # -- the failed-authorisation budget --------------------------------------------------------

    def _budget_keys(self, host: str) -> list[str]:
        return [
            self.name("auth-failures", host),
            self.name("auth-leases", host),
            self.name("auth-pending", host),
            f"{self.prefix}auth-rejected",
            self.name("auth-ticket", host),
            self.name("auth-queue", host),
            self.name("auth-alive", host),
        ]

    def _wake_key(self, host: str, lease: str = "") -> str:
        """Where the release that frees a place for waiter ``lease`` wakes it."""
        return f"{self.name('auth-wake', host)}:{lease}"

    async def budget_acquire(
        self,
        host: str,
        lease: str,
        credential: bytes,
        *,
        now: float,
        saved: bool,
        pending: bool,
        limit: int,
        window: float,
        windows: Sequence[tuple[str, int]] = (),
    ) -> BudgetVerdict:
        """A place for one request (``ok``), a ``wait`` in the queue, ``paused`` or ``refused``
        (until or at ``at``), or ``cooldown`` / ``rate`` (``at`` seconds to wait): the host is in
        cool-down, or one of ``windows`` (as ``take`` counts them) is full."""
        kind, at = await self._budget_acquire(
            keys=[
                *self._budget_keys(host),
                self.name("cooldown", host),
                *(self.name("window", name) for name, _ in windows),
            ],
            args=[
                _ms(now),
                _ms(self.lease_ttl),
                lease,
                credential.hex(),
                int(saved),
                int(pending),
                limit,
                _ms(window),
                _ms(window) * 2,
                self._lease_now(),
                _ms(QUEUE_ALIVE),
                self._wake_key(host),
                secrets.token_hex(8),
                WINDOW_MS,
                *(limit for _, limit in windows),
            ],
        )
        text = kind.decode() if isinstance(kind, bytes) else str(kind)
        return BudgetVerdict(text, float(at) / 1000)

    async def budget_wait(self, host: str, lease: str, at_most: float) -> bool:
        """Until a release anywhere frees a place for waiter ``lease`` (True), or ``at_most``
        (<= RECHECK) s pass: a place a dead replica left frees without a release."""
        woken = await self.redis.blpop([self._wake_key(host, lease)], timeout=min(RECHECK, at_most))
        return woken is not None

    async def budget_leave(self, host: str, lease: str) -> None:
        """Waiter ``lease`` gave up: out of the queue, so the waiters behind it move up."""
        keys = self._budget_keys(host)
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.zrem(keys[5], lease)
            pipe.zrem(keys[6], lease)
            pipe.delete(self._wake_key(host, lease))
            await pipe.execute()

    async def budget_release(
        self,
        host: str,
        lease: str,
        *,
        now: float,
        failed_at: float | None,
        refused: bytes | None,
        authorised: bytes | None,
        limit: int,
        window: float,
    ) -> None:
        await self._budget_release(
            keys=self._budget_keys(host),
            args=[
                lease,
                "" if failed_at is None else _ms(failed_at),
                "" if refused is None else refused.hex(),
                "" if authorised is None else authorised.hex(),
                _ms(now),
                limit,
                _ms(window) * 2,
                self._wake_key(host),
            ],
        )

    async def budget_count(self, host: str, *, now: float, window: float) -> tuple[int, int]:
        """(failures in the window, leases held) for ``host`` across all replicas."""
        failures, leases = await self._budget_count(
            keys=self._budget_keys(host), args=[_ms(now), _ms(window), self._lease_now()]
        )
        return int(failures), int(leases)
