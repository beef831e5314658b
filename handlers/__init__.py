"""One aiogram router per feature; ``get_routers`` gives them in the order they must be tried."""

from __future__ import annotations

from aiogram import Router


def get_routers() -> list[Router]:
    from handlers import (
        account,
        blacklist,
        confirm,
        contacts,
        fallback,
        groups,
        language,
        notify,
        number,
        senders,
        start,
        stats,
        subclients,
        templates,
    )

    # Feature routers take their own confirmations; what is left of them goes to confirm's.
    # The fallback router catches everything, so it must stay last.
    # account before start: its deep links (/start login, /start j<invitation>) are /start too.
    routers = [
        account.router,
        start.router,
        language.router,
        number.router,
        contacts.router,
        groups.router,
        blacklist.router,
        senders.router,
        templates.router,
        subclients.router,
        stats.router,
        notify.router,
        confirm.router,
        fallback.router,
    ]
    for router in routers:
        _detach(router)
    return routers


def _detach(router: Router) -> None:
    """Routers are module-level singletons, and aiogram attaches a router to one parent only;
    a process that builds a second dispatcher (tests, an in-process restart) takes them back."""
    parent = router.parent_router
    if parent is not None:
        parent.sub_routers.remove(router)
        # aiogram has no public way to detach a router.
        router._parent_router = None
