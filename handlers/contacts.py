"""/addcontact and /contacts: save a number in two taps, search, page, and edit a contact's card.

Every button carries what it acts on (the contact's number, a group id, a page boundary), so
buttons keep working after a restart; the /addcontact conversation keeps its draft in the FSM
storage (SQLite). Reads and writes happen before the conversation moves on, so an SMSC error
leaves the user at the same step, free to try again.
"""

from __future__ import annotations

import logging
from collections import OrderedDict, deque
from collections.abc import Awaitable, Callable, Hashable
from typing import Any, TypeVar

from aiogram import F, Router
from aiogram.filters import Command, CommandObject, StateFilter
from aiogram.filters.callback_data import CallbackData
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import gettext as _

from bot.i18n import fmt_date
from bot.middlewares import ACCOUNT_FLAG
from bot.phones import (
    Phone,
    display_stored,
    parse_phone,
    parse_shared,
    pick_phone,
    region_for_site,
    split_phone_prefix,
)
from bot.services.confirmations import CHANGE_TTL, ConfirmationService, account_key
from bot.smsc import SmscClient, SmscError
from bot.smsc.client import advances
from bot.smsc.models import Contact, Group, MoveMode
from bot.storage.accounts import Account
from bot.storage.audit import AuditLog
from bot.storage.confirmations import Confirmation
from bot.text import clean
from bot.ui import Cf, confirm_keyboard, esc, pager_row, user_id_of
from handlers.blacklist import BlAdd
from handlers.confirm import Asked, cancel, claim, perform

router = Router(name="contacts")
log = logging.getLogger(__name__)

T = TypeVar("T")

PAGE_SIZE = 8
SCAN_PAGE = 1000
NAME_LIMIT = 100
FIELD_LIMIT = 500
BUTTON_TEXT = 32
# Telegram allows 100 buttons a keyboard; the rest of the keyboard needs a few.
MAX_GROUP_BUTTONS = 90
MARK = "✓ "
TOO_MANY_REQUESTS = 9


class AddContact(StatesGroup):
    phone = State()
    name = State()
    groups = State()
    new_group = State()


class EditContact(StatesGroup):
    name = State()
    phone = State()


class ContactSearch(StatesGroup):
    query = State()


class CtPage(CallbackData, prefix="ctp"):
    """A page of contacts: ``d`` "n" lists int_ids after ``at``, "p" the page just before int_id
    ``at``; "o" starts at position ``at`` of one read, for answers without an ``int_id``."""

    d: str
    at: int
    g: int = 0
    q: str = ""


class CtCard(CallbackData, prefix="ctc"):
    p: str


class CtAct(CallbackData, prefix="cta"):
    """A card button: ``a`` is rn (rename), ph (change number), gr (groups) or del (delete)."""

    a: str
    p: str


class CtGrp(CallbackData, prefix="ctg"):
    """Put the contact with number ``p`` into, or out of, group ``g`` (``m``: a MoveMode)."""

    p: str
    g: int
    m: int


class CtGrpView(CallbackData, prefix="ctv"):
    p: str
    move: bool


class CtWiz(CallbackData, prefix="ctw"):
    """/addcontact buttons: ``a`` is t (toggle group ``g``), none, new, save or skip."""

    a: str
    g: int = 0


class CtMenu(CallbackData, prefix="ctm"):
    a: str


# -- the account's contacts and groups -------------------------------------------------------


class Recall:
    """The last contact or group list SMSC showed (or the bot wrote), per key, least recent out.

    Read only when the client refuses a read under SMSC's rule of three identical requests a
    minute: someone editing one contact several times in a minute still gets to see its card.
    """

    def __init__(self, size: int = 5000) -> None:
        self.size = size
        self._items: OrderedDict[Hashable, Any] = OrderedDict()

    def get(self, key: Hashable) -> Any:
        return self._items.get(key)

    def put(self, key: Hashable, value: Any) -> None:
        self._items[key] = value
        self._items.move_to_end(key)
        while len(self._items) > self.size:
            self._items.popitem(last=False)

    def drop(self, key: Hashable) -> None:
        self._items.pop(key, None)


RECALL = Recall()


def _digits(text: str) -> str:
    return "".join(ch for ch in text if ch.isdigit())


class PhoneBook:
    """The logged-in account's contacts and groups: SMSC calls, plus what the bot last saw."""

    def __init__(self, smsc: SmscClient, account: Account) -> None:
        self.smsc = smsc
        # A new log-in starts afresh: nothing recalled crosses accounts or sessions.
        self._owner = (account.chat_id, account.site, account.login, account.verified_at)

    def _contact_key(self, digits: str) -> Hashable:
        return (*self._owner, "contact", digits)

    def _groups_key(self) -> Hashable:
        return (*self._owner, "groups")

    async def _read(self, key: Hashable, fetch: Callable[[], Awaitable[T]]) -> T:
        try:
            value = await fetch()
        except SmscError as exc:
            recalled = RECALL.get(key) if exc.code == TOO_MANY_REQUESTS else None
            if recalled is None:
                raise
            log.info("SMSC read refused by the repeat limit; showing the last known answer")
            return recalled  # type: ignore[no-any-return]
        if value is None:
            RECALL.drop(key)
        else:
            RECALL.put(key, value)
        return value

    async def contact(self, digits: str) -> Contact | None:
        """The contact holding this number, or None."""

        async def fetch() -> Contact | None:
            for contact in await self.smsc.get_contacts(phone=digits):
                if any(_digits(p) == digits for p in contact.phones):
                    return contact
            return None

        return await self._read(self._contact_key(digits), fetch)

    async def unpaged(self, group: int | None, search: str | None) -> list[Contact]:
        """Up to SCAN_PAGE contacts in one read, for answers without an int_id to page by.

        Every page turn asks the same question, so SMSC's repeat limit is met by the recall.
        """

        async def fetch() -> list[Contact]:
            return await self.smsc.get_contacts(group=group, search=search, cnt=SCAN_PAGE)

        return await self._read((*self._owner, "unpaged", group, search), fetch)

    async def groups(self) -> list[Group]:
        """Every group (a recalled list may be up to a minute behind in its counts)."""
        return await self._read(self._groups_key(), self.smsc.get_groups)

    async def names(self) -> dict[int, str]:
        """Group names by id; empty when SMSC says not now and none are known (ids are shown)."""
        try:
            return {g.id: g.name for g in await self.groups()}
        except SmscError as exc:
            if exc.code != TOO_MANY_REQUESTS:
                raise
            return {}

    def _update_contact(self, digits: str, **changes: Any) -> None:
        key = self._contact_key(digits)
        known: Contact | None = RECALL.get(key)
        if known is not None:
            RECALL.put(key, known.model_copy(update=changes))

    def _update_groups(self, change: Callable[[list[Group]], list[Group]]) -> None:
        known: list[Group] | None = RECALL.get(self._groups_key())
        if known is not None:
            RECALL.put(self._groups_key(), change(known))

    async def add(self, digits: str, name: str, groups: list[int]) -> Contact:
        contact_id = await self.smsc.add_contact(digits, name=name or None, groups=groups or None)
        contact = Contact(id=contact_id, phone=[digits], name=name, group=groups)
        RECALL.put(self._contact_key(digits), contact)
        return contact

    async def rename(self, digits: str, name: str) -> None:
        await self.smsc.change_contact(digits, name=name)
        self._update_contact(digits, name=name)

    async def change_number(self, contact: Contact, old: str, new: str) -> None:
        """Replace the number ``old``; the contact's other numbers stay."""
        phones = [new if _digits(p) == old else p for p in contact.phones]
        await self.smsc.change_contact(old, new_phone=phones)
        RECALL.drop(self._contact_key(old))
        RECALL.put(self._contact_key(new), contact.model_copy(update={"phones": phones}))

    async def move(self, digits: str, group_id: int, mode: MoveMode) -> None:
        await self.smsc.move_group(digits, group_id, mode)
        known: Contact | None = RECALL.get(self._contact_key(digits))
        if known is None:
            return
        if mode is MoveMode.MOVE:
            groups = [group_id]
        elif mode is MoveMode.ADD:
            groups = [*[g for g in known.groups if g != group_id], group_id]
        else:
            groups = [g for g in known.groups if g != group_id]
        self._update_contact(digits, groups=groups)

    async def delete(self, digits: str) -> None:
        await self.smsc.delete_contact(digits)
        RECALL.drop(self._contact_key(digits))

    async def add_group(self, name: str) -> int:
        group_id = await self.smsc.add_group(name)
        self._update_groups(lambda groups: [*groups, Group(id=group_id, name=name)])
        return group_id

    async def rename_group(self, group_id: int, name: str) -> None:
        await self.smsc.rename_group(group_id, name)
        self._update_groups(
            lambda groups: [
                g.model_copy(update={"name": name}) if g.id == group_id else g for g in groups
            ]
        )

    async def delete_group(self, group_id: int) -> None:
        await self.smsc.delete_group(group_id)
        self._update_groups(lambda groups: [g for g in groups if g.id != group_id])


# -- small helpers ---------------------------------------------------------------------------


def region_of(account: Account) -> str:
    return region_for_site(account.site)


def clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def title(contact: Contact) -> str:
    full = " ".join(p for p in (contact.last_name, contact.first_name, contact.middle_name) if p)
    return contact.name or full


def group_label(group_id: int, names: dict[int, str]) -> str:
    return names.get(group_id) or _("group #{id}").format(id=group_id)


def gone_text(digits: str, region: str) -> str:
    return _("There is no contact with the number {number} any more.").format(
        number=esc(display_stored(digits, region))
    )


# -- the card --------------------------------------------------------------------------------


def card_text(contact: Contact, region: str, names: dict[int, str]) -> str:
    name = title(contact)
    lines = [f"<b>{esc(clip(name, NAME_LIMIT))}</b>" if name else _("No name")]
    numbers = ", ".join(display_stored(p, region) for p in contact.phones)
    lines.append(_("Number: {numbers}").format(numbers=esc(numbers)))
    if contact.groups:
        groups = ", ".join(group_label(g, names) for g in contact.groups)
        lines.append(_("Groups: {groups}").format(groups=esc(clip(groups, FIELD_LIMIT))))
    else:
        lines.append(_("Groups: none"))
    if contact.comments:
        lines.append(_("Comment: {text}").format(text=esc(clip(contact.comments, FIELD_LIMIT))))
    if contact.tags:
        lines.append(_("Tags: {text}").format(text=esc(clip(contact.tags, FIELD_LIMIT))))
    if contact.birthday:
        lines.append(_("Birthday: {date}").format(date=esc(fmt_date(contact.birthday))))
    if contact.phone_other:
        lines.append(
            _("Other numbers: {text}").format(text=esc(clip(contact.phone_other, FIELD_LIMIT)))
        )
    return "\n".join(lines)


def card_keyboard(digits: str) -> InlineKeyboardMarkup:
    def button(text: str, action: str) -> InlineKeyboardButton:
        return InlineKeyboardButton(text=text, callback_data=CtAct(a=action, p=digits).pack())

    return InlineKeyboardMarkup(
        inline_keyboard=[
            [button(_("Rename"), "rn"), button(_("Change number"), "ph")],
            [button(_("Groups"), "gr"), button(_("Delete"), "del")],
        ]
    )


async def full_card(book: PhoneBook, contact: Contact, region: str) -> str:
    names = await book.names() if contact.groups else {}
    return card_text(contact, region, names)


async def show_card(
    target: Message,
    book: PhoneBook,
    region: str,
    digits: str,
    *,
    edit: bool = False,
    lead: str = "",
) -> None:
    """Read the contact and show its card; ``lead`` goes above it (what just happened)."""
    contact = await book.contact(digits)
    if contact is None:
        text, markup = "\n".join(filter(None, (lead, gone_text(digits, region)))), None
    else:
        text = await full_card(book, contact, region)
        text, markup = (f"{lead}\n\n{text}" if lead else text), card_keyboard(digits)
    if edit:
        await target.edit_text(text, reply_markup=markup)
    else:
        await target.answer(text, reply_markup=markup)


# -- /contacts: search and pages -------------------------------------------------------------


def search_term(text: str, region: str) -> str:
    """What SMSC searches for: a number as SMSC stores it, or the text as typed."""
    phone = parse_phone(text, region)
    return phone.digits if phone is not None else " ".join(text.split())


def page_fits(query: str) -> bool:
    try:
        CtPage(d="n", at=10**12, g=10**9, q=query).pack()
    except ValueError:
        return False
    return True


async def contacts_page(
    book: PhoneBook, page: CtPage
) -> tuple[list[Contact], CtPage | None, CtPage | None]:
    """One page of contacts with the buttons to the pages before and after it, if any.

    ``after_id`` takes the server's ``int_id``; when SMSC's answer has none, the pages are cut
    from one read of up to SCAN_PAGE contacts instead.
    """
    smsc = book.smsc
    group = page.g or None
    search = page.q or None

    def at(d: str, value: int) -> CtPage:
        return CtPage(d=d, at=value, g=page.g, q=page.q)

    if page.d == "o":
        found = await book.unpaged(group, search)
        start = max(page.at, 0)
        items = found[start : start + PAGE_SIZE]
        previous = at("o", max(start - PAGE_SIZE, 0)) if start > 0 else None
        following = at("o", start + PAGE_SIZE) if len(found) > start + PAGE_SIZE else None
        return items, previous, following
    if page.d == "n":
        found = await smsc.get_contacts(
            group=group, search=search, cnt=PAGE_SIZE + 1, after_id=page.at or None
        )
        items = found[:PAGE_SIZE]
        first, last = (items[0].int_id, items[-1].int_id) if items else (None, None)
        if page.at == 0 and len(found) > PAGE_SIZE and not last:
            return items, None, at("o", PAGE_SIZE)
        previous = at("p", first) if page.at > 0 and first else None
        following = at("n", last) if len(found) > PAGE_SIZE and last else None
        return items, previous, following
    # after_id pages forward only: walk from the start, keeping one page's worth before `at`.
    window: deque[Contact] = deque(maxlen=PAGE_SIZE)
    seen = 0
    after: int | None = None
    while True:
        chunk = await smsc.get_contacts(group=group, search=search, cnt=SCAN_PAGE, after_id=after)
        for contact in chunk:
            if contact.int_id is None or contact.int_id >= page.at:
                return page_around(list(window), seen, True, at)
            window.append(contact)
            seen += 1
        cursor = chunk[-1].int_id if chunk else None
        if len(chunk) < SCAN_PAGE or not advances(cursor, after, ascending=True):
            return page_around(list(window), seen, False, at)
        after = cursor


def page_around(
    items: list[Contact], seen: int, more: bool, at: Callable[[str, int], CtPage]
) -> tuple[list[Contact], CtPage | None, CtPage | None]:
    """The pager of a page found by walking back: ``seen`` contacts up to its end."""
    first, last = (items[0].int_id, items[-1].int_id) if items else (None, None)
    previous = at("p", first) if seen > PAGE_SIZE and first else None
    following = at("n", last) if more and last else None
    return items, previous, following


def list_line(index: int, contact: Contact, region: str) -> str:
    number = display_stored(contact.phone, region) if contact.phone else ""
    name = clip(title(contact), 60)
    return f"{index}. " + (f"<b>{esc(name)}</b> — {esc(number)}" if name else esc(number))


async def render_list(
    book: PhoneBook, region: str, page: CtPage
) -> tuple[str, InlineKeyboardMarkup]:
    items, previous, following = await contacts_page(book, page)
    if page.g:
        header = _("Contacts in the group <b>{group}</b>:").format(
            group=esc(group_label(page.g, await book.names()))
        )
    elif page.q:
        header = _("Contacts matching <b>{query}</b>:").format(query=esc(page.q))
    else:
        header = _("Your contacts:")
    lines = [header, *(list_line(i, c, region) for i, c in enumerate(items, 1))]
    if not items:
        lines.append(_("Nothing found.") if page.q else _("No contacts here yet."))
    buttons = [
        InlineKeyboardButton(
            text=clip(f"{i}. {title(c) or display_stored(c.phone, region)}", BUTTON_TEXT),
            callback_data=CtCard(p=_digits(c.phone)).pack(),
        )
        for i, c in enumerate(items, 1)
        if c.phone
    ]
    rows = [buttons[i : i + 2] for i in range(0, len(buttons), 2)]
    pager = pager_row(previous, following)
    if pager:
        rows.append(pager)
    rows.append(
        [
            InlineKeyboardButton(text=_("Search"), callback_data=CtMenu(a="search").pack()),
            InlineKeyboardButton(text=_("Add a contact"), callback_data=CtMenu(a="add").pack()),
        ]
    )
    return "\n".join(lines), InlineKeyboardMarkup(inline_keyboard=rows)


async def answer_search(message: Message, smsc: SmscClient, account: Account, text: str) -> bool:
    """Show the first page for a search; false (and an explanation) when it cannot be searched."""
    region = region_of(account)
    query = search_term(text, region) if text.strip() else ""
    if not page_fits(query):
        await message.answer(
            _("This search text is too long or has a colon in it. Send a shorter one.")
        )
        return False
    book = PhoneBook(smsc, account)
    body, markup = await render_list(book, region, CtPage(d="n", at=0, q=query))
    await message.answer(body, reply_markup=markup)
    return True


@router.message(Command("contacts"), flags={ACCOUNT_FLAG: True})
async def cmd_contacts(
    message: Message,
    command: CommandObject,
    state: FSMContext,
    smsc: SmscClient,
    account: Account,
) -> None:
    await state.clear()
    await answer_search(message, smsc, account, command.args or "")


@router.callback_query(CtPage.filter(F.d.in_({"n", "p", "o"})), flags={ACCOUNT_FLAG: True})
async def turn_page(
    query: CallbackQuery, callback_data: CtPage, smsc: SmscClient, account: Account
) -> None:
    if not isinstance(query.message, Message):
        return
    body, markup = await render_list(PhoneBook(smsc, account), region_of(account), callback_data)
    await query.message.edit_text(body, reply_markup=markup)


@router.callback_query(CtMenu.filter(F.a == "search"))
async def menu_search(query: CallbackQuery, state: FSMContext) -> None:
    await state.clear()
    await state.set_state(ContactSearch.query)
    if isinstance(query.message, Message):
        await query.message.answer(_("Send a name or a number to search for, or /cancel."))


@router.message(ContactSearch.query, F.text, ~F.text.startswith("/"), flags={ACCOUNT_FLAG: True})
async def got_search(
    message: Message, state: FSMContext, smsc: SmscClient, account: Account
) -> None:
    if await answer_search(message, smsc, account, message.text or ""):
        await state.clear()


@router.callback_query(CtCard.filter(), flags={ACCOUNT_FLAG: True})
async def open_card(
    query: CallbackQuery, callback_data: CtCard, smsc: SmscClient, account: Account
) -> None:
    if isinstance(query.message, Message):
        book = PhoneBook(smsc, account)
        await show_card(query.message, book, region_of(account), callback_data.p)


# -- /addcontact ----------------------------------------------------------------------------


def wizard_keyboard(data: dict[str, Any]) -> InlineKeyboardMarkup:
    selected = set(data.get("groups", []))
    buttons = [
        InlineKeyboardButton(
            text=clip((MARK if gid in selected else "") + name, BUTTON_TEXT),
            callback_data=CtWiz(a="t", g=gid).pack(),
        )
        for gid, name in data.get("all", [])[:MAX_GROUP_BUTTONS]
    ]
    rows = [buttons[i : i + 2] for i in range(0, len(buttons), 2)]
    rows.append(
        [
            InlineKeyboardButton(
                text=("" if selected else MARK) + _("No group"),
                callback_data=CtWiz(a="none").pack(),
            ),
            InlineKeyboardButton(text=_("New group"), callback_data=CtWiz(a="new").pack()),
        ]
    )
    rows.append([InlineKeyboardButton(text=_("Save"), callback_data=CtWiz(a="save").pack())])
    if data.get("shared"):
        rows.append(
            [
                InlineKeyboardButton(
                    text=_("Block this number instead"),
                    callback_data=BlAdd(p=data["phone"]).pack(),
                )
            ]
        )
    return InlineKeyboardMarkup(inline_keyboard=rows)


def wizard_text(data: dict[str, Any]) -> str:
    name = data.get("name") or ""
    who = f"<b>{esc(name)}</b>, {esc(data['display'])}" if name else esc(data["display"])
    return _("New contact: {who}\nChoose its groups, then tap Save.").format(who=who)


async def ask_groups(message: Message, state: FSMContext, book: PhoneBook) -> None:
    """The last step, group toggles; groups are read first, so a failure leaves the step as is."""
    groups = await book.groups()
    await state.update_data(all=[[g.id, g.name] for g in groups], groups=[])
    await state.set_state(AddContact.groups)
    data = await state.get_data()
    await message.answer(wizard_text(data), reply_markup=wizard_keyboard(data))


async def already_saved(
    message: Message, state: FSMContext, book: PhoneBook, region: str, phone: Phone
) -> bool:
    """When the number is a contact already, show its card and end the conversation."""
    contact = await book.contact(phone.digits)
    if contact is None:
        return False
    await state.clear()
    await message.answer(
        _("This number is already saved as a contact:")
        + "\n\n"
        + await full_card(book, contact, region),
        reply_markup=card_keyboard(phone.digits),
    )
    return True


def invalid_number_text(text: str) -> str:
    return _(
        "<b>{text}</b> is not a valid phone number. Send the number again, "
        "for example +7 999 123-45-67, or /cancel."
    ).format(text=esc(clip(text.strip(), 40)))


def ask_phone_text() -> str:
    return _("Send the phone number to save, or share a contact from your phone book.")


@router.message(Command("addcontact"), flags={ACCOUNT_FLAG: True})
async def cmd_addcontact(
    message: Message,
    command: CommandObject,
    state: FSMContext,
    smsc: SmscClient,
    account: Account,
    audit: AuditLog,
) -> None:
    await state.clear()
    region = region_of(account)
    if not command.args:
        await state.set_state(AddContact.phone)
        await message.answer(ask_phone_text())
        return
    phone, name = split_phone_prefix(command.args, region)
    name = " ".join(clean(name).split())
    if len(name) > NAME_LIMIT:
        await message.answer(
            _("The name is too long: at most {n} characters.").format(n=NAME_LIMIT)
        )
        return
    if phone is None:
        # The question the one-line form answered is asked again; the name is kept.
        await state.set_state(AddContact.phone)
        await state.update_data(name=name)
        await message.answer(invalid_number_text(command.args.split()[0]))
        return
    book = PhoneBook(smsc, account)
    if await already_saved(message, state, book, region, phone):
        return
    contact = await book.add(phone.digits, name, [])
    await audit.record(message.chat.id, user_id_of(message), "contact_add", phone.digits, "ok")
    await message.answer(
        _("Saved.") + "\n\n" + card_text(contact, region, {}),
        reply_markup=card_keyboard(phone.digits),
    )


async def accept_phone(
    message: Message,
    state: FSMContext,
    book: PhoneBook,
    region: str,
    phone: Phone,
    name: str | None,
) -> None:
    if await already_saved(message, state, book, region, phone):
        return
    await state.update_data(phone=phone.digits, display=phone.display)
    if name:
        await state.update_data(name=clip(name, NAME_LIMIT))
    if (await state.get_data()).get("name"):
        await ask_groups(message, state, book)
        return
    await state.set_state(AddContact.name)
    await message.answer(
        _("Number: {number}. Now send the contact's name.").format(number=esc(phone.display)),
        reply_markup=InlineKeyboardMarkup(
            inline_keyboard=[
                [InlineKeyboardButton(text=_("No name"), callback_data=CtWiz(a="skip").pack())]
            ]
        ),
    )


def shared_name(message: Message) -> str:
    assert message.contact is not None
    names = (message.contact.first_name, message.contact.last_name)
    return " ".join(clean(" ".join(filter(None, names))).split())


@router.message(AddContact.phone, F.contact, flags={ACCOUNT_FLAG: True})
async def wizard_shared_phone(
    message: Message, state: FSMContext, smsc: SmscClient, account: Account
) -> None:
    assert message.contact is not None
    region = region_of(account)
    phone = parse_shared(message.contact.phone_number, region)
    if phone is None:
        await message.answer(invalid_number_text(message.contact.phone_number))
        return
    book = PhoneBook(smsc, account)
    await accept_phone(message, state, book, region, phone, shared_name(message))


@router.message(AddContact.phone, F.text, ~F.text.startswith("/"), flags={ACCOUNT_FLAG: True})
async def wizard_phone(
    message: Message, state: FSMContext, smsc: SmscClient, account: Account
) -> None:
    region = region_of(account)
    text = message.text or ""
    phone = pick_phone(text, region)
    if phone is None:
        await message.answer(invalid_number_text(text))
        return
    await accept_phone(message, state, PhoneBook(smsc, account), region, phone, None)


def valid_name(text: str) -> str | None:
    # Bidi and zero-width characters never reach SMSC: they would reorder or hide the name.
    name = " ".join(clean(text).split())
    return name if 0 < len(name) <= NAME_LIMIT else None


@router.message(AddContact.name, F.text, ~F.text.startswith("/"), flags={ACCOUNT_FLAG: True})
async def wizard_name(
    message: Message, state: FSMContext, smsc: SmscClient, account: Account
) -> None:
    name = valid_name(message.text or "")
    if name is None:
        await message.answer(
            _("Send a name of 1 to {n} characters, or tap No name.").format(n=NAME_LIMIT)
        )
        return
    await state.update_data(name=name)
    await ask_groups(message, state, PhoneBook(smsc, account))


@router.callback_query(AddContact.name, CtWiz.filter(F.a == "skip"), flags={ACCOUNT_FLAG: True})
async def wizard_no_name(
    query: CallbackQuery, state: FSMContext, smsc: SmscClient, account: Account
) -> None:
    if isinstance(query.message, Message):
        await state.update_data(name="")
        await ask_groups(query.message, state, PhoneBook(smsc, account))


@router.callback_query(AddContact.groups, CtWiz.filter(F.a.in_({"t", "none"})))
async def wizard_toggle(query: CallbackQuery, callback_data: CtWiz, state: FSMContext) -> None:
    data = await state.get_data()
    selected: list[int] = list(data.get("groups", []))
    if callback_data.a == "none":
        selected = []
    elif callback_data.g in selected:
        selected.remove(callback_data.g)
    elif any(gid == callback_data.g for gid, _name in data.get("all", [])):
        selected.append(callback_data.g)
    await state.update_data(groups=selected)
    data["groups"] = selected
    if isinstance(query.message, Message):
        await query.message.edit_reply_markup(reply_markup=wizard_keyboard(data))


@router.callback_query(AddContact.groups, CtWiz.filter(F.a == "new"))
async def wizard_new_group(query: CallbackQuery, state: FSMContext) -> None:
    await state.set_state(AddContact.new_group)
    if isinstance(query.message, Message):
        await query.message.answer(_("Send the name of the new group."))


@router.message(AddContact.new_group, F.text, ~F.text.startswith("/"), flags={ACCOUNT_FLAG: True})
async def wizard_group_name(
    message: Message, state: FSMContext, smsc: SmscClient, account: Account, audit: AuditLog
) -> None:
    name = valid_name(message.text or "")
    if name is None:
        await message.answer(_("Send a group name of 1 to {n} characters.").format(n=NAME_LIMIT))
        return
    group_id = await PhoneBook(smsc, account).add_group(name)
    await audit.record(message.chat.id, user_id_of(message), "group_add", name, "ok")
    data = await state.get_data()
    data["all"] = [*data.get("all", []), [group_id, name]]
    data["groups"] = [*data.get("groups", []), group_id]
    await state.update_data(all=data["all"], groups=data["groups"])
    await state.set_state(AddContact.groups)
    await message.answer(wizard_text(data), reply_markup=wizard_keyboard(data))


@router.callback_query(AddContact.groups, CtWiz.filter(F.a == "save"), flags={ACCOUNT_FLAG: True})
async def wizard_save(
    query: CallbackQuery,
    state: FSMContext,
    smsc: SmscClient,
    account: Account,
    audit: AuditLog,
) -> None:
    if not isinstance(query.message, Message):
        return
    region = region_of(account)
    book = PhoneBook(smsc, account)
    data = await state.get_data()
    digits: str = data["phone"]
    names = {gid: name for gid, name in data.get("all", [])}
    contact = await book.contact(digits) if data.get("tried") else None
    # After an unanswered attempt the contact may exist already: no second copy then.
    if contact is None:
        await state.update_data(tried=True)
        contact = await book.add(digits, data.get("name") or "", list(data.get("groups", [])))
        await audit.record(query.message.chat.id, query.from_user.id, "contact_add", digits, "ok")
    await state.clear()
    await query.message.edit_text(
        _("Saved.") + "\n\n" + card_text(contact, region, names),
        reply_markup=card_keyboard(digits),
    )


@router.callback_query(CtMenu.filter(F.a == "add"))
async def menu_add(query: CallbackQuery, state: FSMContext) -> None:
    await state.clear()
    await state.set_state(AddContact.phone)
    if isinstance(query.message, Message):
        await query.message.answer(ask_phone_text())


@router.message(StateFilter(None), F.contact, flags={ACCOUNT_FLAG: True})
async def shared_contact(
    message: Message, state: FSMContext, smsc: SmscClient, account: Account
) -> None:
    """A contact shared out of the blue: offer to save it (at the groups step) or to block it."""
    assert message.contact is not None
    region = region_of(account)
    phone = parse_shared(message.contact.phone_number, region)
    if phone is None:
        await message.answer(
            _("The shared contact's number {number} is not a valid phone number.").format(
                number=esc(message.contact.phone_number)
            )
        )
        return
    book = PhoneBook(smsc, account)
    if await already_saved(message, state, book, region, phone):
        await message.answer(
            _("Block this number?"),
            reply_markup=InlineKeyboardMarkup(
                inline_keyboard=[
                    [
                        InlineKeyboardButton(
                            text=_("Add to the black list"),
                            callback_data=BlAdd(p=phone.digits).pack(),
                        )
                    ]
                ]
            ),
        )
        return
    await state.update_data(
        phone=phone.digits,
        display=phone.display,
        name=clip(shared_name(message), NAME_LIMIT),
        shared=True,
    )
    await ask_groups(message, state, book)


# -- card buttons ------------------------------------------------------------------------------


@router.callback_query(CtAct.filter(F.a == "rn"))
async def ask_rename(query: CallbackQuery, callback_data: CtAct, state: FSMContext) -> None:
    await state.clear()
    await state.set_state(EditContact.name)
    await state.update_data(phone=callback_data.p)
    if isinstance(query.message, Message):
        await query.message.answer(_("Send the new name for this contact."))


@router.message(EditContact.name, F.text, ~F.text.startswith("/"), flags={ACCOUNT_FLAG: True})
async def got_new_name(
    message: Message,
    state: FSMContext,
    smsc: SmscClient,
    account: Account,
    audit: AuditLog,
) -> None:
    name = valid_name(message.text or "")
    if name is None:
        await message.answer(_("Send a name of 1 to {n} characters.").format(n=NAME_LIMIT))
        return
    digits: str = (await state.get_data())["phone"]
    book = PhoneBook(smsc, account)
    await book.rename(digits, name)
    await audit.record(message.chat.id, user_id_of(message), "contact_rename", digits, "ok")
    await state.clear()
    await show_card(message, book, region_of(account), digits, lead=_("Renamed."))


@router.callback_query(CtAct.filter(F.a == "ph"))
async def ask_number(query: CallbackQuery, callback_data: CtAct, state: FSMContext) -> None:
    await state.clear()
    await state.set_state(EditContact.phone)
    await state.update_data(phone=callback_data.p)
    if isinstance(query.message, Message):
        await query.message.answer(_("Send the new number for this contact."))


@router.message(EditContact.phone, F.contact, flags={ACCOUNT_FLAG: True})
@router.message(EditContact.phone, F.text, ~F.text.startswith("/"), flags={ACCOUNT_FLAG: True})
async def got_new_number(
    message: Message,
    state: FSMContext,
    smsc: SmscClient,
    account: Account,
    audit: AuditLog,
) -> None:
    region = region_of(account)
    if message.contact is not None:
        text = message.contact.phone_number
        phone = parse_shared(text, region)
    else:
        text = message.text or ""
        phone = pick_phone(text, region)
    if phone is None:
        await message.answer(invalid_number_text(text))
        return
    old: str = (await state.get_data())["phone"]
    book = PhoneBook(smsc, account)
    contact = await book.contact(old)
    if contact is None:
        await state.clear()
        await message.answer(gone_text(old, region))
        return
    await book.change_number(contact, old, phone.digits)
    await audit.record(
        message.chat.id, user_id_of(message), "contact_number", f"{old}->{phone.digits}", "ok"
    )
    await state.clear()
    await show_card(message, book, region, phone.digits, lead=_("Number changed."))


@router.callback_query(CtAct.filter(F.a == "del"), flags={ACCOUNT_FLAG: True})
async def ask_delete(
    query: CallbackQuery,
    callback_data: CtAct,
    account: Account,
    confirmations: ConfirmationService,
) -> None:
    if isinstance(query.message, Message):
        number = display_stored(callback_data.p, region_of(account))
        record_id = await confirmations.ask(
            chat_id=query.message.chat.id,
            account=account_key(account),
            action="ctdel",
            payload={"phone": callback_data.p},
            asked_by=query.from_user.id,
            ttl=CHANGE_TTL,
        )
        await query.message.answer(
            _("Delete the contact {number}?").format(number=esc(number)),
            reply_markup=confirm_keyboard(record_id),
        )


@router.callback_query(Cf.filter(), Asked("ctdel"), flags={ACCOUNT_FLAG: True})
async def confirm_delete(
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
    digits = asked.payload.get("phone", "")
    number = esc(display_stored(digits, region_of(account)))
    if not callback_data.yes:
        if await cancel(query, asked, confirmations):
            await query.message.edit_text(_("The contact {number} stays.").format(number=number))
        return
    record = await claim(query, asked, confirmations, account)
    if record is None:
        return
    if await perform(
        query,
        confirmations,
        audit,
        record,
        lambda: PhoneBook(smsc, account).delete(digits),
        what="contact_delete",
        target=digits,
    ):
        await query.message.edit_text(_("The contact {number} is deleted.").format(number=number))


# -- a contact's groups ----------------------------------------------------------------------

GroupMark = tuple[int, str, bool]


def groups_keyboard(digits: str, groups: list[GroupMark], move: bool) -> InlineKeyboardMarkup:
    buttons = []
    for gid, name, member in groups[:MAX_GROUP_BUTTONS]:
        mode = MoveMode.MOVE if move else MoveMode.REMOVE if member else MoveMode.ADD
        buttons.append(
            InlineKeyboardButton(
                text=clip((MARK if member else "") + name, BUTTON_TEXT),
                callback_data=CtGrp(p=digits, g=gid, m=int(mode)).pack(),
            )
        )
    rows = [buttons[i : i + 2] for i in range(0, len(buttons), 2)]
    switch = (
        InlineKeyboardButton(
            text=_("Add or remove"), callback_data=CtGrpView(p=digits, move=False).pack()
        )
        if move
        else InlineKeyboardButton(
            text=_("Move to one group"), callback_data=CtGrpView(p=digits, move=True).pack()
        )
    )
    back = InlineKeyboardButton(text=_("Back to the card"), callback_data=CtCard(p=digits).pack())
    rows.append([switch, back] if groups else [back])
    return InlineKeyboardMarkup(inline_keyboard=rows)


def groups_text(number: str, move: bool, empty: bool) -> str:
    if empty:
        return _("There are no groups yet: create one with /groups.")
    if move:
        return _("Move {number} to which group? It will be in that group only.").format(
            number=esc(number)
        )
    return _(
        "Groups of {number}: ✓ marks the groups it is in. Tap a group to add or remove it."
    ).format(number=esc(number))


def groups_from_markup(markup: InlineKeyboardMarkup | None) -> list[GroupMark]:
    """The group buttons as the message shows them: ids, names and membership."""
    found: list[GroupMark] = []
    for row in markup.inline_keyboard if markup else []:
        for button in row:
            data = button.callback_data or ""
            if data.startswith(CtGrp.__prefix__ + ":"):
                member = button.text.startswith(MARK)
                found.append((CtGrp.unpack(data).g, button.text.removeprefix(MARK), member))
    return found


@router.callback_query(CtAct.filter(F.a == "gr"), flags={ACCOUNT_FLAG: True})
async def open_groups(
    query: CallbackQuery, callback_data: CtAct, smsc: SmscClient, account: Account
) -> None:
    if not isinstance(query.message, Message):
        return
    region = region_of(account)
    book = PhoneBook(smsc, account)
    contact = await book.contact(callback_data.p)
    if contact is None:
        await query.message.answer(gone_text(callback_data.p, region))
        return
    groups = [(g.id, g.name, g.id in contact.groups) for g in await book.groups()]
    await query.message.edit_text(
        groups_text(display_stored(callback_data.p, region), False, not groups),
        reply_markup=groups_keyboard(callback_data.p, groups, move=False),
    )


@router.callback_query(CtGrpView.filter(), flags={ACCOUNT_FLAG: True})
async def switch_groups_view(
    query: CallbackQuery, callback_data: CtGrpView, account: Account
) -> None:
    """Between add/remove and move: redrawn from the keyboard itself, nothing to read."""
    if not isinstance(query.message, Message):
        return
    groups = groups_from_markup(query.message.reply_markup)
    number = display_stored(callback_data.p, region_of(account))
    await query.message.edit_text(
        groups_text(number, callback_data.move, not groups),
        reply_markup=groups_keyboard(callback_data.p, groups, callback_data.move),
    )


@router.callback_query(CtGrp.filter(F.m.in_({1, 2, 3})), flags={ACCOUNT_FLAG: True})
async def change_groups(
    query: CallbackQuery,
    callback_data: CtGrp,
    smsc: SmscClient,
    account: Account,
    audit: AuditLog,
) -> None:
    """Apply one group change, then redraw the keyboard from itself: no re-read needed."""
    if not isinstance(query.message, Message):
        return
    mode = MoveMode(callback_data.m)
    await PhoneBook(smsc, account).move(callback_data.p, callback_data.g, mode)
    await audit.record(
        query.message.chat.id,
        query.from_user.id,
        f"contact_group_{mode.name.lower()}",
        f"{callback_data.p}:{callback_data.g}",
        "ok",
    )
    groups = groups_from_markup(query.message.reply_markup)
    if mode is MoveMode.MOVE:
        groups = [(gid, name, gid == callback_data.g) for gid, name, _m in groups]
    else:
        joined = mode is MoveMode.ADD
        groups = [
            (gid, name, joined if gid == callback_data.g else member)
            for gid, name, member in groups
        ]
    number = display_stored(callback_data.p, region_of(account))
    await query.message.edit_text(
        groups_text(number, False, not groups),
        reply_markup=groups_keyboard(callback_data.p, groups, move=False),
    )


# -- anything else during a conversation -----------------------------------------------------


# Last in the module, after every handler of these states; commands are left alone here:
# they belong to the routers after this one.
@router.message(AddContact.phone, ~F.text.startswith("/"))
@router.message(AddContact.name, ~F.text.startswith("/"))
@router.message(AddContact.new_group, ~F.text.startswith("/"))
@router.message(EditContact.name, ~F.text.startswith("/"))
@router.message(EditContact.phone, ~F.text.startswith("/"))
@router.message(ContactSearch.query, ~F.text.startswith("/"))
async def expected_text(message: Message) -> None:
    await message.answer(_("Please send it as a text message, or /cancel."))


@router.message(AddContact.groups, ~F.text.startswith("/"))
async def expected_button(message: Message) -> None:
    await message.answer(_("Please choose with the buttons, or send /cancel."))
