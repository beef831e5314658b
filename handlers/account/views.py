"""Texts and keyboards of the log-in and of teams; no SMSC calls."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Final

from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup
from aiogram.utils.i18n import gettext as _

from bot.accounts import (
    DEMO_SITE,
    SITES,
    AccountService,
    LoginResult,
)
from bot.errors import role_name
from bot.i18n import fmt_money, fmt_when
from bot.services.teams import GIVEN_ROLES, Refused, Role
from bot.storage.accounts import Account
from bot.storage.teams import Member
from bot.text import clip
from bot.ui import account_text, button, esc, keyboard, rows
from handlers.account.data import (
    LoginMethod,
    LoginSite,
    TmGroup,
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
from handlers.common import home_row


def sites_keyboard(demo: bool) -> InlineKeyboardMarkup:
    buttons = [
        InlineKeyboardButton(text=site, callback_data=LoginSite(site=site).pack()) for site in SITES
    ]
    if demo:
        buttons.append(
            InlineKeyboardButton(
                text=_("Demo account"), callback_data=LoginSite(site=DEMO_SITE).pack()
            )
        )
    return InlineKeyboardMarkup(inline_keyboard=rows(buttons))


def method_keyboard() -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        inline_keyboard=[
            [
                InlineKeyboardButton(
                    text=_("Login and password"), callback_data=LoginMethod(apikey=False).pack()
                ),
                InlineKeyboardButton(
                    text=_("API key"), callback_data=LoginMethod(apikey=True).pack()
                ),
            ]
        ]
    )


def not_a_login_text() -> str:
    return _(
        "This does not look like a login, so I deleted it: it may have been your password. "
        "A login is one word of Latin letters, digits and the signs _ . - @. "
        "Send the login alone."
    )


def logged_in_text(result: LoginResult) -> str:
    return _("Logged in {account}.\nBalance: <b>{balance}</b>").format(
        account=account_text(result.account.login, result.account.site),
        balance=esc(fmt_money(result.balance.balance, result.balance.currency)),
    )


# -- teams (team.py, invite.py, link.py)


def who(member: Member) -> str:
    return esc(member.name or str(member.user_id))


def account_name(account: Account) -> str:
    return esc(account.login or _("API key"))


# The payload of the group picker's /start: LINK_PREFIX + the role's key.
LINK_PREFIX: Final = "link_"


def back_keyboard() -> InlineKeyboardMarkup:
    """Back to the team."""
    return keyboard([button(_("Back"), TmList())])


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
            [button(clip(m.name, 24) or str(m.user_id), TmMember(user=m.user_id))]
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
        rows.append([button(_("Invite"), TmInvite(role=0)), button(_("Add to a group"), TmGroup())])
    if mine is not None and mine.role != Role.OWNER.key:
        rows.append([button(_("Leave the team"), TmLeave())])
    if account.chat_id == user_id:
        # A private chat works with one account at a time: the person's other teams.
        for other in await accounts.teams.repo.memberships(user_id):
            found = await accounts.repo.get_by_id(other.account_id)
            if found is not None and found.id != account.id:
                label = _("Switch to {login}").format(login=clip(found.login or _("API key"), 10))
                rows.append([button(label, TmSwitch(account=found.id))])
    rows.append(home_row())
    return "\n".join(lines), InlineKeyboardMarkup(inline_keyboard=rows)


def member_view(member: Member, role: Role) -> tuple[str, InlineKeyboardMarkup]:
    """A member's card as someone of ``role`` sees it: other roles, removal, ownership."""
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
    return text, keyboard(roles, 3, *rows, [button(_("Back"), TmList())])


def invite_roles_keyboard() -> InlineKeyboardMarkup:
    roles = [button(role_name(given).capitalize(), TmInvite(role=given)) for given in GIVEN_ROLES]
    return keyboard(roles, 3, [button(_("Back"), TmList())])


def group_link_view(username: str) -> tuple[str, InlineKeyboardMarkup]:
    """Adding the bot to a group by Telegram's group picker, the group's role chosen first."""
    text = _(
        "Which role do the group's members get? Then pick the group in Telegram: the bot joins it "
        "and links it to this account (team members with a higher role keep theirs). Let the bot "
        "delete messages there, so that it can remove a password someone types by mistake."
    )
    links = [
        InlineKeyboardButton(
            text=role_name(given).capitalize(),
            url=f"https://t.me/{username}?startgroup={LINK_PREFIX}{given.key}"
            "&admin=delete_messages",
        )
        for given in GIVEN_ROLES
    ]
    return text, keyboard(links, 3, [button(_("Back"), TmList())])


def join_refused_text(result: Refused) -> str:
    """Why an invitation's link did not make the person a member."""
    texts = {
        "member": _("You are already in this team; this chat now works with its account."),
        "used": _("This invitation was already used. Ask for a new one."),
        "revoked": _("This invitation was revoked. Ask for a new one."),
        "expired": _("This invitation has expired. Ask for a new one."),
    }
    return texts.get(result, _("This invitation is not valid. Ask for a new one."))
