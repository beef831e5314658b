"""/stats [login]: what each subclient sent, spent and was credited in a period, with a
per-operator breakdown; tables too long for one message also come as a CSV file.

``data`` holds the state and button data, ``views`` the texts and the report layout, ``reports``
what is read from SMSC for a report, ``browse`` the handlers.
"""

from __future__ import annotations

from aiogram import Router

from handlers.stats import browse

router = Router(name="stats")
router.include_routers(browse.router)
