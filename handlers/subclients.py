"""/subclients: the list (from statistics and from what the bot created), a card with this month's
figures, creating one, new password, type or login, and topping one up.

A subclient's password is never echoed, never kept in FSM data and its message is deleted at once:
it is asked for as the last step and held only for the one SMSC call.
"""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Final

from aiogram import Bot, F, Router
from aiogram.filters import Command
from aiogram.filters.callback_data import CallbackData
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import gettext as _

from bot.accounts import AccountService
from bot.commands import N_
from bot.errors import StaleButton
from bot.i18n import fmt_money
from bot.middlewares import ACCOUNT_FLAG
from bot.phones import parse_phone, parse_shared, region_for_site
from bot.services.confirmations import CHANGE_TTL, MONEY_TTL, ConfirmationService, account_key
from bot.smsc import SmscBadResponse, SmscClient, SmscError, SmscUnavailable
from bot.smsc.models import SubclientType
from bot.storage.accounts import Account
from bot.storage.audit import AuditLog
from bot.storage.confirmations import Confirmation
from bot.ui import NOT_COMMAND, Cf, chat_of, confirm_keyboard, esc, not_command, pager_row, rows
from bot.ui import show_in_place as show
from bot.ui import user_id_of as user_id
from handlers.account import delete_secret
from handlers.confirm import Asked, cancel, claim, perform
from handlers.stats import (
    StAsk,
    Totals,
    amounts_text,
    explain,
    known_subclients,
    login_ref,
    own_balance_logins,
    resolve_ref,
)

router = Router(name="subclients")

PAGE_SIZE: Final = 20
# Logins the bot creates or renames to: what fits callback data as it is (see login_ref).
_LOGIN = re.compile(r"^[A-Za-z0-9_.@\-]{1,32}$")
_AMOUNT = re.compile(r"^\d{1,9}(?:[.,]\d{1,2})?$")


TYPE_NAMES: Final = {
    SubclientType.OWN_TARIFF_OWN_BALANCE: N_("Own tariff and balance"),
    SubclientType.MAIN_TARIFF_OWN_BALANCE: N_("Your tariff, own balance"),
    SubclientType.MAIN_TARIFF_MAIN_BALANCE: N_("Your tariff and balance"),
    SubclientType.MAIN_BALANCE_OWN_TARIFF: N_("Your balance, own tariff"),
    SubclientType.EXTRA_LOGIN: N_("Extra login of your account"),
}
TYPE_HELP: Final = {
    SubclientType.OWN_TARIFF_OWN_BALANCE: N_(
        "Pays from its own balance at its own prices; you top it up."
    ),
    SubclientType.MAIN_TARIFF_OWN_BALANCE: N_(
        "Pays from its own balance at your account's prices; you top it up."
    ),
    SubclientType.MAIN_TARIFF_MAIN_BALANCE: N_(
        "Spends your account's balance at your prices; it cannot be topped up."
    ),
    SubclientType.MAIN_BALANCE_OWN_TARIFF: N_(
        "Spends your account's balance at its own prices; it cannot be topped up."
    ),
    SubclientType.EXTRA_LOGIN: N_("Another login into your own account, sharing everything."),
}


class SubclientForm(StatesGroup):
    login = State()
    phone = State()
    type = State()
    main_senders = State()
    password = State()


class SubclientEdit(StatesGroup):
    password = State()
    login = State()
    amount = State()


class ScList(CallbackData, prefix="scl"):
    page: int = 0


class ScCard(CallbackData, prefix="scc"):
    ref: str


class ScAct(CallbackData, prefix="sca"):
    """``action``: new, pay, pw, type, login."""

    action: str
    ref: str = ""


class ScType(CallbackData, prefix="sct"):
    """A type button: in the creation wizard (``ref`` empty) or for an existing subclient."""

    type: int
    ref: str = ""


class ScCheck(CallbackData, prefix="scx"):
    """After a top-up with no answer: what SMSC shows now (today's credit, the balance)."""

    ref: str


class ScNew(CallbackData, prefix="scn"):
    """The creation wizard's other buttons: ``step`` phone (skip) or main (yes/no)."""

    step: str
    value: str = ""


def valid_password(password: str) -> bool:
    """SMSC's rule: at least 8 characters and three of lower case, capitals, digits, symbols."""
    classes = (
        any(ch.islower() for ch in password),
        any(ch.isupper() for ch in password),
        any(ch.isdigit() for ch in password),
        any(not ch.isalnum() for ch in password),
    )
    return len(password) >= 8 and sum(classes) >= 3 and not any(ch.isspace() for ch in password)


def password_rule() -> str:
    return _(
        "At least 8 characters, no spaces, with three of these four: lower-case letters, "
        "capital letters, digits, symbols."
    )


def login_rule() -> str:
    return _("A login is 1 to 32 Latin letters, digits and the signs _ . - @.")


def type_name(kind: SubclientType) -> str:
    return _(TYPE_NAMES[kind])


def types_text() -> str:
    return "\n".join(
        f"<b>{esc(type_name(kind))}</b>: {esc(_(TYPE_HELP[kind]))}" for kind in SubclientType
    )


def type_keyboard(ref: str) -> InlineKeyboardMarkup:
    buttons = [
        InlineKeyboardButton(text=type_name(kind), callback_data=ScType(type=kind, ref=ref).pack())
        for kind in SubclientType
    ]
    return InlineKeyboardMarkup(inline_keyboard=rows(buttons, 1))


async def login_for(
    query: CallbackQuery, ref: str, smsc: SmscClient, accounts: AccountService
) -> str | None:
    """The login behind a button; a button for a subclient no longer known gets an answer."""
    login = await resolve_ref(ref, smsc, accounts, chat_of(query))
    if login is None:
        await show(query, _("There is no subclient with this login."), back_markup())
    return login


def back_markup() -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        inline_keyboard=[
            [InlineKeyboardButton(text="« " + _("All subclients"), callback_data=ScList().pack())]
        ]
    )


def open_markup(login: str) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        inline_keyboard=[
            [
                InlineKeyboardButton(
                    text=_("Open"), callback_data=ScCard(ref=login_ref(login)).pack()
                )
            ]
        ]
    )


# -- list and card -------------------------------------------------------------------------------


def list_view(found: dict[str, bool | None], page: int) -> tuple[str, InlineKeyboardMarkup]:
    logins = list(found)
    pages = max(1, -(-len(logins) // PAGE_SIZE))
    page = min(max(page, 0), pages - 1)
    shown = logins[page * PAGE_SIZE : (page + 1) * PAGE_SIZE]
    if not logins:
        text = _(
            "No subclients found. SMSC has no command that lists them, so this list shows the "
            "subclients in your statistics and the ones created here."
        )
    else:
        lines = [_("<b>Subclients</b>. Tap one to top it up or change it.")]
        for login in shown:
            own = found[login]
            kind = (
                _("own balance")
                if own
                else _("your balance")
                if own is False
                else _("created here")
            )
            lines.append(f"{esc(login)} — {esc(kind)}")
        text = "\n".join(lines)
    keyboard = rows(
        [
            InlineKeyboardButton(text=login, callback_data=ScCard(ref=login_ref(login)).pack())
            for login in shown
        ]
    )
    if pages > 1:
        keyboard.append(
            pager_row(
                ScList(page=page - 1) if page > 0 else None,
                ScList(page=page + 1) if page < pages - 1 else None,
                f"{page + 1}/{pages}",
            )
        )
    keyboard.append(
        [
            InlineKeyboardButton(
                text=_("Create a subclient"), callback_data=ScAct(action="new").pack()
            )
        ]
    )
    return text, InlineKeyboardMarkup(inline_keyboard=keyboard)


@router.message(Command("subclients"), flags={ACCOUNT_FLAG: True})
async def cmd_subclients(
    message: Message, state: FSMContext, smsc: SmscClient, accounts: AccountService
) -> None:
    await state.clear()
    found = await known_subclients(smsc, accounts, message.chat.id)
    text, markup = list_view(found, 0)
    await message.answer(text, reply_markup=markup)


@router.callback_query(ScList.filter(), flags={ACCOUNT_FLAG: True})
async def list_page(
    query: CallbackQuery, callback_data: ScList, smsc: SmscClient, accounts: AccountService
) -> None:
    found = await known_subclients(smsc, accounts, chat_of(query))
    await show(query, *list_view(found, callback_data.page))


def card_markup(ref: str) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        inline_keyboard=[
            [
                InlineKeyboardButton(
                    text=_("Top up"), callback_data=ScAct(action="pay", ref=ref).pack()
                ),
                InlineKeyboardButton(text=_("Statistics"), callback_data=StAsk(ref=ref).pack()),
            ],
            [
                InlineKeyboardButton(
                    text=_("Password"), callback_data=ScAct(action="pw", ref=ref).pack()
                ),
                InlineKeyboardButton(
                    text=_("Type"), callback_data=ScAct(action="type", ref=ref).pack()
                ),
                InlineKeyboardButton(
                    text=_("Login"), callback_data=ScAct(action="login", ref=ref).pack()
                ),
            ],
            [InlineKeyboardButton(text="« " + _("All subclients"), callback_data=ScList().pack())],
        ]
    )


@router.callback_query(ScCard.filter(), flags={ACCOUNT_FLAG: True})
async def open_card(
    query: CallbackQuery, callback_data: ScCard, smsc: SmscClient, accounts: AccountService
) -> None:
    login = await login_for(query, callback_data.ref, smsc, accounts)
    if login is None:
        return
    today = date.today()
    try:
        own = login in await own_balance_logins(smsc)
        found = await smsc.get_stat(today.replace(day=1), today, user=login, reseller=own)
    except SmscError as exc:
        if exc.code != 6:
            raise
        await show(query, explain(exc), back_markup())
        return
    lines = [f"<b>{esc(login)}</b>", ""]
    row = next((r for r in found if r.login == login), found[0] if found else None)
    if row is None:
        lines.append(_("No statistics this month."))
    else:
        month = Totals(row.sms, row.spent, row.credited)
        lines.append(
            _("This month: {amounts}").format(amounts=esc(amounts_text(month, row.currency)))
        )
    await show(query, "\n".join(lines), card_markup(login_ref(login)))


# -- creating ------------------------------------------------------------------------------------


@router.callback_query(ScAct.filter(F.action == "new"))
async def start_create(query: CallbackQuery, state: FSMContext, bot: Bot) -> None:
    await state.clear()
    await state.set_state(SubclientForm.login)
    await bot.send_message(
        chat_of(query),
        _("Send the login for the new subclient.")
        + "\n"
        + login_rule()
        + "\n"
        + _("/cancel to stop."),
    )


async def ask_password(message: Message) -> None:
    await message.answer(
        _("Last step: the subclient's password. I will delete your message with it right away.")
        + "\n"
        + password_rule()
    )


@router.message(SubclientForm.login, NOT_COMMAND)
async def got_login(message: Message, state: FSMContext) -> None:
    login = (message.text or "").strip()
    if not _LOGIN.match(login):
        await message.answer(login_rule() + "\n" + _("Send it again, or /cancel."))
        return
    data = await state.update_data(login=login)
    if data.get("resume"):
        # Back here because SMSC refused the login: the other answers are still valid.
        await state.set_state(SubclientForm.password)
        await ask_password(message)
        return
    await state.set_state(SubclientForm.phone)
    await message.answer(
        _("The subclient's phone number, or skip it."),
        reply_markup=InlineKeyboardMarkup(
            inline_keyboard=[
                [InlineKeyboardButton(text=_("Skip"), callback_data=ScNew(step="phone").pack())]
            ]
        ),
    )


async def phone_chosen(bot: Bot, chat_id: int, state: FSMContext, phone: str) -> None:
    await state.update_data(phone=phone)
    await state.set_state(SubclientForm.type)
    await bot.send_message(
        chat_id,
        _("Which type of subclient?") + "\n\n" + types_text(),
        reply_markup=type_keyboard(""),
    )


@router.message(SubclientForm.phone, F.text | F.contact, not_command, flags={ACCOUNT_FLAG: True})
async def got_phone(message: Message, state: FSMContext, account: Account, bot: Bot) -> None:
    region = region_for_site(account.site)
    if message.contact is not None:
        phone = parse_shared(message.contact.phone_number, region)
    else:
        phone = parse_phone(message.text or "", region)
    if phone is None:
        await message.answer(
            _("That is not a valid phone number. Send it again, skip it, or /cancel.")
        )
        return
    await phone_chosen(bot, message.chat.id, state, phone.digits)


@router.callback_query(SubclientForm.phone, ScNew.filter(F.step == "phone"))
async def skipped_phone(query: CallbackQuery, state: FSMContext, bot: Bot) -> None:
    await phone_chosen(bot, chat_of(query), state, "")


@router.callback_query(SubclientForm.type, ScType.filter(F.ref == ""))
async def chose_new_type(query: CallbackQuery, callback_data: ScType, state: FSMContext) -> None:
    kind = subclient_type(callback_data.type)
    await state.update_data(type=int(kind))
    await state.set_state(SubclientForm.main_senders)
    await show(
        query,
        _("Type: {type}.").format(type=esc(type_name(kind)))
        + "\n"
        + _("May the subclient send from your account's sender names?"),
        InlineKeyboardMarkup(
            inline_keyboard=[
                [
                    InlineKeyboardButton(
                        text=_("Yes"), callback_data=ScNew(step="main", value="1").pack()
                    ),
                    InlineKeyboardButton(
                        text=_("No"), callback_data=ScNew(step="main", value="0").pack()
                    ),
                ]
            ]
        ),
    )


@router.callback_query(SubclientForm.main_senders, ScNew.filter(F.step == "main"))
async def chose_main_senders(query: CallbackQuery, callback_data: ScNew, state: FSMContext) -> None:
    allowed = callback_data.value == "1"
    await state.update_data(main_senders=allowed)
    await state.set_state(SubclientForm.password)
    answer = _("Your sender names: allowed.") if allowed else _("Your sender names: not allowed.")
    await show(query, answer, None)
    if isinstance(query.message, Message):
        await ask_password(query.message)


@router.message(SubclientForm.password, NOT_COMMAND, flags={ACCOUNT_FLAG: True})
async def got_password(
    message: Message,
    state: FSMContext,
    smsc: SmscClient,
    accounts: AccountService,
    audit: AuditLog,
) -> None:
    password = (message.text or "").strip()
    await delete_secret(message)
    if not valid_password(password):
        await message.answer(
            _("This password is too simple for SMSC.")
            + "\n"
            + password_rule()
            + "\n"
            + _("Send another one, or /cancel.")
        )
        return
    data = await state.get_data()
    login = str(data.get("login", ""))
    try:
        await smsc.add_subclient(
            login,
            password,
            phone=str(data.get("phone", "")) or None,
            type=subclient_type(int(data.get("type", 0))),
            use_main_senders=bool(data.get("main_senders")),
        )
    except SmscError as exc:
        await audit.record(
            message.chat.id, user_id(message), "subclient.add", login, f"error {exc.code}"
        )
        if exc.code == 5:
            await state.update_data(resume=True)
            await state.set_state(SubclientForm.login)
            await message.answer(
                _("SMSC could not create <b>{login}</b>: the login may be taken.").format(
                    login=esc(login)
                )
                + "\n"
                + _("Send another login, or /cancel.")
            )
            return
        await message.answer(explain(exc) + "\n" + _("Send the password again, or /cancel."))
        return
    await state.clear()
    await accounts.repo.add_subclient(message.chat.id, login)
    await audit.record(message.chat.id, user_id(message), "subclient.add", login, "ok")
    await message.answer(
        _("Subclient <b>{login}</b> created.").format(login=esc(login)),
        reply_markup=open_markup(login),
    )


def subclient_type(value: int) -> SubclientType:
    try:
        return SubclientType(value)
    except ValueError:
        raise StaleButton("unknown subclient type") from None


# -- password ------------------------------------------------------------------------------------


@router.callback_query(ScAct.filter(F.action == "pw"), flags={ACCOUNT_FLAG: True})
async def start_password(
    query: CallbackQuery,
    callback_data: ScAct,
    state: FSMContext,
    smsc: SmscClient,
    accounts: AccountService,
    bot: Bot,
) -> None:
    login = await login_for(query, callback_data.ref, smsc, accounts)
    if login is None:
        return
    await state.clear()
    await state.set_state(SubclientEdit.password)
    await state.update_data(login=login)
    await bot.send_message(
        chat_of(query),
        _(
            "Send the new password for <b>{login}</b>. "
            "I will delete your message with it right away."
        ).format(login=esc(login))
        + "\n"
        + password_rule(),
    )


@router.message(SubclientEdit.password, NOT_COMMAND, flags={ACCOUNT_FLAG: True})
async def got_new_password(
    message: Message, state: FSMContext, smsc: SmscClient, audit: AuditLog
) -> None:
    password = (message.text or "").strip()
    await delete_secret(message)
    if not valid_password(password):
        await message.answer(
            _("This password is too simple for SMSC.")
            + "\n"
            + password_rule()
            + "\n"
            + _("Send another one, or /cancel.")
        )
        return
    login = str((await state.get_data()).get("login", ""))
    if not await change(
        message, state, smsc, audit, login, "subclient.password", password=password
    ):
        return
    await message.answer(
        _("The password of <b>{login}</b> is changed.").format(login=esc(login)),
        reply_markup=open_markup(login),
    )


async def change(
    message: Message,
    state: FSMContext,
    smsc: SmscClient,
    audit: AuditLog,
    login: str,
    action: str,
    *,
    password: str | None = None,
    new_login: str | None = None,
) -> bool:
    """One change_subclient call from a conversation; on an error the conversation stays."""
    try:
        await smsc.change_subclient(login, password=password, new_login=new_login)
    except SmscError as exc:
        await audit.record(message.chat.id, user_id(message), action, login, f"error {exc.code}")
        if exc.code == 6:
            await state.clear()
            await message.answer(explain(exc))
            return False
        if exc.code == 5 and new_login:
            await message.answer(
                _("SMSC could not rename the subclient: <b>{login}</b> may be taken.").format(
                    login=esc(new_login)
                )
                + "\n"
                + _("Send another login, or /cancel.")
            )
            return False
        await message.answer(explain(exc) + "\n" + _("Send it again, or /cancel."))
        return False
    await state.clear()
    await audit.record(message.chat.id, user_id(message), action, login, "ok")
    return True


# -- login ---------------------------------------------------------------------------------------


@router.callback_query(ScAct.filter(F.action == "login"), flags={ACCOUNT_FLAG: True})
async def start_rename(
    query: CallbackQuery,
    callback_data: ScAct,
    state: FSMContext,
    smsc: SmscClient,
    accounts: AccountService,
    bot: Bot,
) -> None:
    login = await login_for(query, callback_data.ref, smsc, accounts)
    if login is None:
        return
    await state.clear()
    await state.set_state(SubclientEdit.login)
    await state.update_data(login=login)
    await bot.send_message(
        chat_of(query),
        _("Send the new login for <b>{login}</b>.").format(login=esc(login))
        + "\n"
        + login_rule()
        + "\n"
        + _("/cancel to stop."),
    )


@router.message(SubclientEdit.login, NOT_COMMAND, flags={ACCOUNT_FLAG: True})
async def got_new_login(
    message: Message,
    state: FSMContext,
    smsc: SmscClient,
    accounts: AccountService,
    audit: AuditLog,
) -> None:
    new_login = (message.text or "").strip()
    if not _LOGIN.match(new_login):
        await message.answer(login_rule() + "\n" + _("Send it again, or /cancel."))
        return
    login = str((await state.get_data()).get("login", ""))
    if not await change(message, state, smsc, audit, login, "subclient.login", new_login=new_login):
        return
    await accounts.repo.rename_subclient(message.chat.id, login, new_login)
    await message.answer(
        _("<b>{old}</b> is now <b>{new}</b>.").format(old=esc(login), new=esc(new_login)),
        reply_markup=open_markup(new_login),
    )


# -- type ----------------------------------------------------------------------------------------


@router.callback_query(ScAct.filter(F.action == "type"), flags={ACCOUNT_FLAG: True})
async def start_type(
    query: CallbackQuery, callback_data: ScAct, smsc: SmscClient, accounts: AccountService
) -> None:
    login = await login_for(query, callback_data.ref, smsc, accounts)
    if login is None:
        return
    await show(
        query,
        _("New type for <b>{login}</b>:").format(login=esc(login)) + "\n\n" + types_text(),
        type_keyboard(login_ref(login)),
    )


@router.callback_query(ScType.filter(F.ref != ""), flags={ACCOUNT_FLAG: True})
async def ask_type(
    query: CallbackQuery,
    callback_data: ScType,
    smsc: SmscClient,
    accounts: AccountService,
    account: Account,
    confirmations: ConfirmationService,
) -> None:
    kind = subclient_type(callback_data.type)
    login = await login_for(query, callback_data.ref, smsc, accounts)
    if login is None:
        return
    record_id = await confirmations.ask(
        chat_id=chat_of(query),
        account=account_key(account),
        action="sctype",
        payload={"login": login, "type": str(int(kind))},
        asked_by=query.from_user.id,
        ttl=CHANGE_TTL,
    )
    await show(
        query,
        _("Change the type of <b>{login}</b> to “{type}”?").format(
            login=esc(login), type=esc(type_name(kind))
        )
        + "\n"
        + esc(_(TYPE_HELP[kind])),
        confirm_keyboard(record_id, yes=_("Yes, change")),
    )


@router.callback_query(Cf.filter(), Asked("sctype"), flags={ACCOUNT_FLAG: True})
async def confirm_type(
    query: CallbackQuery,
    callback_data: Cf,
    asked: Confirmation,
    confirmations: ConfirmationService,
    smsc: SmscClient,
    account: Account,
    accounts: AccountService,
    audit: AuditLog,
) -> None:
    login = asked.payload.get("login", "")
    kind = subclient_type(int(asked.payload.get("type", "-1")))
    if not callback_data.yes:
        if await cancel(query, asked, confirmations, open_markup(login)):
            await open_card(query, ScCard(ref=login_ref(login)), smsc, accounts)
        return
    record = await claim(query, asked, confirmations, account, open_markup(login))
    if record is None:
        return
    try:
        changed = await perform(
            query,
            confirmations,
            audit,
            record,
            lambda: smsc.change_subclient(login, type=kind),
            what="subclient.type",
            target=login,
            detail=str(int(kind)),
            check=open_markup(login),
        )
    except SmscError as exc:
        await show(query, explain(exc), open_markup(login))
        return
    if changed:
        await show(
            query,
            _("<b>{login}</b> is now of type “{type}”.").format(
                login=esc(login), type=esc(type_name(kind))
            ),
            open_markup(login),
        )


# -- topping up ----------------------------------------------------------------------------------


def parse_amount(text: str) -> Decimal | None:
    text = re.sub(r"[\s\u00a0\u202f]", "", text)
    if not _AMOUNT.match(text):
        return None
    try:
        amount = Decimal(text.replace(",", "."))
    except InvalidOperation:
        return None
    return amount if amount > 0 else None


@router.callback_query(ScAct.filter(F.action == "pay"), flags={ACCOUNT_FLAG: True})
async def start_pay(
    query: CallbackQuery,
    callback_data: ScAct,
    state: FSMContext,
    smsc: SmscClient,
    accounts: AccountService,
    bot: Bot,
) -> None:
    login = await login_for(query, callback_data.ref, smsc, accounts)
    if login is None:
        return
    balance = await smsc.get_balance()
    await state.clear()
    await state.set_state(SubclientEdit.amount)
    await state.update_data(login=login, currency=balance.currency)
    await bot.send_message(
        chat_of(query),
        _(
            "How much to move from your balance to <b>{login}</b>, in {currency}? "
            "Your balance: {balance}."
        ).format(
            login=esc(login),
            currency=esc(balance.currency or _("your account's currency")),
            balance=esc(fmt_money(balance.balance, balance.currency)),
        )
        + "\n"
        + _("/cancel to stop."),
    )


@router.message(SubclientEdit.amount, NOT_COMMAND, flags={ACCOUNT_FLAG: True})
async def got_amount(
    message: Message,
    state: FSMContext,
    account: Account,
    confirmations: ConfirmationService,
) -> None:
    amount = parse_amount(message.text or "")
    if amount is None:
        await message.answer(_("Send the amount as a number, such as 500 or 250.50, or /cancel."))
        return
    data = await state.get_data()
    login, currency = str(data.get("login", "")), str(data.get("currency", ""))
    await state.clear()
    # The question is a record of its own: it works after a restart and after /cancel, once.
    record_id = await confirmations.ask(
        chat_id=message.chat.id,
        account=account_key(account),
        action="scpay",
        payload={"login": login, "amount": f"{amount:.2f}", "currency": currency},
        asked_by=user_id(message),
        ttl=MONEY_TTL,
    )
    await message.answer(
        _("Move <b>{amount}</b> from your balance to <b>{login}</b>?").format(
            amount=esc(fmt_money(amount, currency)), login=esc(login)
        ),
        reply_markup=confirm_keyboard(record_id, yes=_("Yes, top up")),
    )


def check_markup(login: str) -> InlineKeyboardMarkup:
    """For a top-up with no answer: see in SMSC's figures whether the money moved."""
    ref = login_ref(login)
    return InlineKeyboardMarkup(
        inline_keyboard=[
            [
                InlineKeyboardButton(
                    text=_("Check in SMSC"), callback_data=ScCheck(ref=ref).pack()
                ),
                InlineKeyboardButton(text=_("Open"), callback_data=ScCard(ref=ref).pack()),
            ]
        ]
    )


@router.callback_query(ScCheck.filter(), flags={ACCOUNT_FLAG: True})
async def check_pay(
    query: CallbackQuery, callback_data: ScCheck, smsc: SmscClient, accounts: AccountService
) -> None:
    """Today's money credited to the subclient and the main balance, as SMSC counts them now."""
    login = await login_for(query, callback_data.ref, smsc, accounts)
    if login is None:
        return
    today = date.today()
    try:
        # Only a subclient with its own balance can be topped up, and SMSC reports those only
        # with reseller=1.
        found = await smsc.get_stat(today, today, user=login, reseller=True)
    except SmscError as exc:
        if exc.code != 6:
            raise
        await show(query, explain(exc), back_markup())
        return
    balance = await smsc.get_balance()
    row = next((r for r in found if r.login == login), None)
    credited = row.credited if row is not None else Decimal(0)
    lines = [
        f"<b>{esc(login)}</b>",
        _("Credited today: {amount}.").format(
            amount=esc(fmt_money(credited, row.currency if row else balance.currency))
        ),
        _("Your balance: {balance}.").format(
            balance=esc(fmt_money(balance.balance, balance.currency))
        ),
        _("If the top-up is not in today's credit, it was not made: ask again."),
    ]
    await show(query, "\n".join(lines), check_markup(login))


@router.callback_query(Cf.filter(), Asked("scpay"), flags={ACCOUNT_FLAG: True})
async def confirm_pay(
    query: CallbackQuery,
    callback_data: Cf,
    asked: Confirmation,
    confirmations: ConfirmationService,
    smsc: SmscClient,
    account: Account,
    audit: AuditLog,
) -> None:
    login = asked.payload.get("login", "")
    amount = parse_amount(asked.payload.get("amount", ""))
    if amount is None:
        raise StaleButton("top-up record without an amount")
    if not callback_data.yes:
        if await cancel(query, asked, confirmations, check_markup(login)):
            await show(query, _("Nothing was moved."), None)
        return
    record = await claim(query, asked, confirmations, account, check_markup(login))
    if record is None:
        return
    await show(query, _("Topping up <b>{login}</b>…").format(login=esc(login)), None)
    try:
        paid = await perform(
            query,
            confirmations,
            audit,
            record,
            lambda: smsc.pay_subclient(login, amount),
            what="subclient.pay",
            target=login,
            detail=f"{amount:.2f}",
            check=check_markup(login),
        )
    except SmscError as exc:
        await show(query, explain(exc), open_markup(login))
        return
    if not paid:
        return
    text = _("Done: {login} got {amount}.")
    try:
        balance = await smsc.get_balance()
    except (SmscError, SmscUnavailable, SmscBadResponse):
        # The money moved; only the new balance is missing from the answer.
        await show(
            query, text.format(login=esc(login), amount=esc(f"{amount:.2f}")), open_markup(login)
        )
        return
    await show(
        query,
        text.format(login=f"<b>{esc(login)}</b>", amount=esc(fmt_money(amount, balance.currency)))
        + "\n"
        + _("Your balance: {balance}.").format(
            balance=esc(fmt_money(balance.balance, balance.currency))
        ),
        open_markup(login),
    )


# -- anything else inside the conversations --------------------------------------------------------


@router.message(SubclientForm.login, not_command)
@router.message(SubclientForm.phone, not_command)
@router.message(SubclientForm.password, not_command)
@router.message(SubclientEdit.password, not_command)
@router.message(SubclientEdit.login, not_command)
@router.message(SubclientEdit.amount, not_command)
async def expected_text(message: Message) -> None:
    await message.answer(_("Please send it as a text message, or /cancel."))


@router.message(SubclientForm.type, not_command)
@router.message(SubclientForm.main_senders, not_command)
async def expected_button(message: Message) -> None:
    await message.answer(_("Please choose with the buttons above, or send /cancel."))
