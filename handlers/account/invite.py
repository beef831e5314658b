"""Team invitations: choosing the role, the single-use link, revoking it, and joining by the link
(a /start deep link)."""

from __future__ import annotations

from datetime import UTC, datetime

from aiogram import Bot, F, Router
from aiogram.enums import ChatType
from aiogram.filters import CommandObject, CommandStart
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import gettext as _

from bot.accounts import AccountService
from bot.errors import StaleButton, role_name
from bot.i18n import fmt_when
from bot.middlewares import ADMIN_FLAGS
from bot.services.teams import GIVEN_ROLES, INVITE_PREFIX, Joined, Role
from bot.storage.accounts import Account
from bot.storage.audit import AuditLog
from bot.ui import chat_of, esc
from bot.ui import show_in_place as show
from handlers.account.data import TmInvite, TmRevoke
from handlers.account.views import (
    account_name,
    back_keyboard,
    invite_roles_keyboard,
    join_refused_text,
    team_view,
)

router = Router(name="account.invite")


async def start_link(bot: Bot, payload: str) -> str:
    """A deep link that opens the private chat with the bot and sends /start ``payload``."""
    me = await bot.me()
    return f"https://t.me/{me.username}?start={payload}"


@router.callback_query(TmInvite.filter(F.role == 0), flags=ADMIN_FLAGS)
async def choose_invite_role(query: CallbackQuery) -> None:
    await show(query, _("Invite as which role?"), invite_roles_keyboard())


@router.callback_query(TmInvite.filter(F.role != 0), flags=ADMIN_FLAGS)
async def invite(
    query: CallbackQuery,
    callback_data: TmInvite,
    account: Account,
    accounts: AccountService,
    audit: AuditLog,
    bot: Bot,
) -> None:
    if callback_data.role not in set(GIVEN_ROLES):
        raise StaleButton("no such role")
    role = Role(callback_data.role)
    payload, invitation = await accounts.teams.invite(account.id, role, query.from_user.id)
    link = await start_link(bot, payload)
    await audit.record(chat_of(query), query.from_user.id, "team invite", role.key, "ok")
    until = datetime.fromtimestamp(invitation.expires_at, UTC)
    await show(
        query,
        _(
            "Send this link to your colleague: it makes them {role} of this team, once, until "
            "{when}. Nobody needs the password.\n\n{link}"
        ).format(role=role_name(role), when=fmt_when(until), link=esc(link)),
        back_keyboard(),
    )


@router.callback_query(TmRevoke.filter(), flags=ADMIN_FLAGS)
async def revoke(
    query: CallbackQuery,
    callback_data: TmRevoke,
    account: Account,
    role: Role,
    accounts: AccountService,
    audit: AuditLog,
) -> None:
    done = await accounts.teams.repo.revoke(callback_data.id, account.id, accounts.teams.clock())
    await audit.record(
        chat_of(query),
        query.from_user.id,
        "team revoke",
        str(callback_data.id),
        "ok" if done else "none",
    )
    text, markup = await team_view(account, role, accounts, query.from_user.id)
    note = _("The invitation is revoked.") if done else _("This invitation is no longer open.")
    await show(query, f"{note}\n\n{text}", markup)


@router.message(CommandStart(deep_link=True, magic=F.args.startswith(INVITE_PREFIX)))
async def join(
    message: Message, command: CommandObject, accounts: AccountService, audit: AuditLog
) -> None:
    if message.chat.type != ChatType.PRIVATE or message.from_user is None:
        await message.answer(_("Open an invitation in a private chat with me."))
        return
    user = message.from_user
    result = await accounts.teams.accept(command.args or "", user.id, user.full_name)
    if not isinstance(result, Joined):
        await message.answer(join_refused_text(result))
        return
    account = await accounts.repo.get_by_id(result.account_id)
    await audit.record(message.chat.id, user.id, "team join", result.role.key, "ok")
    await message.answer(
        _("You joined the team of <b>{account}</b> as {role}. /help lists what I can do.").format(
            account=account_name(account) if account else "", role=role_name(result.role)
        )
    )
