"""/login (a conversation and one-line forms), /logout, /balance, and teams (/team, /link,
/unlink, /audit, invitations).

``data`` holds the states and button data, ``views`` the texts and keyboards; the handlers are
``login`` (the conversation), ``session`` (log-out, balance), ``team``, ``invite`` (team
invitations and joining), ``link`` (group chats) and ``audit``.
"""

from __future__ import annotations

from aiogram import Router

from handlers.account import audit, invite, link, login, session, team
from handlers.account.data import LOGIN_STATES, LoginForm, LoginMethod, LoginSite

__all__ = ["LOGIN_STATES", "LoginForm", "LoginMethod", "LoginSite", "router"]

router = Router(name="account")
router.include_routers(
    login.router, session.router, team.router, invite.router, link.router, audit.router
)
