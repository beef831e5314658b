"""Group chats: /link (a confirmation only its asker answers), /unlink, and the link dropped when
the bot is removed from the group."""

from __future__ import annotations

from typing import Any

from aiogram import Bot, F, Router
from aiogram.enums import ChatType
from aiogram.filters import (
    LEAVE_TRANSITION,
    ChatMemberUpdatedFilter,
    Command,
    CommandObject,
    CommandStart,
)
from aiogram.types import CallbackQuery, ChatMemberUpdated, Message
from aiogram.utils.i18n import gettext as _

from bot.accounts import AccountService, NotLoggedIn, NotTheAsker, RoleTooLow
from bot.errors import role_name
from bot.middlewares import ADMIN_FLAGS
from bot.services.confirmations import ConfirmationService
from bot.services.teams import GIVEN_ROLES, Role
from bot.storage.accounts import Account
from bot.storage.audit import AuditLog
from bot.storage.confirmations import Confirmation
from bot.ui import Cf, chat_of, esc
from bot.ui import show_in_place as show
from handlers.account.data import TmGroup
from handlers.account.views import LINK_PREFIX, account_name, group_link_view
from handlers.confirm import Asked, Tap, ask_confirmation

router = Router(name="account.link")


def group_roles() -> dict[str, Role]:
    return {role.key: role for role in GIVEN_ROLES} | {
        role_name(role).lower(): role for role in GIVEN_ROLES
    }


async def admins_account(user_id: int, accounts: AccountService) -> Account:
    """The account a person works with privately, where they must be the owner or an admin."""
    link, role = await accounts.teams.role(user_id, user_id)
    account = None if link is None else await accounts.repo.get_by_id(link.account_id)
    if account is None or role is None:
        raise NotLoggedIn
    if role < Role.ADMIN:
        raise RoleTooLow(Role.ADMIN, role)
    return account


@router.message(Command("link"))
async def cmd_link(
    message: Message,
    command: CommandObject,
    accounts: AccountService,
    confirmations: ConfirmationService,
    bot: Bot,
) -> None:
    user = message.from_user
    if user is None:
        return
    account = await admins_account(user.id, accounts)
    if message.chat.type == ChatType.PRIVATE:
        # Privately, the way to a group is Telegram's group picker (as Team → Add to a group).
        me = await bot.me()
        text, markup = group_link_view(me.username or "")
        await message.answer(text, reply_markup=markup)
        return
    given = group_roles().get((command.args or "viewer").strip().lower())
    if given is None:
        await message.answer(
            esc(_("Use /link, /link operator or /link admin: the role the group's members get."))
        )
        return
    await ask_confirmation(
        message,
        {"confirmations": confirmations, "account": account},
        action="link",
        payload={"account": str(account.id), "role": given.key},
        question=_(
            "Link this group to the SMSC account <b>{account}</b>? Everyone here will act as "
            "{role} (team members with a higher role keep it). Only {name} can answer."
        ).format(account=account_name(account), role=role_name(given), name=esc(user.full_name)),
    )


@router.callback_query(TmGroup.filter(), flags=ADMIN_FLAGS)
async def choose_group_role(query: CallbackQuery, bot: Bot) -> None:
    me = await bot.me()
    await show(query, *group_link_view(me.username or ""))


@router.message(
    CommandStart(deep_link=True, magic=F.args.startswith(LINK_PREFIX)),
    F.chat.type != ChatType.PRIVATE,
)
async def added_by_link(
    message: Message, command: CommandObject, accounts: AccountService, audit: AuditLog
) -> None:
    """Added through the group picker of /team: the person who added the bot chose the group and
    the role in one go, so the link is made at once (their role is checked now, not then)."""
    user = message.from_user
    if user is None:
        return
    account = await admins_account(user.id, accounts)
    given = Role.of((command.args or "").removeprefix(LINK_PREFIX))
    if given is None or given not in GIVEN_ROLES:
        given = Role.VIEWER
    await linked(message.chat.id, account, given, user.id, accounts, audit)
    await message.answer(linked_text(account, given))


@router.callback_query(Cf.filter(), Asked("link"))
async def confirm_link(query: CallbackQuery, accounts: AccountService, **data: Any) -> None:
    asked: Confirmation = data["asked"]
    if asked.asked_by != query.from_user.id:
        raise NotTheAsker
    account_id = int(asked.payload["account"])
    account = await accounts.repo.get_by_id(account_id)
    tap = Tap.of(query, data | {"account": account})
    if tap.callback_data.yes:
        # Checked again at the tap: the person may have lost the role since.
        member = await accounts.teams.repo.member(account_id, query.from_user.id)
        role = Role.of(member.role) if member else None
        if role is None or role < Role.ADMIN:
            raise RoleTooLow(Role.ADMIN, role or Role.VIEWER)
    record = await tap.claimed(lambda: show(query, _("The group was not linked."), None))
    if record is None or account is None:
        return
    given = Role.of(record.payload["role"]) or Role.VIEWER
    await linked(chat_of(query), account, given, query.from_user.id, accounts, tap.audit)
    await tap.confirmations.finish(record.id, "done")
    await show(query, linked_text(account, given), None)


async def linked(
    chat_id: int, account: Account, given: Role, by: int, accounts: AccountService, audit: AuditLog
) -> None:
    await accounts.teams.repo.link(chat_id, account.id, given.key, by)
    await audit.record(chat_id, by, "group link", given.key, "ok")


def linked_text(account: Account, given: Role) -> str:
    return _("This group now works with <b>{account}</b>; its members act as {role}.").format(
        account=account_name(account), role=role_name(given)
    )


@router.message(Command("unlink"), flags=ADMIN_FLAGS)
async def cmd_unlink(message: Message, accounts: AccountService, audit: AuditLog) -> None:
    if message.chat.type == ChatType.PRIVATE or message.from_user is None:
        await message.answer(_("Send /unlink in the group to disconnect it from the account."))
        return
    await audit.record(message.chat.id, message.from_user.id, "group unlink", "", "ok")
    await accounts.teams.repo.unlink(message.chat.id)
    await message.answer(_("This group no longer works with the team's account."))


@router.my_chat_member(ChatMemberUpdatedFilter(LEAVE_TRANSITION))
async def bot_left(event: ChatMemberUpdated, accounts: AccountService, audit: AuditLog) -> None:
    """Removed from a group: the link goes, so adding the bot back later links nothing by itself."""
    if event.chat.type != ChatType.PRIVATE and await accounts.teams.repo.link_of(event.chat.id):
        await audit.record(event.chat.id, event.from_user.id, "group unlink", "", "bot removed")
        await accounts.teams.repo.unlink(event.chat.id)
