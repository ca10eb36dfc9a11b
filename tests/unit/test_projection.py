"""attributes / excludedAttributes on rendered resources (RFC 7644 sections 3.4.2.5 and 3.9)."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scim_portal.scim.filters import parse_attribute_list
from scim_portal.scim.projection import project, wants

CORE = "urn:ietf:params:scim:schemas:core:2.0:User"
ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"


def user() -> dict[str, Any]:
    return {
        "schemas": [CORE, ENTERPRISE],
        "id": "2819c223",
        "externalId": "701984",
        "userName": "bjensen@example.com",
        "name": {"familyName": "Jensen", "givenName": "Barbara"},
        "emails": [
            {"value": "bjensen@example.com", "type": "work", "primary": True},
            {"value": "babs@jensen.org", "type": "home"},
        ],
        "active": True,
        ENTERPRISE: {"employeeNumber": "701984", "manager": {"value": "26118915", "displayName": "John"}},
        "meta": {"resourceType": "User", "created": "2010-01-23T04:56:22Z"},
    }


def run(attributes: str | None = None, excluded: str | None = None, **kwargs) -> dict[str, Any]:
    return project(
        user(),
        attributes=parse_attribute_list(attributes) if attributes is not None else None,
        excluded=parse_attribute_list(excluded) if excluded is not None else None,
        **kwargs,
    )


def test_no_parameters_returns_an_equal_copy():
    resource = user()
    result = project(resource, attributes=None, excluded=None)
    assert result == user()
    result["name"]["givenName"] = "changed"
    result["emails"].append({})
    assert resource == user()


def test_attributes_keep_only_named_ones_plus_id_and_schemas():
    assert run("userName") == {"schemas": [CORE], "id": "2819c223", "userName": "bjensen@example.com"}


def test_attribute_names_match_case_insensitively():
    assert run("USERNAME,Name.GIVENNAME") == {
        "schemas": [CORE],
        "id": "2819c223",
        "userName": "bjensen@example.com",
        "name": {"givenName": "Barbara"},
    }


def test_meta_is_returned_only_when_asked_for():
    assert "meta" not in run("userName")
    assert run("meta.created")["meta"] == {"created": "2010-01-23T04:56:22Z"}


def test_sub_attribute_of_a_multi_valued_attribute():
    assert run("emails.type")["emails"] == [{"type": "work"}, {"type": "home"}]
    assert run("emails.primary")["emails"] == [{"primary": True}]


def test_attribute_list_with_parent_and_child_returns_the_parent_whole():
    assert run("name.givenName,name")["name"] == user()["name"]
    assert run("name,name.givenName")["name"] == user()["name"]


def test_extension_attribute_by_urn_path():
    result = run(f"{ENTERPRISE}:employeeNumber")
    assert result == {"schemas": [CORE, ENTERPRISE], "id": "2819c223", ENTERPRISE: {"employeeNumber": "701984"}}
    assert run(f"{ENTERPRISE}:manager.value")[ENTERPRISE] == {"manager": {"value": "26118915"}}


def test_extension_urn_with_a_dot_separator():
    assert run(f"{ENTERPRISE}.employeeNumber")[ENTERPRISE] == {"employeeNumber": "701984"}


def test_bare_extension_urn_means_the_whole_extension():
    assert run(ENTERPRISE)[ENTERPRISE] == user()[ENTERPRISE]
    result = run(excluded=ENTERPRISE)
    assert ENTERPRISE not in result
    assert result["schemas"] == [CORE]


def test_bare_core_urn_means_every_core_attribute():
    result = run(CORE)
    assert ENTERPRISE not in result
    assert result["userName"] == "bjensen@example.com"
    assert result["meta"] == user()["meta"]


def test_core_urn_qualified_attribute():
    assert run(f"{CORE}:userName") == run("userName")


def test_excluded_attributes_are_removed():
    result = run(excluded="emails,name.givenName,meta")
    assert "emails" not in result
    assert "meta" not in result
    assert result["name"] == {"familyName": "Jensen"}
    assert result["userName"] == "bjensen@example.com"


def test_excluded_sub_attribute_of_a_multi_valued_attribute():
    assert run(excluded="emails.primary,emails.type")["emails"] == [
        {"value": "bjensen@example.com"},
        {"value": "babs@jensen.org"},
    ]


def test_id_and_schemas_cannot_be_excluded():
    result = run(excluded="id,schemas,userName")
    assert result["id"] == "2819c223"
    assert result["schemas"] == [CORE, ENTERPRISE]
    assert "userName" not in result


def test_custom_always_attributes():
    result = run("userName", always=frozenset({"id", "schemas", "meta"}))
    assert result["meta"] == user()["meta"]
    assert "meta" in run(excluded="meta", always=frozenset({"id", "schemas", "meta"}))


def test_extension_emptied_by_exclusion_is_dropped_with_its_schema():
    result = run(excluded=f"{ENTERPRISE}:employeeNumber,{ENTERPRISE}:manager")
    assert ENTERPRISE not in result
    assert result["schemas"] == [CORE]


def test_complex_attribute_emptied_by_exclusion_is_dropped():
    assert "name" not in run(excluded="name.givenName,name.familyName")


def test_unknown_attributes_are_ignored():
    assert run("nickName") == {"schemas": [CORE], "id": "2819c223"}
    assert run(excluded="nickName,urn:example:other:1.0:Thing") == user()


def test_sub_attribute_of_a_simple_attribute_selects_nothing():
    assert "userName" not in run("userName.x")
    assert run(excluded="userName.x")["userName"] == "bjensen@example.com"


def test_attributes_then_excluded_when_both_are_given():
    result = run("name,userName", excluded="name.familyName")
    assert result == {
        "schemas": [CORE],
        "id": "2819c223",
        "userName": "bjensen@example.com",
        "name": {"givenName": "Barbara"},
    }


def test_never_by_default_needs_an_explicit_request():
    hidden = frozenset({"emails"})
    assert "emails" not in run(never_by_default=hidden)
    assert "emails" not in run("userName", never_by_default=hidden)
    assert run("emails", never_by_default=hidden)["emails"] == user()["emails"]
    assert run("emails.value", never_by_default=hidden)["emails"] == [
        {"value": "bjensen@example.com"},
        {"value": "babs@jensen.org"},
    ]


def test_empty_lists_behave_like_none():
    assert project(user(), attributes=[], excluded=[]) == user()


def test_input_is_never_mutated_by_any_projection():
    resource = user()
    for attributes, excluded in [("name.givenName", None), (None, "emails.type"), (ENTERPRISE, "meta")]:
        run(attributes, excluded)
        project(resource, attributes=parse_attribute_list(attributes or ""), excluded=None)
    assert resource == user()


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.sampled_from(
            [
                "id",
                "userName",
                "name",
                "name.givenName",
                "emails",
                "emails.value",
                "meta",
                ENTERPRISE,
                f"{ENTERPRISE}:manager.value",
                "schemas",
                "nope",
            ]
        ),
        max_size=4,
    ),
    st.lists(st.sampled_from(["id", "name.familyName", "emails.type", ENTERPRISE, "meta", "active"]), max_size=3),
)
def test_fuzz_projection_keeps_always_and_agrees_with_wants(attributes, excluded):
    resource = user()
    attrs = parse_attribute_list(",".join(attributes))
    gone = parse_attribute_list(",".join(excluded))
    result = project(resource, attributes=attrs, excluded=gone)
    assert resource == user()
    assert result["id"] == "2819c223"
    assert set(result["schemas"]) <= {CORE, ENTERPRISE}
    for key in user():
        assert (key in result) == wants(key, attributes=attrs, excluded=gone)


# -- wants -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "attributes", "excluded", "expected"),
    [
        ("members", None, None, True),
        ("members", None, ["members"], False),
        ("members", [], [], True),
        ("members", None, ["members.display"], True),
        ("members.value", None, ["members"], False),
        ("members", ["displayname"], None, False),
        ("members", ["members.value"], None, True),
        ("members", ["Members"], None, True),
        ("name.givenName", ["name"], None, True),
        ("name", ["name.givenname"], None, True),
        ("id", ["displayname"], ["id"], True),
        ("schemas", None, ["schemas"], True),
        ("meta", ["username"], None, False),
        (ENTERPRISE, [f"{ENTERPRISE}:manager".lower()], None, True),
        (f"{ENTERPRISE}:manager", [ENTERPRISE.lower()], None, True),
        (f"{ENTERPRISE}:manager", None, [ENTERPRISE.lower()], False),
        ("username", [CORE.lower()], None, True),
        (f"{CORE}:userName", ["username"], None, True),
    ],
)
def test_wants(path, attributes, excluded, expected):
    assert wants(path, attributes=attributes, excluded=excluded) is expected


def test_wants_never_by_default():
    hidden = frozenset({"members"})
    assert wants("members", attributes=None, excluded=None, never_by_default=hidden) is False
    assert wants("members", attributes=["members"], excluded=None, never_by_default=hidden) is True
    assert wants("members", attributes=["members.value"], excluded=None, never_by_default=hidden) is True
