"""Russian and English: catalogs compiled from ``locales/*.po`` at start, the chat's language, Babel
formatting of numbers, money and dates in the active locale."""

from __future__ import annotations

import tempfile
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, Protocol

from aiogram.types import TelegramObject, User
from aiogram.utils.i18n import I18n, I18nMiddleware
from babel import Locale, UnknownLocaleError
from babel.dates import format_date as babel_format_date
from babel.dates import format_skeleton
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

from bot.formats import interval_in, money_in, number_in

if TYPE_CHECKING:
    from bot.middlewares import Handler

LOCALES_DIR = Path(__file__).resolve().parent.parent / "locales"
DOMAIN = "messages"
DEFAULT_LOCALE = "en"
LANGUAGES = {"en": "English", "ru": "Русский"}


def compile_catalogs(source: Path, target: Path) -> None:
    """Write ``target/<lang>/LC_MESSAGES/messages.mo`` for every ``.po`` under ``source``."""
    for po_path in sorted(source.glob(f"*/LC_MESSAGES/{DOMAIN}.po")):
        lang = po_path.parent.parent.name
        with po_path.open("rb") as po_file:
            catalog = read_po(po_file, locale=lang)
        mo_dir = target / lang / "LC_MESSAGES"
        mo_dir.mkdir(parents=True, exist_ok=True)
        with (mo_dir / f"{DOMAIN}.mo").open("wb") as mo_file:
            write_mo(mo_file, catalog)


def build_i18n(locales_dir: Path = LOCALES_DIR) -> I18n:
    """An aiogram ``I18n`` built from the ``.po`` files as they are now, so never stale."""
    with tempfile.TemporaryDirectory(prefix="smsc-bot-locales-") as tmp:
        compile_catalogs(locales_dir, Path(tmp))
        # I18n reads every .mo in its constructor; the directory is not needed afterwards.
        return I18n(path=tmp, default_locale=DEFAULT_LOCALE, domain=DOMAIN)


def locale_for_user(user: User | None) -> str:
    """The user's Telegram language: ``ru*`` → Russian, anything else → English."""
    code = (user.language_code or "") if user else ""
    return "ru" if code.lower().startswith("ru") else DEFAULT_LOCALE


class LanguageStore(Protocol):
    async def get_language(self, chat_id: int) -> str | None: ...

    async def set_language(self, chat_id: int, language: str) -> None: ...


class LanguagePrefs:
    """The chat's chosen language, read through once and then served from memory.

    With ``cache=False`` (replicas: another one may change it) it is read on every update.
    """

    def __init__(self, store: LanguageStore, *, cache: bool = True) -> None:
        self._store = store
        self._cache: dict[int, str | None] = {}
        self._caching = cache

    async def get(self, chat_id: int) -> str | None:
        if not self._caching:
            return await self._store.get_language(chat_id)
        if chat_id not in self._cache:
            self._cache[chat_id] = await self._store.get_language(chat_id)
        return self._cache[chat_id]

    async def set(self, chat_id: int, language: str) -> None:
        if language not in LANGUAGES:
            raise ValueError(f"unsupported language {language!r}")
        await self._store.set_language(chat_id, language)
        self._cache[chat_id] = language


# The chat's saved language when an earlier middleware already read it for this update
# (``OnceMiddleware`` on PostgreSQL, with the journal's claim).
CHOSEN_LANGUAGE: Final = "chosen_language"


class ChatLocaleMiddleware(I18nMiddleware):
    """Locale = the chat's saved choice, else the user's Telegram language.

    The choice lives in our own table, not in FSM data, so ``/cancel`` cannot forget it.
    """

    def __init__(self, i18n: I18n, prefs: LanguagePrefs) -> None:
        super().__init__(i18n)
        self.prefs = prefs

    async def get_locale(self, event: TelegramObject, data: dict[str, Any]) -> str:
        chat = data.get("event_chat")
        if chat is not None:
            chosen: str | None
            if CHOSEN_LANGUAGE in data:
                chosen = data[CHOSEN_LANGUAGE]
            else:
                chosen = await self.prefs.get(chat.id)
            if chosen in self.i18n.available_locales:
                return chosen
        return locale_for_user(data.get("event_from_user"))

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        data["language_prefs"] = self.prefs
        return await super().__call__(handler, event, data)


def _babel_locale() -> Locale:
    i18n = I18n.get_current(no_error=True)
    try:
        return Locale.parse(i18n.current_locale if i18n else DEFAULT_LOCALE)
    except (ValueError, UnknownLocaleError):
        return Locale.parse(DEFAULT_LOCALE)


def current_locale() -> str:
    """The locale of the update being handled (``ru`` or ``en``)."""
    return str(_babel_locale())


def fmt_number(value: int | Decimal) -> str:
    return number_in(value, current_locale())


def fmt_money(amount: Decimal, currency: str) -> str:
    """Money in the active locale; an unknown or empty currency code is shown as a plain number."""
    return money_in(amount, currency, current_locale())


def fmt_range(start: date, end: date) -> str:
    """A period in the active locale, as a range ("1–2 дек. 2026 г.") or one day."""
    return interval_in(start, end, current_locale())


def fmt_date(value: date | datetime) -> str:
    return babel_format_date(value, format="medium", locale=_babel_locale())


def fmt_moment(moment: datetime) -> str:
    """A date and time as written, no time zone applied (SMSC's own local time): "2 дек., 09:00";
    with the year when it is not this one."""
    locale = _babel_locale()
    skeleton = "MMMd" if moment.year == date.today().year else "yMMMd"
    day = format_skeleton(skeleton, moment, locale=locale)
    return f"{day}, {format_skeleton('Hm', moment, locale=locale)}"


def fmt_time(moment: datetime) -> str:
    """Hours and minutes in the server's time zone, named: ``19:40 UTC``."""
    local = moment.astimezone()
    return f"{format_skeleton('Hm', local, locale=_babel_locale())} {local.tzname()}"


def fmt_when(moment: datetime) -> str:
    """Day, month and time in the server's time zone: ``Dec 2, 19:40 UTC``."""
    local = moment.astimezone()
    return f"{format_skeleton('MMMd', local, locale=_babel_locale())}, {fmt_time(local)}"
