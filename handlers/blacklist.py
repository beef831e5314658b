"""/black and /unblack: block a number in one message, many from a list or a file, and the list.

Every button carries the number or page boundary it acts on, so it keeps working after a restart.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import time
from collections import deque
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from typing import TypeVar

from aiogram import Bot, F, Router
from aiogram.filters import Command, CommandObject, StateFilter
from aiogram.filters.callback_data import CallbackData
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import (
    CallbackQuery,
    Document,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
)
from aiogram.utils.i18n import gettext as _
from aiogram.utils.i18n import ngettext

from bot.errors import smsc_error_text
from bot.i18n import fmt_number
from bot.middlewares import ACCOUNT_FLAG
from bot.phones import (
    ParsedList,
    Phone,
    display_stored,
    find_phones,
    parse_file,
    parse_list,
    parse_phone,
    parse_shared,
    pick_phone,
    region_for_site,
)
from bot.services.blacklist import BlackLists
from bot.services.confirmations import CHANGE_TTL, ConfirmationService, account_key
from bot.smsc import SmscBadResponse, SmscClient, SmscError, SmscUnavailable
from bot.smsc.client import AUTH_FAILED, advances
from bot.smsc.models import BlackEntry, BlackType
from bot.storage.accounts import Account
from bot.storage.audit import AuditLog
from bot.storage.confirmations import Confirmation
from bot.ui import Cf, confirm_keyboard, esc, pager_row, user_id_of
from handlers.confirm import Asked, cancel, claim, perform

router = Router(name="blacklist")
T = TypeVar("T")
log = logging.getLogger(__name__)

PAGE_SIZE = 10
SCAN_PAGE = 1000
SEARCH_PAGE = 200
BLACK_LISTS = BlackLists()
# Edits of the bulk progress message are this many seconds apart at least (Telegram's flood
# control punishes faster edits); tests may lower it.
PROGRESS_INTERVAL = 2.0
# More workers than the client's per-login cap, so the cap, not the workers, sets the pace.
BULK_WORKERS = 8
MAX_BULK = 10_000
MAX_FILE_BYTES = 1_000_000
FILE_SUFFIXES = (".txt", ".csv")
MAX_OFFERS = 5
NO_RECORDS = 3
# Errors after which the rest of a bulk would fail the same way.
FATAL_CODES = frozenset({2, 4, 9})
MARK = "✓ "
PARTIAL_NUMBER = re.compile(r"[\d\s+()\-]+")


class BlackAdd(StatesGroup):
    numbers = State()


class BlackSearch(StatesGroup):
    query = State()


class BlackRemove(StatesGroup):
    number = State()


class BlAdd(CallbackData, prefix="bla"):
    """Block number ``p`` (digits) with type "all messages"."""

    p: str


class BlType(CallbackData, prefix="blt"):
    """Set the type of ``p``'s entry; ``n``: it was added just now, so Undo is offered."""

    p: str
    t: int
    n: bool


class BlUndo(CallbackData, prefix="blu"):
    p: str


class BlDel(CallbackData, prefix="bld"):
    p: str


class BlPage(CallbackData, prefix="blp"):
    """A page: ``d`` "n" lists entries older than ``at`` (0: the newest), "p" those just newer."""

    d: str
    at: int
    q: str = ""


class BlMenu(CallbackData, prefix="blm"):
    a: str


def region_of(account: Account) -> str:
    return region_for_site(account.site)


def digits_of(text: str) -> str:
    return "".join(ch for ch in text if ch.isdigit())


def type_text(kind: BlackType) -> str:
    if kind is BlackType.MASS:
        return _("mass mailings are blocked")
    if kind is BlackType.SINGLE:
        return _("single messages are blocked")
    return _("all messages are blocked")


def type_label(kind: BlackType) -> str:
    if kind is BlackType.MASS:
        return _("Mass mailings")
    if kind is BlackType.SINGLE:
        return _("Single messages")
    return _("All messages")


async def write(smsc: SmscClient, request: Awaitable[T]) -> T:
    """A black-list write; when its outcome is unknown, the list is read afresh next time."""
    try:
        return await request
    except (SmscUnavailable, SmscBadResponse):
        BLACK_LISTS.forget(smsc)
        raise


def clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


# -- one number --------------------------------------------------------------------------------


async def find_black(smsc: SmscClient, digits: str) -> BlackEntry | None:
    """The entry for exactly this number, from the list as read within the minute."""
    return await BLACK_LISTS.find(smsc, digits)


def entry_keyboard(digits: str, kind: BlackType, fresh: bool) -> InlineKeyboardMarkup:
    types = [
        InlineKeyboardButton(
            text=(MARK if t is kind else "") + type_label(t),
            callback_data=BlType(p=digits, t=int(t), n=fresh).pack(),
        )
        for t in BlackType
    ]
    last = (
        InlineKeyboardButton(text=_("Undo"), callback_data=BlUndo(p=digits).pack())
        if fresh
        else InlineKeyboardButton(
            text=_("Remove from the black list"), callback_data=BlDel(p=digits).pack()
        )
    )
    return InlineKeyboardMarkup(inline_keyboard=[types, [last]])


async def block_one(
    target: Message,
    smsc: SmscClient,
    region: str,
    audit: AuditLog,
    user_id: int | None,
    digits: str,
) -> None:
    """Add one number with type "all messages", unless it is listed already (then say so)."""
    number = esc(display_stored(digits, region))
    existing = await find_black(smsc, digits)
    if existing is not None:
        # Adding again would quietly change its type to "all messages": leave it as it is.
        await audit.record(target.chat.id, user_id, "black_add", digits, "already")
        await target.answer(
            _("<b>{number}</b> was already in the black list: {what}.").format(
                number=number, what=type_text(existing.type)
            ),
            reply_markup=entry_keyboard(digits, existing.type, fresh=False),
        )
        return
    entry_id = await write(smsc, smsc.add_black(digits, type=BlackType.ALL))
    BLACK_LISTS.added(smsc, digits, BlackType.ALL, entry_id)
    await audit.record(target.chat.id, user_id, "black_add", digits, "ok")
    await target.answer(
        _("<b>{number}</b> is now in the black list: {what}.").format(
            number=number, what=type_text(BlackType.ALL)
        ),
        reply_markup=entry_keyboard(digits, BlackType.ALL, fresh=True),
    )


def invalid_text(text: str) -> str:
    return _(
        "<b>{text}</b> is not a valid phone number. Send the number again, "
        "for example +7 999 123-45-67, or /cancel."
    ).format(text=esc(clip(text.strip(), 40)))


async def take_numbers(
    message: Message,
    state: FSMContext,
    smsc: SmscClient,
    account: Account,
    audit: AuditLog,
    text: str,
) -> None:
    """One number: block it now. Several: in bulk. None valid: say why and ask again."""
    region = region_of(account)
    parsed = parse_list(text, region)
    if len(parsed.phones) == 1 and not parsed.invalid:
        await state.clear()
        await block_one(message, smsc, region, audit, user_id_of(message), parsed.phones[0].digits)
        return
    if not parsed.phones:
        await state.set_state(BlackAdd.numbers)
        if len(parsed.invalid) == 1:
            await message.answer(invalid_text(parsed.invalid[0]))
        else:
            await message.answer(
                _(
                    "I found no valid phone number here. Send the numbers again, one per line, "
                    "or a .txt or .csv file, or /cancel."
                )
            )
        return
    await state.clear()
    await bulk_block(message, smsc, region, audit, parsed)


@router.message(Command("black"), flags={ACCOUNT_FLAG: True})
async def cmd_black(
    message: Message,
    command: CommandObject,
    state: FSMContext,
    bot: Bot,
    smsc: SmscClient,
    account: Account,
    audit: AuditLog,
) -> None:
    await state.clear()
    if message.document is not None:
        await take_file(message, state, bot, smsc, account, audit, message.document)
    elif command.args:
        await take_numbers(message, state, smsc, account, audit, command.args)
    else:
        body, markup = await render_list(smsc, region_of(account), BlPage(d="n", at=0))
        await message.answer(body, reply_markup=markup)


@router.callback_query(BlAdd.filter(), flags={ACCOUNT_FLAG: True})
async def press_block(
    query: CallbackQuery,
    callback_data: BlAdd,
    state: FSMContext,
    smsc: SmscClient,
    account: Account,
    audit: AuditLog,
) -> None:
    if not isinstance(query.message, Message):
        return
    await state.clear()
    await block_one(
        query.message, smsc, region_of(account), audit, query.from_user.id, callback_data.p
    )


@router.callback_query(
    BlType.filter(F.t.in_({int(t) for t in BlackType})), flags={ACCOUNT_FLAG: True}
)
async def change_type(
    query: CallbackQuery,
    callback_data: BlType,
    smsc: SmscClient,
    account: Account,
    audit: AuditLog,
) -> None:
    if not isinstance(query.message, Message):
        return
    kind = BlackType(callback_data.t)
    number = esc(display_stored(callback_data.p, region_of(account)))
    try:
        # The page describes no way to change a type: adding the number again is the one way
        # known, and an error answer means the entry is as it was.
        await write(smsc, smsc.add_black(callback_data.p, type=kind))
    except SmscError as exc:
        if exc.code == AUTH_FAILED:
            raise
        await audit.record(
            query.message.chat.id,
            query.from_user.id,
            "black_type",
            callback_data.p,
            f"error {exc.code}",
        )
        await query.message.edit_text(
            _(
                "SMSC did not change the type of <b>{number}</b>: {reason} "
                "The number stays in the black list as it was."
            ).format(number=number, reason=esc(smsc_error_text(exc))),
            reply_markup=query.message.reply_markup,
        )
        return
    BLACK_LISTS.added(smsc, callback_data.p, kind)
    await audit.record(
        query.message.chat.id, query.from_user.id, "black_type", callback_data.p, kind.name
    )
    await query.message.edit_text(
        _("<b>{number}</b> is in the black list: {what}.").format(
            number=number, what=type_text(kind)
        ),
        reply_markup=entry_keyboard(callback_data.p, kind, callback_data.n),
    )


async def remove(
    target: Message,
    smsc: SmscClient,
    region: str,
    audit: AuditLog,
    user_id: int | None,
    digits: str,
    *,
    edit: bool,
) -> None:
    try:
        await write(smsc, smsc.delete_black(digits))
    except SmscError as exc:
        if exc.code != NO_RECORDS:
            raise
        BLACK_LISTS.removed(smsc, digits)
        await audit.record(target.chat.id, user_id, "black_delete", digits, "absent")
        await removed(target, region, digits, absent=True, edit=edit)
    else:
        BLACK_LISTS.removed(smsc, digits)
        await audit.record(target.chat.id, user_id, "black_delete", digits, "ok")
        await removed(target, region, digits, absent=False, edit=edit)


async def removed(target: Message, region: str, digits: str, *, absent: bool, edit: bool) -> None:
    """The answer to a removal: the number is out of the list, with a button to block it again."""
    number = esc(display_stored(digits, region))
    if absent:
        text = _("{number} is not in the black list.").format(number=number)
    else:
        text = _("{number} is no longer in the black list.").format(number=number)
    markup = InlineKeyboardMarkup(
        inline_keyboard=[
            [InlineKeyboardButton(text=_("Block again"), callback_data=BlAdd(p=digits).pack())]
        ]
    )
    if edit:
        await target.edit_text(text, reply_markup=markup)
    else:
        await target.answer(text, reply_markup=markup)


@router.callback_query(BlUndo.filter(), flags={ACCOUNT_FLAG: True})
async def undo(
    query: CallbackQuery,
    callback_data: BlUndo,
    smsc: SmscClient,
    account: Account,
    audit: AuditLog,
) -> None:
    """Undo of an add made a moment ago with this very message: no second question."""
    if isinstance(query.message, Message):
        await remove(
            query.message,
            smsc,
            region_of(account),
            audit,
            query.from_user.id,
            callback_data.p,
            edit=True,
        )


@router.callback_query(BlDel.filter(), flags={ACCOUNT_FLAG: True})
async def ask_remove(
    query: CallbackQuery,
    callback_data: BlDel,
    account: Account,
    confirmations: ConfirmationService,
) -> None:
    if isinstance(query.message, Message):
        number = esc(display_stored(callback_data.p, region_of(account)))
        record_id = await confirmations.ask(
            chat_id=query.message.chat.id,
            account=account_key(account),
            action="bldel",
            payload={"phone": callback_data.p},
            asked_by=query.from_user.id,
            ttl=CHANGE_TTL,
        )
        await query.message.answer(
            _("Remove {number} from the black list?").format(number=number),
            reply_markup=confirm_keyboard(record_id),
        )


@router.callback_query(Cf.filter(), Asked("bldel"), flags={ACCOUNT_FLAG: True})
async def confirm_remove(
    query: CallbackQuery,
    callback_data: Cf,
    asked: Confirmation,
    confirmations: ConfirmationService,
    smsc: SmscClient,
    account: Account,
    audit: AuditLog,
) -> None:
    if not isinstance(query.message, Message):
        return
    region = region_of(account)
    digits = asked.payload.get("phone", "")
    if not callback_data.yes:
        if await cancel(query, asked, confirmations):
            number = esc(display_stored(digits, region))
            await query.message.edit_text(
                _("{number} stays in the black list.").format(number=number)
            )
        return
    record = await claim(query, asked, confirmations, account)
    if record is None:
        return
    try:
        done = await perform(
            query,
            confirmations,
            audit,
            record,
            lambda: smsc.delete_black(digits),
            what="black_delete",
            target=digits,
        )
    except SmscError as exc:
        if exc.code != NO_RECORDS:
            raise
        await removed(query.message, region, digits, absent=True, edit=True)
        return
    if done:
        await removed(query.message, region, digits, absent=False, edit=True)


@router.message(Command("unblack"), flags={ACCOUNT_FLAG: True})
async def cmd_unblack(
    message: Message,
    command: CommandObject,
    state: FSMContext,
    smsc: SmscClient,
    account: Account,
    audit: AuditLog,
) -> None:
    await state.clear()
    if not command.args:
        await state.set_state(BlackRemove.number)
        await message.answer(_("Send the number to remove from the black list."))
        return
    await unblock_text(message, state, smsc, account, audit, command.args)


async def unblock_text(
    message: Message,
    state: FSMContext,
    smsc: SmscClient,
    account: Account,
    audit: AuditLog,
    text: str,
) -> None:
    region = region_of(account)
    phone = pick_phone(text, region)
    if phone is None:
        await state.set_state(BlackRemove.number)
        await message.answer(invalid_text(text))
        return
    await state.clear()
    await remove(message, smsc, region, audit, user_id_of(message), phone.digits, edit=False)


@router.message(BlackRemove.number, F.text, ~F.text.startswith("/"), flags={ACCOUNT_FLAG: True})
async def got_unblock_number(
    message: Message, state: FSMContext, smsc: SmscClient, account: Account, audit: AuditLog
) -> None:
    await unblock_text(message, state, smsc, account, audit, message.text or "")


# -- the list ----------------------------------------------------------------------------------


def matches(entry: BlackEntry, query: str) -> bool:
    return not query or query in digits_of(entry.phone)


async def older_entries(
    smsc: SmscClient, query: str, before: int | None, want: int
) -> list[BlackEntry]:
    """Up to ``want`` entries older than ``before`` that match ``query``, newest first."""
    found: list[BlackEntry] = []
    count = SEARCH_PAGE if query else want
    while True:
        chunk = await smsc.get_black(cnt=count, prev_id=before)
        found += [e for e in chunk if matches(e, query)]
        if len(found) >= want or len(chunk) < count:
            return found[:want]
        if not advances(chunk[-1].id, before, ascending=False):
            return found[:want]
        before = chunk[-1].id


async def black_page(smsc: SmscClient, page: BlPage) -> tuple[list[BlackEntry], bool, bool]:
    """One page and whether there are pages before (newer) and after (older) it."""
    if page.d == "n":
        found = await older_entries(smsc, page.q, page.at or None, PAGE_SIZE + 1)
        return found[:PAGE_SIZE], page.at > 0, len(found) > PAGE_SIZE
    # prev_id pages towards older entries only: walk from the newest, keeping one page's worth.
    window: deque[BlackEntry] = deque(maxlen=PAGE_SIZE)
    seen = 0
    before: int | None = None
    while True:
        chunk = await smsc.get_black(cnt=SCAN_PAGE, prev_id=before)
        for entry in chunk:
            if not matches(entry, page.q):
                continue
            if entry.id <= page.at:
                return list(window), seen > PAGE_SIZE, True
            window.append(entry)
            seen += 1
        if len(chunk) < SCAN_PAGE or not advances(chunk[-1].id, before, ascending=False):
            return list(window), seen > PAGE_SIZE, False
        before = chunk[-1].id


async def render_list(
    smsc: SmscClient, region: str, page: BlPage
) -> tuple[str, InlineKeyboardMarkup]:
    items, has_prev, has_next = await black_page(smsc, page)
    if page.q:
        header = _("Black list, numbers with {digits}:").format(digits=esc(page.q))
    else:
        header = _("Black list, newest first:")
    lines = [header]
    if not items:
        lines.append(_("Nothing found.") if page.q else _("The black list is empty."))
    buttons: list[InlineKeyboardButton] = []
    for i, entry in enumerate(items, 1):
        number = display_stored(entry.phone, region)
        line = f"{i}. {esc(number)} — {type_label(entry.type)}"
        if entry.comment:
            line += f" ({esc(clip(entry.comment, 60))})"
        lines.append(line)
        buttons.append(
            InlineKeyboardButton(
                text=f"✖ {i}. {number}", callback_data=BlDel(p=digits_of(entry.phone)).pack()
            )
        )
    rows = [buttons[i : i + 2] for i in range(0, len(buttons), 2)]
    previous = BlPage(d="p", at=items[0].id, q=page.q) if items and has_prev else None
    following = BlPage(d="n", at=items[-1].id, q=page.q) if items and has_next else None
    pager = pager_row(previous, following)
    if pager:
        rows.append(pager)
    menu = [
        InlineKeyboardButton(text=_("Search by number"), callback_data=BlMenu(a="search").pack()),
        InlineKeyboardButton(text=_("Add numbers"), callback_data=BlMenu(a="add").pack()),
    ]
    if page.q:
        menu.append(
            InlineKeyboardButton(text=_("Show all"), callback_data=BlPage(d="n", at=0).pack())
        )
    rows.append(menu)
    return "\n".join(lines), InlineKeyboardMarkup(inline_keyboard=rows)


@router.callback_query(BlPage.filter(F.d.in_({"n", "p"})), flags={ACCOUNT_FLAG: True})
async def turn_page(
    query: CallbackQuery, callback_data: BlPage, smsc: SmscClient, account: Account
) -> None:
    if not isinstance(query.message, Message):
        return
    body, markup = await render_list(smsc, region_of(account), callback_data)
    await query.message.edit_text(body, reply_markup=markup)


@router.callback_query(BlMenu.filter(F.a == "list"), flags={ACCOUNT_FLAG: True})
async def menu_list(query: CallbackQuery, smsc: SmscClient, account: Account) -> None:
    """The list as a new message, so the message with the button (a summary) stays."""
    if isinstance(query.message, Message):
        body, markup = await render_list(smsc, region_of(account), BlPage(d="n", at=0))
        await query.message.answer(body, reply_markup=markup)


@router.callback_query(BlMenu.filter(F.a == "search"))
async def menu_search(query: CallbackQuery, state: FSMContext) -> None:
    await state.set_state(BlackSearch.query)
    if isinstance(query.message, Message):
        await query.message.answer(_("Send the number, or some of its digits, to search for."))


@router.message(BlackSearch.query, F.text, ~F.text.startswith("/"), flags={ACCOUNT_FLAG: True})
async def got_search(
    message: Message, state: FSMContext, smsc: SmscClient, account: Account
) -> None:
    region = region_of(account)
    text = (message.text or "").strip()
    phone = parse_phone(text, region)
    if phone is not None:
        query = phone.digits
    elif PARTIAL_NUMBER.fullmatch(text) and 3 <= len(digits_of(text)) <= 15:
        query = digits_of(text)
    else:
        await message.answer(_("Send at least 3 digits of the number to search for, or /cancel."))
        return
    await state.clear()
    body, markup = await render_list(smsc, region, BlPage(d="n", at=0, q=query))
    await message.answer(body, reply_markup=markup)


@router.callback_query(BlMenu.filter(F.a == "add"))
async def menu_add(query: CallbackQuery, state: FSMContext) -> None:
    await state.set_state(BlackAdd.numbers)
    if isinstance(query.message, Message):
        await query.message.answer(
            _("Send the numbers to block, one per line, or a .txt or .csv file with them.")
        )


@router.message(BlackAdd.numbers, F.document, flags={ACCOUNT_FLAG: True})
async def got_file(
    message: Message,
    state: FSMContext,
    bot: Bot,
    smsc: SmscClient,
    account: Account,
    audit: AuditLog,
) -> None:
    assert message.document is not None
    await take_file(message, state, bot, smsc, account, audit, message.document)


@router.message(BlackAdd.numbers, F.contact, flags={ACCOUNT_FLAG: True})
async def got_contact(
    message: Message, state: FSMContext, smsc: SmscClient, account: Account, audit: AuditLog
) -> None:
    assert message.contact is not None
    region = region_of(account)
    phone = parse_shared(message.contact.phone_number, region)
    if phone is None:
        await message.answer(invalid_text(message.contact.phone_number))
        return
    await state.clear()
    await block_one(message, smsc, region, audit, user_id_of(message), phone.digits)


@router.message(BlackAdd.numbers, F.text, ~F.text.startswith("/"), flags={ACCOUNT_FLAG: True})
async def got_numbers(
    message: Message,
    state: FSMContext,
    bot: Bot,
    smsc: SmscClient,
    account: Account,
    audit: AuditLog,
) -> None:
    await take_numbers(message, state, smsc, account, audit, message.text or "")


@router.message(BlackAdd.numbers, ~F.text.startswith("/"))
@router.message(BlackSearch.query, ~F.text.startswith("/"))
@router.message(BlackRemove.number, ~F.text.startswith("/"))
async def expected_text(message: Message) -> None:
    await message.answer(_("Please send it as a text message, or /cancel."))


@router.message(StateFilter(None), F.forward_origin, flags={ACCOUNT_FLAG: True})
async def forwarded(message: Message, account: Account) -> None:
    """A forwarded message: offer to block the numbers in it."""
    phones = find_phones(message.text or message.caption or "", region_of(account))
    if not phones:
        await message.answer(_("I found no phone number in this message."))
        return
    buttons = [
        [
            InlineKeyboardButton(
                text=_("Block {number}").format(number=phone.display),
                callback_data=BlAdd(p=phone.digits).pack(),
            )
        ]
        for phone in phones[:MAX_OFFERS]
    ]
    await message.answer(
        ngettext(
            "Add this number to the black list?",
            "Add one of these numbers to the black list?",
            len(phones),
        ),
        reply_markup=InlineKeyboardMarkup(inline_keyboard=buttons),
    )


# -- bulk --------------------------------------------------------------------------------------


async def take_file(
    message: Message,
    state: FSMContext,
    bot: Bot,
    smsc: SmscClient,
    account: Account,
    audit: AuditLog,
    document: Document,
) -> None:
    name = document.file_name or ""
    if not name.lower().endswith(FILE_SUFFIXES):
        await state.set_state(BlackAdd.numbers)
        await message.answer(_("Send the numbers as a .txt or .csv file, or as text."))
        return
    if (document.file_size or 0) > MAX_FILE_BYTES:
        await state.set_state(BlackAdd.numbers)
        await message.answer(
            _("The file is too big: at most {n} KB.").format(n=MAX_FILE_BYTES // 1000)
        )
        return
    content = await bot.download(document)
    assert content is not None
    region = region_of(account)
    parsed = parse_file(name, content.read(MAX_FILE_BYTES + 1), region)
    if not parsed.phones:
        await state.set_state(BlackAdd.numbers)
        await message.answer(
            _("I found no valid phone number in this file. Send another one, or /cancel.")
        )
        return
    await state.clear()
    await bulk_block(message, smsc, region, audit, parsed)


@dataclass
class Bulk:
    """A bulk add as it goes: counters the workers update and the summary reads."""

    total: int
    done: int = 0
    added: int = 0
    already: int = 0
    failed: list[tuple[str, str]] = field(default_factory=list)
    unconfirmed: list[str] = field(default_factory=list)
    stopped: str | None = None
    # Valid numbers beyond MAX_BULK, never sent to SMSC.
    left_out: int = 0


def listing(items: list[str], budget: int) -> str:
    """Items joined with commas, cut to ``budget`` characters with "and N more"."""
    shown: list[str] = []
    used = 0
    for item in items:
        if used + len(item) + 2 > budget:
            rest = len(items) - len(shown)
            return ", ".join(shown) + " " + _("… and {n} more").format(n=fmt_number(rest))
        shown.append(item)
        used += len(item) + 2
    return ", ".join(shown)


def progress_text(bulk: Bulk) -> str:
    return ngettext(
        "Black list: {done} of {total} number done…",
        "Black list: {done} of {total} numbers done…",
        bulk.total,
    ).format(done=fmt_number(bulk.done), total=fmt_number(bulk.total))


def summary_text(bulk: Bulk, invalid: list[str]) -> str:
    lines = [_("Black list: done.")]
    if bulk.left_out:
        lines.append(
            ngettext(
                "Only the first {taken} of {total} number were taken: "
                "send the rest in another file.",
                "Only the first {taken} of {total} numbers were taken: "
                "send the rest in another file.",
                bulk.total + bulk.left_out,
            ).format(taken=fmt_number(bulk.total), total=fmt_number(bulk.total + bulk.left_out))
        )
    lines.append(
        ngettext("{n} number added.", "{n} numbers added.", bulk.added).format(
            n=fmt_number(bulk.added)
        )
    )
    lines.append(
        ngettext(
            "{n} number was already there.", "{n} numbers were already there.", bulk.already
        ).format(n=fmt_number(bulk.already))
    )
    if invalid:
        lines.append(
            ngettext(
                "{n} is not a valid number: {items}",
                "{n} are not valid numbers: {items}",
                len(invalid),
            ).format(
                n=fmt_number(len(invalid)),
                items=listing([esc(clip(x, 40)) for x in invalid], 1200),
            )
        )
    if bulk.failed:
        lines.append(
            ngettext(
                "SMSC refused {n} number: {items}",
                "SMSC refused {n} numbers: {items}",
                len(bulk.failed),
            ).format(
                n=fmt_number(len(bulk.failed)),
                items=listing([f"{esc(num)} ({esc(why)})" for num, why in bulk.failed], 1200),
            )
        )
    if bulk.unconfirmed:
        lines.append(
            ngettext(
                "SMSC did not confirm {n} number; check it in the list: {items}",
                "SMSC did not confirm {n} numbers; check them in the list: {items}",
                len(bulk.unconfirmed),
            ).format(
                n=fmt_number(len(bulk.unconfirmed)),
                items=listing([esc(x) for x in bulk.unconfirmed], 600),
            )
        )
    if bulk.stopped is not None:
        left = bulk.total - bulk.done
        lines.append(_("Stopped early: {reason}").format(reason=bulk.stopped))
        lines.append(
            ngettext(
                "{n} number was not sent to SMSC.", "{n} numbers were not sent to SMSC.", left
            ).format(n=fmt_number(left))
        )
    return "\n".join(lines)


def failure_reason(exc: Exception) -> str:
    if isinstance(exc, SmscError):
        return smsc_error_text(exc)
    if isinstance(exc, SmscUnavailable):
        return _("SMSC is not reachable right now.")
    return _("SMSC answered something the bot does not understand.")


async def bulk_block(
    message: Message,
    smsc: SmscClient,
    region: str,
    audit: AuditLog,
    parsed: ParsedList,
    *,
    clock: Callable[[], float] = time.monotonic,
) -> Bulk:
    """Block many numbers concurrently (the client caps requests per login), editing one progress
    message at most every PROGRESS_INTERVAL seconds, then turning it into the summary."""
    phones = parsed.phones[:MAX_BULK]
    invalid = list(parsed.invalid)
    interval = PROGRESS_INTERVAL
    bulk = Bulk(total=len(phones), left_out=len(parsed.phones) - len(phones))
    status = await message.answer(progress_text(bulk))
    last_edit: float | None = None

    # The list as read within the minute: bulks in a row never repeat the identical read.
    listed = await BLACK_LISTS.listed(smsc, {p.digits for p in phones})
    bulk.already = bulk.done = len(listed)
    queue: Iterator[Phone] = (p for p in phones if p.digits not in listed)
    started = clock()

    async def worker() -> None:
        # One shared iterator: each number is taken by exactly one worker.
        for phone in queue:
            if bulk.stopped is not None:
                return
            try:
                entry_id = await write(smsc, smsc.add_black(phone.digits, type=BlackType.ALL))
            except SmscError as exc:
                if exc.code in FATAL_CODES:
                    bulk.stopped = bulk.stopped or smsc_error_text(exc)
                    return
                bulk.failed.append((phone.display, smsc_error_text(exc)))
            except (SmscUnavailable, SmscBadResponse) as exc:
                if exc.uncertain:
                    bulk.unconfirmed.append(phone.display)
                    bulk.done += 1
                bulk.stopped = bulk.stopped or failure_reason(exc)
                return
            else:
                BLACK_LISTS.added(smsc, phone.digits, BlackType.ALL, entry_id)
                bulk.added += 1
            bulk.done += 1

    workers = asyncio.gather(*(worker() for _i in range(BULK_WORKERS)))
    finished = asyncio.Event()
    workers.add_done_callback(lambda _f: finished.set())

    while not finished.is_set():
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(finished.wait(), timeout=interval)
        if finished.is_set():
            break
        # Skip an update when the rest will be done within the interval: the summary then
        # follows the last edit without waiting out the interval.
        elapsed = clock() - started
        rate = (bulk.done - bulk.already) / elapsed if elapsed > 0 else 0.0
        remaining = bulk.total - bulk.done
        if rate and remaining / rate < interval:
            continue
        await status.edit_text(progress_text(bulk))
        last_edit = clock()
    await workers
    if last_edit is not None:
        wait = interval - (clock() - last_edit)
        if wait > 0:
            await asyncio.sleep(wait)

    await audit.record(
        message.chat.id,
        user_id_of(message),
        "black_bulk",
        f"{bulk.total} numbers",
        f"added {bulk.added}, already {bulk.already}, failed {len(bulk.failed)}, "
        f"unconfirmed {len(bulk.unconfirmed)}, invalid {len(invalid)}"
        + (f", left out {bulk.left_out}" if bulk.left_out else "")
        + (", stopped" if bulk.stopped else ""),
    )
    markup = InlineKeyboardMarkup(
        inline_keyboard=[
            [
                InlineKeyboardButton(
                    text=_("Open the black list"), callback_data=BlMenu(a="list").pack()
                )
            ]
        ]
    )
    await status.edit_text(summary_text(bulk, invalid), reply_markup=markup)
    return bulk
