"""Teams: /team (members, roles, removal, leaving, ownership, the private chat's other teams).
Every change is confirmed through a record; the role each needs is checked again at the tap, with
the role of whoever tapped. Invitations are in ``invite``."""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

from aiogram import Bot, F, Router
from aiogram.enums import ChatMemberStatus
from aiogram.exceptions import TelegramAPIError
from aiogram.filters import Command
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import gettext as _

from bot.accounts import AccountService, NotTheAsker
from bot.errors import StaleButton, role_name
from bot.middlewares import ACCOUNT_FLAG, ADMIN_FLAGS, ROLE_FLAG
from bot.services.teams import GIVEN_ROLES, Role
from bot.storage.accounts import Account
from bot.storage.audit import AuditLog
from bot.storage.confirmations import Confirmation
from bot.storage.teams import Member
from bot.ui import Cf, chat_of, send_to_chat
from bot.ui import show_in_place as show
from handlers.account.data import TmLeave, TmList, TmMember, TmOwner, TmRemove, TmRole, TmSwitch
from handlers.account.views import account_name, back_keyboard, member_view, team_view, who
from handlers.common import Menu
from handlers.confirm import Asked, Tap, ask_confirmation

router = Router(name="account.team")


OWNER_FLAGS = {ACCOUNT_FLAG: True, ROLE_FLAG: Role.OWNER}


async def group_creator(bot: Bot, chat_id: int, user_id: int) -> bool:
    """Whether ``user_id`` created the group ``chat_id`` (Telegram's word; False in private)."""
    if chat_id > 0:
        return False
    try:
        member = await bot.get_chat_member(chat_id, user_id)
    except TelegramAPIError:
        # Not answered (the bot left, Telegram's hiccup): nobody takes the account over now.
        return False
    return member.status == ChatMemberStatus.CREATOR


@router.callback_query(TmSwitch.filter())
async def switch(
    query: CallbackQuery, callback_data: TmSwitch, accounts: AccountService, audit: AuditLog
) -> None:
    """The private chat goes on with another team the person is in."""
    user = query.from_user.id
    member = await accounts.teams.repo.member(callback_data.account, user)
    if chat_of(query) != user or member is None:
        raise StaleButton("not a member of that account, or not a private chat")
    await accounts.teams.repo.link(user, callback_data.account, None, user)
    await audit.record(user, user, "team switch", "", "ok")
    account = await accounts.repo.get(user)
    role = Role.of(member.role) or Role.VIEWER
    if account is not None:
        await show(query, *await team_view(account, role, accounts, user))


@router.message(Command("team"), flags={ACCOUNT_FLAG: True})
async def cmd_team(
    message: Message,
    account: Account,
    role: Role,
    accounts: AccountService,
    audit: AuditLog,
    bot: Bot,
) -> None:
    user = message.from_user.id if message.from_user else 0
    if account.owner_id is None and await group_creator(bot, message.chat.id, user):
        # A group log-in from before teams whose user nobody recorded (docs/teams.md): the
        # group's creator takes it over.
        await accounts.teams.repo.add_member(account.id, user, Role.VIEWER.key, "", time.time())
        await accounts.teams.repo.set_owner(account.id, user)
        await audit.record(message.chat.id, user, "team owner", str(user), "ok", "group creator")
        role = Role.OWNER
    text, markup = await team_view(account, role, accounts, user)
    await message.answer(text, reply_markup=markup)


@router.callback_query(Menu.filter(F.action == "team"), flags={ACCOUNT_FLAG: True})
async def team_from_home(
    query: CallbackQuery, account: Account, role: Role, accounts: AccountService
) -> None:
    await show(query, *await team_view(account, role, accounts, query.from_user.id))


@router.callback_query(TmList.filter(), flags={ACCOUNT_FLAG: True})
async def back_to_team(
    query: CallbackQuery, account: Account, role: Role, accounts: AccountService
) -> None:
    await show(query, *await team_view(account, role, accounts, query.from_user.id))


async def other_member(accounts: AccountService, account: Account, user: int) -> Member:
    """The member a button names, not the owner; a stale button otherwise."""
    member = await accounts.teams.repo.member(account.id, user)
    if member is None or member.role == Role.OWNER.key:
        raise StaleButton("no such member")
    return member


@router.callback_query(TmMember.filter(), flags=ADMIN_FLAGS)
async def member_card(
    query: CallbackQuery,
    callback_data: TmMember,
    account: Account,
    role: Role,
    accounts: AccountService,
) -> None:
    member = await other_member(accounts, account, callback_data.user)
    await show(query, *member_view(member, role))


@router.callback_query(TmOwner.filter(), flags=OWNER_FLAGS)
@router.callback_query(TmRole.filter(), flags=ADMIN_FLAGS)
@router.callback_query(TmRemove.filter(), flags=ADMIN_FLAGS)
async def ask_member_change(
    query: CallbackQuery,
    callback_data: TmOwner | TmRole | TmRemove,
    accounts: AccountService,
    **data: Any,
) -> None:
    """Ownership, another role or removal, asked in place of the member's card."""
    member = await other_member(accounts, data["account"], callback_data.user)
    name, payload = who(member), {"user": str(member.user_id)}
    if isinstance(callback_data, TmOwner):
        action = "tmown"
        question = _(
            "Hand the account over to {name}? They become its owner, and you an admin: only "
            "the owner replaces the password or disconnects the account."
        ).format(name=name)
    elif isinstance(callback_data, TmRole):
        if callback_data.role not in set(GIVEN_ROLES):
            raise StaleButton("no such role")
        new = Role(callback_data.role)
        action, payload["role"] = "tmrole", new.key
        question = _("Change the role of {name} to {role}?").format(name=name, role=role_name(new))
    else:
        action = "tmrm"
        question = _("Remove {name} from the team? They lose access at once.").format(name=name)
    await ask_confirmation(
        query, data, action=action, payload=payload, question=question, in_place=True
    )


async def claimed(tap: Tap, kept: str) -> Confirmation | None:
    """The record of a Yes to a team change; a No says ``kept`` in place."""
    return await tap.claimed(lambda: show(tap.query, kept, None))


@router.callback_query(Cf.filter(), Asked("tmown"), flags=OWNER_FLAGS)
@router.callback_query(Cf.filter(), Asked("tmrole"), flags=ADMIN_FLAGS)
@router.callback_query(Cf.filter(), Asked("tmrm"), flags=ADMIN_FLAGS)
async def confirm_member_change(
    query: CallbackQuery, accounts: AccountService, **data: Any
) -> None:
    tap, account = Tap.of(query, data), data["account"]
    record = await claimed(tap, _("Nothing was changed."))
    if record is None:
        return
    user = int(record.payload["user"])
    markup: InlineKeyboardMarkup | None = back_keyboard()
    if record.action == "tmown":
        if await accounts.teams.repo.member(account.id, user) is None:
            await tap.confirmations.finish(record.id, "failed")
            await show(query, _("Not in the team any more."), None)
            return
        await accounts.teams.repo.set_owner(account.id, user)
        done, what, detail, markup = True, "team owner", None, None
        text = _("The account has a new owner; you are an admin now.")
    elif record.action == "tmrm":
        done = await accounts.leave(account.id, user)
        text = _("Removed from the team.") if done else _("Not in the team any more.")
        what, detail = "team remove", None
    else:
        done = await accounts.teams.repo.set_role(account.id, user, record.payload["role"])
        new = Role.of(record.payload["role"]) or Role.VIEWER
        text = _("The role is now {role}.").format(role=role_name(new))
        what, detail = "team role", new.key
    await tap.confirmations.finish(record.id, "done")
    await tap.audit.record(
        chat_of(query), query.from_user.id, what, str(user), "ok" if done else "none", detail
    )
    await show(query, text, markup)


@router.callback_query(TmLeave.filter(), flags={ACCOUNT_FLAG: True})
async def ask_leave(query: CallbackQuery, role: Role, **data: Any) -> None:
    await ask_to_leave(query, role, data)


async def ask_to_leave(event: CallbackQuery | Message, role: Role, data: Mapping[str, Any]) -> None:
    """Leaving the team, asked in a new message (the owner is told how to go instead);
    ``data``: the ``confirmations`` and the ``account``."""
    if role != Role.OWNER:
        question = _("Leave the team of {account}? You lose access to it.").format(
            account=account_name(data["account"])
        )
        await ask_confirmation(event, data, action="leave", payload={}, question=question)
        return
    text = _(
        "The owner cannot leave: disconnect the account with /logout, or make someone "
        "else the owner first."
    )
    if isinstance(event, Message):
        await event.answer(text)
    else:
        await send_to_chat(event, text)


@router.callback_query(Cf.filter(), Asked("leave"))
async def confirm_leave(query: CallbackQuery, accounts: AccountService, **data: Any) -> None:
    account = await accounts.repo.get(chat_of(query))
    tap = Tap.of(query, data | {"account": account})
    # Only the person leaving answers this, whatever anyone else's role.
    if tap.asked.asked_by != query.from_user.id:
        raise NotTheAsker
    record = await claimed(tap, _("You stay in the team."))
    if record is None or account is None:
        return
    await tap.audit.record(chat_of(query), query.from_user.id, "team leave", "", "ok")
    await accounts.leave(account.id, query.from_user.id)
    await tap.confirmations.finish(record.id, "done")
    await show(query, _("You left the team. Its account is no longer available to you."), None)
