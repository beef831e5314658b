"""``python -m bot`` killed with SIGKILL at random points of a wizard, then started again.

Each run plays one user through the /login conversation or /addcontact. At a random action the
process is killed at a random moment of its handling: as the update is queued, once the bot has
fetched it, while it works (its first Bot API or SMSC request), once its reply is on screen, or
when it is idle again. After the restart the user carries on from what the screen shows, as a
person would: the bot takes each update on at most once (``bot.storage.updates``), so an update
lost in the crash gets no answer and the user sends it again. Every run must end logged in or with
the contact saved, with no SMSC write repeated.

The process that comes back after a run's kill is the one the next run plays with, so ``RUNS``
runs cost ``RUNS + 1`` process starts. ``CRASH_SEED=<n>`` replays one sequence of runs.
"""

from __future__ import annotations

import asyncio
import functools
import os
import random
import signal
import sqlite3
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass

import pytest
from aiogram.fsm.storage.base import StorageKey

from bot.app import DB_NAME
from bot.smsc.emulator import Group, RecordedRequest, SmscEmulator, Subclient
from handlers.account import LoginForm
from tests.conftest import LOGIN, PASSWORD
from tests.e2e.conftest import BotProcess, RunningBot
from tests.support.botapi import FakeTelegram, FakeUser, MessageView

RUNS = 50
SEED = int(os.environ.get("CRASH_SEED", "20250806"))
# A run that needs more actions than this is going round in circles.
MAX_ACTIONS = 16
WAIT = 30.0

MOMENTS = ("queued", "fetched", "working", "smsc", "replied", "idle")
REPLIES = ("sendMessage", "editMessageText", "editMessageReplyMarkup")

NAME = "Anna"
GROUP = "Friends"


class SmscLog(list[RecordedRequest]):
    """The emulator's request log, which also wakes a waiter and notes, for each contact add,
    whether a contact with that number existed when the request came in."""

    def __init__(self, smsc: SmscEmulator) -> None:
        super().__init__(smsc.requests)
        self._smsc = smsc
        self._grown = asyncio.Event()
        self.repeated_adds: list[str] = []

    def append(self, record: RecordedRequest) -> None:
        super().append(record)
        if record.path == "/sys/phones.php" and record.params.get("add"):
            phone = record.params.get("phone", "")
            if self._smsc.accounts[LOGIN].contact_by_phone(phone) is not None:
                self.repeated_adds.append(phone)
        self._grown.set()

    async def wait_beyond(self, count: int) -> None:
        async with asyncio.timeout(WAIT):
            while len(self) <= count:
                self._grown.clear()
                await self._grown.wait()


@dataclass
class Action:
    label: str
    run: Callable[[], Awaitable[object]]
    calls_smsc: bool


def screen(user: FakeUser) -> MessageView | None:
    """The newest thing the bot put on the user's screen (a message or an edit)."""
    for event in reversed(user.chat.events):
        if event.kind in ("message", "edit") and event.message is not None:
            return event.message
    return None


def has_button(view: MessageView, text: str) -> bool:
    return text in view.button_texts


def login_next(user: FakeUser) -> Action | None:
    """What a person logging in does next, given the screen; None once logged in."""
    view = screen(user)
    text = view.text or "" if view else ""
    if "Logged in as" in text:
        return None
    if view is not None and has_button(view, "smsc.ru"):
        return Action("site", lambda: user.press(view, "smsc.ru"), False)
    if view is not None and has_button(view, "Login and password"):
        return Action("method", lambda: user.press(view, "Login and password"), False)
    if "Send your SMSC login" in text:
        return Action("login", lambda: user.send(LOGIN), False)
    if "send the password" in text.lower():
        return Action("password", lambda: user.send(PASSWORD), True)
    return Action("/login", lambda: user.send("/login"), False)


def contact_next(user: FakeUser, number: str) -> Action | None:
    """What a person saving a contact does next, given the screen; None once it is saved."""
    view = screen(user)
    text = view.text or "" if view else ""
    if "Saved." in text or "already saved as a contact" in text:
        return None
    if "Send the phone number" in text:
        return Action("number", lambda: user.send(number), True)
    if "Now send the contact's name" in text:
        return Action("name", lambda: user.send(NAME), True)
    if view is not None and "Choose its groups" in text:
        if has_button(view, "✓ " + GROUP):
            return Action("save", lambda: user.press(view, "Save"), True)
        return Action("group", lambda: user.press(view, GROUP), False)
    return Action("/addcontact", lambda: user.send("/addcontact"), False)


async def first(awaitables: Iterable[Awaitable[object]]) -> None:
    """Wait for whichever finishes first and cancel the rest."""
    tasks = [asyncio.ensure_future(a) for a in awaitables]
    try:
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        for task in tasks:
            if task.done():
                task.result()
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


async def reach(
    moment: str, action: Action, telegram: FakeTelegram, log: SmscLog, user: FakeUser
) -> None:
    """Do ``action`` and return at ``moment`` of the bot's handling of it."""
    since_requests, since_calls = len(telegram.requests), len(log)
    await action.run()
    update_id = telegram.pending_updates[-1]["update_id"]
    if moment == "queued":
        return
    if moment == "fetched":
        # Possibly by a long poll that was waiting before the update came.
        await telegram.wait_for_request(
            "getUpdates",
            since=0,
            finished=True,
            where=lambda r: any(u["update_id"] == update_id for u in r.result or ()),
            timeout=WAIT,
        )
    elif moment == "smsc" and action.calls_smsc:
        await log.wait_beyond(since_calls)
    elif moment in ("working", "smsc"):
        # The handler's first Bot API call (a callback answer, a deletion or the reply).
        await first(
            telegram.wait_for_request(method, since=since_requests, timeout=WAIT)
            for method in ("answerCallbackQuery", "deleteMessage", *REPLIES)
        )
    elif moment == "replied":
        await first(
            telegram.wait_for_request(
                method,
                since=since_requests,
                finished=True,
                where=lambda r: str(r.params.get("chat_id")) == str(user.id),
                timeout=WAIT,
            )
            for method in REPLIES
        )
    else:
        await telegram.drained(timeout=WAIT)


@dataclass
class Run:
    index: int
    wizard: str
    kill_at: int
    moment: str
    outcome: str = ""
    start_seconds: float = 0.0

    def __str__(self) -> str:
        return (
            f"run {self.index}: {self.wizard}, SIGKILL at action {self.kill_at} "
            f"when {self.moment}: {self.outcome or 'unfinished'}"
        )


def forget_failed_authorisations(bot_process: BotProcess) -> None:
    """Clear the bot's count of failed authorisations while it is down, as the test clears
    SMSC's between runs: a log-in check killed in flight counts as a failure (its outcome is
    unknown), and fifty kills in a few minutes would spend the budget no real bot sees spent."""
    database = sqlite3.connect(os.path.join(bot_process.env["DATA_DIR"], DB_NAME))
    try:
        with database:
            database.execute("DELETE FROM auth_failures")
    finally:
        database.close()


async def play(
    run: Run,
    user: FakeUser,
    next_action: Callable[[FakeUser], Action | None],
    bot_process: BotProcess,
    telegram: FakeTelegram,
    log: SmscLog,
) -> list[str]:
    """Play the wizard to its end, killing and restarting the bot once; returns the actions."""
    done: list[str] = []
    while (action := next_action(user)) is not None:
        assert len(done) < MAX_ACTIONS, f"{run}: going round in circles: {done}"
        done.append(action.label)
        if len(done) - 1 != run.kill_at:
            await action.run()
            await telegram.drained(timeout=WAIT)
            continue
        before = len(user.chat.events)
        await reach(run.moment, action, telegram, log, user)
        assert await bot_process.kill() == -signal.SIGKILL
        answered = any(e.kind in ("message", "edit") for e in user.chat.events[before:])
        forget_failed_authorisations(bot_process)
        started = time.monotonic()
        await bot_process.start()
        run.start_seconds = time.monotonic() - started
        await telegram.drained(timeout=WAIT)
        if answered:
            run.outcome = "answered before the kill"
        elif any(e.kind in ("message", "edit") for e in user.chat.events[before:]):
            run.outcome = "answered after the restart"
        else:
            run.outcome = "lost in the crash, sent again"
    return done


# About 50 process starts of a few seconds each, beyond the default per-test timeout.
@pytest.mark.timeout(900)
async def test_sigkill_at_random_points_of_a_wizard(
    bot_process: BotProcess, fake_telegram: FakeTelegram, smsc: SmscEmulator
) -> None:
    rng = random.Random(SEED)
    print(f"crash test: {RUNS} runs, CRASH_SEED={SEED}")
    account = smsc.accounts[LOGIN]
    group = Group(account.new_id("group"), GROUP)
    account.groups[group.id] = group
    log = SmscLog(smsc)
    smsc.requests = log
    outcomes: Counter[str] = Counter()
    began = time.monotonic()
    await bot_process.start()
    first_start = time.monotonic() - began
    start_seconds = [first_start]
    for index in range(RUNS):
        # Runs follow each other within seconds; SMSC's per-minute limits and its count of
        # failed log-ins (a login can be taken for the password after a crash) must not carry
        # over from one run to the next.
        smsc.reset_limits()
        user = fake_telegram.user(20_000 + index)
        run = Run(
            index,
            rng.choice(("login", "contact")),
            kill_at=rng.randrange(5),
            moment=rng.choice(MOMENTS),
        )
        if run.wizard == "login":
            actions = await play(run, user, login_next, bot_process, fake_telegram, log)
            replies = [
                e.message.text or "" for e in user.chat.events if e.kind == "message" and e.message
            ]
            assert sum("Logged in as" in text for text in replies) == 1, f"{run}: {actions}"
            await user.send("/balance")
            await fake_telegram.drained(timeout=WAIT)
            balance = screen(user)
            assert balance is not None and "1,000.00" in (balance.text or ""), f"{run}: {actions}"
        else:
            await user.send(f"/login {LOGIN} {PASSWORD}")
            await fake_telegram.drained(timeout=WAIT)
            number = f"7999{300 + index:03d}0000"
            wizard = functools.partial(contact_next, number="+" + number)
            actions = await play(run, user, wizard, bot_process, fake_telegram, log)
            saved = [c for c in account.contacts.values() if number in c.phones]
            assert len(saved) == 1, f"{run}: {actions}"
            assert (saved[0].name, saved[0].groups) == (NAME, [group.id]), f"{run}: {actions}"
        print(f"{run}; actions: {' '.join(actions)}")
        outcomes[run.outcome] += 1
        start_seconds.append(run.start_seconds)
    print("outcomes:", dict(outcomes))
    print(
        f"{len(start_seconds)} process starts took {sum(start_seconds):.0f} s "
        f"(at most {max(start_seconds):.1f} s) of {time.monotonic() - began:.0f} s"
    )
    assert not log.repeated_adds, f"contacts added again: {log.repeated_adds}"
    assert "incident" not in bot_process.log()


async def test_a_command_after_a_crash_that_left_the_login_conversation_open(
    bot: RunningBot, fake_telegram: FakeTelegram, smsc: SmscEmulator
) -> None:
    """The state a SIGKILL leaves when it lands between "Logged in" and the end of the
    conversation (the random runs above meet it): logged in, still at the password step."""
    user = fake_telegram.user(20_999)
    await user.send(f"/login {LOGIN} {PASSWORD}")
    assert "Logged in" in ((await user.expect_message()).text or "")
    assert bot.app is not None
    key = StorageKey(bot_id=bot.app.bot.id, chat_id=user.id, user_id=user.id)
    await bot.app.dp.storage.set_state(key, LoginForm.secret)
    await bot.app.dp.storage.set_data(key, {"site": "smsc.ru", "login": LOGIN})
    checks = len(smsc.requests)
    await user.send("/balance")
    assert "1,000.00" in ((await user.expect_message()).text or "")
    # The command went to SMSC as a balance request, not as a password to check.
    assert [r.login for r in smsc.requests[checks:]] == [LOGIN]


async def test_a_top_up_killed_between_its_claim_and_its_request_is_unknown_after_a_restart(
    bot_process: BotProcess, fake_telegram: FakeTelegram, smsc: SmscEmulator
) -> None:
    """SIGKILL after the Yes was claimed and before the payment left: the record stays claimed.
    After the restart a tap neither pays nor says "already made": the outcome is unknown, and the
    check shows that no money moved."""
    account = smsc.accounts[LOGIN]
    account.subclients["shop"] = Subclient(account.new_id("user"), "shop", "Old-Passw0rd")
    await bot_process.start()
    user = fake_telegram.user(20_998)
    await user.send(f"/login {LOGIN} {PASSWORD}")
    assert "Logged in" in ((await user.expect_message(WAIT)).text or "")
    await user.press_data(2, "sca:pay:shop")
    await user.expect_message(WAIT)
    await user.send("100")
    question = await user.expect_message(WAIT)
    # The "Topping up…" edit, shown between the claim and the payment, meets flood control: the
    # bot waits 30 s there, which is where the kill lands.
    fake_telegram.fail_next("editMessageText", retry_after=30)
    since = len(fake_telegram.requests)
    await user.press(question, "Yes, top up")
    await fake_telegram.wait_for_request(
        "editMessageText", since=since, finished=True, timeout=WAIT
    )
    assert await bot_process.kill() == -signal.SIGKILL
    await bot_process.start()
    await user.press(question, "Yes, top up")
    answer = await user.expect_edit(WAIT)
    assert "is unknown" in (answer.text or "") and "already made" not in (answer.text or "")
    await user.press(answer, "Check in SMSC")
    checked = (await user.expect_edit(WAIT)).text or ""
    assert "Credited today: 0.00\xa0₽" in checked and "Your balance: 1,000.00\xa0₽" in checked
    assert not [r for r in smsc.requests if r.params.get("pay") == "1"]
