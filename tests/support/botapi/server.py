"""The server: its HTTP side, the test-facing API, and waiting for the bot."""

# Expectations take a timeout because it is part of what they assert (and becomes the failure
# message); asyncio.timeout around the call could not say what was expected.
# ruff: noqa: ASYNC109

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import traceback
import urllib.parse
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from aiogram import Bot, Dispatcher
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiohttp import web

from tests.support.botapi.errors import _DEFAULT_DESCRIPTIONS, BotApiError, JsonDict, _bad_request
from tests.support.botapi.methods import BotApiMethods
from tests.support.botapi.model import (
    Chat,
    RecordedRequest,
    _CallbackQuery,
    _Fault,
    _QueuedUpdate,
    _StoredFile,
)
from tests.support.botapi.params import _decode_json_fields, _Params, _parse_multipart
from tests.support.botapi.user import FakeUser

Handler = Callable[[_Params], Awaitable[Any]]


class FakeTelegram(BotApiMethods):
    """A Telegram Bot API server on 127.0.0.1 with simulated users; see the module docstring."""

    def __init__(
        self,
        token: str = "123456:TEST",
        *,
        bot_username: str = "smsc_test_bot",
        bot_first_name: str = "SMSC Test Bot",
    ) -> None:
        bot_id, sep, _ = token.partition(":")
        if not sep or not bot_id.isdigit():
            msg = f"token must look like '<bot id>:<secret>', got {token!r}"
            raise ValueError(msg)
        self.token = token
        self.bot_id = int(bot_id)
        self.bot_user: JsonDict = {
            "id": self.bot_id,
            "is_bot": True,
            "first_name": bot_first_name,
            "username": bot_username,
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
        }
        self.requests: list[RecordedRequest] = []
        self.chats: dict[int, Chat] = {}
        self.users: dict[int, FakeUser] = {}
        self.webhook: JsonDict | None = None
        self.dropped_updates: list[JsonDict] = []
        self.server_errors: list[str] = []
        """Tracebacks of bugs in this server; :meth:`stop` fails the test if there are any."""
        self.base_url = ""

        self._changed = asyncio.Event()
        self._queue: list[_QueuedUpdate] = []
        self._update_ids = itertools.count(1)
        self._last_update_id = 0
        self._allowed_updates: frozenset[str] | None = None
        self._poll_generation = 0
        self._held_poll: RecordedRequest | None = None
        self._closing = False
        self._faults: dict[str, list[_Fault]] = {}
        self._stubs: dict[str, Callable[[JsonDict], Any]] = {}
        self._files: dict[str, _StoredFile] = {}
        self._files_by_path: dict[str, _StoredFile] = {}
        self._file_counter = itertools.count(1)
        self._query_counter = itertools.count(1)
        self._queries: dict[str, _CallbackQuery] = {}
        self._commands: dict[tuple[str, str], list[JsonDict]] = {}
        self._runner: web.AppRunner | None = None
        self._handlers: dict[str, Handler] = {
            "getme": self._get_me,
            "getupdates": self._get_updates,
            "setwebhook": self._set_webhook,
            "deletewebhook": self._delete_webhook,
            "getwebhookinfo": self._get_webhook_info,
            "sendmessage": self._send_message,
            "editmessagetext": self._edit_message_text,
            "editmessagereplymarkup": self._edit_message_reply_markup,
            "deletemessage": self._delete_message,
            "deletemessages": self._delete_messages,
            "answercallbackquery": self._answer_callback_query,
            "setmycommands": self._set_my_commands,
            "deletemycommands": self._delete_my_commands,
            "getmycommands": self._get_my_commands,
            "senddocument": self._send_document,
            "sendphoto": self._send_photo,
            "sendchataction": self._send_chat_action,
            "getfile": self._get_file,
        }

    # ---------------------------------------------------------------- lifecycle

    async def start(self) -> str:
        """Listen on 127.0.0.1 on a free port; returns the base URL for ``from_base``."""
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("*", "/bot{token}/{method}", self._handle)
        app.router.add_get("/file/bot{token}/{path:.+}", self._handle_file)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=5.0)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        host, port = self._runner.addresses[0][:2]
        self.base_url = f"http://{host}:{port}"
        return self.base_url

    async def stop(self) -> None:
        """Release held long polls, shut down, and fail loudly if the server itself crashed."""
        self._closing = True
        self._bump()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        if self.server_errors:
            msg = "the fake Telegram server crashed:\n" + "\n".join(self.server_errors)
            raise AssertionError(msg)

    async def __aenter__(self) -> FakeTelegram:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    # ---------------------------------------------------------------- test-facing API

    def user(
        self,
        user_id: int = 1001,
        first_name: str = "Anna",
        *,
        last_name: str | None = None,
        username: str | None = None,
        language_code: str | None = "en",
    ) -> FakeUser:
        """The simulated user with this id (created on first call), with a private chat."""
        if user_id in self.users:
            return self.users[user_id]
        user_json: JsonDict = {"id": user_id, "is_bot": False, "first_name": first_name}
        if last_name is not None:
            user_json["last_name"] = last_name
        if username is not None:
            user_json["username"] = username
        if language_code is not None:
            user_json["language_code"] = language_code
        chat_json = {
            key: value
            for key, value in user_json.items()
            if key in ("id", "first_name", "last_name", "username")
        }
        chat_json["type"] = "private"
        chat = Chat(user_id, chat_json)
        self.chats[user_id] = chat
        user = FakeUser(self, user_json, chat)
        self.users[user_id] = user
        return user

    def in_group(
        self,
        user: FakeUser,
        group_id: int = -1001,
        title: str = "Team",
        *,
        kind: str = "group",
        bot_can_delete: bool = True,
    ) -> FakeUser:
        """``user`` writing in the group chat ``group_id`` (created on first call, a ``kind`` of
        "group" or "supergroup", the bot an admin allowed to delete messages or not): what it
        sends and what it expects happen in that group rather than in the private chat."""
        chat = self.chats.get(group_id)
        if chat is None:
            chat = Chat(group_id, {"id": group_id, "type": kind, "title": title})
            chat.bot_can_delete = bot_can_delete
            self.chats[group_id] = chat
        return FakeUser(self, user.json, chat)

    def fail_next(
        self,
        method: str,
        *,
        status: int = 429,
        retry_after: int = 1,
        count: int = 1,
        description: str | None = None,
    ) -> None:
        """Answer the next ``count`` calls of ``method`` with an error instead of serving them.

        429 answers carry ``parameters.retry_after`` like Telegram's flood control.
        """
        parameters: JsonDict | None = None
        if status == 429:
            parameters = {"retry_after": retry_after}
            description = description or f"Too Many Requests: retry after {retry_after}"
        elif description is None:
            description = _DEFAULT_DESCRIPTIONS.get(status, f"Error {status}")
        fault = _Fault(status, description, parameters, count)
        self._faults.setdefault(method.lower(), []).append(fault)

    def stub(self, method: str, result: Any | Callable[[JsonDict], Any]) -> None:
        """Serve a method this server does not model with a fixed result (or a function of the
        decoded parameters), instead of 404."""
        self._stubs[method.lower()] = result if callable(result) else (lambda _params: result)

    def requests_for(self, method: str) -> list[RecordedRequest]:
        return [r for r in self.requests if r.method.lower() == method.lower()]

    def requests_containing(self, needle: str | bytes) -> list[RecordedRequest]:
        """Requests whose path (token aside), body or decoded params contain ``needle``: use it to
        prove a secret never left the bot."""
        raw = needle.encode() if isinstance(needle, str) else needle
        text = raw.decode("utf-8", "replace")
        found = []
        for r in self.requests:
            params_text = json.dumps(r.params, ensure_ascii=False)
            in_files = any(raw in content for _, content in r.files.values())
            if raw in r.body or text in params_text or text in r.method or in_files:
                found.append(r)
        return found

    def commands(self, *, scope: JsonDict | None = None, language_code: str = "") -> list[JsonDict]:
        return list(self._commands.get(self._commands_key(scope, language_code), []))

    def queue_update(self, kind: str, payload: JsonDict, *, chat_id: int | None = None) -> int:
        """Queue an arbitrary update (``{"update_id": ..., kind: payload}``); returns its id, or 0
        if the bot's ``allowed_updates`` excludes it (Telegram would not create it)."""
        update_id = next(self._update_ids)
        self._last_update_id = update_id
        update = {"update_id": update_id, kind: payload}
        if not self._update_allowed(kind):
            self.dropped_updates.append(update)
            self._bump()
            return 0
        self._queue.append(_QueuedUpdate(update_id, kind, update, chat_id))
        self._bump()
        return update_id

    def take_updates(self) -> list[JsonDict]:
        """Hand over the queued updates, as Telegram pushes them to a webhook, and forget them."""
        taken = [u.payload for u in self._queue]
        self._queue.clear()
        self._bump()
        return taken

    @property
    def pending_updates(self) -> list[JsonDict]:
        """Updates the bot has not confirmed yet."""
        return [u.payload for u in self._queue]

    async def drained(self, timeout: float = 10.0) -> None:
        """Return once the bot has confirmed every update queued before this call.

        Confirmation means a ``getUpdates`` arrived with an ``offset`` above the update's id.
        aiogram's polling loop (``Dispatcher._listen_updates``) raises the offset only after the
        dispatcher took the whole batch, so:

        * with ``start_polling(handle_as_tasks=False)`` each update's handler ran to completion
          (including every Bot API call it awaited) before the next ``getUpdates``: once this
          returns, whatever the bot was going to send in answer to those updates is recorded;
        * with the default ``handle_as_tasks=True`` it only proves the updates were handed to
          handler tasks, which may still be running.

        Tasks a handler spawns in the background are never covered.
        """
        target = self._last_update_id

        def done() -> bool:
            return all(u.update_id > target for u in self._queue)

        await self._wait(done, timeout, lambda: f"the bot did not confirm updates ≤ {target}")

    async def wait_for_request(
        self,
        method: str,
        *,
        where: Callable[[RecordedRequest], bool] | None = None,
        since: int | None = None,
        finished: bool = False,
        timeout: float = 10.0,
    ) -> RecordedRequest:
        """The first request of ``method`` with index ≥ ``since`` (default: requests from now on)
        matching ``where``; with ``finished`` also wait for its answer."""
        start = len(self.requests) if since is None else since
        wanted = method.lower()

        def find() -> RecordedRequest | None:
            for r in self.requests[start:]:
                if r.method.lower() != wanted or (where is not None and not where(r)):
                    continue
                if finished and not r.finished:
                    continue
                return r
            return None

        await self._wait(lambda: find() is not None, timeout, lambda: f"no {method} request")
        result = find()
        assert result is not None
        return result

    async def wait_long_poll(self, timeout: float = 10.0) -> RecordedRequest:
        """Wait until a ``getUpdates`` is being held open (the bot is idle and polling)."""
        await self._wait(
            lambda: self._held_poll is not None, timeout, lambda: "no getUpdates is held open"
        )
        assert self._held_poll is not None
        return self._held_poll

    def make_bot(self, **bot_kwargs: Any) -> Bot:
        """An aiogram ``Bot`` for this server's token that talks only to this server."""
        session = AiohttpSession(api=TelegramAPIServer.from_base(self.base_url))
        return Bot(self.token, session=session, **bot_kwargs)

    @contextlib.asynccontextmanager
    async def polling(
        self, dispatcher: Dispatcher, bot: Bot, *, timeout: float = 10.0, **polling_kwargs: Any
    ) -> AsyncIterator[asyncio.Task[None]]:
        """Run ``dispatcher.start_polling(bot, **polling_kwargs)`` for the duration of the block.

        Defaults: ``handle_signals=False`` and ``handle_as_tasks=False`` (which is what makes
        :meth:`drained` cover the handlers). Entering returns once the bot polls; leaving stops
        polling and re-raises anything the polling task died of.
        """
        polling_kwargs.setdefault("handle_signals", False)
        polling_kwargs.setdefault("handle_as_tasks", False)
        since = len(self.requests)
        task: asyncio.Task[None] = asyncio.create_task(
            dispatcher.start_polling(bot, **polling_kwargs)
        )
        polled = asyncio.create_task(
            self.wait_for_request("getUpdates", since=since, timeout=timeout)
        )
        started = False
        try:
            done, _ = await asyncio.wait({task, polled}, return_when=asyncio.FIRST_COMPLETED)
            if task in done:
                await task
                msg = "polling stopped before the first getUpdates"
                raise AssertionError(msg)
            polled.result()
            started = True
            yield task
        finally:
            polled.cancel()
            if started and not task.done():
                with contextlib.suppress(RuntimeError):
                    await dispatcher.stop_polling()
                await task
            elif not task.done():
                # Stuck before polling (e.g. in a startup hook): stop_polling would wait forever.
                task.cancel()
                await asyncio.gather(task, return_exceptions=True)

    # ---------------------------------------------------------------- internals: waiting

    def _bump(self) -> None:
        self._changed.set()
        self._changed = asyncio.Event()

    async def _wait(
        self, predicate: Callable[[], bool], timeout: float, explain: Callable[[], str]
    ) -> None:
        try:
            async with asyncio.timeout(timeout):
                while not predicate():
                    await self._changed.wait()
        except TimeoutError:
            msg = f"after {timeout} s: {explain()}\n{self._activity()}"
            raise AssertionError(msg) from None

    def _activity(self) -> str:
        lines = []
        polls = self.requests_for("getUpdates")
        if not polls:
            lines.append("the bot never called getUpdates")
        else:
            ago = asyncio.get_running_loop().time() - polls[-1].received_at
            lines.append(f"last getUpdates {ago:.2f} s ago ({len(polls)} in all)")
        if self._queue:
            pending = ", ".join(f"{u.update_id}:{u.kind}" for u in self._queue)
            lines.append(f"updates not confirmed by the bot: {pending}")
        if self.dropped_updates:
            lines.append(
                f"updates dropped by allowed_updates={sorted(self._allowed_updates or [])}: "
                + ", ".join(str(u["update_id"]) for u in self.dropped_updates)
            )
        failed = [r for r in self.requests if r.finished and not r.ok]
        if failed:
            lines.append("failed bot requests: " + "; ".join(r.describe() for r in failed[-10:]))
        if self.server_errors:
            lines.append("FAKE SERVER CRASHED: " + self.server_errors[-1])
        return "\n".join(lines)

    # ---------------------------------------------------------------- internals: HTTP

    async def _handle(self, request: web.Request) -> web.Response:
        loop = asyncio.get_running_loop()
        token = request.match_info["token"]
        method = request.match_info["method"]
        body = await request.read()
        record = RecordedRequest(
            index=len(self.requests),
            http_method=request.method,
            method=method,
            token=token,
            params={},
            body=body,
            files={},
            received_at=loop.time(),
        )
        self.requests.append(record)
        self._bump()
        try:
            values, files = self._parse_body(request, body)
            record.files = files
            record.params = values
            record.params = _decode_json_fields(values)
            result = await self._dispatch(record, _Params(record))
            status, payload = 200, {"ok": True, "result": result}
        except BotApiError as error:
            status, payload = error.status, error.payload()
        except Exception:
            self.server_errors.append(traceback.format_exc())
            status = 500
            payload = {"ok": False, "error_code": 500, "description": "Internal Server Error"}
        record.status = status
        record.response = payload
        record.finished_at = loop.time()
        self._bump()
        return web.json_response(payload, status=status)

    def _parse_body(
        self, request: web.Request, body: bytes
    ) -> tuple[JsonDict, dict[str, tuple[str | None, bytes]]]:
        values: JsonDict = dict(request.query)
        files: dict[str, tuple[str | None, bytes]] = {}
        content_type = request.headers.get("Content-Type", "")
        if not body:
            return values, files
        if request.content_type == "application/json":
            try:
                decoded = json.loads(body)
            except ValueError:
                raise _bad_request("can't parse JSON object") from None
            if not isinstance(decoded, dict):
                raise _bad_request("JSON object expected")
            values.update(decoded)
        elif request.content_type == "multipart/form-data":
            fields, files = _parse_multipart(body, content_type)
            values.update(fields)
        else:
            pairs = urllib.parse.parse_qsl(body.decode("utf-8"), keep_blank_values=True)
            values.update(pairs)
        return values, files

    async def _dispatch(self, record: RecordedRequest, params: _Params) -> Any:
        if record.token != self.token:
            raise BotApiError(401, "Unauthorized")
        name = record.method.lower()
        faults = self._faults.get(name)
        if faults:
            fault = faults[0]
            fault.remaining -= 1
            if fault.remaining <= 0:
                faults.pop(0)
            raise BotApiError(fault.status, fault.description, fault.parameters)
        handler = self._handlers.get(name)
        if handler is not None:
            return await handler(params)
        if name in self._stubs:
            return self._stubs[name](params.values)
        raise BotApiError(404, "Not Found: method not found")

    async def _handle_file(self, request: web.Request) -> web.StreamResponse:
        if request.match_info["token"] != self.token:
            return web.json_response(
                {"ok": False, "error_code": 401, "description": "Unauthorized"}, status=401
            )
        stored = self._files_by_path.get(request.match_info["path"])
        if stored is None:
            return web.json_response(
                {"ok": False, "error_code": 404, "description": "Not Found"}, status=404
            )
        return web.Response(body=stored.content, content_type="application/octet-stream")
