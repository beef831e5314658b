"""SMSC failing in the middle of each wizard, and Telegram's flood control in the middle of one.

The fault is switched on at the moment the wizard makes its SMSC call, so every step before it
is served normally. Each test checks that the answer says what happened (not the generic incident
apology), that SMSC's records hold nothing from the failed call, and that once SMSC is back the
wizard picks up where it stopped and completes, with no write done twice. Writes also meet
``LOST``: SMSC makes the change and its answer never arrives.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from decimal import Decimal
from typing import Literal, Protocol

import pytest
from aiohttp import web

from bot.config import Settings
from bot.smsc.emulator import Fault, Group, RecordedRequest, SmscEmulator
from bot.smsc.emulator.wire import Answer as SmscAnswer
from bot.smsc.emulator.wire import Params
from tests.conftest import LOGIN, PASSWORD
from tests.e2e.conftest import RunningBot
from tests.e2e.helpers import seed_subclient
from tests.support.botapi import FakeTelegram, FakeUser, MessageView

# Shorter than the emulator's "slow" answer, so that fault is a timeout, without slowing the file.
SMSC_TIMEOUT = 0.5
SLOW_ANSWER = 5.0

# Not one of the emulator's faults, which all keep the request from being carried out: SMSC makes
# the change and the answer is lost on the way back (a gateway error), the case where repeating
# the request would do it twice.
Lost = Literal["lost"]
LOST: Lost = "lost"
Kind = Fault | Lost

FAULTS: list[Kind] = ["drop", "slow", "html", "http500", "garbage", 9]
WRITE_FAULTS: list[Kind] = [*FAULTS, LOST]

INCIDENT = "something went wrong on our side"
# What the error layer says when a write got no clear answer: it may have been made.
UNCONFIRMED = "may or may not have been made"
# What a confirmation says when SMSC's answer to the confirmed request was lost.
UNKNOWN = "Whether SMSC carried this out is unknown"
WAIT_A_MINUTE = "wait a minute"


def read_failure(fault: Kind) -> str:
    """The words that say what went wrong with a read."""
    if fault == 9:
        return WAIT_A_MINUTE
    if fault in ("html", "garbage"):
        return "answered something the bot does not understand"
    return "SMSC is not reachable right now"


def write_failure(fault: Kind) -> str:
    return WAIT_A_MINUTE if fault == 9 else UNCONFIRMED


@pytest.fixture
async def bot(
    fake_telegram: FakeTelegram, make_settings: type[Settings], smsc: SmscEmulator
) -> AsyncIterator[RunningBot]:
    smsc.slow_seconds = SLOW_ANSWER
    async with RunningBot(fake_telegram, make_settings(smsc_timeout=SMSC_TIMEOUT)) as running:
        yield running


class Answer(list[MessageView]):
    """What the bot sent or edited in answer to one step, oldest first."""

    @property
    def text(self) -> str:
        return "\n".join(view.text or "" for view in self)

    @property
    def last(self) -> MessageView:
        assert self, "the bot did not answer"
        return self[-1]


async def step(user: FakeUser, action: Awaitable[object]) -> Answer:
    """Do one thing as the user and return everything the bot answered to it.

    The in-process bot handles one update at a time, so once it has confirmed the update its
    handler has finished: the answer is complete, however many messages and edits it took.
    """
    since = len(user.chat.events)
    await action
    await user.server.drained(timeout=20)
    return Answer(
        event.message
        for event in user.chat.events[since:]
        if event.kind in ("message", "edit") and event.message is not None
    )


class _Tripwire(list[RecordedRequest]):
    """The emulator's request log, switching a fault on as the matching request is logged.

    The emulator logs a request and only then looks at its ``fault``, so the request that trips
    the wire is the first to meet the fault. For ``LOST`` only that request is affected.
    """

    def __init__(
        self,
        logged: Iterable[RecordedRequest],
        smsc: SmscEmulator,
        fault: Kind,
        script: str,
        key: str,
    ) -> None:
        super().__init__(logged)
        self._smsc, self._fault = smsc, fault
        self._path, self._key = f"/sys/{script}.php", key
        self.tripped: RecordedRequest | None = None

    def append(self, record: RecordedRequest) -> None:
        super().append(record)
        if self.tripped is None and record.path == self._path and record.params.get(self._key):
            self.tripped = record
            if self._fault != LOST:
                self._smsc.fault = self._fault


class Faulty(Protocol):
    async def __call__(
        self, fault: Kind, script: str, key: str, user: FakeUser, action: Awaitable[object]
    ) -> Answer: ...


@pytest.fixture
def faulty(smsc: SmscEmulator, monkeypatch: pytest.MonkeyPatch) -> Faulty:
    """``await faulty(fault, script, key, user, action)``: one step during which the first call
    of ``script``.php with ``key`` set, and every call after it, meets ``fault`` (``LOST``: only
    that call, carried out first); the fault is cleared before it returns the bot's answer."""

    async def faulty_step(
        fault: Kind, script: str, key: str, user: FakeUser, action: Awaitable[object]
    ) -> Answer:
        wire = _Tripwire(smsc.requests, smsc, fault, script, key)
        smsc.requests = wire
        if fault == LOST:
            serve = smsc._serve

            async def serve_then_lose(
                script: str, params: Params, record: RecordedRequest
            ) -> SmscAnswer:
                answer = await serve(script, params, record)
                if record is wire.tripped:
                    raise web.HTTPBadGateway()
                return answer

            # No emulator fault carries the request out before failing it.
            monkeypatch.setattr(smsc, "_serve", serve_then_lose)
        try:
            answer = await step(user, action)
        finally:
            smsc.fault = None
            monkeypatch.undo()
        assert wire.tripped is not None, f"the step made no {script}.{key} call"
        return answer

    return faulty_step


def calls(smsc: SmscEmulator, script: str, key: str) -> list[RecordedRequest]:
    return [r for r in smsc.requests if r.path == f"/sys/{script}.php" and r.params.get(key)]


def assert_explained(answer: Answer, words: str) -> None:
    assert words in answer.text, answer.text
    assert INCIDENT not in answer.text


async def logged_in(user: FakeUser) -> None:
    answer = await step(user, user.send(f"/login {LOGIN} {PASSWORD}"))
    assert "Logged in" in answer.text


# -- /login ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("fault", FAULTS)
async def test_login_conversation(
    bot: RunningBot, fake_telegram: FakeTelegram, smsc: SmscEmulator, faulty: Faulty, fault: Kind
) -> None:
    user = fake_telegram.user(8001)
    sites = (await step(user, user.send("/login"))).last
    methods = (await step(user, user.press(sites, "smsc.ru"))).last
    await step(user, user.press(methods, "Login and password"))
    assert "password" in (await step(user, user.send(LOGIN))).text

    failed = await faulty(fault, "balance", "cur", user, user.send(PASSWORD))
    if fault == 9:
        assert_explained(failed, WAIT_A_MINUTE)
    else:
        assert_explained(failed, "nothing was saved")
        assert "Send the password again" in failed.text
    assert bot.app is not None
    assert await bot.app.accounts.repo.get(user.id) is None

    # The conversation is still at the password step.
    done = await step(user, user.send(PASSWORD))
    assert "Logged in as alice on smsc.ru" in done.text
    assert len(calls(smsc, "balance", "cur")) == 2


# -- /addcontact -----------------------------------------------------------------------------------

NUMBER = "+7 999 111-22-33"
DIGITS = "79991112233"


@pytest.mark.parametrize("fault", FAULTS)
async def test_addcontact_number_lookup(
    bot: RunningBot, fake_telegram: FakeTelegram, smsc: SmscEmulator, faulty: Faulty, fault: Kind
) -> None:
    user = fake_telegram.user(8002)
    await logged_in(user)
    await step(user, user.send("/addcontact"))
    failed = await faulty(fault, "phones", "get", user, user.send(NUMBER))
    assert_explained(failed, read_failure(fault))
    if fault == 9:
        # SMSC's own refusal: the number is simply sent again.
        resumed = await step(user, user.send(NUMBER))
    else:
        # Issue 13: a failed read does not say "Nothing was changed".
        assert "Nothing was changed" not in failed.text
        resumed = await step(user, user.press(failed.last, "Try again"))
    assert "Now send the contact's name" in resumed.text
    groups = await step(user, user.send("Anna"))
    saved = await step(user, user.press(groups.last, "Save"))
    assert "Saved." in saved.text
    (contact,) = smsc.accounts[LOGIN].contacts.values()
    assert (contact.phones, contact.name) == ([DIGITS], "Anna")


@pytest.mark.parametrize("fault", WRITE_FAULTS)
async def test_addcontact_save(
    bot: RunningBot, fake_telegram: FakeTelegram, smsc: SmscEmulator, faulty: Faulty, fault: Kind
) -> None:
    account = smsc.accounts[LOGIN]
    friends = Group(account.new_id("group"), "Friends")
    account.groups[friends.id] = friends
    user = fake_telegram.user(8003)
    await logged_in(user)
    await step(user, user.send("/addcontact"))
    await step(user, user.send(NUMBER))
    wizard = (await step(user, user.send("Anna"))).last
    wizard = (await step(user, user.press(wizard, "Friends"))).last

    failed = await faulty(fault, "phones", "add", user, user.press(wizard, "Save"))
    assert_explained(failed, write_failure(fault))
    assert len(account.contacts) == (fault == LOST)

    # The wizard's message still has its buttons, the chosen group included. After a lost
    # answer the bot finds the contact it made instead of making another.
    saved = await step(user, user.press(wizard, "Save"))
    assert "Saved." in saved.text and "Groups: Friends" in saved.text
    (contact,) = account.contacts.values()
    assert (contact.phones, contact.name, contact.groups) == ([DIGITS], "Anna", [friends.id])
    assert len(calls(smsc, "phones", "add")) == (1 if fault == LOST else 2)


# -- /black: adding in bulk ------------------------------------------------------------------------

LISTED = "79991110001"
BULK = ["+7 999 111-00-01", "+7 999 111-00-02", "+7 999 111-00-03"]


@pytest.mark.parametrize("fault", WRITE_FAULTS)
async def test_black_bulk_add(
    bot: RunningBot, fake_telegram: FakeTelegram, smsc: SmscEmulator, faulty: Faulty, fault: Kind
) -> None:
    account = smsc.accounts[LOGIN]
    account.add_black(LISTED)
    user = fake_telegram.user(8004)
    await logged_in(user)
    listing = (await step(user, user.send("/black"))).last
    await step(user, user.press(listing, "Add numbers"))

    failed = await faulty(fault, "phones", "add_black", user, user.send("\n".join(BULK)))
    summary = failed.last.text or ""
    assert "Stopped early" in summary and INCIDENT not in summary
    assert read_failure(fault) in summary
    if fault != 9:
        assert "SMSC did not confirm" in summary
    listed = {e.phone for e in account.black.values()}
    # Only the lost answer's number (and a number another worker sent at the same moment) got in.
    assert listed == {LISTED} if fault != LOST else len(listed) > 1
    first_round = len(calls(smsc, "phones", "add_black"))

    # The numbers are sent again; those already listed are not sent to SMSC again.
    await step(user, user.press(listing, "Add numbers"))
    done = (await step(user, user.send("\n".join(BULK)))).last.text or ""
    assert "Black list: done" in done and "Stopped" not in done, done
    wanted = {LISTED, "79991110002", "79991110003"}
    assert sorted(e.phone for e in account.black.values()) == sorted(wanted)
    second_round = calls(smsc, "phones", "add_black")[first_round:]
    assert sorted(r.params["phone"] for r in second_round) == sorted(wanted - listed)


# -- /senders: adding a name, and the code that confirms a digital one -----------------------------


async def open_senders(user: FakeUser) -> MessageView:
    return (await step(user, user.send("/senders"))).last


@pytest.mark.parametrize("fault", WRITE_FAULTS)
async def test_senders_add(
    bot: RunningBot, fake_telegram: FakeTelegram, smsc: SmscEmulator, faulty: Faulty, fault: Kind
) -> None:
    account = smsc.accounts[LOGIN]
    user = fake_telegram.user(8005)
    await logged_in(user)
    await step(user, user.press(await open_senders(user), "Add a name"))
    await step(user, user.send("NewShop"))

    failed = await faulty(fault, "senders", "add", user, user.send("Our shop at example.com"))
    assert_explained(failed, write_failure(fault))
    assert (account.sender_by_name("NewShop") is not None) == (fault == LOST)

    again = await step(user, user.send("Our shop at example.com"))
    if fault == LOST:
        # SMSC refuses a second name the same (error 5), and the bot says why that may be.
        assert "did not accept the name NewShop: it may exist already" in again.text
    else:
        assert "Sender name NewShop added" in again.text
    assert [s.name for s in account.senders.values()] == ["NewShop"]
    assert len(calls(smsc, "senders", "add")) == 2


@pytest.mark.parametrize("fault", WRITE_FAULTS)
async def test_senders_code_flow(
    bot: RunningBot, fake_telegram: FakeTelegram, smsc: SmscEmulator, faulty: Faulty, fault: Kind
) -> None:
    number = "79995550101"
    user = fake_telegram.user(8006)
    await logged_in(user)
    await step(user, user.press(await open_senders(user), "Add a name"))
    await step(user, user.send(number))
    added = (await step(user, user.send("Office phone"))).last

    failed = await faulty(fault, "senders", "send_code", user, user.press(added, "Send a code"))
    assert_explained(failed, write_failure(fault))
    assert (number in smsc.sent_codes) == (fault == LOST)
    sent = await step(user, user.press(added, "Send a code"))
    if fault == LOST:
        # SMSC sends one code per 8 hours (error 10); the bot offers to type the one that came.
        assert "A code was already sent to this number" in sent.text
        await step(user, user.press(sent.last, "I have a code"))
    else:
        assert "SMSC sent a code" in sent.text
    assert len(calls(smsc, "senders", "send_code")) == 2

    code = smsc.sent_codes[number]
    failed = await faulty(fault, "senders", "check_code", user, user.send(code))
    assert_explained(failed, write_failure(fault))
    sender = smsc.accounts[LOGIN].sender_by_name(number)
    assert sender is not None and sender.status == (fault == LOST)
    confirmed = await step(user, user.send(code))
    assert "is confirmed" in confirmed.text
    assert sender.status == 1
    assert len(calls(smsc, "senders", "check_code")) == 2


# -- /templates ------------------------------------------------------------------------------------


@pytest.mark.parametrize("fault", WRITE_FAULTS)
async def test_templates_add(
    bot: RunningBot, fake_telegram: FakeTelegram, smsc: SmscEmulator, faulty: Faulty, fault: Kind
) -> None:
    account = smsc.accounts[LOGIN]
    user = fake_telegram.user(8007)
    await logged_in(user)
    listing = (await step(user, user.send("/templates"))).last
    await step(user, user.press(listing, "Add a template"))
    await step(user, user.send("Spring sale"))
    formats = (await step(user, user.send("20% off until Sunday"))).last
    senders = (await step(user, user.press(formats, "SMS"))).last
    sign = (await step(user, user.press(senders, "No sender name"))).last

    # Issue 13: "Save as signature" instead of the auto-signature question's Yes.
    failed = await faulty(fault, "templates", "add", user, user.press(sign, "Save as signature"))
    assert_explained(failed, write_failure(fault))
    assert len(account.templates) == (fault == LOST)

    # Error 9 is answered in place of the question, with its buttons; otherwise the question
    # stays on screen as it was. After a lost answer the bot finds the template it made.
    added = await step(user, user.press(failed.last if fault == 9 else sign, "Save as signature"))
    assert "Template Spring sale added" in added.text
    (template,) = account.templates.values()
    assert (template.name, template.message) == ("Spring sale", "20% off until Sunday")
    assert template.flag == 1
    assert len(calls(smsc, "templates", "add")) == (1 if fault == LOST else 2)


# -- /subclients: creating one, topping one up -----------------------------------------------------

SUB_PASSWORD = "Str0ng-Pass"


@pytest.mark.parametrize("fault", WRITE_FAULTS)
async def test_subclients_create(
    bot: RunningBot,
    fake_telegram: FakeTelegram,
    smsc: SmscEmulator,
    faulty: Faulty,
    register_secret: Callable[..., None],
    fault: Kind,
) -> None:
    register_secret(SUB_PASSWORD)
    account = smsc.accounts[LOGIN]
    user = fake_telegram.user(8008)
    await logged_in(user)
    listing = (await step(user, user.send("/subclients"))).last
    await step(user, user.press(listing, "Create a subclient"))
    skip = (await step(user, user.send("new-sub"))).last
    types = (await step(user, user.press(skip, "Skip"))).last
    senders = (await step(user, user.press(types, "Your tariff, own balance"))).last
    await step(user, user.press(senders, "No"))

    failed = await faulty(fault, "users", "add", user, user.send(SUB_PASSWORD))
    assert_explained(failed, write_failure(fault))
    assert len(account.subclients) == (fault == LOST)

    again = await step(user, user.send(SUB_PASSWORD))
    if fault == LOST:
        # SMSC refuses the login a second time (error 5); the bot says why that may be.
        assert "could not create new-sub: the login may be taken" in again.text
    else:
        assert "Subclient new-sub created" in again.text
    assert list(account.subclients) == ["new-sub"]
    assert account.subclients["new-sub"].password == SUB_PASSWORD
    assert len(calls(smsc, "users", "add")) == 2


@pytest.mark.parametrize("fault", WRITE_FAULTS)
async def test_subclients_top_up(
    bot: RunningBot, fake_telegram: FakeTelegram, smsc: SmscEmulator, faulty: Faulty, fault: Kind
) -> None:
    account = smsc.accounts[LOGIN]
    sub = seed_subclient(account, "shop")
    user = fake_telegram.user(8009)
    await logged_in(user)

    async def ask_to_pay(card: MessageView) -> MessageView:
        await step(user, user.press(card, "Top up"))
        return (await step(user, user.send("100"))).last

    listing = (await step(user, user.send("/subclients"))).last
    card = (await step(user, user.press(listing, "shop"))).last
    question = await ask_to_pay(card)
    yes = question.button("Yes, top up").callback_data
    assert yes is not None

    failed = await faulty(fault, "users", "pay", user, user.press(question, "Yes, top up"))
    if fault == 9:
        assert_explained(failed, WAIT_A_MINUTE)
    else:
        assert_explained(failed, UNKNOWN)
        # The check shows what SMSC counts now: whether the money moved.
        checked = await step(user, user.press(failed.last, "Check in SMSC"))
        moved = "100.00\xa0₽" if fault == LOST else "0.00\xa0₽"
        assert f"Credited today: {moved}" in checked.text, checked.text
    paid_once = (Decimal("100.00"), Decimal("900.00"))
    if fault == LOST:
        assert (sub.balance, account.balance) == paid_once
    else:
        assert (sub.balance, account.balance) == (Decimal("0"), Decimal("1000.00"))
        # A new confirmation goes through.
        card = (await step(user, user.press(failed.last, "Open"))).last
        paid = await step(user, user.press(await ask_to_pay(card), "Yes, top up"))
        assert "shop got 100.00\xa0₽" in paid.text
    # The answered confirmation pays nothing, even tapped again, and never claims it was made.
    again = await step(user, user.press_data(question.message_id, yes))
    assert "already made" not in again.text
    if fault == 9:
        assert "SMSC refused it" in again.text, again.text
    else:
        assert UNKNOWN in again.text, again.text
        assert "Check in SMSC" in again.last.button_texts
    assert (sub.balance, account.balance) == paid_once
    assert len(calls(smsc, "users", "pay")) == (1 if fault == LOST else 2)


# -- Telegram's flood control ----------------------------------------------------------------------


async def test_flood_control_on_an_edit_in_the_middle_of_a_wizard(
    bot: RunningBot, fake_telegram: FakeTelegram
) -> None:
    user = fake_telegram.user(8010)
    sites = (await step(user, user.send("/login"))).last
    fake_telegram.fail_next("editMessageText", status=429, retry_after=1)
    methods = await step(user, user.press(sites, "smsc.ru"))
    # Waited out and sent again: the user sees the next question, once.
    assert [view.text for view in methods] == ["Site: smsc.ru. How do you want to log in?"]
    assert [r.status for r in fake_telegram.requests_for("editMessageText")] == [429, 200]
    await step(user, user.press(methods.last, "Login and password"))
    await step(user, user.send(LOGIN))
    assert "Logged in as alice on smsc.ru" in (await step(user, user.send(PASSWORD))).text
