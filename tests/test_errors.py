"""Errors over HTTP (RFC 7644 3.12): every failure is a SCIM error body with the right status,
never a 500, and a failed request changes nothing.  Ends with a property-based test that throws
random junk at every write and at the filter parameter."""

from __future__ import annotations

import json
import uuid
from urllib.parse import urlencode

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from scim_portal.models import IdentityProvider, ProvisioningLog
from tests.conftest import ScimClient
from tests.protocol import (
    ENTERPRISE,
    GROUP,
    PATCH_OP,
    USER,
    assert_error,
    create_group,
    create_user,
    db_state,
    patch_body,
    user_body,
)

pytestmark = pytest.mark.django_db


# --- bodies ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("raw", ['{"userName": ', "not json", "{'single': 'quotes'}", "\x00\x01", "[1, 2,]"])
def test_malformed_json_is_400_invalid_syntax(scim, raw):
    user = create_user(scim, "target@example.com")
    group = create_group(scim, "Target")
    before = db_state()
    for method, path in (("POST", "Users"), ("PUT", f"Users/{user['id']}"), ("PATCH", f"Users/{user['id']}"),
                         ("POST", "Groups"), ("PUT", f"Groups/{group['id']}"), ("PATCH", f"Groups/{group['id']}"),
                         ("POST", "Users/.search")):
        assert_error(scim.request(method, path, raw=raw), 400, "invalidSyntax")
    assert db_state() == before


@pytest.mark.parametrize("body", [[user_body("x@example.com")], "a string", 42, None, True])
def test_non_object_bodies_are_400(scim, body):
    user = create_user(scim, "target@example.com")
    before = db_state()
    for method, path in (("POST", "Users"), ("PUT", f"Users/{user['id']}"), ("PATCH", f"Users/{user['id']}"),
                         ("POST", "Groups")):
        response = scim.request(method, path, raw=json.dumps(body))
        assert_error(response, 400)
        assert response.json_body["scimType"] in ("invalidSyntax", "invalidValue")
    assert db_state() == before


def test_empty_body_is_400(scim):
    user = create_user(scim, "target@example.com")
    before = db_state()
    assert_error(scim.request("POST", "Users", raw=""), 400)
    assert_error(scim.request("PATCH", f"Users/{user['id']}", raw=""), 400)
    assert db_state() == before


@pytest.mark.parametrize("schemas", [[GROUP], ["urn:nope"], "urn:nope", [1, 2], {"a": 1}])
def test_wrong_resource_schemas_are_400_invalid_syntax(scim, schemas):
    before = db_state()
    assert_error(scim.post("Users", {**user_body("w@example.com"), "schemas": schemas}), 400, "invalidSyntax")
    assert db_state() == before


def test_wrong_patch_schemas_and_envelopes_are_400(scim):
    user = create_user(scim, "p@example.com")
    path = f"Users/{user['id']}"
    before = db_state()
    op = {"op": "replace", "path": "title", "value": "x"}
    assert_error(scim.patch(path, {"schemas": [USER], "Operations": [op]}), 400, "invalidSyntax")
    assert_error(scim.patch(path, {"schemas": [PATCH_OP]}), 400, "invalidSyntax")
    assert_error(scim.patch(path, {"schemas": [PATCH_OP], "Operations": []}), 400, "invalidSyntax")
    assert_error(scim.patch(path, {"schemas": [PATCH_OP], "Operations": op}), 400, "invalidSyntax")
    assert_error(scim.patch(path, {"schemas": [PATCH_OP], "Operations": ["replace"]}), 400, "invalidSyntax")
    assert_error(scim.patch(path, patch_body({**op, "path": 7})), 400, "invalidPath")
    assert db_state() == before


def test_missing_or_invalid_required_attributes(scim):
    before = db_state()
    assert_error(scim.post("Users", {"schemas": [USER], "name": {"givenName": "No"}}), 400, "invalidValue")
    assert_error(scim.post("Users", {"schemas": [USER], "userName": "   "}), 400, "invalidValue")
    assert_error(scim.post("Users", {"schemas": [USER], "userName": ["a", "b"]}), 400, "invalidValue")
    assert_error(scim.post("Users", {**user_body("b@example.com"), "active": "yes"}), 400, "invalidValue")
    assert_error(scim.post("Users", {**user_body("c@example.com"), "name": "Just A String"}), 400, "invalidValue")
    assert_error(scim.post("Users", {**user_body("d@example.com"), ENTERPRISE: "flat"}), 400, "invalidValue")
    assert_error(scim.post("Groups", {"schemas": [GROUP]}), 400, "invalidValue")
    assert db_state() == before


def test_entra_requires_its_mapped_attributes(make_integration, scim_for):
    entra = scim_for(make_integration(IdentityProvider.ENTRA))
    before = db_state()
    response = entra.post("Users", {"schemas": [USER], "userName": "bare@example.com"})
    body = assert_error(response, 400, "invalidValue")
    assert "name.givenName" in body["detail"]
    assert db_state() == before


def test_oversized_body_is_413(scim, settings):
    settings.SCIM_PORTAL = {**settings.SCIM_PORTAL, "MAX_BODY_BYTES": 2048}
    user = create_user(scim, "big@example.com")
    before = db_state()
    huge = user_body("huge@example.com", title="x" * 4096)
    assert_error(scim.post("Users", huge), 413)
    assert_error(scim.put(f"Users/{user['id']}", huge), 413)
    assert_error(scim.patch(f"Users/{user['id']}", patch_body(
        {"op": "replace", "path": "title", "value": "y" * 4096})), 413)
    assert db_state() == before
    assert scim.post("Users", user_body("small@example.com")).status_code == 201


def test_too_many_operations_is_400_too_many(scim, settings):
    settings.SCIM_PORTAL = {**settings.SCIM_PORTAL, "MAX_OPERATIONS": 3}
    user = create_user(scim, "ops@example.com")
    before = db_state()
    ops = [{"op": "replace", "path": "title", "value": str(i)} for i in range(4)]
    assert_error(scim.patch(f"Users/{user['id']}", patch_body(*ops)), 400, "tooMany")
    assert db_state() == before


@pytest.mark.parametrize("body", [
    user_body("nul\x00@example.com"),
    user_body("title@example.com", title="a\x00b"),
    user_body("key@example.com", **{"x\x00y": "value"}),
    user_body("long" * 80 + "@example.com"),
    user_body("ext@example.com", externalId="e" * 300),
    user_body("given@example.com", name={"givenName": "g" * 300}),
    {"schemas": [GROUP], "displayName": "g" * 300},
    {"schemas": [GROUP], "displayName": "nul\x00"},
])
def test_values_the_database_cannot_store_are_400_never_500(scim, body):
    """PostgreSQL refuses NUL characters and over-long values; SQLite stores long ones."""
    before = db_state()
    response = scim.post("Groups" if body["schemas"] == [GROUP] else "Users", body)
    if response.status_code != 201:
        assert_error(response, 400, "invalidValue")
        assert db_state() == before
    else:
        assert "\\u0000" not in json.dumps(body)  # only over-long values may be stored
    # Refused or not, the request is in the provisioning log (PostgreSQL: without its NULs).
    row = ProvisioningLog.objects.order_by("-pk").first()
    assert row is not None and row.status == response.status_code


@pytest.mark.parametrize("query", ["startIndex=99999999999999999999999&count=5", "count=99999999999999999999999",
                                   "startIndex=-99999999999999999999999"])
def test_huge_paging_numbers_are_clamped(scim, query):
    create_user(scim, "one@example.com")
    response = scim.get(f"Users?{query}")
    assert response.status_code == 200, response.json_body
    assert response.json_body["totalResults"] == 1


# --- resources and endpoints --------------------------------------------------------------------


@pytest.mark.parametrize("resource", ["Users", "Groups"])
@pytest.mark.parametrize("scim_id", [str(uuid.uuid4()), "010101001010101011001010101011", "1", "%20"])
def test_unknown_ids_are_404(scim, resource, scim_id):
    for method in ("GET", "PUT", "PATCH", "DELETE"):
        body = {
            "PATCH": patch_body({"op": "remove", "path": "title"}),
            "PUT": user_body("x@example.com") if resource == "Users" else {"schemas": [GROUP], "displayName": "x"},
        }.get(method)
        response = scim.request(method, f"{resource}/{scim_id}", body)
        assert_error(response, 404)


def test_another_integrations_resources_are_404(scim, make_integration, scim_for):
    other = scim_for(make_integration(IdentityProvider.OKTA))
    user = create_user(other, "theirs@example.com")
    group = create_group(other, "Theirs")
    before = db_state()
    assert_error(scim.get(f"Users/{user['id']}"), 404)
    assert_error(scim.patch(f"Users/{user['id']}", patch_body({"op": "replace", "path": "title", "value": "x"})), 404)
    assert_error(scim.delete(f"Groups/{group['id']}"), 404)
    assert db_state() == before


@pytest.mark.parametrize(("method", "path", "status"), [
    ("POST", "Bulk", 501),
    ("GET", "Bulk", 501),
    ("GET", "Me", 501),
    ("POST", ".search", 501),
    ("GET", "Nope", 404),
    ("GET", "Users/a/b/c", 404),
    ("GET", "", 400),
])
def test_endpoints_without_a_resource(scim, method, path, status):
    body = {"schemas": ["urn:ietf:params:scim:api:messages:2.0:BulkRequest"], "Operations": []}
    assert_error(scim.request(method, path, body if method == "POST" else None), status)


@pytest.mark.parametrize(("method", "path"), [("DELETE", "Users"), ("PUT", "Groups"), ("PATCH", "Users"),
                                              ("DELETE", "Groups/.search")])
def test_unsupported_methods_are_405(scim, method, path):
    body = {"displayName": "x"} if method in ("PUT", "PATCH") else None
    assert_error(scim.request(method, path, body), 405)


def test_missing_or_bad_token_is_401_scim_error(db):
    anonymous = ScimClient(None)
    response = anonymous.get("Users")
    assert_error(response, 401)
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert_error(ScimClient("scim_not-a-token").post("Users", user_body("x@example.com")), 401)


def test_error_statuses_are_strings_in_every_case(scim):
    for response in (scim.get("Users?filter=nope"), scim.get(f"Users/{uuid.uuid4()}"), scim.get("Bulk")):
        assert isinstance(response.json_body["status"], str)
        assert response["Content-Type"].startswith("application/scim+json")


# --- property-based: random junk never breaks the server -------------------------------------------


json_scalars = st.one_of(
    st.none(), st.booleans(), st.integers(min_value=-(10**20), max_value=10**20),
    st.floats(allow_nan=False, allow_infinity=False), st.text(max_size=30), st.text(min_size=250, max_size=400),
    st.sampled_from(["True", "False", "", " ", "null", "urn:", "[", '"', "\\", "\x00", "💥"]),
)
attribute_names = st.one_of(
    st.sampled_from([
        "userName", "USERNAME", "name", "name.givenName", "emails", "active", "displayName", "members",
        "externalId", "id", "meta", "schemas", "title", "phoneNumbers", "roles", "manager", "groups", "password",
        ENTERPRISE, f"{ENTERPRISE}:manager", f"{ENTERPRISE}:employeeNumber", "emails[type eq \"work\"].value",
        'members[value eq "x"]', "nickName", "x509Certificates", "addresses",
    ]),
    st.text(max_size=12),
)
json_values = st.recursive(
    json_scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=4),
        st.dictionaries(attribute_names, children, max_size=5),
    ),
    max_leaves=12,
)
resource_bodies = st.one_of(
    json_values,
    st.builds(
        lambda name, extra: {**user_body(f"{name}@example.com"), **extra},
        st.text(alphabet="abcdefgh", min_size=1, max_size=8),
        st.dictionaries(attribute_names, json_values, max_size=3),
    ),
    st.fixed_dictionaries(
        {"schemas": st.one_of(st.just([USER]), st.just([GROUP]), json_values)},
        optional={"userName": json_values, "displayName": json_values, "members": json_values,
                  "active": json_values, "name": json_values, "emails": json_values, ENTERPRISE: json_values},
    ),
)
operations = st.fixed_dictionaries(
    {"op": st.one_of(st.sampled_from(["add", "Replace", "remove", "REMOVE", "move"]), json_scalars)},
    optional={"path": st.one_of(attribute_names, json_scalars), "value": json_values},
)
patch_bodies = st.one_of(
    json_values,
    st.fixed_dictionaries({"schemas": st.one_of(st.just([PATCH_OP]), json_values),
                           "Operations": st.one_of(st.lists(operations, max_size=4), json_values)}),
)
filter_texts = st.one_of(
    st.text(max_size=60),
    st.lists(
        st.sampled_from([
            "userName", "title", "emails", "emails.value", "meta.lastModified", "active", "displayName",
            "members.value", "id", "externalId", f"{ENTERPRISE}:department", "eq", "ne", "co", "sw", "pr",
            "gt", "le", "and", "or", "not", "(", ")", "[", "]", '"x"', '"2020-01-01T00:00:00Z"', "true",
            "null", "1.5e3", "-7", '"\\u00e9"', '"\\q"', "type", ".value",
        ]),
        max_size=8,
    ).map(" ".join),
)


def check(response, before: dict, *, may_change: bool = True) -> None:
    assert response.status_code < 500, (response.status_code, response.json_body)
    if response.status_code >= 400:
        body = response.json_body
        assert body["schemas"] == ["urn:ietf:params:scim:api:messages:2.0:Error"], body
        assert body["status"] == str(response.status_code)
        assert isinstance(body["detail"], str)
        assert 400 <= response.status_code < 500
        assert db_state() == before, "a failed request changed the database"
    elif not may_change:
        assert db_state() == before


@pytest.fixture
def junk_target(make_integration, scim_for):
    client = scim_for(make_integration(IdentityProvider.GENERIC))
    member = create_user(client, "member@example.com", title="Member")
    group = create_group(client, "Junk", members=[member["id"]])
    return client, member["id"], group["id"]


PROPERTY_SETTINGS = settings(
    max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@PROPERTY_SETTINGS
@given(body=resource_bodies, method=st.sampled_from(["POST Users", "PUT Users", "POST Groups", "PUT Groups"]))
def test_random_resource_bodies_never_break_the_server(junk_target, body, method):
    client, user_id, group_id = junk_target
    verb, resource = method.split()
    path = resource if verb == "POST" else f"{resource}/{user_id if resource == 'Users' else group_id}"
    before = db_state()
    check(client.request(verb, path, raw=json.dumps(body)), before)


@PROPERTY_SETTINGS
@given(body=patch_bodies, resource=st.sampled_from(["Users", "Groups"]))
def test_random_patch_bodies_never_break_the_server(junk_target, body, resource):
    client, user_id, group_id = junk_target
    before = db_state()
    target = user_id if resource == "Users" else group_id
    check(client.patch(f"{resource}/{target}", raw=json.dumps(body)), before)


@PROPERTY_SETTINGS
@given(text=filter_texts, resource=st.sampled_from(["Users", "Groups"]),
       extra=st.sampled_from(["", "&sortBy=title", "&attributes=userName", "&excludedAttributes=members",
                              "&count=1&startIndex=2"]))
def test_random_filters_never_break_the_server(junk_target, text, resource, extra):
    client, _user_id, _group_id = junk_target
    before = db_state()
    response = client.get(f"{resource}?{urlencode({'filter': text})}{extra}")
    check(response, before, may_change=False)
    if response.status_code >= 400:
        assert response.status_code == 400
        assert response.json_body.get("scimType") in ("invalidFilter", "invalidValue")
    else:
        assert response.json_body["totalResults"] >= len(response.json_body["Resources"])


@PROPERTY_SETTINGS
@given(path=st.text(min_size=1, max_size=40), value=json_values)
def test_random_patch_paths_never_break_the_server(junk_target, path, value):
    client, user_id, _group_id = junk_target
    before = db_state()
    check(client.patch(f"Users/{user_id}", patch_body({"op": "replace", "path": path, "value": value})), before)


# --- causes of 500s seen over HTTP (issue #11 item 2) ---------------------------------------------

SURROGATE = '"\\ud800"'  # a lone UTF-16 surrogate, as JSON text


def with_surrogate(body: dict, key: str) -> str:
    """``body`` as JSON text with ``key`` holding a lone surrogate (json.dumps cannot write one)."""
    return json.dumps({**body, key: "@@"}).replace('"@@"', SURROGATE)


def last_log() -> ProvisioningLog:
    row = ProvisioningLog.objects.order_by("-pk").first()
    assert row is not None
    return row


@pytest.mark.parametrize("key", ["userName", "displayName", "x"])
def test_a_lone_surrogate_is_400_and_logged(scim, key):
    user = create_user(scim, "s@example.com")
    before, logged = db_state(), ProvisioningLog.objects.count()
    for method, path in (("POST", "Users"), ("PUT", f"Users/{user['id']}")):
        response = scim.request(method, path, raw=with_surrogate(user_body("t@example.com"), key))
        body = assert_error(response, 400, "invalidValue")
        assert key in body["detail"] and "surrogate" in body["detail"]
        row = last_log()
        assert (row.method, row.status, row.request_id) == (method, 400, response["X-Request-ID"])
        assert row.request_body[key] == "\\ud800"  # escaped, so the row can be stored
    op = json.dumps(patch_body({"op": "replace", "path": key, "value": "@@"})).replace('"@@"', SURROGATE)
    assert_error(scim.request("PATCH", f"Users/{user['id']}", raw=op), 400, "invalidValue")
    assert ProvisioningLog.objects.count() == logged + 3
    assert db_state() == before


def test_a_lone_surrogate_in_a_member_id_or_group_name_is_400(scim):
    before = db_state()
    raw = json.dumps({"schemas": [GROUP], "displayName": "G", "members": [{"value": "@@"}]})
    raw = raw.replace('"@@"', SURROGATE)
    assert_error(scim.request("POST", "Groups", raw=raw), 400, "invalidValue")
    raw = with_surrogate({"schemas": [GROUP]}, "displayName")
    assert_error(scim.request("POST", "Groups", raw=raw), 400, "invalidValue")
    assert db_state() == before
    assert last_log().request_body["displayName"] == "\\ud800"


def test_a_valid_surrogate_pair_is_kept(scim):
    raw = json.dumps(user_body("pair@example.com", title="\U0001f600"))  # written as \ud83d\ude00
    response = scim.request("POST", "Users", raw=raw)
    assert response.status_code == 201, response.json_body
    assert response.json_body["title"] == "\U0001f600"
    assert last_log().request_body["title"] == "\U0001f600"


@pytest.mark.parametrize("resource", ["Users", "Groups"])
@pytest.mark.parametrize(("text", "matches"), [("id pr", 1), ("not (id pr)", 0), ("meta.resourceType pr", 1),
                                               ("not (meta.resourceType pr)", 0)])
def test_pr_on_ids_and_resource_type(scim, resource, text, matches):
    create_user(scim, "pr@example.com") if resource == "Users" else create_group(scim, "Pr")
    response = scim.get(f"{resource}?{urlencode({'filter': text})}")
    assert response.status_code == 200, response.json_body
    assert response.json_body["totalResults"] == matches


def test_members_value_pr_finds_groups_with_members(scim):
    member = create_user(scim, "m@example.com")
    full = create_group(scim, "Full", members=[member["id"]])
    empty = create_group(scim, "Empty")
    for text, expected in (("members.value pr", [full["id"]]), ("not (members.value pr)", [empty["id"]])):
        response = scim.get(f"Groups?{urlencode({'filter': text})}")
        assert response.status_code == 200, response.json_body
        assert [g["id"] for g in response.json_body["Resources"]] == expected


@pytest.mark.parametrize("schemas", [1, True, {"a": 1}, 1.5])
def test_search_with_schemas_that_are_not_a_list_is_400(scim, schemas):
    assert_error(scim.post("Users/.search", {"schemas": schemas}), 400, "invalidSyntax")
    assert_error(scim.post("Groups/.search", {"schemas": schemas}), 400, "invalidSyntax")


@pytest.mark.parametrize("authenticated", [True, False])
def test_deeply_nested_json_is_400_scim_error(scim, authenticated):
    client = scim if authenticated else ScimClient(None)
    before = db_state()
    for depth in (100, 2000, 100_000):
        response = client.request("POST", "Users", raw="[" * depth + "]" * depth)
        assert_error(response, 400 if authenticated else 401, "invalidValue" if authenticated else None)
        row = last_log()
        assert row.request_id == response["X-Request-ID"]
        if authenticated:
            assert row.request_body == {"unparsed": True, "size": 2 * depth, "sha256": row.request_body["sha256"]}
    assert db_state() == before


def test_whatever_escapes_drf_answers_a_scim_error(scim, monkeypatch):
    """The last resort: a failure while rendering or logging still gets a SCIM body, logged."""
    from scim_portal.api import negotiation

    def broken(self, *args, **kwargs):
        raise RuntimeError("renderer broke")

    monkeypatch.setattr(negotiation.ScimJSONRenderer, "render", broken)
    response = scim.get("ServiceProviderConfig")
    assert response.status_code == 500
    assert response["Content-Type"].startswith("application/scim+json")
    assert response.json_body["schemas"] == ["urn:ietf:params:scim:api:messages:2.0:Error"]
    assert response.json_body["status"] == "500"
    assert "logged" in response.json_body["detail"]
    assert last_log().request_id == response["X-Request-ID"]


def test_a_failing_log_does_not_fail_the_answer(scim, monkeypatch):
    from scim_portal import audit

    monkeypatch.setattr(audit, "_insert", lambda fields: 1 / 0)
    assert scim.get("ServiceProviderConfig").status_code == 200
