"""Content negotiation: SCIM speaks ``application/scim+json`` (RFC 7644 section 3.1)
and accepts ``application/json`` too."""

from __future__ import annotations

import io
from typing import Any

from django.utils.translation import gettext as _
from rest_framework.negotiation import BaseContentNegotiation
from rest_framework.parsers import JSONParser
from rest_framework.renderers import JSONRenderer

from scim_portal.exceptions import InvalidValue
from scim_portal.scim import jsontext

SCIM_MEDIA_TYPE = "application/scim+json"


class ScimJSONRenderer(JSONRenderer):
    media_type = SCIM_MEDIA_TYPE
    charset = "utf-8"

    def render(self, data: Any, accepted_media_type: str | None = None,
               renderer_context: Any = None) -> bytes:
        try:
            return super().render(data, accepted_media_type, renderer_context)
        except UnicodeEncodeError:
            # Text that is not valid Unicode (a lone surrogate echoed in a detail) is sent escaped.
            self.ensure_ascii = True
            return super().render(data, accepted_media_type, renderer_context)


class SafeJSONMixin:
    """A JSON body that Python can parse, encode and store, or a 400.

    RFC 8259 section 8.2: a lone surrogate (``"\\ud800"``) makes a string's meaning
    unpredictable, and neither UTF-8 nor PostgreSQL can hold it; it is refused as
    ``invalidValue`` before anything reads the body, as is nesting deeper than
    :data:`~scim_portal.scim.jsontext.MAX_DEPTH` levels.
    """

    def parse(self, stream: Any, media_type: str | None = None, parser_context: Any = None) -> Any:
        raw = stream.read() if stream is not None else b""
        try:
            data = super().parse(io.BytesIO(raw), media_type, parser_context)  # type: ignore[misc]
            return jsontext.check(data, raw)
        except RecursionError:
            raise InvalidValue(_("The JSON is nested more than %d levels deep.") % jsontext.MAX_DEPTH) from None
        except jsontext.UnsafeJSON as exc:
            raise InvalidValue(str(exc)) from None


class ScimJSONParser(SafeJSONMixin, JSONParser):
    media_type = SCIM_MEDIA_TYPE


class PlainJSONParser(SafeJSONMixin, JSONParser):
    media_type = "application/json"


class ScimContentNegotiation(BaseContentNegotiation):
    """Always answer SCIM JSON; IdPs send a variety of Accept headers and all expect JSON."""

    def select_parser(self, request, parsers):
        content_type = (request.content_type or "").split(";")[0].strip().lower()
        for parser in parsers:
            if parser.media_type == content_type:
                return parser
        # A missing or odd Content-Type on a JSON body is common; parse it as JSON.
        return parsers[0] if parsers else None

    def select_renderer(self, request, renderers, format_suffix=None):
        return renderers[0], renderers[0].media_type
