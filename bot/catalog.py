"""Keeps ``locales/*/LC_MESSAGES/messages.po`` in step with the code.

``python -m bot.catalog update`` adds new strings (untranslated) and drops removed ones;
``python -m bot.catalog check`` lists every problem: missing, obsolete, untranslated or fuzzy
entries and placeholders that differ between the English and the translated text.
"""

from __future__ import annotations

import sys
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po, write_po

from bot.i18n import DOMAIN, LANGUAGES, LOCALES_DIR

ROOT = LOCALES_DIR.parent
# Russian keeps these as they are; any other entry equal to its English msgid is untranslated.
SAME_IN_TRANSLATION = frozenset(
    {
        "SMS",
        "Flash SMS",
        "MMS",
        "WAP push",
        "Viber",
        "e-mail",
        "Tele2",
        "Tele2 (tele2)",
        "Win Mobile",
        "<b>{login}</b>, {period}",
    }
)
SOURCE_DIRS = ("bot", "handlers")
# aiogram's gettext doubles as ngettext: `_(singular)`, `ngettext(singular, plural, n)`, `__` lazy,
# `N_` marks a string translated later (command menus).
KEYWORDS: dict[str, tuple[int, ...] | None] = {
    "_": None,
    "__": None,
    "N_": None,
    "ngettext": (1, 2),
}


def extract(root: Path = ROOT) -> Catalog:
    """Every translatable string in the code, as a template catalog."""
    template = Catalog(project="smsc-bot", fuzzy=False)
    for directory in SOURCE_DIRS:
        for filename, lineno, message, comments, context in extract_from_dir(
            root / directory,
            method_map=[("**.py", "python")],
            keywords=KEYWORDS,
            comment_tags=("TRANSLATORS:",),
        ):
            template.add(
                message,
                locations=[(f"{directory}/{filename}", lineno)],
                auto_comments=comments,
                context=context,
            )
    return template


def po_path(lang: str, locales_dir: Path = LOCALES_DIR) -> Path:
    return locales_dir / lang / "LC_MESSAGES" / f"{DOMAIN}.po"


def update(root: Path = ROOT, locales_dir: Path = LOCALES_DIR) -> None:
    template = extract(root)
    for lang in LANGUAGES:
        path = po_path(lang, locales_dir)
        if path.exists():
            with path.open("rb") as fh:
                catalog = read_po(fh, locale=lang)
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            catalog = Catalog(locale=lang, project="smsc-bot", fuzzy=False)
        # No fuzzy matching: a guessed translation is worse than an obvious gap.
        catalog.update(template, no_fuzzy_matching=True)
        if lang == "en":
            # English msgids are the English text.
            for message in catalog:
                if not message.id:
                    continue
                if message.pluralizable:
                    if not isinstance(message.string, tuple) or not all(message.string):
                        message.string = tuple(message.id)
                elif not message.string:
                    message.string = message.id
        with path.open("wb") as fh:
            write_po(fh, catalog, ignore_obsolete=True, width=100, sort_output=True)


def _key(msgid: str | tuple[str, ...] | list[str]) -> str:
    return msgid if isinstance(msgid, str) else msgid[0]


def check(root: Path = ROOT, locales_dir: Path = LOCALES_DIR) -> list[str]:
    """Every reason the catalogs are not ready to ship; empty when they are."""
    template = extract(root)
    wanted = {_key(m.id) for m in template if m.id}
    problems: list[str] = []
    for lang in LANGUAGES:
        path = po_path(lang, locales_dir)
        if not path.exists():
            problems.append(f"{lang}: {path} is missing")
            continue
        with path.open("rb") as fh:
            catalog = read_po(fh, locale=lang)
        have = {_key(m.id) for m in catalog if m.id}
        problems += [f"{lang}: missing {msgid!r}" for msgid in sorted(wanted - have)]
        problems += [f"{lang}: obsolete {msgid!r}" for msgid in sorted(have - wanted)]
        problems += [f"{lang}: obsolete {_key(m.id)!r}" for m in catalog.obsolete.values()]
        for message in catalog:
            if not message.id:
                continue
            strings = message.string if isinstance(message.string, tuple) else (message.string,)
            if message.fuzzy:
                problems.append(f"{lang}: fuzzy {_key(message.id)!r}")
            ids = message.id if isinstance(message.id, tuple | list) else (message.id,)
            if not all(strings) or (
                lang != "en"
                and _key(message.id) not in SAME_IN_TRANSLATION
                and any(string in ids for string in strings)
            ):
                problems.append(f"{lang}: untranslated {_key(message.id)!r}")
            problems += [f"{lang}: {_key(message.id)!r}: {err}" for err in message.check(catalog)]
        template_plural = {_key(m.id) for m in template if m.id and m.pluralizable}
        catalog_plural = {_key(m.id) for m in catalog if m.id and m.pluralizable}
        problems += [
            f"{lang}: {msgid!r} should be a plural entry"
            for msgid in sorted(template_plural - catalog_plural)
        ]
    return problems


def main(argv: list[str]) -> int:
    if argv[1:] == ["update"]:
        update()
        return 0
    if argv[1:] == ["check"]:
        problems = check()
        print("\n".join(problems) or "catalogs are complete and up to date")
        return 1 if problems else 0
    print("usage: python -m bot.catalog update|check", file=sys.stderr)
    return 2


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
