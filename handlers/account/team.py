"""Teams: /team (members, roles, invitations, removal, leaving, ownership) and joining by an
invitation's deep link. Every change is confirmed through a record; the role each needs is
checked again at the tap, with the role of whoever tapped."""

from __future__ import annotations

import time
from datetime import UTC, datetime

from aiogram import Bot, F, Router
from aiogram.enums import ChatMemberStatus, ChatType
from aiogram.exceptions import TelegramAPIError
from aiogram.filters import Command, CommandObject, CommandStart
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import gettext as _

from bot.accounts import AccountService, NotTheAsker
from bot.errors import StaleButton, role_name
from bot.i18n import fmt_when
from bot.middlewares import ACCOUNT_FLAG, ADMIN_FLAGS, ROLE_FLAG
from bot.services.confirmations import CHANGE_TTL, ConfirmationService, account_key
from bot.services.teams import GIVEN_ROLES, INVITE_PREFIX, Joined, Role
from bot.storage.accounts import Account
from bot.storage.audit import AuditLog
from bot.storage.confirmations import Confirmation
from bot.storage.teams import Member
from bot.ui import Cf, button, chat_of, confirm_keyboard, esc, keyboard
from bot.ui import show_in_place as show
from handlers.account.data import (
    TmInvite,
    TmLeave,
    TmList,
    TmMember,
    TmOwner,
    TmRemove,
    TmRevoke,
    TmRole,
    TmSwitch,
)
from handlers.common import Menu, with_home
from handlers.confirm import Asked, cancel, claim

router = Router(name="account.team")


OWNER_FLAGS = {ACCOUNT_FLAG: True, ROLE_FLAG: Role.OWNER}


def who(member: Member) -> str:
    return esc(member.name or str(member.user_id))


def account_name(account: Account) -> str:
    return esc(account.login or _("API key"))


async def start_link(bot: Bot, payload: str) -> str:
    """A deep link that opens the private chat with the bot and sends /start ``payload``."""
    me = await bot.me()
    return f"https://t.me/{me.username}?start={payload}"


# -- /team ---------------------------------------------------------------------------------------


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


async def team_view(
    account: Account, role: Role, accounts: AccountService, user_id: int
) -> tuple[str, InlineKeyboardMarkup]:
    """The team as ``user_id`` sees it in the chat of ``account``."""
    members = await accounts.teams.repo.members(account.id)
    mine = next((m for m in members if m.user_id == user_id), None)
    lines = [
        _("Team of <b>{account}</b> on {site}. Your role: {role}.").format(
            account=account_name(account), site=esc(account.site), role=role_name(role)
        ),
        "",
    ]
    lines += [f"{who(m)} — {role_name(Role.of(m.role) or Role.VIEWER)}" for m in members]
    rows: list[list[InlineKeyboardButton]] = []
    if role >= Role.ADMIN:
        rows += [
            [button(m.name[:24] or str(m.user_id), TmMember(user=m.user_id))]
            for m in members
            if m.role != Role.OWNER.key
        ]
        invitations = await accounts.teams.repo.open_invitations(account.id, accounts.teams.clock())
        if invitations:
            lines += ["", _("Open invitations:")]
            for invitation in invitations:
                given = role_name(Role.of(invitation.role) or Role.VIEWER)
                until = datetime.fromtimestamp(invitation.expires_at, UTC)
                lines.append(
                    _("{role}, valid until {when}").format(role=given, when=fmt_when(until))
                )
                rows.append(
                    [button(_("Revoke: {role}").format(role=given), TmRevoke(id=invitation.id))]
                )
        rows.append([button(_("Invite"), TmInvite(role=0))])
    if mine is not None and mine.role != Role.OWNER.key:
        rows.append([button(_("Leave the team"), TmLeave())])
    if account.chat_id == user_id:
        # A private chat works with one account at a time: the person's other teams.
        for other in await accounts.teams.repo.memberships(user_id):
            found = await accounts.repo.get_by_id(other.account_id)
            if found is not None and found.id != account.id:
                label = _("Switch to {login}").format(login=(found.login or _("API key"))[:10])
                rows.append([button(label, TmSwitch(account=found.id))])
    return "\n".join(lines), InlineKeyboardMarkup(inline_keyboard=rows)


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
    text, markup = await team_view(account, role, accounts, query.from_user.id)
    await show(query, text, with_home(markup))


@router.callback_query(TmList.filter(), flags={ACCOUNT_FLAG: True})
async def back_to_team(
    query: CallbackQuery, account: Account, role: Role, accounts: AccountService
) -> None:
    text, markup = await team_view(account, role, accounts, query.from_user.id)
    await show(query, text, markup)


@router.callback_query(TmMember.filter(), flags=ADMIN_FLAGS)
async def member_card(
    query: CallbackQuery,
    callback_data: TmMember,
    account: Account,
    role: Role,
    accounts: AccountService,
) -> None:
    member = await accounts.teams.repo.member(account.id, callback_data.user)
    if member is None or member.role == Role.OWNER.key:
        raise StaleButton("no such member")
    text = _("{name}: {role}. Change the role or remove from the team?").format(
        name=who(member), role=role_name(Role.of(member.role) or Role.VIEWER)
    )
    roles = [
        button(role_name(given).capitalize(), TmRole(user=member.user_id, role=given))
        for given in GIVEN_ROLES
        if given.key != member.role
    ]
    rows = [[button(_("Remove from team"), TmRemove(user=member.user_id))]]
    if role == Role.OWNER:
        rows.append([button(_("Make owner"), TmOwner(user=member.user_id))])
    markup = keyboard(roles, 3, *rows, [button(_("Back"), TmList())])
    await show(query, text, markup)


@router.callback_query(TmOwner.filter(), flags=OWNER_FLAGS)
async def ask_owner(
    query: CallbackQuery,
    callback_data: TmOwner,
    account: Account,
    accounts: AccountService,
    confirmations: ConfirmationService,
) -> None:
    member = await accounts.teams.repo.member(account.id, callback_data.user)
    if member is None or member.role == Role.OWNER.key:
        raise StaleButton("no such member")
    await ask(
        query,
        confirmations,
        account,
        "tmown",
        {"user": str(member.user_id)},
        _(
            "Hand the account over to {name}? They become its owner, and you an admin: only "
            "the owner replaces the password or disconnects the account."
        ).format(name=who(member)),
    )


@router.callback_query(Cf.filter(), Asked("tmown"), flags=OWNER_FLAGS)
async def confirm_owner(
    query: CallbackQuery,
    callback_data: Cf,
    asked: Confirmation,
    account: Account,
    accounts: AccountService,
    confirmations: ConfirmationService,
    audit: AuditLog,
) -> None:
    if not callback_data.yes:
        if await cancel(query, asked, confirmations):
            await show(query, _("Nothing was changed."), None)
        return
    record = await claim(query, asked, confirmations, account)
    if record is None:
        return
    user = int(record.payload["user"])
    if await accounts.teams.repo.member(account.id, user) is None:
        await confirmations.finish(record.id, "failed")
        await show(query, _("Not in the team any more."), None)
        return
    await accounts.teams.repo.set_owner(account.id, user)
    await confirmations.finish(record.id, "done")
    await audit.record(chat_of(query), query.from_user.id, "team owner", str(user), "ok")
    await show(query, _("The account has a new owner; you are an admin now."), None)


@router.callback_query(TmRole.filter(), flags=ADMIN_FLAGS)
async def ask_role(
    query: CallbackQuery,
    callback_data: TmRole,
    account: Account,
    accounts: AccountService,
    confirmations: ConfirmationService,
) -> None:
    member = await accounts.teams.repo.member(account.id, callback_data.user)
    new = Role(callback_data.role) if callback_data.role in set(GIVEN_ROLES) else None
    if member is None or member.role == Role.OWNER.key or new is None:
        raise StaleButton("no such member or role")
    await ask(
        query,
        confirmations,
        account,
        "tmrole",
        {"user": str(member.user_id), "role": new.key},
        _("Change the role of {name} to {role}?").format(name=who(member), role=role_name(new)),
    )


@router.callback_query(TmRemove.filter(), flags=ADMIN_FLAGS)
async def ask_remove(
    query: CallbackQuery,
    callback_data: TmRemove,
    account: Account,
    accounts: AccountService,
    confirmations: ConfirmationService,
) -> None:
    member = await accounts.teams.repo.member(account.id, callback_data.user)
    if member is None or member.role == Role.OWNER.key:
        raise StaleButton("no such member")
    await ask(
        query,
        confirmations,
        account,
        "tmrm",
        {"user": str(member.user_id)},
        _("Remove {name} from the team? They lose access at once.").format(name=who(member)),
    )


@router.callback_query(TmLeave.filter(), flags={ACCOUNT_FLAG: True})
async def ask_leave(
    query: CallbackQuery, account: Account, role: Role, confirmations: ConfirmationService
) -> None:
    await ask_to_leave(query, account, role, confirmations)


async def ask_to_leave(
    event: CallbackQuery | Message, account: Account, role: Role, confirmations: ConfirmationService
) -> None:
    if role == Role.OWNER:
        text = _(
            "The owner cannot leave: disconnect the account with /logout, or make someone "
            "else the owner first."
        )
    else:
        text = _("Leave the team of {account}? You lose access to it.").format(
            account=account_name(account)
        )
    message = event.message if isinstance(event, CallbackQuery) else event
    if not isinstance(message, Message):
        return
    if role == Role.OWNER:
        await message.answer(text)
        return
    record_id = await confirmations.ask(
        chat_id=message.chat.id,
        account=account_key(account),
        action="leave",
        payload={},
        asked_by=event.from_user.id if event.from_user else None,
        ttl=CHANGE_TTL,
    )
    await message.answer(text, reply_markup=confirm_keyboard(record_id))


async def ask(
    query: CallbackQuery,
    confirmations: ConfirmationService,
    account: Account,
    action: str,
    payload: dict[str, str],
    question: str,
) -> None:
    record_id = await confirmations.ask(
        chat_id=chat_of(query),
        account=account_key(account),
        action=action,
        payload=payload,
        asked_by=query.from_user.id,
        ttl=CHANGE_TTL,
    )
    await show(query, question, confirm_keyboard(record_id))


@router.callback_query(Cf.filter(), Asked("tmrole"), flags=ADMIN_FLAGS)
@router.callback_query(Cf.filter(), Asked("tmrm"), flags=ADMIN_FLAGS)
async def confirm_member_change(
    query: CallbackQuery,
    callback_data: Cf,
    asked: Confirmation,
    account: Account,
    accounts: AccountService,
    confirmations: ConfirmationService,
    audit: AuditLog,
) -> None:
    if not callback_data.yes:
        if await cancel(query, asked, confirmations):
            await show(query, _("Nothing was changed."), None)
        return
    record = await claim(query, asked, confirmations, account)
    if record is None:
        return
    user = int(record.payload["user"])
    if record.action == "tmrm":
        done = await accounts.leave(account.id, user)
        text = _("Removed from the team.") if done else _("Not in the team any more.")
        what, detail = "team remove", None
    else:
        done = await accounts.teams.repo.set_role(account.id, user, record.payload["role"])
        new = Role.of(record.payload["role"]) or Role.VIEWER
        text = _("The role is now {role}.").format(role=role_name(new))
        what, detail = "team role", new.key
    await confirmations.finish(record.id, "done")
    await audit.record(
        chat_of(query), query.from_user.id, what, str(user), "ok" if done else "none", detail
    )
    await show(query, text, keyboard([button(_("Back"), TmList())]))


@router.callback_query(Cf.filter(), Asked("leave"))
async def confirm_leave(
    query: CallbackQuery,
    callback_data: Cf,
    asked: Confirmation,
    accounts: AccountService,
    confirmations: ConfirmationService,
    audit: AuditLog,
) -> None:
    # Only the person leaving answers this, whatever anyone else's role.
    if asked.asked_by != query.from_user.id:
        raise NotTheAsker
    if not callback_data.yes:
        if await cancel(query, asked, confirmations):
            await show(query, _("You stay in the team."), None)
        return
    account = await accounts.repo.get(chat_of(query))
    record = await claim(query, asked, confirmations, account)
    if record is None or account is None:
        return
    await audit.record(chat_of(query), query.from_user.id, "team leave", "", "ok")
    await accounts.leave(account.id, query.from_user.id)
    await confirmations.finish(record.id, "done")
    await show(query, _("You left the team. Its account is no longer available to you."), None)


# -- invitations ---------------------------------------------------------------------------------


@router.callback_query(TmInvite.filter(F.role == 0), flags=ADMIN_FLAGS)
async def choose_invite_role(query: CallbackQuery) -> None:
    roles = [button(role_name(given).capitalize(), TmInvite(role=given)) for given in GIVEN_ROLES]
    await show(
        query,
        _("Invite as which role?"),
        keyboard(roles, 3, [button(_("Back"), TmList())]),
    )


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
        keyboard([button(_("Back"), TmList())]),
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
    if isinstance(result, Joined):
        account = await accounts.repo.get_by_id(result.account_id)
        await audit.record(message.chat.id, user.id, "team join", result.role.key, "ok")
        await message.answer(
            _(
                "You joined the team of <b>{account}</b> as {role}. /help lists what I can do."
            ).format(account=account_name(account) if account else "", role=role_name(result.role))
        )
        return
    texts = {
        "member": _("You are already in this team; this chat now works with its account."),
        "used": _("This invitation was already used. Ask for a new one."),
        "revoked": _("This invitation was revoked. Ask for a new one."),
        "expired": _("This invitation has expired. Ask for a new one."),
    }
    await message.answer(texts.get(result, _("This invitation is not valid. Ask for a new one.")))
