"""SCIM filters to Q objects (RFC 7644 section 3.4.2.2), sortBy and attribute lists; no database needed."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

import pytest
from django.db.models import Q
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from scim_portal.exceptions import InvalidFilter, InvalidValue, ScimError
from scim_portal.scim.filters import (
    AttrPath,
    Comparison,
    FilterTarget,
    Logical,
    Not,
    Value,
    ValuePath,
    filter_to_q,
    normalize_attribute_path,
    parse_attribute_list,
    parse_filter,
    sort_lookup,
)

CORE = "urn:ietf:params:scim:schemas:core:2.0:User"
ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
EMPLOYEE_NUMBER = f"{ENTERPRISE}:employeeNumber".lower()
MANAGER_VALUE = f"{ENTERPRISE}:manager.value".lower()

FIELDS: dict[str, FilterTarget] = {
    "id": FilterTarget("scim_id", case_exact=True),
    "username": FilterTarget("user_name"),
    "displayname": FilterTarget("document__displayName"),
    "title": FilterTarget("title"),
    "externalid": FilterTarget("external_id", case_exact=True),
    "username_key": FilterTarget("user_name_key", normalize=str.casefold),
    "name.familyname": FilterTarget("user__last_name"),
    "name.givenname": FilterTarget("user__first_name"),
    "emails.value": FilterTarget("emails__value"),
    "emails.type": FilterTarget("emails__type"),
    "emails.primary": FilterTarget("emails__primary", kind="boolean"),
    "active": FilterTarget("is_active", kind="boolean"),
    "logins": FilterTarget("logins", kind="integer"),
    "score": FilterTarget("score", kind="decimal"),
    "meta.created": FilterTarget("created", kind="datetime"),
    "profileurl": FilterTarget("profile_url", kind="reference"),
    "photo": FilterTarget("photo", kind="binary"),
    EMPLOYEE_NUMBER: FilterTarget("employee_number"),
    MANAGER_VALUE: FilterTarget("manager__scim_id", case_exact=True),
}


def q(text: str, **kwargs) -> Q:
    return filter_to_q(text, FIELDS, default_schema=CORE, **kwargs)


def not_equal(lookup: str, value) -> Q:
    """What a null-aware negation of ``lookup=value`` looks like."""
    field = lookup.rsplit("__", 1)[0]
    return ~Q(**{lookup: value}) | Q(**{f"{field}__isnull": True})


def assert_invalid(text: str, *words: str, **kwargs) -> InvalidFilter:
    with pytest.raises(InvalidFilter) as caught:
        q(text, **kwargs)
    error = caught.value
    assert error.scim_type == "invalidFilter"
    assert error.status == 400
    for word in words:
        assert word.lower() in error.detail.lower(), error.detail
    return error


# -- string operators ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("op", "lookup"),
    [
        ("eq", "iexact"),
        ("co", "icontains"),
        ("sw", "istartswith"),
        ("ew", "iendswith"),
        ("gt", "gt"),
        ("ge", "gte"),
        ("lt", "lt"),
        ("le", "lte"),
    ],
)
def test_string_operators_are_case_insensitive_by_default(op, lookup):
    assert q(f'userName {op} "Bjensen"') == Q(**{f"user_name__{lookup}": "Bjensen"})


@pytest.mark.parametrize(
    ("op", "lookup"),
    [("eq", "exact"), ("co", "contains"), ("sw", "startswith"), ("ew", "endswith"), ("gt", "gt"), ("le", "lte")],
)
def test_case_exact_strings_use_exact_lookups(op, lookup):
    assert q(f'externalId {op} "AbC"') == Q(**{f"external_id__{lookup}": "AbC"})


def test_normalize_is_applied_and_lookups_are_exact():
    assert q('username_key eq "BJensen"') == Q(user_name_key__exact="bjensen")
    assert q('username_key co "JEN"') == Q(user_name_key__contains="jen")


def test_normalize_returning_none_matches_nothing_and_its_negation_everything():
    fields = {"id": FilterTarget("scim_id", case_exact=True, normalize=lambda value: None)}
    assert filter_to_q('id eq "not-a-uuid"', fields, default_schema=CORE) == Q(pk__in=[])
    assert filter_to_q('id ne "not-a-uuid"', fields, default_schema=CORE) == ~Q(pk__in=[])


def test_normalize_errors_become_invalid_filter():
    def strict(value):
        raise ValueError("nope")

    fields = {"id": FilterTarget("scim_id", normalize=strict)}
    with pytest.raises(InvalidFilter, match="id"):
        filter_to_q('id eq "x"', fields, default_schema=CORE)


def test_ne_keeps_rows_where_the_value_is_missing():
    assert q('title ne "Boss"') == ~Q(title__iexact="Boss") | Q(title__isnull=True)


def test_present_on_strings_means_not_null_and_not_empty():
    assert q("title pr") == Q(title__isnull=False) & ~Q(title__exact="")


def test_present_on_other_kinds_means_not_null():
    assert q("active pr") == Q(is_active__isnull=False)
    assert q("meta.created pr") == Q(created__isnull=False)


def test_reference_kind_compares_like_a_string():
    assert q('profileUrl sw "https://"') == Q(profile_url__istartswith="https://")


def test_binary_kind_allows_only_equality_and_compares_exactly():
    assert q('photo eq "aGk="') == Q(photo__exact="aGk=")
    assert_invalid('photo co "aGk"', "co", "photo", "binary")
    assert_invalid('photo gt "aGk"', "gt", "binary")


def test_number_for_a_string_attribute_is_its_text():
    assert q(f"{ENTERPRISE}:employeeNumber eq 0701") == Q(employee_number__iexact="0701")
    assert q("title eq 1.50") == Q(title__iexact="1.50")


def test_boolean_literal_for_a_string_attribute_is_rejected():
    assert_invalid("title eq true", "title", "string")


# -- other kinds -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [("true", True), ("false", False), ("True", True), ('"True"', True), ('"FALSE"', False), ("False", False)],
)
def test_boolean_values(value, expected):
    assert q(f"active eq {value}") == Q(is_active__exact=expected)


def test_boolean_ne_is_null_aware():
    assert q("active ne true") == not_equal("is_active__exact", True)


@pytest.mark.parametrize("op", ["co", "sw", "ew", "gt", "ge", "lt", "le"])
def test_boolean_rejects_non_equality_operators(op):
    assert_invalid(f"active {op} true", op, "active", "boolean")


@pytest.mark.parametrize("value", ['"yes"', "1", '"1"', "maybe"])
def test_boolean_rejects_other_values(value):
    assert_invalid(f"active eq {value}", "active", "boolean")


@pytest.mark.parametrize(("op", "lookup"), [("eq", "exact"), ("gt", "gt"), ("ge", "gte"), ("lt", "lt"), ("le", "lte")])
def test_integer_operators(op, lookup):
    assert q(f"logins {op} 42") == Q(**{f"logins__{lookup}": 42})


def test_integer_accepts_integral_exponent_and_negative_numbers():
    assert q("logins eq 1e3") == Q(logins__exact=1000)
    assert q("logins gt -5") == Q(logins__gt=-5)


@pytest.mark.parametrize("value", ["1.5", '"42"', "true", "99999999999999999999", "1e999999"])
def test_integer_rejects_other_values(value):
    assert_invalid(f"logins eq {value}", "logins")


@pytest.mark.parametrize("op", ["co", "sw", "ew"])
def test_numbers_and_datetimes_reject_substring_operators(op):
    assert_invalid(f"logins {op} 1", op, "logins", "integer")
    assert_invalid(f"score {op} 1", op, "decimal")
    assert_invalid(f'meta.created {op} "2024"', op, "datetime")


def test_decimal_keeps_the_literal_precision():
    assert q("score ge 0.1") == Q(score__gte=Decimal("0.1"))
    assert_invalid('score ge "0.1"', "score", "number")


@pytest.mark.parametrize(("op", "lookup"), [("eq", "exact"), ("gt", "gt"), ("ge", "gte"), ("lt", "lt"), ("le", "lte")])
def test_datetime_operators_compare_aware_datetimes(op, lookup):
    expected = datetime(2024, 1, 1, tzinfo=UTC)
    assert q(f'meta.created {op} "2024-01-01T00:00:00Z"') == Q(**{f"created__{lookup}": expected})


def test_datetime_offsets_and_fractions_are_converted_to_utc():
    value = q('meta.created gt "2024-01-01T02:00:00.5+02:00"').children[0][1]
    assert value == datetime(2024, 1, 1, 0, 0, 0, 500000, tzinfo=UTC)
    assert value.utcoffset() == timedelta(0)


def test_datetime_without_offset_is_utc():
    assert q('meta.created lt "2024-06-01T12:00:00"') == Q(created__lt=datetime(2024, 6, 1, 12, tzinfo=UTC))
    other = datetime(2024, 6, 1, 14, tzinfo=timezone(timedelta(hours=2)))
    assert q('meta.created lt "2024-06-01T12:00:00"').children[0][1] == other


@pytest.mark.parametrize("value", ['"yesterday"', '"2024-13-01T00:00:00Z"', "12", "true", '""'])
def test_datetime_rejects_unparsable_values(value):
    assert_invalid(f"meta.created gt {value}", "meta.created", "date-time")


def test_null_is_not_a_comparison_value():
    error = assert_invalid("title eq null", "null", "title")
    assert "pr" in error.detail
    assert_invalid("title ne NULL", "null")


# -- logic, precedence, grouping ---------------------------------------------------------------


def test_and_binds_tighter_than_or():
    expected = Q(user_name__iexact="a") | (Q(title__iexact="b") & Q(is_active__exact=True))
    assert q('userName eq "a" or title eq "b" and active eq true') == expected
    assert q('title eq "b" and active eq true or userName eq "a"') == (
        (Q(title__iexact="b") & Q(is_active__exact=True)) | Q(user_name__iexact="a")
    )


def test_parentheses_override_precedence():
    expected = (Q(user_name__iexact="a") | Q(title__iexact="b")) & Q(is_active__exact=True)
    assert q('(userName eq "a" or title eq "b") and active eq true') == expected


def test_chains_are_flat():
    tree = parse_filter("title pr and userName pr and active pr or logins gt 1 or logins lt 0")
    assert isinstance(tree, Logical)
    assert tree.op == "or"
    assert len(tree.operands) == 3
    assert isinstance(tree.operands[0], Logical)
    assert len(tree.operands[0].operands) == 3


def test_not_negates_with_null_awareness():
    assert q('not (title eq "x")') == not_equal("title__iexact", "x")
    assert q('not (title ne "x")') == Q(title__iexact="x")
    assert q("not (title pr)") == Q(title__isnull=True) | Q(title__exact="")
    assert q("not (active pr)") == Q(is_active__isnull=True)


def test_not_applies_de_morgan():
    expected = not_equal("title__iexact", "x") | not_equal("is_active__exact", True)
    assert q('not (title eq "x" and active eq true)') == expected
    expected = not_equal("title__iexact", "x") & Q(logins__gt=3)
    assert q('not (title eq "x" or not (logins gt 3))') == expected


def test_not_requires_parentheses():
    assert_invalid('not title eq "x"', "'('", "not")


def test_operators_and_keywords_are_case_insensitive():
    assert q('userName EQ "a" OR NOT (title PR) And active Eq TRUE') == q(
        'userName eq "a" or not (title pr) and active eq true'
    )
    assert q('userName EQ "a"') == Q(user_name__iexact="a")


def test_whitespace_is_flexible():
    assert q('  (userName eq"a")and(title  pr)\t') == q('(userName eq "a") and (title pr)')


# -- attribute paths ---------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["DisplayName", "displayname", "DISPLAYNAME"])
def test_attribute_names_are_case_insensitive(path):
    assert q(f'{path} eq "x"') == Q(document__displayName__iexact="x")


def test_sub_attributes_are_case_insensitive():
    assert q('name.FamilyName eq "Jensen"') == Q(user__last_name__iexact="Jensen")
    assert q('emails.Value co "@example.com"') == Q(emails__value__icontains="@example.com")


def test_core_urn_qualified_paths_mean_the_plain_attribute():
    assert q(f'{CORE}:userName eq "a"') == Q(user_name__iexact="a")
    assert q(f'{CORE.upper()}:name.familyName eq "b"') == Q(user__last_name__iexact="b")


@pytest.mark.parametrize("separator", [":", "."])
def test_extension_urn_paths(separator):
    assert q(f'{ENTERPRISE}{separator}employeeNumber eq "1"') == Q(employee_number__iexact="1")
    assert q(f'{ENTERPRISE.lower()}{separator}manager.value eq "m1"') == Q(manager__scim_id__exact="m1")


def test_multi_valued_attribute_without_sub_attribute_means_value():
    assert q('emails eq "a@example.com"') == Q(emails__value__iexact="a@example.com")
    assert q('emails co "example"') == Q(emails__value__icontains="example")


def test_unknown_attribute_is_named():
    assert_invalid('nickName eq "x"', "nickName", "unknown")
    assert_invalid('urn:example:ext:User:color eq "red"', "urn:example:ext:User:color")
    assert_invalid('name.nope eq "x"', "name.nope")


@pytest.mark.parametrize("path", ["1abc", "a..b", "a.b.c", "na+me", "-x"])
def test_malformed_paths_are_rejected(path):
    assert_invalid(f'{path} eq "x"', "attribute path")


# -- value filters -------------------------------------------------------------------------------


def test_value_filter_combines_in_one_q():
    expected = Q(emails__type__iexact="work") & Q(emails__value__icontains="@example.com")
    assert q('emails[type eq "work" and value co "@example.com"]') == expected


def test_value_filter_with_sub_attribute_after_the_bracket():
    expected = Q(emails__type__iexact="work") & Q(emails__value__iexact="x@example.com")
    assert q('emails[type eq "work"].value eq "x@example.com"') == expected
    assert q('emails[Type EQ "work"].Value eq "x@example.com"') == expected


def test_value_filter_with_or_and_not_inside():
    expected = (Q(emails__type__iexact="work") | Q(emails__type__iexact="home")) & Q(emails__primary__exact=True)
    assert q('emails[(type eq "work" or type eq "home") and primary eq true]') == expected
    assert q('emails[not (type eq "work")]') == not_equal("emails__type__iexact", "work")


def test_value_filter_is_negated_as_a_whole():
    inner = Q(emails__type__iexact="work") & Q(emails__value__icontains="x")
    assert q('not (emails[type eq "work" and value co "x"])') == ~inner


def test_value_filter_combined_with_other_filters():
    expected = Q(user_name__istartswith="b") & (Q(emails__type__iexact="work") & Q(emails__primary__exact=True))
    assert q('userName sw "b" and emails[type eq "work" and primary eq true]') == expected


def test_value_filter_on_an_extension_attribute():
    assert q(f'{ENTERPRISE}:manager[value eq "m1"]') == Q(manager__scim_id__exact="m1")


def test_value_filter_unknown_sub_attribute_is_named():
    assert_invalid('emails[color eq "red"]', "emails.color")


def test_value_filters_cannot_nest_or_use_paths_inside():
    assert_invalid('emails[type[value eq "x"] eq "y"]', "nested")
    assert_invalid('emails[emails.type eq "work"]', "sub-attribute")
    assert_invalid('emails[type eq "work"', "']'")


def test_parse_filter_gives_the_ast():
    tree = parse_filter('emails[type eq "work"].value eq "x"')
    assert tree == ValuePath(
        AttrPath("emails"),
        Comparison(AttrPath("type"), "eq", Value("string", "work", '"work"')),
        Comparison(AttrPath("value"), "eq", Value("string", "x", '"x"')),
    )
    assert parse_filter("not (title pr)") == Not(Comparison(AttrPath("title"), "pr"))


# -- literals ----------------------------------------------------------------------------------------


def test_string_escapes():
    assert q(r'title eq "he said \"hi\""') == Q(title__iexact='he said "hi"')
    assert q(r'title eq "back\\slash \u00e9 \/ tab\t"') == Q(title__iexact="back\\slash \u00e9 / tab\t")


def test_strings_keep_delimiters_and_keywords():
    assert q('title eq "a) or (b eq [c]"') == Q(title__iexact="a) or (b eq [c]")


@pytest.mark.parametrize("literal", [r'"bad \x escape"', r'"\ud800"', r'"\u0000"', '"unterminated'])
def test_bad_string_literals(literal):
    assert_invalid(f"title eq {literal}", "offset")


def test_unquoted_words_are_strings():
    assert q("name.FamilyName eq Employee") == Q(user__last_name__iexact="Employee")
    assert q("emails.value eq a.b@example.com and active eq true") == (
        Q(emails__value__iexact="a.b@example.com") & Q(is_active__exact=True)
    )


def test_ambiguous_unquoted_words_are_rejected():
    assert_invalid("title eq and", "value")
    assert_invalid("title eq Senior Engineer", "Engineer", "offset 16")


# -- syntax errors and limits ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("", ["empty"]),
        ("   ", ["empty"]),
        ('title regex "x"', ["regex", "not supported"]),
        ("title", ["operator", "end of the filter"]),
        ("title eq", ["value", "end of the filter"]),
        ('(title eq "x"', ["')'", "offset 0"]),
        ('title eq "x")', ["')'", "offset 12"]),
        ('title eq "x" and', ["attribute path", "end of the filter"]),
        ('title eq "x" title eq "y"', ["'and', 'or'", "offset 13"]),
        ('and title eq "x"', ["attribute path"]),
        ("title eq (x)", ["value"]),
        ("()", ["attribute path"]),
        ('emails[type eq "w"].value', ["operator"]),
        ('emails[type eq "w"].1x eq "a"', ["sub-attribute"]),
    ],
)
def test_syntax_errors_name_the_problem(text, words):
    assert_invalid(text, *words)


def test_maximum_length():
    text = 'title eq "' + "x" * 100 + '"'
    assert_invalid(text, "longer than 50", max_length=50)
    assert_invalid('title eq "' + "x" * 5000 + '"', "4096")
    assert q(text, max_length=200) == Q(title__iexact="x" * 100)


def test_maximum_depth():
    assert q("(" * 32 + "title pr" + ")" * 32) == q("title pr")
    assert_invalid("(" * 33 + "title pr" + ")" * 33, "32 levels")
    assert_invalid("not (" * 5 + "title pr" + ")" * 5, "3 levels", max_depth=3)


def test_non_string_input_is_invalid_filter():
    assert_invalid(None, "string")  # type: ignore[arg-type]


def test_nul_and_lone_surrogates_are_rejected():
    assert_invalid("title eq \x00", "NUL")
    assert_invalid("title eq \ud800", "Unicode")


# -- fuzzing -------------------------------------------------------------------------------------------

_PIECES = [
    "title",
    "userName",
    "emails",
    "emails.value",
    "name.familyName",
    "active",
    "logins",
    "meta.created",
    "score",
    "photo",
    f"{ENTERPRISE}:employeeNumber",
    f"{CORE}:userName",
    "type",
    "value",
    ".value",
    "eq",
    "ne",
    "co",
    "sw",
    "ew",
    "gt",
    "ge",
    "lt",
    "le",
    "pr",
    "and",
    "or",
    "not",
    "AND",
    "Not",
    "(",
    ")",
    "[",
    "]",
    '"',
    '"x"',
    r'"a\"b"',
    "\\",
    "true",
    "False",
    "null",
    "12",
    "-1.5e3",
    "1e99999",
    '"2024-01-01T00:00:00Z"',
    " ",
    " ",
    " ",
    "\t",
    "urn:",
    ":",
    ".",
    "$ref",
    "\u00e9",
    "\x00",
]


@settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(st.lists(st.sampled_from(_PIECES), max_size=30).map("".join) | st.text(max_size=200))
def test_fuzz_only_scim_errors_or_q(text):
    try:
        result = q(text)
    except ScimError:
        return
    assert isinstance(result, Q)


_ATTRIBUTES = st.sampled_from(["title", "userName", "displayName", "name.givenName", f"{ENTERPRISE}:employeeNumber"])
_STRINGS = st.text(max_size=20).filter(lambda s: "\x00" not in s and not any(0xD800 <= ord(c) < 0xE000 for c in s))


def _leaf(draw_attr: str, op: str, value: str) -> str:
    import json

    return f"{draw_attr} pr" if op == "pr" else f"{draw_attr} {op} {json.dumps(value)}"


_VALID = st.recursive(
    st.builds(_leaf, _ATTRIBUTES, st.sampled_from(["eq", "ne", "co", "sw", "ew", "gt", "le", "pr"]), _STRINGS),
    lambda inner: st.one_of(
        st.builds(lambda a, b: f"{a} and {b}", inner, inner),
        st.builds(lambda a, b: f"{a} or {b}", inner, inner),
        st.builds(lambda a: f"not ({a})", inner),
        st.builds(lambda a: f"({a})", inner),
    ),
    max_leaves=8,
)


@settings(max_examples=200, deadline=None)
@given(_VALID)
def test_fuzz_valid_filters_always_translate(text):
    assert isinstance(q(text), Q)


# -- sortBy --------------------------------------------------------------------------------------------


def test_sort_lookup_resolves_paths():
    assert sort_lookup("userName", FIELDS, default_schema=CORE) == FIELDS["username"]
    assert sort_lookup("Name.FamilyName", FIELDS, default_schema=CORE) == FIELDS["name.familyname"]
    assert sort_lookup(f"{CORE}:meta.created", FIELDS, default_schema=CORE) == FIELDS["meta.created"]
    assert sort_lookup(f"{ENTERPRISE}:employeeNumber", FIELDS, default_schema=CORE) == FIELDS[EMPLOYEE_NUMBER]
    assert sort_lookup("emails", FIELDS, default_schema=CORE) == FIELDS["emails.value"]


@pytest.mark.parametrize(
    ("sort_by", "word"),
    [
        ("nickName", "nickName"),
        ("", "attribute path"),
        ('emails[type eq "w"]', "attribute path"),
        ("a b", "attribute path"),
    ],
)
def test_sort_lookup_rejects_unknown_or_malformed(sort_by, word):
    with pytest.raises(InvalidValue) as caught:
        sort_lookup(sort_by, FIELDS, default_schema=CORE)
    assert caught.value.scim_type == "invalidValue"
    assert word in caught.value.detail


# -- attribute lists -------------------------------------------------------------------------------------


def test_attribute_list_is_split_and_normalised():
    text = f" userName,Name.GivenName , {ENTERPRISE}:manager,{CORE}:emails,{ENTERPRISE},,userName"
    assert parse_attribute_list(text) == [
        "username",
        "name.givenname",
        f"{ENTERPRISE}:manager".lower(),
        "emails",
        ENTERPRISE.lower(),
    ]


def test_attribute_list_keeps_urn_colons():
    assert parse_attribute_list(f"{ENTERPRISE}:manager.value") == [f"{ENTERPRISE}:manager.value".lower()]
    assert parse_attribute_list(f"{CORE}.userName") == ["username"]
    assert parse_attribute_list(CORE) == [CORE.lower()]


@pytest.mark.parametrize("text", ['emails[type eq "work"]', "a b", "1x", "x" * 5000, "a\x00"])
def test_attribute_list_rejects_bad_items(text):
    with pytest.raises(InvalidValue) as caught:
        parse_attribute_list(text)
    assert caught.value.scim_type == "invalidValue"


def test_normalize_attribute_path():
    assert normalize_attribute_path(" Meta.LastModified ") == "meta.lastmodified"
    assert normalize_attribute_path(f"{CORE}:name.givenName") == "name.givenname"
    assert normalize_attribute_path("urn:ietf:params:scim:schemas:core:2.0:Group:members") == "members"
    assert normalize_attribute_path(f"{ENTERPRISE}:department") == f"{ENTERPRISE}:department".lower()
