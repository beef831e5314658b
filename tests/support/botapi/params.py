"""Request parameters: form, JSON and multipart bodies decoded the way Telegram reads them."""

from __future__ import annotations

import json
import re
from typing import Any

from aiohttp.multipart import content_disposition_filename, parse_content_disposition

from tests.support.botapi.errors import JsonDict, _bad_request
from tests.support.botapi.model import RecordedRequest

# Object-typed fields arrive JSON-serialised in form bodies; everything else is a plain string.
_JSON_FIELDS = frozenset(
    {
        "reply_markup",
        "entities",
        "caption_entities",
        "allowed_updates",
        "commands",
        "scope",
        "link_preview_options",
        "reply_parameters",
        "message_ids",
    }
)


def _parse_multipart(body: bytes, content_type: str) -> tuple[JsonDict, dict[str, Any]]:
    """Parse multipart/form-data by hand so that the raw body stays available for recording."""
    match = re.search(r'boundary="?([^";]+)"?', content_type)
    if not match:
        raise _bad_request("multipart body without boundary")
    delimiter = b"--" + match.group(1).encode()
    fields: JsonDict = {}
    files: dict[str, Any] = {}
    for part in body.split(delimiter)[1:]:
        if part.startswith(b"--"):
            break
        part = part.removeprefix(b"\r\n").removesuffix(b"\r\n")
        head, _, content = part.partition(b"\r\n\r\n")
        headers: dict[str, str] = {}
        for line in head.decode("utf-8", "replace").split("\r\n"):
            header, _, value = line.partition(":")
            headers[header.strip().lower()] = value.strip()
        _, disposition = parse_content_disposition(headers.get("content-disposition"))
        name = disposition.get("name")
        if name is None:
            continue
        filename = content_disposition_filename(disposition, "filename")
        if filename is not None:
            files[name] = (filename, content)
        else:
            fields[name] = content.decode("utf-8")
    return fields, files


class _Params:
    def __init__(self, record: RecordedRequest) -> None:
        self.record = record
        self.values = record.params
        self.files = record.files

    def __contains__(self, name: str) -> bool:
        return self.values.get(name) is not None

    def string(self, name: str) -> str | None:
        value = self.values.get(name)
        if value is None:
            return None
        return value if isinstance(value, str) else json.dumps(value)

    def integer(self, name: str) -> int | None:
        value = self.values.get(name)
        if value is None or value == "":
            return None
        if isinstance(value, bool):
            raise _bad_request(f"wrong parameter {name} in request")
        try:
            return int(value)
        except (TypeError, ValueError):
            raise _bad_request(f"wrong parameter {name} in request") from None

    def require_int(self, name: str) -> int:
        value = self.integer(name)
        if value is None:
            raise _bad_request(f"{name} is empty")
        return value

    def flag(self, name: str) -> bool:
        value = self.values.get(name)
        if isinstance(value, str):
            return value.lower() in ("true", "1")
        return bool(value)

    def obj(self, name: str) -> Any:
        return self.values.get(name)


def _decode_json_fields(values: JsonDict) -> JsonDict:
    decoded = dict(values)
    for name in _JSON_FIELDS & decoded.keys():
        value = decoded[name]
        if isinstance(value, str):
            try:
                decoded[name] = json.loads(value)
            except ValueError:
                if name == "reply_markup":
                    raise _bad_request("can't parse reply keyboard markup JSON object") from None
                raise _bad_request(f"can't parse {name} JSON object") from None
    return decoded
