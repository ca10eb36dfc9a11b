"""PATCH paths (RFC 7644 section 3.5.2) parsed by the query filter's grammar (section 3.4.2.2)."""

from __future__ import annotations

import pytest

from scim_portal.exceptions import InvalidFilter, InvalidPath
from scim_portal.scim.filters import (
    AttrPath,
    Comparison,
    Logical,
    PatchPath,
    Value,
    ValuePath,
    equality_template,
    equality_values,
    filter_attributes,
    matches,
    parse_filter,
    parse_path,
)

ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
CORE = "urn:ietf:params:scim:schemas:core:2.0:User"
URNS = (CORE, ENTERPRISE)


def work() -> Comparison:
    return Comparison(AttrPath("type"), "eq", Value("string", "work", '"work"'))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("title", PatchPath("title")),
        ("name.givenName", PatchPath("name", "givenName")),
        ('emails[type eq "work"]', PatchPath("emails", None, work())),
        ('emails[type eq "work"].value', PatchPath("emails", "value", work())),
        (f"{ENTERPRISE}:employeeNumber", PatchPath("employeeNumber", urn=ENTERPRISE)),
        (f"{ENTERPRISE}.manager", PatchPath("manager", urn=ENTERPRISE)),  # Microsoft's '.' separator
        (f"{ENTERPRISE.lower()}:manager.value", PatchPath("manager", "value", urn=ENTERPRISE)),
        (f'{ENTERPRISE}:manager[value eq "m-1"]',
         PatchPath("manager", None, Comparison(AttrPath("value"), "eq", Value("string", "m-1", '"m-1"')),
                   ENTERPRISE)),
        (f"{CORE}:userName", PatchPath("userName", urn=CORE)),
        ("  title  ", PatchPath("title")),
    ],
)
def test_paths_parse(text: str, expected: PatchPath) -> None:
    assert parse_path(text, URNS) == expected


def test_bracket_is_the_query_filters_value_path() -> None:
    """One AST: the bracket of a PATCH path is what a query's value path holds."""
    text = 'members[value eq "a" or value eq "b"]'
    query = parse_filter(text)
    assert isinstance(query, ValuePath)
    assert parse_path(text).filter == query.filter
    assert isinstance(query.filter, Logical) and len(query.filter.operands) == 2


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ("", InvalidPath),
        ("   ", InvalidPath),
        (None, InvalidPath),
        (ENTERPRISE, InvalidPath),  # a schema, not an attribute
        ("a.b.c", InvalidPath),
        ("name givenName", InvalidPath),
        ('emails[type eq "work"]x', InvalidPath),
        ('emails[type eq "work"].value.x', InvalidPath),
        ('emails[type eq "work"][x]', InvalidPath),
        ('name.x[type eq "work"]', InvalidPath),
        ("1title", InvalidPath),
        ('emails[type eq "work"', InvalidPath),
        ('emails[type eq "work]', InvalidFilter),
        ("emails[type zz 1]", InvalidFilter),
        ('emails[x[type eq "a"]]', InvalidFilter),
        ("emails[]", InvalidFilter),
        ("a" * 5000, InvalidPath),
    ],
)
def test_bad_paths(text: object, error: type[Exception]) -> None:
    with pytest.raises(error):
        parse_path(text, URNS)


def test_in_memory_evaluation_of_the_bracket() -> None:
    email = {"type": "Work", "value": "B@x.test", "primary": True}
    assert matches(parse_path('emails[type eq "work"]').filter, email)
    assert not matches(parse_path('emails[type eq "work"]').filter, email, case_exact=lambda _n: True)
    assert matches(parse_path('e[type eq "work" and value ew "@X.TEST" and primary eq true]').filter, email)
    assert matches(parse_path('e[not (type eq "home") and (value co "zz" or primary pr)]').filter, email)
    assert matches(parse_path("e[display ne \"x\"]").filter, email)  # absent is "not equal"
    assert not matches(parse_path("e[primary eq false]").filter, email)
    assert matches(parse_path("e[count gt 2]").filter, {"count": 3})
    assert matches(parse_path("e[value eq Unquoted]").filter, {"value": "unquoted"})
    with pytest.raises(InvalidFilter):
        matches(parse_path("e[primary gt true]").filter, email)


def test_templates_and_member_ids() -> None:
    assert equality_template(parse_path('emails[type eq "work" and primary eq true]').filter) == {
        "type": "work", "primary": True}
    assert equality_template(parse_path('emails[type eq "work" or type eq "home"]').filter) is None
    node = parse_path('members[value eq "a" or value eq "b" or value eq 7]').filter
    assert equality_values(node, "value") == ["a", "b", 7]
    assert equality_values(parse_path('members[display eq "a"]').filter, "value") is None
    assert filter_attributes(parse_path('e[a eq 1 and (b pr or not (c eq "x"))]').filter) == ["a", "b", "c"]
