"""Notifications: the balance running low, sender names changing status at an operator, and a
daily or weekly digest of what was spent.

Everything is kept per SMSC account (``AccountService.identity``) and per receiving chat, so one
read serves every chat following the same account: its balance once per ``poll_seconds`` (at a
phase of its own, so accounts do not all poll at the same second), its sender names once an hour,
its figures once per digest period. ``tick`` does whatever is due at ``clock()`` and says when
the next thing falls due; ``run`` calls it in a loop. The state that keeps a notification from
being sent twice is in the database, not in the loop: a restart, or two ticks at once, change
nothing. Messages are payloads (plain JSON) handed to the ``Outbox``; the app renders them in
each chat's language.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import hashlib
import json
import logging
import re
import time
import zoneinfo
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from datetime import time as dtime
from decimal import Decimal, InvalidOperation
from typing import Any, Final
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.accounts import AccountService, NeedsRelogin, NotLoggedIn
from bot.periods import Period
from bot.services import stats
from bot.services.outbox import Outbox
from bot.smsc import SmscClient
from bot.smsc.errors import AuthPaused, SmscClientError, SmscError
from bot.storage.accounts import Account
from bot.storage.notify import Followed, NotifyRepo, Sub
from bot.tasks import Background

log = logging.getLogger(__name__)

SENDERS_EVERY: Final = 3600.0
# The loop looks at the clock at least this often, whatever falls due.
MAX_SLEEP: Final = 60.0
# A digest sent later than this after its time says it is late (the bot was down).
LATE_AFTER: Final = 15 * 60.0
# A digest whose period is over is prepared this long before it is due (its figures read, its
# chart drawn), so that at its time only the send is left: the one charts thread draws ~8-10
# charts a second, so 15 minutes cover several thousand accounts' digests falling due at one
# minute, while a chat that changes its settings in between stays rare.
AHEAD: Final = 15 * 60.0
# After a failed read of the figures, the digest waits this long before trying again.
FIGURES_RETRY: Final = 300.0
REARM: Final = Decimal("1.10")
DEFAULT_TZ: Final = "Europe/Moscow"
# Where SMSC's customers live, west to east; any other IANA zone may be typed.
ZONES: Final = (
    "Europe/Kaliningrad",
    "Europe/Kyiv",
    "Europe/Minsk",
    "Europe/Moscow",
    "Europe/Samara",
    "Asia/Yekaterinburg",
    "Asia/Almaty",
    "Asia/Novosibirsk",
    "Asia/Krasnoyarsk",
    "Asia/Irkutsk",
    "Asia/Vladivostok",
)
DAILY: Final = "daily"
WEEKLY: Final = "weekly"
TOP: Final = 3
# The digest's chart shows at least this many days (a weekly one: its week and the one before).
CHART_DAYS: Final = 7


def zone(name: str) -> ZoneInfo | None:
    """The IANA zone of that name, or None when there is none."""
    name = name.strip()
    if not name or ".." in name or name.startswith("/"):
        return None
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return None


def zone_name(text: str) -> str | None:
    """The IANA name of the zone typed, in its own letter case ("europe/berlin" is Europe/Berlin),
    or None when there is none."""
    name = text.strip()
    if zone(name) is not None:
        return name
    canonical = _zone_names().get(name.casefold())
    return canonical if canonical is not None and zone(canonical) is not None else None


@functools.cache
def _zone_names() -> dict[str, str]:
    return {name.casefold(): name for name in zoneinfo.available_timezones()}


# Thousands grouped with commas as English writes them: 1,000 or 12,345,678.90.
_COMMA_GROUPS: Final = re.compile(r"\d{1,3}(?:,\d{3})+(?:\.\d*)?")


def parse_threshold(text: str, *, english: bool = False) -> Decimal | None:
    """A positive amount with at most two decimals, or None: spaces group digits; a comma is the
    decimal sign, except before a point ("1,000.50") and, in English, before three digits."""
    text = "".join(text.split())
    if _COMMA_GROUPS.fullmatch(text) and (english or "." in text):
        text = text.replace(",", "")
    try:
        value = Decimal(text.replace(",", "."))
    except InvalidOperation:
        return None
    if not value.is_finite() or value <= 0 or value >= Decimal(10) ** 9:
        return None
    # The exponent, not the value: "1,000" read as 1.000 is not one rouble with zeros.
    if int(value.as_tuple().exponent) < -2:
        return None
    return value.quantize(Decimal("0.01"))


def parse_time(text: str) -> int | None:
    """Minutes after midnight of ``HH:MM`` (or ``H.MM``, ``HH``), or None."""
    text = text.strip().replace(".", ":")
    hours, _, minutes = text.partition(":")
    # isdecimal, not isdigit: superscripts pass isdigit and then make int() raise.
    if not hours.isdecimal() or (minutes and not minutes.isdecimal()) or len(minutes) not in (0, 2):
        return None
    h, m = int(hours), int(minutes or 0)
    if h > 23 or m > 59:
        return None
    return h * 60 + m


def phase_of(account: str, every: float) -> float:
    """A stable offset of the account's polls within ``every`` seconds."""
    digest = hashlib.sha256(account.encode()).digest()
    return int.from_bytes(digest[:8], "big") % int(every * 1000) / 1000


def slot_after(now: float, every: float, phase: float) -> float:
    """The first moment after ``now`` at ``phase`` within a period of ``every`` seconds."""
    return now - ((now - phase) % every) + every


def last_due(now: datetime, tz: ZoneInfo, period: str, minute: int) -> datetime:
    """The latest digest time at or before ``now``: the chosen local time every day, or every
    Monday for a weekly one."""
    local = now.astimezone(tz)
    day = local.date()
    step = 7 if period == WEEKLY else 1
    if period == WEEKLY:
        day -= timedelta(days=day.weekday())
    while True:
        due = datetime.combine(day, dtime(minute // 60, minute % 60), tzinfo=tz)
        if due <= now:
            return due
        day -= timedelta(days=step)


def next_due(now: datetime, tz: ZoneInfo, period: str, minute: int) -> datetime:
    step = 7 if period == WEEKLY else 1
    due = last_due(now, tz, period, minute)
    day = due.date()
    while due <= now:
        day += timedelta(days=step)
        due = datetime.combine(day, dtime(minute // 60, minute % 60), tzinfo=tz)
    return due


def period_of(due: datetime, period: str) -> tuple[date, date]:
    """The days a digest sent at ``due`` (local) covers: the day before, or the week before."""
    day = due.date()
    if period == WEEKLY:
        return day - timedelta(days=7), day - timedelta(days=1)
    return day - timedelta(days=1), day - timedelta(days=1)


def period_key(period: str, start: date) -> str:
    return f"{period}:{start.isoformat()}"


@dataclass
class Figures:
    """What an account sent and spent in a period; ``top`` the subclients that spent most;
    ``days`` the chart: the period and the one before, day by day (ISO date, messages, spent)."""

    sms: int = 0
    spent: str = "0"
    currency: str = ""
    top: list[tuple[str, int, str]] = field(default_factory=list)
    subclients: int = 0
    # True: sms and spent are the account's own totals (get.php), not the subclients' sum.
    own: bool = False
    days: list[tuple[str, int, str]] = field(default_factory=list)

    def dump(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def load(cls, text: str) -> Figures:
        data = json.loads(text)
        data["top"] = [tuple(row) for row in data.get("top", [])]
        data["days"] = [tuple(row) for row in data.get("days", [])]
        return cls(**data)

    def between(self, start: date, end: date) -> dict[str, Any]:
        """Messages and money of the days from ``start`` to ``end``, summed from ``days``."""
        first, last = start.isoformat(), end.isoformat()
        inside = [(sms, Decimal(spent)) for day, sms, spent in self.days if first <= day <= last]
        return {
            "sms": sum(sms for sms, _spent in inside),
            "spent": str(sum((spent for _sms, spent in inside), Decimal(0))),
        }


async def account_figures(
    smsc: SmscClient, trends: stats.Trends, account: str, start: date, end: date
) -> Figures:
    """The account's own messages and money day by day from ``stats.Trends`` (days kept in
    ``stat_figures`` are not asked again), summed for the period, with the three subclients
    that spent most. The days reach back over the period before (for the comparison) and at
    least ``CHART_DAYS`` (for the chart)."""
    length = end - start + timedelta(days=1)
    first = min(start - length, end - timedelta(days=CHART_DAYS - 1))
    series = await trends.between(smsc, account, first, end)
    rows, _own = await stats.subclient_rows(smsc, Period(start, end))
    days = [(p.start.isoformat(), p.sms, str(p.spent)) for p in series.points]
    figures = Figures(
        currency=series.currency or next((r.currency for r in rows if r.currency), ""),
        top=[(r.login, r.sms, str(r.spent)) for r in rows[:TOP] if r.spent],
        subclients=len(rows),
        own=True,
        days=days,
    )
    total = figures.between(start, end)
    figures.sms, figures.spent = total["sms"], total["spent"]
    return figures


@dataclass(frozen=True, slots=True)
class Poller:
    """The saved log-in that reads an account for everyone following it."""

    chat_id: int
    account: Account
    smsc: SmscClient


@dataclass(frozen=True, slots=True)
class Refused:
    """SMSC refused the saved credentials; ``owner`` is the chat that saved them."""

    owner: int
    account: Account


class Notifier:
    """Polls followed accounts and queues what their chats should hear."""

    def __init__(
        self,
        repo: NotifyRepo,
        accounts: AccountService,
        outbox: Outbox,
        *,
        poll_seconds: float = 600.0,
        trends: stats.Trends,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.repo = repo
        self.accounts = accounts
        self.outbox = outbox
        self.poll_seconds = poll_seconds
        self._clock = clock
        self.trends = trends
        self._lock = asyncio.Lock()
        self._wake = asyncio.Event()
        self._figures_retry: dict[str, float] = {}
        # Digests prepared ahead (chat, account, period key) and when each is due.
        self._ahead: dict[tuple[int, str, str], float] = {}
        self._loop = Background(self.run, "notify")

    # -- settings --------------------------------------------------------------------------------

    async def settings(self, chat_id: int, account: Account) -> tuple[dict[str, Sub], str]:
        """The chat's settings for its account (a kind the account is not watched for is off),
        and its time zone."""
        identity = self.accounts.identity(account)
        subs = await self.repo.subs_of(chat_id, identity)
        watched = await self.repo.watched(identity)
        subs = {k: replace(s, enabled=s.enabled and k in watched) for k, s in subs.items()}
        return subs, await self.repo.get_tz(chat_id) or DEFAULT_TZ

    async def watched(self, account: Account) -> set[str]:
        """The kinds the account is watched for (for everyone in its team)."""
        return await self.repo.watched(self.accounts.identity(account))

    async def stop_watching(self, account: Account, kind: str) -> None:
        """An admin's choice: nobody hears of ``kind`` about the account, and it is not read for
        it, until an admin switches it on again (each member's own choice is kept)."""
        await self.repo.set_watch(self.accounts.identity(account), kind, False)
        self._wake.set()

    async def change(
        self,
        chat_id: int,
        account: Account,
        kind: str,
        enabled: bool,
        *,
        param: str | None = None,
        at_minute: int | None = None,
        may_watch: bool = True,
    ) -> bool:
        """Switch one kind on or off for the chat, with its parameter, and have the account
        watched for it. Without ``may_watch`` (below admin in a team) only a kind the account is
        watched for already can be switched on: False, and nothing changed, otherwise."""
        identity = self.accounts.identity(account)
        if enabled and not may_watch and kind not in await self.repo.watched(identity):
            return False
        now = self._clock()
        old = (await self.repo.subs_of(chat_id, identity)).get(kind)
        if old is not None and param is None and at_minute is None:
            param, at_minute = old.param, old.at_minute
        if enabled:
            await self.repo.set_watch(identity, kind, True)
            first = slot_after(now, self.poll_seconds, phase_of(identity, self.poll_seconds))
            await self.repo.follow(identity, first, first)
            await self.outbox.unblock(chat_id)
        await self.repo.set_sub(Sub(chat_id, identity, kind, enabled, param, at_minute, now))
        self._wake.set()
        return True

    async def may_receive(self, account: Account, kind: str, may_watch: bool) -> bool:
        """Whether the chat could switch ``kind`` on: it is watched, or the person may add it."""
        return may_watch or kind in await self.repo.watched(self.accounts.identity(account))

    async def set_zone(self, chat_id: int, name: str) -> None:
        await self.repo.set_tz(chat_id, name)
        self._wake.set()

    # -- the loop --------------------------------------------------------------------------------

    def start(self) -> None:
        self._loop.start()

    async def stop(self) -> None:
        await self._loop.stop()

    async def run(self) -> None:
        while True:
            self._wake.clear()
            try:
                due = await self.tick()
            except Exception:
                log.exception("notifications: a round failed")
                due = self._clock() + MAX_SLEEP
            delay = min(max(due - self._clock(), 1.0), MAX_SLEEP)
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(delay):
                    await self._wake.wait()

    async def tick(self) -> float:
        """Do what is due now; return when the next thing falls due (epoch seconds)."""
        async with self._lock:
            now = self._clock()
            upcoming = now + MAX_SLEEP
            self._ahead = {k: at for k, at in self._ahead.items() if at > now - LATE_AFTER}
            for followed in await self.repo.followed():
                try:
                    upcoming = min(upcoming, await self._round(followed, now))
                except Exception:
                    # One account's trouble (a bug, an answer not understood) stops only its
                    # round; it is tried again at its next slot.
                    log.exception("notifications: a round failed")
            return upcoming

    # -- one account -----------------------------------------------------------------------------

    async def poller(self, account: str) -> Poller | Refused | None:
        """Which saved log-in reads ``account`` for everyone following it: the first following
        chat whose saved log-in is that SMSC account. The one place to change when accounts
        belong to teams rather than chats."""
        refused: Refused | None = None
        for chat_id in await self.repo.followers(account):
            saved = await self.accounts.repo.get(chat_id)
            if saved is None or not saved.secret or self.accounts.identity(saved) != account:
                continue
            if saved.needs_relogin:
                refused = refused or Refused(chat_id, saved)
                continue
            if not self.accounts.may_poll(saved):
                continue
            try:
                saved, smsc = await self.accounts.client_for(chat_id)
            except (NotLoggedIn, NeedsRelogin):
                continue
            return Poller(chat_id, saved, smsc)
        return refused

    async def _round(self, followed: Followed, now: float) -> float:
        account = followed.account
        watched = await self.repo.watched(account)
        balance_due = "balance" in watched and followed.next_balance <= now
        senders_due = "senders" in watched and followed.next_senders <= now
        digests, ahead, upcoming = await self._digests_due(account, watched, now)
        upcoming = min(upcoming, followed.next_balance, followed.next_senders)
        if not (balance_due or senders_due or digests or ahead):
            return upcoming
        phase = phase_of(account, self.poll_seconds)
        next_balance = slot_after(now, self.poll_seconds, phase)
        next_senders = slot_after(now, SENDERS_EVERY, phase)
        poller = await self.poller(account)
        if poller is None and not await self._anyone_follows(account):
            # Disconnected, or every chat on it gone elsewhere: nothing is kept to poll.
            await self.repo.forget_account(account)
            return upcoming
        # Whatever happens below, the next reads are at the next slots: no retry storm.
        await self.repo.schedule(
            account,
            next_balance=next_balance if balance_due or poller is None else None,
            next_senders=next_senders if senders_due or poller is None else None,
        )
        upcoming = min(upcoming, next_balance)
        if poller is None:
            return upcoming
        if isinstance(poller, Refused):
            await self._tell_refused(account, poller)
            return upcoming
        if followed.refused_told:
            await self.repo.set_refused_told(account, False)
        try:
            if balance_due:
                await self._balance(account, poller)
            if senders_due:
                await self._senders(account, poller)
            for sub, due in digests:
                await self._digest(account, poller, sub, due, now)
            for sub, due in ahead:
                await self._prepare_digest(account, poller, sub, due)
        except SmscError as exc:
            if exc.code == 2 and not isinstance(exc, AuthPaused):
                await self.accounts.rejected(poller.chat_id)
                await self._tell_refused(account, Refused(poller.chat_id, poller.account))
            else:
                log.info("notifications: SMSC error %s reading an account", exc.code)
        except SmscClientError as exc:
            log.warning("notifications: %s", exc)
        return upcoming

    async def _follows(self, chat_id: int, account: str) -> bool:
        """Whether the chat is still logged in to that SMSC account: a chat that moved to
        another keeps its old settings (they come back with the account) but hears nothing."""
        saved = await self.accounts.repo.get(chat_id)
        return saved is not None and bool(saved.secret) and self.accounts.identity(saved) == account

    async def _anyone_follows(self, account: str) -> bool:
        """Whether some following chat is still on that SMSC account (or may be: a secret that
        no key decrypts now may come back with the key)."""
        for chat_id in await self.repo.followers(account):
            saved = await self.accounts.repo.get(chat_id)
            if saved is not None and (not saved.secret or self.accounts.identity(saved) == account):
                return True
        return False

    async def _tell_refused(self, account: str, refused: Refused) -> None:
        if await self.repo.set_refused_told(account, True):
            await self.outbox.put(refused.owner, {"kind": "refused", **_who(refused.account)})

    async def _balance(self, account: str, poller: Poller) -> None:
        balance = await poller.smsc.get_balance()
        receivers = await self.repo.receivers(account, "balance")
        for threshold in sorted({s.param for s in receivers if s.param}):
            limit = Decimal(threshold)
            if balance.balance < limit:
                if await self.repo.balance_armed(account, threshold) is False:
                    continue
                if not await self.repo.set_balance_armed(account, threshold, False):
                    continue
                payload = {
                    "kind": "balance",
                    "balance": str(balance.balance),
                    "currency": balance.currency,
                    "threshold": threshold,
                    **_who(poller.account),
                }
                for sub in receivers:
                    if sub.param == threshold and await self._follows(sub.chat_id, account):
                        await self.outbox.put(sub.chat_id, payload)
            elif balance.balance > limit * REARM:
                await self.repo.set_balance_armed(account, threshold, True)

    async def _senders(self, account: str, poller: Poller) -> None:
        seen = await self.repo.sender_statuses(account)
        current = {
            (sender.name, operator): status
            for sender in await poller.smsc.get_sender_operators()
            for operator, status in sender.statuses.items()
        }
        await self.repo.add_sender_statuses(
            account,
            [
                (name, op, status)
                for (name, op), status in current.items()
                if (name, op) not in seen
            ],
        )
        changes = []
        for (name, operator), status in current.items():
            old = seen.get((name, operator))
            if old is None or old == status:
                continue
            # Only the caller that moves the stored status on reports it.
            if await self.repo.change_sender_status(account, name, operator, old, status):
                changes.append([name, operator, old, status])
        if not changes:
            return
        payload = {"kind": "senders", "changes": changes, **_who(poller.account)}
        for sub in await self.repo.receivers(account, "senders"):
            if await self._follows(sub.chat_id, account):
                await self.outbox.put(sub.chat_id, payload)

    async def _digests_due(
        self, account: str, watched: set[str], now: float
    ) -> tuple[list[tuple[Sub, datetime]], list[tuple[Sub, datetime]], float]:
        """The digests due now, those to prepare ahead now, and when the next falls due."""
        upcoming = now + MAX_SLEEP
        if "digest" not in watched:
            return [], [], upcoming
        due_list, ahead_list = [], []
        moment = datetime.fromtimestamp(now, UTC)
        for sub in await self.repo.receivers(account, "digest"):
            if sub.at_minute is None or sub.param not in (DAILY, WEEKLY):
                continue
            tz = zone(await self.repo.get_tz(sub.chat_id) or DEFAULT_TZ) or ZoneInfo(DEFAULT_TZ)
            coming = next_due(moment, tz, sub.param, sub.at_minute)
            upcoming = min(upcoming, coming.timestamp())
            if self._figures_retry.get(account, 0.0) > now:
                upcoming = min(upcoming, self._figures_retry[account])
                continue
            # Ahead, but not before its period is over (local midnight of the day it is due).
            ready = max(
                coming.timestamp() - AHEAD,
                datetime.combine(coming.date(), dtime(0), tzinfo=tz).timestamp(),
            )
            start, _end = period_of(coming, sub.param)
            if (sub.chat_id, account, period_key(sub.param, start)) not in self._ahead:
                if ready <= now:
                    ahead_list.append((sub, coming))
                else:
                    upcoming = min(upcoming, ready)
            due = last_due(moment, tz, sub.param, sub.at_minute)
            if due.timestamp() < sub.since:
                continue  # due before the chat asked for it: not owed
            start, _end = period_of(due, sub.param)
            key = period_key(sub.param, start)
            if await self.repo.digest_queued(sub.chat_id, account, key):
                continue
            due_list.append((sub, due))
        return due_list, ahead_list, upcoming

    async def _digest(
        self, account: str, poller: Poller, sub: Sub, due: datetime, now: float
    ) -> None:
        assert sub.param is not None
        if not await self._follows(sub.chat_id, account):
            return
        payload = await self._digest_payload(account, poller, sub, due, now)
        start, _end = period_of(due, sub.param)
        if not await self.repo.claim_digest(
            sub.chat_id, account, period_key(sub.param, start), now
        ):
            return
        await self.outbox.put(sub.chat_id, payload)

    async def _prepare_digest(self, account: str, poller: Poller, sub: Sub, due: datetime) -> None:
        """Read the figures of a digest due soon and have the outbox render it (its chart drawn):
        ``_digest`` at its time makes the same payload and finds it ready."""
        assert sub.param is not None
        if not await self._follows(sub.chat_id, account):
            return
        payload = await self._digest_payload(account, poller, sub, due, due.timestamp())
        start, _end = period_of(due, sub.param)
        self._ahead[(sub.chat_id, account, period_key(sub.param, start))] = due.timestamp()
        await self.outbox.prepare_ahead(sub.chat_id, payload)

    async def _digest_payload(
        self, account: str, poller: Poller, sub: Sub, due: datetime, now: float
    ) -> dict[str, Any]:
        """The digest sent at ``now`` for the period ending before ``due``."""
        assert sub.param is not None
        start, end = period_of(due, sub.param)
        length = end - start + timedelta(days=1)
        try:
            figures = await self._figures_for(account, poller, sub.param, start, end)
        except SmscClientError:
            self._figures_retry[account] = self._clock() + FIGURES_RETRY
            raise
        return {
            "kind": "digest",
            "period": sub.param,
            "start": start.isoformat(),
            "end": end.isoformat(),
            "figures": asdict(figures),
            "previous": figures.between(start - length, end - length),
            "late": now - due.timestamp() > LATE_AFTER,
            **_who(poller.account),
        }

    async def _figures_for(
        self, account: str, poller: Poller, period: str, start: date, end: date
    ) -> Figures:
        """The account's figures for the period, read once for every chat following it."""
        key = period_key(period, start)
        stored = await self.repo.figures(account, key)
        if stored is not None:
            figures = Figures.load(stored)
            if figures.days:  # kept before the digest had a chart: read again
                return figures
        figures = await account_figures(poller.smsc, self.trends, account, start, end)
        await self.repo.save_figures(account, key, figures.dump())
        return figures


def _who(account: Account) -> dict[str, Any]:
    """Which account a message is about, as the chat knows it (a login; none for an API key)."""
    return {"login": account.login or ""}
