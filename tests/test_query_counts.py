"""Query counts are constant: they do not grow with the directory or the group.

Each figure includes the token lookup and the provisioning log insert (one
query each).  Savepoint statements are not counted: they are transaction
bookkeeping, not round trips that read or write rows.
"""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.factories import bulk_users, group_with_members

pytestmark = pytest.mark.django_db


def statements(ctx: CaptureQueriesContext) -> list[str]:
    return [q["sql"] for q in ctx.captured_queries if not q["sql"].startswith(("SAVEPOINT", "RELEASE SAVEPOINT"))]


def count_queries(call) -> tuple[int, object]:
    with CaptureQueriesContext(connection) as ctx:
        response = call()
    return len(statements(ctx)), response


@pytest.fixture
def directory(integration):
    return bulk_users(integration, 300)


def test_get_one_user(scim, directory):
    scim.get("ServiceProviderConfig")  # token last-used write happens once, before measuring
    n, response = count_queries(lambda: scim.get(f"Users/{directory[5].scim_id}"))
    assert response.status_code == 200
    assert n == 3  # token, user, log


def test_filter_by_username(scim, directory):
    scim.get("ServiceProviderConfig")
    n, response = count_queries(lambda: scim.get('Users?filter=userName eq "USER7@example.com"'))
    assert response.json_body["totalResults"] == 1
    assert n == 3  # token, page, log: a page that is not full needs no COUNT


def test_page_of_100_users_is_constant(scim, integration, directory):
    scim.get("ServiceProviderConfig")
    n_small, response = count_queries(lambda: scim.get("Users?startIndex=1&count=100"))
    assert response.json_body["itemsPerPage"] == 100
    bulk_users(integration, 300, prefix="more")
    n_large, response = count_queries(lambda: scim.get("Users?startIndex=101&count=100"))
    assert response.json_body["totalResults"] == 600
    assert n_small == n_large == 4  # token, count, page, log


def test_groups_page_without_members_never_reads_membership(scim, integration, directory):
    for i in range(5):
        group_with_members(integration, f"g{i}", directory[: 50 * (i + 1)])
    scim.get("ServiceProviderConfig")
    through = get_user_model().groups.through._meta.db_table
    with CaptureQueriesContext(connection) as ctx:
        response = scim.get("Groups?excludedAttributes=members")
    assert response.status_code == 200
    assert all("members" not in g for g in response.json_body["Resources"])
    assert len(statements(ctx)) == 3  # token, page (not full: no COUNT), log
    assert not any(through in sql for sql in statements(ctx))


def test_groups_page_with_members_is_one_extra_query(scim, integration, directory):
    for i in range(3):
        group_with_members(integration, f"g{i}", directory[: 10 * (i + 1)])
    scim.get("ServiceProviderConfig")
    n, response = count_queries(lambda: scim.get("Groups"))
    assert [len(g["members"]) for g in response.json_body["Resources"]] == [10, 20, 30]
    assert n == 4  # token, page (not full: no COUNT), all members of the page, log


def test_total_of_a_partial_page_without_count_and_past_the_end_with_it(scim, directory):
    scim.get("ServiceProviderConfig")
    n, response = count_queries(lambda: scim.get("Users?startIndex=251&count=100"))
    assert (response.json_body["itemsPerPage"], response.json_body["totalResults"]) == (50, 300)
    assert n == 3  # token, page, log
    n, response = count_queries(lambda: scim.get("Users?startIndex=1000&count=100"))
    assert (response.json_body["itemsPerPage"], response.json_body["totalResults"]) == (0, 300)
    assert n == 4  # an empty page past the end says nothing of the total: token, page, count, log
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
    assert response.status_code == 200, response.json_body
    remove = {
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{"op": "remove", "path": "members",
                        "value": [{"value": str(m.scim_id)} for m in newcomers]}],
    }
    n_remove, response = count_queries(lambda: scim.patch(f"Groups/{group.scim_id}", remove))
    assert response.status_code == 200
    through = get_user_model().groups.through
    assert through.objects.filter(group_id=group.group_id).count() == group_size
    # token, lock group (with its host group), resolve ids, which are members already,
    # insert or delete, group rules?, bump version, log; the response renders no members.
    assert (n_add, n_remove) == (8, 8)
