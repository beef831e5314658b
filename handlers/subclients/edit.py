"""Changing a subclient: a new password (deleted at once, never kept), a new login, a new type
(confirmed through a record)."""

from __future__ import annotations

from collections.abc import Awaitable
from typing import Any

from aiogram import F, Router
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import gettext as _

from bot.errors import explain
from bot.middlewares import ADMIN_FLAGS
from bot.services import subclients
from bot.services.audit import audited
from bot.services.confirmations import CHANGE_TTL
from bot.services.subclients import Subclients
from bot.smsc import SmscClient, SmscError
from bot.storage.audit import AuditLog
from bot.ui import NOT_COMMAND, Cf, ask, delete_secret, esc
from bot.ui import show_in_place as show
from bot.ui import user_id_of as user_id
from handlers.confirm import Asked, Tap, ask_confirmation
from handlers.subclients.browse import login_for, open_card
from handlers.subclients.data import ScAct, ScAction, ScCard, ScType, SubclientEdit, subclient_type
from handlers.subclients.views import (
    back_markup,
    login_rule,
    open_markup,
    password_rule,
    type_help,
    type_keyboard,
    type_name,
    types_text,
)

router = Router(name="subclients.edit")


async def ask_password(message: Message) -> None:
    await message.answer(
        _("Last step: the subclient's password. I will delete your message with it right away.")
        + "\n"
        + password_rule()
    )


async def take_password(message: Message) -> str | None:
    """The password in the message, which is deleted; None (answered) when SMSC would refuse it."""
    password = (message.text or "").strip()
    await delete_secret(message)
    if subclients.valid_password(password):
        return password
    await message.answer(
        _("This password is too simple for SMSC.")
        + "\n"
        + password_rule()
        + "\n"
        + _("Send another one, or /cancel.")
    )
    return None


async def ask_about(
    query: CallbackQuery,
    ref: str,
    state: FSMContext,
    subs: Subclients,
    step: State,
    question: str,
    *more: str,
) -> None:
    """Ask for something about the subclient behind a button; ``question`` has ``{login}``."""
    login = await login_for(query, ref, subs)
    if login is not None:
        prompt = "\n".join([question.format(login=esc(login)), *more])
        await ask(query, state, step, prompt, login=login)


async def change(
    message: Message,
    state: FSMContext,
    audit: AuditLog,
    login: str,
    action: str,
    call: Awaitable[None],
    *,
    new_login: str | None = None,
) -> bool:
    """One change of a subclient from a conversation; on an error the conversation stays."""
    try:
        await audited(audit, message.chat.id, user_id(message), action, login, call)
    except SmscError as exc:
        if exc.code == 6:
            # No such subclient: the conversation ends, and leads back to the list.
            await state.clear()
            await message.answer(explain(exc), reply_markup=back_markup())
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
    return True


# -- password ------------------------------------------------------------------------------------


@router.callback_query(ScAct.filter(F.action.in_({ScAction.PW, ScAction.LOGIN})), flags=ADMIN_FLAGS)
async def start_password_or_login(
    query: CallbackQuery, callback_data: ScAct, state: FSMContext, subs: Subclients
) -> None:
    """Ask for a new password or a new login: the same step, with its own question and rule."""
    if callback_data.action == ScAction.PW:
        step, question, more = (
            SubclientEdit.password,
            _(
                "Send the new password for <b>{login}</b>. "
                "I will delete your message with it right away."
            ),
            [password_rule()],
        )
    else:
        step, question = SubclientEdit.login, _("Send the new login for <b>{login}</b>.")
        more = [login_rule(), _("/cancel to stop.")]
    await ask_about(query, callback_data.ref, state, subs, step, question, *more)


async def change_password(
    message: Message, state: FSMContext, smsc: SmscClient, audit: AuditLog, password: str
) -> None:
    login = str((await state.get_data()).get("login", ""))
    call = smsc.change_subclient(login, password=password)
    if not await change(message, state, audit, login, "subclient.password", call):
        return
    await message.answer(
        _("The password of <b>{login}</b> is changed.").format(login=esc(login)),
        reply_markup=open_markup(login),
    )


# -- login ---------------------------------------------------------------------------------------


@router.message(SubclientEdit.login, NOT_COMMAND, flags=ADMIN_FLAGS)
async def got_new_login(
    message: Message, state: FSMContext, subs: Subclients, audit: AuditLog
) -> None:
    new_login = (message.text or "").strip()
    if not subclients.valid_login(new_login):
        await message.answer(login_rule() + "\n" + _("Send it again, or /cancel."))
        return
    login = str((await state.get_data()).get("login", ""))
    call = subs.rename(login, new_login)
    if not await change(message, state, audit, login, "subclient.login", call, new_login=new_login):
        return
    await message.answer(
        _("<b>{old}</b> is now <b>{new}</b>.").format(old=esc(login), new=esc(new_login)),
        reply_markup=open_markup(new_login),
    )


# -- type ----------------------------------------------------------------------------------------


@router.callback_query(ScAct.filter(F.action == ScAction.TYPE), flags=ADMIN_FLAGS)
async def start_type(query: CallbackQuery, callback_data: ScAct, subs: Subclients) -> None:
    login = await login_for(query, callback_data.ref, subs)
    if login is None:
        return
    await show(
        query,
        _("New type for <b>{login}</b>:").format(login=esc(login)) + "\n\n" + types_text(),
        type_keyboard(subclients.login_ref(login)),
    )


@router.callback_query(ScType.filter(F.ref != ""), flags=ADMIN_FLAGS)
async def ask_type(
    query: CallbackQuery, callback_data: ScType, subs: Subclients, **data: Any
) -> None:
    kind = subclient_type(callback_data.type)
    login = await login_for(query, callback_data.ref, subs)
    if login is None:
        return
    await ask_confirmation(
        query,
        data,
        action="sctype",
        payload={"login": login, "type": str(int(kind))},
        question=_("Change the type of <b>{login}</b> to “{type}”?").format(
            login=esc(login), type=esc(type_name(kind))
        )
        + "\n"
        + esc(type_help(kind)),
        yes=_("Yes, change"),
        ttl=CHANGE_TTL,
        in_place=True,
    )


@router.callback_query(Cf.filter(), Asked("sctype"), flags=ADMIN_FLAGS)
async def confirm_type(query: CallbackQuery, subs: Subclients, **data: Any) -> None:
    tap = Tap.of(query, data)
    login = tap.asked.payload.get("login", "")
    kind = subclient_type(int(tap.asked.payload.get("type", "-1")))

    async def card_again() -> None:
        await open_card(query, ScCard(ref=subclients.login_ref(login)), subs)

    done = _("<b>{login}</b> is now of type “{type}”.")
    await tap.change(
        lambda: subs.smsc.change_subclient(login, type=kind),
        what="subclient.type",
        target=login,
        detail=str(int(kind)),
        markup=open_markup(login),
        on_no=card_again,
        done=done.format(login=esc(login), type=esc(type_name(kind))),
    )
