"""Query counts are constant: they do not grow with the directory or the group.

Each figure includes the token lookup (one query), and for writes and failures
the provisioning log insert (one query); a successful read is not logged once its
credential was used in the last minute (``LOG_READS = "sampled"``), and the
tests read after a first request.  Savepoint statements are not counted: they
are transaction bookkeeping, not round trips that read or write rows.
"""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.factories import bulk_users, group_with_members

pytestmark = pytest.mark.django_db


def statements(ctx: CaptureQueriesContext) -> list[str]:
    bookkeeping = ("SAVEPOINT", "RELEASE SAVEPOINT", "ROLLBACK TO SAVEPOINT")
    return [q["sql"] for q in ctx.captured_queries if not q["sql"].startswith(bookkeeping)]


def count_queries(call) -> tuple[int, object]:
    with CaptureQueriesContext(connection) as ctx:
        response = call()
    return len(statements(ctx)), response


@pytest.fixture
def directory(integration):
    return bulk_users(integration, 300)


def test_a_read_is_logged_with_the_credentials_first_request_in_a_minute(scim, directory):
    from scim_portal.models import ScimToken

    ScimToken.objects.update(last_used_at=None)
    n, response = count_queries(lambda: scim.get(f"Users/{directory[5].scim_id}"))
    assert response.status_code == 200
    assert n == 4  # token, its last use recorded, user, log


def test_get_one_user(scim, directory):
    scim.get("ServiceProviderConfig")  # token last-used write happens once, before measuring
    n, response = count_queries(lambda: scim.get(f"Users/{directory[5].scim_id}"))
    assert response.status_code == 200
    assert n == 2  # token, user


def test_filter_by_username(scim, directory):
    scim.get("ServiceProviderConfig")
    n, response = count_queries(lambda: scim.get('Users?filter=userName eq "USER7@example.com"'))
    assert response.json_body["totalResults"] == 1
    assert n == 2  # token, page: a page that is not full needs no COUNT


def test_page_of_100_users_is_constant(scim, integration, directory):
    scim.get("ServiceProviderConfig")
    n_small, response = count_queries(lambda: scim.get("Users?startIndex=1&count=100"))
    assert response.json_body["itemsPerPage"] == 100
    bulk_users(integration, 300, prefix="more")
    n_large, response = count_queries(lambda: scim.get("Users?startIndex=101&count=100"))
    assert response.json_body["totalResults"] == 600
    assert n_small == n_large == 3  # token, count, page


def test_groups_page_without_members_never_reads_membership(scim, integration, directory):
    for i in range(5):
        group_with_members(integration, f"g{i}", directory[: 50 * (i + 1)])
    scim.get("ServiceProviderConfig")
    through = get_user_model().groups.through._meta.db_table
    with CaptureQueriesContext(connection) as ctx:
        response = scim.get("Groups?excludedAttributes=members")
    assert response.status_code == 200
    assert all("members" not in g for g in response.json_body["Resources"])
    assert len(statements(ctx)) == 2  # token, page (not full: no COUNT)
    assert not any(through in sql for sql in statements(ctx))


def test_groups_page_with_members_is_one_extra_query(scim, integration, directory):
    for i in range(3):
        group_with_members(integration, f"g{i}", directory[: 10 * (i + 1)])
    scim.get("ServiceProviderConfig")
    n, response = count_queries(lambda: scim.get("Groups"))
    assert [len(g["members"]) for g in response.json_body["Resources"]] == [10, 20, 30]
    assert n == 3  # token, page (not full: no COUNT), all members of the page


def test_total_of_a_partial_page_without_count_and_past_the_end_with_it(scim, directory):
    scim.get("ServiceProviderConfig")
    n, response = count_queries(lambda: scim.get("Users?startIndex=251&count=100"))
    assert (response.json_body["itemsPerPage"], response.json_body["totalResults"]) == (50, 300)
    assert n == 2  # token, page
    n, response = count_queries(lambda: scim.get("Users?startIndex=1000&count=100"))
    assert (response.json_body["itemsPerPage"], response.json_body["totalResults"]) == (0, 300)
    assert n == 3  # an empty page past the end says nothing of the total: token, page, count
    n, response = count_queries(lambda: scim.get("Users?startIndex=1&count=0"))
    assert (response.json_body["itemsPerPage"], response.json_body["totalResults"]) == (0, 300)


@pytest.mark.parametrize("group_size", [1000, 10000])
def test_100_member_patch_cost_does_not_depend_on_group_size(scim, integration, group_size):
    members = bulk_users(integration, group_size + 100)
    group = group_with_members(integration, "big", members[:group_size])
    newcomers = members[group_size:]
    scim.get("ServiceProviderConfig")
    body = {
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{"op": "add", "path": "members",
                        "value": [{"value": str(m.scim_id)} for m in newcomers]}],
    }
    n_add, response = count_queries(lambda: scim.patch(f"Groups/{group.scim_id}", body))
    assert response.status_code == 204, response.json_body
    remove = {  # Okta's shape: one members[value eq "id"] filter per member (the integration is Okta's)
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{"op": "remove", "path": f'members[value eq "{m.scim_id}"]'} for m in newcomers],
    }
    n_remove, response = count_queries(lambda: scim.patch(f"Groups/{group.scim_id}", remove))
    assert response.status_code == 204
    through = get_user_model().groups.through
    assert through.objects.filter(group_id=group.group_id).count() == group_size
    # token, lock group (with its host group), resolve ids, which are members already,
    # insert or delete, group rules?, bump version, log; the 204 answer renders nothing.
    assert (n_add, n_remove) == (8, 8)


# -- writes, as a server runs them: outside any test transaction ------------------------------
PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"


def writes(ctx: CaptureQueriesContext) -> list[str]:
    """Every statement, savepoints included (the test runs no transaction of its own)."""
    return [q["sql"] for q in ctx.captured_queries]


@pytest.mark.django_db(transaction=True)
def test_writes_take_no_savepoint_and_a_fixed_number_of_queries(scim, integration):
    scim.get("ServiceProviderConfig")
    entra_create = {
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "new@example.com",
        "externalId": "e-1", "active": True, "name": {"givenName": "N", "familyName": "U"},
        "emails": [{"primary": True, "type": "work", "value": "new@example.com"}],
    }
    with CaptureQueriesContext(connection) as create:
        response = scim.post("Users", entra_create)
    assert response.status_code == 201, response.json_body
    user_id = response.json_body["id"]
    deactivate = {"schemas": [PATCH_OP], "Operations": [{"op": "replace", "value": {"active": False}}]}
    with CaptureQueriesContext(connection) as patch:
        response = scim.patch(f"Users/{user_id}", deactivate)
    assert response.status_code == 200 and response.json_body["active"] is False
    group = group_with_members(integration, "g", [])
    add = {"schemas": [PATCH_OP], "Operations": [{"op": "add", "path": "members", "value": [{"value": user_id}]}]}
    with CaptureQueriesContext(connection) as group_patch:
        response = scim.patch(f"Groups/{group.scim_id}", add)
    assert response.status_code == 204

    for ctx in (create, patch, group_patch):
        assert not [sql for sql in writes(ctx) if "SAVEPOINT" in sql]
    # token, BEGIN, userName taken?, host user, its history row, SCIM identity, the
    # integration's default groups and group rules (one query), COMMIT, log
    assert len(writes(create)) == 9
    # token, BEGIN, lock the user, host user, its history row, SCIM identity, end access
    # (the example portal: refresh tokens, access tokens, sessions by user, delete them), COMMIT, log;
    # and the deprovisioning brake: its row (lock it; the first time: create it, lock it), the
    # counted minutes, count this one (docs/guard-rails.md)
    assert len(writes(patch)) == 12 + 5
    # token, BEGIN, lock the group, resolve the id, already a member?, insert, group rules,
    # bump, COMMIT, log, the membership change for the person's history (after the commit)
    assert len(writes(group_patch)) == 11


@pytest.mark.django_db(transaction=True)
def test_a_conflict_inside_an_update_still_changes_nothing(scim):
    """The userName check on update runs without its own savepoint: the 409 must still roll back."""
    first = scim.post("Users", {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "a@example.com",
                                "name": {"givenName": "A", "familyName": "A"}}).json_body
    scim.post("Users", {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "b@example.com"})
    rename = {"schemas": [PATCH_OP], "Operations": [
        {"op": "replace", "path": "name.familyName", "value": "Changed"},
        {"op": "replace", "path": "userName", "value": "B@example.com"},
    ]}
    response = scim.patch(f"Users/{first['id']}", rename)
    assert response.status_code == 409 and response.json_body["scimType"] == "uniqueness"
    again = scim.get(f"Users/{first['id']}").json_body
    assert (again["userName"], again["name"]["familyName"]) == ("a@example.com", "A")
    assert get_user_model().objects.get(email="a@example.com").last_name == "A"


def test_a_malformed_id_is_answered_without_looking_anything_up(scim):
    scim.get("ServiceProviderConfig")
    body = {"schemas": [PATCH_OP], "Operations": [{"op": "replace", "value": {"active": False}}]}
    # Ids are text (django-scim2's "42" can be kept), so only one longer than any stored id is malformed.
    n, response = count_queries(lambda: scim.patch("Users/" + "x" * 255, body))
    assert response.status_code == 404
    assert n == 2  # token, log: no user to look up, for the request or for the log line
