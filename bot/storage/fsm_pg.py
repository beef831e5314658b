"""aiogram FSM storage on PostgreSQL, shared by replicas: every call reads or writes the table.

Unlike ``SQLiteStorage`` nothing is cached, since another replica may have moved the conversation
on. Each write is one statement; ``update_data`` merges in the database (``jsonb ||``, which is
``dict.update``), so two replicas updating one key at once both land. jsonb holds no U+0000,
which a user can type: strings are kept escaped (``to_jsonb``, ``from_jsonb``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Final

from aiogram.exceptions import DataNotDictLikeError
from aiogram.fsm.state import State
from aiogram.fsm.storage.base import BaseStorage, StateType, StorageKey

from bot.storage.engine import PostgresDatabase
from bot.storage.fsm import _decode, _encode, _key_params
from bot.storage.pg import NOW_TEXT

_KEY: Final = (
    "bot_id = $1 AND chat_id = $2 AND user_id = $3 AND thread_id IS NOT DISTINCT FROM $4"
    " AND business_connection_id IS NOT DISTINCT FROM $5 AND destiny = $6"
)
_COLUMNS: Final = "bot_id, chat_id, user_id, thread_id, business_connection_id, destiny"
_GET_STATE: Final = f"SELECT state FROM fsm_state WHERE {_KEY}"  # noqa: S608 (constants)
_GET_DATA: Final = f"SELECT data::text FROM fsm_state WHERE {_KEY}"  # noqa: S608
_SET_STATE: Final = f"""
    INSERT INTO fsm_state ({_COLUMNS}, state) VALUES ($1, $2, $3, $4, $5, $6, $7)
    ON CONFLICT ({_COLUMNS}) DO UPDATE SET state = excluded.state, updated_at = {NOW_TEXT}
"""  # noqa: S608
_SET_DATA: Final = f"""
    INSERT INTO fsm_state ({_COLUMNS}, data) VALUES ($1, $2, $3, $4, $5, $6, $7::jsonb)
    ON CONFLICT ({_COLUMNS}) DO UPDATE SET data = excluded.data, updated_at = {NOW_TEXT}
"""  # noqa: S608
_MERGE_DATA: Final = f"""
    INSERT INTO fsm_state ({_COLUMNS}, data) VALUES ($1, $2, $3, $4, $5, $6, $7::jsonb)
    ON CONFLICT ({_COLUMNS}) DO UPDATE
        SET data = fsm_state.data || excluded.data, updated_at = {NOW_TEXT}
    RETURNING data::text
"""  # noqa: S608
_CLEAR_STATE: Final = f"UPDATE fsm_state SET state = NULL, updated_at = {NOW_TEXT} WHERE {_KEY}"  # noqa: S608
_CLEAR_DATA: Final = f"UPDATE fsm_state SET data = '{{}}', updated_at = {NOW_TEXT} WHERE {_KEY}"  # noqa: S608
# Rows exist only for keys with a state or data, as in SQLiteStorage.
_DROP_EMPTY: Final = f"DELETE FROM fsm_state WHERE {_KEY} AND state IS NULL AND data = '{{}}'"  # noqa: S608
_CLEAR_CHAT: Final = "DELETE FROM fsm_state WHERE chat_id = $1 AND starts_with(state, $2)"


# In strings kept in jsonb: U+0000 as U+0001 U+0002, and U+0001 itself doubled, so any text
# comes back as it was. Strings holding neither (nearly all) are kept as they are.
_ESCAPE: Final = "\x01"
_STORED_NUL: Final = _ESCAPE + "\x02"


def to_jsonb(data: Mapping[str, Any]) -> str:
    """FSM data as JSON text that jsonb takes (``from_jsonb`` gives it back)."""
    text = _encode(data)
    # The encoder writes both characters as \u escapes: no escapes, nothing to do.
    if "\\u0000" not in text and "\\u0001" not in text:
        return text
    return _encode(_mapped(dict(data), _escape))


def from_jsonb(text: str) -> dict[str, Any]:
    """The FSM data ``to_jsonb`` stored."""
    data = _decode(text)
    if "\\u0001" not in text:
        return data
    unescaped: dict[str, Any] = _mapped(data, _unescape)
    return unescaped


def _escape(text: str) -> str:
    return text.replace(_ESCAPE, _ESCAPE + _ESCAPE).replace("\x00", _STORED_NUL)


def _unescape(text: str) -> str:
    out: list[str] = []
    pending = False
    for ch in text:
        if pending:
            out.append("\x00" if ch == "\x02" else ch if ch == _ESCAPE else _ESCAPE + ch)
            pending = False
        elif ch == _ESCAPE:
            pending = True
        else:
            out.append(ch)
    if pending:
        out.append(_ESCAPE)
    return "".join(out)


def _mapped(value: Any, convert: Callable[[str], str]) -> Any:
    """``value`` with ``convert`` applied to every string in it, dictionary keys included."""
    if isinstance(value, str):
        return convert(value)
    if isinstance(value, dict):
        return {_mapped(k, convert): _mapped(v, convert) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_mapped(v, convert) for v in value]
    return value


class PostgresStorage(BaseStorage):
    """FSM storage in the shared PostgreSQL database; the pool belongs to the caller."""

    def __init__(self, db: PostgresDatabase) -> None:
        self._pool = db.pool

    async def get_state(self, key: StorageKey) -> str | None:
        state: str | None = await self._pool.fetchval(_GET_STATE, *_key_params(key))
        return state

    async def get_data(self, key: StorageKey) -> dict[str, Any]:
        text = await self._pool.fetchval(_GET_DATA, *_key_params(key))
        return {} if text is None else from_jsonb(text)

    async def set_state(self, key: StorageKey, state: StateType = None) -> None:
        value = state.state if isinstance(state, State) else state
        if value is not None and not isinstance(value, str):
            raise TypeError(f"FSM state must be a str, a State or None, not {type(value).__name__}")
        if value is None:
            async with self._pool.acquire() as conn, conn.transaction():
                await conn.execute(_CLEAR_STATE, *_key_params(key))
                await conn.execute(_DROP_EMPTY, *_key_params(key))
        else:
            await self._pool.execute(_SET_STATE, *_key_params(key), value)

    async def set_data(self, key: StorageKey, data: Mapping[str, Any]) -> None:
        if not isinstance(data, dict):
            msg = f"Data must be a dict or dict-like object, got {type(data).__name__}"
            raise DataNotDictLikeError(msg)
        text = to_jsonb(data)
        if data:
            await self._pool.execute(_SET_DATA, *_key_params(key), text)
            return
        async with self._pool.acquire() as conn, conn.transaction():
            await conn.execute(_CLEAR_DATA, *_key_params(key))
            await conn.execute(_DROP_EMPTY, *_key_params(key))

    async def update_data(self, key: StorageKey, data: Mapping[str, Any]) -> dict[str, Any]:
        if not data:
            return await self.get_data(key)
        merged = await self._pool.fetchval(_MERGE_DATA, *_key_params(key), to_jsonb(data))
        return from_jsonb(merged)

    async def clear_chat(self, chat_id: int, state_prefix: str) -> int:
        """Delete every key of ``chat_id`` whose state starts with ``state_prefix``; how many."""
        status = await self._pool.execute(_CLEAR_CHAT, chat_id, state_prefix)
        return int(status.rsplit(" ", 1)[-1])

    async def close(self) -> None:
        """Nothing of its own to close: the pool is the application's."""
