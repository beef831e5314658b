"""Routing costs: every filter runs on the event loop, none through a thread."""

from __future__ import annotations

from aiogram.dispatcher.event.handler import FilterObject

from tests.e2e.conftest import RunningBot
from tests.support.botapi import FakeTelegram


def filters_of(bot: RunningBot) -> list[FilterObject]:
    assert bot.app is not None
    return [
        found
        for router in bot.app.dp.chain_tail
        for observer in router.observers.values()
        for handler in [observer._handler, *observer.handlers]
        for found in handler.filters or ()
    ]


async def test_filters_run_on_the_event_loop_and_still_route(
    bot: RunningBot, fake_telegram: FakeTelegram
) -> None:
    # aiogram hands a filter that is a plain function (every F.text, F.data ...) to a thread: a
    # thread hop per filter tried, several per update; build_app makes them coroutines.
    filters = filters_of(bot)
    assert filters and all(found.awaitable for found in filters)
    user = fake_telegram.user(1301)
    await user.send("/help")
    assert "/balance" in (await user.expect_message()).text
    await user.send("no command here")
    assert (await user.expect_message()).text
    await user.send("/nosuchcommand")
    assert (await user.expect_message()).text
