"""bot.storage.notify on both engines: what keeps a blocked chat blocked and forgets an account
no chat is on any more (portable SQL, on a real PostgreSQL too)."""

from __future__ import annotations

from bot.storage.engine import Database, connection_of
from bot.storage.notify import NotifyRepo, Sub
from tests.scale.test_storage_engines import db, engine  # noqa: F401 (fixtures)

GROUP = -1001234567890  # a supergroup's id: past 32 bits


async def test_a_blocked_chat_is_kept_until_it_is_unblocked(db: Database) -> None:  # noqa: F811
    repo = NotifyRepo(connection_of(db))
    await repo.set_sub(Sub(GROUP, "smsc.ru|alice", "balance", True, "500.00", None, 1.0))
    await repo.enqueue(GROUP, "{}", 1.0)
    await repo.drop_chat(GROUP, 2.0)
    await repo.drop_chat(GROUP, 3.0)  # a second 403 for the same chat
    assert await repo.blocked_chats() == {GROUP}
    assert await repo.subs_of(GROUP, "smsc.ru|alice") == {} and await repo.outbox() == []
    await repo.unblock_chat(GROUP)
    assert await repo.blocked_chats() == set()


async def test_forgetting_an_account_leaves_the_others(db: Database) -> None:  # noqa: F811
    repo = NotifyRepo(connection_of(db))
    for account in ("smsc.ru|alice", "smsc.ru|bob"):
        await repo.set_sub(Sub(1, account, "balance", True, "500.00", None, 1.0))
        await repo.set_watch(account, "balance", True)
        await repo.follow(account, 10.0, 20.0)
        await repo.set_balance_armed(account, "500.00", False)
        await repo.save_figures(account, "daily:2026-03-01", "{}")
    await repo.forget_account("smsc.ru|alice")
    assert [f.account for f in await repo.followed()] == ["smsc.ru|bob"]
    assert await repo.watched("smsc.ru|alice") == set()
    assert await repo.balance_armed("smsc.ru|alice", "500.00") is None
    assert await repo.figures("smsc.ru|alice", "daily:2026-03-01") is None
    assert await repo.watched("smsc.ru|bob") == {"balance"}
