"""SCIM attribute and schema definitions (RFC 7643 sections 2, 4 and 7).

The core ``User`` (section 4.1), the Enterprise User extension (section 4.3)
and the core ``Group`` (section 4.2) are declared here as typed, immutable
objects.  Every lookup by name is case-insensitive (RFC 7643 section 2.1),
and a host can declare further extension schemas from a JSON document in the
section 7 shape (:meth:`Schema.from_scim`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any

USER_URN = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP_URN = "urn:ietf:params:scim:schemas:core:2.0:Group"
ENTERPRISE_USER_URN = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
PATCH_OP_URN = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
SCHEMA_URN = "urn:ietf:params:scim:schemas:core:2.0:Schema"
RESOURCE_TYPE_URN = "urn:ietf:params:scim:schemas:core:2.0:ResourceType"


class AttributeType(StrEnum):
    """Attribute data types (RFC 7643 section 2.3)."""

    STRING = "string"
    BOOLEAN = "boolean"
    DECIMAL = "decimal"
    INTEGER = "integer"
    DATETIME = "dateTime"
    REFERENCE = "reference"
    COMPLEX = "complex"
    BINARY = "binary"


class Mutability(StrEnum):
    """The ``mutability`` characteristic (RFC 7643 section 7)."""

    READ_ONLY = "readOnly"
    READ_WRITE = "readWrite"
    IMMUTABLE = "immutable"
    WRITE_ONLY = "writeOnly"


class Returned(StrEnum):
    """The ``returned`` characteristic (RFC 7643 section 7)."""

    ALWAYS = "always"
    DEFAULT = "default"
    NEVER = "never"
    REQUEST = "request"


class Uniqueness(StrEnum):
    """The ``uniqueness`` characteristic (RFC 7643 section 7)."""

    NONE = "none"
    SERVER = "server"
    GLOBAL = "global"


def _find(items: Iterable[Attribute], name: str) -> Attribute | None:
    wanted = name.lower()
    for item in items:
        if item.name.lower() == wanted:
            return item
    return None


@dataclass(frozen=True)
class Attribute:
    """One attribute definition (RFC 7643 sections 2.2 and 7)."""

    name: str
    type: AttributeType = AttributeType.STRING
    multi_valued: bool = False
    sub_attributes: tuple[Attribute, ...] = ()
    mutability: Mutability = Mutability.READ_WRITE
    returned: Returned = Returned.DEFAULT
    case_exact: bool = False
    uniqueness: Uniqueness = Uniqueness.NONE
    required: bool = False
    canonical_values: tuple[str, ...] = ()
    reference_types: tuple[str, ...] = ()
    description: str = ""

    @property
    def is_complex(self) -> bool:
        return self.type is AttributeType.COMPLEX

    @property
    def read_only(self) -> bool:
        return self.mutability is Mutability.READ_ONLY

    def sub_attribute(self, name: str) -> Attribute | None:
        """The sub-attribute called ``name`` ignoring case, or ``None``."""
        return _find(self.sub_attributes, name)

    def canonical_value(self, value: str) -> str:
        """``value`` spelled as the matching canonical value, if any (RFC 7643 section 2.3.1)."""
        lowered = value.lower()
        for canonical in self.canonical_values:
            if canonical.lower() == lowered:
                return canonical
        return value

    def to_scim(self) -> dict[str, Any]:
        """The attribute in the RFC 7643 section 7 representation."""
        document: dict[str, Any] = {
            "name": self.name,
            "type": str(self.type),
            "multiValued": self.multi_valued,
            "description": self.description,
            "required": self.required,
            "mutability": str(self.mutability),
            "returned": str(self.returned),
        }
        if self.is_complex:
            document["subAttributes"] = [sub.to_scim() for sub in self.sub_attributes]
        else:
            document["caseExact"] = self.case_exact
            document["uniqueness"] = str(self.uniqueness)
        if self.canonical_values:
            document["canonicalValues"] = list(self.canonical_values)
        if self.type is AttributeType.REFERENCE:
            document["referenceTypes"] = list(self.reference_types)
        return document

    @classmethod
    def from_scim(cls, document: Mapping[str, Any]) -> Attribute:
        """Build an attribute from its RFC 7643 section 7 representation.

        Raises ``ValueError`` (or ``KeyError``) on a malformed document: this
        runs on host configuration, never on request data.
        """
        return cls(
            name=str(document["name"]),
            type=AttributeType(document.get("type", "string")),
            multi_valued=bool(document.get("multiValued", False)),
            sub_attributes=tuple(cls.from_scim(sub) for sub in document.get("subAttributes", ())),
            mutability=Mutability(document.get("mutability", "readWrite")),
            returned=Returned(document.get("returned", "default")),
            case_exact=bool(document.get("caseExact", False)),
            uniqueness=Uniqueness(document.get("uniqueness", "none")),
            required=bool(document.get("required", False)),
            canonical_values=tuple(document.get("canonicalValues", ())),
            reference_types=tuple(document.get("referenceTypes", ())),
            description=str(document.get("description", "")),
        )


@dataclass(frozen=True)
class Schema:
    """A schema: an URN id and its attributes (RFC 7643 section 7)."""

    id: str
    name: str
    description: str = ""
    attributes: tuple[Attribute, ...] = ()

    def attribute(self, name: str) -> Attribute | None:
        """The attribute called ``name`` ignoring case, or ``None``."""
        return _find(self.attributes, name)

    def to_scim(self, base_url: str | None = None) -> dict[str, Any]:
        """The schema resource served by ``/Schemas`` (RFC 7643 section 7, RFC 7644 section 4)."""
        document: dict[str, Any] = {
            "schemas": [SCHEMA_URN],
            "id": self.id,
            "name": self.name,
            "description": self.description,
            "attributes": [attribute.to_scim() for attribute in self.attributes],
        }
        if base_url is not None:
            document["meta"] = {"resourceType": "Schema", "location": f"{base_url.rstrip('/')}/Schemas/{self.id}"}
        return document

    @classmethod
    def from_scim(cls, document: Mapping[str, Any]) -> Schema:
        """Build a (host extension) schema from its RFC 7643 section 7 JSON document."""
        schema_id = str(document["id"])
        return cls(
            id=schema_id,
            name=str(document.get("name") or schema_id.rsplit(":", 1)[-1]),
            description=str(document.get("description", "")),
            attributes=tuple(Attribute.from_scim(a) for a in document.get("attributes", ())),
        )


def _urn_key(urn: str) -> str:
    """Comparison key for URNs: case-insensitive and blind to ``:`` (``enterprise:2.0User``)."""
    return urn.lower().replace(":", "")


def match_urn(candidate: str, urns: Iterable[str]) -> str | None:
    """The URN among ``urns`` that ``candidate`` names, leniently.

    URNs compare case-insensitively (RFC 7643 section 2.1 makes schema URIs
    case-insensitive in practice for clients); a ``:`` missing before the
    resource name, as in Microsoft's documented ``...enterprise:2.0User``, is
    tolerated.
    """
    key = _urn_key(candidate)
    for urn in urns:
        if _urn_key(urn) == key:
            return urn
    return None


def split_urn_prefix(path: str, urns: Iterable[str]) -> tuple[str, str] | None:
    """Split ``<urn>:<rest>`` into ``(urn, rest)`` when ``path`` starts with one of ``urns``.

    Case and a missing ``:`` before the resource name are tolerated (see
    :func:`match_urn`); the separator after the URN may be ``:`` or ``.``.
    Longer URNs win.  ``rest`` is ``""`` when ``path`` is the URN itself.
    """
    lowered = path.lower()
    for urn in sorted(urns, key=len, reverse=True):
        head, _, tail = urn.rpartition(":")
        for variant in (urn, head + tail):
            prefix = variant.lower()
            if not lowered.startswith(prefix):
                continue
            rest = path[len(prefix) :]
            if not rest:
                return urn, ""
            if rest[0] in ":.":
                return urn, rest[1:]
    return None


@dataclass(frozen=True)
class ResourceType:
    """A resource type: endpoint, core schema and extensions (RFC 7643 section 6)."""

    name: str
    endpoint: str
    schema: Schema
    extensions: tuple[Schema, ...] = ()
    description: str = ""
    common: tuple[Attribute, ...] = field(default=(), repr=False)

    @property
    def schema_urns(self) -> tuple[str, ...]:
        return (self.schema.id, *(extension.id for extension in self.extensions))

    def with_extensions(self, extensions: Sequence[Schema]) -> ResourceType:
        """A copy with ``extensions`` added (a host's own URNs); duplicates ignored."""
        known = {_urn_key(urn) for urn in self.schema_urns}
        extra = tuple(e for e in extensions if _urn_key(e.id) not in known)
        return replace(self, extensions=self.extensions + extra) if extra else self

    def extension(self, urn: str) -> Schema | None:
        """The extension schema named by ``urn`` (leniently, see :func:`match_urn`)."""
        matched = match_urn(urn, (e.id for e in self.extensions))
        return next((e for e in self.extensions if e.id == matched), None)

    def schema_for(self, urn: str) -> Schema | None:
        """The core schema or an extension named by ``urn``, leniently."""
        if match_urn(urn, (self.schema.id,)):
            return self.schema
        return self.extension(urn)

    def core_attribute(self, name: str) -> Attribute | None:
        """A core-schema or common (``id``, ``externalId``, ``meta``) attribute by name."""
        return self.schema.attribute(name) or _find(self.common, name)

    def find_attribute(self, name: str, urn: str | None = None) -> tuple[str, Attribute, bool] | None:
        """Locate an attribute: ``(schema URN, attribute, is_extension)`` or ``None``.

        With ``urn``, only that schema is searched.  Without, the core schema
        and common attributes come first (RFC 7644 section 3.10: unprefixed
        names belong to the core schema), then, leniently, the extensions in
        order, since clients write ``manager`` without its URN.
        """
        if urn is not None and not match_urn(urn, (self.schema.id,)):
            extension = self.extension(urn)
            found = extension.attribute(name) if extension else None
            return (extension.id, found, True) if extension and found else None
        core = self.core_attribute(name)
        if core is not None:
            return self.schema.id, core, False
        if urn is not None:
            return None
        for extension in self.extensions:
            found = extension.attribute(name)
            if found is not None:
                return extension.id, found, True
        return None

    def to_scim(self, base_url: str | None = None) -> dict[str, Any]:
        """The ``/ResourceTypes`` representation (RFC 7643 section 6)."""
        document: dict[str, Any] = {
            "schemas": [RESOURCE_TYPE_URN],
            "id": self.name,
            "name": self.name,
            "endpoint": self.endpoint,
            "description": self.description,
            "schema": self.schema.id,
            "schemaExtensions": [{"schema": e.id, "required": False} for e in self.extensions],
        }
        if base_url is not None:
            location = f"{base_url.rstrip('/')}/ResourceTypes/{self.name}"
            document["meta"] = {"resourceType": "ResourceType", "location": location}
        return document


# --- definitions -----------------------------------------------------------------------------

_T = AttributeType
_RO = Mutability.READ_ONLY
_IMM = Mutability.IMMUTABLE


def _s(name: str, description: str = "", **kwargs: Any) -> Attribute:
    return Attribute(name=name, description=description, **kwargs)


def _multi(name: str, description: str, types: tuple[str, ...], value_type: AttributeType = _T.STRING) -> Attribute:
    """A standard multi-valued attribute: value, display, type, primary (RFC 7643 section 2.4)."""
    return Attribute(
        name=name,
        type=_T.COMPLEX,
        multi_valued=True,
        description=description,
        sub_attributes=(
            _s(
                "value",
                "The attribute's significant value.",
                type=value_type,
                reference_types=("external",) if value_type is _T.REFERENCE else (),
            ),
            _s("display", "A human-readable name, primarily used for display purposes."),
            _s("type", "A label indicating the attribute's function.", canonical_values=types),
            _s("primary", "Whether this is the preferred value.", type=_T.BOOLEAN),
        ),
    )


COMMON_ATTRIBUTES: tuple[Attribute, ...] = (
    _s(
        "id",
        "Unique identifier assigned by the service provider.",
        mutability=_RO,
        returned=Returned.ALWAYS,
        case_exact=True,
        uniqueness=Uniqueness.SERVER,
    ),
    _s("externalId", "Identifier assigned by the provisioning client.", case_exact=True),
    Attribute(
        name="meta",
        type=_T.COMPLEX,
        mutability=_RO,
        description="Resource metadata.",
        sub_attributes=(
            _s("resourceType", mutability=_RO, case_exact=True),
            _s("created", type=_T.DATETIME, mutability=_RO),
            _s("lastModified", type=_T.DATETIME, mutability=_RO),
            _s("location", type=_T.REFERENCE, mutability=_RO, case_exact=True, reference_types=("uri",)),
            _s("version", mutability=_RO, case_exact=True),
        ),
    ),
)
"""Attributes common to every resource (RFC 7643 section 3.1); not part of any schema document."""

_NAME = Attribute(
    name="name",
    type=_T.COMPLEX,
    description="The components of the user's real name.",
    sub_attributes=(
        _s("formatted", "The full name, formatted for display."),
        _s("familyName", "The family name."),
        _s("givenName", "The given name."),
        _s("middleName", "The middle name(s)."),
        _s("honorificPrefix", "The honorific prefix(es), e.g. 'Ms.'."),
        _s("honorificSuffix", "The honorific suffix(es), e.g. 'III'."),
    ),
)

_ADDRESSES = Attribute(
    name="addresses",
    type=_T.COMPLEX,
    multi_valued=True,
    description="Physical mailing addresses.",
    sub_attributes=(
        _s("formatted", "The full mailing address, formatted for display."),
        _s("streetAddress", "The full street address component."),
        _s("locality", "The city or locality component."),
        _s("region", "The state or region component."),
        _s("postalCode", "The zip code or postal code component."),
        _s("country", "The country name component (ISO 3166-1 alpha-2)."),
        _s("type", "A label indicating the address' function.", canonical_values=("work", "home", "other")),
        _s("primary", "Whether this is the preferred address.", type=_T.BOOLEAN),
    ),
)

_GROUPS = Attribute(
    name="groups",
    type=_T.COMPLEX,
    multi_valued=True,
    mutability=_RO,
    description="Groups the user belongs to, managed through the Group resource.",
    sub_attributes=(
        _s("value", "The id of the group.", mutability=_RO),
        _s("$ref", "The URI of the group.", type=_T.REFERENCE, mutability=_RO, reference_types=("User", "Group")),
        _s("display", "The group's displayName.", mutability=_RO),
        _s("type", "Membership kind.", mutability=_RO, canonical_values=("direct", "indirect")),
    ),
)

USER_SCHEMA = Schema(
    id=USER_URN,
    name="User",
    description="User Account",
    attributes=(
        _s("userName", "Unique identifier for the user, used to sign in.", required=True, uniqueness=Uniqueness.SERVER),
        _NAME,
        _s("displayName", "The name of the user, suitable for display."),
        _s("nickName", "The casual way to address the user."),
        _s("profileUrl", "A URI to the user's online profile.", type=_T.REFERENCE, reference_types=("external",)),
        _s("title", "The user's title, such as 'Vice President'."),
        _s("userType", "The relationship between the organization and the user."),
        _s("preferredLanguage", "Preferred written or spoken language (RFC 7231 Accept-Language)."),
        _s("locale", "Default location for localisation (e.g. en-US)."),
        _s("timezone", "Time zone in the IANA database format (e.g. America/Los_Angeles)."),
        _s("active", "The user's administrative status.", type=_T.BOOLEAN),
        _s(
            "password",
            "The user's cleartext password, never returned.",
            mutability=Mutability.WRITE_ONLY,
            returned=Returned.NEVER,
        ),
        _multi("emails", "Email addresses for the user.", ("work", "home", "other")),
        _multi("phoneNumbers", "Phone numbers for the user.", ("work", "home", "mobile", "fax", "pager", "other")),
        _multi("ims", "Instant messaging addresses.", ("aim", "gtalk", "icq", "xmpp", "msn", "skype", "qq", "yahoo")),
        _multi("photos", "URLs of photos of the user.", ("photo", "thumbnail"), value_type=_T.REFERENCE),
        _ADDRESSES,
        _GROUPS,
        _multi("entitlements", "Entitlements for the user.", ()),
        _multi("roles", "Roles for the user.", ()),
        _multi("x509Certificates", "DER-encoded X.509 certificates (base64).", (), value_type=_T.BINARY),
    ),
)

ENTERPRISE_USER_SCHEMA = Schema(
    id=ENTERPRISE_USER_URN,
    name="EnterpriseUser",
    description="Enterprise User",
    attributes=(
        _s("employeeNumber", "Numeric or alphanumeric identifier assigned by the organization."),
        _s("costCenter", "Name of a cost center."),
        _s("organization", "Name of an organization."),
        _s("division", "Name of a division."),
        _s("department", "Name of a department."),
        Attribute(
            name="manager",
            type=_T.COMPLEX,
            description="The user's manager.",
            sub_attributes=(
                _s("value", "The id of the manager's User resource."),
                _s("$ref", "The URI of the manager's User resource.", type=_T.REFERENCE, reference_types=("User",)),
                _s("displayName", "The manager's displayName.", mutability=_RO),
            ),
        ),
    ),
)

GROUP_SCHEMA = Schema(
    id=GROUP_URN,
    name="Group",
    description="Group",
    attributes=(
        _s("displayName", "A human-readable name for the group.", required=True),
        Attribute(
            name="members",
            type=_T.COMPLEX,
            multi_valued=True,
            description="A list of members of the group.",
            sub_attributes=(
                _s("value", "The id of the member.", mutability=_IMM),
                _s(
                    "$ref",
                    "The URI of the member.",
                    type=_T.REFERENCE,
                    mutability=_IMM,
                    reference_types=("User", "Group"),
                ),
                _s("type", "The member's resource type.", mutability=_IMM, canonical_values=("User", "Group")),
            ),
        ),
    ),
)

USER = ResourceType(
    name="User",
    endpoint="/Users",
    schema=USER_SCHEMA,
    extensions=(ENTERPRISE_USER_SCHEMA,),
    description="User Account",
    common=COMMON_ATTRIBUTES,
)
GROUP = ResourceType(
    name="Group",
    endpoint="/Groups",
    schema=GROUP_SCHEMA,
    description="Group",
    common=COMMON_ATTRIBUTES,
)

BUILTIN_SCHEMAS: tuple[Schema, ...] = (USER_SCHEMA, ENTERPRISE_USER_SCHEMA, GROUP_SCHEMA)
