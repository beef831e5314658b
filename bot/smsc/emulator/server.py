"""The emulator itself: an aiohttp server answering /sys/*.php as SMSC does."""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from types import TracebackType
from typing import Literal, Self

from aiohttp import web

from . import balance, get, phones, senders, templates, users
from .demo import DEMO_UNDELIVERABLE, build_demo_account
from .limits import CONCURRENT, IpGuard, RateWindows, rules_for
from .state import Account, Call, CodeDesk, Shapes
from .wire import (
    Answer,
    ApiError,
    Charset,
    Params,
    content_type,
    decode_params,
    describe,
    error,
    find_charset,
    parse_fmt,
)

Fault = Literal["html", "http500", "garbage", "slow", "drop"] | int

SCRIPTS: dict[str, Callable[[Call], Answer]] = {
    "phones": phones.handle,
    "senders": senders.handle,
    "templates": templates.handle,
    "users": users.handle,
    "balance": balance.handle,
    "get": get.handle,
}
_HTML_PAGE = (
    "<!DOCTYPE html>\n<html><head><title>502 Bad Gateway</title></head>"
    "<body><h1>Service temporarily unavailable</h1></body></html>\n"
)
_GARBAGE = b"\x00\xff\xfe<<not an answer>>\x81 {{]"


@dataclass
class RecordedRequest:
    """One request as the emulator received it; ``login`` is set once it authorised."""

    method: str
    path: str
    raw_query: str
    raw_body: bytes
    params: Params
    login: str | None
    time: float
    remote: str | None


class SmscEmulator:
    """A stateful SMSC HTTP API on 127.0.0.1, for tests and the bot's demo account."""

    def __init__(
        self,
        *,
        clock: Callable[[], float] = time.monotonic,
        demo: bool = True,
        latency: float = 0.0,
        rate_window: float = 60.0,
        failed_auth_limit: int = 5,
        ip_block_window: float = 1800.0,
        ip_block_duration: float = 1800.0,
        max_concurrent: int = 15,
        code_retry_after: float = 8 * 3600.0,
        slow_seconds: float = 10.0,
        undeliverable: frozenset[str] = frozenset(),
        seed: int | None = None,
    ) -> None:
        self.accounts: dict[str, Account] = {}
        self.requests: list[RecordedRequest] = []
        self.latency = latency
        self.fault: Fault | None = None
        self.slow_seconds = slow_seconds
        # What the "garbage" fault answers: non-JSON bytes unless a test sets, e.g., a wrong shape.
        self.garbage_body = _GARBAGE
        self.max_concurrent = max_concurrent
        self.shapes = Shapes()
        self.max_in_flight: dict[str, int] = {}
        self._in_flight: dict[str, int] = {}
        self._clock = clock
        self._windows = RateWindows(rate_window)
        self._ip_guard = IpGuard(failed_auth_limit, ip_block_window, ip_block_duration)
        self._codes = CodeDesk(code_retry_after, set(undeliverable), rng=random.Random(seed))
        self._runner: web.AppRunner | None = None
        self._base_url: str | None = None
        if demo:
            account = build_demo_account()
            self.accounts[account.login] = account
            self._codes.undeliverable.add(DEMO_UNDELIVERABLE)

    @property
    def base_url(self) -> str:
        """``http://host:port`` of the running server."""
        if self._base_url is None:
            raise RuntimeError("the emulator is not started")
        return self._base_url

    @property
    def sent_codes(self) -> dict[str, str]:
        """The last confirmation code sent to each digital sender name."""
        return self._codes.sent_codes

    @property
    def undeliverable(self) -> set[str]:
        """Digital sender names to which send_code answers error 8."""
        return self._codes.undeliverable

    def add_account(
        self,
        login: str,
        password: str,
        *,
        apikey: str | None = None,
        balance: Decimal = Decimal("1000.00"),
        currency: str = "RUB",
    ) -> Account:
        """Create an empty account (replacing one with the same login) and return it."""
        account = Account(login, password, apikey, balance, currency)
        self.accounts[login] = account
        return account

    def add_demo_account(self, login: str, password: str) -> Account:
        """A copy of the demo account under another login, for a sandbox of one's own."""
        account = build_demo_account(login, password, apikey=None)
        self.accounts[login] = account
        return account

    def reset_limits(self) -> None:
        """Forget rate windows, failed log-ins and IP blocks."""
        self._windows.clear()
        self._ip_guard.clear()

    def make_app(self) -> web.Application:
        """The aiohttp application serving /sys/<script>.php."""
        app = web.Application()
        app.router.add_route("GET", "/sys/{script}.php", self._handle)
        app.router.add_route("POST", "/sys/{script}.php", self._handle)
        # Not SMSC's: what a test, a benchmark or a demo changes from outside the process.
        app.router.add_post("/control/balance", self._control_balance)
        app.router.add_post("/control/sender", self._control_sender)
        return app

    async def _control_balance(self, request: web.Request) -> web.Response:
        """``login``, ``balance``: set the account's balance (what a payment or a campaign does)."""
        form = await request.post()
        account = self.accounts.get(str(form.get("login", "")))
        if account is None:
            raise web.HTTPNotFound(text="no such login")
        try:
            account.balance = Decimal(str(form.get("balance", "")))
        except ArithmeticError:
            raise web.HTTPBadRequest(text="balance is not a number") from None
        return web.Response(text="OK")

    async def _control_sender(self, request: web.Request) -> web.Response:
        """``login``, ``sender``, ``operator``, ``status``: a sender name's status at an operator
        (what the operator's moderation does)."""
        form = await request.post()
        account = self.accounts.get(str(form.get("login", "")))
        sender = account.sender_by_name(str(form.get("sender", ""))) if account else None
        operator = str(form.get("operator", ""))
        if sender is None or operator not in sender.operators:
            raise web.HTTPNotFound(text="no such sender name or operator")
        try:
            sender.operators[operator] = int(str(form.get("status", "")))
        except ValueError:
            raise web.HTTPBadRequest(text="status is not a number") from None
        return web.Response(text="OK")

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> str:
        """Serve on ``host:port`` (0: any free port) and return the base URL."""
        # Cancelling handlers whose client went away lets stop() return at once during "slow".
        runner = web.AppRunner(
            self.make_app(), handler_cancellation=True, shutdown_timeout=0.5, access_log=None
        )
        await runner.setup()
        await web.TCPSite(runner, host, port).start()
        self._runner = runner
        bound_host, bound_port = runner.addresses[0][:2]
        self._base_url = f"http://{bound_host}:{bound_port}"
        return self._base_url

    async def stop(self) -> None:
        """Stop serving; the state stays readable."""
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
            self._base_url = None

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        script = request.match_info["script"]
        if script not in SCRIPTS:
            raise web.HTTPNotFound()
        raw_query = request.rel_url.raw_query_string
        raw_body = await request.read() if request.method == "POST" else b""
        # Like PHP's $_POST, only a form-encoded body carries parameters.
        form = raw_body if request.content_type == "application/x-www-form-urlencoded" else b""
        charset = find_charset(raw_query, form)
        params = decode_params(raw_query, form, charset)
        fmt = parse_fmt(params)
        record = RecordedRequest(
            request.method,
            request.path,
            raw_query,
            raw_body,
            params,
            None,
            self._clock(),
            request.remote,
        )
        self.requests.append(record)
        fault = self.fault
        if fault == "slow":
            await asyncio.sleep(self.slow_seconds)
        elif isinstance(fault, int):
            return self._respond(error(fault, describe(script, fault)), fmt, charset)
        elif fault is not None:
            return self._broken(fault, request, fmt, charset)
        answer = await self._serve(script, params, record)
        return self._respond(answer, fmt, charset)

    async def _serve(self, script: str, params: Params, record: RecordedRequest) -> Answer:
        ip = record.remote or ""
        if self._ip_guard.blocked(ip, self._clock()):
            await asyncio.sleep(self.latency)
            return error(4, describe(script, 4))
        account = self._authenticate(params)
        if account is None:
            self._ip_guard.failed(ip, self._clock())
            await asyncio.sleep(self.latency)
            return error(2, describe(script, 2))
        login = record.login = account.login
        in_flight = self._in_flight[login] = self._in_flight.get(login, 0) + 1
        self.max_in_flight[login] = max(self.max_in_flight.get(login, 0), in_flight)
        try:
            # The latency passes while the request counts as in flight, as on a busy server.
            await asyncio.sleep(self.latency)
            if in_flight >= self.max_concurrent:
                return error(9, CONCURRENT)
            now = self._clock()
            broken = self._windows.admit(login, rules_for(script, params), now)
            if broken is not None:
                return error(9, broken.description)
            try:
                return SCRIPTS[script](Call(account, params, now, self._codes, self.shapes))
            except ApiError as exc:
                return error(exc.code, exc.description or describe(script, exc.code))
        finally:
            self._in_flight[login] -= 1

    def _authenticate(self, params: Params) -> Account | None:
        apikey = params.get("apikey", "")
        if apikey:
            return next((a for a in self.accounts.values() if a.apikey == apikey), None)
        account = self.accounts.get(params.get("login", ""))
        if account is None or account.password != params.get("psw", ""):
            return None
        return account

    def _respond(self, answer: Answer, fmt: int, charset: Charset) -> web.Response:
        body = answer.render(fmt).encode(charset.codec, errors="replace")
        return web.Response(body=body, headers={"Content-Type": content_type(fmt, charset)})

    def _broken(
        self, fault: str, request: web.Request, fmt: int, charset: Charset
    ) -> web.StreamResponse:
        if fault == "drop":
            if request.transport is not None:
                request.transport.abort()
            # Never sent: the connection is gone.
            return web.Response()
        if fault == "html":
            return web.Response(text=_HTML_PAGE, content_type="text/html")
        if fault == "http500":
            return web.Response(status=500, text="500 Internal Server Error")
        return web.Response(
            body=self.garbage_body, headers={"Content-Type": content_type(fmt, charset)}
        )
