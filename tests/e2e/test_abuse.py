"""Abuse end to end: a storm of wrong passwords, random input at every step of every conversation,
and strangers when the bot is limited to some users."""

from __future__ import annotations

import itertools
import logging
import time
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from aiogram.filters.callback_data import CallbackData
from hypothesis import given
from hypothesis import strategies as st

from bot.config import Settings
from bot.errors import RETRY_PREFIX
from bot.smsc import Site
from bot.smsc.budget import NEWCOMERS
from bot.smsc.emulator import SmscEmulator
from bot.smsc.emulator.wire import Answer
from bot.smsc.models import SubclientType
from bot.storage.accounts import Account
from handlers import get_routers
from handlers.account import LoginMethod, LoginSite
from handlers.blacklist import BlMenu
from handlers.contacts import CtAct, CtMenu, CtWiz
from handlers.groups import GrAct, GrNew
from handlers.notify.data import Nt, NtAction
from handlers.senders.data import SnAct
from handlers.subclients.data import ScAct, ScNew, ScType
from handlers.templates.data import TpAct, TpFormat, TpSender
from tests.conftest import LOGIN, PASSWORD
from tests.e2e.conftest import ConcurrentBot, RunningBot
from tests.e2e.helpers import examples
from tests.support.botapi import FakeTelegram, FakeUser

INCIDENT = "Sorry, something went wrong on our side"
IP_BLOCKED = 4
# SMSC blocks the IP at its fifth failed authorisation in 30 minutes (as the emulator does); the
# bot's budget lets chats without a working saved account spend two of the four it allows.
SMSC_BLOCKS_AT = 5
FAILED_LOGINS_ALLOWED = NEWCOMERS
PAUSED = "paused until"


def sent_codes(smsc: SmscEmulator, monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Every error code the emulator answers from now on."""
    codes: list[int] = []
    respond = smsc._respond

    def spy(answer: Answer, fmt: int, charset: Any) -> Any:
        value = answer.json_value
        if isinstance(value, dict) and "error_code" in value:
            codes.append(int(value["error_code"]))
        return respond(answer, fmt, charset)

    monkeypatch.setattr(smsc, "_respond", spy)
    return codes


async def save_account(running: RunningBot, chat_id: int) -> None:
    """A chat logged in to the test account, without a log-in check reaching SMSC."""
    assert running.app is not None
    await running.app.accounts.repo.save(
        Account(
            chat_id=chat_id,
            site=Site.RU.value,
            login=LOGIN,
            auth_kind="password",
            secret=PASSWORD,
            verified_at=datetime.now(UTC),
        )
    )


# -- wrong passwords -------------------------------------------------------------------------


@pytest.fixture
async def busy_bot(
    fake_telegram: FakeTelegram,
    make_settings,  # type: ignore[no-untyped-def]
) -> AsyncIterator[ConcurrentBot]:
    async with ConcurrentBot(fake_telegram, make_settings()) as running:
        yield running


async def test_a_storm_of_wrong_passwords_never_brings_the_ip_block(
    busy_bot: ConcurrentBot,
    fake_telegram: FakeTelegram,
    smsc: SmscEmulator,
    monkeypatch: pytest.MonkeyPatch,
    register_secret: Callable[..., None],
) -> None:
    """100 wrong log-ins from 10 chats at once, handled concurrently as production polls: each
    one is answered, SMSC sees at most 3 failed authorisations and never blocks the IP."""
    codes = sent_codes(smsc, monkeypatch)
    friend = fake_telegram.user(8100)
    await save_account(busy_bot, friend.id)
    users = [fake_telegram.user(8000 + i) for i in range(10)]
    attempts: dict[int, list[int]] = {user.id: [] for user in users}
    for attempt in range(100):
        user = users[attempt % len(users)]
        # Every fifth one an API key: both forms count against the same limit.
        if attempt % 5 == 4:
            secret = f"wrong-apikey-{attempt:03d}"
            text = f"/login apikey {secret}"
        else:
            secret = f"Wrong-Pw-{attempt:03d}"
            text = f"/login {LOGIN} {secret}"
        register_secret(secret)
        sent = await user.send(text)
        attempts[user.id].append(sent["message_id"])

    for user in users:
        for message_id in attempts[user.id]:
            await user.expect_deleted(message_id, timeout=30)
        for _ in attempts[user.id]:
            text = (await user.expect_message(timeout=30)).text
            assert "did not accept" in text or PAUSED in text, text
    assert busy_bot.app is not None
    await busy_bot.app.in_flight.drain()
    for user in users:
        assert len(user.chat.bot_messages) == len(attempts[user.id])

    failed = [r for r in smsc.requests if r.login is None]
    assert len(failed) <= FAILED_LOGINS_ALLOWED, f"{len(failed)} failed authorisations"
    assert IP_BLOCKED not in codes
    # SMSC still serves the bot's IP: a chat logged in before the storm is not affected.
    await friend.send("/balance")
    assert "1,000.00" in (await friend.expect_message()).text
    assert IP_BLOCKED not in codes


async def test_a_password_changed_on_smsc_under_many_chats_never_brings_the_ip_block(
    busy_bot: ConcurrentBot,
    fake_telegram: FakeTelegram,
    smsc: SmscEmulator,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Six chats of one team share a saved login; its password is changed on SMSC's site; each
    chat's next command is answered, and SMSC never blocks the bot's IP."""
    codes = sent_codes(smsc, monkeypatch)
    users = [fake_telegram.user(8500 + i) for i in range(6)]
    for user in users:
        await save_account(busy_bot, user.id)
    smsc.accounts[LOGIN].password = "Changed-On-The-Site-1"
    # Different commands: identical reads would share one request.
    commands = ("/balance", "/black", "/templates", "/senders", "/subclients", "/contacts")
    for user, command in zip(users, commands, strict=True):
        await user.send(command)
    for user in users:
        assert "refused the saved password" in (await user.expect_message(timeout=30)).text
    failed = [r for r in smsc.requests if r.login is None]
    assert len(failed) <= FAILED_LOGINS_ALLOWED, f"{len(failed)} failed authorisations"
    assert IP_BLOCKED not in codes


async def test_wrong_log_ins_then_a_changed_password_never_bring_the_ip_block(
    busy_bot: ConcurrentBot,
    fake_telegram: FakeTelegram,
    smsc: SmscEmulator,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """3 wrong passwords from 3 chats; then a team's saved login, whose password was changed on
    SMSC's site, is used by its chats at once. SMSC blocks at its fifth failed authorisation in 30
    minutes, whoever caused each one: log-ins and saved credentials share one budget."""
    codes = sent_codes(smsc, monkeypatch)
    # Answers take a moment, so the team's distinct reads are in flight together.
    smsc.latency = 0.05
    for i in range(3):
        user = fake_telegram.user(8600 + i)
        await user.send(f"/login {LOGIN} Wrong-Pw-{i}")
        text = (await user.expect_message(timeout=30)).text
        assert "did not accept" in text or PAUSED in text, text
    team = [fake_telegram.user(8610 + i) for i in range(6)]
    for user in team:
        await save_account(busy_bot, user.id)
    smsc.accounts[LOGIN].password = "Changed-On-The-Site-2"
    commands = ("/balance", "/black", "/templates", "/senders", "/subclients", "/contacts")
    for user, command in zip(team, commands, strict=True):
        await user.send(command)
    for user in team:
        await user.expect_message(timeout=30)
    failed = [r for r in smsc.requests if r.login is None]
    assert len(failed) < SMSC_BLOCKS_AT, f"{len(failed)} failed authorisations"
    assert IP_BLOCKED not in codes


# -- buttons pressed twice, stale or forged --------------------------------------------------


async def show_a_long_black_list(
    bot: RunningBot, fake_telegram: FakeTelegram, smsc: SmscEmulator, chat_id: int
) -> tuple[FakeUser, int, str]:
    """A logged-in chat showing the first page of a two-page black list, and its Next button."""
    for n in range(15):
        smsc.accounts[LOGIN].add_black(f"7999000{n:04d}")
    user = fake_telegram.user(chat_id)
    await save_account(bot, user.id)
    await user.send("/black")
    listing = await user.expect_message()
    (next_page,) = [b.callback_data for row in listing.buttons for b in row if "Next" in b.text]
    assert next_page is not None
    return user, listing.message_id, next_page


async def test_a_double_tap_on_a_button_is_quiet(
    bot: RunningBot,
    fake_telegram: FakeTelegram,
    smsc: SmscEmulator,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The second tap asks for what the screen already shows (Telegram: "message is not
    modified"): one edit, each tap answered once, nothing logged as an error."""
    user, message_id, next_page = await show_a_long_black_list(bot, fake_telegram, smsc, 8301)
    await user.press_data(message_id, next_page)
    await user.press_data(message_id, next_page)
    await user.expect_edit()
    await user.assert_no_reply()
    assert [e.kind for e in user.chat.events].count("callback_answer") == 2
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


@pytest.mark.parametrize(
    ("chat_id", "step", "forged"),
    [
        (8311, "login: site", LoginSite(site="nowhere.example").pack()),
        (8312, "subclients: type", ScType(type=99).pack()),
        (8313, "main menu", "stp::"),
        # Days past what date.fromordinal takes raised OverflowError, an incident.
        (8314, "main menu", "sto:-99999999999999999999:739000:sub_1"),
        (8315, "main menu", "sts:739000:2147483648"),
    ],
)
async def test_a_button_that_makes_no_sense_is_a_stale_menu_not_an_incident(
    bot: RunningBot,
    fake_telegram: FakeTelegram,
    caplog: pytest.LogCaptureFixture,
    chat_id: int,
    step: str,
    forged: str,
) -> None:
    """Handlers refuse buttons whose data they cannot use (an old release's, or forged by a
    modified client) with LookupError: the user is told the menu is out of date."""
    user = fake_telegram.user(chat_id)
    await save_account(bot, user.id)
    await walk_to(user, step)
    since = len(user.chat.bot_messages)
    await user.press_data(on_screen(user), forged)
    await fake_telegram.drained()
    answers = [m.text for m in user.chat.bot_messages[since:]]
    # Some steps offer their buttons again after saying so.
    assert answers and "out of date" in answers[0], answers
    assert not incidents(user)
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


# -- files that are not what they claim --------------------------------------------------------


@pytest.mark.parametrize(
    ("chat_id", "content", "added"),
    [
        # Classic Mac line endings, as some spreadsheet exports still write them.
        (8351, b"phone;name\r+79990001001;Anna\r+79990001002;Ivan\r", 2),
        # One field longer than the csv module's limit (128 KiB), under the bot's 1 MB.
        (8352, b"+79990001003 " + b"x" * 200_000, 1),
    ],
)
async def test_a_csv_file_the_csv_module_refuses_is_still_read(
    bot: RunningBot,
    fake_telegram: FakeTelegram,
    caplog: pytest.LogCaptureFixture,
    chat_id: int,
    content: bytes,
    added: int,
) -> None:
    """A .csv that Python's csv module rejects is still a list of numbers to the user."""
    user = fake_telegram.user(chat_id)
    await save_account(bot, user.id)
    await user.send_document("numbers.csv", content, mime_type="text/csv", caption="/black")
    progress = await user.expect_message()
    assert INCIDENT not in progress.text
    summary = await user.expect_edit()
    assert f"{added} number" in summary.text and "added" in summary.text, summary.text
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


# -- secrets typed while SMSC is down -------------------------------------------------------


async def test_a_password_typed_while_smsc_is_unreachable_stays_out_of_the_retry_button(
    bot: RunningBot,
    fake_telegram: FakeTelegram,
    smsc: SmscEmulator,
    register_secret: Callable[..., None],
) -> None:
    """The error layer offers "Try again" with the failed message's text in the button's data;
    for the new subclient's password that would hand the password to Telegram, and keep it on
    screen, right after the bot deleted the message that carried it."""
    password = "Sub-Client-Pw-4417"
    register_secret(password)
    user = fake_telegram.user(8401)
    await save_account(bot, user.id)
    await walk_to(user, "subclients: password")
    # Nothing listens at SMSC's address any more: the connection is refused.
    await smsc.stop()
    sent = await user.send(password)
    await user.expect_deleted(sent["message_id"])
    reply = await user.expect_message()
    assert "not reachable" in reply.text
    assert not fake_telegram.requests_containing(password)


# -- random input at every step --------------------------------------------------------------

Step = tuple[str, Any]

# How to reach each step of each conversation: messages to send and buttons to press (callback
# data as the bot packs it), after /start has put a menu on screen.
ENTRIES: dict[str, list[Step]] = {
    "main menu": [],
    "login: site": [("send", "/login")],
    "login: method": [("send", "/login"), ("press", LoginSite(site=Site.RU.value).pack())],
    "login: name": [
        ("send", "/login"),
        ("press", LoginSite(site=Site.RU.value).pack()),
        ("press", LoginMethod(apikey=False).pack()),
    ],
    "login: password": [
        ("send", "/login"),
        ("press", LoginSite(site=Site.RU.value).pack()),
        ("press", LoginMethod(apikey=False).pack()),
        ("send", LOGIN),
    ],
    "login: API key": [
        ("send", "/login"),
        ("press", LoginSite(site=Site.KZ.value).pack()),
        ("press", LoginMethod(apikey=True).pack()),
    ],
    "addcontact: number": [("send", "/addcontact")],
    "addcontact: name": [("send", "/addcontact"), ("send", "+7 999 123-45-67")],
    "contacts: search": [("press", CtMenu(a="search").pack())],
    "groups: new": [("press", GrNew().pack())],
    "black: add": [("press", BlMenu(a="add").pack())],
    "black: search": [("press", BlMenu(a="search").pack())],
    "unblack: number": [("send", "/unblack")],
    "senders: name": [("press", SnAct(action="add").pack())],
    "senders: comment": [("press", SnAct(action="add").pack()), ("send", "Shop")],
    "templates: name": [("press", TpAct(action="add").pack())],
    "templates: text": [("press", TpAct(action="add").pack()), ("send", "Sale")],
    "templates: format": [
        ("press", TpAct(action="add").pack()),
        ("send", "Sale"),
        ("send", "20% off until Sunday"),
    ],
    "subclients: login": [("press", ScAct(action="new").pack())],
    "subclients: phone": [("press", ScAct(action="new").pack()), ("send", "sub_1")],
    "subclients: type": [
        ("press", ScAct(action="new").pack()),
        ("send", "sub_1"),
        ("press", ScNew(step="phone").pack()),
    ],
    "subclients: password": [
        ("press", ScAct(action="new").pack()),
        ("send", "sub_1"),
        ("press", ScNew(step="phone").pack()),
        ("press", ScType(type=int(SubclientType.OWN_TARIFF_OWN_BALANCE)).pack()),
        ("press", ScNew(step="main", value="1").pack()),
    ],
    "stats: period": [("send", "/stats")],
    "notify: threshold": [("press", Nt(action=NtAction.BALANCE).pack())],
    "notify: digest time": [("press", Nt(action=NtAction.DIGEST, value="daily").pack())],
    "notify: zone": [("press", Nt(action=NtAction.ZONE_ASK).pack())],
}
_ADDCONTACT_GROUPS: list[Step] = [*ENTRIES["addcontact: name"], ("send", "Anna")]
_TEMPLATE_SENDER: list[Step] = [
    *ENTRIES["templates: format"],
    ("press", TpFormat(format="none").pack()),
]
_NEW_SUBCLIENT_MAIN: list[Step] = [
    *ENTRIES["subclients: type"],
    ("press", ScType(type=int(SubclientType.OWN_TARIFF_OWN_BALANCE)).pack()),
]
# Steps that start from a card's button: the card's record need not exist, as after a restart
# (or on another device) the button outlives it.
ENTRIES |= {
    "addcontact: groups": _ADDCONTACT_GROUPS,
    "addcontact: new group": [*_ADDCONTACT_GROUPS, ("press", CtWiz(a="new").pack())],
    "contacts: new name": [("press", CtAct(a="rn", p="79991234567").pack())],
    "contacts: new number": [("press", CtAct(a="ph", p="79991234567").pack())],
    "groups: rename": [("press", GrAct(a="rn", g=501).pack())],
    "senders: new comment": [("press", SnAct(action="cmt", id=3001).pack())],
    "senders: code": [("press", SnAct(action="enter", id=3001, name="79991234567").pack())],
    "templates: sender": _TEMPLATE_SENDER,
    "templates: auto-signature": [*_TEMPLATE_SENDER, ("press", TpSender(id=0).pack())],
    "templates: rename": [("press", TpAct(action="name", id=9001).pack())],
    "templates: new text": [("press", TpAct(action="text", id=9001).pack())],
    "subclients: main senders": _NEW_SUBCLIENT_MAIN,
    "subclients: new password": [("press", ScAct(action="pw", ref="sub_1").pack())],
    "subclients: new login": [("press", ScAct(action="login", ref="sub_1").pack())],
    "subclients: amount": [("press", ScAct(action="pay", ref="sub_1").pack())],
}

# Texts a user might plausibly type at any step, besides arbitrary ones.
TYPICAL_TEXTS = (
    "/cancel",
    "/start",
    "/login",
    "/help",
    "/black",
    "/stats sub_1 01.01.2025-31.01.2025",
    "/addcontact +7 999 765-43-21 Anna",
    "+7 999 123-45-67",
    "79991234567\n79991234568, 8 (999) 123-45-69",
    "123",
    "0",
    "-1",
    "1.50",
    "99999999999999999999",
    "01.01.2025-31.02.2025",
    "Shop",
    "sub_1",
    "Str0ng-Passw0rd!",
    "1 000,50",
    "09:30",
    "²",
    "europe/berlin",
    "<b>bold</b> & <i>",
    "a" * 4096,
)


def all_callback_data_classes() -> list[type[CallbackData]]:
    get_routers()  # imports every handler module, and with it every button kind
    found: list[type[CallbackData]] = []
    pending = list(CallbackData.__subclasses__())
    while pending:
        cls = pending.pop()
        found.append(cls)
        pending += cls.__subclasses__()
    return sorted(found, key=lambda cls: cls.__prefix__)


def field_value(annotation: Any) -> st.SearchStrategy[str]:
    if annotation is bool:
        return st.sampled_from(["0", "1", "", "2", "yes"])
    if annotation is int:
        return st.one_of(
            st.integers(min_value=-3, max_value=10**12).map(str), st.sampled_from(["", "x"])
        )
    return st.one_of(
        st.sampled_from(["", "n", "p", "rn", "del", "save", "demo", Site.RU.value, "sub_1"]),
        st.sampled_from(["sub_1|1.50", "sub_1|-5", "|", "0", "100", "79991234567", "Shop"]),
        st.text(st.characters(exclude_characters=":", codec="utf-8"), max_size=12),
    )


def forged_for(cls: type[CallbackData]) -> st.SearchStrategy[str]:
    """Data shaped like ``cls``'s buttons, with values no button of the bot carries."""
    values = [field_value(field.annotation) for field in cls.model_fields.values()]
    return st.tuples(*values).map(lambda parts: ":".join((cls.__prefix__, *parts)))


def fits(data: str) -> bool:
    try:
        size = len(data.encode())
    except UnicodeEncodeError:
        # Hypothesis's text can hold a lone surrogate, which no UTF-8 button data can carry.
        return False
    return 0 < size <= 64


FORGED_DATA = st.one_of(
    st.sampled_from(all_callback_data_classes()).flatmap(forged_for),
    st.sampled_from(TYPICAL_TEXTS).map(lambda text: RETRY_PREFIX + text),
    st.text(max_size=64),
).filter(fits)

FILE_NAMES = ("numbers.txt", "LIST.CSV", "photo.jpg", "no-extension", "контакты.txt")
TEXTS = st.one_of(
    st.sampled_from(TYPICAL_TEXTS),
    st.text(min_size=1, max_size=200),
).filter(lambda text: bool(text.strip()))
MAX_BUTTONS = 24
# A message id the chat never had: Telegram then sends the query with an inaccessible message.
GONE = 999_999
ACTIONS = ("text", "sticker", "document", "contact", "forwarded", "button", "forged")

_chat_ids = itertools.count(900_000)
_raw_message_ids = itertools.count(1_000_000)


def raw_message(user: FakeUser, **content: Any) -> dict[str, Any]:
    """A message as Telegram delivers it, for kinds FakeUser has no method for."""
    return {
        "message_id": next(_raw_message_ids),
        "from": user.json,
        "chat": user.chat.json,
        "date": int(time.time()),
        **content,
    }


async def act(user: FakeUser, kind: str, data: st.DataObject) -> None:
    """One random thing a user (or a modified client) can send."""
    telegram = user.server
    recent = user.chat.bot_messages[-3:]
    if kind == "text":
        await user.send(data.draw(TEXTS, label="text"))
    elif kind == "sticker":
        sticker = {
            "file_id": "CAACAgIAAxkBAAE",
            "file_unique_id": "AgADsticker",
            "type": "regular",
            "width": 512,
            "height": 512,
            "is_animated": False,
            "is_video": False,
            "emoji": "🙂",
        }
        telegram.queue_update("message", raw_message(user, sticker=sticker), chat_id=user.id)
    elif kind == "document":
        name = data.draw(st.sampled_from(FILE_NAMES), label="file name")
        content = data.draw(
            st.one_of(
                st.binary(max_size=300),
                st.lists(st.sampled_from(TYPICAL_TEXTS[7:14]), max_size=5).map(
                    lambda lines: "\n".join(lines).encode()
                ),
            ),
            label="file content",
        )
        caption = data.draw(st.sampled_from([None, "/black", "numbers"]), label="caption")
        await user.send_document(name, content, caption=caption)
    elif kind == "contact":
        phone = data.draw(
            st.one_of(st.from_regex(r"\+?[0-9 ()-]{0,18}", fullmatch=True), st.text(max_size=8)),
            label="phone",
        )
        mine = data.draw(st.booleans(), label="own number")
        await user.send_contact(phone or "0", user_id=user.id if mine else None)
    elif kind == "forwarded":
        origin = {"type": "hidden_user", "sender_user_name": "Someone", "date": int(time.time())}
        text = data.draw(TEXTS, label="forwarded text")
        message = raw_message(user, text=text, forward_origin=origin)
        telegram.queue_update("message", message, chat_id=user.id)
    elif kind == "button":
        buttons = [
            (message.message_id, button.callback_data)
            for message in recent
            for row in message.buttons
            for button in row
            if button.callback_data
        ]
        # Drawn the same way whatever is on screen: Hypothesis replays the draws of an example
        # and insists they have the same shape, but the screen depends on the bot's state.
        index = data.draw(st.integers(min_value=0, max_value=MAX_BUTTONS - 1), label="button")
        if buttons:
            await user.press_data(*buttons[index % len(buttons)])
    else:
        # Telegram sends callback queries only from the bot's messages (or, for one it can no
        # longer show, an inaccessible message); never from one of the user's own.
        ids = [m.message_id for m in recent] + [GONE]
        index = data.draw(st.integers(min_value=0, max_value=4), label="on message")
        message_id = ids[index % len(ids)]
        await user.press_data(message_id, data.draw(FORGED_DATA, label="forged data"))


def on_screen(user: FakeUser) -> int:
    """The id of the bot's last message, or of one long gone if there is none."""
    message = user.chat.last_bot_message
    return message.message_id if message is not None else GONE


async def walk_to(user: FakeUser, step: str) -> None:
    """From /start to ``step`` of a conversation, waiting for each answer; ``expect_message``
    then returns what comes next."""
    for how, what in [("send", "/start"), *ENTRIES[step]]:
        if how == "send":
            await user.send(what)
        else:
            await user.press_data(on_screen(user), what)
        await user.server.drained()
    for _ in (e for e in user.chat.events if e.kind == "message"):
        await user.expect_message()


def incidents(user: FakeUser) -> list[str]:
    return [
        event.message.text
        for event in user.chat.events
        if event.kind in ("message", "edit")
        and event.message is not None
        and INCIDENT in (event.message.text or "")
    ]


@pytest.fixture
async def cached_bot(
    fake_telegram: FakeTelegram,
    make_settings,  # type: ignore[no-untyped-def]
) -> AsyncIterator[RunningBot]:
    """The bot with production's read cache: hundreds of examples read the same account, and
    without it the client's own rate limits would refuse most reads before any step is reached."""
    ttl = Settings.model_fields["smsc_cache_ttl"].default
    async with RunningBot(fake_telegram, make_settings(smsc_cache_ttl=ttl)) as running:
        yield running


@pytest.mark.timeout(180)
# One bot for every example (a fresh application each time would take most of the budget);
# each example talks to it from a chat of its own.
@examples(300)
@given(data=st.data())
async def test_random_input_at_every_step_is_never_an_incident(
    data: st.DataObject,
    cached_bot: RunningBot,
    fake_telegram: FakeTelegram,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Text, stickers, files, contacts, forwarded messages, real and forged buttons, sent at
    each step of the log-in and of every wizard, by a logged-in chat or not: never an
    unhandled exception (an "incident" apology) and never an error in the log."""
    user = fake_telegram.user(next(_chat_ids))
    if data.draw(st.booleans(), label="logged in"):
        await save_account(cached_bot, user.id)
    step = data.draw(st.sampled_from(sorted(ENTRIES)), label="step")
    since = len(caplog.records)
    await walk_to(user, step)
    for _ in range(data.draw(st.integers(min_value=1, max_value=6), label="actions")):
        await act(user, data.draw(st.sampled_from(ACTIONS), label="action"), data)
        await fake_telegram.drained()
        assert not incidents(user), incidents(user)
        errors = [r for r in caplog.records[since:] if r.levelno >= logging.ERROR]
        assert not errors, [f"{r.name}: {r.getMessage()}" for r in errors]


# -- strangers -------------------------------------------------------------------------------


async def test_a_stranger_gets_no_answer_to_anything(
    fake_telegram: FakeTelegram,
    make_settings,  # type: ignore[no-untyped-def]
    smsc: SmscEmulator,
) -> None:
    """With ALLOWED_USER_IDS set, nothing a stranger sends makes the bot call Telegram or SMSC."""
    friend_id = 8200
    running = RunningBot(fake_telegram, make_settings(allowed_user_ids=frozenset({friend_id})))
    await running.start()
    try:
        stranger = fake_telegram.user(6667, "Mallory")
        since, smsc_since = len(fake_telegram.requests), len(smsc.requests)
        for text in ("/start", "/help", "hello", f"/login {LOGIN} {PASSWORD}", "/balance"):
            await stranger.send(text)
        for command in ("/black", "/contacts", "/senders", "/templates", "/subclients", "/stats"):
            await stranger.send(command)
        await stranger.send("/login")
        for data in ("m:login", "m:help", "m:lang", "lang:ru", "rt:/help", "noop", "junk"):
            await stranger.press_data(GONE, data)
        await stranger.send_document("numbers.txt", b"+79991234567\n")
        await stranger.send_contact("+79991234567", "Anna")
        sticker = {
            "file_id": "CAACAgIAAxkBAAE",
            "file_unique_id": "AgADsticker",
            "type": "regular",
            "width": 512,
            "height": 512,
            "is_animated": False,
            "is_video": False,
        }
        fake_telegram.queue_update(
            "message", raw_message(stranger, sticker=sticker), chat_id=stranger.id
        )
        await stranger.assert_no_reply()
        # Not even a callback answer or a "typing…": the bot made no call but polling.
        calls = [r.method for r in fake_telegram.requests[since:] if r.method != "getUpdates"]
        assert calls == []
        assert len(smsc.requests) == smsc_since
        # The friend is served as usual.
        friend = fake_telegram.user(friend_id)
        await friend.send("/start")
        assert "/login" in (await friend.expect_message()).text
    finally:
        await running.stop()


# -- random data behind every button prefix ----------------------------------------------------

# Prefixes handlers match by hand rather than through a CallbackData class (handlers/fallback.py).
RAW_PREFIXES = (RETRY_PREFIX, "noop")
STALE = "out of date"


def _int_text() -> st.SearchStrategy[str]:
    return st.one_of(
        st.integers(min_value=-(10**6), max_value=10**6).map(str),
        st.integers(min_value=-(2**70), max_value=2**70).map(str),
        st.integers(min_value=-(10**25), max_value=10**25).map(str),
        # Past what C, SQLite, dates and JSON numbers take.
        st.sampled_from(
            [2**31, -(2**31) - 1, 2**63, -(2**63) - 1, 2**53 + 1, 3_652_060, -(10**20)]
        ).map(str),
        # What int() or pydantic might still read: signs, spaces, underscores, other digits.
        st.sampled_from(["", "x", "+7", " 5", "5_000", "1e3", "0x1f", "٣", "00", "-0", "nan"]),
    )


def _part(annotation: Any) -> st.SearchStrategy[str]:
    if annotation is int:
        return _int_text()
    if annotation is bool:
        return st.sampled_from(["0", "1", "", "2", "yes", "true", "off", "x"])
    return st.one_of(
        st.text(st.characters(exclude_characters=":", codec="utf-8"), max_size=16),
        st.sampled_from(["", "#", "#000000000000", "sub_1", "79991234567", "del", "n", "p"]),
    )


def random_for(cls: type[CallbackData]) -> st.SearchStrategy[str]:
    """``cls``'s prefix with random parts: its own field types in any order, or a wrong count."""
    types = [field.annotation for field in cls.model_fields.values()]
    shaped = st.tuples(*(_part(t) for t in types))
    any_count = st.lists(st.one_of(_part(int), _part(bool), _part(str)), max_size=4)
    return st.one_of(shaped, shaped, any_count.map(tuple)).map(
        lambda parts: ":".join((cls.__prefix__, *parts))
    )


CLASSES = all_callback_data_classes()
PREFIXES = [cls.__prefix__ for cls in CLASSES] + list(RAW_PREFIXES) + ["any"]


def data_for(prefix: str) -> st.SearchStrategy[str]:
    """Random data under ``prefix``; "any" is random text, matching no prefix or by chance."""
    if prefix == "any":
        found: st.SearchStrategy[str] = st.text(max_size=64)
    elif prefix in RAW_PREFIXES:
        found = st.text(max_size=40).map(lambda rest: prefix + rest)
    else:
        found = st.one_of(*(random_for(cls) for cls in CLASSES if cls.__prefix__ == prefix))
    return found.filter(fits)


def unpacks(data: str) -> bool:
    """Whether some button kind of the bot reads ``data``, or a handler matches it by hand."""
    if data == "noop" or data.startswith(RETRY_PREFIX):
        return True
    for cls in CLASSES:
        try:
            cls.unpack(data)
        except (TypeError, ValueError):
            continue
        return True
    return False


@pytest.mark.timeout(120)
@pytest.mark.parametrize("prefix", PREFIXES)
@examples(25)
@given(data=st.data())
async def test_random_data_behind_every_button_prefix_is_out_of_date_never_an_incident(
    prefix: str,
    data: st.DataObject,
    cached_bot: RunningBot,
    fake_telegram: FakeTelegram,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A forged ``sto:-99999999999999999999:…`` crashed the date decoding and showed an
    incident. Random data under every prefix the bot's buttons use: data no button kind reads
    is answered "out of date", and nothing, read or not, ends in an incident or an error."""
    user = fake_telegram.user(next(_chat_ids))
    # Mostly logged in: without an account most handlers stop before reading the data.
    if data.draw(st.integers(min_value=0, max_value=4), label="logged in") > 0:
        await save_account(cached_bot, user.id)
    on = GONE
    if data.draw(st.booleans(), label="on a menu"):
        await user.send("/start")
        on = (await user.expect_message()).message_id
    forged = data.draw(data_for(prefix), label="data")
    since, shown = len(caplog.records), len(user.chat.bot_messages)
    await user.press_data(on, forged)
    await fake_telegram.drained()
    assert not incidents(user), (forged, incidents(user))
    errors = [r for r in caplog.records[since:] if r.levelno >= logging.ERROR]
    assert not errors, [f"{r.name}: {r.getMessage()}" for r in errors]
    answers = [e.answer for e in user.chat.events if e.kind == "callback_answer"]
    assert len(answers) == 1, (forged, answers)
    if not unpacks(forged):
        said = [answers[0].text or ""] + [m.text or "" for m in user.chat.bot_messages[shown:]]
        assert any(STALE in text for text in said), (forged, said)
