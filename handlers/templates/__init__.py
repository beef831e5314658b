"""/templates: message templates; a card with the full text, a wizard to add one, renaming,
new text and deletion.

``data`` holds the states and button data, ``views`` the texts and keyboards; the handlers are
split by job: ``browse`` (list, card), ``add``, ``edit`` (name, text, deletion).
"""

from __future__ import annotations

from aiogram import Router
from aiogram.filters import StateFilter

from bot.ui import expected_button, expected_text, not_command
from handlers.templates import add, browse, edit
from handlers.templates.data import TemplateEdit, TemplateForm

# Anything else inside the conversations: tried after every other handler of the feature.
rest = Router(name="templates.rest")
rest.message(
    StateFilter(TemplateForm.name, TemplateForm.text, TemplateEdit.name, TemplateEdit.text),
    not_command,
)(expected_text)
rest.message(
    StateFilter(TemplateForm.format, TemplateForm.sender, TemplateForm.autosign), not_command
)(expected_button)

router = Router(name="templates")
router.include_routers(browse.router, add.router, edit.router, rest)
