"""SCIM schema URNs, taken from django-scim2's constants so both speak the same names."""

from __future__ import annotations

from django_scim.constants import SchemaURI

USER = SchemaURI.USER
ENTERPRISE_USER = SchemaURI.ENTERPRISE_USER
GROUP = SchemaURI.GROUP
LIST_RESPONSE = SchemaURI.LIST_RESPONSE
SEARCH_REQUEST = SchemaURI.SERACH_REQUEST  # sic: django-scim2's spelling
PATCH_OP = SchemaURI.PATCH_OP
ERROR = SchemaURI.ERROR
SERVICE_PROVIDER_CONFIG = SchemaURI.SERVICE_PROVIDER_CONFIG
RESOURCE_TYPE = SchemaURI.RESOURCE_TYPE
SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:Schema"
