"""POST/PUT bodies to canonical dicts (RFC 7643 sections 2-4, RFC 7644 3.3)."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scim_portal.exceptions import InvalidSyntax, InvalidValue, ScimError
from scim_portal.idp.entra import EntraDialect
from scim_portal.scim import schema as s
from scim_portal.scim.normalize import Limits, member_ids, normalize_resource

ENTRA = EntraDialect()


def entra(body: object, resource_type: s.ResourceType = s.USER):
    """What the Entra ID dialect hands the RFC parser (as the view does)."""
    return normalize_resource(ENTRA.prepare_resource(body, resource_type), resource_type)

ENT = s.ENTERPRISE_USER_URN


def user(**extra: object) -> dict:
    return {"schemas": [s.USER_URN], "userName": "u1", **extra}


def test_body_must_be_an_object() -> None:
    for body in ([], "x", None, 3):
        with pytest.raises(InvalidSyntax):
            normalize_resource(body, s.USER)


def test_schemas_absent_accepted_present_without_core_rejected() -> None:
    assert normalize_resource({"userName": "a"}, s.USER).resource["schemas"] == [s.USER_URN]
    with pytest.raises(InvalidSyntax):
        normalize_resource({"schemas": [s.GROUP_URN], "userName": "a"}, s.USER)
    with pytest.raises(InvalidSyntax):
        normalize_resource({"schemas": {"a": 1}, "userName": "a"}, s.USER)


def test_unknown_schema_urn_is_ignored_and_reported() -> None:
    adscim = "http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group"
    result = normalize_resource({"schemas": [s.GROUP_URN, adscim], "displayName": "g"}, s.GROUP)
    assert result.ignored == [adscim]


def test_mistyped_enterprise_urn_tolerated() -> None:
    bad = "urn:ietf:params:scim:schemas:extension:enterprise:2.0User"
    result = normalize_resource(user(schemas=[s.USER_URN, bad], **{bad: {"department": "R&D"}}), s.USER)
    assert result.resource[ENT] == {"department": "R&D"}
    assert result.resource["schemas"] == [s.USER_URN, ENT]


def test_names_canonicalised_unknown_dropped_nulls_dropped() -> None:
    body = {
        "UserName": "u",
        "Active": True,
        "NAME": {"GivenName": "G", "zz": 1},
        "title": None,
        "foo": 1,
        "addresses": None,
    }
    result = normalize_resource(body, s.USER)
    assert result.resource == {"userName": "u", "active": True, "name": {"givenName": "G"}, "schemas": [s.USER_URN]}
    assert result.ignored == ["name.zz", "foo"]


def test_read_only_dropped() -> None:
    body = user(id="x", meta={"resourceType": "User"}, groups=[{"value": "g"}], externalId="e")
    assert normalize_resource(body, s.USER).resource == {"userName": "u1", "externalId": "e", "schemas": [s.USER_URN]}


@pytest.mark.parametrize(("raw", "expected"), [("True", True), ("false", False), (" TRUE ", True), (True, True)])
def test_boolean_strings(raw: object, expected: bool) -> None:
    """RFC 7643 2.3.2 booleans are JSON; the strings Entra ID sends are its dialect's business."""
    assert entra(user(active=raw)).resource["active"] is expected
    if isinstance(raw, str):
        with pytest.raises(InvalidValue, match="active"):
            normalize_resource(user(active=raw), s.USER)


@pytest.mark.parametrize("raw", ["yes", 1, {"a": 1}, ["True", "False"]])
def test_wrong_type_names_the_attribute(raw: object) -> None:
    with pytest.raises(InvalidValue, match="active"):
        normalize_resource(user(active=raw), s.USER)


def test_numbers_and_datetimes() -> None:
    extension = s.Schema.from_scim(
        {
            "id": "urn:acme:2.0:User",
            "attributes": [
                {"name": "badge", "type": "integer"},
                {"name": "score", "type": "decimal"},
                {"name": "since", "type": "dateTime"},
            ],
        }
    )
    body = user(**{"urn:acme:2.0:User": {"badge": "42", "score": "1.5", "since": "2024-02-29T10:00:00Z"}})
    result = normalize_resource(body, s.USER, extensions=[extension])
    assert result.resource["urn:acme:2.0:User"] == {"badge": 42, "score": 1.5, "since": "2024-02-29T10:00:00Z"}
    assert result.resource["schemas"] == [s.USER_URN, "urn:acme:2.0:User"]
    for bad in ({"badge": "4.5x"}, {"score": "nan"}, {"since": "2024-02-30T10:00:00Z"}, {"since": "yesterday"}):
        with pytest.raises(InvalidValue):
            normalize_resource(user(**{"urn:acme:2.0:User": bad}), s.USER, extensions=[extension])


def test_multi_valued_single_object_wrapped_and_scalar_strings() -> None:
    result = normalize_resource(user(emails={"value": "a@x", "type": "WORK"}, phoneNumbers="555"), s.USER)
    assert result.resource["emails"] == [{"value": "a@x", "type": "work"}]
    assert result.resource["phoneNumbers"] == [{"value": "555"}]


@pytest.mark.parametrize("manager", ["m1", {"Value": "m1"}, [{"value": "m1"}], [{"value": "m1", "$ref": None}]])
def test_manager_shapes(manager: object) -> None:
    result = normalize_resource(user(**{ENT: {"Manager": manager}}), s.USER)
    assert result.resource[ENT] == {"manager": {"value": "m1"}}


def test_manager_keeps_ref_and_display_name_and_rejects_two() -> None:
    manager = {"value": "m1", "$ref": "../Users/m1", "displayName": "Boss"}
    assert normalize_resource(user(**{ENT: {"manager": manager}}), s.USER).resource[ENT]["manager"] == manager
    with pytest.raises(InvalidValue, match="manager"):
        normalize_resource(user(**{ENT: {"manager": ["a", "b"]}}), s.USER)


def test_flattened_urn_and_dotted_keys() -> None:
    body = user(**{f"{ENT}:employeeNumber": "7", "name.familyName": "F"})
    result = normalize_resource(body, s.USER)
    assert result.resource[ENT] == {"employeeNumber": "7"}
    assert result.resource["name"] == {"familyName": "F"}


def test_json_encoded_role_value_is_kept_as_sent() -> None:
    """Decoding Entra's JSON-encoded app roles is its dialect's business (scim_portal.idp.entra)."""
    role = {"value": '{"id":"r1","value":"Admin","displayName":"Admin"}'}
    result = normalize_resource(user(roles=[role]), s.USER)
    assert result.resource["roles"] == [role]


def test_only_first_primary_kept() -> None:
    emails = [{"value": "a", "primary": True}, {"value": "b", "Primary": True}, {"value": "c", "primary": False}]
    result = normalize_resource(user(emails=emails), s.USER)
    assert result.resource["emails"] == [
        {"value": "a", "primary": True},
        {"value": "b"},
        {"value": "c", "primary": False},
    ]


def test_password_separated() -> None:
    result = normalize_resource(user(password="1mz050nq"), s.USER)
    assert result.password == "1mz050nq"
    assert "password" not in result.resource


@pytest.mark.parametrize(
    ("resource_type", "body", "name"),
    [
        (s.USER, {"userName": ""}, "userName"),
        (s.USER, {"name": {"givenName": "x"}}, "userName"),
        (s.GROUP, {"displayName": "  "}, "displayName"),
        (s.GROUP, {}, "displayName"),
    ],
)
def test_required(resource_type: s.ResourceType, body: dict, name: str) -> None:
    with pytest.raises(InvalidValue, match=name):
        normalize_resource(body, resource_type)


def test_group_members_separated() -> None:
    body = {"displayName": "g", "members": [{"value": "a", "display": "A"}, "b", {"Value": "a"}]}
    result = normalize_resource(body, s.GROUP)
    assert result.members == ["a", "b"]
    assert result.resource == {"displayName": "g", "schemas": [s.GROUP_URN]}
    assert normalize_resource({"displayName": "g"}, s.GROUP).members is None
    with pytest.raises(InvalidValue):
        member_ids([{"display": "no id"}])


def test_limits() -> None:
    with pytest.raises(InvalidValue):
        normalize_resource(user(title="x" * 11), s.USER, limits=Limits(max_string_length=10))
    deep: dict = {}
    node = deep
    for _ in range(50):
        node["a"] = {}
        node = node["a"]
    with pytest.raises(InvalidValue):
        normalize_resource(user(x=deep), s.USER)
    with pytest.raises(InvalidValue):
        normalize_resource(user(emails=[{"value": str(i)} for i in range(100)]), s.USER, limits=Limits(max_values=50))
    with pytest.raises(InvalidValue):
        normalize_resource({f"k{i}": 1 for i in range(600)}, s.USER)


# --- identity provider shapes ----------------------------------------------------------------


def test_okta_create_user() -> None:
    body = {
        "schemas": [s.USER_URN],
        "userName": "test.user@okta.local",
        "name": {"givenName": "Test", "familyName": "User"},
        "emails": [{"primary": True, "value": "test.user@okta.local", "type": "work"}],
        "displayName": "Test User",
        "locale": "en-US",
        "externalId": "00ujl29u0le5T6Aj10h7",
        "groups": [],
        "password": "1mz050nq",
        "active": True,
    }
    result = normalize_resource(body, s.USER)
    assert result.resource == {
        "schemas": [s.USER_URN],
        "userName": "test.user@okta.local",
        "name": {"givenName": "Test", "familyName": "User"},
        "emails": [{"primary": True, "value": "test.user@okta.local", "type": "work"}],
        "displayName": "Test User",
        "locale": "en-US",
        "externalId": "00ujl29u0le5T6Aj10h7",
        "active": True,
    }
    assert result.password == "1mz050nq"
    assert result.ignored == []


def test_okta_create_group() -> None:
    result = normalize_resource({"schemas": [s.GROUP_URN], "displayName": "Test SCIMv2", "members": []}, s.GROUP)
    assert result.resource == {"schemas": [s.GROUP_URN], "displayName": "Test SCIMv2"}
    assert result.members == []


def test_entra_create_user() -> None:
    body = {
        "schemas": [s.USER_URN, ENT],
        "externalId": "0a21f0f2",
        "userName": "Test_User_00aa",
        "active": True,
        "emails": [{"primary": True, "type": "work", "value": "Test_User_11bb@testuser.com"}],
        "meta": {"resourceType": "User"},
        "name": {"formatted": "givenName familyName", "familyName": "familyName", "givenName": "givenName"},
        "roles": [],
    }
    result = normalize_resource(body, s.USER)
    assert result.resource == {
        "schemas": [s.USER_URN],
        "externalId": "0a21f0f2",
        "userName": "Test_User_00aa",
        "active": True,
        "emails": [{"primary": True, "type": "work", "value": "Test_User_11bb@testuser.com"}],
        "name": {"formatted": "givenName familyName", "familyName": "familyName", "givenName": "givenName"},
    }


def test_entra_postman_pascal_case() -> None:
    body = {
        "schemas": [s.USER_URN, ENT],
        "UserName": "UserName123",
        "Active": "True",
        "DisplayName": "BobIsAmazing",
        "emails": [{"Primary": "True", "type": "work", "value": "bob@x.com"}],
        "addresses": None,
        "title": None,
        ENT: {"Manager": {"Value": "m-1"}, "Department": "Sales"},
        "nonsense": {"a": 1},
    }
    with pytest.raises(InvalidValue):
        normalize_resource(body, s.USER)
    result = entra(body)
    assert result.resource == {
        "schemas": [s.USER_URN, ENT],
        "userName": "UserName123",
        "active": True,
        "displayName": "BobIsAmazing",
        "emails": [{"primary": True, "type": "work", "value": "bob@x.com"}],
        ENT: {"manager": {"value": "m-1"}, "department": "Sales"},
    }
    assert result.ignored == ["nonsense"]


def test_entra_create_group() -> None:
    adscim = "http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group"
    body = {
        "schemas": [s.GROUP_URN, adscim],
        "externalId": "8aa1a0c0",
        "displayName": "displayName",
        "meta": {"resourceType": "Group"},
    }
    result = normalize_resource(body, s.GROUP)
    assert result.resource == {"schemas": [s.GROUP_URN], "externalId": "8aa1a0c0", "displayName": "displayName"}
    assert result.members is None


# --- fuzz -------------------------------------------------------------------------------------

_json = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats()
    | st.text(max_size=8)
    | st.sampled_from(["True", "false", "2024-01-01T00:00:00Z", '{"value":"x"}', ""]),
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(
            st.sampled_from(["value", "Value", "type", "primary", "display", "x"]) | st.text(max_size=5),
            children,
            max_size=4,
        )
    ),
    max_leaves=20,
)
_keys = st.sampled_from(
    [
        "userName",
        "UserName",
        "active",
        "emails",
        "name",
        "name.givenName",
        "manager",
        ENT,
        f"{ENT}:manager",
        "roles",
        "password",
        "members",
        "displayName",
        "schemas",
        "id",
        "groups",
        "x509Certificates",
        "addresses",
        "photos",
    ]
) | st.text(max_size=6)


@settings(max_examples=400, deadline=None)
@given(st.dictionaries(_keys, _json, max_size=6) | _json, st.sampled_from([s.USER, s.GROUP]), st.booleans())
def test_fuzz_only_scim_errors(body: object, resource_type: s.ResourceType, through_entra: bool) -> None:
    with contextlib.suppress(ScimError):
        if through_entra:
            body = ENTRA.prepare_resource(body, resource_type)
        normalize_resource(body, resource_type)
