"""Creating a subclient: login, phone, type, the main account's sender names, and the password
last (deleted at once, never kept)."""

from __future__ import annotations

from aiogram import Bot, F, Router
from aiogram.filters import StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import gettext as _

from bot.middlewares import ADMIN_FLAGS
from bot.phones import parse_phone, parse_shared, region_for_site
from bot.services import subclients
from bot.services.audit import audited
from bot.services.subclients import Subclients
from bot.smsc import SmscError
from bot.storage.accounts import Account
from bot.storage.audit import AuditLog
from bot.ui import NOT_COMMAND, ask, button, chat_of, esc, keyboard, not_command, refused
from bot.ui import show_in_place as show
from bot.ui import user_id_of as user_id
from handlers.subclients.data import (
    ScAct,
    ScAction,
    ScNew,
    ScType,
    SubclientEdit,
    SubclientForm,
    subclient_type,
)
from handlers.subclients.edit import ask_password, change_password, take_password
from handlers.subclients.views import (
    login_rule,
    open_markup,
    type_keyboard,
    type_name,
    types_text,
)

router = Router(name="subclients.create")


@router.callback_query(ScAct.filter(F.action == ScAction.NEW), flags=ADMIN_FLAGS)
async def start_create(query: CallbackQuery, state: FSMContext) -> None:
    await ask(
        query,
        state,
        SubclientForm.login,
        _("Send the login for the new subclient.")
        + "\n"
        + login_rule()
        + "\n"
        + _("/cancel to stop."),
    )


@router.message(SubclientForm.login, NOT_COMMAND)
async def got_login(message: Message, state: FSMContext) -> None:
    login = (message.text or "").strip()
    if not subclients.valid_login(login):
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
        reply_markup=keyboard([button(_("Skip"), ScNew(step="phone"))]),
    )


async def phone_chosen(bot: Bot, chat_id: int, state: FSMContext, phone: str) -> None:
    await state.update_data(phone=phone)
    await state.set_state(SubclientForm.type)
    await bot.send_message(
        chat_id,
        _("Which type of subclient?") + "\n\n" + types_text(),
        reply_markup=type_keyboard(""),
    )


@router.message(SubclientForm.phone, F.text | F.contact, not_command, flags=ADMIN_FLAGS)
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
        keyboard(
            [
                button(_("Yes"), ScNew(step="main", value="1")),
                button(_("No"), ScNew(step="main", value="0")),
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


@router.message(
    StateFilter(SubclientForm.password, SubclientEdit.password), NOT_COMMAND, flags=ADMIN_FLAGS
)
async def got_password(
    message: Message, state: FSMContext, subs: Subclients, audit: AuditLog
) -> None:
    """A new subclient's password (the wizard's last step) or a subclient's new one: taken and
    checked alike, its message deleted."""
    password = await take_password(message)
    if password is None:
        return
    if await state.get_state() == SubclientEdit.password.state:
        await change_password(message, state, subs.smsc, audit, password)
        return
    data = await state.get_data()
    login = str(data.get("login", ""))
    made = subs.create(
        login,
        password,
        phone=str(data.get("phone", "")) or None,
        type=subclient_type(int(data.get("type", 0))),
        use_main_senders=bool(data.get("main_senders")),
    )
    try:
        await audited(audit, message.chat.id, user_id(message), "subclient.add", login, made)
    except SmscError as exc:
        instead = _("SMSC could not create <b>{login}</b>: the login may be taken.")
        await refused(
            message,
            state,
            exc,
            _("Send the password again, or /cancel."),
            codes=(5,),
            instead=instead.format(login=esc(login)) + "\n" + _("Send another login, or /cancel."),
            step=SubclientForm.login,
            resume=True,
        )
        return
    await state.clear()
    await message.answer(
        _("Subclient <b>{login}</b> created.").format(login=esc(login)),
        reply_markup=open_markup(login),
    )
