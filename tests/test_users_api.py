"""/Users over HTTP: create, read, replace, patch (every IdP shape), delete, filters, lists."""

from __future__ import annotations

import json
import uuid
from datetime import datetime, timedelta

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone

from scim_portal.models import ScimUser
from tests.protocol import (
    ENTERPRISE,
    LIST,
    PATCH_OP,
    SEARCH,
    USER,
    assert_error,
    create_user,
    db_state,
    host_user,
    patch_body,
    user_body,
)

pytestmark = pytest.mark.django_db

User = get_user_model()

HOST_EXTENSION = "urn:example:params:scim:schemas:extension:portal:2.0:User"
HOST_EXTENSION_SCHEMA = {
    "id": HOST_EXTENSION,
    "name": "PortalUser",
    "attributes": [
        {"name": "costCode", "type": "string"},
        {"name": "seniority", "type": "integer"},
        {"name": "remote", "type": "boolean"},
    ],
}


def parse_time(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


# --- create and read ---------------------------------------------------------------------------


def test_post_returns_201_with_location_meta_and_opaque_id(scim):
    before = timezone.now()
    response = scim.post("Users", user_body("ada@example.com", externalId="okta-1"))
    assert response.status_code == 201
    body = response.json_body
    identity = ScimUser.objects.get(user_name="ada@example.com")

    assert str(uuid.UUID(body["id"])) == identity.scim_id
    assert body["id"] not in (str(identity.pk), str(identity.user_id))
    assert body["schemas"] == [USER]
    assert body["externalId"] == "okta-1"
    meta = body["meta"]
    assert meta["resourceType"] == "User"
    assert response["Location"] == meta["location"]
    assert meta["location"].endswith(f"/scim/v2/Users/{body['id']}")
    assert meta["location"].startswith("http")
    assert response["ETag"] == meta["version"] == identity.etag
    assert meta["version"].startswith('W/"')
    created, modified = parse_time(meta["created"]), parse_time(meta["lastModified"])
    assert before - timedelta(seconds=1) <= created <= modified <= timezone.now() + timedelta(seconds=1)
    assert response["Content-Type"].startswith("application/scim+json")


def test_get_returns_what_post_returned(scim):
    created = create_user(scim, "ada@example.com")
    response = scim.get(f"Users/{created['id']}")
    assert response.status_code == 200
    assert response.json_body == created
    assert response["ETag"] == created["meta"]["version"]


def test_ids_are_random_uuids_not_sequences(scim):
    first = create_user(scim, "a@example.com")["id"]
    second = create_user(scim, "b@example.com")["id"]
    assert uuid.UUID(first).version == uuid.UUID(second).version == 4
    assert first != second


def test_id_survives_username_and_email_changes(scim):
    created = create_user(scim, "old@example.com")
    put = scim.put(f"Users/{created['id']}", user_body("new@example.com"))
    assert put.status_code == 200
    assert put.json_body["id"] == created["id"]
    assert put.json_body["userName"] == "new@example.com"
    assert scim.get(f"Users/{created['id']}").json_body["userName"] == "new@example.com"


def test_round_trip_returns_exactly_what_was_sent(scim, settings):
    settings.SCIM_PORTAL = {**settings.SCIM_PORTAL, "EXTENSION_SCHEMAS": [HOST_EXTENSION_SCHEMA]}
    sent = {
        "schemas": [USER, ENTERPRISE, HOST_EXTENSION],
        "userName": "grace@example.com",
        "externalId": "00u-grace",
        "name": {"givenName": "Grace", "familyName": "Hopper", "formatted": "Grace Hopper",
                 "honorificPrefix": "Rear Admiral"},
        "displayName": "Grace Hopper",
        "nickName": "Amazing Grace",
        "title": "Rear Admiral",
        "locale": "en-US",
        "preferredLanguage": "en",
        "timezone": "America/New_York",
        "userType": "Employee",
        "active": True,
        "emails": [
            {"value": "grace@example.com", "type": "work", "primary": True},
            {"value": "grace@home.example", "type": "home"},
        ],
        "phoneNumbers": [
            {"value": "+1 555 0100", "type": "work", "primary": True},
            {"value": "+1 555 0199", "type": "mobile"},
        ],
        "addresses": [{"type": "work", "locality": "Arlington", "country": "US", "primary": True}],
        ENTERPRISE: {
            "employeeNumber": "1906",
            "department": "Navy",
            "organization": "US Navy",
            "costCenter": "CC-1",
            "division": "Computing",
        },
        HOST_EXTENSION: {"costCode": "NAV-1", "seniority": 42, "remote": False},
        "password": "s3cret-Passw0rd",
    }
    response = scim.post("Users", sent)
    assert response.status_code == 201, response.json_body
    expected = {k: v for k, v in sent.items() if k != "password"}
    for body in (response.json_body, scim.get(f"Users/{response.json_body['id']}").json_body):
        got = {k: v for k, v in body.items() if k not in ("id", "meta", "schemas")}
        assert got == {k: v for k, v in expected.items() if k != "schemas"}
        assert sorted(body["schemas"]) == sorted(sent["schemas"])
        assert "password" not in json.dumps(body)
        assert "s3cret" not in json.dumps(body)
    user = User.objects.get(email="grace@example.com")
    assert not user.has_usable_password()  # the IdP's password is not stored by default
    assert user.first_name == "Grace" and user.last_name == "Hopper"


def test_manager_round_trips_as_an_object(entra):
    boss = create_user(entra, "boss@example.com")
    body = user_body("worker@example.com", schemas=[USER, ENTERPRISE])
    body[ENTERPRISE] = {"manager": boss["id"]}  # a bare string in...
    created = entra.post("Users", body).json_body
    assert created[ENTERPRISE]["manager"] == {"value": boss["id"]}  # ...an object out
    assert entra.get(f"Users/{created['id']}").json_body[ENTERPRISE]["manager"] == {"value": boss["id"]}


def test_string_booleans_and_attribute_names_in_any_case_on_post(entra):
    response = entra.post("Users", {
        "schemas": [USER], "UserName": "Casey@Example.com", "Active": "False",
        "Name": {"GivenName": "Casey", "FamilyName": "Jones"},
        "Emails": [{"Value": "casey@example.com", "Type": "Work", "Primary": "True"}],
    })
    assert response.status_code == 201, response.json_body
    body = response.json_body
    assert body["userName"] == "Casey@Example.com"
    assert body["active"] is False
    assert body["emails"] == [{"value": "casey@example.com", "type": "work", "primary": True}]
    assert User.objects.get(email__iexact="casey@example.com").is_active is False


def test_inactive_users_remain_readable_and_filterable(scim):
    created = create_user(scim, "idle@example.com", active=False)
    assert scim.get(f"Users/{created['id']}").json_body["active"] is False
    found = scim.get('Users?filter=userName eq "idle@example.com"').json_body
    assert [r["id"] for r in found["Resources"]] == [created["id"]]
    inactive = scim.get("Users?filter=active eq false").json_body
    assert [r["id"] for r in inactive["Resources"]] == [created["id"]]


def test_entra_feature_flag_query_parameter_is_ignored(entra):
    response = entra.post("Users?aadOptscim062020", user_body("flag@example.com"))
    assert response.status_code == 201
    user_id = response.json_body["id"]
    assert entra.get(f"Users/{user_id}?aadOptscim062020").status_code == 200
    listed = entra.get('Users?aadOptscim062020&filter=userName eq "flag@example.com"').json_body
    assert listed["totalResults"] == 1
    patched = entra.patch(f"Users/{user_id}?aadOptscim062020",
                          patch_body({"op": "replace", "path": "title", "value": "Flagged"}))
    assert patched.status_code == 200 and patched.json_body["title"] == "Flagged"


def test_plain_application_json_is_accepted(scim):
    response = scim.post("Users", user_body("json@example.com"), content_type="application/json")
    assert response.status_code == 201
    patched = scim.patch(f"Users/{response.json_body['id']}",
                         patch_body({"op": "replace", "path": "title", "value": "Plain"}),
                         content_type="application/json; charset=utf-8")
    assert patched.status_code == 200
    assert patched.json_body["title"] == "Plain"


# --- uniqueness ----------------------------------------------------------------------------


def test_username_is_unique_without_regard_to_case(scim):
    create_user(scim, "Bob@x.com")
    before = db_state()
    response = scim.post("Users", user_body("bob@x.com"))
    assert_error(response, 409, "uniqueness")
    assert db_state() == before
    assert User.objects.filter(email__iexact="bob@x.com").count() == 1


@pytest.mark.parametrize("method", ["put", "patch"])
def test_rename_into_another_username_is_409_and_changes_nothing(scim, method):
    create_user(scim, "taken@example.com")
    other = create_user(scim, "free@example.com")
    before = db_state()
    if method == "put":
        response = scim.put(f"Users/{other['id']}", user_body("TAKEN@example.com", title="New"))
    else:
        response = scim.patch(f"Users/{other['id']}", patch_body(
            {"op": "replace", "path": "title", "value": "New"},
            {"op": "replace", "path": "userName", "value": "Taken@Example.com"},
        ))
    assert_error(response, 409, "uniqueness")
    assert db_state() == before
    assert scim.get(f"Users/{other['id']}").json_body == other


# --- PUT -----------------------------------------------------------------------------------


def test_put_replaces_and_clears_omitted_attributes(scim):
    created = create_user(
        scim, "put@example.com", title="Engineer", locale="en-GB", nickName="Putty",
        phoneNumbers=[{"value": "+44 20 0000", "type": "work"}],
        schemas=[USER, ENTERPRISE], **{ENTERPRISE: {"department": "R&D"}},
    )
    response = scim.put(f"Users/{created['id']}", {
        "schemas": [USER], "id": created["id"], "userName": "put@example.com",
        "name": {"givenName": "Putin", "familyName": "Place"},
        "emails": [{"value": "put@example.com", "type": "work", "primary": True}],
        "active": True,
    })
    assert response.status_code == 200, response.json_body
    body = response.json_body
    for gone in ("title", "locale", "nickName", "phoneNumbers", ENTERPRISE):
        assert gone not in body, gone
    assert body["schemas"] == [USER]
    assert body["name"] == {"givenName": "Putin", "familyName": "Place"}
    assert scim.get(f"Users/{created['id']}").json_body == body
    assert User.objects.get(email="put@example.com").first_name == "Putin"
    assert body["meta"]["version"] != created["meta"]["version"]
    assert body["meta"]["created"] == created["meta"]["created"]


def test_put_without_active_keeps_the_account_as_it_is(scim):
    created = create_user(scim, "keep@example.com")
    body = user_body("keep@example.com")
    del body["active"]
    assert scim.put(f"Users/{created['id']}", body).json_body["active"] is True
    assert User.objects.get(email="keep@example.com").is_active is True

    scim.put(f"Users/{created['id']}", user_body("keep@example.com", active=False))
    assert scim.put(f"Users/{created['id']}", body).json_body["active"] is False
    assert User.objects.get(email="keep@example.com").is_active is False


def test_okta_deactivates_and_reactivates_with_put(scim):
    created = create_user(scim, "okta@example.com")
    off = scim.put(f"Users/{created['id']}", {**user_body("okta@example.com", active=False), "id": created["id"]})
    assert off.json_body["active"] is False
    assert User.objects.get(email="okta@example.com").is_active is False
    on = scim.put(f"Users/{created['id']}", {**user_body("okta@example.com", active=True), "id": created["id"]})
    assert on.json_body["active"] is True
    assert User.objects.get(email="okta@example.com").is_active is True


def test_put_ignores_read_only_attributes(scim):
    created = create_user(scim, "ro@example.com")
    other_id = str(uuid.uuid4())
    response = scim.put(f"Users/{created['id']}", {
        **user_body("ro@example.com"), "id": other_id,
        "meta": {"created": "2000-01-01T00:00:00Z", "version": 'W/"999"'},
        "groups": [{"value": other_id}],
    })
    assert response.status_code == 200
    body = response.json_body
    assert body["id"] == created["id"]
    assert body["meta"]["created"] == created["meta"]["created"]
    assert body["meta"]["version"] != 'W/"999"'
    assert "groups" not in body


# --- PATCH: every IdP shape ----------------------------------------------------------------------


def test_patch_capitalised_ops_and_string_booleans(entra):
    created = create_user(entra, "cap@example.com")
    response = entra.patch(f"Users/{created['id']}", patch_body(
        {"op": "Replace", "path": "name.familyName", "value": "Updated"},
        {"op": "Add", "path": "nickName", "value": "Babs"},
        {"op": "Replace", "path": f"{ENTERPRISE}:employeeNumber", "value": "Eqpj"},
        {"op": "Replace", "path": "active", "value": "False"},
    ))
    assert response.status_code == 200, response.json_body
    body = response.json_body
    assert body["name"]["familyName"] == "Updated"
    assert body["nickName"] == "Babs"
    assert body[ENTERPRISE] == {"employeeNumber": "Eqpj"}
    assert body["active"] is False
    user = User.objects.get(email="cap@example.com")
    assert (user.last_name, user.is_active) == ("Updated", False)

    again = entra.patch(f"Users/{created['id']}", patch_body({"op": "Replace", "path": "active", "value": "True"}))
    assert again.json_body["active"] is True
    assert User.objects.get(email="cap@example.com").is_active is True


def test_okta_no_path_replace_active(scim):
    created = create_user(scim, "nopath@example.com")
    response = scim.patch(f"Users/{created['id']}",
                          patch_body({"op": "replace", "value": {"active": False}}))
    assert response.status_code == 200
    assert response.json_body["active"] is False
    assert User.objects.get(email="nopath@example.com").is_active is False
    assert ScimUser.objects.get(scim_id=created["id"]).deactivated_at is not None
    back = scim.patch(f"Users/{created['id']}", patch_body({"op": "replace", "value": {"active": True}}))
    assert back.json_body["active"] is True
    assert ScimUser.objects.get(scim_id=created["id"]).deactivated_at is None


def test_entra_no_path_replace_with_dotted_and_urn_keys(entra):
    created = create_user(entra, "dotted@example.com")
    response = entra.patch(f"Users/{created['id']}", patch_body({"op": "replace", "value": {
        "displayName": "Bjfe",
        "name.givenName": "Kkom",
        "name.familyName": "Unua",
        f"{ENTERPRISE}:employeeNumber": "Aklq",
        f"{ENTERPRISE}:department": "Sales",
    }}))
    assert response.status_code == 200, response.json_body
    body = response.json_body
    assert body["displayName"] == "Bjfe"
    assert body["name"] == {"givenName": "Kkom", "familyName": "Unua"}
    assert body[ENTERPRISE] == {"employeeNumber": "Aklq", "department": "Sales"}
    assert ENTERPRISE in body["schemas"]
    user = User.objects.get(email="dotted@example.com")
    assert (user.first_name, user.last_name) == ("Kkom", "Unua")


def test_value_path_creates_then_edits_the_typed_email(entra):
    created = create_user(entra, "typed@example.com", emails=[{"value": "typed@home.example", "type": "home"}])
    path = 'emails[type eq "work"].value'
    first = entra.patch(f"Users/{created['id']}",
                        patch_body({"op": "Replace", "path": path, "value": "typed@work.example"}))
    assert first.status_code == 200, first.json_body
    emails = first.json_body["emails"]
    assert {"value": "typed@work.example", "type": "work"} in emails
    assert {"value": "typed@home.example", "type": "home"} in emails
    assert len(emails) == 2

    second = entra.patch(f"Users/{created['id']}",
                         patch_body({"op": "Replace", "path": path, "value": "typed2@work.example"}))
    assert {"value": "typed2@work.example", "type": "work"} in second.json_body["emails"]
    assert len(second.json_body["emails"]) == 2


def test_value_path_on_phone_numbers_creates_the_entry(scim):
    created = create_user(scim, "phone@example.com")
    response = scim.patch(f"Users/{created['id']}", patch_body(
        {"op": "add", "path": 'phoneNumbers[type eq "mobile"].value', "value": "+1 555 0123"}))
    assert response.json_body["phoneNumbers"] == [{"type": "mobile", "value": "+1 555 0123"}]


@pytest.mark.parametrize("shape", ["string", "object", "list", "urn-string"])
def test_manager_in_every_shape_and_removal_by_filter(entra, shape):
    boss = create_user(entra, "boss@example.com")
    worker = create_user(entra, "worker@example.com")
    operation = {
        "string": {"op": "Add", "path": "manager", "value": boss["id"]},
        "object": {"op": "replace", "path": "manager", "value": {"value": boss["id"]}},
        "list": {"op": "Add", "path": "manager",
                 "value": [{"$ref": f"http://testserver/scim/v2/Users/{boss['id']}", "value": boss["id"]}]},
        "urn-string": {"op": "Replace", "path": f"{ENTERPRISE}:manager", "value": boss["id"]},
    }[shape]
    response = entra.patch(f"Users/{worker['id']}", patch_body(operation))
    assert response.status_code == 200, response.json_body
    manager = response.json_body[ENTERPRISE]["manager"]
    assert manager["value"] == boss["id"]
    assert isinstance(manager, dict)
    found = entra.get(f'Users?filter={ENTERPRISE}:manager.value eq "{boss["id"]}"').json_body
    assert [r["id"] for r in found["Resources"]] == [worker["id"]]

    removed = entra.patch(f"Users/{worker['id']}", patch_body(
        {"op": "remove", "path": f'manager[value eq "{boss["id"]}"]'}))
    assert removed.status_code == 200, removed.json_body
    assert "manager" not in removed.json_body.get(ENTERPRISE, {})
    assert "manager" not in entra.get(f"Users/{worker['id']}").json_body.get(ENTERPRISE, {})


def test_remove_manager_with_another_id_keeps_it(entra):
    boss = create_user(entra, "boss@example.com")
    worker = create_user(entra, "worker@example.com", schemas=[USER, ENTERPRISE],
                         **{ENTERPRISE: {"manager": {"value": boss["id"]}}})
    response = entra.patch(f"Users/{worker['id']}", patch_body(
        {"op": "remove", "path": f'manager[value eq "{uuid.uuid4()}"]'}))
    assert response.status_code == 200
    assert response.json_body[ENTERPRISE]["manager"] == {"value": boss["id"]}


def test_roles_given_as_json_encoded_strings(entra):
    created = create_user(entra, "roles@example.com")
    role = json.dumps({"id": "7c2b", "value": "Admin", "displayName": "Administrator"})
    response = entra.patch(f"Users/{created['id']}", patch_body(
        {"op": "Add", "path": "roles", "value": [{"value": role}]}))
    assert response.status_code == 200, response.json_body
    assert response.json_body["roles"] == [{"value": "Admin", "display": "Administrator"}]
    replaced = entra.patch(f"Users/{created['id']}", patch_body(
        {"op": "replace", "path": "roles", "value": [{"value": "Reader", "primary": True}]}))
    assert replaced.json_body["roles"] == [{"value": "Reader", "primary": True}]


def test_patch_remove_attribute_and_sub_attribute(scim):
    created = create_user(scim, "rm@example.com", title="Boss", nickName="Rem")
    response = scim.patch(f"Users/{created['id']}", patch_body(
        {"op": "remove", "path": "title"},
        {"op": "remove", "path": "name.givenName"},
        {"op": "remove", "path": 'emails[type eq "work"]'},
    ))
    assert response.status_code == 200, response.json_body
    body = response.json_body
    assert "title" not in body and "emails" not in body
    assert body["name"] == {"familyName": "Tester"}
    assert body["nickName"] == "Rem"
    assert host_user("rm@example.com").first_name == ""


def test_patch_removing_active_leaves_it_unassigned_and_the_account_inactive(scim):
    """RFC 7644 3.5.2.2: a removed attribute is unassigned; an account without an active status is not active."""
    created = create_user(scim, "stay@example.com")
    path = f"Users/{created['id']}"
    response = scim.patch(path, patch_body({"op": "remove", "path": "active"}))
    assert response.status_code == 200
    assert "active" not in response.json_body
    assert User.objects.get(email="stay@example.com").is_active is False
    assert ScimUser.objects.get(scim_id=created["id"]).deactivated_at is not None
    # another change keeps it unassigned; the filter on active sees the account as inactive
    assert "active" not in scim.patch(path, patch_body({"op": "replace", "path": "title", "value": "T"})).json_body
    assert "active" not in scim.get(path).json_body
    found = scim.get('Users?filter=active eq false and userName eq "stay@example.com"').json_body
    assert found["totalResults"] == 1
    # assigning it again reactivates
    again = scim.patch(path, patch_body({"op": "replace", "path": "active", "value": True}))
    assert again.json_body["active"] is True
    assert User.objects.get(email="stay@example.com").is_active is True


def test_patch_attribute_names_in_any_case(scim):
    created = create_user(scim, "case@example.com")
    response = scim.patch(f"Users/{created['id']}", {"SCHEMAS": [PATCH_OP.upper()], "operations": [
        {"OP": "replace", "PATH": "NAME.GIVENNAME", "VALUE": "Upper"},
        {"Op": "add", "Path": "DisplayName", "Value": "Upper Case"},
    ]})
    assert response.status_code == 200, response.json_body
    assert response.json_body["name"]["givenName"] == "Upper"
    assert response.json_body["displayName"] == "Upper Case"


def test_patch_whole_extension_object_and_its_removal(scim):
    created = create_user(scim, "ext@example.com")
    added = scim.patch(f"Users/{created['id']}", patch_body(
        {"op": "add", "path": ENTERPRISE, "value": {"department": "Ops", "division": "North"}}))
    assert added.json_body[ENTERPRISE] == {"department": "Ops", "division": "North"}
    assert added.json_body["schemas"] == [USER, ENTERPRISE]
    removed = scim.patch(f"Users/{created['id']}", patch_body({"op": "remove", "path": ENTERPRISE}))
    assert ENTERPRISE not in removed.json_body
    assert removed.json_body["schemas"] == [USER]


def test_patch_is_atomic_when_a_later_operation_fails(scim):
    created = create_user(scim, "atomic@example.com", title="Before")
    before = db_state()
    response = scim.patch(f"Users/{created['id']}", patch_body(
        {"op": "replace", "path": "title", "value": "After"},
        {"op": "replace", "path": "active", "value": False},
        {"op": "replace", "path": "emails[type eq \"work\"].primary", "value": "not-a-boolean"},
    ))
    assert_error(response, 400, "invalidValue")
    assert db_state() == before
    assert scim.get(f"Users/{created['id']}").json_body == created


@pytest.mark.parametrize(("operation", "scim_type"), [
    ({"op": "replace", "path": "id", "value": "00000000-0000-4000-8000-000000000000"}, "mutability"),
    ({"op": "replace", "path": "meta.created", "value": "2001-01-01T00:00:00Z"}, "mutability"),
    ({"op": "add", "path": "groups", "value": [{"value": "x"}]}, "mutability"),
    ({"op": "remove", "path": "userName"}, "mutability"),
    ({"op": "remove"}, "noTarget"),
    ({"op": "replace", "path": "emails[type eq \"work\"", "value": "x"}, "invalidPath"),
    ({"op": "replace", "path": "title.sub", "value": "x"}, "invalidPath"),
    ({"op": "replace", "path": "emails[nothing eq \"x\"].value", "value": "x"}, "invalidFilter"),
    ({"op": "replace", "path": "active", "value": "maybe"}, "invalidValue"),
    ({"op": "replace", "path": "title"}, "invalidValue"),
    ({"op": "move", "path": "title", "value": "x"}, "invalidSyntax"),
])
def test_patch_errors_change_nothing(scim, operation, scim_type):
    created = create_user(scim, "err@example.com", title="Kept")
    before = db_state()
    response = scim.patch(f"Users/{created['id']}", patch_body(
        {"op": "replace", "path": "title", "value": "Changed"}, operation))
    assert_error(response, 400, scim_type)
    assert db_state() == before


def test_patch_read_only_with_the_current_value_is_accepted(scim):
    created = create_user(scim, "same@example.com")
    response = scim.patch(f"Users/{created['id']}", patch_body(
        {"op": "replace", "path": "id", "value": created["id"]},
        {"op": "replace", "path": "title", "value": "Ok"},
    ))
    # RFC 7644 3.5.2 refuses changes to readOnly attributes; repeating the current value changes nothing.
    assert response.status_code == 200, response.json_body
    assert response.json_body["id"] == created["id"]
    assert response.json_body["title"] == "Ok"


def test_patch_with_no_change_keeps_the_version(scim):
    created = create_user(scim, "noop@example.com", title="Same")
    response = scim.patch(f"Users/{created['id']}", patch_body({"op": "replace", "path": "title", "value": "Same"}))
    assert response.status_code == 200
    assert response.json_body["meta"]["version"] == created["meta"]["version"]


def test_patch_password_is_accepted_but_never_stored_or_echoed(scim):
    created = create_user(scim, "pw@example.com")
    response = scim.patch(f"Users/{created['id']}", patch_body(
        {"op": "replace", "value": {"password": "n3w-Secret!"}}))
    assert response.status_code == 200
    assert "password" not in response.json_body
    assert "n3w-Secret" not in response.content.decode()
    assert not User.objects.get(email="pw@example.com").has_usable_password()
    assert "n3w-Secret" not in json.dumps(ScimUser.objects.get(scim_id=created["id"]).document)


# --- DELETE -------------------------------------------------------------------------------------


def test_delete_then_get_404_and_recreate_gives_the_same_account(scim):
    created = create_user(scim, "gone@example.com", title="Old")
    account = User.objects.get(email="gone@example.com")
    assert scim.delete(f"Users/{created['id']}").status_code == 204
    assert_error(scim.get(f"Users/{created['id']}"), 404)
    assert_error(scim.delete(f"Users/{created['id']}"), 404)
    assert_error(scim.patch(f"Users/{created['id']}", patch_body({"op": "replace", "path": "title", "value": "x"})),
                 404)
    assert scim.get('Users?filter=userName eq "gone@example.com"').json_body["totalResults"] == 0
    account.refresh_from_db()
    assert account.is_active is False  # the portal account survives, deactivated

    again = scim.post("Users", user_body("GONE@example.com"))
    assert again.status_code == 201, again.json_body
    assert User.objects.filter(email__iexact="gone@example.com").count() == 1
    revived = ScimUser.objects.get(scim_id=again.json_body["id"])
    assert revived.user_id == account.pk
    account.refresh_from_db()
    assert account.is_active is True
    assert "title" not in again.json_body  # the new resource carries only what was sent
    assert scim.get(f"Users/{again.json_body['id']}").status_code == 200



def test_a_name_another_integration_deleted_is_not_revived_for_this_one(scim, integration, make_integration,
                                                                        scim_for):
    """Revival brings back the integration's own deleted account, never another integration's."""
    created = create_user(scim, "left@example.com")
    assert scim.delete(f"Users/{created['id']}").status_code == 204
    account = User.objects.get(email="left@example.com")
    other = scim_for(make_integration())
    before = db_state()
    assert_error(other.post("Users", user_body("left@example.com")), 409, "uniqueness")
    assert db_state() == before
    account.refresh_from_db()
    assert account.is_active is False
    identity = ScimUser.objects.get(user=account)
    assert (identity.scim_id, identity.integration_id) == (created["id"], integration.pk)
    assert identity.deleted_at is not None

# --- ETags ------------------------------------------------------------------------------------


def test_if_match(scim):
    created = create_user(scim, "etag@example.com")
    version = created["meta"]["version"]
    path = f"Users/{created['id']}"
    change = patch_body({"op": "replace", "path": "title", "value": "A"})

    before = db_state()
    assert_error(scim.patch(path, change, headers={"If-Match": 'W/"999"'}), 412)
    assert_error(scim.put(path, user_body("etag@example.com"), headers={"If-Match": 'W/"999"'}), 412)
    assert_error(scim.delete(path, headers={"If-Match": 'W/"999"'}), 412)
    assert db_state() == before

    ok = scim.patch(path, change, headers={"If-Match": version})
    assert ok.status_code == 200
    assert ok["ETag"] == ok.json_body["meta"]["version"] != version
    assert_error(scim.patch(path, change, headers={"If-Match": version}), 412)  # now stale
    star = scim.put(path, user_body("etag@example.com", title="B"), headers={"If-Match": "*"})
    assert star.status_code == 200 and star.json_body["title"] == "B"
    assert scim.get(path, headers={"If-None-Match": star["ETag"]}).status_code == 304


# --- filters ----------------------------------------------------------------------------------


@pytest.fixture
def people(scim):
    """Five users with distinct attributes to filter on."""
    specs = [
        ("alice@example.com", {"title": "Engineer", "externalId": "ext-A", "nickName": "Al",
                               ENTERPRISE: {"department": "R&D", "employeeNumber": "100"}}),
        ("bob@example.com", {"title": "Manager", "externalId": "ext-B",
                             ENTERPRISE: {"department": "Sales", "employeeNumber": "200"}}),
        ("carol@other.org", {"title": "Engineer", "externalId": "ext-C", "active": False}),
        ("dave@example.com", {"externalId": "ext-D",
                              "emails": [{"value": "dave@home.test", "type": "home", "primary": True}]}),
        ("Eve@Example.com", {"title": "Director", "externalId": "ext-E"}),
    ]
    created = {}
    for name, extra in specs:
        schemas = [USER, ENTERPRISE] if ENTERPRISE in extra else [USER]
        created[name.split("@")[0].lower()] = create_user(scim, name, schemas=schemas, **extra)
    return created


def names(scim, expression: str) -> list[str]:
    response = scim.get("Users?" + encode(expression))
    assert response.status_code == 200, response.json_body
    body = response.json_body
    assert body["schemas"] == [LIST]
    assert body["totalResults"] == len(body["Resources"])
    return sorted(r["userName"].split("@")[0].lower() for r in body["Resources"])


def encode(expression: str) -> str:
    from urllib.parse import urlencode

    return urlencode({"filter": expression})


@pytest.mark.parametrize(("expression", "expected"), [
    ('userName eq "alice@example.com"', ["alice"]),
    ('userName eq "ALICE@EXAMPLE.COM"', ["alice"]),
    ('USERNAME Eq "eve@example.com"', ["eve"]),
    ('userName ne "alice@example.com"', ["bob", "carol", "dave", "eve"]),
    ('userName co "@EXAMPLE."', ["alice", "bob", "dave", "eve"]),
    ('userName sw "CA"', ["carol"]),
    ('userName ew ".org"', ["carol"]),
    ("title pr", ["alice", "bob", "carol", "eve"]),
    ('title eq "engineer"', ["alice", "carol"]),
    ('title gt "Engineer"', ["bob"]),
    ('title ge "Engineer"', ["alice", "bob", "carol"]),
    ('title lt "Engineer"', ["eve"]),
    ('title le "Director"', ["eve"]),
    ('not (title pr)', ["dave"]),
    ('title ne "Engineer"', ["bob", "dave", "eve"]),
    ('title eq "Engineer" and active eq true', ["alice"]),
    ('title eq "Manager" or title eq "Director"', ["bob", "eve"]),
    ('(title eq "Manager" or title eq "Director") and userName sw "e"', ["eve"]),
    ('title eq "Engineer" or title eq "Director" and userName sw "a"', ["alice", "carol"]),
    ('not (title eq "Engineer" or title eq "Manager")', ["dave", "eve"]),
    ('active eq false', ["carol"]),
    ('active eq "False"', ["carol"]),
    ('externalId eq "ext-C"', ["carol"]),
    ('externalId eq "EXT-C"', []),  # externalId is caseExact
    ('emails.value eq "DAVE@HOME.TEST"', ["dave"]),
    ('emails co "@other.org"', ["carol"]),
    ('emails[type eq "work" and value co "@example.com"]', ["alice", "bob", "eve"]),
    ('emails[type eq "home"]', ["dave"]),
    ('emails[type eq "work"].value eq "bob@example.com"', ["bob"]),
    (f'{ENTERPRISE}:department eq "sales"', ["bob"]),
    (f"{ENTERPRISE}:department pr", ["alice", "bob"]),
    (f'{ENTERPRISE}:employeeNumber ge "150"', ["bob"]),
    ('urn:ietf:params:scim:schemas:core:2.0:User:userName eq "bob@example.com"', ["bob"]),
    ('name.givenName eq "ALICE"', ["alice"]),
    ('nickName eq "al"', ["alice"]),
])
def test_filters(scim, people, expression, expected):
    assert names(scim, expression) == expected


def test_filter_by_id_and_meta(scim, people):
    bob = people["bob"]
    assert names(scim, f'id eq "{bob["id"]}"') == ["bob"]
    assert names(scim, 'id eq "not-a-uuid"') == []
    ScimUser.objects.filter(scim_id=bob["id"]).update(last_modified=timezone.now() + timedelta(hours=1))
    soon = (timezone.now() + timedelta(minutes=30)).isoformat().replace("+00:00", "Z")
    assert names(scim, f'meta.lastModified gt "{soon}"') == ["bob"]
    assert names(scim, f'meta.lastModified lt "{soon}"') == ["alice", "carol", "dave", "eve"]
    created = people["alice"]["meta"]["created"]
    assert "alice" in names(scim, f'meta.created ge "{created}"')


@pytest.mark.parametrize("expression", [
    'nosuch eq "x"',
    'userName xx "x"',
    'userName eq',
    'userName eq "unterminated',
    '(userName eq "x"',
    'userName eq "x" and',
    'emails[type eq "work"',
    f'{ENTERPRISE}:nosuch eq "x"',
    'active co "t"',
    'meta.lastModified gt "yesterday"',
    'userName eq null',
    "",
    " ",
])
def test_bad_filters_are_400_invalid_filter(scim, people, expression):
    response = scim.request("GET", "Users?" + encode(expression)) if expression.strip() or expression else None
    if expression == "":
        # an empty filter parameter means "no filter"
        assert scim.get("Users?filter=").status_code == 200
        return
    assert_error(response, 400, "invalidFilter")


# --- lists, paging, sorting, projection ----------------------------------------------------------


def test_paging_is_stable_and_counts_are_totals(scim, people):
    everyone = scim.get("Users").json_body
    assert everyone["totalResults"] == 5 and everyone["startIndex"] == 1 and everyone["itemsPerPage"] == 5
    order = [r["id"] for r in everyone["Resources"]]
    pages = []
    for start in (1, 3, 5):
        page = scim.get(f"Users?startIndex={start}&count=2").json_body
        assert page["totalResults"] == 5
        assert page["startIndex"] == start
        assert page["itemsPerPage"] == len(page["Resources"])
        pages += [r["id"] for r in page["Resources"]]
    assert pages == order
    beyond = scim.get("Users?startIndex=99&count=2").json_body
    assert (beyond["totalResults"], beyond["itemsPerPage"], beyond["Resources"]) == (5, 0, [])


def test_count_zero_returns_totals_only(scim, people):
    body = scim.get('Users?count=0&filter=title eq "Engineer"').json_body
    assert body == {"schemas": [LIST], "totalResults": 2, "startIndex": 1, "itemsPerPage": 0, "Resources": []}


def test_page_size_is_capped(scim, people, settings):
    settings.SCIM_PORTAL = {**settings.SCIM_PORTAL, "MAX_PAGE_SIZE": 3, "DEFAULT_PAGE_SIZE": 2}
    assert scim.get("Users?count=1000").json_body["itemsPerPage"] == 3
    assert scim.get("Users").json_body["itemsPerPage"] == 2
    assert scim.get("Users").json_body["totalResults"] == 5
    assert scim.get("ServiceProviderConfig").json_body["filter"]["maxResults"] == 3


@pytest.mark.parametrize("query", [
    "startIndex=abc", "count=ten", "count=1.5", "sortOrder=sideways", "sortBy=nosuch",
    "attributes=emails[type", "excludedAttributes=%20%2C!",
])
def test_bad_list_parameters_are_400(scim, people, query):
    assert_error(scim.get(f"Users?{query}"), 400)


def test_out_of_range_paging_is_clamped(scim, people):
    body = scim.get("Users?startIndex=0&count=-5").json_body
    assert body["startIndex"] == 1
    assert body["itemsPerPage"] == 0 and body["totalResults"] == 5


def test_sorting(scim, people):
    def order(query: str) -> list[str]:
        return [r["userName"].split("@")[0].lower() for r in scim.get(f"Users?{query}").json_body["Resources"]]

    assert order("sortBy=userName") == ["alice", "bob", "carol", "dave", "eve"]
    assert order("sortBy=userName&sortOrder=descending") == ["eve", "dave", "carol", "bob", "alice"]
    assert order("sortBy=USERNAME&sortOrder=Descending&count=2") == ["eve", "dave"]
    assert order("sortBy=externalId&sortOrder=descending&startIndex=2&count=2") == ["dave", "carol"]
    titled = order('sortBy=title&filter=title pr')
    assert titled[:1] == ["eve"] and titled[-1] == "bob"
    assert order(f"sortBy={ENTERPRISE}:employeeNumber&filter={ENTERPRISE}:employeeNumber pr") == ["alice", "bob"]


def test_attributes_and_excluded_attributes(scim, people):
    alice = people["alice"]["id"]
    only = scim.get(f"Users/{alice}?attributes=userName,name.givenName").json_body
    assert only == {"schemas": [USER], "id": alice, "userName": "alice@example.com",
                    "name": {"givenName": "Alice"}}
    minus = scim.get(f"Users/{alice}?excludedAttributes=emails,meta,{ENTERPRISE}").json_body
    assert "emails" not in minus and "meta" not in minus and ENTERPRISE not in minus
    assert minus["schemas"] == [USER] and minus["title"] == "Engineer"
    ext = scim.get(f"Users/{alice}?attributes={ENTERPRISE}:department").json_body
    assert ext == {"schemas": [USER, ENTERPRISE], "id": alice, ENTERPRISE: {"department": "R&D"}}
    listed = scim.get('Users?attributes=userName&filter=title eq "Engineer"').json_body
    assert all(set(r) == {"schemas", "id", "userName"} for r in listed["Resources"])
    cannot_drop_id = scim.get(f"Users/{alice}?excludedAttributes=id,schemas").json_body
    assert cannot_drop_id["id"] == alice and cannot_drop_id["schemas"]
    created = scim.post("Users?attributes=userName", user_body("proj@example.com")).json_body
    assert set(created) == {"schemas", "id", "userName"}


def test_post_search(scim, people):
    response = scim.post("Users/.search", {
        "schemas": [SEARCH], "filter": 'title eq "Engineer"', "attributes": ["userName"],
        "sortBy": "userName", "sortOrder": "descending", "startIndex": 1, "count": 1,
    })
    assert response.status_code == 200, response.json_body
    body = response.json_body
    assert body["totalResults"] == 2 and body["itemsPerPage"] == 1
    assert body["Resources"] == [{"schemas": [USER], "id": people["carol"]["id"], "userName": "carol@other.org"}]
    assert ScimUser.objects.count() == 5  # a search creates nothing
    assert_error(scim.post("Users/.search", {"schemas": [USER], "filter": "title pr"}), 400, "invalidSyntax")
    assert_error(scim.post("Users/.search", {"schemas": [SEARCH], "filter": "nosuch pr"}), 400, "invalidFilter")
    assert_error(scim.post("Users/.search", {"schemas": [SEARCH], "count": "many"}), 400)
    assert_error(scim.post("Users/.search", ["not", "an", "object"]), 400, "invalidSyntax")


# --- host field validation ----------------------------------------------------------------------


def test_the_attribute_map_is_built_only_to_word_an_error(scim, monkeypatch):
    """A valid create or update builds the user attribute map once (for the request), not once
    more in the adapter, which needs it only to name an attribute in a 400."""
    from scim_portal.adapter import ScimAdapter

    built: list[int] = []
    original = ScimAdapter.user_attribute_map
    monkeypatch.setattr(ScimAdapter, "user_attribute_map", lambda self, i: built.append(1) or original(self, i))
    created = create_user(scim, "mapped.once@example.com")
    assert len(built) == 1
    built.clear()
    change = patch_body({"op": "replace", "path": "name.givenName", "value": "Once"})
    assert scim.patch(f"Users/{created['id']}", change).status_code == 200
    assert len(built) == 1


def test_a_host_validator_that_crashes_is_not_skipped(scim, monkeypatch):
    """Only a mapped name that is no model field skips validation; a validator that fails
    otherwise is the host's error to see, not a value stored unchecked."""
    def crashing(value):
        raise RuntimeError("validator bug")

    field = User._meta.get_field("first_name")  # name.givenName in every test host
    monkeypatch.setattr(field, "validators", [crashing])
    before = db_state()
    response = scim.post("Users", user_body("unchecked@example.com"))
    assert response.status_code == 500
    assert db_state() == before
