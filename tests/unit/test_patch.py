"""The PATCH engine (RFC 7644 section 3.5.2)."""

from __future__ import annotations

import contextlib
import copy

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scim_portal.exceptions import (
    InvalidFilter,
    InvalidPath,
    InvalidSyntax,
    InvalidValue,
    Mutability,
    NoTarget,
    ScimError,
    TooMany,
)
from scim_portal.idp.base import Dialect
from scim_portal.idp.entra import EntraDialect
from scim_portal.scim import schema as s
from scim_portal.scim.patch import MembershipDelta, apply_patch

ENT = s.ENTERPRISE_USER_URN
PATCH = s.PATCH_OP_URN


def base_user() -> dict:
    return {
        "schemas": [s.USER_URN, ENT],
        "id": "u-1",
        "userName": "bjensen",
        "name": {"givenName": "Barbara", "familyName": "Jensen"},
        "active": True,
        "emails": [{"value": "b@work.test", "type": "work", "primary": True}, {"value": "b@home.test", "type": "home"}],
        ENT: {"employeeNumber": "1", "manager": {"value": "m-1", "displayName": "Boss"}},
    }


def base_group() -> dict:
    return {"schemas": [s.GROUP_URN], "id": "g-1", "displayName": "Staff"}


def patch(resource: dict, *ops: dict, resource_type: s.ResourceType = s.USER, dialect: Dialect | None = None,
          **kwargs: object):
    """The RFC engine; with ``dialect``, the body first goes through that IdP's rewrites (as the view does)."""
    body = {"schemas": [PATCH], "Operations": list(ops)}
    if dialect is not None:
        body = dialect.prepare_patch(body, resource_type.with_extensions(kwargs.get("extensions", ())))  # type: ignore[arg-type]
    return apply_patch(resource, body, resource_type, **kwargs)


def user_patch(*ops: dict):
    return patch(base_user(), *ops)


def group_patch(*ops: dict) -> MembershipDelta:
    return patch(base_group(), *ops, resource_type=s.GROUP).members


ENTRA = EntraDialect()


def entra_user_patch(*ops: dict):
    return patch(base_user(), *ops, dialect=ENTRA)


def entra_group_patch(*ops: dict) -> MembershipDelta:
    return patch(base_group(), *ops, resource_type=s.GROUP, dialect=ENTRA).members


# --- envelope ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "body", [[], "x", {}, {"Operations": []}, {"Operations": {}}, {"schemas": ["urn:x"], "Operations": [{}]}]
)
def test_envelope_errors(body: object) -> None:
    with pytest.raises(InvalidSyntax):
        apply_patch(base_user(), body, s.USER)


def test_schemas_optional_and_operations_any_case() -> None:
    result = apply_patch(base_user(), {"operations": [{"op": "replace", "path": "title", "value": "X"}]}, s.USER)
    assert result.resource["title"] == "X"


def test_too_many_operations() -> None:
    ops = [{"op": "replace", "path": "title", "value": "X"}] * 3
    with pytest.raises(TooMany):
        patch(base_user(), *ops, max_operations=2)


@pytest.mark.parametrize("op", ["Add", "REPLACE", "replace "])
def test_op_is_lower_case_and_entra_capitals_are_rewritten(op: str) -> None:
    with pytest.raises(InvalidSyntax):
        user_patch({"op": op, "path": "title", "value": "X"})
    assert entra_user_patch({"op": op, "path": "title", "value": "X"}).resource["title"] == "X"


def test_unknown_op_and_missing_value() -> None:
    with pytest.raises(InvalidSyntax):
        user_patch({"op": "move", "path": "title", "value": "X"})
    with pytest.raises(InvalidValue):
        user_patch({"op": "add", "path": "title"})


@pytest.mark.parametrize(
    "path",
    [
        'emails[type eq "work"',
        "name.givenName.x",
        "9abc",
        "emails[type eq]",
        'emails[type zz "w"]',
        'title[value eq "x"]',
        "userName.x",
        s.USER_URN,
    ],
)
def test_bad_paths(path: str) -> None:
    with pytest.raises((InvalidPath, InvalidFilter)):
        user_patch({"op": "replace", "path": path, "value": "X"})


# --- simple attributes ------------------------------------------------------------------------


def test_input_not_mutated_and_changed_flag() -> None:
    resource = base_user()
    snapshot = copy.deepcopy(resource)
    result = patch(resource, {"op": "replace", "path": "name.givenName", "value": "Babs"})
    assert resource == snapshot
    assert result.changed and result.resource["name"] == {"givenName": "Babs", "familyName": "Jensen"}
    assert not patch(resource, {"op": "replace", "path": "active", "value": True}).changed


def test_atomic_on_error() -> None:
    resource = base_user()
    snapshot = copy.deepcopy(resource)
    with pytest.raises(Mutability):
        patch(resource, {"op": "replace", "path": "title", "value": "X"}, {"op": "remove", "path": "userName"})
    assert resource == snapshot


def test_boolean_string_and_wrong_type() -> None:
    with pytest.raises(InvalidValue, match="active"):
        user_patch({"op": "replace", "path": "active", "value": "False"})  # RFC 7643 2.3.2: JSON booleans
    assert entra_user_patch({"op": "Replace", "path": "active", "value": "False"}).resource["active"] is False
    primary = entra_user_patch({"op": "replace", "path": 'emails[type eq "home"].primary', "value": "True"})
    assert [e.get("primary") for e in primary.resource["emails"]] == [None, True]
    for dialect in (None, ENTRA):
        with pytest.raises(InvalidValue, match="active"):
            patch(base_user(), {"op": "replace", "path": "active", "value": "nope"}, dialect=dialect)
        # a string attribute keeps the string "True"
        assert patch(base_user(), {"op": "replace", "path": "title", "value": "True"},
                     dialect=dialect).resource["title"] == "True"


def test_attribute_names_any_case_and_core_urn_prefix() -> None:
    result = user_patch(
        {"op": "replace", "path": "NAME.FAMILYNAME", "value": "J"},
        {"op": "replace", "path": f"{s.USER_URN}:displayName", "value": "Babs"},
    )
    assert result.resource["name"]["familyName"] == "J"
    assert result.resource["displayName"] == "Babs"


def test_unknown_attribute_ignored_and_reported() -> None:
    result = user_patch(
        {"op": "replace", "path": "favouriteColour", "value": "red"}, {"op": "add", "value": {"shoeSize": 9}}
    )
    assert not result.changed
    assert result.ignored == ["favouriteColour", "shoeSize"]


def test_replace_complex_merges_given_sub_attributes() -> None:
    """RFC 7644 3.5.2.3: sub-attributes not given are left unchanged (add merges likewise, 3.5.2.1)."""
    result = user_patch({"op": "replace", "path": "name", "value": {"givenName": "B"}})
    assert result.resource["name"] == {"givenName": "B", "familyName": "Jensen"}
    result = user_patch({"op": "add", "path": "name", "value": {"middleName": "M"}})
    assert result.resource["name"] == {"givenName": "Barbara", "familyName": "Jensen", "middleName": "M"}


def test_replace_multi_valued_without_filter_replaces_all() -> None:
    result = user_patch({"op": "replace", "path": "emails", "value": [{"value": "n@x", "type": "Other"}]})
    assert result.resource["emails"] == [{"value": "n@x", "type": "other"}]


def test_add_multi_valued_appends_deduplicated_and_moves_primary() -> None:
    result = user_patch(
        {
            "op": "add",
            "path": "emails",
            "value": [{"value": "b@home.test", "type": "home"}, {"value": "n@x", "type": "other", "primary": True}],
        }
    )
    assert result.resource["emails"] == [
        {"value": "b@work.test", "type": "work"},
        {"value": "b@home.test", "type": "home"},
        {"value": "n@x", "type": "other", "primary": True},
    ]


def test_remove_simple_and_required() -> None:
    assert "title" not in user_patch({"op": "remove", "path": "title"}).resource
    with pytest.raises(Mutability):
        user_patch({"op": "remove", "path": "userName"})
    with pytest.raises(InvalidValue):
        user_patch({"op": "replace", "path": "userName", "value": ""})
    with pytest.raises(NoTarget):
        user_patch({"op": "remove"})


def test_remove_multi_valued_values_by_value() -> None:
    with pytest.raises(InvalidValue, match="takes no 'value'"):  # RFC 7644 3.5.2.2: remove has no value
        user_patch({"op": "remove", "path": "emails", "value": [{"value": "B@HOME.test"}]})
    result = entra_user_patch({"op": "remove", "path": "emails", "value": [{"value": "B@HOME.test"}]})
    assert [e["value"] for e in result.resource["emails"]] == ["b@work.test"]
    assert "emails" not in user_patch({"op": "remove", "path": "emails"}).resource
    assert "emails" not in user_patch({"op": "remove", "path": "emails", "value": []}).resource


@pytest.mark.parametrize("path", ["id", "meta", "groups", "meta.created", f"{ENT}:manager.displayName"])
def test_read_only_paths(path: str) -> None:
    with pytest.raises(Mutability):
        user_patch({"op": "replace", "path": path, "value": "x"})


def test_read_only_same_value_is_a_no_op() -> None:
    assert not user_patch({"op": "replace", "path": "id", "value": "u-1"}).changed


def test_immutable_attribute() -> None:
    extension = s.Schema.from_scim(
        {"id": "urn:acme:2.0:User", "attributes": [{"name": "badge", "mutability": "immutable"}]}
    )
    resource = base_user()
    added = patch(resource, {"op": "add", "path": "urn:acme:2.0:User:badge", "value": "b1"}, extensions=[extension])
    assert added.resource["urn:acme:2.0:User"] == {"badge": "b1"}
    again = patch(added.resource, {"op": "replace", "path": "badge", "value": "b1"}, extensions=[extension])
    assert not again.changed
    with pytest.raises(Mutability):
        patch(added.resource, {"op": "replace", "path": "badge", "value": "b2"}, extensions=[extension])


def test_password_separated() -> None:
    result = user_patch({"op": "replace", "value": {"password": "s3cret"}})
    assert result.password == "s3cret" and result.changed
    assert "password" not in result.resource
    assert user_patch({"op": "replace", "path": "password", "value": "x"}).password == "x"


# --- value paths ------------------------------------------------------------------------------


def test_replace_filtered_sub_attribute() -> None:
    result = user_patch({"op": "replace", "path": 'emails[type eq "work"].value', "value": "new@work.test"})
    assert result.resource["emails"][0] == {"value": "new@work.test", "type": "work", "primary": True}


def test_replace_and_add_filtered_create_when_missing() -> None:
    with pytest.raises(NoTarget):  # RFC 7644 3.5.2.3
        user_patch({"op": "replace", "path": 'phoneNumbers[type eq "mobile"].value', "value": "555"})
    added = user_patch({"op": "add", "path": 'phoneNumbers[type eq "mobile"].value', "value": "555"})
    assert added.resource["phoneNumbers"] == [{"type": "mobile", "value": "555"}]
    result = entra_user_patch(
        {"op": "replace", "path": 'phoneNumbers[type eq "mobile"].value', "value": "555"},
        {"op": "add", "path": 'addresses[type eq "work"].locality', "value": "Oslo"},
    )
    assert result.resource["phoneNumbers"] == [{"type": "mobile", "value": "555"}]
    assert result.resource["addresses"] == [{"type": "work", "locality": "Oslo"}]


def test_filter_without_template_and_no_match_is_no_target() -> None:
    with pytest.raises(NoTarget):
        user_patch({"op": "replace", "path": 'emails[value co "zzz"].display', "value": "x"})


def test_replace_whole_filtered_value() -> None:
    result = user_patch({"op": "replace", "path": 'emails[type eq "home"]', "value": {"value": "h2@x"}})
    assert result.resource["emails"][1] == {"type": "home", "value": "h2@x"}


def test_remove_filtered_values_and_sub_attributes() -> None:
    result = user_patch({"op": "remove", "path": 'emails[type eq "home" or value ew "@nowhere"]'})
    assert [e["type"] for e in result.resource["emails"]] == ["work"]
    result = user_patch({"op": "remove", "path": "emails[primary eq true].primary"})
    assert all("primary" not in e for e in result.resource["emails"])
    assert not user_patch({"op": "remove", "path": 'emails[type eq "pager"]'}).changed


def test_filter_grammar() -> None:
    cases = {
        'emails[not (type eq "work")]': ["b@home.test"],
        'emails[type sw "W" and (value co "work" or value pr)]': ["b@work.test"],
        'emails[value ne "b@work.test"]': ["b@home.test"],
        'emails[value gt "b@i"]': ["b@work.test"],
        "emails[primary pr]": ["b@work.test"],
    }
    for path, removed in cases.items():
        result = user_patch({"op": "remove", "path": path})
        kept = {e["value"] for e in result.resource["emails"]}
        assert kept == {"b@work.test", "b@home.test"} - set(removed), path
    with pytest.raises(InvalidFilter):
        user_patch({"op": "remove", "path": "emails[primary gt true]"})
    with pytest.raises(InvalidFilter):
        user_patch({"op": "remove", "path": 'emails[colour eq "x"]'})


def test_filtered_primary_moves() -> None:
    result = user_patch({"op": "replace", "path": 'emails[type eq "home"].primary', "value": True})
    assert result.resource["emails"] == [
        {"value": "b@work.test", "type": "work"},
        {"value": "b@home.test", "type": "home", "primary": True},
    ]


def test_manager_paths() -> None:
    for path in ("manager", f"{ENT}:manager", 'manager[value eq "m-1"]', f'{ENT}:manager[value eq "M-1"]'):
        result = user_patch({"op": "remove", "path": path})
        assert result.resource[ENT] == {"employeeNumber": "1"}, path
    assert user_patch({"op": "remove", "path": 'manager[value eq "other"]'}).resource[ENT]["manager"]["value"] == "m-1"


@pytest.mark.parametrize("value", ["m-2", {"value": "m-2"}, [{"value": "m-2"}], {"Value": "m-2"}])
def test_manager_value_shapes(value: object) -> None:
    result = user_patch({"op": "replace", "path": f"{ENT}:manager", "value": value})
    assert result.resource[ENT]["manager"] == {"value": "m-2"}


def test_enterprise_urn_paths_and_whole_extension() -> None:
    result = user_patch(
        {"op": "replace", "path": f"{ENT}:employeeNumber", "value": "9"},
        {"op": "add", "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0User:department", "value": "R&D"},
        {"op": "add", "path": f"{ENT}.costCenter", "value": "cc"},
    )
    assert result.resource[ENT] == {
        "employeeNumber": "9",
        "manager": {"value": "m-1", "displayName": "Boss"},
        "department": "R&D",
        "costCenter": "cc",
    }
    result = user_patch({"op": "remove", "path": ENT.upper()})
    assert ENT not in result.resource and result.resource["schemas"] == [s.USER_URN]
    result = user_patch({"op": "replace", "path": ENT, "value": {"division": "D"}})
    assert result.resource[ENT]["division"] == "D" and result.resource[ENT]["employeeNumber"] == "1"


# --- no-path ----------------------------------------------------------------------------------


def test_no_path_value_must_be_object() -> None:
    with pytest.raises(InvalidValue):
        user_patch({"op": "replace", "value": "x"})


def test_no_path_keys_are_paths() -> None:
    result = user_patch(
        {
            "op": "replace",
            "value": {
                "id": "other",
                "meta": {},
                "schemas": ["x"],
                "groups": [],
                "name.givenName": "Kkom",
                f"{ENT}:employeeNumber": "Aklq",
                ENT: {"division": "D"},
                "active": False,
            },
        }
    )
    assert result.resource["name"] == {"givenName": "Kkom", "familyName": "Jensen"}
    assert result.resource[ENT]["employeeNumber"] == "Aklq" and result.resource[ENT]["division"] == "D"
    assert result.resource["active"] is False and result.resource["id"] == "u-1"


# --- roles ------------------------------------------------------------------------------------


def test_roles_json_string_value() -> None:
    """Entra's JSON-encoded app roles are decoded by its dialect; the RFC engine keeps them as sent."""
    value = [{"value": '{"id":"r1","value":"Admin","displayName":"Admin"}'}]
    result = entra_user_patch({"op": "add", "path": "roles", "value": value})
    assert result.resource["roles"] == [{"value": "Admin", "display": "Admin"}]
    assert user_patch({"op": "add", "path": "roles", "value": value}).resource["roles"] == value
    no_path = entra_user_patch({"op": "add", "value": {"roles": value}})
    assert no_path.resource["roles"] == [{"value": "Admin", "display": "Admin"}]


# --- members ----------------------------------------------------------------------------------


def test_members_add_accepts_shapes() -> None:
    delta = group_patch(
        {"op": "add", "path": "members", "value": [{"value": "a", "display": "A"}, "b", {"Value": "c"}, {"value": "a"}]}
    )
    assert delta == MembershipDelta(add=["a", "b", "c"])


def test_members_replace_remove_all_and_filters() -> None:
    assert group_patch({"op": "replace", "path": "members", "value": [{"value": "a"}]}).replace == ["a"]
    assert group_patch({"op": "remove", "path": "members"}) == MembershipDelta(remove_all=True)
    with pytest.raises(InvalidValue, match="takes no 'value'"):  # never read as "remove them all"
        group_patch({"op": "remove", "path": "members", "value": [{"value": "x"}]})
    assert entra_group_patch({"op": "Remove", "path": "members", "value": [{"value": "x"}]}).remove == ["x"]
    delta = group_patch({"op": "remove", "path": 'members[value eq "a" or value eq "b"]'})
    assert delta.remove == ["a", "b"]
    with pytest.raises(InvalidFilter):
        group_patch({"op": "remove", "path": 'members[display eq "a"]'})
    with pytest.raises(Mutability):
        group_patch({"op": "replace", "path": "members.$ref", "value": "x"})


def test_members_sequence_semantics() -> None:
    delta = group_patch(
        {"op": "add", "path": "members", "value": ["a", "b"]}, {"op": "remove", "path": 'members[value eq "a"]'}
    )
    assert delta == MembershipDelta(add=["b"], remove=["a"])
    delta = group_patch({"op": "remove", "path": "members"}, {"op": "add", "path": "members", "value": ["c"]})
    assert delta == MembershipDelta(add=["c"], remove_all=True)
    delta = group_patch(
        {"op": "replace", "path": "members", "value": ["a"]},
        {"op": "add", "path": "members", "value": ["b"]},
        {"op": "remove", "path": 'members[value eq "a"]'},
    )
    assert delta == MembershipDelta(replace=["b"])


def test_members_on_user_ignored() -> None:
    assert user_patch({"op": "add", "path": "members", "value": ["a"]}).ignored == ["members"]


# --- identity provider shapes (idp_behaviour sections 2.2, 2.3, 3.3, 3.4) ---------------------


def test_okta_deactivate() -> None:
    result = apply_patch(
        base_user(), {"schemas": [PATCH], "Operations": [{"op": "replace", "value": {"active": False}}]}, s.USER
    )
    assert result.resource == {**base_user(), "active": False}
    assert result.changed and result.members.is_empty


def test_okta_group_rename() -> None:
    body = {"schemas": [PATCH], "Operations": [{"op": "replace", "value": {"id": "g-1", "displayName": "New name"}}]}
    result = apply_patch(base_group(), body, s.GROUP)
    assert result.resource == {**base_group(), "displayName": "New name"}
    assert result.members.is_empty


def test_okta_membership_delta() -> None:
    body = {
        "schemas": [PATCH],
        "Operations": [
            {"op": "remove", "path": 'members[value eq "89bb1940"]'},
            {"op": "add", "path": "members", "value": [{"value": "23a35c27", "display": "test.user@okta.local"}]},
        ],
    }
    result = apply_patch(base_group(), body, s.GROUP)
    assert result.members == MembershipDelta(add=["23a35c27"], remove=["89bb1940"])
    assert result.resource == base_group()


def test_okta_full_membership_push_and_no_path_members() -> None:
    body = {"Operations": [{"op": "replace", "path": "members", "value": [{"value": "a"}, {"value": "b"}]}]}
    assert apply_patch(base_group(), body, s.GROUP).members == MembershipDelta(replace=["a", "b"])
    body = {"Operations": [{"op": "replace", "value": {"members": [{"value": "a"}]}}]}
    assert apply_patch(base_group(), body, s.GROUP).members == MembershipDelta(replace=["a"])


def test_entra_legacy_user_update() -> None:
    body = {
        "schemas": [PATCH],
        "Operations": [
            {"op": "Replace", "path": 'emails[type eq "work"].value', "value": "updatedEmail@microsoft.com"},
            {"op": "Replace", "path": "name.familyName", "value": "updatedFamilyName"},
            {"op": "Replace", "path": "userName", "value": "new@contoso.com"},
            {"op": "Add", "path": "nickName", "value": "Babs"},
            {"op": "Replace", "path": f"{ENT}:employeeNumber", "value": "Eqpj"},
            {"op": "Replace", "path": "active", "value": "False"},
        ],
    }
    result = apply_patch(base_user(), ENTRA.prepare_patch(body, s.USER), s.USER)
    assert result.resource == {
        "schemas": [s.USER_URN, ENT],
        "id": "u-1",
        "userName": "new@contoso.com",
        "name": {"givenName": "Barbara", "familyName": "updatedFamilyName"},
        "active": False,
        "nickName": "Babs",
        "emails": [
            {"value": "updatedEmail@microsoft.com", "type": "work", "primary": True},
            {"value": "b@home.test", "type": "home"},
        ],
        ENT: {"employeeNumber": "Eqpj", "manager": {"value": "m-1", "displayName": "Boss"}},
    }


def test_entra_flagged_no_path_paths() -> None:
    body = {
        "schemas": [PATCH],
        "Operations": [
            {
                "op": "replace",
                "value": {
                    "displayName": "Bjfe",
                    "name.givenName": "Kkom",
                    "name.familyName": "Unua",
                    f"{ENT}:employeeNumber": "Aklq",
                },
            }
        ],
    }
    result = apply_patch(base_user(), body, s.USER)
    assert result.resource["displayName"] == "Bjfe"
    assert result.resource["name"] == {"givenName": "Kkom", "familyName": "Unua"}
    assert result.resource[ENT]["employeeNumber"] == "Aklq"


def test_entra_email_created_when_absent() -> None:
    resource = {"schemas": [s.USER_URN], "id": "u", "userName": "x"}
    result = patch(resource, {"op": "Replace", "path": 'emails[type eq "work"].value', "value": "x@y"}, dialect=ENTRA)
    assert result.resource["emails"] == [{"type": "work", "value": "x@y"}]


def test_entra_manager_shapes() -> None:
    manager = [{"$ref": "http://x/scim/Users/m-9", "value": "m-9"}]
    add = entra_user_patch({"op": "Add", "path": "manager", "value": manager})
    assert add.resource[ENT]["manager"] == {"value": "m-9", "$ref": "http://x/scim/Users/m-9"}
    replace = entra_user_patch({"op": "Replace", "path": f"{ENT}:manager", "value": "m-8"})
    assert replace.resource[ENT]["manager"] == {"value": "m-8"}
    remove = user_patch({"op": "remove", "path": 'manager[value eq "m-1"]'})
    assert "manager" not in remove.resource[ENT]


def test_entra_deactivate_boolean() -> None:
    assert entra_user_patch({"op": "Replace", "path": "active", "value": False}).resource["active"] is False


def test_entra_group_operations() -> None:
    assert (
        patch(base_group(), {"op": "Replace", "path": "displayName", "value": "new"}, resource_type=s.GROUP,
              dialect=ENTRA).resource[
            "displayName"
        ]
        == "new"
    )
    assert entra_group_patch({"op": "Add", "path": "members", "value": [{"$ref": None, "value": "f648"}]}).add == [
        "f648"]
    assert entra_group_patch({"op": "Remove", "path": "members", "value": [{"value": "u1091"}]}) == MembershipDelta(
        remove=["u1091"]
    )
    assert entra_group_patch({"op": "remove", "path": 'members[value eq "7f4b"]'}) == MembershipDelta(
        remove=["7f4b"])
    assert entra_group_patch({"op": "Add", "path": "members", "value": "bare-id"}).add == ["bare-id"]


# --- fuzz -------------------------------------------------------------------------------------

_paths = st.sampled_from(
    [
        None,
        "",
        "title",
        "active",
        "name",
        "name.givenName",
        "emails",
        'emails[type eq "work"].value',
        'emails[type eq "work"]',
        'emails[value co "x" or not (type pr)]',
        "manager",
        'manager[value eq "m-1"]',
        f"{ENT}:manager",
        f"{ENT}:employeeNumber",
        ENT,
        "members",
        'members[value eq "a"]',
        "members.value",
        "id",
        "groups",
        "userName",
        "roles",
        "password",
        "meta.created",
        "x509Certificates",
        "emails[",
        "a.b.c",
    ]
) | st.text(max_size=12)
_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=6) | st.sampled_from(["True", "m-1", '{"value":1}']),
    lambda children: (
        st.lists(children, max_size=3)
        | st.dictionaries(
            st.sampled_from(["value", "type", "primary", "givenName", "members", "name.givenName", "id", ENT, "active"])
            | st.text(max_size=4),
            children,
            max_size=3,
        )
    ),
    max_leaves=12,
)
_ops = st.fixed_dictionaries(
    {"op": st.sampled_from(["add", "Replace", "remove", "x"])}, optional={"path": _paths, "value": _values}
)


@settings(max_examples=500, deadline=None)
@given(st.lists(_ops | _values, max_size=5), st.sampled_from([s.USER, s.GROUP]), st.sampled_from([None, ENTRA]))
def test_fuzz_only_scim_errors(operations: list, resource_type: s.ResourceType, dialect: Dialect | None) -> None:
    """Neither the engine nor a dialect's rewrites raise anything but a SCIM error."""
    resource = base_user() if resource_type is s.USER else base_group()
    snapshot = copy.deepcopy(resource)
    body: object = {"Operations": operations}
    with contextlib.suppress(ScimError):
        if dialect is not None:
            body = dialect.prepare_patch(body, resource_type)
        apply_patch(resource, body, resource_type)
    assert resource == snapshot


def test_dialect_keeps_a_malformed_operation_for_the_engine_to_name() -> None:
    body = {"Operations": [{"op": "Replace", "path": "title", "value": "X"}, {"op": 5}]}
    prepared = ENTRA.prepare_patch(body, s.USER)
    assert prepared["Operations"] == [{"op": "replace", "path": "title", "value": "X"}, {"op": 5}]
    with pytest.raises(InvalidSyntax, match="Operation 1"):
        apply_patch(base_user(), prepared, s.USER)
