"""/login (a conversation and one-line forms), /logout, /balance.

``data`` holds the states and button data, ``views`` the texts and keyboards; the handlers are
``login`` (the conversation) and ``session`` (log-out, balance).
"""

from __future__ import annotations

from aiogram import Router

from handlers.account import login, session
from handlers.account.data import LOGIN_STATES, LoginForm, LoginMethod, LoginSite

__all__ = ["LOGIN_STATES", "LoginForm", "LoginMethod", "LoginSite", "router"]

router = Router(name="account")
router.include_routers(login.router, session.router)
