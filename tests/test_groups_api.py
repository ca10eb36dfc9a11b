"""/Groups over HTTP: create with members, rename, membership in every IdP shape, filters, lists."""

from __future__ import annotations

import uuid
from urllib.parse import urlencode

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group

from scim_portal.models import IdentityProvider, ScimGroup
from tests.factories import bulk_users, group_with_members
from tests.protocol import (
    GROUP,
    LIST,
    SEARCH,
    assert_error,
    create_group,
    create_user,
    db_state,
    member_ids,
    patch_body,
)

pytestmark = pytest.mark.django_db

User = get_user_model()


@pytest.fixture
def okta(scim):
    return scim  # the default integration is Okta


def users(client, count: int, prefix: str = "member") -> list[str]:
    return [create_user(client, f"{prefix}{i}@example.com")["id"] for i in range(count)]


def host_members(group_id: str) -> list[str]:
    """The host group's members, as SCIM user ids (what the portal really sees)."""
    group = ScimGroup.objects.get(scim_id=group_id).group
    return sorted(str(u.scim_identity.scim_id) for u in group.user_set.all())


# --- create, read, rename, delete ----------------------------------------------------------------


def test_create_with_members(generic):
    ids = users(generic, 3)
    response = generic.post("Groups", {"schemas": [GROUP], "displayName": "Staff", "externalId": "g-ext",
                                       "members": [{"value": i, "display": "ignored"} for i in ids]})
    assert response.status_code == 201, response.json_body
    body = response.json_body
    assert uuid.UUID(body["id"])
    assert body["displayName"] == "Staff" and body["externalId"] == "g-ext"
    assert response["Location"] == body["meta"]["location"]
    assert body["meta"]["resourceType"] == "Group"
    assert member_ids(body) == sorted(ids)
    # RFC 7643 8.7.1: a member is value, $ref and type; the display the client sent is not kept
    for member in body["members"]:
        assert set(member) == {"value", "$ref", "type"}
        assert member["$ref"].endswith(f"/Users/{member['value']}")
        assert member["type"] == "User"
    assert host_members(body["id"]) == sorted(ids)
    assert Group.objects.filter(name="Staff").exists()
    assert generic.get(f"Groups/{body['id']}").json_body == body


def test_duplicate_display_name_is_409(generic):
    create_group(generic, "Staff")
    before = db_state()
    assert_error(generic.post("Groups", {"schemas": [GROUP], "displayName": "STAFF"}), 409, "uniqueness")
    assert db_state() == before


def test_create_with_unknown_member_is_400_and_creates_nothing(generic):
    ids = users(generic, 1)
    before = db_state()
    response = generic.post("Groups", {"schemas": [GROUP], "displayName": "Ghosts",
                                       "members": [{"value": ids[0]}, {"value": str(uuid.uuid4())}]})
    assert_error(response, 400, "invalidValue")
    assert db_state() == before


def test_okta_rename_with_id_in_the_value(okta):
    group = create_group(okta, "Test SCIMv2")
    response = okta.patch(f"Groups/{group['id']}", patch_body(
        {"op": "replace", "value": {"id": group["id"], "displayName": "Renamed SCIMv2"}}))
    assert response.status_code == 204, response.json_body
    assert okta.get(f"Groups/{group['id']}").json_body["displayName"] == "Renamed SCIMv2"
    assert ScimGroup.objects.get(scim_id=group["id"]).group.name == "Renamed SCIMv2"


def test_rename_with_path_and_with_put(generic):
    ids = users(generic, 2)
    group = create_group(generic, "Before", members=ids)
    patched = generic.patch(f"Groups/{group['id']}?attributes=displayName,members", patch_body(
        {"op": "Replace", "path": "displayName", "value": "Middle"}))
    assert patched.json_body["displayName"] == "Middle"
    assert member_ids(patched.json_body) == sorted(ids)  # a rename leaves members alone

    # PUT without members renames and leaves membership alone too
    put = generic.put(f"Groups/{group['id']}", {"schemas": [GROUP], "displayName": "After"})
    assert put.status_code == 200
    assert put.json_body["displayName"] == "After"
    assert host_members(group["id"]) == sorted(ids)
    # PUT with members replaces them
    put = generic.put(f"Groups/{group['id']}", {"schemas": [GROUP], "displayName": "After",
                                                "members": [{"value": ids[0]}]})
    assert member_ids(put.json_body) == [ids[0]]
    assert host_members(group["id"]) == [ids[0]]
    assert Group.objects.filter(name="After").count() == 1
    assert not Group.objects.filter(name__in=["Before", "Middle"]).exists()


def test_rename_into_an_existing_name_is_409_and_changes_nothing(generic):
    create_group(generic, "Taken")
    group = create_group(generic, "Free")
    before = db_state()
    response = generic.patch(f"Groups/{group['id']}", patch_body(
        {"op": "replace", "path": "displayName", "value": "taken"}))
    assert_error(response, 409, "uniqueness")
    assert db_state() == before


def test_delete_group(generic):
    ids = users(generic, 2)
    group = create_group(generic, "Doomed", members=ids)
    assert generic.delete(f"Groups/{group['id']}").status_code == 204
    assert_error(generic.get(f"Groups/{group['id']}"), 404)
    assert_error(generic.delete(f"Groups/{group['id']}"), 404)
    assert not Group.objects.filter(name="Doomed").exists()
    assert User.objects.filter(scim_identity__scim_id__in=ids).count() == 2  # members survive


# --- membership in every shape ---------------------------------------------------------------------


def test_add_and_remove_by_value_filter(okta):
    a, b, c = users(okta, 3)
    group = create_group(okta, "Team", members=[a, b])
    response = okta.patch(f"Groups/{group['id']}", patch_body(
        {"op": "remove", "path": f'members[value eq "{a}"]'},
        {"op": "add", "path": "members", "value": [{"value": c, "display": "member2@example.com"}]},
    ))
    assert response.status_code == 204, response.json_body
    assert host_members(group["id"]) == sorted([b, c])


def test_remove_members_with_a_value_list_removes_only_those(entra):
    ids = users(entra, 4)
    group = create_group(entra, "Legacy", members=ids)
    response = entra.patch(f"Groups/{group['id']}", patch_body(
        {"op": "Remove", "path": "members", "value": [{"value": ids[0]}, {"value": ids[2]}]}))
    assert response.status_code == 204
    assert response.content == b""
    assert host_members(group["id"]) == sorted([ids[1], ids[3]])


@pytest.mark.parametrize("provider", [IdentityProvider.ENTRA, IdentityProvider.GENERIC, IdentityProvider.OKTA])
def test_removing_hundreds_of_members_by_value_in_one_operation(provider, make_integration, scim_for):
    """Entra's "Remove members" lists every id in one operation: 200 UUIDs do not fit in one
    filter path (4096 characters), so each batch of them is its own filtered remove."""
    integration = make_integration(provider)
    client = scim_for(integration)
    identities = bulk_users(integration, 230, prefix=f"bulk-{provider}-")
    group = group_with_members(integration, f"Large {provider}", identities)
    removed, kept = identities[:200], identities[200:]
    response = client.patch(f"Groups/{group.scim_id}", patch_body(
        {"op": "Remove", "path": "members", "value": [{"value": str(m.scim_id)} for m in removed]}))
    assert response.status_code == 204, response.json_body
    assert host_members(group.scim_id) == sorted(str(m.scim_id) for m in kept)


def test_remove_members_without_a_value_empties_the_group(generic):
    ids = users(generic, 3)
    group = create_group(generic, "Emptied", members=ids)
    response = generic.patch(f"Groups/{group['id']}?attributes=members", patch_body(
        {"op": "remove", "path": "members"}))
    assert response.status_code == 200
    assert response.json_body.get("members", []) == []
    assert host_members(group["id"]) == []


def test_entra_add_members_and_rename_answer_204(entra):
    ids = users(entra, 2)
    group = create_group(entra, "Entra")
    added = entra.patch(f"Groups/{group['id']}", patch_body(
        {"op": "Add", "path": "members", "value": [{"$ref": None, "value": i} for i in ids]}))
    assert added.status_code == 204 and added.content == b""
    assert added["ETag"]
    renamed = entra.patch(f"Groups/{group['id']}", patch_body(
        {"op": "Replace", "path": "displayName", "value": "Entra renamed"}))
    assert renamed.status_code == 204
    assert ScimGroup.objects.get(scim_id=group["id"]).display_name == "Entra renamed"
    flagged = entra.patch(f"Groups/{group['id']}", patch_body(
        {"op": "remove", "path": f'members[value eq "{ids[1]}"]'}))
    assert flagged.status_code == 204
    assert host_members(group["id"]) == [ids[0]]
    no_members = entra.get(f"Groups/{group['id']}?excludedAttributes=members").json_body
    assert "members" not in no_members and no_members["displayName"] == "Entra renamed"


def test_members_as_bare_strings_and_capitalised_keys(entra):
    a, b = users(entra, 2)
    group = create_group(entra, "Bare")
    entra.patch(f"Groups/{group['id']}", patch_body({"op": "Add", "path": "members", "value": a}))
    entra.patch(f"Groups/{group['id']}", patch_body({"op": "add", "path": "members", "value": [{"Value": b}]}))
    assert host_members(group["id"]) == sorted([a, b])


def test_replace_members_sets_exactly_the_list(okta):
    ids = users(okta, 4)
    group = create_group(okta, "Pushed", members=ids[:2])
    response = okta.patch(f"Groups/{group['id']}", patch_body(
        {"op": "replace", "path": "members", "value": [{"value": ids[1]}, {"value": ids[3]}]}))
    assert response.status_code == 204
    assert host_members(group["id"]) == sorted([ids[1], ids[3]])


def test_no_path_replace_with_members(okta):
    ids = users(okta, 3)
    group = create_group(okta, "NoPath", members=[ids[0]])
    response = okta.patch(f"Groups/{group['id']}", patch_body(
        {"op": "replace", "value": {"id": group["id"], "displayName": "NoPath", "members": [{"value": ids[2]}]}}))
    assert response.status_code == 204, response.json_body
    assert host_members(group["id"]) == [ids[2]]


def test_adding_an_existing_member_and_removing_an_absent_one_are_harmless(generic):
    a, b = users(generic, 2)
    group = create_group(generic, "Idem", members=[a])
    response = generic.patch(f"Groups/{group['id']}", patch_body(
        {"op": "add", "path": "members", "value": [{"value": a}]},
        {"op": "remove", "path": f'members[value eq "{b}"]'},
        {"op": "remove", "path": f'members[value eq "{uuid.uuid4()}"]'},
    ))
    assert response.status_code == 204, response.json_body
    assert host_members(group["id"]) == [a]


def test_unknown_member_id_is_400_and_nothing_changes(generic):
    a, b = users(generic, 2)
    group = create_group(generic, "Strict", members=[a])
    before = db_state()
    response = generic.patch(f"Groups/{group['id']}", patch_body(
        {"op": "replace", "path": "displayName", "value": "Strict renamed"},
        {"op": "add", "path": "members", "value": [{"value": b}, {"value": str(uuid.uuid4())}]},
    ))
    assert_error(response, 400, "invalidValue")
    assert db_state() == before
    assert_error(generic.patch(f"Groups/{group['id']}", patch_body(
        {"op": "add", "path": "members", "value": [{"value": "not-a-uuid"}]})), 400, "invalidValue")
    assert db_state() == before


def test_unknown_members_ignored_when_the_host_says_so(generic, settings):
    settings.SCIM_PORTAL = {**settings.SCIM_PORTAL, "UNKNOWN_MEMBERS": "ignore"}
    a, b = users(generic, 2)
    group = create_group(generic, "Lenient", members=[a, str(uuid.uuid4())])
    assert host_members(group["id"]) == [a]
    response = generic.patch(f"Groups/{group['id']}?attributes=members", patch_body(
        {"op": "add", "path": "members", "value": [{"value": b}, {"value": str(uuid.uuid4())}]}))
    assert response.status_code == 200, response.json_body
    assert sorted(host_members(group["id"])) == sorted([a, b])
    assert [m["value"] for m in response.json_body["members"]] == sorted([a, b], key=[a, b].index)


def test_members_of_another_integration_are_unknown(generic, make_integration, scim_for):
    other = scim_for(make_integration(IdentityProvider.GENERIC))
    stranger = create_user(other, "stranger@example.com")["id"]
    group = create_group(generic, "Mine")
    before = db_state()
    assert_error(generic.patch(f"Groups/{group['id']}", patch_body(
        {"op": "add", "path": "members", "value": [{"value": stranger}]})), 400, "invalidValue")
    assert db_state() == before


@pytest.mark.parametrize(("operation", "scim_type"), [
    ({"op": "add", "path": 'members[value eq "x"]', "value": [{"value": "x"}]}, "invalidPath"),
    ({"op": "remove", "path": 'members[display eq "x"]'}, "invalidFilter"),
    ({"op": "replace", "path": "members.value", "value": "x"}, "mutability"),
    ({"op": "remove", "path": "displayName"}, "mutability"),
    ({"op": "replace", "path": "displayName", "value": ""}, "invalidValue"),
    ({"op": "add", "path": "members", "value": [{"display": "no value"}]}, "invalidValue"),
])
def test_bad_group_patches_change_nothing(generic, operation, scim_type):
    ids = users(generic, 1)
    group = create_group(generic, "Guarded", members=ids)
    before = db_state()
    response = generic.patch(f"Groups/{group['id']}", patch_body(
        {"op": "remove", "path": "members"}, operation))
    assert_error(response, 400, scim_type)
    assert db_state() == before


# --- response shapes per dialect ---------------------------------------------------------------


def test_group_patch_answers_204_or_the_entire_resource(generic, okta, entra):
    """RFC 7644 3.5.2: 204 No Content by default; 200 with the entire resource, members included,
    whenever the request names attributes or excludedAttributes."""
    for name, client in (("generic", generic), ("okta", okta), ("entra", entra)):
        ids = users(client, 2, prefix=f"shape-{name}-")
        group = create_group(client, f"Shape {name}")
        response = client.patch(f"Groups/{group['id']}", patch_body(
            {"op": "add", "path": "members", "value": [{"value": i} for i in ids]}))
        assert response.status_code == 204 and response.content == b""
        assert response["ETag"] == client.get(f"Groups/{group['id']}").json_body["meta"]["version"]
        asked = client.patch(f"Groups/{group['id']}?attributes=displayName,members", patch_body(
            {"op": "replace", "path": "displayName", "value": f"Shape asked {name}"}))
        assert asked.status_code == 200
        assert asked.json_body["displayName"] == f"Shape asked {name}"
        assert member_ids(asked.json_body) == sorted(ids)
        excluded = client.patch(f"Groups/{group['id']}?excludedAttributes=members", patch_body(
            {"op": "replace", "path": "displayName", "value": f"Shape excluded {name}"}))
        assert excluded.status_code == 200 and "members" not in excluded.json_body
        assert excluded.json_body["displayName"] == f"Shape excluded {name}"
        whole = client.patch(f"Groups/{group['id']}?excludedAttributes=externalId", patch_body(
            {"op": "remove", "path": f'members[value eq "{ids[0]}"]'}))
        assert whole.status_code == 200 and member_ids(whole.json_body) == [ids[1]]


# --- ETags --------------------------------------------------------------------------------------


def test_group_if_match(generic):
    group = create_group(generic, "Tagged")
    path = f"Groups/{group['id']}"
    change = patch_body({"op": "replace", "path": "displayName", "value": "Tagged 2"})
    before = db_state()
    assert_error(generic.patch(path, change, headers={"If-Match": 'W/"41"'}), 412)
    assert_error(generic.put(path, {"schemas": [GROUP], "displayName": "x"}, headers={"If-Match": 'W/"41"'}), 412)
    assert_error(generic.delete(path, headers={"If-Match": 'W/"41"'}), 412)
    assert db_state() == before
    assert generic.patch(path, change, headers={"If-Match": group["meta"]["version"]}).status_code == 204
    assert generic.delete(path, headers={"If-Match": "*"}).status_code == 204


# --- filters, lists -----------------------------------------------------------------------------


@pytest.fixture
def teams(generic):
    ids = users(generic, 4)
    return {
        "ids": ids,
        "red": create_group(generic, "Red Team", members=ids[:3], externalId="ext-red"),
        "blue": create_group(generic, "Blue Team", members=ids[1:], externalId="ext-blue"),
        "empty": create_group(generic, "Empty", externalId="ext-empty"),
    }


def group_names(client, expression: str, extra: str = "") -> list[str]:
    response = client.get(f"Groups?{urlencode({'filter': expression})}{extra}")
    assert response.status_code == 200, response.json_body
    body = response.json_body
    assert body["schemas"] == [LIST]
    assert body["totalResults"] == len(body["Resources"])
    return sorted(r["displayName"] for r in body["Resources"])


def test_group_filters(generic, teams):
    ids = teams["ids"]
    assert group_names(generic, 'displayName eq "red team"') == ["Red Team"]
    assert group_names(generic, 'displayName sw "RED"') == ["Red Team"]
    assert group_names(generic, 'displayName co "Team"') == ["Blue Team", "Red Team"]
    assert group_names(generic, 'externalId eq "ext-blue"') == ["Blue Team"]
    assert group_names(generic, f'id eq "{teams["empty"]["id"]}"') == ["Empty"]
    assert group_names(generic, f'members.value eq "{ids[0]}"') == ["Red Team"]
    assert group_names(generic, f'members.value eq "{ids[3]}"') == ["Blue Team"]
    assert group_names(generic, f'members[value eq "{ids[1]}"]') == ["Blue Team", "Red Team"]
    assert group_names(generic, f'not (members.value eq "{ids[0]}")') == ["Blue Team", "Empty"]
    assert group_names(generic, 'displayName eq "Empty" or externalId eq "ext-red"') == ["Empty", "Red Team"]


def test_group_matching_through_several_members_is_listed_once(generic, teams):
    ids = teams["ids"]
    expression = " or ".join(f'members.value eq "{i}"' for i in ids)
    assert group_names(generic, expression) == ["Blue Team", "Red Team"]
    body = generic.get(f"Groups?{urlencode({'filter': expression, 'count': 1})}").json_body
    assert body["totalResults"] == 2 and body["itemsPerPage"] == 1
    second = generic.get(f"Groups?{urlencode({'filter': expression, 'count': 1, 'startIndex': 2})}").json_body
    assert {body["Resources"][0]["id"], second["Resources"][0]["id"]} == {teams["red"]["id"], teams["blue"]["id"]}
    searched = generic.post("Groups/.search", {"schemas": [SEARCH], "filter": expression,
                                               "excludedAttributes": ["members"]}).json_body
    assert searched["totalResults"] == 2
    assert sorted(r["displayName"] for r in searched["Resources"]) == ["Blue Team", "Red Team"]


def test_member_filters_see_the_members_the_group_lists(generic, make_integration, scim_for):
    """``members.value`` matches exactly the members a group lists: not a member the IdP
    deleted (still in the host group), nor another integration's user in the host group."""
    kept, gone = users(generic, 2, prefix="listed")
    other = create_user(scim_for(make_integration()), "elsewhere@example.com")["id"]
    create_group(generic, "Kept", members=[kept])
    create_group(generic, "Gone", members=[gone])
    shared = create_group(generic, "Shared")
    ScimGroup.objects.get(scim_id=shared["id"]).group.user_set.add(User.objects.get(email="elsewhere@example.com"))
    assert generic.delete(f"Users/{gone}").status_code == 204
    assert host_members(shared["id"]) == [other]  # in the host group, but not one of this integration's
    listed = {r["displayName"]: member_ids(r) for r in generic.get("Groups").json_body["Resources"]}
    assert listed == {"Kept": [kept], "Gone": [], "Shared": []}
    assert group_names(generic, f'members.value eq "{gone}"') == []
    assert group_names(generic, f'members.value eq "{other}"') == []
    assert group_names(generic, f'members[value eq "{other}"]') == []
    assert group_names(generic, "members.value pr") == ["Kept"]
    assert group_names(generic, "not (members.value pr)") == ["Gone", "Shared"]
    assert group_names(generic, f'not (members.value eq "{gone}")') == ["Gone", "Kept", "Shared"]
    assert group_names(generic, f'members.value ne "{kept}"') == ["Gone", "Shared"]


@pytest.mark.parametrize("expression", [
    'name eq "x"', 'members.display eq "x"', 'displayName eq', 'displayName zz "x"', "members[value eq",
])
def test_bad_group_filters(generic, teams, expression):
    assert_error(generic.get(f"Groups?{urlencode({'filter': expression})}"), 400, "invalidFilter")


def test_group_lists_page_sort_and_project(generic, teams):
    body = generic.get("Groups?excludedAttributes=members").json_body
    assert body["totalResults"] == 3
    assert all("members" not in r for r in body["Resources"])
    default = generic.get("Groups?startIndex=1&count=100").json_body
    red = next(r for r in default["Resources"] if r["displayName"] == "Red Team")
    assert member_ids(red) == sorted(teams["ids"][:3])
    ordered = generic.get("Groups?sortBy=displayName&sortOrder=descending").json_body
    assert [r["displayName"] for r in ordered["Resources"]] == ["Red Team", "Empty", "Blue Team"]
    page = generic.get("Groups?sortBy=displayName&startIndex=2&count=1&attributes=displayName").json_body
    assert page["Resources"] == [{"schemas": [GROUP], "id": teams["empty"]["id"], "displayName": "Empty"}]
    assert generic.get("Groups?count=0").json_body["Resources"] == []
    assert_error(generic.get("Groups?startIndex=x"), 400)
