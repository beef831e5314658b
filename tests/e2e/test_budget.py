"""The failed-authorisation budget end to end: the ordinary sequences of issue 9 that brought
SMSC's IP block (5 failed authorisations in 30 minutes) on every customer, and fairness."""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.smsc import Site
from bot.smsc.emulator import SmscEmulator
from bot.smsc.emulator.wire import Answer
from bot.storage.accounts import Account
from tests.conftest import APIKEY, LOGIN, PASSWORD, ManualClock
from tests.e2e.conftest import ConcurrentBot, RunningBot
from tests.e2e.helpers import examples
from tests.e2e.test_abuse import sent_codes
from tests.support.botapi import FakeTelegram, FakeUser

IP_BLOCKED = 4
WINDOW = 30 * 60.0
SMSC_BLOCKS_AT = 5
LOGIN_PAUSED = "Log-in checks are paused until"
REFUSED_PASSWORD = "SMSC refused the saved password on"
REFUSED_KEY = "SMSC refused the saved API key on"
DID_NOT_ACCEPT = "did not accept"
# Distinct reads, so the cache or the shared in-flight read does not fold them into one.
COMMANDS = ("/balance", "/black", "/templates", "/senders", "/subclients", "/contacts")


def most_in_a_window(times: list[float]) -> int:
    """The most failed authorisations SMSC saw within any 30 minutes."""
    times = sorted(times)
    most = start = 0
    for end, at in enumerate(times):
        while at - times[start] >= WINDOW:
            start += 1
        most = max(most, end - start + 1)
    return most


def failures(smsc: SmscEmulator) -> list[float]:
    # The emulator sets ``login`` once a request authorised; no fault is switched on here.
    return [r.time for r in smsc.requests if r.login is None]


def assert_never_blocked(smsc: SmscEmulator, codes: list[int]) -> None:
    assert most_in_a_window(failures(smsc)) < SMSC_BLOCKS_AT, failures(smsc)
    assert IP_BLOCKED not in codes


async def save(running: RunningBot, user: FakeUser, *, apikey: bool = False) -> None:
    """A chat logged in to the test account, without a log-in check reaching SMSC."""
    assert running.app is not None
    await running.app.accounts.repo.save(
        Account(
            chat_id=user.id,
            site=Site.RU.value,
            login=None if apikey else LOGIN,
            auth_kind="apikey" if apikey else "password",
            secret=APIKEY if apikey else PASSWORD,
            verified_at=datetime.now(UTC),
        )
    )


async def works(user: FakeUser) -> None:
    """One command that succeeds, so the bot knows the saved credentials are good."""
    await user.send("/balance")
    assert "1,000.00" in (await user.expect_message(timeout=30)).text


async def answers(user: FakeUser, count: int = 1) -> list[str]:
    return [(await user.expect_message(timeout=30)).text for _ in range(count)]


@pytest.fixture
async def busy_bot(
    fake_telegram: FakeTelegram,
    make_settings,  # type: ignore[no-untyped-def]
    smsc: SmscEmulator,
) -> AsyncIterator[ConcurrentBot]:
    smsc.accounts[LOGIN].apikey = APIKEY
    async with ConcurrentBot(fake_telegram, make_settings()) as running:
        yield running


async def test_password_and_key_changed_then_three_typos_then_each_chat_once(
    busy_bot: ConcurrentBot,
    fake_telegram: FakeTelegram,
    smsc: SmscEmulator,
    monkeypatch: pytest.MonkeyPatch,
    register_secret: Callable[..., None],
) -> None:
    """A person's private chat is on the password, another chat of theirs on the API key. Both
    are changed on SMSC's site, the new password is mistyped 3 times, then each chat is used
    once, one after the other: no concurrency at all."""
    codes = sent_codes(smsc, monkeypatch)
    person, other_chat = fake_telegram.user(9101), fake_telegram.user(9102)
    await save(busy_bot, person)
    await save(busy_bot, other_chat, apikey=True)
    await works(person)
    await works(other_chat)
    smsc.accounts[LOGIN].password = "New-Site-Password-1"
    smsc.accounts[LOGIN].apikey = "new-site-apikey-1"
    register_secret("New-Site-Password-1", "new-site-apikey-1")
    replies = []
    for typo in ("New-Site-Pasword-1", "New-Site-Password-l", "new-Site-Password-1"):
        register_secret(typo)
        await person.send(f"/login {LOGIN} {typo}")
        replies += await answers(person)
    assert [DID_NOT_ACCEPT in r for r in replies] == [True, True, False], replies
    assert LOGIN_PAUSED in replies[2] and "every user's connection to SMSC" in replies[2]
    await person.send("/balance")
    await other_chat.send("/balance")
    (password_reply,) = await answers(person)
    (key_reply,) = await answers(other_chat)
    assert REFUSED_PASSWORD in password_reply and "/login" in password_reply, password_reply
    assert REFUSED_KEY in key_reply, key_reply
    assert_never_blocked(smsc, codes)


async def test_one_chat_three_typos_then_four_quick_commands(
    busy_bot: ConcurrentBot,
    fake_telegram: FakeTelegram,
    smsc: SmscEmulator,
    monkeypatch: pytest.MonkeyPatch,
    register_secret: Callable[..., None],
) -> None:
    """The password was changed on the site; the chat mistypes the new one 3 times, then sends
    4 commands at once with the saved (old) password."""
    codes = sent_codes(smsc, monkeypatch)
    smsc.latency = 0.2
    user = fake_telegram.user(9201)
    await save(busy_bot, user)
    await works(user)
    smsc.accounts[LOGIN].password = "New-Site-Password-2"
    for typo in ("Typo-Pw-1", "Typo-Pw-2", "Typo-Pw-3"):
        register_secret(typo)
        await user.send(f"/login {LOGIN} {typo}")
        await answers(user)
    for command in COMMANDS[:4]:
        await user.send(command)
    for reply in await answers(user, 4):
        assert REFUSED_PASSWORD in reply or "sends SMSC nothing more until" in reply, reply
    assert_never_blocked(smsc, codes)


async def test_wrong_log_ins_a_restart_and_more_wrong_log_ins(
    busy_bot: ConcurrentBot,
    fake_telegram: FakeTelegram,
    smsc: SmscEmulator,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """3 wrong log-ins, the bot restarts, 2 more: the count of failures outlives the process."""
    codes = sent_codes(smsc, monkeypatch)
    users = [fake_telegram.user(9300 + i) for i in range(5)]
    for user in users[:3]:
        await user.send(f"/login {LOGIN} Wrong-Pw-{user.id}")
        await answers(user)
    await busy_bot.restart()
    for user in users[3:]:
        await user.send(f"/login {LOGIN} Wrong-Pw-{user.id}")
        assert LOGIN_PAUSED in (await answers(user))[0]
    assert_never_blocked(smsc, codes)


async def test_five_chats_share_a_changed_password_with_a_restart_between_each(
    busy_bot: ConcurrentBot,
    fake_telegram: FakeTelegram,
    smsc: SmscEmulator,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A refused password is remembered across restarts: one failure, not one per process."""
    codes = sent_codes(smsc, monkeypatch)
    team = [fake_telegram.user(9400 + i) for i in range(5)]
    for user in team:
        await save(busy_bot, user)
    smsc.accounts[LOGIN].password = "New-Site-Password-3"
    for user in team:
        await user.send("/balance")
        assert REFUSED_PASSWORD in (await answers(user))[0]
        await busy_bot.restart()
    assert len(failures(smsc)) == 1
    assert_never_blocked(smsc, codes)


async def test_password_and_key_changed_under_six_chats_at_once(
    busy_bot: ConcurrentBot,
    fake_telegram: FakeTelegram,
    smsc: SmscEmulator,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """No wrong log-in at all: 4 chats on the password and 2 on the API key, both known good,
    both changed on the site, then all 6 chats at once."""
    codes = sent_codes(smsc, monkeypatch)
    on_password = [fake_telegram.user(9500 + i) for i in range(4)]
    on_key = [fake_telegram.user(9510 + i) for i in range(2)]
    for user in on_password:
        await save(busy_bot, user)
    for user in on_key:
        await save(busy_bot, user, apikey=True)
    await works(on_password[0])
    await works(on_key[0])
    smsc.accounts[LOGIN].password = "New-Site-Password-4"
    smsc.accounts[LOGIN].apikey = "new-site-apikey-4"
    # Answers take a moment, so all six are in flight together.
    smsc.latency = 0.3
    for user, command in zip([*on_password, *on_key], COMMANDS, strict=True):
        await user.send(command)
    for user in on_password:
        assert REFUSED_PASSWORD in (await answers(user))[-1]
    for user in on_key:
        assert REFUSED_KEY in (await answers(user))[-1]
    assert_never_blocked(smsc, codes)


async def test_a_strangers_three_wrong_passwords_do_not_lock_out_a_customer(
    busy_bot: ConcurrentBot,
    fake_telegram: FakeTelegram,
    smsc: SmscEmulator,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """User X (no account) sends 3 wrong passwords: 2 reach SMSC, the third is refused with
    the reason and the time; user Y, whose saved account works, then logs in with the right
    password and is let in."""
    codes = sent_codes(smsc, monkeypatch)
    x, y = fake_telegram.user(9601, "X"), fake_telegram.user(9602, "Y")
    await save(busy_bot, y)
    replies = []
    for n in range(3):
        await x.send(f"/login {LOGIN} Guess-{n}")
        replies += await answers(x)
    assert [DID_NOT_ACCEPT in r for r in replies] == [True, True, False], replies
    assert LOGIN_PAUSED in replies[2] and "every user's connection to SMSC" in replies[2]
    assert len(failures(smsc)) == 2
    await y.send(f"/login {LOGIN} {PASSWORD}")
    assert "Logged in as" in (await answers(y))[0]
    assert_never_blocked(smsc, codes)


# -- any interleaving --------------------------------------------------------------------------

_examples = itertools.count()
WRONG = "wrong"
RIGHT = "right"
# What one chat does in a step: a log-in (wrong or right, password or API key) or a command.
# Wrong log-ins come up more often than people type them, to reach the budget's edges.
DEEDS = (
    *[("login", WRONG)] * 3,
    ("login", RIGHT),
    *[("apikey", WRONG)] * 2,
    ("apikey", RIGHT),
    *(("command", command) for command in COMMANDS),
)
STEPS = ("burst", "burst", "burst", "burst", "change password", "change key", "restart", "wait")
# Chats 0-2 are saved on the password, 3-4 on the API key, 5 has no account.
ON_PASSWORD, ON_KEY, CHATS = 3, 2, 6


class SmscSite:
    """What SMSC's site holds now, as changed by the example."""

    def __init__(self, smsc: SmscEmulator) -> None:
        self.smsc = smsc
        self.changes = itertools.count(1)

    def change(self, what: str, register: Callable[..., None]) -> None:
        account = self.smsc.accounts[LOGIN]
        new = f"Changed-On-Site-{next(self.changes)}"
        register(new)
        if what == "change password":
            account.password = new
        else:
            account.apikey = new.lower()
            register(account.apikey)


def deed_text(deed: tuple[str, str], smsc: SmscEmulator, wrong: str) -> str:
    kind, what = deed
    account = smsc.accounts[LOGIN]
    if kind == "login":
        return f"/login {LOGIN} {account.password if what == RIGHT else wrong}"
    if kind == "apikey":
        return f"/login apikey {account.apikey if what == RIGHT else wrong}"
    return what


@pytest.mark.timeout(180)
# A fresh emulator, database and bot per example; only the fake Telegram is shared.
@examples(25)
@given(data=st.data())
async def test_no_interleaving_brings_a_fifth_failure_within_30_minutes(
    data: st.DataObject,
    fake_telegram: FakeTelegram,
    make_settings,  # type: ignore[no-untyped-def]
    tmp_path: Path,
    register_secret: Callable[..., None],
) -> None:
    """Wrong and right log-ins, passwords and keys changed on SMSC's site, restarts, the clock
    moving on, and commands of several chats at once, interleaved at random: SMSC never counts
    a 5th failed authorisation within any 30 minutes, so it never blocks the bot's IP."""
    example = next(_examples)
    clock = ManualClock()
    smsc = SmscEmulator(clock=clock, demo=False)
    smsc.add_account(LOGIN, PASSWORD, apikey=APIKEY)
    # Answers take a moment, so the chats of a burst are in flight together.
    smsc.latency = 0.02
    codes: list[int] = []
    respond = smsc._respond

    def spy(answer: Answer, fmt: int, charset: Any) -> Any:
        value = answer.json_value
        if isinstance(value, dict) and "error_code" in value:
            codes.append(int(value["error_code"]))
        return respond(answer, fmt, charset)

    smsc._respond = spy  # type: ignore[method-assign]
    await smsc.start()
    settings_ = make_settings(smsc_api_url=smsc.base_url, data_dir=tmp_path / f"ex{example}")
    running = ConcurrentBot(fake_telegram, settings_, clock=clock)
    await running.start()
    site = SmscSite(smsc)
    wrongs = itertools.count()
    try:
        chats = [fake_telegram.user(700_000 + 10 * example + i) for i in range(CHATS)]
        for index, chat in enumerate(chats[: ON_PASSWORD + ON_KEY]):
            await save(running, chat, apikey=index >= ON_PASSWORD)
        for _ in range(data.draw(st.integers(min_value=1, max_value=12), label="steps")):
            step = data.draw(st.sampled_from(STEPS), label="step")
            if step == "burst":
                who = data.draw(
                    st.lists(
                        st.sampled_from(range(CHATS)), min_size=1, max_size=CHATS, unique=True
                    ),
                    label="chats",
                )
                for index in who:
                    deed = data.draw(st.sampled_from(DEEDS), label="deed")
                    wrong = f"Wrong-Secret-{example}-{next(wrongs)}"
                    register_secret(wrong)
                    await chats[index].send(deed_text(deed, smsc, wrong))
                for index in who:
                    await chats[index].expect_message(timeout=30)
            elif step == "restart":
                await running.restart()
            elif step == "wait":
                minutes = data.draw(st.sampled_from([1, 10, 20, 31]), label="minutes")
                clock.advance(minutes * 60)
            else:
                site.change(step, register_secret)
        assert most_in_a_window(failures(smsc)) < SMSC_BLOCKS_AT, failures(smsc)
        assert IP_BLOCKED not in codes
    finally:
        await running.stop()
        await smsc.stop()
