"""Discovery endpoints (RFC 7644 section 4; RFC 7643 sections 5-7).

The schema documents are generated from the definitions the server validates
and patches with (:mod:`scim_portal.scim.schema`), plus any extension schema
the host declares in ``SCIM_PORTAL["EXTENSION_SCHEMAS"]``, so what ``/Schemas``
says is what requests are held to; the service provider configuration states
exactly what this server does.
"""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _

from scim_portal.conf import app_settings
from scim_portal.exceptions import NotFound
from scim_portal.scim import urns
from scim_portal.scim.codec import user_extensions
from scim_portal.scim.schema import BUILTIN_SCHEMAS

DOCUMENTATION_URI = "https://scim-portal.readthedocs.io/"


def list_response(resources: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "schemas": [urns.LIST_RESPONSE],
        "totalResults": len(resources),
        "startIndex": 1,
        "itemsPerPage": len(resources),
        "Resources": resources,
    }


def service_provider_config(base_url: str) -> dict[str, Any]:
    return {
        "schemas": [urns.SERVICE_PROVIDER_CONFIG],
        "documentationUri": DOCUMENTATION_URI,
        "patch": {"supported": True},
        "bulk": {"supported": False, "maxOperations": 0, "maxPayloadSize": 0},
        "filter": {"supported": True, "maxResults": app_settings.MAX_PAGE_SIZE},
        "changePassword": {"supported": False},
        "sort": {"supported": True},
        "etag": {"supported": True},
        "authenticationSchemes": [
            {
                "type": "oauthbearertoken",
                "name": "OAuth Bearer Token",
                "description": _("A permanent bearer token issued by the portal, or an OAuth 2.0 access token."),
                "specUri": "https://www.rfc-editor.org/rfc/rfc6750",
                "primary": True,
            }
        ],
        "meta": {
            "resourceType": "ServiceProviderConfig",
            "location": f"{base_url}/ServiceProviderConfig",
        },
    }


def schemas(base_url: str) -> list[dict[str, Any]]:
    return [s.to_scim(base_url) for s in (*BUILTIN_SCHEMAS, *user_extensions())]


def schema(schema_id: str, base_url: str) -> dict[str, Any]:
    for document in schemas(base_url):
        if document["id"].lower() == schema_id.lower():
            return document
    raise NotFound(_("Unknown schema %s.") % schema_id)


def resource_types(base_url: str) -> list[dict[str, Any]]:
    user_extensions = [{"schema": urns.ENTERPRISE_USER, "required": False}]
    user_extensions += [
        {"schema": s["id"], "required": False}
        for s in app_settings.EXTENSION_SCHEMAS
        if s.get("resourceType", "User") == "User"
    ]
    return [
        {
            "schemas": [urns.RESOURCE_TYPE],
            "id": "User",
            "name": "User",
            "endpoint": "/Users",
            "description": _("People provisioned into the portal"),
            "schema": urns.USER,
            "schemaExtensions": user_extensions,
            "meta": {"resourceType": "ResourceType", "location": f"{base_url}/ResourceTypes/User"},
        },
        {
            "schemas": [urns.RESOURCE_TYPE],
            "id": "Group",
            "name": "Group",
            "endpoint": "/Groups",
            "description": _("Groups pushed into the portal"),
            "schema": urns.GROUP,
            "schemaExtensions": [],
            "meta": {"resourceType": "ResourceType", "location": f"{base_url}/ResourceTypes/Group"},
        },
    ]


def resource_type(name: str, base_url: str) -> dict[str, Any]:
    for document in resource_types(base_url):
        if document["id"].lower() == name.lower():
            return document
    raise NotFound(_("Unknown resource type %s.") % name)
