"""/stats [login] [period]: the account's own messages and spend in a period and, for resellers,
what each subclient sent, spent and was credited, with a per-operator breakdown; trend and spend
charts as pictures; the tables as CSV or Excel. /history <number>: what was sent to a number.

``data`` holds the state and button data, ``views`` the texts, files and report layout,
``reports`` what is read from SMSC for a report; the handlers: ``browse`` (the command, periods,
reports), ``pictures`` (charts and exports), ``history`` (a number's messages).
"""

from __future__ import annotations

from aiogram import Router

from handlers.stats import browse, history, pictures

router = Router(name="stats")
router.include_routers(browse.router, pictures.router, history.router)
