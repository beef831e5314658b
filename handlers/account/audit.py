"""/audit: the account's latest changes, who made them and where, paged."""

from __future__ import annotations

from typing import Any

from aiogram import Router
from aiogram.filters import Command
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import gettext as _

from bot.i18n import fmt_when
from bot.middlewares import ADMIN_FLAGS
from bot.storage.accounts import Account
from bot.storage.audit import AuditEntry, AuditLog
from bot.ui import button, esc, keyboard
from bot.ui import show_in_place as show
from handlers.account.data import AuPage
from handlers.common import home_button, home_row

router = Router(name="account.audit")

AUDIT_PAGE = 20


def entry_line(entry: AuditEntry) -> str:
    name = esc(entry.user_name or (str(entry.user_id) if entry.user_id else "?"))
    parts = [f"{fmt_when(entry.at)}", name, esc(entry.action)]
    if entry.target:
        parts.append(esc(entry.target))
    parts.append(esc(entry.result))
    chat = _("private chat") if entry.chat_id > 0 else _("group {id}").format(id=entry.chat_id)
    return " · ".join(parts) + f" ({chat})"


async def audit_view(account: Account, audit: AuditLog, before: int | None) -> tuple[str, Any]:
    entries = await audit.of_account(account.id, AUDIT_PAGE + 1, before)
    more = len(entries) > AUDIT_PAGE
    entries = entries[:AUDIT_PAGE]
    if not entries:
        return _("No changes are recorded for this account yet."), keyboard([], 1, home_row())
    text = "\n".join([_("Latest changes, newest first:"), *map(entry_line, entries)])
    older = [button(_("Older"), AuPage(before=entries[-1].id))] if more else []
    return text, keyboard([], 1, [*older, home_button()])


@router.message(Command("audit"), flags=ADMIN_FLAGS)
async def cmd_audit(message: Message, account: Account, audit: AuditLog) -> None:
    text, markup = await audit_view(account, audit, None)
    await message.answer(text, reply_markup=markup)


@router.callback_query(AuPage.filter(), flags=ADMIN_FLAGS)
async def audit_page(
    query: CallbackQuery, callback_data: AuPage, account: Account, audit: AuditLog
) -> None:
    text, markup = await audit_view(account, audit, callback_data.before)
    await show(query, text, markup)
