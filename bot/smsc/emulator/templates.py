"""``/sys/templates.php``: message templates."""

from __future__ import annotations

from dataclasses import replace

from .state import Call, Template, is_set, parse_int
from .wire import Answer, ApiError, Params, Row, created, found, ok, table

FORMATS = frozenset({"", "sms", "flash", "bin", "push", "mms", "call", "mail", "viber"})


def handle(call: Call) -> Answer:
    """Run the templates.php command the parameters name."""
    params, templates = call.params, call.account.templates
    if is_set(params, "add"):
        template = Template(0, "")
        _apply(template, params)
        if not template.name:
            raise ApiError(1)
        template.id = call.account.new_id("template")
        templates[template.id] = template
        # The page writes fmt=0 as "ID - <id>" here, unlike every other script's "ID = <id>".
        return created(template.id, "template", text0_sep="-")
    if is_set(params, "chg"):
        template = _find(call)
        # The page does not say whether fields left out of chg are kept; a mode blanks them.
        probe = replace(template) if call.shapes.template_chg_keeps else Template(template.id, "")
        _apply(probe, params)
        if not probe.name:
            raise ApiError(1)
        templates[template.id] = probe
        return ok()
    if is_set(params, "del"):
        del templates[_find(call).id]
        return ok()
    if is_set(params, "get"):
        rows: list[Row] = [
            {
                "id": t.id,
                "name": t.name,
                "format": t.format,
                "sender": t.sender,
                "flag": t.flag,
                "message": t.message,
            }
            for t in sorted(templates.values(), key=lambda t: t.id)
        ]
        if not rows:
            raise ApiError(3, "no records found")
        return table(rows, "template")
    raise ApiError(1)


def _find(call: Call) -> Template:
    template_id = parse_int(call.params.get("id"), -1)
    if template_id < 0:
        raise ApiError(1)
    return found(call.account.templates.get(template_id))


def _apply(template: Template, params: Params) -> None:
    if "name" in params:
        template.name = params["name"].strip()
    if "msg" in params:
        template.message = params["msg"]
    if "format" in params:
        fmt = params["format"].strip().lower()
        if fmt not in FORMATS:
            raise ApiError(1)
        template.format = fmt
    if "sender" in params:
        template.sender = params["sender"].strip()
    if "fl[1]" in params:
        template.flag = template.flag | 1 if is_set(params, "fl[1]") else template.flag & ~1
