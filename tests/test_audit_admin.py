"""The admin answers "who changed this person, when, through which integration,
and what did the IdP send?" and "why did this provisioning fail?"."""

from __future__ import annotations

import csv
import io

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from scim_portal.models import Deprovisioning, IdentityProvider, ProvisioningLog, ScimToken, ScimUser
from tests.test_audit import GROUP, PASSWORD, okta_user, patch

pytestmark = pytest.mark.django_db

LOG = reverse("admin:scim_portal_provisioninglog_changelist")
USER_HISTORY = reverse("admin:portal_historicaluser_changelist")
GROUP_HISTORY = reverse("admin:portal_historicalgroup_changelist")


@pytest.fixture
def browser() -> Client:
    client = Client()
    client.force_login(get_user_model().objects.create_superuser(email="root@example.com", password="pw"))
    return client


def page(response) -> str:
    assert response.status_code == 200, response.status_code
    return response.content.decode()


def exported(response) -> list[dict[str, str]]:
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    text = b"".join(response.streaming_content).decode("utf-8").lstrip("\ufeff")
    return list(csv.DictReader(io.StringIO(text)))


@pytest.fixture
def story(make_integration, scim_for):
    """Alice provisioned by Okta, renamed, deactivated, a failed PATCH; Bob by Entra; a group."""
    okta, entra = make_integration(IdentityProvider.OKTA), make_integration(IdentityProvider.ENTRA)
    okta_scim, entra_scim = scim_for(okta), scim_for(entra)
    alice_id = okta_scim.post("Users", okta_user("alice@example.com")).json_body["id"]
    okta_scim.put(f"Users/{alice_id}", okta_user("alice@example.com",
                                                 name={"givenName": "Alicia", "familyName": "Archer"}))
    okta_scim.patch(f"Users/{alice_id}", patch({"op": "replace", "value": {"active": False}}))
    failed = okta_scim.patch(f"Users/{alice_id}", patch({"op": "explode", "path": "title"}))
    assert failed.status_code == 400
    bob_id = entra_scim.post("Users", okta_user("bob@example.com")).json_body["id"]
    okta_scim.post("Groups", {"schemas": [GROUP], "displayName": "Sales", "members": [{"value": alice_id}]})
    alice = ScimUser.objects.get(scim_id=alice_id).user
    bob = ScimUser.objects.get(scim_id=bob_id).user
    return {"okta": okta, "entra": entra, "alice": alice, "bob": bob, "alice_id": alice_id,
            "failed": failed}


# -- the person's own page ------------------------------------------------------------------------------

def test_user_change_page_shows_scim_history_and_links(browser, story):
    alice, okta = story["alice"], story["okta"]
    html = page(browser.get(reverse("admin:portal_user_change", args=[alice.pk])))
    assert "SCIM history" in html
    assert "SCIM PATCH Users/" in html and "SCIM PUT Users/" in html and "SCIM POST Users" in html
    assert str(okta.service_account) in html
    assert okta.name in html
    assert f"user__id__exact={alice.pk}" in html  # the person's provisioning log
    assert "outcome__exact=failure" in html
    assert reverse("admin:portal_user_history", args=[alice.pk]) in html
    record = get_user_model().history.filter(id=alice.pk).latest()
    assert f"request_id={record.scim_request_id}" in html  # each change links to what the IdP sent


def test_user_history_page_shows_integration_credential_and_request(browser, story):
    alice, okta = story["alice"], story["okta"]
    html = page(browser.get(reverse("admin:portal_user_history", args=[alice.pk])))
    prefix = ScimToken.objects.get(integration=okta).prefix
    assert prefix in html
    assert okta.name in html
    for record in get_user_model().history.filter(id=alice.pk):
        assert f"request_id={record.scim_request_id}" in html
    assert "Alice" in html and "Alicia" in html  # the diff of the PUT


def test_group_change_page_shows_its_history(browser, story):
    group = Group.objects.get(name="Sales")
    html = page(browser.get(reverse("admin:auth_group_change", args=[group.pk])))
    assert "SCIM POST Groups" in html
    assert story["okta"].name in html


def test_group_joins_and_leaves_appear_in_the_users_scim_history(browser, story, scim_for,
                                                                  django_capture_on_commit_callbacks):
    from scim_portal.models import MembershipChange, ScimGroup

    alice, okta = story["alice"], story["okta"]
    scim = scim_for(okta)
    group_id = str(ScimGroup.objects.get(display_name="Sales").scim_id)
    member = {"value": story["alice_id"]}
    with django_capture_on_commit_callbacks(execute=True):  # records are written once a change commits
        leave = {"op": "remove", "path": f'members[value eq "{story["alice_id"]}"]'}
        removal = scim.patch(f"Groups/{group_id}", patch(leave))
        assert removal.status_code in (200, 204)
        bad = scim.patch(f"Groups/{group_id}", patch({"op": "add", "path": "members", "value": [member]},
                                                     {"op": "explode"}))
        assert bad.status_code == 400  # rolled back: records nothing
        back = scim.patch(f"Groups/{group_id}", patch({"op": "add", "path": "members", "value": [member]}))
        assert back.status_code in (200, 204)
    changes = list(MembershipChange.objects.order_by("created", "id"))
    assert [(c.user_id, c.change, c.group_name) for c in changes] == [
        (alice.pk, "left", "Sales"), (alice.pk, "joined", "Sales")]
    assert changes[0].request_id == removal["X-Request-ID"] and changes[0].actor_id == okta.service_account_id
    html = page(browser.get(reverse("admin:portal_user_change", args=[alice.pk])))
    assert "Joined Sales" in html and "Left Sales" in html
    assert f"request_id={removal['X-Request-ID']}" in html
    group = Group.objects.get(name="Sales")
    html = page(browser.get(reverse("admin:auth_group_change", args=[group.pk])))
    assert "alice@example.com joined" in html and "alice@example.com left" in html
    memberships = reverse("admin:scim_portal_membershipchange_changelist")
    response = browser.get(memberships, {"user__id__exact": alice.pk})
    assert response.context["cl"].result_count == 2
    assert browser.get(memberships, {"user__id__exact": story["bob"].pk}).context["cl"].result_count == 0


def test_a_create_that_grants_a_licence_shows_no_deleted_placeholder(browser, make_integration, scim_for):
    from portal.models import Licence

    Licence.objects.create(name="Standard")
    scim = scim_for(make_integration(IdentityProvider.OKTA, default_grant="Standard"))
    scim_id = scim.post("Users", okta_user("erin@example.com")).json_body["id"]
    user = ScimUser.objects.get(scim_id=scim_id).user
    assert user.licence.name == "Standard"
    html = page(browser.get(reverse("admin:portal_user_history", args=[user.pk])))
    assert "Standard" in html
    assert "Deleted licence" not in html and "pk=None" not in html


def test_admin_edits_carry_a_reason(browser):
    local = get_user_model().objects.create_user(email="local@example.com")
    form = {"email": "local@example.com", "first_name": "Lo", "last_name": "Cal", "licence": "",
            "is_active": "on", "date_joined_0": "2026-01-01", "date_joined_1": "10:00:00",
            "last_login_0": "", "last_login_1": ""}
    response = browser.post(reverse("admin:portal_user_change", args=[local.pk]), form)
    assert response.status_code == 302, response.content.decode()[:3000]
    record = get_user_model().history.filter(id=local.pk).latest()
    assert record.history_change_reason == "Changed in admin by root@example.com"
    assert record.history_user.email == "root@example.com"
    html = page(browser.get(reverse("admin:portal_user_change", args=[local.pk])))
    assert "Changed in admin by root@example.com" in html


def test_history_pages_lead_back_to_scim_provisioning(browser, story):
    html = page(browser.get(USER_HISTORY))
    assert '<a href="/admin/scim_portal/">SCIM provisioning</a>' in html
    okta = story["okta"]
    okta.enabled = False
    okta.save()
    record = okta.history.latest()
    url = reverse("admin:scim_portal_integration_simple_history", args=[okta.pk, record.history_id])
    assert '<a href="/admin/scim_portal/">SCIM provisioning</a>' in page(browser.get(url))


# -- change history --------------------------------------------------------------------------------------

def test_change_history_filters(browser, story):
    okta, entra, alice, bob = story["okta"], story["entra"], story["alice"], story["bob"]

    html = page(browser.get(USER_HISTORY))
    assert "alice@example.com" in html and "bob@example.com" in html

    by_integration = page(browser.get(USER_HISTORY, {"scim_integration__id__exact": entra.pk}))
    assert "bob@example.com" in by_integration and "alice@example.com" not in by_integration

    by_user_id = page(browser.get(USER_HISTORY, {"history_user__id__exact": okta.service_account_id}))
    assert "alice@example.com" in by_user_id and "bob@example.com" not in by_user_id

    by_email = page(browser.get(USER_HISTORY, {"q": entra.service_account.email}))
    assert "bob@example.com" in by_email and "alice@example.com" not in by_email

    by_id_search = page(browser.get(USER_HISTORY, {"q": str(okta.service_account_id)}))
    assert "alice@example.com" in by_id_search and "bob@example.com" not in by_id_search

    created_only = page(browser.get(USER_HISTORY, {"history_type__exact": "~"}))
    assert "alice@example.com" in created_only and "bob@example.com" not in created_only

    record = get_user_model().history.filter(id=bob.pk).latest()
    since = record.history_date.replace(hour=0, minute=0, second=0, microsecond=0)
    same_day = page(browser.get(USER_HISTORY, {"history_date__gte": since.isoformat()}))
    assert "bob@example.com" in same_day
    future = page(browser.get(USER_HISTORY, {"history_date__gte": since.replace(year=2999).isoformat()}))
    assert "bob@example.com" not in future and "alice@example.com" not in future
    assert alice.pk


def test_change_history_list_never_scans_the_whole_history_for_its_filters(browser, story):
    table = get_user_model().history.model._meta.db_table
    with CaptureQueriesContext(connection) as queries:
        page(browser.get(USER_HISTORY))
    history_queries = [q["sql"] for q in queries.captured_queries if table in q["sql"]]
    assert history_queries and not [sql for sql in history_queries if "DISTINCT" in sql.upper()]


def test_change_history_links_to_the_object_and_the_request(browser, story):
    alice = story["alice"]
    html = page(browser.get(USER_HISTORY, {"q": story["okta"].service_account.email}))
    assert reverse("admin:portal_user_change", args=[alice.pk]) in html
    record = get_user_model().history.filter(id=alice.pk).latest()
    assert f"{LOG}?request_id={record.scim_request_id}" in html


def test_change_history_search_with_text_that_is_not_an_id(browser, story):
    html = page(browser.get(USER_HISTORY, {"q": "nobody@example.com"}))
    assert "alice@example.com" not in html


def test_group_history_view_renders(browser, story):
    html = page(browser.get(GROUP_HISTORY, {"scim_integration__id__exact": story["okta"].pk}))
    assert "Sales" in html


def test_change_history_csv(browser, story):
    alice, okta = story["alice"], story["okta"]
    ids = list(get_user_model().history.filter(id=alice.pk).values_list("history_id", flat=True))
    with CaptureQueriesContext(connection) as queries:
        rows = exported(browser.post(USER_HISTORY, {"action": "export_as_csv", "_selected_action": ids}))
    assert len(rows) == 3
    # Integrations come with the rows, not one query per row.
    assert not [q for q in queries.captured_queries if 'WHERE "scim_portal_integration"."id" =' in q["sql"]]
    assert {r["object"] for r in rows} == {"alice@example.com"}
    assert {r["object_id"] for r in rows} == {str(alice.pk)}
    assert {r["history_user"] for r in rows} == {okta.service_account.email}
    assert {r["history_user_id"] for r in rows} == {str(okta.service_account_id)}
    assert {r["scim_integration"] for r in rows} == {str(okta)}
    assert sorted(r["history_type"] for r in rows) == ["Changed", "Changed", "Created"]
    assert {r["scim_request_id"] for r in rows} == set(
        get_user_model().history.filter(id=alice.pk).values_list("scim_request_id", flat=True))
    assert all(r["scim_credential"] for r in rows)


# -- provisioning log ------------------------------------------------------------------------------------

def test_log_list_finds_failures_and_links_the_user(browser, story):
    alice = story["alice"]
    response = browser.get(LOG, {"outcome__exact": "failure"})
    html = page(response)
    (entry,) = response.context["cl"].result_list
    assert entry.request_id == story["failed"]["X-Request-ID"]
    assert entry.status == 400
    assert f"/scim/v2/Users/{story['alice_id']}" in html
    assert f">{entry.scim_type}<" in html  # why it failed, in the list
    assert reverse("admin:portal_user_change", args=[alice.pk]) in html

    assert browser.get(LOG).context["cl"].result_count == ProvisioningLog.objects.count() == 6


def test_log_filters(browser, story):
    okta, entra, alice = story["okta"], story["entra"], story["alice"]
    entra_only = page(browser.get(LOG, {"integration__id__exact": entra.pk}))
    assert str(entra) in entra_only
    assert reverse("admin:portal_user_change", args=[story["bob"].pk]) in entra_only
    assert reverse("admin:portal_user_change", args=[alice.pk]) not in entra_only

    for params, expected in [
        ({"status": "400"}, 1), ({"status": "201"}, 3), ({"method": "PUT"}, 1), ({"resource_type": "Group"}, 1),
        ({"user__id__exact": alice.pk}, 4), ({"user__id__exact": alice.pk, "outcome__exact": "failure"}, 1),
        ({"integration__id__exact": okta.pk, "outcome__exact": "success"}, 4),
        ({"q": story["failed"]["X-Request-ID"]}, 1), ({"q": "alice@example.com"}, 4),
        ({"q": story["alice_id"]}, 4),
    ]:
        response = browser.get(LOG, params)
        assert response.status_code == 200, params
        assert response.context["cl"].result_count == expected, params


@pytest.mark.parametrize("params", [{"status": "abc"}, {"status": "999"}, {"method": "BREW"},
                                    {"resource_type": "Printer"}, {"scim_type": "x" * 300}])
def test_log_filters_refuse_values_they_do_not_offer(browser, params):
    response = browser.get(LOG, params)
    assert response.status_code == 302 and response["Location"].endswith("?e=1")


def test_log_search_matches_the_start_of_names_emails_and_ids(browser, story, scim_for):
    entra = scim_for(story["entra"])
    carol = okta_user("carol@corp.example", emails=[{"primary": True, "value": "Carol.W@Corp.example", "type": "work"}])
    assert entra.post("Users", carol).status_code == 201
    failed_create = entra.post("Users", {"schemas": [okta_user()["schemas"][0]], "userName": "dora.x"})
    assert failed_create.status_code == 400  # no name: still found by the userName it asked for
    for term, expected in [
        ("alice", 4), ("ALI", 4), ("alice@example.com", 4), ("sal", 1), ("SALES", 1), ("carol.w", 1),
        ("carol.w@corp", 1), ("carol", 1), ("dora", 1), (story["alice_id"][:8], 4), (story["alice_id"], 4),
        (story["failed"]["X-Request-ID"], 1), ("example.com", 0), ("lice", 0), ("100%", 0), ("_", 0),
    ]:
        response = browser.get(LOG, {"q": term})
        assert response.status_code == 200, term
        assert response.context["cl"].result_count == expected, term


def test_log_search_is_served_by_indexes(browser, story, is_postgres):
    from django.contrib import admin

    from scim_portal.admin import ProvisioningLogAdmin

    if not is_postgres:
        pytest.skip("query plans are checked on PostgreSQL")
    model_admin = ProvisioningLogAdmin(ProvisioningLog, admin.site)
    request = browser.get(LOG).wsgi_request
    for term in ("alice", story["alice_id"][:8], story["failed"]["X-Request-ID"]):
        queryset, _dup = model_admin.get_search_results(request, ProvisioningLog.objects.all(), term)
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL enable_seqscan = off")
            plan = queryset.explain()
        # With sequential scans priced out, only an index that serves every branch avoids one.
        assert "Seq Scan" not in plan, plan
        assert "scim_log_subject" in plan and "scim_log_email" in plan, plan


def test_log_list_reads_at_a_glance(browser, story):
    entry = ProvisioningLog.objects.get(request_id=story["failed"]["X-Request-ID"])
    html = page(browser.get(LOG))
    assert timezone.localtime(entry.created).strftime("%Y-%m-%d %H:%M:%S") in html  # to the second
    unescaped = html.replace("&#x27;", "'").replace("&quot;", '"')
    assert f'<span class="scim-log-reason" title="{entry.detail[:30]}' in unescaped
    assert 'class="column-reason"' in html and 'class="column-scim_type"' in html
    assert '<span class="scim-log-sub" title="alice@example.com">alice@example.com</span>' in html  # subject
    alice = story["alice"]
    assert reverse("admin:portal_user_history", args=[alice.pk]) in html  # each entry: user and history


def test_log_entry_page_names_the_affected_user_once(browser, story):
    entry = ProvisioningLog.objects.get(request_id=story["failed"]["X-Request-ID"])
    html = page(browser.get(reverse("admin:scim_portal_provisioninglog_change", args=[entry.pk])))
    assert html.count("Affected user") == 1
    assert reverse("admin:portal_user_history", args=[story["alice"].pk]) in html


def test_log_entry_page_shows_what_the_idp_sent_and_why_it_failed(browser, story):
    entry = ProvisioningLog.objects.get(request_id=story["failed"]["X-Request-ID"])
    html = page(browser.get(reverse("admin:scim_portal_provisioninglog_change", args=[entry.pk])))
    assert "explode" in html  # the request body
    assert entry.detail and entry.detail[:20] in html.replace("&#x27;", "'").replace("&quot;", '"')
    assert entry.request_id in html
    assert reverse("admin:portal_user_change", args=[story["alice"].pk]) in html
    assert PASSWORD not in html


def test_log_list_for_a_deleted_account(browser, make_integration, scim_for):
    scim = scim_for(make_integration(IdentityProvider.ENTRA, deprovisioning=Deprovisioning.DELETE))
    scim_id = scim.post("Users", okta_user()).json_body["id"]
    user_pk = ScimUser.objects.get(scim_id=scim_id).user_id
    assert scim.delete(f"Users/{scim_id}").status_code == 204
    assert not get_user_model().objects.filter(pk=user_pk).exists()
    html = page(browser.get(LOG))
    assert "deleted" in html
    entry = ProvisioningLog.objects.filter(method="DELETE").get()
    page(browser.get(reverse("admin:scim_portal_provisioninglog_change", args=[entry.pk])))


def test_log_list_never_scans_the_whole_table_for_its_filters(browser, story):
    with CaptureQueriesContext(connection) as queries:
        page(browser.get(LOG))
    log_queries = [q["sql"] for q in queries.captured_queries
                   if "scim_portal_provisioninglog" in q["sql"] and "pg_class" not in q["sql"]]
    assert log_queries  # the list itself (the planner's row estimate is not a scan)
    assert not [sql for sql in log_queries if "DISTINCT" in sql.upper()]
    assert len(log_queries) <= 2  # the page and its (filtered) count


def test_membership_list_counts_only_what_it_shows(browser, integration):
    """No COUNT(*) of the whole table besides the filtered count (like the log's list)."""
    from scim_portal.models import MembershipChange

    now = timezone.now()
    MembershipChange.objects.bulk_create(MembershipChange(created=now, integration=integration, user_id=n,
                                                          group_name="Sales", change=change)
                                         for n, change in enumerate(["joined", "left", "joined"]))
    memberships = reverse("admin:scim_portal_membershipchange_changelist")
    with CaptureQueriesContext(connection) as queries:
        response = browser.get(memberships, {"change__exact": "joined"})
    assert response.context["cl"].result_count == 2
    counted = [q["sql"] for q in queries.captured_queries
               if "scim_portal_membershipchange" in q["sql"] and "COUNT(" in q["sql"].upper()]
    assert len(counted) == 1 and "WHERE" in counted[0], counted


def test_log_csv(browser, story):
    ProvisioningLog.objects.filter(request_id=story["failed"]["X-Request-ID"]).update(
        detail="=HYPERLINK(\"http://evil.example\")")
    ids = list(ProvisioningLog.objects.values_list("pk", flat=True))
    with CaptureQueriesContext(connection) as queries:
        rows = exported(browser.post(LOG, {"action": "export_as_csv", "_selected_action": ids}))
    assert len(rows) == ProvisioningLog.objects.count() == 6
    # Integrations and users come with the rows, not one query per row.
    assert not [q for q in queries.captured_queries if 'WHERE "scim_portal_integration"."id" =' in q["sql"]]
    failed = next(r for r in rows if r["request_id"] == story["failed"]["X-Request-ID"])
    assert failed["status"] == "400"
    assert failed["outcome"] == "failure"
    assert failed["user"] == "alice@example.com"
    assert failed["user_id"] == str(story["alice"].pk)
    assert failed["detail"].startswith("'=HYPERLINK")  # not run as a formula by a spreadsheet
    assert failed["credential"] == ScimToken.objects.get(integration=story["okta"]).prefix
    assert not any(PASSWORD in value for row in rows for value in row.values())


def test_log_is_read_only(browser, story):
    entry = ProvisioningLog.objects.get(request_id=story["failed"]["X-Request-ID"])
    assert browser.get(reverse("admin:scim_portal_provisioninglog_add")).status_code == 403
    response = browser.post(reverse("admin:scim_portal_provisioninglog_change", args=[entry.pk]),
                            {"status": "200", "outcome": "success"})
    assert response.status_code == 403
    entry.refresh_from_db()
    assert (entry.status, entry.outcome) == (400, "failure")
    response = browser.post(reverse("admin:scim_portal_provisioninglog_delete", args=[entry.pk]), {"post": "yes"})
    assert response.status_code == 403  # an audit trail: rows go by retention only
    assert ProvisioningLog.objects.filter(pk=entry.pk).exists()


# -- our own models' history -------------------------------------------------------------------------------

def test_integration_and_token_history_pages(browser, story):
    okta = story["okta"]
    token = ScimToken.objects.get(integration=okta)
    token.revoke()
    html = page(browser.get(reverse("admin:scim_portal_scimtoken_history", args=[token.pk])))
    assert "revoked" in html and "issued" in html
    okta.enabled = False
    okta.save()
    html = page(browser.get(reverse("admin:scim_portal_integration_history", args=[okta.pk])))
    assert "enabled" in html.lower()


def test_group_rule_history_list(browser, story):
    from scim_portal.models import GroupRule, ScimGroup

    rule = GroupRule.objects.create(integration=story["okta"], group=ScimGroup.objects.get(), grant="Gold")
    rule.delete()
    html = page(browser.get(reverse("admin:scim_portal_historicalgrouprule_changelist")))
    assert html.count("Gold") >= 2


# -- permissions -------------------------------------------------------------------------------------------

def test_staff_without_permission_is_refused(story):
    staff = get_user_model().objects.create_user(email="helpdesk@example.com", password="pw", is_staff=True)
    client = Client()
    client.force_login(staff)
    alice = story["alice"]
    for url in (LOG, USER_HISTORY, GROUP_HISTORY, reverse("admin:portal_user_history", args=[alice.pk])):
        assert client.get(url).status_code == 403, url
    entry = ProvisioningLog.objects.first()
    assert client.get(reverse("admin:scim_portal_provisioninglog_change", args=[entry.pk])).status_code == 403
    response = client.post(LOG, {"action": "export_as_csv", "_selected_action": [entry.pk]})
    assert response.status_code == 403


def test_anonymous_is_sent_to_login(story):
    response = Client().get(LOG)
    assert response.status_code == 302
    assert reverse("admin:login") in response["Location"]


def auditor(*codenames: str) -> Client:
    staff = get_user_model().objects.create_user(email="auditor@example.com", password="pw", is_staff=True)
    staff.user_permissions.add(*Permission.objects.filter(codename__in=codenames))
    client = Client()
    client.force_login(staff)
    return client


def test_view_only_staff_see_no_bodies(story):
    client = auditor("view_provisioninglog")
    entry = ProvisioningLog.objects.get(request_id=story["failed"]["X-Request-ID"])
    html = page(client.get(reverse("admin:scim_portal_provisioninglog_change", args=[entry.pk])))
    assert entry.detail[:20] in html.replace("&#x27;", "'").replace("&quot;", '"')  # why it failed: yes
    assert "explode" not in html and "Request body" not in html  # what the IdP sent: no
    rows = exported(client.post(LOG, {"action": "export_as_csv", "_selected_action": [entry.pk]}))
    assert rows and "request_body" not in rows[0] and "response_body" not in rows[0]
    assert not any("explode" in value for value in rows[0].values())
    # Nor can a filter in the URL reveal a body one guess at a time.
    assert client.get(LOG, {"request_body__icontains": "explode"}).status_code == 400


@pytest.mark.parametrize("who", ["auditor", "superuser"])
def test_the_bodies_permission_shows_and_exports_bodies(story, browser, who):
    client = browser if who == "superuser" else auditor("view_provisioninglog", "view_log_bodies")
    entry = ProvisioningLog.objects.get(request_id=story["failed"]["X-Request-ID"])
    html = page(client.get(reverse("admin:scim_portal_provisioninglog_change", args=[entry.pk])))
    assert "explode" in html and "Request body" in html
    rows = exported(client.post(LOG, {"action": "export_as_csv", "_selected_action": [entry.pk]}))
    assert "explode" in rows[0]["request_body"] and "invalid" in rows[0]["response_body"].lower()
    assert PASSWORD not in html


def test_staff_with_view_permission_can_read_the_log(story):
    staff = get_user_model().objects.create_user(email="auditor@example.com", password="pw", is_staff=True)
    staff.user_permissions.add(Permission.objects.get(codename="view_provisioninglog"),
                               Permission.objects.get(codename="view_historicaluser"))
    client = Client()
    client.force_login(staff)
    assert client.get(LOG, {"outcome__exact": "failure"}).status_code == 200
    assert client.get(USER_HISTORY).status_code == 200
    assert client.get(GROUP_HISTORY).status_code == 403


def test_user_add_page_and_a_portal_only_user_render(browser):
    assert browser.get(reverse("admin:portal_user_add")).status_code == 200
    local = get_user_model().objects.create_user(email="local@example.com")
    html = page(browser.get(reverse("admin:portal_user_change", args=[local.pk])))
    assert "SCIM history" in html
    assert "SCIM POST" not in html


def log_rows(integration, n: int) -> None:
    ProvisioningLog.objects.bulk_create([
        ProvisioningLog(created=timezone.now(), integration=integration, method="GET", path="/scim/v2/Users",
                        status=200, outcome="success", duration_ms=1, request_id=f"bulk{i}")
        for i in range(n)
    ])


def test_big_unfiltered_log_list_is_counted_from_the_planner_estimate(integration, monkeypatch):
    from scim_portal.admin import EstimatedCountPaginator

    monkeypatch.setattr(EstimatedCountPaginator, "exact_below", 10)
    log_rows(integration, 30)
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(f"ANALYZE {ProvisioningLog._meta.db_table}")
    log_rows(integration, 5)  # after the statistics were taken
    everything = ProvisioningLog.objects.order_by("-pk")
    expected = 30 if connection.vendor == "postgresql" else 35  # the estimate lags; SQLite counts
    assert EstimatedCountPaginator(everything, 100).count == expected
    # A filtered list is always counted exactly.
    assert EstimatedCountPaginator(everything.filter(status=200), 100).count == 35
