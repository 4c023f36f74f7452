"""JSON request bodies of the write operations: bounded in bytes, parsed, refused clearly."""

from __future__ import annotations

import json
from typing import Any

from starlette.requests import Request

from api.batch import media_type, read_body
from api.errors import UnsupportedMediaTypeError, json_error_text
from essmap.editing import REQUEST_BODY
from essmap.errors import InvalidInputError, Problem
from essmap.settings import Settings

#: Media types of the JSON bodies the API reads (a feature, a merge patch, a proposal).
JSON_TYPES = frozenset({"application/json", "application/geo+json", "application/merge-patch+json"})


async def read_json(request: Request, settings: Settings, *, optional: bool = False) -> Any:
    """The parsed JSON body (at most ``max_request_bytes``); 415 for another media type, 400 for bad JSON.

    An empty body is refused, or None when the body is ``optional``.
    """
    media = media_type(request)
    if media and media not in JSON_TYPES:
        raise UnsupportedMediaTypeError(
            f"type de contenu « {media} » non pris en charge : {', '.join(sorted(JSON_TYPES))}"
        )
    body = await read_body(request, settings)
    if not body.strip():
        if optional:
            return None
        message = "corps de la requête vide : un objet JSON est attendu"
        raise InvalidInputError(Problem(message, file=REQUEST_BODY))
    try:
        return json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InvalidInputError(Problem(json_error_text(exc), file=REQUEST_BODY)) from exc
