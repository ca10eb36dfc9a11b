"""The access review: access no enabled integration vouches for, streamed, in bounded queries."""

from __future__ import annotations

import csv
import io
import json
from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.contrib.sessions.backends.db import SessionStore
from django.core.management import call_command
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from oauth2_provider.models import get_access_token_model

from portal.models import UserSession
from scim_portal.access_review import DEACTIVATED_WITH_ACCESS, UNMANAGED, Finding, review
from scim_portal.models import (
    BurstStatus,
    DeprovisioningBrake,
    DeprovisioningBurst,
    HeldRequest,
    IdentityProvider,
    ScimUser,
)
from tests.factories import bulk_users

User = get_user_model()


def deactivate_by_idp(scim_user: ScimUser, *, host_active: bool = False) -> None:
    ScimUser.objects.filter(pk=scim_user.pk).update(deactivated_at=timezone.now())
    User.objects.filter(pk=scim_user.user_id).update(is_active=host_active)


def live_session(user) -> None:
    session = SessionStore()
    session["_auth_user_id"] = str(user.pk)
    session.create()
    UserSession.objects.create(user=user, session_key=session.session_key)


def live_token(user) -> None:
    get_access_token_model().objects.create(
        user=user, token=f"tok-{user.pk}", expires=timezone.now() + timedelta(hours=1), scope="read")


def by_email(findings: list[Finding]) -> dict[str, Finding]:
    return {f.email: f for f in findings}


@pytest.fixture
def portal(make_integration):
    """A portal with one account of every kind the review must find, or must not."""
    okta = make_integration(IdentityProvider.OKTA)
    old = make_integration(IdentityProvider.ENTRA, enabled=False)
    managed = bulk_users(okta, 4, prefix="managed")
    stale = bulk_users(old, 1, prefix="stale")
    User.objects.create_user(email="local-staff@example.com", is_staff=True)
    User.objects.create_superuser(email="root@example.com")
    User.objects.create_user(email="former@example.com", is_active=False)
    deactivate_by_idp(managed[0])
    live_session(managed[0].user)
    deactivate_by_idp(managed[1])
    live_token(managed[1].user)
    deactivate_by_idp(managed[2], host_active=True)
    ScimUser.objects.filter(pk=managed[3].pk).update(deleted_at=timezone.now(), deactivated_at=timezone.now())
    return okta, old, managed, stale


class TestFindings:
    def test_active_accounts_no_enabled_integration_manages(self, portal):
        okta, old, _managed, _stale = portal
        found = by_email([f for f in review() if f.finding == UNMANAGED])
        assert found["local-staff@example.com"].is_staff and not found["local-staff@example.com"].is_superuser
        assert found["root@example.com"].is_superuser
        assert "never provisioned" in found["root@example.com"].reason
        assert found["stale0@example.com"].reason == "its integration is disabled"
        assert found["stale0@example.com"].integration == old.name
        assert "deleted by the identity provider" in found["managed3@example.com"].reason
        assert found[okta.service_account.email].reason == f"service account of integration {okta.name}"
        assert "former@example.com" not in found  # inactive: no access
        assert not {"managed0@example.com", "managed1@example.com"} & set(found)

    def test_deactivated_accounts_that_still_hold_access(self, portal):
        _okta, _old, _managed, _stale = portal
        found = by_email([f for f in review() if f.finding == DEACTIVATED_WITH_ACCESS])
        assert set(found) == {"managed0@example.com", "managed1@example.com", "managed2@example.com"}
        assert (found["managed0@example.com"].sessions, found["managed0@example.com"].oauth_tokens) == (1, 0)
        assert (found["managed1@example.com"].sessions, found["managed1@example.com"].oauth_tokens) == (0, 1)
        assert found["managed2@example.com"].is_active
        assert "active in the portal" in found["managed2@example.com"].reason

    def test_expired_sessions_and_tokens_are_not_access(self, portal):
        _okta, _old, _managed, _stale = portal
        from django.contrib.sessions.models import Session

        Session.objects.update(expire_date=timezone.now() - timedelta(seconds=1))
        get_access_token_model().objects.update(expires=timezone.now() - timedelta(seconds=1))
        found = by_email([f for f in review() if f.finding == DEACTIVATED_WITH_ACCESS])
        assert set(found) == {"managed2@example.com"}

    def test_default_adapter_decodes_database_sessions(self, portal, settings):
        """A host without a per-user session table: the default hook decodes the sessions."""
        settings.SCIM_PORTAL = {**settings.SCIM_PORTAL, "ADAPTER": "scim_portal.adapter.ScimAdapter"}
        found = by_email([f for f in review() if f.finding == DEACTIVATED_WITH_ACCESS])
        assert found["managed0@example.com"].sessions == 1

    def test_sessions_are_unknown_for_engines_that_cannot_be_searched(self, portal, settings):
        settings.SCIM_PORTAL = {**settings.SCIM_PORTAL, "ADAPTER": "scim_portal.adapter.ScimAdapter"}
        settings.SESSION_ENGINE = "django.contrib.sessions.backends.signed_cookies"
        found = by_email(list(review()))
        assert found["root@example.com"].sessions is None


class TestStreaming:
    def queries(self, chunk_size: int) -> int:
        with CaptureQueriesContext(connection) as captured:
            for _finding in review(chunk_size):
                pass
        return len(captured.captured_queries)

    def portal_of(self, make_integration, size: int) -> None:
        integration = make_integration(IdentityProvider.OKTA)
        for scim_user in bulk_users(integration, size, prefix=f"n{size}-"):
            deactivate_by_idp(scim_user)
            live_token(scim_user.user)
        User.objects.bulk_create([User(email=f"local{size}-{i}@example.com") for i in range(size)])

    def test_query_count_does_not_grow_with_the_users(self, make_integration):
        self.portal_of(make_integration, 3)
        small = self.queries(2000)
        self.portal_of(make_integration, 30)
        assert len(list(review())) == 2 * 33 + 2  # and the two service accounts
        assert self.queries(2000) == small == 1 + 4 + 4  # service accounts; a page + 3 access queries, twice

    def test_pages_bound_the_queries_and_the_rows_held(self, make_integration):
        self.portal_of(make_integration, 30)
        # 31 unmanaged (with the service account) and 30 deactivated, pages of 10: 4 + 3 full pages,
        # each costing its page and 3 access queries, plus the empty page closing the second list.
        assert self.queries(10) == 1 + 4 * 4 + 3 * 4 + 1

    def test_the_default_adapter_decodes_the_sessions_once_per_review(self, make_integration, settings):
        """Without a per-user session table the sessions are decoded once, not once per page."""
        settings.SCIM_PORTAL = {**settings.SCIM_PORTAL, "ADAPTER": "scim_portal.adapter.ScimAdapter"}

        def session_reads(size: int) -> tuple[int, dict[str, int | None]]:
            integration = make_integration(IdentityProvider.OKTA)
            for scim_user in bulk_users(integration, size, prefix=f"s{size}-"):
                deactivate_by_idp(scim_user)
                live_session(scim_user.user)
                live_session(scim_user.user)
            with CaptureQueriesContext(connection) as captured:
                found = list(review(2))
            reads = sum("django_session" in q["sql"] for q in captured.captured_queries)
            return reads, {f.email: f.sessions for f in found if f.finding == DEACTIVATED_WITH_ACCESS}

        reads, sessions = session_reads(3)
        assert reads == 1 and sessions == {f"s3-{i}@example.com": 2 for i in range(3)}
        reads, sessions = session_reads(12)
        assert reads == 1 and len(sessions) == 15 and set(sessions.values()) == {2}

    def test_the_first_row_arrives_after_the_first_page(self, make_integration):
        self.portal_of(make_integration, 30)
        with CaptureQueriesContext(connection) as captured:
            next(review(5))
        assert len(captured.captured_queries) == 1 + 4


class TestCommand:
    def test_csv_is_safe_to_open_in_a_spreadsheet(self, portal):
        User.objects.create_user(email="=HYPERLINK(evil)@example.com")
        out = io.StringIO()
        call_command("scim_access_review", "--format", "csv", stdout=out)
        rows = list(csv.DictReader(io.StringIO(out.getvalue())))
        emails = {row["email"] for row in rows}
        assert "'=HYPERLINK(evil)@example.com" in emails
        root = next(row for row in rows if row["email"] == "root@example.com")
        assert (root["finding"], root["is_superuser"], root["is_staff"]) == (UNMANAGED, "True", "True")

    def test_json(self, portal, tmp_path):
        target = tmp_path / "review.json"
        call_command("scim_access_review", "--format", "json", "--output", str(target), "--chunk-size", "2")
        rows = json.loads(target.read_text())
        assert {row["finding"] for row in rows} == {UNMANAGED, DEACTIVATED_WITH_ACCESS}
        assert next(r for r in rows if r["email"] == "managed1@example.com")["oauth_tokens"] == 1

    def test_a_bad_chunk_size_is_refused(self, db):
        from django.core.management import CommandError

        with pytest.raises(CommandError):
            call_command("scim_access_review", "--chunk-size", "0")


class TestAdmin:
    @pytest.fixture
    def admin_client(self, admin_user) -> Client:
        client = Client()
        client.force_login(admin_user)
        return client

    def test_report_page_and_downloads(self, portal, admin_client):
        url = reverse("admin:scim_portal_accessreview_changelist")
        page = admin_client.get(url)
        assert page.status_code == 200
        assert b"root@example.com" in page.content and b"managed0@example.com" in page.content
        download = admin_client.get(url + "?format=csv")
        assert download["Content-Disposition"] == 'attachment; filename="access-review.csv"'
        assert b"local-staff@example.com" in b"".join(download.streaming_content)

    def test_report_needs_the_view_permission(self, portal):
        staff = User.objects.create_user(email="helpdesk@example.com", password="pw", is_staff=True)
        client = Client()
        client.force_login(staff)
        url = reverse("admin:scim_portal_accessreview_changelist")
        assert client.get(url).status_code == 403
        staff.user_permissions.add(Permission.objects.get(codename="view_accessreview"))
        assert client.get(url).status_code == 200

    def test_burst_page_lists_the_held_and_records_the_decision(self, integration, scim, admin_client):
        DeprovisioningBrake.objects.create(integration=integration, max_count=1, max_percent=0)
        users = bulk_users(integration, 3)
        patch = {"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                 "Operations": [{"op": "replace", "value": {"active": False}}]}
        assert [scim.patch(f"Users/{u.scim_id}", patch).status_code for u in users] == [200, 503, 503]
        burst = DeprovisioningBurst.objects.get()
        change = reverse("admin:scim_portal_deprovisioningburst_change", args=[burst.pk])
        page = admin_client.get(change)
        assert page.status_code == 200
        assert users[1].user_name.encode() in page.content and b"decide-released" in page.content
        decide = reverse("admin:scim_portal_deprovisioningburst_decide", args=[burst.pk])
        assert admin_client.get(decide).status_code == 405
        response = admin_client.post(decide, {"decision": "released", "reason": "planned layoff"})
        assert response.status_code == 302 and response["Location"] == change
        burst.refresh_from_db()
        assert burst.status == BurstStatus.RELEASED
        assert "planned layoff" in burst.history.latest().history_change_reason
        assert b"decide-released" not in admin_client.get(change).content
        held = admin_client.get(reverse("admin:scim_portal_heldrequest_changelist") + f"?burst__id__exact={burst.pk}")
        assert held.status_code == 200 and users[2].user_name.encode() in held.content
        assert HeldRequest.objects.count() == 2

    def test_brake_settings_page(self, integration, admin_client):
        brake_row = DeprovisioningBrake.objects.create(integration=integration, max_count=7)
        page = admin_client.get(reverse("admin:scim_portal_deprovisioningbrake_changelist"))
        assert page.status_code == 200 and b"7 and 10% in 10 min" in page.content
        change = admin_client.get(reverse("admin:scim_portal_deprovisioningbrake_change", args=[brake_row.pk]))
        assert change.status_code == 200 and b"counting" in change.content
        assert b'name="integration"' not in change.content  # the integration is fixed once the brake exists
