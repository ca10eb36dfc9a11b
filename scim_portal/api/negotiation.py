"""Content negotiation: SCIM speaks ``application/scim+json`` (RFC 7644 section 3.1)
and accepts ``application/json`` too."""

from __future__ import annotations

from rest_framework.negotiation import BaseContentNegotiation
from rest_framework.parsers import JSONParser
from rest_framework.renderers import JSONRenderer

SCIM_MEDIA_TYPE = "application/scim+json"


class ScimJSONRenderer(JSONRenderer):
    media_type = SCIM_MEDIA_TYPE
    charset = "utf-8"


class ScimJSONParser(JSONParser):
    media_type = SCIM_MEDIA_TYPE


class PlainJSONParser(JSONParser):
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
