"""Change history and the provisioning log, driven through the SCIM API of the
example portal (custom ``portal.User`` with email login, ``auth.Group``
history registered by the portal)."""

from __future__ import annotations

import datetime as dt
import json
from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management import call_command
from django.test import override_settings
from django.utils import timezone

from scim_portal.audit import REDACTED
from scim_portal.models import (
    Deprovisioning,
    GroupRule,
    IdentityProvider,
    Outcome,
    ProvisioningLog,
    ScimGroup,
    ScimToken,
    ScimUser,
)
from tests.conftest import ScimClient

pytestmark = pytest.mark.django_db

USER = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"
PATCH = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
PASSWORD = "Okta-Sent-Pa55word!"


def okta_user(email: str = "alice@example.com", **extra) -> dict:
    """What Okta POSTs to /Users (with the password it always sends)."""
    body = {
        "schemas": [USER], "userName": email, "externalId": f"00u-{email}",
        "name": {"givenName": "Alice", "familyName": "Archer"},
        "emails": [{"primary": True, "value": email, "type": "work"}],
        "displayName": "Alice Archer", "locale": "en-US", "active": True, "password": PASSWORD,
    }
    body.update(extra)
    return body


def patch(*operations: dict) -> dict:
    return {"schemas": [PATCH], "Operations": list(operations)}


def created(scim: ScimClient, email: str = "alice@example.com", **extra) -> tuple[str, object]:
    response = scim.post("Users", okta_user(email, **extra))
    assert response.status_code == 201, response.json_body
    scim_id = response.json_body["id"]
    return scim_id, ScimUser.objects.get(scim_id=scim_id).user


def user_history(user) -> list:
    return list(get_user_model().history.filter(id=user.pk).order_by("history_id"))


def credential_of(token: str) -> str:
    return ScimToken.objects.get(prefix=token[: len(ScimToken.objects.first().prefix)]).prefix


# -- change history of host users and groups ------------------------------------------------------

def test_post_user_records_creation_by_the_service_account(scim, integration, token):
    response = scim.post("Users", okta_user())
    scim_id, user = response.json_body["id"], get_user_model().objects.get(email="alice@example.com")

    (record,) = user_history(user)
    assert record.history_type == "+"
    assert record.history_user == integration.service_account
    assert record.scim_integration == integration
    assert record.scim_request_id == response["X-Request-ID"]
    assert record.scim_credential == credential_of(token)
    assert record.scim_credential and token.startswith(record.scim_credential)
    assert record.history_change_reason == "SCIM POST Users"
    assert record.email == "alice@example.com"
    assert not hasattr(record, "password")  # the hash is kept out of history
    assert scim_id


def test_the_write_path_opens_the_history_scope_itself(integration):
    """A Provisioner call made outside a view (a task, a shell) is attributed just the same."""
    from scim_portal.context import ScimContext
    from scim_portal.provisioning import Provisioner

    context = ScimContext(integration=integration, actor=integration.service_account, credential=None,
                          credential_label="job", request_id="job-42")
    Provisioner(context, "http://testserver/scim/v2", reason="Nightly import").create_user(okta_user())
    (record,) = user_history(get_user_model().objects.get(email="alice@example.com"))
    assert record.history_user == integration.service_account
    assert (record.scim_integration, record.scim_request_id) == (integration, "job-42")
    assert record.history_change_reason == "Nightly import"


def test_put_patch_delete_each_leave_a_record_naming_the_operation(scim, integration):
    scim_id, user = created(scim)

    put = scim.put(f"Users/{scim_id}", okta_user(name={"givenName": "Alicia", "familyName": "Archer"}))
    assert put.status_code == 200
    patched = scim.patch(f"Users/{scim_id}", patch({"op": "replace", "value": {"active": False}}))
    assert patched.status_code == 200
    deleted = scim.delete(f"Users/{scim_id}")
    assert deleted.status_code == 204

    records = user_history(user)
    changes = [r for r in records if r.history_type == "~"]
    assert [r.history_change_reason for r in changes] == [
        f"SCIM PUT Users/{scim_id}", f"SCIM PATCH Users/{scim_id}",
    ]
    assert changes[0].first_name == "Alicia"
    assert changes[1].is_active is False
    assert changes[0].scim_request_id == put["X-Request-ID"]
    assert changes[1].scim_request_id == patched["X-Request-ID"]
    assert {r.history_user_id for r in records} == {integration.service_account_id}
    assert {r.scim_integration_id for r in records} == {integration.pk}
    # DELETE of an active-by-now-inactive user writes nothing more (already deactivated) ...
    assert len(records) == 3
    # ... but the SCIM identity is gone for the IdP.
    assert ScimUser.objects.get(scim_id=scim_id).deleted_at is not None


def test_delete_of_an_active_user_records_the_deactivation(scim, integration):
    scim_id, user = created(scim)
    response = scim.delete(f"Users/{scim_id}")

    last = user_history(user)[-1]
    assert last.history_type == "~"
    assert last.is_active is False
    assert last.history_change_reason == f"SCIM DELETE Users/{scim_id}"
    assert last.scim_request_id == response["X-Request-ID"]
    assert last.history_user == integration.service_account


def test_delete_policy_records_the_deletion(make_integration, scim_for):
    integration = make_integration(IdentityProvider.ENTRA, deprovisioning=Deprovisioning.DELETE)
    scim = scim_for(integration)
    scim_id, user = created(scim)
    user_pk = user.pk
    response = scim.delete(f"Users/{scim_id}")
    assert response.status_code == 204

    assert not get_user_model().objects.filter(pk=user_pk).exists()
    last = get_user_model().history.filter(id=user_pk).latest()
    assert last.history_type == "-"
    assert last.history_user == integration.service_account
    assert last.scim_integration == integration
    assert last.history_change_reason == f"SCIM DELETE Users/{scim_id}"


def test_group_operations_are_attributed(scim, integration):
    member_id, _member = created(scim)
    response = scim.post("Groups", {"schemas": [GROUP], "displayName": "Sales",
                                    "members": [{"value": member_id}]})
    assert response.status_code == 201
    group_id = response.json_body["id"]
    group = ScimGroup.objects.get(scim_id=group_id).group
    group_pk = group.pk

    renamed = scim.patch(f"Groups/{group_id}", patch({"op": "replace", "path": "displayName",
                                                      "value": "Sales EMEA"}))
    assert renamed.status_code == 204
    replaced = scim.put(f"Groups/{group_id}", {"schemas": [GROUP], "displayName": "Sales World"})
    assert replaced.status_code == 200
    deleted = scim.delete(f"Groups/{group_id}")
    assert deleted.status_code == 204

    records = list(Group.history.filter(id=group_pk).order_by("history_id"))
    assert [(r.history_type, r.name) for r in records] == [
        ("+", "Sales"), ("~", "Sales EMEA"), ("~", "Sales World"), ("-", "Sales World"),
    ]
    assert [r.history_change_reason for r in records] == [
        "SCIM POST Groups", f"SCIM PATCH Groups/{group_id}", f"SCIM PUT Groups/{group_id}",
        f"SCIM DELETE Groups/{group_id}",
    ]
    assert [r.scim_request_id for r in records] == [
        response["X-Request-ID"], renamed["X-Request-ID"], replaced["X-Request-ID"], deleted["X-Request-ID"],
    ]
    assert {r.history_user_id for r in records} == {integration.service_account_id}
    assert {r.scim_integration_id for r in records} == {integration.pk}


def test_changes_made_elsewhere_keep_their_own_attribution(scim, integration):
    scim_id, user = created(scim)
    admin = get_user_model().objects.create_superuser(email="root@example.com", password="pw")
    user.first_name = "Changed in the shell"
    user._change_reason = "support ticket 42"
    user.save()

    records = user_history(user)
    last = records[-1]
    assert last.history_user_id is None  # no request, no SCIM context
    assert last.scim_integration_id is None
    assert last.scim_request_id == ""
    assert last.history_change_reason == "support ticket 42"
    # The superuser's own creation is not attributed to the integration either.
    assert get_user_model().history.get(id=admin.pk).scim_integration_id is None
    assert scim_id


def test_two_integrations_are_told_apart(make_integration, scim_for):
    okta, entra = make_integration(IdentityProvider.OKTA), make_integration(IdentityProvider.ENTRA)
    _id_a, alice = created(scim_for(okta), "alice@example.com")
    _id_b, bob = created(scim_for(entra), "bob@example.com")

    assert user_history(alice)[0].scim_integration == okta
    assert user_history(alice)[0].history_user == okta.service_account
    assert user_history(bob)[0].scim_integration == entra
    assert user_history(bob)[0].history_user == entra.service_account


def test_a_token_with_its_own_service_account_is_the_responsible_user(integration):
    robot = get_user_model().objects.create_user(email="okta-robot@example.com")
    issued = ScimToken.issue(integration, service_account=robot)
    _scim_id, user = created(ScimClient(issued.raw))
    (record,) = user_history(user)
    assert record.history_user == robot
    assert record.scim_credential == issued.token.prefix


# -- failed requests leave no history --------------------------------------------------------------

@pytest.mark.parametrize(("failing", "status"), [
    ({"op": "explode", "path": "title", "value": "x"}, 400),  # a bad second operation
    ({"op": "replace", "path": "userName", "value": "bob@example.com"}, 409),  # a taken userName
])
def test_a_failed_patch_leaves_no_history_and_changes_nothing(scim, failing, status):
    created(scim, "bob@example.com")
    scim_id, user = created(scim)
    before = len(user_history(user))
    response = scim.patch(f"Users/{scim_id}", patch(
        {"op": "replace", "path": "name.givenName", "value": "Never"}, failing))
    assert response.status_code == status
    assert len(user_history(user)) == before
    user.refresh_from_db()
    assert user.first_name == "Alice"


def test_conflicting_create_leaves_no_history(scim):
    created(scim)
    records = get_user_model().history.count()
    response = scim.post("Users", okta_user(externalId="someone-else"))
    assert response.status_code == 409
    assert get_user_model().history.count() == records
    assert get_user_model().objects.filter(email="alice@example.com").count() == 1


def test_group_with_an_unknown_member_leaves_no_group_history(scim):
    response = scim.post("Groups", {"schemas": [GROUP], "displayName": "Ghosts",
                                    "members": [{"value": "00000000-0000-0000-0000-000000000000"}]})
    assert response.status_code == 400
    assert not Group.objects.filter(name="Ghosts").exists()
    assert not Group.history.filter(name="Ghosts").exists()


# -- history of scim_portal's own models --------------------------------------------------------------

def test_integration_switches_are_recorded(integration):
    integration.enabled = False
    integration._change_reason = "paused during migration"
    integration.save()
    integration.enabled = True
    integration.save()

    records = list(integration.history.order_by("history_id"))
    assert [(r.history_type, r.enabled) for r in records] == [("+", True), ("~", False), ("~", True)]
    assert records[1].history_change_reason == "paused during migration"


def test_token_issue_rotate_revoke_are_recorded(integration):
    admin = get_user_model().objects.create_user(email="it@example.com")
    first = ScimToken.issue(integration, created_by=admin).token
    second = first.rotate(created_by=admin).token
    second.revoke()

    first_records = list(first.history.order_by("history_id"))
    assert [r.history_type for r in first_records] == ["+", "~"]
    assert first_records[-1].replaced_by_id == second.pk
    assert first_records[-1].history_change_reason == "rotated"
    second_records = list(second.history.order_by("history_id"))
    assert [r.history_change_reason for r in second_records] == ["issued", "revoked"]
    assert second_records[-1].revoked_at is not None
    # The digest of a live secret is not copied into history.
    assert not hasattr(second_records[0], "digest")


def test_token_use_does_not_write_history(scim, token):
    before = ScimToken.history.count()
    assert scim.get("Users").status_code == 200
    assert ScimToken.history.count() == before


def test_oauth_client_register_and_revoke_are_recorded(integration):
    from scim_portal.models import OAuthClient

    client = OAuthClient.register(integration, name="Okta", grant_type="client-credentials").client
    issued = client.new_secret()
    client.revoke()
    records = list(client.history.order_by("history_id"))
    assert [(r.history_type, r.history_change_reason) for r in records] == [
        ("+", "registered"), ("~", "new secret"), ("~", "revoked")]
    assert records[1].secret_changed_at is not None
    assert records[-1].revoked_at is not None
    # The secret is stored hashed by the toolkit and never copied into history.
    dumped = json.dumps(list(client.history.values()), default=str)
    assert issued.secret not in dumped


def test_group_rules_are_recorded(integration):
    group = Group.objects.create(name="Finance")
    scim_group = ScimGroup.objects.create(integration=integration, group=group, display_name="Finance")
    rule = GroupRule.objects.create(integration=integration, group=scim_group, grant="Full")
    rule.grant = "Limited"
    rule.save()
    rule_pk = rule.pk
    rule.delete()
    records = list(GroupRule.history.filter(id=rule_pk).order_by("history_id"))
    assert [(r.history_type, r.grant) for r in records] == [("+", "Full"), ("~", "Limited"), ("-", "Limited")]


# -- the provisioning log ----------------------------------------------------------------------------

def test_each_request_writes_one_log_row(scim, integration, token):
    response = scim.post("Users", okta_user())
    (entry,) = ProvisioningLog.objects.all()
    user = get_user_model().objects.get(email="alice@example.com")

    assert entry.request_id == response["X-Request-ID"]
    assert entry.integration == integration
    assert entry.credential == credential_of(token)
    assert entry.dialect == "okta"
    assert (entry.method, entry.path, entry.status, entry.outcome) == ("POST", "/scim/v2/Users", 201, "success")
    assert entry.resource_type == "User"
    assert entry.resource_id == response.json_body["id"]
    assert entry.user_id == user.pk
    assert entry.request_body["userName"] == "alice@example.com"
    assert entry.response_body["id"] == response.json_body["id"]
    assert entry.duration_ms >= 0
    assert entry.created <= timezone.now()

    scim.get(f"Users/{entry.resource_id}")  # a successful read by a credential used a moment ago
    assert ProvisioningLog.objects.count() == 1
    scim.get("Users/no-such-user")  # a failed read
    assert ProvisioningLog.objects.count() == 2


def test_successful_reads_are_sampled_per_credential(scim, token, settings):
    """``LOG_READS = "sampled"``: a credential's first read in TOKEN_LAST_USED_PRECISION seconds
    is logged (an IdP's test call after a quiet minute), its next ones are not; failures,
    writes and, with ``"all"``, every read are."""
    from scim_portal.models import ScimToken

    def rows() -> list[tuple[str, str, int]]:
        return list(ProvisioningLog.objects.order_by("pk").values_list("method", "path", "status"))

    ScimToken.objects.update(last_used_at=None)
    assert scim.get("Users?startIndex=1&count=1").status_code == 200
    assert rows() == [("GET", "/scim/v2/Users?startIndex=1&count=1", 200)]
    assert scim.get('Users?filter=userName eq "nobody@example.com"').status_code == 200
    search = {"schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"], "count": 1}
    assert scim.post("Users/.search", search).status_code == 200  # a POST that only reads
    assert scim.get("ServiceProviderConfig").status_code == 200
    assert len(rows()) == 1
    assert scim.get("Groups/no-such-group").status_code == 404
    assert rows()[-1] == ("GET", "/scim/v2/Groups/no-such-group", 404)

    a_minute_ago = timezone.now() - dt.timedelta(seconds=settings.SCIM_PORTAL.get("TOKEN_LAST_USED_PRECISION", 60) + 1)
    ScimToken.objects.update(last_used_at=a_minute_ago)
    assert scim.get("Users?count=1").status_code == 200
    assert rows()[-1] == ("GET", "/scim/v2/Users?count=1", 200) and len(rows()) == 3

    settings.SCIM_PORTAL = {**settings.SCIM_PORTAL, "LOG_READS": "all"}
    assert scim.get("Users?count=2").status_code == 200
    assert scim.get("Users?count=3").status_code == 200
    assert [row[1] for row in rows()[-2:]] == ["/scim/v2/Users?count=2", "/scim/v2/Users?count=3"]


def test_the_password_and_the_token_never_reach_the_log(scim, token):
    scim_id, _user = created(scim)
    scim.put(f"Users/{scim_id}", okta_user())
    scim.patch(f"Users/{scim_id}", patch({"op": "replace", "path": "password", "value": PASSWORD}))
    scim.patch(f"Users/{scim_id}", patch({"op": "replace", "value": {"password": PASSWORD}}))
    scim.patch(f"Users/{scim_id}", patch({"op": "Replace", "path": f"{USER}:password", "value": PASSWORD}))
    # A body that is not valid JSON cannot be redacted: only its size and digest are kept.
    scim.post("Users", raw='{"userName": "x@example.com", "password": "' + PASSWORD + '", ')

    rows = list(ProvisioningLog.objects.order_by("id").values())
    assert len(rows) == 6
    dumped = json.dumps(rows, default=str)
    assert PASSWORD not in dumped
    assert token not in dumped
    assert token[len("scim_"):] not in dumped
    assert "Bearer" not in dumped
    # What was removed is still visible as removed, the rest of the body is kept.
    assert rows[0]["request_body"]["password"] == REDACTED
    assert rows[0]["request_body"]["userName"] == "alice@example.com"
    assert rows[1]["request_body"]["password"] == REDACTED
    assert rows[2]["request_body"]["Operations"][0] == {"op": "replace", "path": "password", "value": REDACTED}
    assert rows[3]["request_body"]["Operations"][0]["value"] == {"password": REDACTED}
    assert rows[4]["request_body"]["Operations"][0]["value"] == REDACTED
    assert rows[5]["status"] == 400
    assert rows[5]["request_body"]["unparsed"] is True
    assert set(rows[5]["request_body"]) == {"unparsed", "size", "sha256"}


def test_failures_are_logged_with_the_scim_error(scim, integration):
    created(scim)
    response = scim.post("Users", okta_user())
    assert response.status_code == 409
    entry = ProvisioningLog.objects.get(request_id=response["X-Request-ID"])
    assert entry.outcome == Outcome.FAILURE
    assert entry.status == 409
    assert entry.scim_type == "uniqueness"
    assert entry.detail == response.json_body["detail"]
    assert entry.integration == integration
    assert entry.request_body["password"] == REDACTED


def test_a_failed_change_to_a_known_user_names_that_user(scim):
    scim_id, user = created(scim)
    response = scim.patch(f"Users/{scim_id}", patch({"op": "explode", "path": "title"}))
    assert response.status_code == 400
    entry = ProvisioningLog.objects.get(request_id=response["X-Request-ID"])
    assert entry.resource_id == scim_id
    assert entry.user_id == user.pk
    assert entry.scim_type == response.json_body.get("scimType", "")


def test_unauthenticated_requests_are_logged_without_an_integration():
    response = ScimClient("scim_not-a-real-token").get("Users")
    assert response.status_code == 401
    entry = ProvisioningLog.objects.get()
    assert entry.integration is None
    assert entry.request_id == response["X-Request-ID"]
    assert entry.outcome == Outcome.FAILURE
    assert "not-a-real-token" not in json.dumps(list(ProvisioningLog.objects.values()), default=str)


@pytest.mark.django_db(transaction=True)
def test_a_logged_success_was_committed_and_a_failure_still_logged(make_integration, scim_for):
    scim = scim_for(make_integration())
    ok = scim.post("Users", okta_user())
    conflict = scim.post("Users", okta_user())
    assert (ok.status_code, conflict.status_code) == (201, 409)
    # Outside any test transaction: both rows are really in the database, the user too.
    assert ProvisioningLog.objects.filter(request_id__in=[ok["X-Request-ID"], conflict["X-Request-ID"]]).count() == 2
    assert get_user_model().objects.filter(email="alice@example.com").count() == 1


def test_large_bodies_are_capped(scim):
    with override_settings(SCIM_PORTAL={"ADAPTER": "portal.scim.PortalScimAdapter", "LOG_BODY_BYTES": 200}):
        response = scim.post("Users", okta_user(title="x" * 5000))
    assert response.status_code == 201
    entry = ProvisioningLog.objects.get()
    assert entry.request_body["truncated"] is True
    assert entry.request_body["size"] > 5000
    assert len(entry.request_body["preview"]) == 200
    assert PASSWORD not in json.dumps(entry.request_body)


def test_logging_can_be_switched_off(scim):
    with override_settings(SCIM_PORTAL={"ADAPTER": "portal.scim.PortalScimAdapter", "LOG_REQUESTS": False}):
        response = scim.post("Users", okta_user())
    assert response.status_code == 201
    assert response["X-Request-ID"]
    assert not ProvisioningLog.objects.exists()
    # History does not depend on the log.
    assert get_user_model().history.filter(scim_request_id=response["X-Request-ID"]).exists()


def test_history_and_log_share_the_request_id(scim):
    response = scim.post("Users", okta_user())
    entry = ProvisioningLog.objects.get(request_id=response["X-Request-ID"])
    record = get_user_model().history.get(scim_request_id=response["X-Request-ID"])
    assert record.id == entry.user_id


# -- retention -------------------------------------------------------------------------------------

def aged_rows(integration, ages_in_days: list[int]) -> None:
    now = timezone.now()
    ProvisioningLog.objects.bulk_create([
        ProvisioningLog(created=now - dt.timedelta(days=age), integration=integration, method="GET",
                        path="/scim/v2/Users", status=200, outcome=Outcome.SUCCESS, duration_ms=1,
                        request_id=f"r{age}")
        for age in ages_in_days
    ])


def test_prune_command_keeps_the_retention_period(integration):
    aged_rows(integration, [1, 89, 91, 400])
    out = StringIO()
    call_command("scim_prune_logs", stdout=out)
    assert sorted(ProvisioningLog.objects.values_list("request_id", flat=True)) == ["r1", "r89"]
    assert "Deleted 2 " in out.getvalue()


def test_prune_removes_big_backlogs_in_batches(integration, monkeypatch):
    from scim_portal import audit

    monkeypatch.setattr(audit, "PRUNE_BATCH", 3)
    aged_rows(integration, [1, *range(100, 110)])
    assert audit.prune() == 10
    assert list(ProvisioningLog.objects.values_list("request_id", flat=True)) == ["r1"]


def test_prune_command_days_option_and_setting(integration):
    aged_rows(integration, [1, 5, 10, 40])
    call_command("scim_prune_logs", days=7, stdout=StringIO())
    assert sorted(ProvisioningLog.objects.values_list("request_id", flat=True)) == ["r1", "r5"]
    with override_settings(SCIM_PORTAL={"ADAPTER": "portal.scim.PortalScimAdapter", "LOG_RETENTION_DAYS": 3}):
        call_command("scim_prune_logs", stdout=StringIO())
    assert list(ProvisioningLog.objects.values_list("request_id", flat=True)) == ["r1"]


def test_prune_command_refuses_a_negative_period(integration):
    from django.core.management import CommandError

    aged_rows(integration, [1])
    with pytest.raises(CommandError):
        call_command("scim_prune_logs", days=-1, stdout=StringIO())
    assert ProvisioningLog.objects.count() == 1


# -- end to end: an Okta lifecycle on the example portal -----------------------------------------------

def test_okta_lifecycle_answers_who_when_how_and_what(scim, integration):
    scim_id, user = created(scim)
    scim.patch(f"Users/{scim_id}", patch({"op": "replace", "value": {"active": False}}))
    scim.patch(f"Users/{scim_id}", patch({"op": "replace", "value": {"active": True}}))

    history = user_history(user)
    assert [r.is_active for r in history] == [True, False, True]
    for record in history:
        entry = ProvisioningLog.objects.get(request_id=record.scim_request_id)
        assert entry.user_id == user.pk
        assert entry.integration_id == record.scim_integration_id == integration.pk
        assert record.history_user_id == integration.service_account_id
        assert entry.request_body is not None
