"""Many numbers at once: a list in one message or a .txt/.csv file, added with a progress message
edited as it goes and turned into a summary. The engine is bot.services.blacklist's."""

from __future__ import annotations

from typing import Any

from aiogram import Bot, F, Router
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import gettext as _

from bot.middlewares import OPERATOR_FLAGS
from bot.phones import ParsedList, find_phones, parse_file, parse_list, split_phone_prefix
from bot.services.blacklist import Bulk
from bot.text import clean
from bot.ui import NOT_COMMAND, send_to_chat, shared_phone
from handlers import blacklist as tunables
from handlers.blacklist.data import FILE_SUFFIXES, MAX_FILE_BYTES, BlackAdd, BlMenu
from handlers.blacklist.one import Editor, block_one
from handlers.blacklist.views import (
    invalid_text,
    progress_text,
    summary_keyboard,
    summary_text,
)

router = Router(name="blacklist.bulk")

# SMSC's comment of an entry, at most (the page gives no limit; a reason fits in a line).
COMMENT_LIMIT = 200


async def take_numbers(message: Message, state: FSMContext, editor: Editor, text: str) -> None:
    """One number: block it now (words after it are SMSC's comment: why). Several: in bulk.
    None valid: say why and ask again."""
    phone, rest = split_phone_prefix(text, editor.region)
    comment = " ".join(clean(rest).split())[:COMMENT_LIMIT]
    if phone is not None and comment and not find_phones(rest, editor.region):
        await state.clear()
        body, markup = await block_one(editor, phone.digits, comment)
        await message.answer(body, reply_markup=markup)
        return
    parsed = parse_list(text, editor.region)
    if len(parsed.phones) == 1 and not parsed.invalid:
        await state.clear()
        body, markup = await block_one(editor, parsed.phones[0].digits)
        await message.answer(body, reply_markup=markup)
        return
    if not parsed.phones:
        await state.set_state(BlackAdd.numbers)
        if len(parsed.invalid) == 1:
            await message.answer(invalid_text(parsed.invalid[0]))
        else:
            await message.answer(
                _(
                    "I found no valid phone number here. Send the numbers again, one per line, "
                    "or a .txt or .csv file, or /cancel."
                )
            )
        return
    await state.clear()
    await bulk_block(message, editor, parsed)


@router.message(BlackAdd.numbers, F.document, flags=OPERATOR_FLAGS)
async def take_file(message: Message, state: FSMContext, bot: Bot, **data: Any) -> None:
    """A file of numbers: sent in the conversation, or with /black as its caption."""
    editor = Editor.of(message, data)
    document = message.document
    assert document is not None
    name = document.file_name or ""
    if not name.lower().endswith(FILE_SUFFIXES):
        await state.set_state(BlackAdd.numbers)
        await message.answer(_("Send the numbers as a .txt or .csv file, or as text."))
        return
    if (document.file_size or 0) > MAX_FILE_BYTES:
        await state.set_state(BlackAdd.numbers)
        await message.answer(
            _("The file is too big: at most {n} KB.").format(n=MAX_FILE_BYTES // 1000)
        )
        return
    content = await bot.download(document)
    assert content is not None
    parsed = parse_file(name, content.read(MAX_FILE_BYTES + 1), editor.region)
    if not parsed.phones:
        await state.set_state(BlackAdd.numbers)
        await message.answer(
            _("I found no valid phone number in this file. Send another one, or /cancel.")
        )
        return
    await state.clear()
    await bulk_block(message, editor, parsed)


async def bulk_block(message: Message, editor: Editor, parsed: ParsedList) -> Bulk:
    """Block many numbers, editing one progress message at most every PROGRESS_INTERVAL
    seconds, then turning it into the summary."""
    phones = parsed.phones[: tunables.MAX_BULK]
    invalid = list(parsed.invalid)
    bulk = Bulk(total=len(phones), left_out=len(parsed.phones) - len(phones))
    status = await message.answer(progress_text(bulk))

    async def progress(bulk: Bulk) -> None:
        await status.edit_text(progress_text(bulk))

    await editor.black.bulk_add(bulk, phones, progress, interval=tunables.PROGRESS_INTERVAL)
    await editor.record(
        "black_bulk",
        f"{bulk.total} numbers",
        f"added {bulk.added}, already {bulk.already}, failed {len(bulk.failed)}, "
        f"unconfirmed {len(bulk.unconfirmed)}, invalid {len(invalid)}"
        + (f", left out {bulk.left_out}" if bulk.left_out else "")
        + (", stopped" if bulk.stopped else ""),
    )
    await status.edit_text(summary_text(bulk, invalid), reply_markup=summary_keyboard())
    return bulk


@router.callback_query(BlMenu.filter(F.a == "add"), flags=OPERATOR_FLAGS)
async def menu_add(query: CallbackQuery, state: FSMContext) -> None:
    await state.set_state(BlackAdd.numbers)
    await send_to_chat(
        query, _("Send the numbers to block, one per line, or a .txt or .csv file with them.")
    )


@router.message(BlackAdd.numbers, F.contact, flags=OPERATOR_FLAGS)
async def got_contact(message: Message, state: FSMContext, **data: Any) -> None:
    editor = Editor.of(message, data)
    phone = await shared_phone(message, editor.region, invalid_text)
    if phone is None:
        return
    await state.clear()
    body, markup = await block_one(editor, phone.digits)
    await message.answer(body, reply_markup=markup)


@router.message(BlackAdd.numbers, NOT_COMMAND, flags=OPERATOR_FLAGS)
async def got_numbers(message: Message, state: FSMContext, **data: Any) -> None:
    await take_numbers(message, state, Editor.of(message, data), message.text or "")
