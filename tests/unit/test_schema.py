"""Attribute and schema definitions (RFC 7643 sections 2, 4 and 7)."""

from __future__ import annotations

import pytest

from scim_portal.scim import schema as s


def test_lookup_ignores_case() -> None:
    assert s.USER_SCHEMA.attribute("USERNAME") is s.USER_SCHEMA.attribute("userName")
    assert s.USER_SCHEMA.attribute("name").sub_attribute("GIVENNAME").name == "givenName"
    assert s.USER_SCHEMA.attribute("nope") is None


def test_core_user_attributes_match_rfc() -> None:
    names = [a.name for a in s.USER_SCHEMA.attributes]
    assert names[:2] == ["userName", "name"]
    for name in (
        "emails",
        "phoneNumbers",
        "ims",
        "photos",
        "addresses",
        "groups",
        "entitlements",
        "roles",
        "x509Certificates",
    ):
        assert s.USER_SCHEMA.attribute(name).multi_valued
    password = s.USER_SCHEMA.attribute("password")
    assert password.mutability is s.Mutability.WRITE_ONLY
    assert password.returned is s.Returned.NEVER
    assert s.USER_SCHEMA.attribute("groups").mutability is s.Mutability.READ_ONLY
    assert s.USER_SCHEMA.attribute("userName").required
    assert s.USER_SCHEMA.attribute("userName").uniqueness is s.Uniqueness.SERVER
    assert s.USER_SCHEMA.attribute("active").type is s.AttributeType.BOOLEAN
    assert s.USER_SCHEMA.attribute("addresses").sub_attribute("primary") is not None


def test_enterprise_and_group() -> None:
    manager = s.ENTERPRISE_USER_SCHEMA.attribute("manager")
    assert [a.name for a in manager.sub_attributes] == ["value", "$ref", "displayName"]
    members = s.GROUP_SCHEMA.attribute("members")
    assert [a.name for a in members.sub_attributes] == ["value", "$ref", "type"]  # RFC 7643 8.7.1
    assert s.GROUP_SCHEMA.attribute("displayName").required


def test_canonical_value() -> None:
    emails = s.USER_SCHEMA.attribute("emails")
    assert emails.sub_attribute("type").canonical_value("WORK") == "work"
    assert emails.sub_attribute("type").canonical_value("custom") == "custom"


def test_to_scim_section_7_shape() -> None:
    document = s.USER_SCHEMA.to_scim("https://x.test/scim/v2/")
    assert document["schemas"] == [s.SCHEMA_URN]
    assert document["id"] == s.USER_URN
    assert document["meta"]["location"] == f"https://x.test/scim/v2/Schemas/{s.USER_URN}"
    user_name = document["attributes"][0]
    assert user_name == {
        "name": "userName",
        "type": "string",
        "multiValued": False,
        "description": user_name["description"],
        "required": True,
        "mutability": "readWrite",
        "returned": "default",
        "caseExact": False,
        "uniqueness": "server",
    }
    emails = next(a for a in document["attributes"] if a["name"] == "emails")
    assert "caseExact" not in emails and len(emails["subAttributes"]) == 4
    profile = next(a for a in document["attributes"] if a["name"] == "profileUrl")
    assert profile["referenceTypes"] == ["external"]


def test_round_trip_from_scim() -> None:
    for schema in s.BUILTIN_SCHEMAS:
        assert s.Schema.from_scim(schema.to_scim()) == schema


def test_host_extension_from_document() -> None:
    extension = s.Schema.from_scim(
        {
            "id": "urn:example:params:scim:schemas:extension:acme:2.0:User",
            "attributes": [
                {"name": "badge", "type": "integer"},
                {
                    "name": "sites",
                    "type": "complex",
                    "multiValued": True,
                    "subAttributes": [{"name": "value"}, {"name": "primary", "type": "boolean"}],
                },
            ],
        }
    )
    assert extension.name == "User"
    assert extension.attribute("BADGE").type is s.AttributeType.INTEGER
    user = s.USER.with_extensions([extension])
    assert user.schema_urns[-1] == extension.id
    assert user.with_extensions([extension]) is user
    assert user.find_attribute("badge") == (extension.id, extension.attribute("badge"), True)
    with pytest.raises(ValueError):
        s.Schema.from_scim({"id": "urn:x", "attributes": [{"name": "a", "type": "float"}]})


def test_lenient_urn_matching() -> None:
    urns = [s.ENTERPRISE_USER_URN]
    assert s.match_urn("urn:ietf:params:scim:schemas:extension:enterprise:2.0User", urns) == s.ENTERPRISE_USER_URN
    assert s.match_urn(s.ENTERPRISE_USER_URN.upper(), urns) == s.ENTERPRISE_USER_URN
    assert s.match_urn("urn:other", urns) is None
    assert s.split_urn_prefix(f"{s.ENTERPRISE_USER_URN}:manager", urns) == (s.ENTERPRISE_USER_URN, "manager")
    assert s.split_urn_prefix(f"{s.ENTERPRISE_USER_URN}.manager", urns) == (s.ENTERPRISE_USER_URN, "manager")
    assert s.split_urn_prefix("urn:ietf:params:scim:schemas:extension:enterprise:2.0User:department", urns) == (
        s.ENTERPRISE_USER_URN,
        "department",
    )
    assert s.split_urn_prefix("userName", urns) is None


def test_find_attribute_prefers_core_then_extensions() -> None:
    assert s.USER.find_attribute("userName")[0] == s.USER_URN
    assert s.USER.find_attribute("id")[1].mutability is s.Mutability.READ_ONLY
    assert s.USER.find_attribute("manager")[0] == s.ENTERPRISE_USER_URN
    assert s.USER.find_attribute("manager", s.USER_URN) is None
    assert s.USER.find_attribute("employeeNumber", s.ENTERPRISE_USER_URN)[2] is True


def test_resource_type_to_scim() -> None:
    document = s.USER.to_scim("https://x.test/scim/v2")
    assert document["endpoint"] == "/Users"
    assert document["schemaExtensions"] == [{"schema": s.ENTERPRISE_USER_URN, "required": False}]
    assert s.GROUP.to_scim()["schema"] == s.GROUP_URN
